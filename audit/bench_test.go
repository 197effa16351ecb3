package audit

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// benchEvent is a typical tool-call event (about 300 bytes canonical).
func benchEvent() Event {
	return Event{
		Time:      time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		AgentID:   "agent-7f3a",
		SessionID: "sess-12",
		TraceID:   "4bf92f3577b34da6a3ce929d0e0e4736",
		Kind:      KindToolCall,
		Tool:      "file_read",
		Args:      json.RawMessage(`{"path":"/mem/working/notes.txt","offset":0,"length":4096}`),
		Decision:  Decision{Action: "allow", Allowed: true, Rule: "allow-mem", Reason: "Matched rule 'allow-mem'", Policy: "default", PolicyVersion: "9f2c"},
		Outcome:   Outcome{Code: 0, ResultHash: "e3b0c44298fc1c149afbf4c8996fb924", ResultSummary: "412 bytes"},
		LatencyUS: 37,
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	m, err := NewMemory(MemoryOptions{MaxEvents: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	tmpl := benchEvent()
	canon, _ := Canonical(&tmpl)
	b.SetBytes(int64(len(canon)))
	b.ReportAllocs()
	for b.Loop() {
		e := tmpl
		if err := m.Append(ctx, &e); err != nil {
			if !errors.Is(err, ErrFull) {
				b.Fatal(err)
			}
			m, _ = NewMemory(MemoryOptions{MaxEvents: 1 << 20})
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	e := benchEvent()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendCanonical(buf[:0], &e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanonicalJSON(b *testing.B) {
	src := []byte(`{"query":"SELECT * FROM t WHERE id = 1","params":[1,2.5,"x"],"db":{"name":"prod","ssl":true},"limit":100}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CanonicalJSON(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	m, _ := NewMemory(MemoryOptions{})
	for range 1000 {
		e := benchEvent()
		if err := m.Append(context.Background(), &e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCanonicalDoesNotAllocate: canonicalizing a typical event into a
// reused buffer allocates nothing.
func TestCanonicalDoesNotAllocate(t *testing.T) {
	e := benchEvent()
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(1000, func() {
		var err error
		if buf, err = AppendCanonical(buf[:0], &e); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Fatalf("AppendCanonical allocates %v times, want 0", n)
	}
}

// TestAppendAllocs: an append allocates the hash string and the stored
// copy of the args, plus one storage chunk per 1024 events.
func TestAppendAllocs(t *testing.T) {
	m, err := NewMemory(MemoryOptions{MaxEvents: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := benchEvent()
	ctx := context.Background()
	if n := testing.AllocsPerRun(5000, func() {
		e := tmpl
		if err := m.Append(ctx, &e); err != nil {
			panic(err)
		}
	}); n > 2 {
		t.Fatalf("Append allocates %v times, want at most 2", n)
	}
}
