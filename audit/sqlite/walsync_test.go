package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

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
