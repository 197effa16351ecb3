package detect

import (
	"math/rand/v2"
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
//     L-2..L+2 and verifies only the names found. Segments are keyed by a
//     64-bit polynomial hash of the text with a random base, mixed with
//     the length and part: a lookup hashes every prefix of the name once
//     and gets each probe's hash in constant time. A collision only adds
//     a name to verify, and verification decides. A bitset of the keys in
//     use answers most probes without a map access;
//   - bases: name with version affixes removed ("search_v2" → "search")
//     → entries (shadowing).
//
// Two more bitsets answer most lookups without touching the maps: one of
// the lengths of the names in segs (a length with no names needs no
// probe) and one of the hashes of the keys of exact and bases.

// nameEntry is one registered (server, tool) pair.
type nameEntry struct {
	seq    uint64 // registration order; results are reported in it
	server string
	name   string // as registered
	folded string // lower case
}

// nameIndex indexes registered tool names. It is not safe for concurrent
// use; MCPScanner guards it.
type nameIndex struct {
	entries []nameEntry
	exact   map[string][]int32
	segs    map[uint64][]int32 // key: segKey
	bases   map[string][]int32
	// pow[k] is base^k (mod 2^64) for the polynomial hash; base is odd
	// and random per index.
	pow [maxIndexedName + 1]uint64
	// keys is a bitset over the segs keys (bit key&(len(keys)*64-1)),
	// kept at least 8 bits per key so that 7 in 8 absent keys miss.
	keys []uint64
	// lens has bit n set when a name of n bytes is in segs.
	lens [maxIndexedName/64 + 1]uint64
	// names is a bitset like keys over nameKey of every key of exact and
	// bases; nnames counts those keys (with repeats: a bound).
	names  []uint64
	nnames int
}

// nameKey returns the key in names of a name whose polynomial hash (see
// prefixHashes) is h.
func nameKey(h uint64, length int) uint64 {
	h ^= uint64(length)*0xbf58476d1ce4e5b9 + 0x94d049bb133111eb
	return h ^ h>>31
}

// nameHash returns the polynomial hash of s, h[len(s)] of prefixHashes.
func (x *nameIndex) nameHash(s string) uint64 {
	base, h := x.pow[1], uint64(0)
	for i := 0; i < len(s); i++ {
		h = h*base + uint64(s[i])
	}
	return h
}

// mayName reports whether a name with hash h may be a key of exact or
// bases (false: it is in neither).
func (x *nameIndex) mayName(h uint64, length int) bool {
	b := nameKey(h, length) & uint64(len(x.names)*64-1)
	return x.names[b/64]&(1<<(b%64)) != 0
}

// addName records a key of exact or bases in names, doubling the bitset
// (and re-adding every key) when it gets too full.
func (x *nameIndex) addName(name string) {
	x.nnames++
	if x.nnames*8 > len(x.names)*64 {
		x.names = make([]uint64, 2*len(x.names))
		for k := range x.exact {
			x.setName(k)
		}
		for k := range x.bases {
			x.setName(k)
		}
	}
	x.setName(name)
}

func (x *nameIndex) setName(name string) {
	b := nameKey(x.nameHash(name), len(name)) & uint64(len(x.names)*64-1)
	x.names[b/64] |= 1 << (b % 64)
}

// segKey returns the key of a segment whose text has polynomial hash h
// (see prefixHashes): part of the names of the given length.
func segKey(h uint64, length, part int) uint64 {
	h ^= uint64(length<<2|part) * 0x9e3779b97f4a7c15
	return h ^ h>>29
}

// prefixHashes sets h[i] to the polynomial hash of s[:i] for i up to
// len(s) (h must be longer than s); s[i:j] then hashes to
// h[j] - h[i]*pow[j-i].
func (x *nameIndex) prefixHashes(h []uint64, s string) {
	base := x.pow[1]
	h[0] = 0
	for i := 0; i < len(s); i++ {
		h[i+1] = h[i]*base + uint64(s[i])
	}
}

// subHash returns the hash of s[i:j] from the prefix hashes of s.
func (x *nameIndex) subHash(h []uint64, i, j int) uint64 {
	return h[j] - h[i]*x.pow[j-i]
}

// mayHave reports whether key may be in segs (false: it is not).
func (x *nameIndex) mayHave(key uint64) bool {
	b := key & uint64(len(x.keys)*64-1)
	return x.keys[b/64]&(1<<(b%64)) != 0
}

// addKey records key in the bitset, doubling it (and re-adding every key)
// when it gets too full.
func (x *nameIndex) addKey(key uint64) {
	if len(x.segs)*8 > len(x.keys)*64 {
		x.keys = make([]uint64, 2*len(x.keys))
		for k := range x.segs {
			x.setKey(k)
		}
	}
	x.setKey(key)
}

func (x *nameIndex) setKey(key uint64) {
	b := key & uint64(len(x.keys)*64-1)
	x.keys[b/64] |= 1 << (b % 64)
}

func newNameIndex() *nameIndex {
	x := &nameIndex{
		exact: make(map[string][]int32),
		segs:  make(map[uint64][]int32),
		bases: make(map[string][]int32),
		keys:  make([]uint64, 64),
		names: make([]uint64, 64),
	}
	x.pow[0], x.pow[1] = 1, rand.Uint64()|1
	for i := 2; i < len(x.pow); i++ {
		x.pow[i] = x.pow[i-1] * x.pow[1]
	}
	return x
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
	// Eight bytes at a time: any non-ASCII or upper-case byte needs the
	// copy.
	i := 0
	for ; i+8 <= len(name); i += 8 {
		if w := load64(name[i : i+8]); w&asciiHighs != 0 || asciiBetween(w, 'A', 'Z') != 0 {
			return strings.ToLower(name)
		}
	}
	for ; i < len(name); i++ {
		if c := name[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
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
	x.addName(e.folded)
	if base := stripVersionAffixes(e.folded); base != e.folded {
		x.bases[base] = append(x.bases[base], id)
		x.addName(base)
	}
	n := len(e.folded)
	if n < typoMinLen-typoMaxDistance || n > maxIndexedName {
		return
	}
	x.lens[n/64] |= 1 << (n % 64)
	var h [maxIndexedName + 1]uint64
	x.prefixHashes(h[:], e.folded)
	a, b := segments(n)
	for p, span := range [3][2]int{{0, a}, {a, b}, {b, n}} {
		k := segKey(x.subHash(h[:], span[0], span[1]), n, p)
		x.segs[k] = append(x.segs[k], id)
		x.addKey(k)
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
	if len(x.entries) == 0 {
		return dst
	}
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
	m := len(folded)
	mayFolded := x.mayName(x.nameHash(folded), m)
	if mayFolded {
		for _, id := range x.exact[folded] {
			add(id, crossImpersonation)
		}
	}
	if x.probesNear(m) {
		x.typosquats(folded, add)
	}
	if shadow {
		base := stripVersionAffixes(folded)
		if base != folded && x.mayName(x.nameHash(base), len(base)) {
			for _, id := range x.exact[base] {
				add(id, crossShadow)
			}
			for _, id := range x.bases[base] {
				if x.entries[id].folded != folded {
					add(id, crossShadow)
				}
			}
		}
		if mayFolded {
			for _, id := range x.bases[folded] {
				add(id, crossShadow)
			}
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

// probes reports whether a lookup of a name of m bytes probes the names
// of n bytes: there are some, and a typosquat's lengths allow it.
func (x *nameIndex) probes(n, m int) bool {
	return n >= 1 && n <= maxIndexedName && min(n, m) >= typoMinLen && x.lens[n/64]&(1<<(n%64)) != 0
}

// probesNear reports whether a lookup of a name of m bytes probes any
// length.
func (x *nameIndex) probesNear(m int) bool {
	if m > maxIndexedName+typoMaxDistance {
		return false
	}
	for n := m - typoMaxDistance; n <= m+typoMaxDistance; n++ {
		if x.probes(n, m) {
			return true
		}
	}
	return false
}

// typosquats calls add for every name within typosquat distance of folded
// (at most maxIndexedName+typoMaxDistance bytes) that the pigeonhole
// probes find.
func (x *nameIndex) typosquats(folded string, add func(int32, crossKind)) {
	var h [maxIndexedName + typoMaxDistance + 1]uint64
	// probe verifies the names of the given length whose segment part is
	// folded[i:j].
	probe := func(n, part, i, j int) {
		if k := segKey(x.subHash(h[:], i, j), n, part); x.mayHave(k) {
			for _, id := range x.segs[k] {
				x.verify(id, folded, add)
			}
		}
	}
	m := len(folded)
	x.prefixHashes(h[:], folded)
	for n := m - typoMaxDistance; n <= m+typoMaxDistance; n++ {
		if !x.probes(n, m) {
			continue
		}
		a, b := segments(n)
		// First segment: no edit before it, so it starts at 0.
		if a <= m {
			probe(n, 0, 0, a)
		}
		// Middle segment: shifted by at most two edits.
		for d := -typoMaxDistance; d <= typoMaxDistance; d++ {
			s := a + d
			if s < 0 || s+(b-a) > m {
				continue
			}
			probe(n, 1, s, s+b-a)
		}
		// Last segment: no edit after it, so it ends at m.
		if l := n - b; l <= m {
			probe(n, 2, m-l, m)
		}
	}
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
	if i := lastAffixSep(base); i > 0 && i < len(base)-1 {
		if tail := base[i+1:]; isVersionToken(tail) {
			base = base[:i]
		}
	} else if j := trailingDigits(base); j < len(base) && j-1 >= typoMinLen && base[j-1] == 'v' {
		base = base[:j-1] // "searchv2"
	}
	if base != name {
		return base
	}
	if i := firstAffixSep(base); i > 0 && i < len(base)-1 {
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
	switch s {
	case "new", "latest", "updated", "official", "real", "pro", "plus", "beta", "alpha", "fixed", "improved", "enhanced", "better", "secure", "safe":
		return true // versionWords (TestVersionWords)
	}
	return false
}

// isAffixSep reports whether c separates a version affix: '_', '-', '.'
// or ' '.
func isAffixSep(c byte) bool { return c == '_' || c == '-' || c == '.' || c == ' ' }

// lastAffixSep is strings.LastIndexAny(s, "_-. ").
func lastAffixSep(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if isAffixSep(s[i]) {
			return i
		}
	}
	return -1
}

// firstAffixSep is strings.IndexAny(s, "_-. ").
func firstAffixSep(s string) int {
	for i := 0; i < len(s); i++ {
		if isAffixSep(s[i]) {
			return i
		}
	}
	return -1
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
