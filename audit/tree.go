package audit

import (
	"crypto/sha256"
	"fmt"
	"math/bits"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"
)

// LeafHash returns the Merkle leaf of an event with the given hash: the
// RFC 6962 record hash SHA-256(0x00 || the 32 hash bytes).
func LeafHash(eventHash [32]byte) tlog.Hash {
	var buf [33]byte
	copy(buf[1:], eventHash[:])
	return sha256.Sum256(buf[:])
}

// frontier is the right edge of an RFC 6962 tree being built leaf by leaf:
// the roots of the maximal complete subtrees covering [0, size), left to
// right (one per set bit of size, largest first). It rebuilds the tree in
// constant memory, as tlog.StoredHashes does against stored hashes.
type frontier struct {
	size   uint64
	hashes []tlog.Hash // len == bits.OnesCount64(size)
}

// frontierIndexes returns the tlog storage indexes of the roots covering
// [0, n), left to right.
func frontierIndexes(n uint64) []int64 {
	var out []int64
	var start uint64
	for level := 63; level >= 0; level-- {
		w := uint64(1) << level
		if n&w == 0 {
			continue
		}
		out = append(out, tlog.StoredHashIndex(level, int64(start>>level)))
		start += w
	}
	return out
}

// loadFrontier reads the frontier of a tree of size n from r.
func loadFrontier(n uint64, r tlog.HashReader) (frontier, error) {
	idx := frontierIndexes(n)
	hs, err := r.ReadHashes(idx)
	if err != nil {
		return frontier{}, fmt.Errorf("read tree hashes: %w", err)
	}
	if len(hs) != len(idx) {
		return frontier{}, fmt.Errorf("read tree hashes: got %d of %d", len(hs), len(idx))
	}
	return frontier{size: n, hashes: hs}, nil
}

// push adds leaf h as leaf number f.size and appends to dst the hashes it
// stores (tlog.StoredHashes order): the leaf, then one parent per subtree
// it completes.
func (f *frontier) push(dst []byte, h tlog.Hash) []byte {
	dst = append(dst, h[:]...)
	for n := f.size; n&1 == 1; n >>= 1 {
		left := f.hashes[len(f.hashes)-1]
		f.hashes = f.hashes[:len(f.hashes)-1]
		h = tlog.NodeHash(left, h)
		dst = append(dst, h[:]...)
	}
	f.hashes = append(f.hashes, h)
	f.size++
	return dst
}

// root returns the tree hash of the f.size leaves.
func (f *frontier) root() tlog.Hash {
	if len(f.hashes) == 0 {
		return sha256.Sum256(nil)
	}
	r := f.hashes[len(f.hashes)-1]
	for i := len(f.hashes) - 2; i >= 0; i-- {
		r = tlog.NodeHash(f.hashes[i], r)
	}
	return r
}

// indexed returns the frontier with tlog storage indexes.
func (f *frontier) indexed() []IndexedHash {
	idx := frontierIndexes(f.size)
	out := make([]IndexedHash, len(idx))
	for i := range idx {
		out[i] = IndexedHash{Index: idx[i], Hash: f.hashes[i]}
	}
	return out
}

// frontierFromAnchor rebuilds a frontier from an anchor's hashes, checking
// that they sit at the indexes a tree of a.Size has.
func frontierFromAnchor(a *Anchor) (frontier, error) {
	idx := frontierIndexes(a.Size)
	if len(idx) != len(a.Frontier) {
		return frontier{}, fmt.Errorf("anchor has %d tree hashes, a tree of %d events needs %d", len(a.Frontier), a.Size, len(idx))
	}
	f := frontier{size: a.Size, hashes: make([]tlog.Hash, 0, bits.OnesCount64(a.Size)+1)}
	for i, h := range a.Frontier {
		if h.Index != idx[i] {
			return frontier{}, fmt.Errorf("anchor tree hash %d has index %d, want %d", i, h.Index, idx[i])
		}
		f.hashes = append(f.hashes, h.Hash)
	}
	return f, nil
}

// TreeHashLocation says where a store keeps the tree hash at tlog storage
// index i: in the TreeHashes of the event with sequence number seq, at
// position level (bytes [32*level, 32*level+32)).
func TreeHashLocation(i int64) (seq uint64, level int) {
	level, n := tlog.SplitStoredHashIndex(i)
	return uint64((n+1)<<level - 1), level
}

func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }
