package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// sampleEvent is a fully populated event.
func sampleEvent() Event {
	return Event{
		Seq:       7,
		Time:      time.Date(2025, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600)),
		AgentID:   "agent-1",
		SessionID: "s-1",
		TraceID:   "4bf92f3577b34da6a3ce929d0e0e4736",
		Kind:      KindToolCall,
		Tool:      "database_query",
		Args:      json.RawMessage(`{ "query": "DROP TABLE users", "limit": 10.0, "db": {"name":"prod","ssl":true} }`),
		Decision: Decision{
			Action: "deny", Allowed: false, Rule: "block-destructive-sql",
			Reason: "Destructive SQL is not allowed", Policy: "production", PolicyVersion: "ab12",
		},
		Outcome:   Outcome{Code: -2, Error: "policy violation", ResultHash: "", ResultSummary: ""},
		LatencyUS: 412,
		PrevHash:  GenesisHash,
		Hash:      "ignored by Canonical",
	}
}

const sampleCanonical = `{"agent_id":"agent-1","args":{"db":{"name":"prod","ssl":true},"limit":10,"query":"DROP TABLE users"},` +
	`"decision":{"action":"deny","allowed":false,"policy":"production","policy_version":"ab12","reason":"Destructive SQL is not allowed","rule":"block-destructive-sql"},` +
	`"kind":"tool_call","latency_us":412,"outcome":{"code":-2,"error":"policy violation","result_hash":"","result_summary":""},` +
	`"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":7,"session_id":"s-1",` +
	`"time":"2025-03-04T04:06:07.000000890Z","tool":"database_query","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`

func TestCanonicalEvent(t *testing.T) {
	t.Parallel()
	e := sampleEvent()
	got, err := Canonical(&e)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != sampleCanonical {
		t.Fatalf("Canonical\n got %s\nwant %s", got, sampleCanonical)
	}
	// The hand-written encoder agrees with a generic JCS pass over the
	// reflection-based encoding.
	type plain Event
	p := plain(e)
	p.Time = p.Time.UTC()
	generic, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(generic, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "hash")
	m["time"] = p.Time.Format(TimeLayout)
	generic, _ = json.Marshal(m)
	viaJCS, err := CanonicalJSON(generic)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(viaJCS, got) {
		t.Fatalf("generic JCS\n got %s\nwant %s", viaJCS, got)
	}
	// AppendCanonical appends.
	app, err := AppendCanonical([]byte("x"), &e)
	if err != nil || string(app) != "x"+sampleCanonical {
		t.Fatalf("AppendCanonical = %s, %v", app, err)
	}
}

func TestCanonicalNullArgs(t *testing.T) {
	t.Parallel()
	for _, args := range []json.RawMessage{nil, {}, json.RawMessage("null"), json.RawMessage(" null ")} {
		e := Event{Kind: KindSignal, Args: args, PrevHash: GenesisHash}
		got, err := Canonical(&e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(got, []byte(`"args":null,`)) {
			t.Fatalf("args %q: canonical %s", args, got)
		}
	}
}

func TestCanonicalEventRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*Event)
		field string
	}{
		{"agent_id utf8", func(e *Event) { e.AgentID = "a\xff" }, "agent_id"},
		{"session_id utf8", func(e *Event) { e.SessionID = "\xc3" }, "session_id"},
		{"trace_id utf8", func(e *Event) { e.TraceID = "\xed\xa0\x80" }, "trace_id"},
		{"tool utf8", func(e *Event) { e.Tool = "\x80" }, "tool"},
		{"kind utf8", func(e *Event) { e.Kind = "\x80" }, "kind"},
		{"decision.reason utf8", func(e *Event) { e.Decision.Reason = "\xfe" }, "decision.reason"},
		{"decision.rule utf8", func(e *Event) { e.Decision.Rule = "\xfe" }, "decision.rule"},
		{"outcome.error utf8", func(e *Event) { e.Outcome.Error = "\xfe" }, "outcome.error"},
		{"args duplicate", func(e *Event) { e.Args = json.RawMessage(`{"a":1,"a":1}`) }, "args"},
		{"args malformed", func(e *Event) { e.Args = json.RawMessage(`{"a":`) }, "args"},
		{"seq too large", func(e *Event) { e.Seq = 1 << 53 }, "seq"},
		{"latency too large", func(e *Event) { e.LatencyUS = 1 << 53 }, "latency_us"},
		{"latency too small", func(e *Event) { e.LatencyUS = -(1 << 53) }, "latency_us"},
		{"code too large", func(e *Event) { e.Outcome.Code = 1 << 53 }, "outcome.code"},
		{"year 10000", func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "time"},
		{"year -1", func(e *Event) { e.Time = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, "time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := sampleEvent()
			tt.edit(&e)
			_, err := Canonical(&e)
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("Canonical error = %v, want ErrInvalidEvent", err)
			}
			if !strings.Contains(err.Error(), ": "+tt.field+": ") {
				t.Fatalf("error %q does not name field %q", err, tt.field)
			}
		})
	}
	// The largest safe values are fine.
	e := sampleEvent()
	e.Seq, e.LatencyUS, e.Outcome.Code = 1<<53-1, -(1<<53 - 1), 1<<53-1
	if _, err := Canonical(&e); err != nil {
		t.Fatalf("safe integers rejected: %v", err)
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	e := sampleEvent()
	got, err := Hash(&e)
	if err != nil {
		t.Fatal(err)
	}
	input := append(make([]byte, 32), sampleCanonical...)
	sum := sha256.Sum256(input)
	if want := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
	// prev_hash contributes its raw bytes and its text.
	e.PrevHash = strings.Repeat("ab", 32)
	other, err := Hash(&e)
	if err != nil || other == got {
		t.Fatalf("Hash with another prev_hash = %s, %v", other, err)
	}
	for _, bad := range []string{"", "00", strings.Repeat("A", 64), strings.Repeat("g", 64), strings.Repeat("0", 65)} {
		e.PrevHash = bad
		if _, err := Hash(&e); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("Hash with prev_hash %q: error = %v, want ErrInvalidEvent", bad, err)
		}
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	t.Parallel()
	e := sampleEvent()
	h, err := Hash(&e)
	if err != nil {
		t.Fatal(err)
	}
	e.Hash = h
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	ptr, err := json.Marshal(&e)
	if err != nil || !bytes.Equal(ptr, data) {
		t.Fatalf("pointer and value encodings differ: %s", ptr)
	}
	want := strings.Replace(sampleCanonical, `,"kind":`, `,"hash":"`+h+`","kind":`, 1)
	if string(data) != want {
		t.Fatalf("MarshalJSON\n got %s\nwant %s", data, want)
	}
	// A third party verifies: drop "hash", canonicalize, prefix prev_hash.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "hash")
	stripped, _ := json.Marshal(m)
	canon, err := CanonicalJSON(stripped)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(make([]byte, 32), canon...))
	if hex.EncodeToString(sum[:]) != h {
		t.Fatal("hash not reproducible from the stored JSON")
	}

	var back Event
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if err := VerifyChain([]Event{back}, GenesisHash); err != nil {
		t.Fatalf("decoded event does not verify: %v", err)
	}
	again, err := json.Marshal(back)
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("re-encoding differs:\n%s\n%s", again, data)
	}

	for _, bad := range []string{
		strings.Replace(string(data), `"seq":7`, `"seq":7,"extra":1`, 1),
		string(data) + ` {}`,
		`{"seq":"x"}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%.60s…) succeeded", bad)
		}
	}
}

func TestKindValid(t *testing.T) {
	t.Parallel()
	for _, k := range []Kind{KindSyscall, KindToolCall, KindSignal, KindPolicyReload, KindApproval, KindMCPMessage, KindAgentLifecycle} {
		if !k.Valid() {
			t.Errorf("%q.Valid() = false", k)
		}
	}
	for _, k := range []Kind{"", "Syscall", "other"} {
		if k.Valid() {
			t.Errorf("%q.Valid() = true", k)
		}
	}
}
