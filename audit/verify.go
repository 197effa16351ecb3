package audit

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Progress, when set, is called every ProgressEvery events and at the
	// end with the number of events checked and the number to check.
	Progress func(done, total uint64)
	// ProgressEvery is how often Progress is called. 0: every 65536
	// events.
	ProgressEvery uint64
	// Published are checkpoint notes kept outside the database (see
	// Publisher). Each must verify and match the log like a stored one, so
	// a rewrite or truncation that also replaced the stored checkpoints is
	// still caught.
	Published [][]byte
}

// VerifyResult summarizes a successful verification.
type VerifyResult struct {
	// Start is the first retained sequence number (after pruning).
	Start uint64
	// Size is the number of events ever appended; Size-Start were checked.
	Size uint64
	// Checkpoints is the number of signed checkpoints checked.
	Checkpoints int
	// Latest is the largest checkpoint, if any.
	Latest *Checkpoint
}

// pendingCheckpoint is a checkpoint waiting for the stream to reach its size.
type pendingCheckpoint struct {
	note  []byte
	size  uint64 // as stored, before the signature is checked
	where string // "stored" or "published"
}

// Verify checks a whole log against the verifier of its checkpoint key,
// streaming the events once, in memory that does not grow with the number
// of events (only the list of checkpoints is held):
//
//   - the hash chain: consecutive sequence numbers from the first retained
//     one, each hash recomputed from the previous hash and the stored
//     canonical JSON;
//   - the Merkle tree, rebuilt leaf by leaf: the tree hashes stored with
//     each event must equal the recomputed ones;
//   - every checkpoint (stored and opts.Published): its signature, and its
//     root and chain hash against the recomputed ones at its size; a
//     checkpoint beyond the end of the log means the tail was truncated;
//   - successive checkpoints: a consistency proof, from the stored tree
//     hashes, between each and the next;
//   - after pruning, the anchor: its signed checkpoint binds the chain
//     hash and the tree the rest continues from.
//
// The first failure is returned as a *ChainError or a *CheckpointError
// naming the first bad sequence number; other errors are I/O errors.
// Verify reads with several s.Scan calls at once, on consecutive ranges.
func Verify(ctx context.Context, s Store, v note.Verifier, opts VerifyOptions) (VerifyResult, error) {
	head, err := s.Head(ctx)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify: %w", err)
	}
	res := VerifyResult{Start: head.Start, Size: head.Size}
	cps := &checkpointStream{ctx: ctx, s: s, nextMin: head.Start}
	for _, n := range opts.Published {
		c, err := OpenCheckpoint(n, v)
		if err != nil {
			return res, &CheckpointError{Seq: head.Start, Reason: "published checkpoint: " + err.Error()}
		}
		if c.Size >= head.Start {
			cps.pub = append(cps.pub, pendingCheckpoint{note: n, size: c.Size, where: "published"})
		}
	}
	sortCheckpoints(cps.pub)

	vs := verifier{v: v, store: s, ctx: ctx, good: head.Start, res: &res}
	// The starting point: genesis, or the pruning anchor.
	var prev [32]byte
	f := frontier{}
	if head.Start > 0 {
		a, ok, err := s.Anchor(ctx)
		if err != nil {
			return res, fmt.Errorf("verify: %w", err)
		}
		if !ok || a.Size != head.Start {
			return res, &ChainError{Seq: head.Start, Reason: "events before it are missing and no pruning anchor covers them"}
		}
		if f, err = frontierFromAnchor(&a); err != nil {
			return res, &ChainError{Seq: head.Start, Reason: "pruning anchor: " + err.Error()}
		}
		prev = a.Hash
		c, err := OpenCheckpoint(a.Checkpoint.Note, v)
		if err != nil {
			return res, &CheckpointError{Size: a.Size, Seq: a.Size, Reason: "pruning anchor: " + err.Error()}
		}
		if c.Size != a.Size || c.Root != f.root() || c.Chain != a.Hash {
			return res, &CheckpointError{Size: a.Size, Seq: a.Size, Reason: "pruning anchor does not match its signed checkpoint"}
		}
		vs.last = &c
	}

	// Checkpoints of size Start (the anchor's, or size 0).
	nextCP, err := vs.reach(cps, head.Start, &f, prev)
	if err != nil {
		return res, err
	}
	total := head.Size - head.Start
	every := opts.ProgressEvery
	if every == 0 {
		every = 1 << 16
	}
	next := head.Start
	tree := make([]byte, 0, 64*32)
	err = verifyStream(ctx, s, head.Start, head.Size, prev, func(seq uint64, h [32]byte, stored []byte) error {
		// The stream checked the chain link and that stored[:32] is the
		// leaf of h; the parents the leaf completes are checked here.
		tree = f.push(tree[:0], tlog.Hash(stored[:32]))
		if !bytes.Equal(tree, stored) {
			return &ChainError{Seq: seq, Reason: "stored Merkle tree hashes do not match the events"}
		}
		prev = h
		next++
		if nextCP <= next {
			var err error
			if nextCP, err = vs.reach(cps, next, &f, prev); err != nil {
				return err
			}
		}
		if opts.Progress != nil && (next-head.Start)%every == 0 {
			opts.Progress(next-head.Start, total)
		}
		return nil
	})
	if err != nil {
		var ce *ChainError
		var ke *CheckpointError
		if errors.As(err, &ce) || errors.As(err, &ke) {
			return res, err
		}
		return res, fmt.Errorf("verify: %w", err)
	}
	if next != head.Size {
		return res, &ChainError{Seq: next, Reason: "event missing (deleted): the log's head says " + uitoa(head.Size) + " events"}
	}
	if opts.Progress != nil {
		opts.Progress(total, total)
	}
	if c, ok, err := cps.peek(); err != nil {
		return res, fmt.Errorf("verify: %w", err)
	} else if ok {
		return res, &CheckpointError{Size: c.size, Seq: head.Size, Reason: fmt.Sprintf(
			"a %s signed checkpoint covers %d events but the log ends at %d: the tail was truncated", c.where, c.size, head.Size)}
	}
	return res, nil
}

// verifier holds the checkpoint state of a Verify run.
type verifier struct {
	v     note.Verifier
	store Store
	ctx   context.Context
	good  uint64      // size of the last checkpoint that matched
	last  *Checkpoint // the last checkpoint that matched
	res   *VerifyResult
}

// reach checks the pending checkpoints whose size is at most size, now
// that the stream has reached size with tree f and chain hash prev; it
// returns the size of the next pending checkpoint (MaxUint64: none).
func (vs *verifier) reach(cps *checkpointStream, size uint64, f *frontier, prev [32]byte) (uint64, error) {
	for {
		pc, ok, err := cps.peek()
		if err != nil {
			return 0, err
		}
		if !ok {
			return math.MaxUint64, nil
		}
		if pc.size > size {
			return pc.size, nil
		}
		cps.pop()
		c, err := OpenCheckpoint(pc.note, vs.v)
		if err != nil {
			return 0, &CheckpointError{Size: pc.size, Seq: vs.good, Reason: pc.where + " checkpoint: " + err.Error()}
		}
		if c.Size != pc.size {
			return 0, &CheckpointError{Size: pc.size, Seq: vs.good, Reason: fmt.Sprintf("stored checkpoint row says size %d but its signed note says %d", pc.size, c.Size)}
		}
		if c.Size < size {
			continue // before the first retained event (pruned)
		}
		if c.Root != f.root() {
			return 0, &CheckpointError{Size: c.Size, Seq: vs.good, Reason: fmt.Sprintf(
				"the recomputed tree root differs from the %s signed checkpoint: events in [%d, %d) were rewritten", pc.where, vs.good, c.Size)}
		}
		if c.Chain != prev {
			return 0, &CheckpointError{Size: c.Size, Seq: c.Size - 1, Reason: "the chain hash differs from the signed checkpoint"}
		}
		// The empty tree is a prefix of every tree (and its root was
		// checked above when it was reached), so it needs no proof.
		if vs.last != nil && vs.last.Size > 0 && vs.last.Size < c.Size {
			if err := vs.consistent(vs.last, &c); err != nil {
				return 0, err
			}
		}
		vs.good, vs.last = c.Size, &c
		vs.res.Checkpoints++
		if vs.res.Latest == nil || c.Size >= vs.res.Latest.Size {
			vs.res.Latest = &c
		}
	}
}

// consistent checks a consistency proof between two checkpoints, built
// from the stored tree hashes.
func (vs *verifier) consistent(old, cur *Checkpoint) error {
	p, err := tlog.ProveTree(int64(cur.Size), int64(old.Size), storeHashReader{vs.ctx, vs.store})
	if err == nil {
		err = tlog.CheckTree(p, int64(cur.Size), cur.Root, int64(old.Size), old.Root)
	}
	if err != nil {
		return &CheckpointError{Size: cur.Size, Seq: old.Size, Reason: fmt.Sprintf("not consistent with the checkpoint at size %d: %v", old.Size, err)}
	}
	return nil
}

// sortCheckpoints orders checkpoints by size, keeping the order of equal
// sizes.
func sortCheckpoints(cps []pendingCheckpoint) {
	slices.SortStableFunc(cps, func(a, b pendingCheckpoint) int { return cmp.Compare(a.size, b.size) })
}

// checkpointPage is how many stored checkpoints Verify reads at a time.
const checkpointPage = 256

// errPageFull ends the read of a page of checkpoints.
var errPageFull = errors.New("page full")

// checkpointStream yields the checkpoints Verify checks in order of size:
// the stored ones, read a page at a time so that memory does not grow
// with the log, merged with the published ones (stored ones first among
// equal sizes).
type checkpointStream struct {
	ctx     context.Context
	s       Store
	page    []pendingCheckpoint // stored, read and not yet consumed
	pos     int
	nextMin uint64              // the size the next page starts from
	skip    int                 // stored checkpoints of size nextMin read already
	done    bool                // every stored checkpoint has been read
	pub     []pendingCheckpoint // published, sorted by size
	pubPos  int
}

// fill reads the next page of stored checkpoints once the current one is
// consumed.
func (cs *checkpointStream) fill() error {
	if cs.pos < len(cs.page) || cs.done {
		return nil
	}
	cs.page, cs.pos = cs.page[:0], 0
	skip := cs.skip
	err := cs.s.Checkpoints(cs.ctx, cs.nextMin, func(c Checkpoint) error {
		if c.Size == cs.nextMin && skip > 0 {
			skip--
			return nil
		}
		if len(cs.page) == checkpointPage {
			return errPageFull
		}
		cs.page = append(cs.page, pendingCheckpoint{note: c.Note, size: c.Size, where: "stored"})
		return nil
	})
	switch {
	case errors.Is(err, errPageFull):
	case err != nil:
		return err
	default:
		cs.done = true
	}
	if n := len(cs.page); n > 0 {
		last := cs.page[n-1].size
		if last != cs.nextMin {
			cs.nextMin, cs.skip = last, 0
		}
		for i := n - 1; i >= 0 && cs.page[i].size == last; i-- {
			cs.skip++
		}
	}
	return nil
}

// peek returns the next checkpoint without consuming it; ok is false when
// there is none.
func (cs *checkpointStream) peek() (pendingCheckpoint, bool, error) {
	if err := cs.fill(); err != nil {
		return pendingCheckpoint{}, false, err
	}
	if cs.storedNext() {
		return cs.page[cs.pos], true, nil
	}
	if cs.pubPos < len(cs.pub) {
		return cs.pub[cs.pubPos], true, nil
	}
	return pendingCheckpoint{}, false, nil
}

// pop consumes the checkpoint peek returned.
func (cs *checkpointStream) pop() {
	if cs.storedNext() {
		cs.pos++
	} else {
		cs.pubPos++
	}
}

// storedNext reports whether the next checkpoint is a stored one.
func (cs *checkpointStream) storedNext() bool {
	return cs.pos < len(cs.page) && (cs.pubPos >= len(cs.pub) || cs.page[cs.pos].size <= cs.pub[cs.pubPos].size)
}
