package policy

import (
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
)

// fieldSlots is how many distinct condition fields an evaluation caches;
// the most used fields of a set get the slots.
const fieldSlots = 8

// fieldCache memoizes field lookups during one evaluation. It lives on the
// stack; the bigram sets only `matches` needs come from the set's pool on
// first use and go back after the evaluation.
type fieldCache struct {
	val   [fieldSlots]any
	state [fieldSlots]uint8 // 0 unknown, 1 absent, 2 present
	ext   *fieldExt
	pool  *sync.Pool
}

// fieldExt holds, per slot, the bigram set of the slot's string value.
type fieldExt struct {
	bg     [fieldSlots]bigramSet
	bstate [fieldSlots]uint8 // 0 not built, 1 built (ASCII), 2 built (not ASCII)
}

// release returns the extension to the pool, cleared.
func (fc *fieldCache) release() {
	if fc.ext == nil {
		return
	}
	for i, st := range fc.ext.bstate {
		if st != 0 {
			fc.ext.bg[i] = bigramSet{}
			fc.ext.bstate[i] = 0
		}
	}
	fc.pool.Put(fc.ext)
	fc.ext = nil
}

// load looks c's field up in in and caches it in c's slot, if any.
func (fc *fieldCache) load(c *compiledCond, in map[string]any) (any, bool) {
	v, ok := lookupField(in, c.field, c.path)
	if c.slot < 0 {
		return v, ok
	}
	if ok {
		fc.state[c.slot], fc.val[c.slot] = 2, v
	} else {
		fc.state[c.slot] = 1
	}
	return v, ok
}

// bigrams returns the bigram set of the slot's string value s, built on
// first use, and whether s is pure ASCII.
func (fc *fieldCache) bigrams(slot int8, s string) (*bigramSet, bool) {
	if fc.ext == nil {
		if fc.pool != nil {
			fc.ext, _ = fc.pool.Get().(*fieldExt)
		}
		if fc.ext == nil {
			fc.ext = new(fieldExt)
		}
	}
	x := fc.ext
	if x.bstate[slot] == 0 {
		x.bstate[slot] = 1
		if !x.bg[slot].add(s) {
			x.bstate[slot] = 2
		}
	}
	return &x.bg[slot], x.bstate[slot] == 1
}

// containsFoldASCII reports whether s contains lit, ignoring ASCII case;
// lit is lower case.
func containsFoldASCII(s, lit string) bool {
	if len(lit) == 0 {
		return true
	}
outer:
	for i := 0; i+len(lit) <= len(s); i++ {
		for j := 0; j < len(lit); j++ {
			if asciiLowerByte(s[i+j]) != lit[j] {
				continue outer
			}
		}
		return true
	}
	return false
}

// bigramSet is a 4096-bit set of hashed, ASCII-lower-cased byte pairs of a
// string. A literal whose pairs are not all in the set of s cannot occur in
// s (ignoring ASCII case), which rejects most non-matching `matches`
// conditions without searching.
type bigramSet [64]uint64

func bigramHash(a, b byte) uint16 {
	return uint16((uint(asciiLowerByte(a))*131 + uint(asciiLowerByte(b))) & 4095)
}

func asciiLowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// add adds the bigrams of s and reports whether s is pure ASCII.
func (bs *bigramSet) add(s string) bool {
	var high byte
	for i := 0; i+1 < len(s); i++ {
		high |= s[i]
		h := bigramHash(s[i], s[i+1])
		bs[h>>6] |= 1 << (h & 63)
	}
	if len(s) > 0 {
		high |= s[len(s)-1]
	}
	return high < 0x80
}

func (bs *bigramSet) hasAll(hs []uint16) bool {
	for _, h := range hs {
		if bs[h>>6]&(1<<(h&63)) == 0 {
			return false
		}
	}
	return true
}

// literalBigrams returns the distinct bigram hashes of lit.
func literalBigrams(lit string) []uint16 {
	var out []uint16
	for i := 0; i+1 < len(lit); i++ {
		h := bigramHash(lit[i], lit[i+1])
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// asciiLower lower-cases an ASCII string, allocating only if it has upper
// case letters; ok is false for non-ASCII input.
func asciiLower(s string) (string, bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return "", false
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if !upper {
		return s, true
	}
	return strings.ToLower(s), true
}

// requiredLiteral finds a literal every match of pattern must contain, for
// a cheap prefilter before running the regexp. fold reports that it must
// be compared case-insensitively (lit is then lower case). lit is "" when
// no useful literal is known. Only ASCII literals are returned.
func requiredLiteral(pattern string) (lit string, fold bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	lit, fold = required(re.Simplify())
	for i := 0; i < len(lit); i++ {
		if lit[i] >= 0x80 {
			return "", false
		}
	}
	if fold {
		lit = strings.ToLower(lit)
	}
	return lit, fold
}

func required(re *syntax.Regexp) (string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune), re.Flags&syntax.FoldCase != 0
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		best, bestFold := "", false
		consider := func(s string, f bool) {
			if len(s) > len(best) {
				best, bestFold = s, f
			}
		}
		var run strings.Builder
		runFold := false
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				run.WriteString(string(sub.Rune))
				runFold = runFold || sub.Flags&syntax.FoldCase != 0
				continue
			}
			consider(run.String(), runFold)
			run.Reset()
			runFold = false
			consider(required(sub))
		}
		consider(run.String(), runFold)
		return best, bestFold
	}
	return "", false
}
