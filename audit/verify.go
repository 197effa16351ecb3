package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
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
// streaming the events once in constant memory:
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
func Verify(ctx context.Context, s Store, v note.Verifier, opts VerifyOptions) (VerifyResult, error) {
	head, err := s.Head(ctx)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify: %w", err)
	}
	res := VerifyResult{Start: head.Start, Size: head.Size}
	var cps []pendingCheckpoint
	err = s.Checkpoints(ctx, head.Start, func(c Checkpoint) error {
		cps = append(cps, pendingCheckpoint{note: c.Note, size: c.Size, where: "stored"})
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	for _, n := range opts.Published {
		c, err := OpenCheckpoint(n, v)
		if err != nil {
			return res, &CheckpointError{Seq: head.Start, Reason: "published checkpoint: " + err.Error()}
		}
		if c.Size >= head.Start {
			cps = append(cps, pendingCheckpoint{note: n, size: c.Size, where: "published"})
		}
	}
	sortCheckpoints(cps)

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
	i, err := vs.reach(cps, 0, head.Start, &f, prev)
	if err != nil {
		return res, err
	}
	total := head.Size - head.Start
	every := opts.ProgressEvery
	if every == 0 {
		every = 1 << 16
	}
	sha := sha256.New()
	next := head.Start
	tree := make([]byte, 0, 64*32)
	var h [32]byte
	err = s.Scan(ctx, head.Start, head.Size, func(r *Record) error {
		if r.Seq != next {
			if r.Seq > next {
				return &ChainError{Seq: next, Reason: "event missing (deleted): next stored event is seq " + uitoa(r.Seq)}
			}
			return &ChainError{Seq: r.Seq, Reason: "sequence out of order"}
		}
		sha.Reset()
		sha.Write(prev[:])
		sha.Write(r.Data)
		sha.Sum(h[:0])
		if h != r.Hash {
			return &ChainError{Seq: next, Reason: "hash mismatch: the event or its predecessor was changed"}
		}
		tree = f.push(tree[:0], LeafHash(h))
		if !bytes.Equal(tree, r.TreeHashes) {
			return &ChainError{Seq: next, Reason: "stored Merkle tree hashes do not match the events"}
		}
		prev = h
		next++
		if i < len(cps) && cps[i].size <= next {
			var err error
			if i, err = vs.reach(cps, i, next, &f, prev); err != nil {
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
	if i < len(cps) {
		c := cps[i]
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

// reach checks cps[i:] whose size is at most size, now that the stream
// has reached size with tree f and chain hash prev; it returns the index
// of the first checkpoint not yet reached.
func (vs *verifier) reach(cps []pendingCheckpoint, i int, size uint64, f *frontier, prev [32]byte) (int, error) {
	for ; i < len(cps) && cps[i].size <= size; i++ {
		pc := cps[i]
		c, err := OpenCheckpoint(pc.note, vs.v)
		if err != nil {
			return i, &CheckpointError{Size: pc.size, Seq: vs.good, Reason: pc.where + " checkpoint: " + err.Error()}
		}
		if c.Size != pc.size {
			return i, &CheckpointError{Size: pc.size, Seq: vs.good, Reason: fmt.Sprintf("stored checkpoint row says size %d but its signed note says %d", pc.size, c.Size)}
		}
		if c.Size < size {
			continue // before the first retained event (pruned)
		}
		if c.Root != f.root() {
			return i, &CheckpointError{Size: c.Size, Seq: vs.good, Reason: fmt.Sprintf(
				"the recomputed tree root differs from the %s signed checkpoint: events in [%d, %d) were rewritten", pc.where, vs.good, c.Size)}
		}
		if c.Chain != prev {
			return i, &CheckpointError{Size: c.Size, Seq: c.Size - 1, Reason: "the chain hash differs from the signed checkpoint"}
		}
		if vs.last != nil && vs.last.Size < c.Size {
			if err := vs.consistent(vs.last, &c); err != nil {
				return i, err
			}
		}
		vs.good, vs.last = c.Size, &c
		vs.res.Checkpoints++
		if vs.res.Latest == nil || c.Size >= vs.res.Latest.Size {
			vs.res.Latest = &c
		}
	}
	return i, nil
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
