package sqlite

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// walSyncer makes committed transactions durable by flushing the WAL file
// to stable storage, one flush for every transaction committed before it
// started (group sync).
//
// The writer connection runs with synchronous=NORMAL: COMMIT writes the
// transaction's frames to the WAL file, makes them visible to readers and
// returns without flushing, and SQLite still flushes the WAL before each
// checkpoint and the database file after it. A transaction is durable once
// a flush of the WAL that began after its COMMIT returned has completed,
// which is what wait establishes; so the next transaction can be written
// while the flush of the previous one runs. A failed flush is sticky:
// whether the pending frames reached the disk is unknown, so every later
// write fails (fail closed).
type walSyncer struct {
	path string               // the WAL file, "<db>-wal"
	sync func(*os.File) error // flushes a file: fdatasync; tests replace it

	// committed counts transactions whose COMMIT returned; it is
	// incremented by the writer after each COMMIT.
	committed atomic.Uint64
	// stale is set by reopen: the next flush reopens the WAL file.
	stale atomic.Bool

	mu      sync.Mutex
	cond    sync.Cond
	synced  uint64   // every transaction up to this count is durable
	syncing bool     // a flush is running
	err     error    // the first flush failure (sticky)
	f       *os.File // the WAL file, reopened if SQLite replaced it
}

func newWALSyncer(dbPath string) *walSyncer {
	w := &walSyncer{path: dbPath + "-wal", sync: fdatasync}
	w.cond.L = &w.mu
	return w
}

// commit records that one more transaction committed and returns its
// number, to pass to wait.
func (w *walSyncer) commit() uint64 { return w.committed.Add(1) }

// failed returns the sticky flush error, if any.
func (w *walSyncer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// wait returns once transaction n is durable: after a flush that started
// once n had committed. The goroutine that finds no flush running
// performs it for everyone waiting.
func (w *walSyncer) wait(n uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		switch {
		case w.err != nil:
			return w.err
		case w.synced >= n:
			return nil
		case !w.syncing:
			w.syncing = true
			target := w.committed.Load()
			w.mu.Unlock()
			err := w.flush()
			w.mu.Lock()
			w.syncing = false
			if err != nil {
				w.err = fmt.Errorf("audit sqlite: flush the write-ahead log (the store refuses further writes): %w", err)
			} else if target > w.synced {
				w.synced = target
			}
			w.cond.Broadcast()
		default:
			w.cond.Wait()
		}
	}
}

// flush flushes the WAL file through a handle it keeps open. While the
// store's writer connection is open SQLite never replaces the WAL file
// (a WAL restart rewrites it from the start, a size limit truncates it,
// and only the last connection to close deletes it), so the handle stays
// the file SQLite writes, and a flush costs one fdatasync and no stat.
// When the writer connection is discarded, reopen marks the handle stale:
// the new connection may find the WAL deleted (its commits were then
// checkpointed into the database file and flushed there) and create
// another one. A WAL that does not exist holds nothing that needs
// flushing. Called by one goroutine at a time.
func (w *walSyncer) flush() error {
	if w.stale.Swap(false) {
		w.closeFile()
	}
	if w.f == nil {
		f, err := os.Open(w.path)
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		w.f = f
	}
	return w.sync(w.f)
}

// reopen makes the next flush open the WAL file anew. The store calls it
// when it discards its writer connection, before the next one commits.
func (w *walSyncer) reopen() { w.stale.Store(true) }

func (w *walSyncer) closeFile() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// close releases the WAL file handle, after a flush in progress.
func (w *walSyncer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.syncing {
		w.cond.Wait()
	}
	w.closeFile()
}
