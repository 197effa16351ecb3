package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"runtime"
	"sync"
)

// verifyChunkSize is how many events one chunk of a verification holds.
const verifyChunkSize = 4096

// maxVerifyWorkers bounds the goroutines that read and hash chunks.
const maxVerifyWorkers = 4

// verifyChunk is a run of consecutive events [lo, hi) read and checked by
// a worker: every event's hash against the previous stored hash and its
// data, and its leaf against its stored tree hashes. What needs the whole
// prefix (the link to the previous chunk, the Merkle frontier, the
// checkpoints) is left to the in-order stage, which gets the stored hashes
// and tree hashes from the chunk. Chunks are reused.
type verifyChunk struct {
	lo, hi uint64
	n      int        // events read: lo .. lo+n-1
	hashes [][32]byte // stored hash of each event read
	tree   []byte     // stored tree hashes of each event, concatenated
	treeAt []int      // tree[treeAt[i]:treeAt[i+1]] are event i's
	first  []byte     // the first event's data, hashed by the in-order stage
	bad    int        // index of the first event that failed; n when none
	badErr error      // why (a *ChainError)
	err    error      // an I/O error of the scan
	done   chan struct{}
}

// errStopScan ends a chunk's scan at its first bad event.
var errStopScan = errors.New("stop scan")

// fill reads and checks c's events from s.
func (c *verifyChunk) fill(ctx context.Context, s Store, sha hash.Hash) {
	c.n, c.bad, c.badErr, c.err = 0, -1, nil, nil
	c.hashes = c.hashes[:0]
	c.tree = c.tree[:0]
	c.treeAt = append(c.treeAt[:0], 0)
	c.first = c.first[:0]
	var h [32]byte
	err := s.Scan(ctx, c.lo, c.hi, func(r *Record) error {
		want := c.lo + uint64(c.n)
		if r.Seq != want {
			if r.Seq > want {
				c.badErr = &ChainError{Seq: want, Reason: "event missing (deleted): next stored event is seq " + uitoa(r.Seq)}
			} else {
				c.badErr = &ChainError{Seq: r.Seq, Reason: "sequence out of order"}
			}
			c.bad = c.n
			return errStopScan
		}
		if c.n == 0 {
			c.first = append(c.first, r.Data...)
		} else {
			sha.Reset()
			sha.Write(c.hashes[c.n-1][:])
			sha.Write(r.Data)
			sha.Sum(h[:0])
			if h != r.Hash {
				c.bad = c.n
				c.badErr = &ChainError{Seq: want, Reason: "hash mismatch: the event or its predecessor was changed"}
				return errStopScan
			}
		}
		// The leaf is checked here; the parents the leaf completes need
		// the frontier and are checked in order. For the first event the
		// in-order stage checks that the stored hash is the recomputed one.
		leaf := LeafHash(r.Hash)
		if len(r.TreeHashes) < 32 || !bytes.Equal(leaf[:], r.TreeHashes[:32]) {
			c.bad = c.n
			c.badErr = &ChainError{Seq: want, Reason: "stored Merkle tree hashes do not match the events"}
			// The in-order stage still needs the hash for the chain.
			c.hashes = append(c.hashes, r.Hash)
			return errStopScan
		}
		c.hashes = append(c.hashes, r.Hash)
		c.tree = append(c.tree, r.TreeHashes...)
		c.treeAt = append(c.treeAt, len(c.tree))
		c.n++
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		c.err = err
	}
	if c.bad < 0 {
		c.bad = c.n
	}
}

// verifyStream checks events [from, to) in order, calling event for each
// one whose chain link and leaf were found good, with its stored hash and
// tree hashes; event's error stops the stream. prev is the hash before
// from. Chunks are read and hashed by up to maxVerifyWorkers goroutines
// ahead of the in-order stage, in bounded memory.
func verifyStream(ctx context.Context, s Store, from, to uint64, prev [32]byte,
	event func(seq uint64, h [32]byte, tree []byte) error) error {
	if from >= to {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := min(runtime.GOMAXPROCS(0), maxVerifyWorkers)
	depth := 2 * workers
	free := make(chan *verifyChunk, depth)
	for range depth {
		free <- &verifyChunk{}
	}
	jobs := make(chan *verifyChunk, depth)
	order := make(chan *verifyChunk, depth)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // runs before wg.Wait
	wg.Go(func() { // dispatcher
		defer close(jobs)
		defer close(order)
		for lo := from; lo < to; lo += min(verifyChunkSize, to-lo) {
			var c *verifyChunk
			select {
			case c = <-free:
			case <-ctx.Done():
				return
			}
			c.lo, c.hi = lo, lo+min(verifyChunkSize, to-lo)
			c.done = make(chan struct{})
			order <- c // never blocks: at most depth chunks exist
			jobs <- c
		}
	})
	for range workers {
		wg.Go(func() {
			sha := sha256.New()
			for c := range jobs {
				c.fill(ctx, s, sha)
				close(c.done)
			}
		})
	}
	sha := sha256.New()
	var h [32]byte
	for c := range order {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		for i := 0; i <= c.bad && i < len(c.hashes); i++ {
			seq := c.lo + uint64(i)
			if i == 0 {
				sha.Reset()
				sha.Write(prev[:])
				sha.Write(c.first)
				sha.Sum(h[:0])
				if h != c.hashes[0] {
					return &ChainError{Seq: seq, Reason: "hash mismatch: the event or its predecessor was changed"}
				}
			}
			if i == c.bad {
				return c.badErr
			}
			if err := event(seq, c.hashes[i], c.tree[c.treeAt[i]:c.treeAt[i+1]]); err != nil {
				return err
			}
			prev = c.hashes[i]
		}
		switch {
		case c.badErr != nil:
			return c.badErr
		case c.err != nil:
			return c.err
		case c.n < int(c.hi-c.lo):
			return &ChainError{Seq: c.lo + uint64(c.n), Reason: "event missing (deleted)"}
		}
		free <- c
	}
	return ctx.Err()
}
