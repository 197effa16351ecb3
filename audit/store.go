package audit

import (
	"context"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Store keeps a durable audit log: events with their hashes and Merkle tree
// hashes, signed checkpoints, and the anchor left by pruning. [Log] writes
// through it; [Verify], [Prove] and the query commands read through it. The
// sub-package audit/sqlite is the embedded implementation.
//
// # Contract
//
// Ordering and gap-free sequence: events are numbered 0, 1, 2, ... in the
// order their Append transactions commit. Append runs seal under the
// store's exclusive write lock (a transaction-scoped lock shared by every
// process and daemon writing the same log), with the head as committed at
// that moment, and stores exactly the records seal returns, whose Seq run
// from Head.Size upward without gaps. Two appenders can therefore never
// fork the chain, however many processes share the log.
//
// Durability: Append returns nil only after the transaction is durable
// (fsynced); on any error nothing of the batch is stored. A read started
// after Append returned sees the whole batch.
//
// Immutability: records are never changed. Only Prune deletes, and only a
// prefix of the log, in the same transaction that stores the new anchor.
//
// All methods are safe for concurrent use.
type Store interface {
	// Append runs one write transaction: it takes the write lock, reads
	// the head, calls seal with it and a reader of the tree hashes stored
	// so far, stores the returned records and commits durably. An error
	// from seal aborts the transaction and is returned as is.
	Append(ctx context.Context, seal func(head Head, hashes tlog.HashReader) ([]Record, error)) error
	// Head returns the committed head: the number of events ever appended
	// and the last one's hash, and the first retained sequence number.
	Head(ctx context.Context) (Head, error)
	// Scan calls fn for each stored record with from ≤ Seq < to, in
	// ascending order, streaming: the record and its slices are valid only
	// during the call. fn's error stops the scan and is returned.
	Scan(ctx context.Context, from, to uint64, fn func(*Record) error) error
	// Query calls fn for each event matching q, in the order q asks for,
	// streaming. Stores use their indexes but must return only events that
	// q.Match accepts.
	Query(ctx context.Context, q Query, fn func(*Event) error) error
	// ReadHashes returns the stored tree hashes at the given tlog storage
	// indexes (see tlog.StoredHashIndex), including those the anchor keeps
	// after pruning.
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// AddCheckpoint stores a signed checkpoint.
	AddCheckpoint(ctx context.Context, c Checkpoint) error
	// Checkpoints calls fn for each stored checkpoint with Size ≥ minSize,
	// ordered by Size, then by when it was added.
	Checkpoints(ctx context.Context, minSize uint64, fn func(Checkpoint) error) error
	// Anchor returns the anchor of the last Prune; ok is false when the
	// log was never pruned.
	Anchor(ctx context.Context) (a Anchor, ok bool, err error)
	// Prune deletes, in one transaction, every event with Seq < a.Size and
	// every checkpoint with Size < a.Size, stores a.Checkpoint and makes a
	// the anchor. a.Size must not exceed the head.
	Prune(ctx context.Context, a Anchor) error
}

// Head is the committed end of a log.
type Head struct {
	// Size is the number of events ever appended: the next Seq.
	Size uint64
	// Hash is the last event's hash (GenesisHash when Size is 0).
	Hash [32]byte
	// Start is the first retained sequence number (0 unless pruned).
	Start uint64
}

// Record is an event as a store keeps it.
type Record struct {
	// Seq is the event's sequence number.
	Seq uint64
	// Data is the event's canonical JSON without "hash": the bytes that
	// follow the previous hash in the hash input.
	Data []byte
	// Hash is the event's hash: SHA-256(previous hash || Data).
	Hash [32]byte
	// TreeHashes are the Merkle tree hashes this event's leaf completes,
	// 32 bytes each, to be stored from tlog.StoredHashIndex(0, Seq) on:
	// the leaf hash, then one per subtree the leaf closes.
	TreeHashes []byte
	// Event is the decoded event (with Hash set) for the store's query
	// columns. Set on Append; Scan leaves it nil.
	Event *Event
}

// IndexedHash is a tree hash with its tlog storage index.
type IndexedHash struct {
	Index int64     `json:"index"`
	Hash  tlog.Hash `json:"hash"`
}

// Anchor is what pruning keeps of the deleted prefix [0, Size): the last
// deleted event's hash, where the chain continues; the tree hashes of the
// maximal complete subtrees covering the prefix, from which the tree
// continues; and a checkpoint signed at Size that binds both.
type Anchor struct {
	// Size is the number of deleted events: the first retained Seq.
	Size uint64
	// Hash is the hash of event Size-1.
	Hash [32]byte
	// Frontier holds the roots of the complete subtrees that cover
	// [0, Size), left to right.
	Frontier []IndexedHash
	// Checkpoint is signed at tree size Size with chain hash Hash.
	Checkpoint Checkpoint
}

// Query selects events. Empty string fields and zero times do not filter.
type Query struct {
	// AgentID, Tool, SessionID and TraceID match the event fields exactly.
	AgentID, Tool, SessionID, TraceID string
	// Action matches Decision.Action exactly (allow, deny, ...).
	Action string
	// Rule matches Decision.Rule exactly.
	Rule string
	// Since keeps events with Time ≥ Since; Until those with Time < Until.
	Since, Until time.Time
	// FromSeq keeps events with Seq ≥ FromSeq.
	FromSeq uint64
	// Ascending orders oldest first; false: newest first.
	Ascending bool
	// Limit bounds the number of events. 0: no limit.
	Limit int
}

// Match reports whether e satisfies q's filters (Limit and order aside).
func (q *Query) Match(e *Event) bool {
	return (q.AgentID == "" || e.AgentID == q.AgentID) &&
		(q.Tool == "" || e.Tool == q.Tool) &&
		(q.SessionID == "" || e.SessionID == q.SessionID) &&
		(q.TraceID == "" || e.TraceID == q.TraceID) &&
		(q.Action == "" || e.Decision.Action == q.Action) &&
		(q.Rule == "" || e.Decision.Rule == q.Rule) &&
		(q.Since.IsZero() || !e.Time.Before(q.Since)) &&
		(q.Until.IsZero() || e.Time.Before(q.Until)) &&
		e.Seq >= q.FromSeq
}

// DecodeRecord returns the event a record holds, with Hash set, after
// checking that the record's canonical data names its own Seq.
func DecodeRecord(r *Record) (Event, error) {
	var e Event
	if err := e.UnmarshalJSON(r.Data); err != nil {
		return Event{}, err
	}
	if e.Seq != r.Seq {
		return Event{}, &ChainError{Seq: r.Seq, Reason: "stored event names seq " + uitoa(e.Seq)}
	}
	e.Hash = encodeHash(r.Hash)
	return e, nil
}
