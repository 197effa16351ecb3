package audit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

var jsonSeeds = []string{
	`{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}`,
	`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"x","1":"One","\ud83d\ude00":"e","\u0080":"Control","\u00f6":"o"}`,
	`{"query":"DROP TABLE users","limit":10,"db":{"name":"prod"}}`,
	`[1,-0,1e-7,1e21,"\u0000",{"b":{},"a":[]}]`,
	`{"a":1,"a":2}`,
	`"\ud800"`,
	`1e400`,
	`{"path":"/etc/passwd","data":"héllo\n"}`,
}

// FuzzCanonicalJSON: canonical output is valid JSON with the same meaning
// as the input, and canonicalizing it again changes nothing.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := CanonicalJSON(src)
		if err != nil {
			return
		}
		if !json.Valid(src) {
			t.Fatalf("accepted invalid JSON %q", src)
		}
		if !json.Valid(out) {
			t.Fatalf("canonical output is not JSON: %q", out)
		}
		again, err := CanonicalJSON(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q → %q (%v)", out, again, err)
		}
		var a, b any
		if err := json.Unmarshal(src, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("meaning changed: %q → %q", src, out)
		}
	})
}

// FuzzCanonicalEvent: an event's canonical JSON decodes back to the same
// event, and the decoded event canonicalizes to the same bytes.
func FuzzCanonicalEvent(f *testing.F) {
	for i, s := range jsonSeeds {
		f.Add(uint64(i), int64(1700000000000000000+i), "agent-1", "tool\n\"x\"", "deny", "reason — é", int64(-2), []byte(s))
	}
	f.Add(uint64(1<<53-1), int64(0), "", "", "", "", int64(0), []byte(nil))
	f.Fuzz(func(t *testing.T, seq uint64, nanos int64, agent, tool, action, reason string, code int64, args []byte) {
		e := Event{
			Seq: seq, Time: time.Unix(0, nanos), AgentID: agent, SessionID: agent + "-s", TraceID: "t",
			Kind: KindToolCall, Tool: tool, Args: args,
			Decision:  Decision{Action: action, Allowed: code >= 0, Rule: tool, Reason: reason, Policy: "p", PolicyVersion: "v"},
			Outcome:   Outcome{Code: int(code), Error: reason, ResultHash: "r", ResultSummary: agent},
			LatencyUS: code, PrevHash: GenesisHash,
		}
		c, err := Canonical(&e)
		if err != nil {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("canonical event is not JSON: %q", c)
		}
		var back Event
		if err := json.Unmarshal(c, &back); err != nil {
			t.Fatalf("decode canonical %q: %v", c, err)
		}
		c2, err := Canonical(&back)
		if err != nil || !bytes.Equal(c, c2) {
			t.Fatalf("round trip changed canonical form:\n%q\n%q (%v)", c, c2, err)
		}
		if back.Seq != e.Seq || !back.Time.Equal(e.Time) || back.AgentID != e.AgentID || back.Tool != e.Tool ||
			back.Decision != e.Decision || back.Outcome != e.Outcome || back.LatencyUS != e.LatencyUS || back.Kind != e.Kind {
			t.Fatalf("decoded %+v\nwant    %+v", back, e)
		}
		if len(args) > 0 {
			var a, b any
			if err := json.Unmarshal(args, &a); err != nil {
				t.Fatalf("accepted args %q that encoding/json rejects: %v", args, err)
			}
			if err := json.Unmarshal(back.Args, &b); err != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("args changed meaning: %q → %q", args, back.Args)
			}
		}
		h1, err1 := Hash(&e)
		h2, err2 := Hash(&back)
		if err1 != nil || err2 != nil || h1 != h2 {
			t.Fatalf("hash differs after round trip: %s %s (%v %v)", h1, h2, err1, err2)
		}
	})
}
