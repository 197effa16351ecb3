package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/agentos/agentos/audit"
)

// TestAppendWaitsForFlush: a transaction is committed (visible) before the
// WAL is flushed, and Append returns only after the flush that follows
// its commit has completed.
func TestAppendWaitsForFlush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{CheckpointEvery: -1, CheckpointInterval: -1})
	entered := make(chan struct{})
	release := make(chan struct{})
	e.store.sync.sync = func(f *os.File) error {
		entered <- struct{}{}
		<-release
		return fdatasync(f)
	}
	res := make(chan error, 1)
	ev := event(0)
	go func() { res <- e.log.Append(context.Background(), ev) }()
	select {
	case err := <-res:
		t.Fatalf("Append returned (%v) before the WAL was flushed", err)
	case <-entered:
	}
	// The flush is blocked: the event is committed but Append must not
	// have returned.
	h, err := e.store.Head(t.Context())
	if err != nil || h.Size != 1 {
		t.Fatalf("head while flushing = %+v, %v; want the committed event", h, err)
	}
	select {
	case err := <-res:
		t.Fatalf("Append returned (%v) while its flush was still running", err)
	default:
	}
	close(release)
	if err := <-res; err != nil {
		t.Fatalf("Append = %v", err)
	}
	if ev.Seq != 0 || ev.Hash == "" {
		t.Fatalf("appended event: seq %d hash %q", ev.Seq, ev.Hash)
	}
	// Later flushes (the final checkpoint on Close) pass straight through.
	e.store.sync.sync = fdatasync
}

// TestFlushFailureIsSticky: when the WAL cannot be flushed, the Append
// waiting for it fails, and so does every later write, without trying
// again: whether the pending frames reached the disk is unknown.
func TestFlushFailureIsSticky(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{CheckpointEvery: -1, CheckpointInterval: -1})
	appendN(t, e.log, 0, 3)
	calls := 0
	e.store.sync.sync = func(*os.File) error {
		calls++
		return syscall.EIO
	}
	if err := e.log.Append(t.Context(), event(3)); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append with a failing flush = %v, want EIO", err)
	}
	if err := e.log.Append(t.Context(), event(4)); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append after a failed flush = %v, want EIO", err)
	}
	if err := e.store.AddCheckpoint(t.Context(), audit.Checkpoint{Size: 3}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("AddCheckpoint after a failed flush = %v, want EIO", err)
	}
	if calls != 1 {
		t.Fatalf("flush tried %d times, want 1", calls)
	}
	// What was acknowledged before the failure is intact.
	if err := e.log.Close(); err != nil {
		t.Fatal(err)
	}
	e.log = nil
	st, err := Open(t.Context(), Options{Path: filepath.Join(e.dir, "audit.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := audit.LoadVerifier(filepath.Join(e.dir, audit.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	res, err := audit.Verify(t.Context(), st, v, audit.VerifyOptions{})
	if err != nil || res.Size < 3 {
		t.Fatalf("Verify after the failure = %+v, %v; want the 3 acknowledged events", res, err)
	}
}

// TestFlushFollowsTheWAL: each flush reaches the WAL file SQLite is
// writing, also after the writer connection was discarded and the WAL
// deleted (its last connection closed) and created anew.
func TestFlushFollowsTheWAL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{CheckpointEvery: -1, CheckpointInterval: -1})
	wal := e.store.path + "-wal"
	var synced []os.FileInfo
	e.store.sync.sync = func(f *os.File) error {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		synced = append(synced, st)
		return fdatasync(f)
	}
	check := func(step string) {
		t.Helper()
		cur, err := os.Stat(wal)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if len(synced) == 0 || !os.SameFile(synced[len(synced)-1], cur) {
			t.Fatalf("%s: the last flush did not reach the current WAL file", step)
		}
	}
	ctx := context.Background()
	for i := range 3 {
		if err := e.log.Append(ctx, event(i)); err != nil {
			t.Fatal(err)
		}
	}
	check("before the writer is discarded")
	before, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}

	// Discard the writer and close the read pool's connections: with no
	// connection left SQLite checkpoints the WAL and deletes it, and the
	// next writer creates a new file.
	e.store.wmu.Lock()
	e.store.discardLocked()
	e.store.wmu.Unlock()
	e.store.r.SetMaxIdleConns(0)
	if _, err := os.Stat(wal); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WAL after its last connection closed: %v, want it deleted", err)
	}
	n := len(synced)
	if err := e.log.Append(ctx, event(3)); err != nil {
		t.Fatal(err)
	}
	if len(synced) == n {
		t.Fatal("Append after the WAL was recreated did not flush")
	}
	check("after the WAL was recreated")
	after, _ := os.Stat(wal)
	if os.SameFile(before, after) {
		t.Log("the filesystem reused the WAL's inode; the check above still holds")
	}
	if h, err := e.store.Head(ctx); err != nil || h.Size != 4 {
		t.Fatalf("head = %+v, %v; want 4 events", h, err)
	}
}

// TestAppendSlots: at most two transactions are in flight. An Append that
// finds a slot free commits on its own goroutine; one that finds both
// held (their flushes blocked) is queued, and committed once a slot is
// free.
func TestAppendSlots(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{CheckpointEvery: -1, CheckpointInterval: -1})
	ctx := t.Context()
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	e.store.sync.sync = func(f *os.File) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return fdatasync(f)
	}
	waitHead := func(size uint64) {
		t.Helper()
		for range 2000 {
			if h, err := e.store.Head(ctx); err == nil && h.Size == size {
				return
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("the log never reached %d events", size)
	}
	res := make(chan error, 3)
	go func() { res <- e.log.Append(ctx, event(0)) }()
	<-entered // the first holds a slot, flushing
	go func() { res <- e.log.Append(ctx, event(1)) }()
	waitHead(2) // the second committed in the other slot and waits for a flush
	go func() { res <- e.log.Append(ctx, event(2)) }()
	time.Sleep(20 * time.Millisecond)
	if h, err := e.store.Head(ctx); err != nil || h.Size != 2 {
		t.Fatalf("head with both slots held = %+v, %v; want 2 events (the third queued)", h, err)
	}
	select {
	case err := <-res:
		t.Fatalf("an Append returned (%v) before any flush completed", err)
	default:
	}
	close(release)
	for range 3 {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
	waitHead(3)

	if res := mustVerify(t, e); res.Size != 3 {
		t.Fatalf("verified %d events, want 3", res.Size)
	}
}

// gatedStore holds each Append until gate is closed.
type gatedStore struct {
	*Store
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) Append(ctx context.Context, seal func(audit.Head, tlog.HashReader) ([]audit.Record, error)) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	return g.Store.Append(ctx, seal)
}

// TestCloseWaitsForCallersCommit: Close does not return while an Append
// is committing on its caller's goroutine, and that event is recorded.
func TestCloseWaitsForCallersCommit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := Open(t.Context(), Options{Path: filepath.Join(dir, "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := &gatedStore{Store: st, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	l, err := audit.Open(t.Context(), audit.Options{Store: g, Dir: dir, CheckpointEvery: -1, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() { res <- l.Append(context.Background(), event(0)) }()
	<-g.entered
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an Append was committing", err)
	default:
	}
	close(g.gate)
	if err := <-res; err != nil {
		t.Fatalf("Append committing during Close = %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), event(1)); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if r, err := l.Verify(t.Context(), audit.VerifyOptions{}); err != nil || r.Size != 1 || r.Checkpoints != 1 {
		t.Fatalf("Verify after Close = %+v, %v; want 1 event and the final checkpoint", r, err)
	}
}
