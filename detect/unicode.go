package detect

import (
	"unicode"
	"unicode/utf8"
)

// This file holds the character tables the MCP definition and response
// scanners share: invisible and bidirectional characters, the whitespace
// and word classes of the reference's regular-expression dialect, and a
// cheap case fold that matches the reference's IGNORECASE on ASCII patterns.

// invisibleClass is one class of invisible characters, reported with the
// reference's pattern source.
type invisibleClass struct {
	pattern string // the reference's pattern source, or our own name
	table   *unicode.RangeTable
}

// referenceInvisibleClasses are the reference scanner's five classes, in
// its order; only the first class that occurs is reported.
var referenceInvisibleClasses = [...]invisibleClass{
	{`[\u200b\u200c\u200d\ufeff]`, &unicode.RangeTable{R16: []unicode.Range16{
		{Lo: 0x200b, Hi: 0x200d, Stride: 1}, {Lo: 0xfeff, Hi: 0xfeff, Stride: 1}}}},
	{`[\u202a-\u202e]`, &unicode.RangeTable{R16: []unicode.Range16{{Lo: 0x202a, Hi: 0x202e, Stride: 1}}}},
	{`[\u2066-\u2069]`, &unicode.RangeTable{R16: []unicode.Range16{{Lo: 0x2066, Hi: 0x2069, Stride: 1}}}},
	{`[\u00ad]`, &unicode.RangeTable{R16: []unicode.Range16{{Lo: 0x00ad, Hi: 0x00ad, Stride: 1}}, LatinOffset: 1}},
	{`[\u2060\u180e]`, &unicode.RangeTable{R16: []unicode.Range16{
		{Lo: 0x180e, Hi: 0x180e, Stride: 1}, {Lo: 0x2060, Hi: 0x2060, Stride: 1}}}},
}

// extraInvisiblePattern names the class of invisible characters the
// reference does not look for.
const extraInvisiblePattern = "invisible-format-characters"

// extraInvisible holds invisible or direction-changing characters the
// reference misses: tag characters (U+E0000–U+E007F, used to smuggle ASCII
// text that renders as nothing), LRM/RLM/ALM, invisible operators, the
// combining grapheme joiner, Hangul and Khmer fillers, musical-notation
// formatting characters and the interlinear annotation controls.
var extraInvisible = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x034f, Hi: 0x034f, Stride: 1},
		{Lo: 0x061c, Hi: 0x061c, Stride: 1},
		{Lo: 0x115f, Hi: 0x1160, Stride: 1},
		{Lo: 0x17b4, Hi: 0x17b5, Stride: 1},
		{Lo: 0x200e, Hi: 0x200f, Stride: 1},
		{Lo: 0x2061, Hi: 0x2064, Stride: 1},
		{Lo: 0x206a, Hi: 0x206f, Stride: 1},
		{Lo: 0x3164, Hi: 0x3164, Stride: 1},
		{Lo: 0xffa0, Hi: 0xffa0, Stride: 1},
		{Lo: 0xfff9, Hi: 0xfffb, Stride: 1},
	},
	R32: []unicode.Range32{
		{Lo: 0x1d173, Hi: 0x1d17a, Stride: 1},
		{Lo: 0xe0000, Hi: 0xe007f, Stride: 1},
	},
}

// isTagChar reports whether r is a Unicode tag character, which can carry
// a hidden ASCII message (U+E0020–U+E007E mirror ASCII).
func isTagChar(r rune) bool { return r >= 0xe0000 && r <= 0xe007f }

// findInvisible returns the first reference class that occurs in s and the
// first character of that class; with extra set it then looks for the
// characters the reference misses. ok is false when s has none. It runs in
// one pass per class, only over non-ASCII text.
func findInvisible(s string, extra bool) (pattern string, ch rune, ok bool) {
	if isASCIIString(s) {
		return "", 0, false
	}
	for i := range referenceInvisibleClasses {
		c := &referenceInvisibleClasses[i]
		for _, r := range s {
			if r >= 0xad && unicode.Is(c.table, r) {
				return c.pattern, r, true
			}
		}
	}
	if extra {
		for _, r := range s {
			if r >= 0x300 && unicode.Is(extraInvisible, r) {
				return extraInvisiblePattern, r, true
			}
		}
	}
	return "", 0, false
}

// decodeTagText returns the ASCII text carried by tag characters in s
// (U+E0020–U+E007E map to ASCII 0x20–0x7E), at most max bytes.
func decodeTagText(s string, max int) string {
	var b []byte
	for _, r := range s {
		if r >= 0xe0020 && r <= 0xe007e {
			b = append(b, byte(r-0xe0000))
			if len(b) >= max {
				break
			}
		}
	}
	return string(b)
}

// isASCIIString reports whether s has only ASCII bytes.
func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// wordBoundaryBefore reports whether a reference-dialect \b holds at byte
// offset i of s given that s[i] starts a word character: the character
// before i must not be a word character.
func wordBoundaryBefore(s string, i int) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return !isPyWord(r)
}

// wordBoundaryAfter reports whether a reference-dialect \b holds at byte
// offset i of s given that s[i-1] ends a word character.
func wordBoundaryAfter(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return !isPyWord(r)
}

// foldInto appends to dst a copy of s in which ASCII letters are lower
// case and the four non-ASCII letters that the reference's IGNORECASE
// matches against ASCII pattern letters are replaced by them: dotless ı
// and dotted İ become i, long ſ becomes s and the Kelvin sign K becomes k.
// Everything else is kept, so a pattern compiled without (?i) on the
// folded copy behaves like the reference's case-insensitive pattern. The
// folded copy may be shorter than s; its offsets are not s's.
func foldInto(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch r {
			case 'ı', 'İ':
				dst = append(dst, 'i')
			case 'ſ':
				dst = append(dst, 's')
			case '\u212a':
				dst = append(dst, 'k')
			default:
				dst = append(dst, s[i:i+n]...)
			}
			i += n - 1
		}
	}
	return dst
}

// plainASCII reports whether s is ASCII and free of \v and the information
// separators \x1c-\x1f: text on which foldInto, Normalize and
// strings.ToLower agree (each only lower-cases the ASCII letters). It
// tests eight bytes at a time.
func plainASCII(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// hasZero reports whether a byte of v is zero.
	hasZero := func(v uint64) bool { return (v-ones)&^v&highs != 0 }
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s[i : i+8])
		if w&highs != 0 || hasZero(w^0x0b*ones) || hasZero(w&(0xfc*ones)^0x1c*ones) {
			return false
		}
	}
	return isASCIIString(s[i:]) && plainControls(s[i:])
}

// plainControls reports whether ASCII text s has no \v and no byte in
// \x1c-\x1f.
func plainControls(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\v' || 0x1c <= c && c <= 0x1f {
			return false
		}
	}
	return true
}

// load64 returns the first eight bytes of s as a little-endian word (the
// compiler turns it into one load).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
