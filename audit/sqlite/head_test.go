package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/agentos/agentos/audit"
)

// appendHead runs an Append that stores nothing and returns the head it
// was given.
func appendHead(t *testing.T, st *Store) audit.Head {
	t.Helper()
	var h audit.Head
	err := st.Append(t.Context(), func(head audit.Head, _ tlog.HashReader) ([]audit.Record, error) {
		h = head
		return nil, nil
	})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return h
}

// wantHead checks that Append is given the committed head, as Head reads
// it from the database.
func wantHead(t *testing.T, st *Store, what string) audit.Head {
	t.Helper()
	want, err := st.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := appendHead(t, st); got != want {
		t.Fatalf("%s: Append was given head %+v, want %+v", what, got, want)
	}
	return want
}

// TestAppendHeadStaysRight: the head an Append works from (which the
// store may keep from its previous commit) is the committed one after
// appends, a failed transaction, a checkpoint, a prune, appends by
// another store on the same file, and a reopen.
func TestAppendHeadStaysRight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.Options{CheckpointEvery: -1})
	wantHead(t, e.store, "empty log")
	appendN(t, e.log, 0, 5)
	if h := wantHead(t, e.store, "after appends"); h.Size != 5 {
		t.Fatalf("head size %d, want 5", h.Size)
	}

	// A failed transaction (seal fails, or returns a bad record) stores
	// nothing and does not move the head.
	boom := errors.New("boom")
	err := e.store.Append(t.Context(), func(audit.Head, tlog.HashReader) ([]audit.Record, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Append with a failing seal = %v", err)
	}
	err = e.store.Append(t.Context(), func(h audit.Head, _ tlog.HashReader) ([]audit.Record, error) {
		return []audit.Record{{Seq: h.Size, Data: []byte("{}")}}, nil // no event
	})
	if err == nil {
		t.Fatal("Append of a record without its event succeeded")
	}
	if h := wantHead(t, e.store, "after failed transactions"); h.Size != 5 {
		t.Fatalf("head size %d, want 5", h.Size)
	}
	appendN(t, e.log, 5, 2)

	if _, err := e.log.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantHead(t, e.store, "after a checkpoint")
	if _, err := e.log.Prune(t.Context(), 4); err != nil {
		t.Fatal(err)
	}
	if h := wantHead(t, e.store, "after a prune"); h.Start != 4 || h.Size != 7 {
		t.Fatalf("head after prune %+v, want start 4 size 7", h)
	}
	appendN(t, e.log, 7, 2)

	// Another store (another connection, as another process would have)
	// appends to the same file between this store's appends.
	other := openEnv(t, e.dir, audit.Options{CheckpointEvery: -1})
	for i := range 3 {
		appendN(t, other.log, 100+i, 1)
		wantHead(t, e.store, "after the other store's append")
		appendN(t, e.log, 200+i, 1)
		wantHead(t, other.store, "after this store's append")
	}
	other.close(t)
	if res := mustVerify(t, e); res.Start != 4 || res.Size != 15 {
		t.Fatalf("verify: %+v", res)
	}
	prev := ""
	err = e.log.Query(t.Context(), audit.Query{Ascending: true}, func(ev *audit.Event) error {
		if prev != "" && ev.PrevHash != prev {
			t.Errorf("seq %d: prev_hash does not link", ev.Seq)
		}
		prev = ev.Hash
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	e.close(t)
	st, err := Open(context.Background(), Options{Path: filepath.Join(e.dir, "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if h := wantHead(t, st, "after reopen"); h.Size != 15 || h.Start != 4 {
		t.Fatalf("head after reopen %+v", h)
	}
}

// TestAppendAfterClose: a closed store refuses writes.
func TestAppendAfterClose(t *testing.T) {
	t.Parallel()
	st, err := Open(t.Context(), Options{Path: filepath.Join(t.TempDir(), "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	err = st.Append(t.Context(), func(audit.Head, tlog.HashReader) ([]audit.Record, error) { return nil, nil })
	if err == nil {
		t.Fatal("Append after Close succeeded")
	}
	if err := st.AddCheckpoint(t.Context(), audit.Checkpoint{}); err == nil {
		t.Fatal("AddCheckpoint after Close succeeded")
	}
}
