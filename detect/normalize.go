package detect

import (
	"encoding/binary"
	"slices"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalized is a normalised copy of a string, kept with a map from its bytes
// back to the string it came from. Detectors match on Text and report spans
// in the original through [Normalized.Orig].
type Normalized struct {
	// Text is the input after, in order: removing zero-width, bidirectional,
	// soft-hyphen, variation-selector, tag and other format (Cf) characters;
	// mapping every Unicode space other than tab, newline, carriage return
	// and form feed (NBSP, U+3000, U+2028/2029, U+0085, \v, \x1c-\x1f, ...)
	// to ' '; NFKC; mapping Cyrillic, Greek and Armenian look-alikes of Latin
	// letters to ASCII; and full case folding (including İ, ı, ſ, ß and the
	// Kelvin sign). Invalid UTF-8 becomes U+FFFD. Text is stable: normalising
	// it again returns it unchanged.
	Text string

	// offs[i] is the offset in the original of the first byte of the
	// segment that produced Text[i]; offs[len(Text)] is the original length.
	// nil means the mapping is the identity.
	offs    []int32
	origLen int
}

// Normalize returns the normalised form of s described at [Normalized.Text].
// Plain ASCII input takes a fast path that copies at most once and keeps an
// identity offset map. Work and memory are linear in len(s).
func Normalize(s string) Normalized {
	return normalize(s, nil)
}

// normBuf is memory that normalize reuses from call to call: the output
// bytes, the offsets and the NFKC scratch.
type normBuf struct {
	out  []byte
	offs []int32
	sc   normScratch
}

// normalize is Normalize. With buf not nil it works in buf's memory and
// allocates only the text; the result's offsets then live in buf and are
// valid until buf is used again.
func normalize(s string, buf *normBuf) Normalized {
	// ASCII fast path, eight bytes at a time (asciiFoldMask); any
	// non-ASCII byte sends the whole text to the slow path.
	fold := false
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s[i : i+8])
		if w&asciiHighs != 0 {
			return normalizeSlowPath(s, buf)
		}
		fold = fold || asciiFoldMask(w) != 0
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return normalizeSlowPath(s, buf)
		}
		fold = fold || normFoldASCII(c) != c
	}
	if !fold {
		return Normalized{Text: s, origLen: len(s)}
	}
	var b []byte
	if buf != nil {
		buf.out = slices.Grow(buf.out[:0], len(s))[:len(s)]
		b = buf.out
	} else {
		b = make([]byte, len(s))
	}
	i = 0
	for ; i+8 <= len(s); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], asciiFold8(load64(s[i:i+8])))
	}
	for ; i < len(s); i++ {
		b[i] = normFoldASCII(s[i])
	}
	return Normalized{Text: string(b), origLen: len(s)}
}

const (
	asciiOnes  = 0x0101010101010101
	asciiHighs = 0x8080808080808080
)

// asciiBetween returns, for a word of ASCII bytes, the high bit of every
// byte b with lo <= b <= hi. Each byte's sums stay below 256, so no carry
// crosses into its neighbour and the answer is exact per byte.
func asciiBetween(w uint64, lo, hi byte) uint64 {
	return (w + uint64(0x80-lo)*asciiOnes) &^ (w + uint64(0x7f-hi)*asciiOnes) & asciiHighs
}

// asciiFoldMask returns, for a word of ASCII bytes, the high bit of every
// byte that normFoldASCII changes: upper-case letters, \v and \x1c-\x1f.
func asciiFoldMask(w uint64) uint64 {
	return asciiBetween(w, 'A', 'Z') | asciiBetween(w, '\v', '\v') | asciiBetween(w, 0x1c, 0x1f)
}

// asciiFold8 applies normFoldASCII to each byte of a word of ASCII bytes.
func asciiFold8(w uint64) uint64 {
	upper := asciiBetween(w, 'A', 'Z')
	space := (asciiBetween(w, '\v', '\v') | asciiBetween(w, 0x1c, 0x1f)) >> 7 // 0x01 per byte
	w |= upper >> 2                                                           // sets 0x20: lower case
	return w&^(space*0xff) | space*' '
}

// Orig maps the span [start, end) of n.Text to the span of the original
// string that produced it. The result always lies within the original:
// out-of-range arguments are clamped, and a span that begins or ends inside
// the expansion of one original character is widened to cover the whole of
// that character.
func (n Normalized) Orig(start, end int) (int, int) {
	tl := len(n.Text)
	start = min(max(start, 0), tl)
	end = min(max(end, start), tl)
	if n.offs == nil {
		return min(start, n.origLen), min(end, n.origLen)
	}
	os := int(n.offs[start])
	if end == start {
		return os, os
	}
	base := n.offs[end-1]
	j := end
	for j < tl && n.offs[j] == base {
		j++
	}
	return os, int(n.offs[j])
}

// OrigLen is the length in bytes of the string n was made from.
func (n Normalized) OrigLen() int { return n.origLen }

// normFoldASCII lower-cases an ASCII letter and maps the ASCII spaces that RE2's
// \s does not match (\v and the information separators) to ' '.
func normFoldASCII(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	case c == '\v' || (0x1c <= c && c <= 0x1f):
		return ' '
	}
	return c
}

// normRemovable reports whether r is dropped before matching: format
// characters (zero-width, bidirectional controls, soft hyphen, tags, ...),
// variation selectors and the invisible fillers.
func normRemovable(r rune) bool {
	switch {
	case r < 0xAD:
		return false
	case r == 0xAD, r == 0x34F, r == 0x61C, r == 0x115F, r == 0x1160, r == 0x17B4, r == 0x17B5,
		r == 0x180B, r == 0x180C, r == 0x180D, r == 0x180E, r == 0x180F, r == 0x3164, r == 0xFFA0:
		return true
	case 0x200B <= r && r <= 0x200F, 0x202A <= r && r <= 0x202E, 0x2060 <= r && r <= 0x206F:
		return true
	case 0xFE00 <= r && r <= 0xFE0F, r == 0xFEFF, 0xE0000 <= r && r <= 0xE0FFF:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// normOtherSpace reports whether r is a space that is mapped to ' ' (all
// Unicode white space except tab, newline, carriage return and form feed,
// which RE2's \s already matches, plus the ASCII information separators).
func normOtherSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\r', '\f', ' ':
		return false
	case '\v', 0x1c, 0x1d, 0x1e, 0x1f, 0x85:
		return true
	}
	return r >= 0x80 && (unicode.IsSpace(r) || unicode.Is(unicode.Zs, r))
}

// normConfusable maps a look-alike of a Latin letter to that letter; it returns
// r unchanged when it has no mapping.
func normConfusable(r rune) rune {
	switch r {
	// Cyrillic.
	case 'А', 'а':
		return 'a'
	case 'В', 'в':
		return 'b'
	case 'С', 'с':
		return 'c'
	case 'Е', 'е':
		return 'e'
	case 'Н', 'н', 'һ', 'Һ':
		return 'h'
	case 'І', 'і', 'Ӏ':
		return 'i'
	case 'ӏ':
		return 'l'
	case 'Ј', 'ј':
		return 'j'
	case 'К', 'к':
		return 'k'
	case 'М', 'м':
		return 'm'
	case 'О', 'о':
		return 'o'
	case 'Р', 'р':
		return 'p'
	case 'Ѕ', 'ѕ':
		return 's'
	case 'Т', 'т':
		return 't'
	case 'Х', 'х':
		return 'x'
	case 'У', 'у', 'Ү', 'ү':
		return 'y'
	case 'Ԁ', 'ԁ':
		return 'd'
	case 'Ԛ', 'ԛ':
		return 'q'
	case 'Ԝ', 'ԝ':
		return 'w'
	case 'Ѵ', 'ѵ':
		return 'v'
	// Greek.
	case 'Α', 'α':
		return 'a'
	case 'Β':
		return 'b'
	case 'Ε':
		return 'e'
	case 'Ζ':
		return 'z'
	case 'Η':
		return 'h'
	case 'Ι', 'ι':
		return 'i'
	case 'Κ', 'κ':
		return 'k'
	case 'Μ':
		return 'm'
	case 'Ν':
		return 'n'
	case 'ν':
		return 'v'
	case 'Ο', 'ο':
		return 'o'
	case 'Ρ', 'ρ':
		return 'p'
	case 'Τ':
		return 't'
	case 'Υ', 'υ':
		return 'u'
	case 'Χ', 'χ':
		return 'x'
	case 'Ϲ', 'ϲ':
		return 'c'
	case 'Ϳ', 'ϳ':
		return 'j'
	// Armenian.
	case 'օ':
		return 'o'
	case 'ս':
		return 'u'
	case 'հ':
		return 'h'
	case 'ո':
		return 'n'
	case 'ց':
		return 'g'
	// Latin look-alikes outside ASCII.
	case 'ɑ':
		return 'a'
	case 'ɡ':
		return 'g'
	case 'ǀ':
		return 'l'
	case 'ı':
		return 'i'
	}
	return r
}

// normAppendFolded appends the full case folding of r.
func normAppendFolded(b []byte, r rune) []byte {
	switch r {
	case 'ß', 'ẞ':
		return append(b, 's', 's')
	case 'İ', 'ı':
		return append(b, 'i')
	case 'ſ':
		return append(b, 's')
	case 0x212A: // KELVIN SIGN
		return append(b, 'k')
	case 0x212B: // ANGSTROM SIGN
		return utf8.AppendRune(b, 'å')
	case 'ς':
		return utf8.AppendRune(b, 'σ')
	}
	if r < utf8.RuneSelf {
		return append(b, normFoldASCII(byte(r)))
	}
	return utf8.AppendRune(b, unicode.ToLower(r))
}

// normMapSegment applies look-alike mapping, case folding, removal and space
// mapping to one NFKC segment, appending to dst.
func normMapSegment(dst, seg []byte) []byte {
	for len(seg) > 0 {
		r, n := utf8.DecodeRune(seg)
		seg = seg[n:]
		switch {
		case normRemovable(r):
		case normOtherSpace(r):
			dst = append(dst, ' ')
		default:
			dst = normAppendFolded(dst, normConfusable(r))
		}
	}
	return dst
}

// normalizeSlowPath handles input containing non-ASCII bytes. Every ASCII
// byte is a normalisation boundary (a starter that composes with nothing
// before it), so the text is split there: an ASCII byte followed by another
// ASCII byte (or the end) is folded directly, and only the pieces that hold
// non-ASCII text, each with the ASCII byte before it, go through NFKC. The
// result is the same as normalising the whole text at once (see
// TestNormalizePiecewiseExact) at a fraction of the cost on mostly-ASCII
// text.
func normalizeSlowPath(s string, buf *normBuf) Normalized {
	var out []byte
	var offs []int32
	var sc *normScratch // made when a piece needs NFKC
	var memo runeMemo
	if buf != nil {
		out = slices.Grow(buf.out[:0], len(s)+len(s)/8)
		offs = slices.Grow(buf.offs[:0], cap(out)+1)
		sc = &buf.sc
	} else {
		out = make([]byte, 0, len(s)+len(s)/8)
		offs = make([]int32, 0, cap(out)+1)
	}
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf && memo.boundaryAt(s, i+1) {
			// A run of ASCII bytes, each followed by a boundary: fold it in
			// bulk.
			j := i + 1
			for j+8 <= len(s) && load64(s[j:j+8])&asciiHighs == 0 {
				j += 8
			}
			for j < len(s) && s[j] < utf8.RuneSelf {
				j++
			}
			if j < len(s) && !memo.boundaryAt(s, j) {
				j-- // the last ASCII byte goes with what follows
			}
			out, offs = normAppendASCII(out, offs, s[i:j], i)
			i = j
			continue
		}
		if n := memo.plainRune(s, i); n > 0 && memo.boundaryAt(s, i+n) {
			// A character that every step leaves unchanged.
			out = append(out, s[i:i+n]...)
			for range n {
				offs = append(offs, int32(i))
			}
			i += n
			continue
		}
		// A piece up to the next boundary goes through NFKC.
		j := i + 1
		for j < len(s) && !memo.boundaryAt(s, j) {
			j++
		}
		if sc == nil {
			sc = new(normScratch)
		}
		out, offs = sc.piece(out, offs, s, i, j)
		i = j
	}
	offs = append(offs, int32(len(s)))
	if buf != nil {
		buf.out, buf.offs = out, offs
	}
	return Normalized{Text: string(out), offs: offs, origLen: len(s)}
}

// normAppendASCII appends the folded bytes of the ASCII text run, which
// starts at offset at in the original, and their offsets; eight bytes at
// a time as Normalize's fast path.
func normAppendASCII(out []byte, offs []int32, run string, at int) ([]byte, []int32) {
	n := len(out)
	out = slices.Grow(out, len(run))[:n+len(run)]
	offs = slices.Grow(offs, len(run))[:n+len(run)]
	dst, o := out[n:], offs[n:]
	k := 0
	for ; k+8 <= len(run) && k+8 <= len(dst); k += 8 {
		binary.LittleEndian.PutUint64(dst[k:], asciiFold8(load64(run[k:k+8])))
	}
	for ; k < len(run) && k < len(dst); k++ {
		dst[k] = normFoldASCII(run[k])
	}
	v, k := int32(at), 0
	for ; k+4 <= len(o); k += 4 {
		o4 := o[k : k+4 : k+4]
		o4[0], o4[1], o4[2], o4[3] = v, v+1, v+2, v+3
		v += 4
	}
	for ; k < len(o); k++ {
		o[k] = v
		v++
	}
	return out, offs
}

// runeMemo remembers what normPlainRune and normBoundaryAt say of a few
// non-ASCII characters: both depend on the character alone, so one
// repeated through a text (a bullet, a typographic quote, an accented
// letter) is looked up in the Unicode tables once. Direct-mapped by the
// character's low bits.
type runeMemo [32]struct {
	r     rune // 0: empty (never a non-ASCII character)
	plain int8 // normPlainRune
	bound bool // normBoundaryAt
}

// entry returns the memo of the valid character of two bytes or more at
// s[i], filling it if needed; ok is false for anything else (an invalid
// sequence, U+FFFD), which the callers then pass to the tables directly.
func (m *runeMemo) entry(s string, i int) (plain int, bound, ok bool) {
	if i >= len(s) || s[i] < 0xC2 {
		return 0, false, false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError {
		return 0, false, false
	}
	e := &m[r&31]
	if e.r != r {
		e.r, e.plain, e.bound = r, int8(normPlainRune(s, i)), normBoundaryAt(s, i)
	}
	return int(e.plain), e.bound, true
}

// boundaryAt is normBoundaryAt through the memo.
func (m *runeMemo) boundaryAt(s string, i int) bool {
	if _, b, ok := m.entry(s, i); ok {
		return b
	}
	return normBoundaryAt(s, i)
}

// plainRune is normPlainRune through the memo.
func (m *runeMemo) plainRune(s string, i int) int {
	if p, _, ok := m.entry(s, i); ok {
		return p
	}
	return normPlainRune(s, i)
}

// normBoundaryAt reports whether s[i:] starts where nothing before it can
// change under normalisation: the end, an ASCII byte, or a character that
// NFKC never composes with what precedes it, nor its decomposition does,
// and that is not removed (a
// removed character would bring its neighbours together).
func normBoundaryAt(s string, i int) bool {
	if i >= len(s) || s[i] < utf8.RuneSelf {
		return true
	}
	if s[i] < 0xC2 { // a continuation or invalid byte
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError || normRemovable(r) {
		return false
	}
	p := norm.NFKC.PropertiesString(s[i:])
	if !p.BoundaryBefore() {
		return false
	}
	// A compatibility character can decompose to one that combines
	// backward (U+3161 HANGUL LETTER EU becomes the vowel jamo U+1173),
	// and NFKC then joins it to what precedes it.
	if d := p.Decomposition(); len(d) > 0 {
		return norm.NFKC.Properties(d).BoundaryBefore()
	}
	return true
}

// normPlainRune returns the length of the character at s[i] if every step
// of normalisation leaves it as it is (no decomposition, composition,
// removal, space mapping, look-alike mapping or case change), else 0.
func normPlainRune(s string, i int) int {
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError || normRemovable(r) || normOtherSpace(r) {
		return 0
	}
	p := norm.NFKC.PropertiesString(s[i:])
	if !p.BoundaryBefore() || !p.BoundaryAfter() || len(p.Decomposition()) > 0 {
		return 0
	}
	var buf [utf8.UTFMax * 2]byte
	if string(normAppendFolded(buf[:0], normConfusable(r))) != s[i:i+n] {
		return 0
	}
	return n
}

// normScratch holds the buffers of the NFKC path, reused across the pieces
// of one call.
type normScratch struct {
	clean           []byte
	cmap            []int32
	tmp, tmp2, tmp3 []byte
	it              norm.Iter
}

// piece normalises s[i:j], appending the text to out and, per output byte,
// the offset in s of the segment that produced it.
func (sc *normScratch) piece(out []byte, offs []int32, s string, i, j int) ([]byte, []int32) {
	// Drop invisible characters and map spaces, keeping a map from the
	// cleaned bytes to the original.
	clean, cmap := sc.clean[:0], sc.cmap[:0]
	for k := i; k < j; {
		c := s[k]
		if c < utf8.RuneSelf {
			clean = append(clean, c)
			cmap = append(cmap, int32(k))
			k++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[k:j])
		switch {
		case normRemovable(r):
		case normOtherSpace(r):
			clean = append(clean, ' ')
			cmap = append(cmap, int32(k))
		default:
			before := len(clean)
			clean = utf8.AppendRune(clean, r) // invalid bytes become U+FFFD
			for range len(clean) - before {
				cmap = append(cmap, int32(k))
			}
		}
		k += n
	}
	sc.clean, sc.cmap = clean, cmap
	if len(clean) == 0 {
		return out, offs
	}
	// NFKC segment by segment, then look-alikes and folding; a segment
	// whose mapping changed non-ASCII text is normalised again until it is
	// stable, so that Text is a fixed point of Normalize.
	it := &sc.it
	it.Init(norm.NFKC, clean)
	for !it.Done() {
		p0 := it.Pos()
		seg := it.Next()
		o := cmap[p0]
		if len(seg) == 1 && seg[0] < utf8.RuneSelf {
			out = append(out, normFoldASCII(seg[0]))
			offs = append(offs, o)
			continue
		}
		sc.tmp = normMapSegment(sc.tmp[:0], seg)
		for range 4 {
			if normIsASCII(sc.tmp) {
				break
			}
			sc.tmp3 = norm.NFKC.Append(sc.tmp3[:0], sc.tmp...)
			sc.tmp2 = normMapSegment(sc.tmp2[:0], sc.tmp3)
			if string(sc.tmp2) == string(sc.tmp) {
				break
			}
			sc.tmp, sc.tmp2 = sc.tmp2, sc.tmp
		}
		out = append(out, sc.tmp...)
		for range sc.tmp {
			offs = append(offs, o)
		}
	}
	return out, offs
}

func normIsASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
