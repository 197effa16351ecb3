package detect

import (
	"strings"
	"sync/atomic"
)

// literalSet finds every occurrence of a fixed set of literals in one pass
// over the input (Aho-Corasick), compiled to a deterministic automaton over
// byte classes. Literals are matched ASCII case-insensitively in the
// automaton; a literal that must match case-sensitively is checked against
// the input when the automaton reports it. It is immutable once built and
// safe for concurrent use.
type literalSet struct {
	lits  []string
	exact []bool // case-sensitive literal
	// class maps an input byte to its byte class; ASCII upper-case
	// letters share the class of their lower-case letter. Bytes occurring
	// in no literal share class 0.
	class  [256]uint8
	nclass uint32
	// trans holds, for state s (stored pre-multiplied by nclass) and class
	// c, the next state at trans[s+c], with outBit set when the next state
	// ends at least one literal.
	trans []uint32
	// out lists, per state number, the literals that end there (directly or
	// through a suffix).
	out [][]int32
	// stop is the class of the stop bytes (see newStopLiteralSet), 0 when
	// there are none. Every transition on it carries outBit, so the scan
	// loop notices a stop byte only on its rare out path.
	stop uint8
	// fixed, for a set with stop bytes whose automaton fits, is trans in
	// an array of constant size, indexed under fixedMask: orMaskPlain's
	// loop then needs no bounds check and, since the mask also drops
	// outBit, no branch per byte.
	fixed *[fixedMask + 1]uint32
}

// fixedMask bounds the transition tables that orMaskPlain runs from an
// array (128 KiB).
const fixedMask = 1<<15 - 1

const outBit = 1 << 31

// newLiteralSet compiles lits. fold[i] makes lits[i] match ASCII
// case-insensitively. Empty literals are ignored.
func newLiteralSet(lits []string, fold []bool) *literalSet {
	return newStopLiteralSet(lits, fold, nil)
}

// newStopLiteralSet is newLiteralSet with stop bytes: the bytes for which
// isStop is true, on which orMaskPlain gives up. No literal may contain a
// stop byte, and no ASCII letter may be one.
func newStopLiteralSet(lits []string, fold []bool, isStop func(c byte) bool) *literalSet {
	ls := &literalSet{lits: lits, exact: make([]bool, len(lits))}
	// Byte classes over the lower-cased literals.
	nclass := 1
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			c := lowerASCII(l[i])
			if ls.class[c] == 0 {
				ls.class[c] = uint8(nclass)
				nclass++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		ls.class[c] = ls.class[c+32]
	}
	if isStop != nil {
		ls.stop = uint8(nclass)
		nclass++
		for c := range 256 {
			if !isStop(byte(c)) {
				continue
			}
			if ls.class[c] != 0 {
				panic("detect: a stop byte occurs in a literal") // the literals are constants
			}
			ls.class[c] = ls.stop
		}
	}
	ls.nclass = uint32(nclass)
	// Trie.
	type node struct {
		next map[uint8]int
		fail int
		out  []int32
	}
	nodes := []node{{next: map[uint8]int{}}}
	for i, l := range lits {
		ls.exact[i] = !fold[i]
		if l == "" {
			continue
		}
		s := 0
		for j := 0; j < len(l); j++ {
			c := ls.class[l[j]]
			n, ok := nodes[s].next[c]
			if !ok {
				n = len(nodes)
				nodes = append(nodes, node{next: map[uint8]int{}})
				nodes[s].next[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(i))
	}
	// Breadth-first: failure links, inherited outputs, full transitions.
	ls.trans = make([]uint32, len(nodes)*nclass)
	ls.out = make([][]int32, len(nodes))
	queue := []int{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s != 0 {
			nodes[s].out = append(nodes[s].out, nodes[nodes[s].fail].out...)
		}
		ls.out[s] = nodes[s].out
		for c := 0; c < nclass; c++ {
			var t int
			if n, ok := nodes[s].next[uint8(c)]; ok {
				t = n
				if s != 0 {
					nodes[n].fail = int(ls.trans[uint32(nodes[s].fail)*ls.nclass+uint32(c)] &^ outBit / ls.nclass)
				}
				queue = append(queue, n)
			} else if s != 0 {
				t = int(ls.trans[uint32(nodes[s].fail)*ls.nclass+uint32(c)] &^ outBit / ls.nclass)
			}
			ls.trans[s*nclass+c] = uint32(t) * ls.nclass
		}
	}
	// Output bits, now that every node's outputs are complete. A stop
	// byte matches no literal (its transitions lead to the root) but
	// carries the bit too.
	for i, t := range ls.trans {
		if len(ls.out[t/ls.nclass]) > 0 || ls.stop != 0 && uint32(i)%ls.nclass == uint32(ls.stop) {
			ls.trans[i] = t | outBit
		}
	}
	if ls.stop != 0 && len(ls.trans) <= fixedMask+1 {
		ls.fixed = new([fixedMask + 1]uint32)
		copy(ls.fixed[:], ls.trans)
	}
	return ls
}

// each calls fn(lit, start) for every occurrence of a literal in s, in
// order of end position (occurrences may overlap). fn returning false
// stops the search.
func (ls *literalSet) each(s string, fn func(lit, start int) bool) {
	trans, class := ls.trans, &ls.class
	st := uint32(0)
	for i := 0; i < len(s); i++ {
		st = trans[st+uint32(class[s[i]])]
		if st&outBit == 0 {
			continue
		}
		st &^= outBit
		for _, li := range ls.out[st/ls.nclass] {
			l := ls.lits[li]
			start := i + 1 - len(l)
			if ls.exact[li] && s[start:i+1] != l {
				continue
			}
			if !fn(int(li), start) {
				return
			}
		}
	}
}

// orMask returns the OR of bits[lit] over every literal that occurs in s.
// It is each without a callback, for the common question "which rules may
// match": a tight loop of one table step per byte. Case-sensitive literals
// are still verified.
func (ls *literalSet) orMask(s string, bits []uint64) uint64 {
	trans, class := ls.trans, &ls.class
	var m uint64
	st := uint32(0)
	for i := 0; i < len(s); i++ {
		st = trans[st+uint32(class[s[i]])]
		if st&outBit == 0 {
			continue
		}
		st &^= outBit
		for _, li := range ls.out[st/ls.nclass] {
			if ls.exact[li] {
				l := ls.lits[li]
				if s[i+1-len(l):i+1] != l {
					continue
				}
			}
			m |= bits[li]
		}
	}
	return m
}

// orMaskPlain is orMask for a set with stop bytes, in the same single
// pass: ok is false, and m meaningless, when s holds a stop byte.
//
// With the fixed table it takes eight bytes a step without a branch: the
// states are ORed together, and only a block in which some transition
// carried outBit (a literal ended, or a stop byte was read) is run again
// byte by byte from its first state, by steps. Without it (an automaton
// too large) every byte takes the steps path.
func orMaskPlain[T string | []byte](ls *literalSet, s T, bits []uint64) (m uint64, ok bool) {
	st := uint32(0)
	i := 0
	if t := ls.fixed; t != nil {
		class := &ls.class
		for ; i+8 <= len(s); i += 8 {
			b := s[i : i+8]
			st0 := st
			st = t[(st+uint32(class[b[0]]))&fixedMask]
			acc := st
			st = t[(st+uint32(class[b[1]]))&fixedMask]
			acc |= st
			st = t[(st+uint32(class[b[2]]))&fixedMask]
			acc |= st
			st = t[(st+uint32(class[b[3]]))&fixedMask]
			acc |= st
			st = t[(st+uint32(class[b[4]]))&fixedMask]
			acc |= st
			st = t[(st+uint32(class[b[5]]))&fixedMask]
			acc |= st
			st = t[(st+uint32(class[b[6]]))&fixedMask]
			acc |= st
			st = t[(st+uint32(class[b[7]]))&fixedMask]
			acc |= st
			if acc&outBit != 0 {
				var hit uint64
				if hit, st = steps(ls, s, i, i+8, st0, bits); st == stopState {
					return 0, false
				}
				m |= hit
			}
		}
		st &^= outBit
	}
	hit, st := steps(ls, s, i, len(s), st, bits)
	if st == stopState {
		return 0, false
	}
	return m | hit, true
}

// steps runs the automaton over s[from:to] from state st (without
// outBit) a byte at a time and returns the OR of bits over the literals
// that end there and the state reached, or stopState at a stop byte.
func steps[T string | []byte](ls *literalSet, s T, from, to int, st uint32, bits []uint64) (uint64, uint32) {
	trans, class := ls.trans, &ls.class
	var m, hit uint64
	for i := from; i < to; i++ {
		if st = trans[st+uint32(class[s[i]])]; st&outBit != 0 {
			if hit, st = outs(ls, s, i, st, bits); st == stopState {
				return 0, stopState
			}
			m |= hit
		}
	}
	return m, st
}

// stopState is what outs returns for a stop byte; no state has the
// number (states are multiples of nclass, without outBit).
const stopState = ^uint32(0)

// outs handles a transition with outBit, into st, on s[i]: it returns the
// OR of bits over the literals that end there and the state without
// outBit, or stopState when s[i] is a stop byte.
func outs[T string | []byte](ls *literalSet, s T, i int, st uint32, bits []uint64) (uint64, uint32) {
	if ls.class[s[i]] == ls.stop {
		return 0, stopState
	}
	st &^= outBit
	var m uint64
	for _, li := range ls.out[st/ls.nclass] {
		if ls.exact[li] {
			l := ls.lits[li]
			if string(s[i+1-len(l):i+1]) != l {
				continue
			}
		}
		m |= bits[li]
	}
	return m, st
}

// contains reports whether any literal occurs in s.
func (ls *literalSet) contains(s string) bool {
	found := false
	ls.each(s, func(int, int) bool { found = true; return false })
	return found
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// hasFoldSensitive reports whether s contains non-ASCII text that Go's
// case-insensitive matching (and the reference's IGNORECASE) folds to an
// ASCII letter: the Kelvin sign, long s, dotless i and dotted capital I.
// Such inputs cannot be prefiltered by ASCII literals and take the full
// path.
func hasFoldSensitive(s string) bool {
	for _, f := range [...]string{"\u212a", "\u017f", "\u0131", "\u0130"} {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// workMeter counts units of work (bytes handed to a matcher, tokens
// produced) so tests can show that a detector's work grows linearly with
// its input without timing anything. Detectors hold a nil meter except in
// tests; every method is safe on a nil receiver.
type workMeter struct{ n atomic.Int64 }

func (m *workMeter) add(n int) {
	if m != nil {
		m.n.Add(int64(n))
	}
}

func (m *workMeter) load() int64 {
	if m == nil {
		return 0
	}
	return m.n.Load()
}
