package detect

import (
	"strings"
	"unicode/utf8"
)

// This file holds the tool-name index behind the cross-server checks
// (impersonation, typosquatting and version-suffix shadowing). Looking a
// name up costs a fixed number of map probes, independent of how many
// names are registered:
//
//   - exact: case-folded name → entries (impersonation);
//   - segs: pigeonhole index for typosquats. A registered name of length L
//     is cut into three segments; a name within Levenshtein distance 2 of
//     it must contain one of them unchanged at a predictable position, so
//     a lookup probes at most 7 substrings for each of the 5 lengths
//     L-2..L+2 and verifies only the names found;
//   - bases: name with version affixes removed ("search_v2" → "search")
//     → entries (shadowing).

// nameEntry is one registered (server, tool) pair.
type nameEntry struct {
	seq    uint64 // registration order; results are reported in it
	server string
	name   string // as registered
	folded string // lower case
}

// segKey identifies one segment of the registered names of one length.
type segKey struct {
	length uint16
	part   uint8
	text   string
}

// nameIndex indexes registered tool names. It is not safe for concurrent
// use; MCPScanner guards it.
type nameIndex struct {
	entries []nameEntry
	exact   map[string][]int32
	segs    map[segKey][]int32
	bases   map[string][]int32
}

func newNameIndex() *nameIndex {
	return &nameIndex{
		exact: make(map[string][]int32),
		segs:  make(map[segKey][]int32),
		bases: make(map[string][]int32),
	}
}

// Typosquat limits, as in the reference: names differ by 1 or 2 edits,
// their lengths by at most 2, and the shorter has at least 4 characters.
const (
	typoMaxDistance = 2
	typoMinLen      = 4
	maxIndexedName  = 256 // longer names are indexed for exact matches only
)

// foldName lower-cases a tool name for the cross-server checks (the
// reference compares exact names for impersonation; we compare case
// folded, so "Search" impersonates "search").
func foldName(name string) string {
	if isASCIIString(name) {
		for i := 0; i < len(name); i++ {
			if 'A' <= name[i] && name[i] <= 'Z' {
				return strings.ToLower(name)
			}
		}
		return name
	}
	return strings.ToLower(name)
}

// segments returns the three segment boundaries of a name of n bytes:
// [0,a) [a,b) [b,n).
func segments(n int) (a, b int) {
	a = n / 3
	b = a + (n-a)/2
	return a, b
}

// add indexes a new entry.
func (x *nameIndex) add(e nameEntry) {
	id := int32(len(x.entries))
	x.entries = append(x.entries, e)
	x.exact[e.folded] = append(x.exact[e.folded], id)
	if base := stripVersionAffixes(e.folded); base != e.folded {
		x.bases[base] = append(x.bases[base], id)
	}
	n := len(e.folded)
	if n < typoMinLen-typoMaxDistance || n > maxIndexedName {
		return
	}
	a, b := segments(n)
	parts := [3]string{e.folded[:a], e.folded[a:b], e.folded[b:]}
	for p, s := range parts {
		k := segKey{length: uint16(n), part: uint8(p), text: s}
		x.segs[k] = append(x.segs[k], id)
	}
}

// crossMatch is one cross-server finding for a looked-up name.
type crossMatch struct {
	entry *nameEntry
	kind  crossKind
}

type crossKind uint8

const (
	crossImpersonation crossKind = iota + 1
	crossTyposquat
	crossShadow
)

// lookup appends to dst every entry from a server other than server whose
// name equals folded (impersonation), is within typosquat distance, or is
// its version-affixed twin (only when shadow is set), ordered by
// registration. seen is scratch space reused between calls.
func (x *nameIndex) lookup(dst []crossMatch, folded, server string, shadow bool) []crossMatch {
	start := len(dst)
	add := func(id int32, kind crossKind) {
		e := &x.entries[id]
		if e.server == server {
			return
		}
		for i := start; i < len(dst); i++ {
			if dst[i].entry == e {
				if kind == crossShadow && dst[i].kind == crossTyposquat {
					dst[i].kind = kind // the stronger reading wins
				}
				return
			}
		}
		dst = append(dst, crossMatch{entry: e, kind: kind})
	}
	for _, id := range x.exact[folded] {
		add(id, crossImpersonation)
	}
	m := len(folded)
	if m <= maxIndexedName+typoMaxDistance {
		for n := m - typoMaxDistance; n <= m+typoMaxDistance; n++ {
			if n < 1 || n > maxIndexedName || min(n, m) < typoMinLen {
				continue
			}
			a, b := segments(n)
			// First segment: no edit before it, so it starts at 0.
			if a <= m {
				for _, id := range x.segs[segKey{uint16(n), 0, folded[:a]}] {
					x.verify(id, folded, add)
				}
			}
			// Middle segment: shifted by at most two edits.
			for d := -typoMaxDistance; d <= typoMaxDistance; d++ {
				s := a + d
				if s < 0 || s+(b-a) > m {
					continue
				}
				for _, id := range x.segs[segKey{uint16(n), 1, folded[s : s+b-a]}] {
					x.verify(id, folded, add)
				}
			}
			// Last segment: no edit after it, so it ends at m.
			if l := n - b; l <= m {
				for _, id := range x.segs[segKey{uint16(n), 2, folded[m-l:]}] {
					x.verify(id, folded, add)
				}
			}
		}
	}
	if shadow {
		base := stripVersionAffixes(folded)
		if base != folded {
			for _, id := range x.exact[base] {
				add(id, crossShadow)
			}
			for _, id := range x.bases[base] {
				if x.entries[id].folded != folded {
					add(id, crossShadow)
				}
			}
		}
		for _, id := range x.bases[folded] {
			add(id, crossShadow)
		}
	}
	// Report in registration order, as the reference walks its registry.
	found := dst[start:]
	for i := 1; i < len(found); i++ {
		for j := i; j > 0 && found[j].entry.seq < found[j-1].entry.seq; j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	return dst
}

func (x *nameIndex) verify(id int32, folded string, add func(int32, crossKind)) {
	other := x.entries[id].folded
	if other == folded {
		return // already an impersonation
	}
	if isTyposquat(folded, other) {
		add(id, crossTyposquat)
	}
}

// isTyposquat reports whether two different case-folded names look alike:
// restricted Damerau-Levenshtein distance 1 or 2 (a swap of adjacent
// characters counts as one edit), lengths within 2, shorter at least 4
// characters — the reference's rule, with transpositions added.
func isTyposquat(a, b string) bool {
	if a == b {
		return false
	}
	la, lb := utf8.RuneCountInString(a), utf8.RuneCountInString(b)
	if la-lb > typoMaxDistance || lb-la > typoMaxDistance || min(la, lb) < typoMinLen {
		return false
	}
	d := osaDistance(a, b, typoMaxDistance)
	return d >= 1 && d <= typoMaxDistance
}

// osaDistance returns the optimal-string-alignment (restricted
// Damerau-Levenshtein) distance between a and b in runes, or max+1 once it
// is known to exceed max. It uses O(len(b)) memory, and stack arrays for
// names up to 64 runes.
func osaDistance(a, b string, max int) int {
	var ra, rb [64]rune
	ar, br := appendRunes(ra[:0], a), appendRunes(rb[:0], b)
	n, m := len(ar), len(br)
	var s0, s1, s2 [65]int
	prev2, prev, cur := s0[:0], s1[:0], s2[:0]
	if m+1 > len(s0) {
		prev2, prev, cur = make([]int, 0, m+1), make([]int, 0, m+1), make([]int, 0, m+1)
	}
	prev2, prev, cur = prev2[:m+1], prev[:m+1], cur[:m+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= n; i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= m; j++ {
			cost := 1
			if ar[i-1] == br[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ar[i-1] == br[j-2] && ar[i-2] == br[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[m]
}

func appendRunes(dst []rune, s string) []rune {
	for _, r := range s {
		dst = append(dst, r)
	}
	return dst
}

// versionWords are affixes that make a second tool look like a newer or
// better edition of an existing one.
var versionWords = [...]string{"new", "latest", "updated", "official", "real", "pro", "plus", "beta", "alpha", "fixed", "improved", "enhanced", "better", "secure", "safe"}

// stripVersionAffixes removes one version-like suffix ("_v2", "-2",
// "_new", "v1.1") or prefix ("new_", "official-") from a folded name, so
// that "search_v2" and "search" share a base. A name that is nothing but
// an affix is returned unchanged.
func stripVersionAffixes(name string) string {
	base := name
	// Suffix: separator then v?digits(.digits)* or a version word.
	if i := strings.LastIndexAny(base, "_-. "); i > 0 && i < len(base)-1 {
		if tail := base[i+1:]; isVersionToken(tail) {
			base = base[:i]
		}
	} else if j := trailingDigits(base); j < len(base) && j-1 >= typoMinLen && base[j-1] == 'v' {
		base = base[:j-1] // "searchv2"
	}
	if base != name {
		return base
	}
	if i := strings.IndexAny(base, "_-. "); i > 0 && i < len(base)-1 {
		if head := base[:i]; isVersionWord(head) {
			base = base[i+1:]
		}
	}
	return base
}

func isVersionToken(s string) bool {
	if isVersionWord(s) {
		return true
	}
	t := strings.TrimPrefix(s, "v")
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if (t[i] < '0' || t[i] > '9') && t[i] != '.' {
			return false
		}
	}
	return t[0] != '.'
}

func isVersionWord(s string) bool {
	for _, w := range versionWords {
		if s == w {
			return true
		}
	}
	return false
}

// trailingDigits returns the index where a run of trailing ASCII digits
// starts, or len(s) if there is none.
func trailingDigits(s string) int {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	return i
}
