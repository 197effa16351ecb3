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
// several processes appending to one file still form one chain.
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

	mu     sync.Mutex // guards Close
	insert *sql.Stmt  // insertEvent (insertEventV1 when v1), on w
	v1     bool       // the database has the first layout's columns
	head   *sql.Stmt  // headQuery, on w
	sync   *walSyncer // makes commits on w durable; nil when read-only
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
	for _, st := range []**sql.Stmt{&s.insert, &s.head} {
		if *st != nil {
			errs = append(errs, (*st).Close())
			*st = nil
		}
	}
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

var errReadOnly = errors.New("audit sqlite: store opened read-only")

// insertEvent stores one event. One row per statement: SQLite gives a
// multi-row INSERT a statement journal, which costs more than the extra
// statement executions.
const insertEvent = `INSERT INTO events (seq, time_ns, agent_id, session_id, data, hash, tree)
	VALUES (?, ?, ?, ?, ?, ?, ?)`

// insertEventV1 stores one event in a database created with the first
// layout, which also had trace_id, tool, action and rule columns.
const insertEventV1 = `INSERT INTO events (seq, time_ns, agent_id, session_id, data, hash, tree, trace_id, tool, action, rule)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// prepare prepares the statements of the write path on the writer
// connection (a statement cannot be prepared on it while a transaction
// holds it).
func (s *Store) prepare(ctx context.Context) error {
	var err error
	if s.head, err = s.w.PrepareContext(ctx, headQuery); err != nil {
		return err
	}
	var v1 int
	err = s.w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('events') WHERE name = 'trace_id'`).Scan(&v1)
	if err != nil {
		return err
	}
	s.v1 = v1 > 0
	ins := insertEvent
	if s.v1 {
		ins = insertEventV1
	}
	s.insert, err = s.w.PrepareContext(ctx, ins)
	return err
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
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	head, err := headOf(tx.StmtContext(ctx, s.head).QueryRowContext(ctx))
	if err != nil {
		return err
	}
	recs, err := seal(head, hashReader{ctx: ctx, q: tx})
	if err != nil {
		return err
	}
	for i, r := range recs {
		if r.Seq != head.Size+uint64(i) {
			return fmt.Errorf("audit sqlite: record %d has seq %d, want %d", i, r.Seq, head.Size+uint64(i))
		}
	}
	insert := tx.StmtContext(ctx, s.insert)
	for i := range recs {
		r := &recs[i]
		e := r.Event
		if e == nil {
			return fmt.Errorf("audit sqlite: record %d has no event", r.Seq)
		}
		var err error
		if s.v1 {
			_, err = insert.ExecContext(ctx, int64(r.Seq), e.Time.UnixNano(), e.AgentID, e.SessionID, r.Data, r.Hash[:], r.TreeHashes,
				e.TraceID, e.Tool, e.Decision.Action, e.Decision.Rule)
		} else {
			_, err = insert.ExecContext(ctx, int64(r.Seq), e.Time.UnixNano(), e.AgentID, e.SessionID, r.Data, r.Hash[:], r.TreeHashes)
		}
		if err != nil {
			return fmt.Errorf("audit sqlite: insert event %d: %w", r.Seq, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit sqlite: commit: %w", err)
	}
	return s.sync.wait(s.sync.commit())
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
	var h audit.Head
	var seq, size sql.NullInt64
	var hash, ahash []byte
	if err := row.Scan(&seq, &hash, &size, &ahash); err != nil {
		return h, fmt.Errorf("audit sqlite: read head: %w", err)
	}
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
	_, err := s.w.ExecContext(ctx, `INSERT INTO checkpoints (size, root, time_ns, note) VALUES (?, ?, ?, ?)`,
		int64(c.Size), c.Root[:], c.Time.UnixNano(), c.Note)
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
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit sqlite: begin: %w", err)
	}
	defer tx.Rollback()
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
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit sqlite: prune: commit: %w", err)
	}
	return s.sync.wait(s.sync.commit())
}

func timeFromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }
