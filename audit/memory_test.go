package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock advances one millisecond per call.
type fakeClock struct{ n atomic.Int64 }

func (c *fakeClock) Now() time.Time {
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("X", -7200)).Add(time.Duration(c.n.Add(1)) * time.Millisecond)
}

func newMemory(t testing.TB, opts MemoryOptions) *Memory {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = &fakeClock{}
	}
	m, err := NewMemory(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func appendN(t testing.TB, m *Memory, n int) {
	t.Helper()
	for i := range n {
		e := Event{Kind: KindSyscall, AgentID: "a1", Tool: "file_read", Args: json.RawMessage(fmt.Sprintf(`{"path":"/mem/%d", "n": %d}`, i, i))}
		if err := m.Append(context.Background(), &e); err != nil {
			t.Fatalf("Append #%d: %v", i, err)
		}
	}
}

func TestNewMemoryOptions(t *testing.T) {
	t.Parallel()
	if _, err := NewMemory(MemoryOptions{MaxEvents: -1}); err == nil || !strings.Contains(err.Error(), "MaxEvents") {
		t.Fatalf("NewMemory(MaxEvents -1) error = %v, want one naming MaxEvents", err)
	}
	m, err := NewMemory(MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.max != DefaultMaxEvents {
		t.Fatalf("default bound %d, want %d", m.max, DefaultMaxEvents)
	}
	e := Event{Kind: KindSignal}
	if err := m.Append(t.Context(), &e); err != nil {
		t.Fatal(err)
	}
	if e.Time.IsZero() || e.Time.Location() != time.UTC {
		t.Fatalf("wall-clock time %v not set in UTC", e.Time)
	}
}

func TestMemoryAppend(t *testing.T) {
	t.Parallel()
	m := newMemory(t, MemoryOptions{})
	args := json.RawMessage(`{"b": 1.50, "a": [true]}`)
	e := Event{Kind: KindToolCall, AgentID: "a1", Tool: "t", Args: args, Seq: 99, PrevHash: "junk", Hash: "junk"}
	if err := m.Append(t.Context(), &e); err != nil {
		t.Fatal(err)
	}
	if e.Seq != 0 || e.PrevHash != GenesisHash || len(e.Hash) != 64 {
		t.Fatalf("assigned seq %d prev %q hash %q", e.Seq, e.PrevHash, e.Hash)
	}
	if want := time.Date(2025, 1, 1, 2, 0, 0, 1e6, time.UTC); !e.Time.Equal(want) || e.Time.Location() != time.UTC {
		t.Fatalf("time %v, want %v in UTC", e.Time, want)
	}
	if string(e.Args) != `{"b": 1.50, "a": [true]}` {
		t.Fatalf("caller's args changed: %s", e.Args)
	}
	// A caller-supplied time is kept (in UTC).
	at := time.Date(2024, 6, 1, 12, 0, 0, 5, time.FixedZone("Y", 3600))
	e2 := Event{Kind: KindSignal, Time: at}
	if err := m.Append(t.Context(), &e2); err != nil {
		t.Fatal(err)
	}
	if e2.Seq != 1 || e2.PrevHash != e.Hash || !e2.Time.Equal(at) || e2.Time.Location() != time.UTC {
		t.Fatalf("second event %+v", e2)
	}
	evs := m.Events(0, 10)
	if len(evs) != 2 || m.Len() != 2 {
		t.Fatalf("Events = %d, Len = %d", len(evs), m.Len())
	}
	if string(evs[0].Args) != `{"a":[true],"b":1.5}` {
		t.Fatalf("stored args %s, want canonical", evs[0].Args)
	}
	if evs[0].Hash != e.Hash || evs[1].Hash != e2.Hash {
		t.Fatal("stored hashes differ from those returned")
	}
	// Changing the caller's args or a returned copy changes nothing stored.
	args[2] = 'X'
	evs[0].Args[2] = 'X'
	if err := m.Verify(); err != nil {
		t.Fatalf("Verify after caller mutation: %v", err)
	}
	if h, err := Hash(&evs[1]); err != nil || h != e2.Hash {
		t.Fatalf("Hash(stored) = %s, %v", h, err)
	}
}

func TestMemoryAppendErrors(t *testing.T) {
	t.Parallel()
	m := newMemory(t, MemoryOptions{MaxEvents: 2})
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		e    *Event
		want error
	}{
		{"nil event", t.Context(), nil, ErrInvalidEvent},
		{"unknown kind", t.Context(), &Event{Kind: "nope"}, ErrInvalidEvent},
		{"empty kind", t.Context(), &Event{}, ErrInvalidEvent},
		{"bad args", t.Context(), &Event{Kind: KindSyscall, Args: json.RawMessage(`{"a":1,"a":2}`)}, ErrInvalidJSON},
		{"bad utf8", t.Context(), &Event{Kind: KindSyscall, Tool: "\xff"}, ErrInvalidEvent},
		{"ctx done", cancelled, &Event{Kind: KindSyscall}, context.Canceled},
	}
	for _, tt := range tests {
		var before Event
		if tt.e != nil {
			before = *tt.e
		}
		err := m.Append(tt.ctx, tt.e)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Append error = %v, want %v", tt.name, err, tt.want)
		}
		if tt.e != nil && fmt.Sprint(*tt.e) != fmt.Sprint(before) {
			t.Errorf("%s: failed Append changed the event: %+v", tt.name, *tt.e)
		}
	}
	if m.Len() != 0 {
		t.Fatalf("failed appends recorded %d events", m.Len())
	}
	appendN(t, m, 2)
	e := Event{Kind: KindSyscall}
	if err := m.Append(t.Context(), &e); !errors.Is(err, ErrFull) {
		t.Fatalf("Append to a full log = %v, want ErrFull", err)
	}
	if m.Len() != 2 || e.Hash != "" {
		t.Fatal("full log recorded the event")
	}
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryEventsRange(t *testing.T) {
	t.Parallel()
	m := newMemory(t, MemoryOptions{})
	appendN(t, m, 5)
	tests := []struct {
		from, to uint64
		want     []uint64
	}{
		{0, 5, []uint64{0, 1, 2, 3, 4}},
		{1, 3, []uint64{1, 2}},
		{3, 100, []uint64{3, 4}},
		{4, 4, nil},
		{5, 9, nil},
		{3, 1, nil},
		{0, 0, nil},
	}
	for _, tt := range tests {
		var got []uint64
		for _, e := range m.Events(tt.from, tt.to) {
			got = append(got, e.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Events(%d, %d) seqs = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestMemoryVerifyDetectsTampering edits the stored events in every way
// the chain must catch and checks the first bad seq is named.
func TestMemoryVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tamper  func(evs []Event) []Event
		wantSeq uint64
		reason  string
	}{
		{"edit field", func(evs []Event) []Event { evs[3].Decision.Allowed = true; return evs }, 3, "hash mismatch"},
		{"edit args", func(evs []Event) []Event { evs[2].Args = json.RawMessage(`{"n":2,"path":"/etc"}`); return evs }, 2, "hash mismatch"},
		{"edit time", func(evs []Event) []Event { evs[1].Time = evs[1].Time.Add(time.Nanosecond); return evs }, 1, "hash mismatch"},
		{"edit hash", func(evs []Event) []Event { evs[4].Hash = strings.Repeat("0", 64); return evs }, 4, "hash mismatch"},
		{"rehash one event", func(evs []Event) []Event {
			evs[2].Tool = "rm"
			evs[2].Hash, _ = Hash(&evs[2])
			return evs
		}, 3, "prev_hash"},
		{"delete", func(evs []Event) []Event { return append(evs[:2], evs[3:]...) }, 2, "sequence gap"},
		{"reorder", func(evs []Event) []Event { evs[1], evs[2] = evs[2], evs[1]; return evs }, 1, "sequence gap"},
		{"renumber after delete", func(evs []Event) []Event {
			evs = append(evs[:2], evs[3:]...)
			for i := range evs {
				evs[i].Seq = uint64(i)
			}
			return evs
		}, 2, "prev_hash"},
		{"insert", func(evs []Event) []Event {
			x := evs[1]
			return append(evs[:2], append([]Event{x}, evs[2:]...)...)
		}, 2, "sequence gap"},
		{"genesis", func(evs []Event) []Event { evs[0].PrevHash = strings.Repeat("1", 64); return evs }, 0, "prev_hash"},
		{"bad hex", func(evs []Event) []Event { evs[0].Hash = "zz"; return evs }, 0, "hash mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMemory(t, MemoryOptions{})
			appendN(t, m, 6)
			if err := m.Verify(); err != nil {
				t.Fatalf("untouched log: %v", err)
			}
			m.mu.Lock()
			m.chunks = [][]Event{tt.tamper(slices.Concat(m.chunks...))}
			m.mu.Unlock()
			err := m.Verify()
			var ce *ChainError
			if !errors.As(err, &ce) || !errors.Is(err, ErrChainBroken) {
				t.Fatalf("Verify = %v, want a ChainError", err)
			}
			if ce.Seq != tt.wantSeq || !strings.Contains(ce.Reason, tt.reason) {
				t.Fatalf("Verify = %v, want seq %d and %q", err, tt.wantSeq, tt.reason)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("seq %d", tt.wantSeq)) {
				t.Fatalf("message %q does not name seq %d", err, tt.wantSeq)
			}
		})
	}
}

func TestVerifyChainSegment(t *testing.T) {
	t.Parallel()
	m := newMemory(t, MemoryOptions{})
	appendN(t, m, 6)
	all := m.Events(0, 6)
	if err := VerifyChain(all[3:], all[2].Hash); err != nil {
		t.Fatalf("segment: %v", err)
	}
	if err := VerifyChain(all[3:], GenesisHash); !errors.Is(err, ErrChainBroken) {
		t.Fatalf("segment with wrong anchor = %v", err)
	}
	if err := VerifyChain(nil, GenesisHash); err != nil {
		t.Fatalf("empty chain: %v", err)
	}
}

// TestMemoryConcurrentAppend appends from 64 goroutines: the sequence is
// gap-free and the chain linear. Run with -race.
func TestMemoryConcurrentAppend(t *testing.T) {
	t.Parallel()
	const workers, per = 64, 50
	m := newMemory(t, MemoryOptions{})
	var wg sync.WaitGroup
	seen := make([]atomic.Bool, workers*per)
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				e := Event{Kind: KindToolCall, AgentID: fmt.Sprint("agent-", w), Tool: "t", Args: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}
				if err := m.Append(context.Background(), &e); err != nil {
					t.Error(err)
					return
				}
				if seen[e.Seq].Swap(true) {
					t.Errorf("seq %d assigned twice", e.Seq)
				}
				if i%10 == 0 {
					_ = m.Len()
					_ = m.Events(e.Seq, e.Seq+1)
				}
			}
		})
	}
	wg.Wait()
	if m.Len() != workers*per {
		t.Fatalf("Len = %d, want %d", m.Len(), workers*per)
	}
	for i := range seen {
		if !seen[i].Load() {
			t.Fatalf("seq %d never assigned", i)
		}
	}
	if err := m.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// TestMemoryChunks crosses storage chunk boundaries.
func TestMemoryChunks(t *testing.T) {
	t.Parallel()
	const n = 2*chunkSize + 10
	m := newMemory(t, MemoryOptions{MaxEvents: n})
	appendN(t, m, n)
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
	evs := m.Events(chunkSize-2, chunkSize+3)
	if len(evs) != 5 || evs[0].Seq != chunkSize-2 || evs[4].Seq != chunkSize+2 {
		t.Fatalf("Events across a chunk boundary: %d events from %d", len(evs), evs[0].Seq)
	}
	if all := m.Events(0, n); len(all) != n || all[n-1].Seq != n-1 {
		t.Fatalf("Events(0, n) = %d events", len(all))
	}
	if err := m.Append(t.Context(), &Event{Kind: KindSignal}); !errors.Is(err, ErrFull) {
		t.Fatalf("Append past MaxEvents = %v", err)
	}
	// Tampering in a later chunk names its seq.
	m.mu.Lock()
	m.chunks[2][3].Tool = "x"
	m.mu.Unlock()
	var ce *ChainError
	if err := m.Verify(); !errors.As(err, &ce) || ce.Seq != 2*chunkSize+3 {
		t.Fatalf("Verify = %v, want seq %d", err, 2*chunkSize+3)
	}
}
