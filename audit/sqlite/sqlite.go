// Package sqlite is the embedded audit.Store: one SQLite database file
// (modernc.org/sqlite, pure Go) in WAL mode, written through one
// connection and read through a separate pool.
//
// # Schema
//
// events(seq, time_ns, agent_id, session_id, data, hash, tree): data is the
// event's canonical JSON without "hash" (the only source of event content:
// queries decode it and re-check their filters against it, so an edited
// column cannot forge an answer), hash its 32-byte chain hash, tree the
// Merkle tree hashes its leaf completes. The other columns exist for the
// two indexes, (agent_id, seq) for an agent's latest events and
// (session_id, seq), and for time ranges. Every column and index costs
// each append: an index on a random key (a trace id) costs a page write
// per event. So trace id, tool, action and rule are matched in the
// canonical JSON itself, and a query by one of them alone scans the table
// (add an agent or session to narrow it). A database created with the
// first layout, which also had those four columns, keeps them filled. checkpoints(id, size,
// root, time_ns, note) and anchor(size, hash, frontier, note) hold signed
// checkpoints and the pruning anchor.
//
// # Concurrency and durability
//
// Append opens a BEGIN IMMEDIATE transaction, which takes SQLite's write
// lock for every process using the file; the head is read inside it, so
// several processes appending to one file still form one chain. (The
// writer keeps the head its last Append committed and reuses it when the
// connection's PRAGMA data_version, read inside the transaction, shows
// that no other connection has committed since; otherwise it queries
// the head.) Every statement of an Append (BEGIN, data_version, the head
// query, the insert, COMMIT) is prepared once on the writer connection
// and reused, so a transaction compiles no SQL.
//
// The writer runs with synchronous=NORMAL, so COMMIT writes the
// transaction to the WAL and returns without flushing it; Append then
// waits until the WAL file has been flushed to stable storage (fdatasync)
// by a flush that began after its COMMIT, and only then returns. One flush
// serves every transaction committed before it began, and the next
// transaction is written while the flush runs, so Appends from several
// goroutines pipeline (audit.Log keeps more than one in flight). SQLite
// itself still flushes the WAL before each checkpoint into the database
// file and that file after it. A failed flush is sticky: every later write
// fails, since whether the pending transactions reached the disk is
// unknown. Readers use their own connections and see every committed
// transaction, which may be shortly before the Append that wrote it
// returns; nothing is acknowledged before it is durable.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/agentos/agentos/audit"
)

// Options configure a Store.
type Options struct {
	// Path is the database file, created if missing. Required.
	Path string
	// ReadOnly opens the database for reading only: Append, AddCheckpoint
	// and Prune fail. The file must exist.
	ReadOnly bool
	// ReadConns bounds the read pool. 0: 4.
	ReadConns int
	// Logger receives diagnostics. nil: discard.
	Logger *slog.Logger
}

// Store is an audit.Store in one SQLite file. Its methods are safe for
// concurrent use.
type Store struct {
	w    *sql.DB // one connection: the writer
	r    *sql.DB // the read pool
	log  *slog.Logger
	ro   bool
	path string

	mu   sync.Mutex // guards Close
	v1   bool       // the database has the first layout's columns
	sync *walSyncer // makes commits on w durable; nil when read-only

	// wmu serialises the writes (Append, AddCheckpoint, Prune) on wr,
	// which holds w's one connection from Open on; wr is nil after its
	// connection was discarded (the next write takes a new one) and after
	// Close (closed).
	wmu    sync.Mutex
	wr     *writer
	closed bool
}

// writer is the writer connection, taken from w and kept, with the
// statements of the append path prepared on it once as driver
// statements and run through conn.Raw: a transaction compiles no SQL
// (database/sql's BeginTx and Commit have the driver prepare BEGIN and
// COMMIT each time) and skips database/sql's per-statement work.
type writer struct {
	conn     *sql.Conn
	begin    driver.Stmt // BEGIN IMMEDIATE
	head     driver.Stmt // headQuery
	insert   driver.Stmt // insertEvent (insertEventV1 when v1)
	commit   driver.Stmt // COMMIT
	rollback driver.Stmt // ROLLBACK
	version  driver.Stmt // PRAGMA data_version

	args []driver.NamedValue // insert's arguments, reused
	row  []driver.Value      // head's columns, reused

	// The head as this connection's last Append committed it, valid
	// while this connection's data_version is still cachedVersion.
	// SQLite changes a connection's data_version whenever another
	// connection, in any process, committed a change to the file since
	// (it is how SQLite itself knows to drop its page cache), and never
	// for the connection's own commits; so an equal data_version read
	// inside the next transaction, under the write lock, proves the head
	// unchanged, and a different one makes Append read it. Only a
	// successful COMMIT sets it; every other write transaction on the
	// connection (a failed Append, Prune, AddCheckpoint) clears it.
	cached        bool
	cachedVersion int64
	cachedHead    audit.Head
}

var _ audit.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS events (
	seq        INTEGER PRIMARY KEY,
	time_ns    INTEGER NOT NULL,
	agent_id   TEXT NOT NULL,
	session_id TEXT NOT NULL,
	data       BLOB NOT NULL,
	hash       BLOB NOT NULL,
	tree       BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_agent ON events(agent_id, seq);
CREATE INDEX IF NOT EXISTS events_session ON events(session_id, seq);
DROP INDEX IF EXISTS events_trace;
CREATE TABLE IF NOT EXISTS checkpoints (
	id      INTEGER PRIMARY KEY,
	size    INTEGER NOT NULL,
	root    BLOB NOT NULL,
	time_ns INTEGER NOT NULL,
	note    BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS checkpoints_size ON checkpoints(size, id);
CREATE TABLE IF NOT EXISTS anchor (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	size     INTEGER NOT NULL,
	hash     BLOB NOT NULL,
	frontier BLOB NOT NULL,
	note     BLOB NOT NULL
);
`

// Open opens or creates the database at opts.Path.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("audit sqlite: Options.Path is required")
	}
	if opts.ReadConns < 0 {
		return nil, fmt.Errorf("audit sqlite: Options.ReadConns %d: must be 0 (default) or positive", opts.ReadConns)
	}
	s := &Store{log: opts.Logger, ro: opts.ReadOnly, path: opts.Path}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// A relative path would render as file://dir/..., making its first
	// element a URI authority; resolve it first.
	abs, aerr := filepath.Abs(opts.Path)
	if aerr != nil {
		return nil, fmt.Errorf("audit sqlite: path %s: %w", opts.Path, aerr)
	}
	if !opts.ReadOnly {
		// Create the file 0600 before SQLite does (it would use the
		// umask); SQLite gives the -wal and -shm files the same mode.
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("audit sqlite: %w", err)
		}
		f.Close()
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL: COMMIT does not flush; every write transaction is made
	// durable by an explicit flush of the WAL afterwards (walSyncer).
	q.Add("_pragma", "synchronous(NORMAL)")
	// The writer only appends: it touches the right-most pages of the
	// table and its two indexes, and reads back little (the head, the
	// tree hashes of a cold start). Pages it wrote are not read again by
	// it, so a large cache would only fill with them (a 32 MB cache was
	// most of the daemon's memory under load). 4 MiB.
	q.Add("_pragma", "cache_size(-4096)")
	q.Set("_txlock", "immediate")
	wdsn := u.String() + "?" + q.Encode()
	rq := url.Values{}
	rq.Add("_pragma", "busy_timeout(10000)")
	rq.Add("_pragma", "query_only(1)")
	rdsn := u.String() + "?" + rq.Encode()

	var err error
	if !opts.ReadOnly {
		if s.w, err = sql.Open("sqlite", wdsn); err != nil {
			return nil, fmt.Errorf("open audit db %s: %w", opts.Path, err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(0)
		if _, err := s.w.ExecContext(ctx, schema); err != nil {
			s.Close()
			return nil, fmt.Errorf("open audit db %s: %w", opts.Path, err)
		}
		s.sync = newWALSyncer(opts.Path)
		if err := s.prepare(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("open audit db %s: prepare: %w", opts.Path, err)
		}
	}
	if s.r, err = sql.Open("sqlite", rdsn); err != nil {
		s.Close()
		return nil, fmt.Errorf("open audit db %s: %w", opts.Path, err)
	}
	n := opts.ReadConns
	if n == 0 {
		n = 4
	}
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	if opts.ReadOnly {
		var name string
		err := s.r.QueryRowContext(ctx, `SELECT name FROM sqlite_master WHERE type='table' AND name='events'`).Scan(&name)
		if err != nil {
			s.Close()
			if errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("open audit db %s: not an audit database (no events table)", opts.Path)
			}
			return nil, fmt.Errorf("open audit db %s: %w", opts.Path, err)
		}
	}
	return s, nil
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	s.wmu.Lock()
	if s.wr != nil {
		errs = append(errs, s.wr.close())
		s.wr = nil
	}
	s.closed = true
	s.wmu.Unlock()
	if s.w != nil {
		errs = append(errs, s.w.Close())
		s.w = nil
	}
	if s.sync != nil {
		s.sync.close()
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
		s.r = nil
	}
	return errors.Join(errs...)
}

var (
	errReadOnly = errors.New("audit sqlite: store opened read-only")
	errClosed   = errors.New("audit sqlite: store closed")
)

// insertEvent stores one event. One row per statement: SQLite gives a
// multi-row INSERT a statement journal, which costs more than the extra
// statement executions.
const insertEvent = `INSERT INTO events (seq, time_ns, agent_id, session_id, data, hash, tree)
	VALUES (?, ?, ?, ?, ?, ?, ?)`

// insertEventV1 stores one event in a database created with the first
// layout, which also had trace_id, tool, action and rule columns.
const insertEventV1 = `INSERT INTO events (seq, time_ns, agent_id, session_id, data, hash, tree, trace_id, tool, action, rule)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// prepare finds the layout and takes the writer connection with the
// statements of the write path prepared on it.
func (s *Store) prepare(ctx context.Context) error {
	var v1 int
	err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('events') WHERE name = 'trace_id'`).Scan(&v1)
	if err != nil {
		return err
	}
	s.v1 = v1 > 0
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err = s.writerLocked(ctx)
	return err
}

// writerLocked returns the writer, taking the connection and preparing
// its statements when there is none. The caller holds wmu.
func (s *Store) writerLocked(ctx context.Context) (*writer, error) {
	if s.closed {
		return nil, errClosed
	}
	if s.wr != nil {
		return s.wr, nil
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit sqlite: writer connection: %w", err)
	}
	wr := &writer{conn: conn, row: make([]driver.Value, 4)}
	ins := insertEvent
	if s.v1 {
		ins = insertEventV1
	}
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		for _, st := range []struct {
			p *driver.Stmt
			q string
		}{
			{&wr.begin, "BEGIN IMMEDIATE"}, {&wr.head, headQuery}, {&wr.insert, ins},
			{&wr.commit, "COMMIT"}, {&wr.rollback, "ROLLBACK"}, {&wr.version, "PRAGMA data_version"},
		} {
			ds, err := c.PrepareContext(ctx, st.q)
			if err != nil {
				return err
			}
			*st.p = ds
			_, exec := ds.(driver.StmtExecContext)
			_, query := ds.(driver.StmtQueryContext)
			if !exec || !query {
				return fmt.Errorf("driver statement %T cannot run with a context", ds)
			}
		}
		return nil
	})
	if err != nil {
		wr.close()
		return nil, fmt.Errorf("audit sqlite: prepare: %w", err)
	}
	s.wr = wr
	return wr, nil
}

// stmts returns the writer's prepared statements that exist.
func (wr *writer) stmts() []driver.Stmt {
	var out []driver.Stmt
	for _, st := range []driver.Stmt{wr.begin, wr.head, wr.insert, wr.commit, wr.rollback, wr.version} {
		if st != nil {
			out = append(out, st)
		}
	}
	return out
}

// close closes the statements and gives the connection back to w.
func (wr *writer) close() error {
	var errs []error
	errs = append(errs, wr.conn.Raw(func(any) error {
		var errs []error
		for _, st := range wr.stmts() {
			errs = append(errs, st.Close())
		}
		return errors.Join(errs...)
	}))
	return errors.Join(append(errs, wr.conn.Close())...)
}

// discardLocked closes the writer connection itself rather than giving
// it back, for when it may still be inside a transaction (a ROLLBACK
// failed) or the driver reported it broken: closing it rolls back
// whatever it holds, and the next write opens a new one. The caller
// holds wmu.
func (s *Store) discardLocked() {
	wr := s.wr
	if wr == nil {
		return
	}
	s.wr = nil
	// Returning driver.ErrBadConn from Raw makes database/sql close the
	// driver connection instead of keeping it in w's pool.
	wr.conn.Raw(func(any) error {
		for _, st := range wr.stmts() {
			st.Close()
		}
		return driver.ErrBadConn
	})
	wr.conn.Close()
	s.sync.reopen()
	s.log.Warn("audit sqlite: writer connection discarded")
}

// run runs f on the writer's driver connection, with database/sql's
// lock on it held.
func (wr *writer) run(f func() error) error {
	return wr.conn.Raw(func(any) error { return f() })
}

// execStmt runs a prepared statement of the writer that returns no rows.
// The caller runs it inside run.
func execStmt(ctx context.Context, st driver.Stmt, args []driver.NamedValue) error {
	_, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	return err
}

// readVersion returns the connection's PRAGMA data_version. The caller
// runs it inside run.
func (wr *writer) readVersion(ctx context.Context) (int64, error) {
	rows, err := wr.version.(driver.StmtQueryContext).QueryContext(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("audit sqlite: read data version: %w", err)
	}
	defer rows.Close()
	v := wr.row[:1]
	clear(v)
	if err := rows.Next(v); err != nil {
		return 0, fmt.Errorf("audit sqlite: read data version: %w", err)
	}
	n, ok := v[0].(int64)
	if !ok {
		return 0, fmt.Errorf("audit sqlite: read data version: %T, not an integer", v[0])
	}
	return n, nil
}

// readHead runs the head query. The caller runs it inside run.
func (wr *writer) readHead(ctx context.Context) (audit.Head, error) {
	rows, err := wr.head.(driver.StmtQueryContext).QueryContext(ctx, nil)
	if err != nil {
		return audit.Head{}, fmt.Errorf("audit sqlite: read head: %w", err)
	}
	defer rows.Close()
	v := wr.row
	clear(v)
	if err := rows.Next(v); err != nil {
		return audit.Head{}, fmt.Errorf("audit sqlite: read head: %w", err)
	}
	var seq, size sql.NullInt64
	var hash, ahash []byte
	for i, p := range []*sql.NullInt64{&seq, &size} {
		switch x := v[2*i].(type) {
		case nil:
		case int64:
			*p = sql.NullInt64{Int64: x, Valid: true}
		default:
			return audit.Head{}, fmt.Errorf("audit sqlite: read head: column %d holds %T, not an integer", 2*i, x)
		}
	}
	for i, p := range []*[]byte{&hash, &ahash} {
		switch x := v[2*i+1].(type) {
		case nil:
		case []byte:
			*p = x
		case string:
			*p = []byte(x)
		default:
			return audit.Head{}, fmt.Errorf("audit sqlite: read head: column %d holds %T, not a blob", 2*i+1, x)
		}
	}
	return headFrom(seq, hash, size, ahash)
}

// Append implements audit.Store.
func (s *Store) Append(ctx context.Context, seal func(audit.Head, tlog.HashReader) ([]audit.Record, error)) error {
	if s.ro {
		return errReadOnly
	}
	if err := s.sync.failed(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("audit sqlite: %w", err)
	}
	// Once begun, the transaction runs to its end (the busy timeout
	// bounds the wait for the lock): it is never torn by cancellation,
	// and the driver need not watch a context per statement.
	ctx = context.WithoutCancel(ctx)
	s.wmu.Lock()
	err := s.appendLocked(ctx, seal)
	if err != nil && (errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)) {
		s.discardLocked()
	}
	s.wmu.Unlock()
	if err != nil {
		return err
	}
	return s.sync.wait(s.sync.commit())
}

// appendLocked runs Append's transaction up to its COMMIT, on the
// writer's prepared statements; on any error it rolls the transaction
// back. The caller holds wmu.
func (s *Store) appendLocked(ctx context.Context, seal func(audit.Head, tlog.HashReader) ([]audit.Record, error)) error {
	wr, err := s.writerLocked(ctx)
	if err != nil {
		return err
	}
	var head audit.Head
	var version int64
	begun := false
	err = wr.run(func() error {
		if err := execStmt(ctx, wr.begin, nil); err != nil {
			return fmt.Errorf("audit sqlite: begin: %w", err)
		}
		begun = true
		var err error
		if version, err = wr.readVersion(ctx); err != nil {
			return err
		}
		if wr.cached && version == wr.cachedVersion {
			head = wr.cachedHead
			return nil
		}
		head, err = wr.readHead(ctx)
		return err
	})
	wr.cached = false // until this transaction commits
	var recs []audit.Record
	if err == nil {
		recs, err = s.fillLocked(ctx, wr, head, seal)
	}
	if err != nil {
		if begun {
			s.rollbackLocked(ctx, wr)
		}
		return err
	}
	if n := len(recs); n > 0 {
		head.Size += uint64(n)
		head.Hash = recs[n-1].Hash
	}
	wr.cached, wr.cachedVersion, wr.cachedHead = true, version, head
	return nil
}

// rollbackLocked rolls back the writer's transaction; when that fails,
// whether the connection is still inside a transaction is unknown, so
// it is discarded. The caller holds wmu.
func (s *Store) rollbackLocked(ctx context.Context, wr *writer) {
	if s.wr != wr {
		return // discarded already
	}
	if err := wr.run(func() error { return execStmt(ctx, wr.rollback, nil) }); err != nil {
		s.discardLocked()
	}
}

// fillLocked seals the records after head, inserts them and commits,
// inside the writer's open transaction, and returns them. The caller
// holds wmu.
func (s *Store) fillLocked(ctx context.Context, wr *writer, head audit.Head, seal func(audit.Head, tlog.HashReader) ([]audit.Record, error)) ([]audit.Record, error) {
	// seal may read tree hashes (the first append after Open): through
	// database/sql on the same connection, inside the transaction.
	recs, err := seal(head, hashReader{ctx: ctx, q: wr.conn})
	if err != nil {
		return nil, err
	}
	for i, r := range recs {
		if r.Seq != head.Size+uint64(i) {
			return nil, fmt.Errorf("audit sqlite: record %d has seq %d, want %d", i, r.Seq, head.Size+uint64(i))
		}
		if r.Event == nil {
			return nil, fmt.Errorf("audit sqlite: record %d has no event", r.Seq)
		}
	}
	return recs, wr.run(func() error {
		for i := range recs {
			r := &recs[i]
			e := r.Event
			a := append(wr.args[:0],
				driver.NamedValue{Ordinal: 1, Value: int64(r.Seq)},
				driver.NamedValue{Ordinal: 2, Value: e.Time.UnixNano()},
				driver.NamedValue{Ordinal: 3, Value: e.AgentID},
				driver.NamedValue{Ordinal: 4, Value: e.SessionID},
				driver.NamedValue{Ordinal: 5, Value: r.Data},
				driver.NamedValue{Ordinal: 6, Value: r.Hash[:]},
				driver.NamedValue{Ordinal: 7, Value: r.TreeHashes})
			if s.v1 {
				a = append(a,
					driver.NamedValue{Ordinal: 8, Value: e.TraceID},
					driver.NamedValue{Ordinal: 9, Value: e.Tool},
					driver.NamedValue{Ordinal: 10, Value: e.Decision.Action},
					driver.NamedValue{Ordinal: 11, Value: e.Decision.Rule})
			}
			wr.args = a
			err := execStmt(ctx, wr.insert, a)
			clear(a) // drop the references to the batch
			if err != nil {
				return fmt.Errorf("audit sqlite: insert event %d: %w", r.Seq, err)
			}
		}
		if err := execStmt(ctx, wr.commit, nil); err != nil {
			// A COMMIT that failed may leave the transaction open (a
			// busy lock) or may have ended it: the caller rolls back
			// whatever remains.
			return fmt.Errorf("audit sqlite: commit: %w", err)
		}
		return nil
	})
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// headQuery reads the last event's seq and hash and the anchor's size and
// hash in one statement (each is NULL when absent).
const headQuery = `SELECT
	(SELECT seq FROM events ORDER BY seq DESC LIMIT 1),
	(SELECT hash FROM events ORDER BY seq DESC LIMIT 1),
	(SELECT size FROM anchor WHERE id = 1),
	(SELECT hash FROM anchor WHERE id = 1)`

// headOf reads the head through row, a headQuery: the last event, else
// the anchor, else genesis.
func headOf(row *sql.Row) (audit.Head, error) {
	var seq, size sql.NullInt64
	var hash, ahash []byte
	if err := row.Scan(&seq, &hash, &size, &ahash); err != nil {
		return audit.Head{}, fmt.Errorf("audit sqlite: read head: %w", err)
	}
	return headFrom(seq, hash, size, ahash)
}

// headFrom makes the head from the columns of headQuery.
func headFrom(seq sql.NullInt64, hash []byte, size sql.NullInt64, ahash []byte) (audit.Head, error) {
	var h audit.Head
	if seq.Valid {
		h.Size = uint64(seq.Int64) + 1
		if len(hash) != 32 {
			return h, fmt.Errorf("audit sqlite: event %d: hash has %d bytes", seq.Int64, len(hash))
		}
		copy(h.Hash[:], hash)
	}
	if size.Valid {
		h.Start = uint64(size.Int64)
		if !seq.Valid {
			h.Size = h.Start
			copy(h.Hash[:], ahash)
		}
	}
	return h, nil
}

// Head implements audit.Store.
func (s *Store) Head(ctx context.Context) (audit.Head, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return audit.Head{}, fmt.Errorf("audit sqlite: %w", err)
	}
	defer tx.Rollback()
	return headOf(tx.QueryRowContext(ctx, headQuery))
}

// scanChunk is how many events one Scan query reads.
const scanChunk = 1 << 16

// Scan implements audit.Store.
func (s *Store) Scan(ctx context.Context, from, to uint64, fn func(*audit.Record) error) error {
	var rec audit.Record
	for lo := from; lo < to; {
		hi := min(to, lo+scanChunk)
		rows, err := s.r.QueryContext(ctx, `SELECT seq, data, hash, tree FROM events WHERE seq >= ? AND seq < ? ORDER BY seq`, int64(lo), int64(hi))
		if err != nil {
			return fmt.Errorf("audit sqlite: scan: %w", err)
		}
		for rows.Next() {
			var seq int64
			var data, hash, tree sql.RawBytes
			if err := rows.Scan(&seq, &data, &hash, &tree); err != nil {
				rows.Close()
				return fmt.Errorf("audit sqlite: scan: %w", err)
			}
			rec.Seq, rec.Data, rec.TreeHashes = uint64(seq), data, tree
			rec.Hash = [32]byte{}
			copy(rec.Hash[:], hash) // a short hash stays mismatched
			if err := fn(&rec); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("audit sqlite: scan: %w", err)
		}
		lo = hi
	}
	return nil
}

// Query implements audit.Store. Agent and session use their indexes and
// the time range its column; the other fields are matched by looking for
// their canonical member text (e.g. "tool":"web_fetch") in the stored
// canonical JSON, which every matching event contains. The text can also
// occur inside args, so every row is decoded and checked with q.Match,
// and Limit is applied to the events that pass.
func (s *Store) Query(ctx context.Context, q audit.Query, fn func(*audit.Event) error) error {
	var where []string
	var args []any
	for _, f := range []struct{ col, v string }{{"agent_id", q.AgentID}, {"session_id", q.SessionID}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	for _, f := range []struct{ name, v string }{{"trace_id", q.TraceID}, {"tool", q.Tool}, {"action", q.Action}, {"rule", q.Rule}} {
		if f.v == "" {
			continue
		}
		m, err := memberText(f.name, f.v)
		if err != nil {
			return fmt.Errorf("audit sqlite: query %s: %w", f.name, err)
		}
		where = append(where, "instr(data, ?) > 0")
		args = append(args, m)
	}
	if !q.Since.IsZero() {
		where = append(where, "time_ns >= ?")
		args = append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where = append(where, "time_ns < ?")
		args = append(args, q.Until.UnixNano())
	}
	if q.FromSeq > 0 {
		where = append(where, "seq >= ?")
		args = append(args, int64(q.FromSeq))
	}
	stmt := "SELECT seq, data, hash FROM events"
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	if q.Ascending {
		stmt += " ORDER BY seq ASC"
	} else {
		stmt += " ORDER BY seq DESC"
	}
	rows, err := s.r.QueryContext(ctx, stmt, args...)
	if err != nil {
		return fmt.Errorf("audit sqlite: query: %w", err)
	}
	defer rows.Close()
	var rec audit.Record
	n := 0
	for rows.Next() {
		var seq int64
		var data, hash sql.RawBytes
		if err := rows.Scan(&seq, &data, &hash); err != nil {
			return fmt.Errorf("audit sqlite: query: %w", err)
		}
		rec.Seq, rec.Data = uint64(seq), data
		rec.Hash = [32]byte{}
		copy(rec.Hash[:], hash)
		e, err := audit.DecodeRecord(&rec)
		if err != nil {
			return fmt.Errorf("audit sqlite: query: event %d: %w", seq, err)
		}
		if !q.Match(&e) {
			continue // the text was in args, or a column disagrees with the event: never trust it
		}
		if err := fn(&e); err != nil {
			return err
		}
		if n++; q.Limit > 0 && n >= q.Limit {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit sqlite: query: %w", err)
	}
	return nil
}

// memberText returns the canonical JSON text of the member name: value,
// as it appears in an event's canonical form.
func memberText(name, value string) ([]byte, error) {
	v, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	if v, err = audit.CanonicalJSON(v); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(name)+3+len(v))
	out = append(out, '"')
	out = append(out, name...)
	out = append(out, '"', ':')
	return append(out, v...), nil
}

// hashReader reads tree hashes through q.
type hashReader struct {
	ctx context.Context
	q   querier
}

func (h hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return readHashes(h.ctx, h.q, indexes)
}

// ReadHashes implements audit.Store.
func (s *Store) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("audit sqlite: %w", err)
	}
	defer tx.Rollback()
	return readHashes(ctx, tx, indexes)
}

func readHashes(ctx context.Context, q querier, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var anchor map[int64]tlog.Hash
	for i, idx := range indexes {
		seq, level := audit.TreeHashLocation(idx)
		var tree []byte
		err := q.QueryRowContext(ctx, `SELECT tree FROM events WHERE seq = ?`, int64(seq)).Scan(&tree)
		if err == nil {
			if len(tree) < 32*(level+1) {
				return nil, fmt.Errorf("audit sqlite: event %d stores %d tree hashes, want at least %d", seq, len(tree)/32, level+1)
			}
			copy(out[i][:], tree[32*level:])
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("audit sqlite: read tree hash: %w", err)
		}
		if anchor == nil {
			a, ok, err := anchorOf(ctx, q)
			if err != nil {
				return nil, err
			}
			anchor = map[int64]tlog.Hash{}
			if ok {
				for _, h := range a.Frontier {
					anchor[h.Index] = h.Hash
				}
			}
		}
		h, ok := anchor[idx]
		if !ok {
			return nil, fmt.Errorf("audit sqlite: tree hash %d (event %d) is not stored", idx, seq)
		}
		out[i] = h
	}
	return out, nil
}

// AddCheckpoint implements audit.Store.
func (s *Store) AddCheckpoint(ctx context.Context, c audit.Checkpoint) error {
	if s.ro {
		return errReadOnly
	}
	if err := s.sync.failed(); err != nil {
		return err
	}
	s.wmu.Lock()
	wr, err := s.writerLocked(ctx)
	if err == nil {
		wr.cached = false
		_, err = wr.conn.ExecContext(ctx, `INSERT INTO checkpoints (size, root, time_ns, note) VALUES (?, ?, ?, ?)`,
			int64(c.Size), c.Root[:], c.Time.UnixNano(), c.Note)
	}
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("audit sqlite: add checkpoint: %w", err)
	}
	return s.sync.wait(s.sync.commit())
}

// Checkpoints implements audit.Store.
func (s *Store) Checkpoints(ctx context.Context, minSize uint64, fn func(audit.Checkpoint) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT size, root, time_ns, note FROM checkpoints WHERE size >= ? ORDER BY size, id`, int64(minSize))
	if err != nil {
		return fmt.Errorf("audit sqlite: checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c audit.Checkpoint
		var size, ns int64
		var root []byte
		if err := rows.Scan(&size, &root, &ns, &c.Note); err != nil {
			return fmt.Errorf("audit sqlite: checkpoints: %w", err)
		}
		c.Size = uint64(size)
		copy(c.Root[:], root)
		c.Time = timeFromNanos(ns)
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit sqlite: checkpoints: %w", err)
	}
	return nil
}

// Anchor implements audit.Store.
func (s *Store) Anchor(ctx context.Context) (audit.Anchor, bool, error) {
	return anchorOf(ctx, s.r)
}

func anchorOf(ctx context.Context, q querier) (audit.Anchor, bool, error) {
	var a audit.Anchor
	var size int64
	var hash, frontier, note []byte
	err := q.QueryRowContext(ctx, `SELECT size, hash, frontier, note FROM anchor WHERE id = 1`).Scan(&size, &hash, &frontier, &note)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("audit sqlite: read anchor: %w", err)
	}
	a.Size = uint64(size)
	copy(a.Hash[:], hash)
	if a.Frontier, err = decodeFrontier(frontier); err != nil {
		return a, false, err
	}
	a.Checkpoint = audit.Checkpoint{Size: a.Size, Chain: a.Hash, Note: note}
	return a, true, nil
}

// encodeFrontier packs indexed hashes as 8-byte big-endian index + 32 bytes.
func encodeFrontier(f []audit.IndexedHash) []byte {
	out := make([]byte, 0, len(f)*40)
	for _, h := range f {
		for i := 7; i >= 0; i-- {
			out = append(out, byte(uint64(h.Index)>>(8*i)))
		}
		out = append(out, h.Hash[:]...)
	}
	return out
}

func decodeFrontier(b []byte) ([]audit.IndexedHash, error) {
	if len(b)%40 != 0 {
		return nil, fmt.Errorf("audit sqlite: anchor frontier has %d bytes, not a multiple of 40", len(b))
	}
	out := make([]audit.IndexedHash, 0, len(b)/40)
	for ; len(b) > 0; b = b[40:] {
		var h audit.IndexedHash
		var idx uint64
		for _, c := range b[:8] {
			idx = idx<<8 | uint64(c)
		}
		h.Index = int64(idx)
		copy(h.Hash[:], b[8:40])
		out = append(out, h)
	}
	return out, nil
}

// Prune implements audit.Store.
func (s *Store) Prune(ctx context.Context, a audit.Anchor) error {
	if s.ro {
		return errReadOnly
	}
	if err := s.sync.failed(); err != nil {
		return err
	}
	s.wmu.Lock()
	err := s.pruneLocked(ctx, a)
	s.wmu.Unlock()
	if err != nil {
		return err
	}
	return s.sync.wait(s.sync.commit())
}

// pruneLocked runs Prune's transaction on the writer connection. The
// caller holds wmu.
func (s *Store) pruneLocked(ctx context.Context, a audit.Anchor) error {
	wr, err := s.writerLocked(ctx)
	if err != nil {
		return err
	}
	wr.cached = false
	tx, err := wr.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit sqlite: begin: %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			s.discardLocked()
		}
	}()
	head, err := headOf(tx.QueryRowContext(ctx, headQuery))
	if err != nil {
		return err
	}
	if a.Size > head.Size || a.Size <= head.Start {
		return fmt.Errorf("audit sqlite: prune before %d: the log holds [%d, %d)", a.Size, head.Start, head.Size)
	}
	stmts := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM events WHERE seq < ?`, []any{int64(a.Size)}},
		{`DELETE FROM checkpoints WHERE size < ?`, []any{int64(a.Size)}},
		{`INSERT INTO checkpoints (size, root, time_ns, note) VALUES (?, ?, ?, ?)`,
			[]any{int64(a.Checkpoint.Size), a.Checkpoint.Root[:], a.Checkpoint.Time.UnixNano(), a.Checkpoint.Note}},
		{`INSERT OR REPLACE INTO anchor (id, size, hash, frontier, note) VALUES (1, ?, ?, ?, ?)`,
			[]any{int64(a.Size), a.Hash[:], encodeFrontier(a.Frontier), a.Checkpoint.Note}},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("audit sqlite: prune: %w", err)
		}
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit sqlite: prune: commit: %w", err)
	}
	return nil
}

func timeFromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }
