package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentos/agentos/audit"
)

// fakeClock advances one millisecond per reading.
type fakeClock struct{ n atomic.Int64 }

func (c *fakeClock) Now() time.Time {
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(c.n.Add(1)) * time.Millisecond)
}

// env is a store and a log over it in a temporary data directory.
type env struct {
	dir   string
	store *Store
	log   *audit.Log
}

func newEnv(t testing.TB, opts audit.Options) *env {
	t.Helper()
	dir := t.TempDir()
	return openEnv(t, dir, opts)
}

func openEnv(t testing.TB, dir string, opts audit.Options) *env {
	t.Helper()
	st, err := Open(context.Background(), Options{Path: filepath.Join(dir, "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	opts.Store = st
	opts.Dir = dir
	if opts.Clock == nil {
		opts.Clock = &fakeClock{}
	}
	l, err := audit.Open(context.Background(), opts)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	e := &env{dir: dir, store: st, log: l}
	t.Cleanup(func() { e.close(t) })
	return e
}

func (e *env) close(t testing.TB) {
	t.Helper()
	if e.log != nil {
		if err := e.log.Close(); err != nil {
			t.Error(err)
		}
		e.log = nil
	}
	if e.store != nil {
		if err := e.store.Close(); err != nil {
			t.Error(err)
		}
		e.store = nil
	}
}

func event(i int) *audit.Event {
	return &audit.Event{
		AgentID: fmt.Sprintf("agent-%d", i%5), SessionID: fmt.Sprintf("s-%d", i%3), TraceID: fmt.Sprintf("t-%d", i),
		Kind: audit.KindToolCall, Tool: []string{"file_read", "web_fetch", "database_query"}[i%3],
		Args:     json.RawMessage(fmt.Sprintf(`{"n": %d, "path": "/mem/%d"}`, i, i)),
		Decision: audit.Decision{Action: []string{"allow", "deny"}[i%2], Allowed: i%2 == 0, Rule: fmt.Sprintf("r%d", i%4), Policy: "p", PolicyVersion: "v1"},
		Outcome:  audit.Outcome{Code: -2 * (i % 2), ResultSummary: "ok"},
	}
}

func appendN(t testing.TB, l *audit.Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := l.Append(context.Background(), event(i)); err != nil {
			t.Fatalf("Append #%d: %v", i, err)
		}
	}
}

func mustVerify(t testing.TB, e *env) audit.VerifyResult {
	t.Helper()
	res, err := e.log.Verify(context.Background(), audit.VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func TestAppendVerifyReopen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{CheckpointEvery: 7})
	ev := event(0)
	if err := e.log.Append(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 0 || ev.PrevHash != audit.GenesisHash || len(ev.Hash) != 64 || ev.Time.IsZero() {
		t.Fatalf("first event: seq %d prev %s hash %q time %v", ev.Seq, ev.PrevHash, ev.Hash, ev.Time)
	}
	if h, err := audit.Hash(ev); err != nil || h != ev.Hash {
		t.Fatalf("Hash(appended) = %s, %v; want %s", h, err, ev.Hash)
	}
	appendN(t, e.log, 1, 29)
	res := mustVerify(t, e)
	if res.Size != 30 || res.Checkpoints != 4 { // sizes 7, 14, 21, 28
		t.Fatalf("Verify = %+v, want size 30 and 4 checkpoints", res)
	}
	// Reading after Append sees the event.
	var got []audit.Event
	err := e.log.Query(t.Context(), audit.Query{TraceID: "t-29"}, func(ev *audit.Event) error {
		got = append(got, *ev)
		return nil
	})
	if err != nil || len(got) != 1 || got[0].Seq != 29 {
		t.Fatalf("Query(trace t-29) = %v, %v", got, err)
	}
	// Close writes a final checkpoint; a reopened log continues the chain.
	dir := e.dir
	e.close(t)
	e2 := openEnv(t, dir, audit.Options{})
	res = mustVerify(t, e2)
	if res.Latest == nil || res.Latest.Size != 30 {
		t.Fatalf("after Close the latest checkpoint is %+v, want size 30", res.Latest)
	}
	appendN(t, e2.log, 30, 5)
	if _, err := e2.log.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if res := mustVerify(t, e2); res.Size != 35 {
		t.Fatalf("size after reopen = %d, want 35", res.Size)
	}
}

func TestKeyFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{})
	st, err := os.Stat(filepath.Join(e.dir, audit.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", st.Mode().Perm())
	}
	v, err := audit.LoadVerifier(filepath.Join(e.dir, audit.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != audit.DefaultKeyName {
		t.Fatalf("key name %q", v.Name())
	}
	// A key readable by others is refused.
	if err := os.Chmod(filepath.Join(e.dir, audit.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.LoadOrCreateKey(e.dir, ""); err == nil {
		t.Fatal("LoadOrCreateKey accepted a key file with mode 0644")
	}
}

func TestQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{})
	var times []time.Time
	for i := range 60 {
		ev := event(i)
		if err := e.log.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		times = append(times, ev.Time)
	}
	tests := []struct {
		name string
		q    audit.Query
		want []uint64
	}{
		{"agent newest first limit", audit.Query{AgentID: "agent-1", Limit: 3}, []uint64{56, 51, 46}},
		{"agent and tool", audit.Query{AgentID: "agent-0", Tool: "file_read", Ascending: true}, []uint64{0, 15, 30, 45}},
		{"decision and rule", audit.Query{Action: "deny", Rule: "r3", Ascending: true, Limit: 2}, []uint64{3, 7}},
		{"session from seq", audit.Query{SessionID: "s-2", FromSeq: 50, Ascending: true}, []uint64{50, 53, 56, 59}},
		{"trace", audit.Query{TraceID: "t-17"}, []uint64{17}},
		{"no match", audit.Query{AgentID: "nobody"}, nil},
		{"time range", audit.Query{Since: times[9], Until: times[12], Ascending: true}, []uint64{9, 10, 11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []uint64
			err := e.log.Query(t.Context(), tt.q, func(ev *audit.Event) error {
				if !tt.q.Match(ev) {
					t.Errorf("event %d does not match the query", ev.Seq)
				}
				got = append(got, ev.Seq)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("Query(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

// TestConcurrentAppends: 64 goroutines append; sequence numbers are
// gap-free, each assigned once, and the chain and tree verify.
func TestConcurrentAppends(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{CheckpointEvery: 500})
	const workers, per = 64, 40
	seen := make([]atomic.Int32, workers*per)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				ev := event(w*per + i)
				if err := e.log.Append(context.Background(), ev); err != nil {
					t.Error(err)
					return
				}
				if ev.Seq >= workers*per {
					t.Errorf("seq %d out of range", ev.Seq)
					return
				}
				seen[ev.Seq].Add(1)
			}
		})
	}
	wg.Wait()
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Fatalf("seq %d assigned %d times", i, n)
		}
	}
	if res := mustVerify(t, e); res.Size != workers*per {
		t.Fatalf("size %d, want %d", res.Size, workers*per)
	}
	// The chain is linear: each prev_hash is the previous event's hash.
	prev := audit.GenesisHash
	err := e.log.Query(t.Context(), audit.Query{Ascending: true}, func(ev *audit.Event) error {
		if ev.PrevHash != prev {
			return fmt.Errorf("seq %d: prev_hash does not link", ev.Seq)
		}
		prev = ev.Hash
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAppendErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{})
	bad := event(0)
	bad.Kind = "bogus"
	if err := e.log.Append(t.Context(), bad); !errors.Is(err, audit.ErrInvalidEvent) {
		t.Fatalf("Append(bad kind) = %v, want ErrInvalidEvent", err)
	}
	bad = event(0)
	bad.Args = json.RawMessage(`{"a":1,"a":2}`)
	if err := e.log.Append(t.Context(), bad); !errors.Is(err, audit.ErrInvalidEvent) {
		t.Fatalf("Append(duplicate args) = %v, want ErrInvalidEvent", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := e.log.Append(ctx, event(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append(cancelled) = %v", err)
	}
	if err := e.log.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.log.Append(t.Context(), event(0)); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if _, err := e.log.Checkpoint(t.Context()); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Checkpoint after Close = %v, want ErrClosed", err)
	}
	if err := e.log.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	// Nothing invalid was recorded.
	h, err := e.store.Head(t.Context())
	if err != nil || h.Size != 0 {
		t.Fatalf("head after invalid appends = %+v, %v", h, err)
	}
}

func TestProve(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{CheckpointEvery: -1, CheckpointInterval: -1})
	appendN(t, e.log, 0, 37)
	if _, err := audit.Prove(t.Context(), e.store, 3); !errors.Is(err, audit.ErrNotCovered) {
		t.Fatalf("Prove before any checkpoint = %v, want ErrNotCovered", err)
	}
	for _, seq := range []uint64{0, 1, 17, 35, 36} {
		p, err := e.log.Prove(t.Context(), seq)
		if err != nil {
			t.Fatalf("Prove(%d): %v", seq, err)
		}
		if err := audit.VerifyProof(p, e.log.Verifier()); err != nil {
			t.Fatalf("VerifyProof(%d): %v", seq, err)
		}
		// JSON round trip, as the CLI prints and reads it.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back audit.Proof
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if err := audit.VerifyProof(&back, e.log.Verifier()); err != nil {
			t.Fatalf("VerifyProof(decoded %d): %v", seq, err)
		}
		// A changed event fails.
		back.Event.Tool = "other"
		if err := audit.VerifyProof(&back, e.log.Verifier()); !errors.Is(err, audit.ErrProof) {
			t.Fatalf("VerifyProof(edited event) = %v, want ErrProof", err)
		}
	}
	if _, err := e.log.Prove(t.Context(), 37); err == nil {
		t.Fatal("Prove(beyond the end) succeeded")
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	pub := t.TempDir()
	opts := audit.Options{CheckpointEvery: 10, Publishers: []audit.Publisher{audit.FilePublisher{Dir: pub}}}
	e := newEnv(t, opts)
	appendN(t, e.log, 0, 45)
	size := uint64(45)
	for _, before := range []uint64{13, 29, 48, 51} {
		a, err := e.log.Prune(t.Context(), before)
		if err != nil {
			t.Fatalf("Prune(%d): %v", before, err)
		}
		if a.Size != before {
			t.Fatalf("anchor size %d, want %d", a.Size, before)
		}
		if res := mustVerify(t, e); res.Start != before || res.Size != size {
			t.Fatalf("after Prune(%d): %+v", before, res)
		}
		// The log continues from the anchor and proofs still work.
		appendN(t, e.log, int(size), 3)
		size += 3
		p, err := e.log.Prove(t.Context(), before)
		if err != nil {
			t.Fatalf("Prove(%d) after prune: %v", before, err)
		}
		if err := audit.VerifyProof(p, e.log.Verifier()); err != nil {
			t.Fatalf("proof after prune: %v", err)
		}
		// So does a reopened log.
		e.close(t)
		e = openEnv(t, e.dir, opts)
		if res := mustVerify(t, e); res.Start != before || res.Size != size {
			t.Fatalf("reopened after Prune(%d): %+v", before, res)
		}
	}
	if _, err := e.log.Prune(t.Context(), 5); err == nil {
		t.Fatal("Prune below the anchor succeeded")
	}
	if _, err := e.log.Prune(t.Context(), 1000); err == nil {
		t.Fatal("Prune beyond the end succeeded")
	}
	if _, err := os.Stat(filepath.Join(pub, "checkpoint-00000000000000000013.note")); err != nil {
		t.Fatalf("anchor checkpoint not published: %v", err)
	}
}

// TestVerifyManyCheckpoints: Verify reads stored checkpoints a page at a
// time (pages of 256) and merges them with published ones; every
// checkpoint, including several of the same size, is checked once, and a
// truncation behind the last page is caught.
func TestVerifyManyCheckpoints(t *testing.T) {
	t.Parallel()
	pub := &notesPublisher{}
	e := newEnv(t, audit.Options{CheckpointEvery: 1, CheckpointInterval: -1, Publishers: []audit.Publisher{pub}})
	const n = 260 // more stored checkpoints than one page of 256
	appendN(t, e.log, 0, n)
	for range 3 { // checkpoints of an unchanged size
		if _, err := e.log.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	pub.mu.Lock()
	notes := slices.Clone(pub.notes)
	pub.mu.Unlock()
	res, err := e.log.Verify(t.Context(), audit.VerifyOptions{Published: notes})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if want := n + 3 + len(notes); res.Checkpoints != want || res.Latest == nil || res.Latest.Size != n {
		t.Fatalf("Verify = %d checkpoints, latest %+v; want %d, latest at size %d", res.Checkpoints, res.Latest, want, n)
	}
	execSQL(t, rawDB(t, e.dir), `DELETE FROM events WHERE seq >= 250`)
	_, err = e.log.Verify(t.Context(), audit.VerifyOptions{})
	var ke *audit.CheckpointError
	if !errors.As(err, &ke) || ke.Seq != 250 || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("Verify after truncation = %v; want a checkpoint error from seq 250", err)
	}
}

// notesPublisher keeps the notes of published checkpoints.
type notesPublisher struct {
	mu    sync.Mutex
	notes [][]byte
}

func (p *notesPublisher) Publish(_ context.Context, c audit.Checkpoint) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notes = append(p.notes, c.Note)
	return nil
}

// TestQueryMatchesCanonicalText: tool, action, rule and trace id are
// found in the canonical JSON; the same text inside args is not a match,
// does not use up the limit, and values that JSON escapes still match.
func TestQueryMatchesCanonicalText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{})
	decoy := event(0)
	decoy.Tool = "file_read"
	decoy.Args = json.RawMessage(`{"tool":"web_fetch","rule":"r<\"é\\>","trace_id":"t-x"}`)
	match := event(1)
	match.Tool, match.Decision.Rule, match.TraceID = "web_fetch", `r<"é\>`, "t-x"
	for _, ev := range []*audit.Event{match, decoy, decoy} {
		ev := *ev
		if err := e.log.Append(t.Context(), &ev); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		q    audit.Query
		want []uint64
	}{
		{"tool", audit.Query{Tool: "web_fetch", Limit: 1}, []uint64{0}},
		{"escaped rule", audit.Query{Rule: `r<"é\>`, Limit: 1}, []uint64{0}},
		{"trace", audit.Query{TraceID: "t-x"}, []uint64{0}},
		{"tool in args only", audit.Query{Tool: "file_read", Ascending: true}, []uint64{1, 2}},
		{"prefix is not a match", audit.Query{Tool: "web_fetc"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []uint64
			err := e.log.Query(t.Context(), tt.q, func(ev *audit.Event) error {
				got = append(got, ev.Seq)
				return nil
			})
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("Query(%+v) = %v, %v; want %v", tt.q, got, err, tt.want)
			}
		})
	}
}

// TestOpenFirstLayout: a database created with the first layout (with
// trace_id, tool, action and rule columns) keeps working: appends fill
// every column, queries and verification work.
func TestOpenFirstLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := rawDB(t, dir)
	execSQL(t, db, `CREATE TABLE events (
	seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, agent_id TEXT NOT NULL, session_id TEXT NOT NULL,
	trace_id TEXT NOT NULL, tool TEXT NOT NULL, action TEXT NOT NULL, rule TEXT NOT NULL,
	data BLOB NOT NULL, hash BLOB NOT NULL, tree BLOB NOT NULL)`)
	execSQL(t, db, `CREATE INDEX events_trace ON events(trace_id, seq)`)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	e := openEnv(t, dir, audit.Options{CheckpointEvery: 5})
	appendN(t, e.log, 0, 12)
	if res := mustVerify(t, e); res.Size != 12 || res.Checkpoints != 2 {
		t.Fatalf("Verify = %+v, want 12 events and 2 checkpoints", res)
	}
	var got []uint64
	err := e.log.Query(t.Context(), audit.Query{Tool: "web_fetch", Action: "deny", Ascending: true}, func(ev *audit.Event) error {
		got = append(got, ev.Seq)
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[1 7]" {
		t.Fatalf("Query = %v, %v; want [1 7]", got, err)
	}
	var tool, trace string
	if err := rawDB(t, dir).QueryRow(`SELECT tool, trace_id FROM events WHERE seq = 7`).Scan(&tool, &trace); err != nil || tool != "web_fetch" || trace != "t-7" {
		t.Fatalf("first-layout columns of event 7 = %q, %q, %v", tool, trace, err)
	}
}

// TestCheckpointOfEmptyLog: a checkpoint of the empty log (size 0) is
// consistent with every later one.
func TestCheckpointOfEmptyLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{CheckpointEvery: -1, CheckpointInterval: -1})
	if c, err := e.log.Checkpoint(t.Context()); err != nil || c.Size != 0 {
		t.Fatalf("Checkpoint(empty) = %+v, %v", c, err)
	}
	appendN(t, e.log, 0, 5)
	if _, err := e.log.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if res := mustVerify(t, e); res.Checkpoints != 2 || res.Latest == nil || res.Latest.Size != 5 {
		t.Fatalf("Verify = %+v, want 2 checkpoints, the latest at size 5", res)
	}
}
