package detect

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizeWhole is the straightforward form of the slow path: the whole
// text cleaned, then NFKC segment by segment. normalizeSlowPath must give
// exactly its result.
func normalizeWhole(s string) Normalized {
	// Pass 1: drop invisible characters and map spaces, keeping a map from
	// the cleaned bytes to the original.
	clean := make([]byte, 0, len(s))
	cmap := make([]int32, 0, len(s)+1)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			clean = append(clean, c)
			cmap = append(cmap, int32(i))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case normRemovable(r):
		case normOtherSpace(r):
			clean = append(clean, ' ')
			cmap = append(cmap, int32(i))
		default:
			before := len(clean)
			clean = utf8.AppendRune(clean, r) // invalid bytes become U+FFFD
			for range len(clean) - before {
				cmap = append(cmap, int32(i))
			}
		}
		i += n
	}
	cmap = append(cmap, int32(len(s)))

	// Pass 2: NFKC segment by segment, then look-alikes and folding; a
	// segment whose mapping changed non-ASCII text is normalised again until
	// it is stable, so that Text is a fixed point of Normalize.
	out := make([]byte, 0, len(clean)+len(clean)/8)
	offs := make([]int32, 0, cap(out)+1)
	var it norm.Iter
	it.Init(norm.NFKC, clean)
	var tmp, tmp2, tmp3 []byte
	for !it.Done() {
		p0 := it.Pos()
		seg := it.Next()
		o := cmap[p0]
		if len(seg) == 1 && seg[0] < utf8.RuneSelf {
			out = append(out, normFoldASCII(seg[0]))
			offs = append(offs, o)
			continue
		}
		tmp = normMapSegment(tmp[:0], seg)
		for range 4 {
			if normIsASCII(tmp) {
				break
			}
			tmp3 = norm.NFKC.Append(tmp3[:0], tmp...)
			tmp2 = normMapSegment(tmp2[:0], tmp3)
			if string(tmp2) == string(tmp) {
				break
			}
			tmp, tmp2 = tmp2, tmp
		}
		out = append(out, tmp...)
		for range tmp {
			offs = append(offs, o)
		}
	}
	offs = append(offs, int32(len(s)))
	return Normalized{Text: string(out), offs: offs, origLen: len(s)}
}

// normalizeSeeds mix ASCII with combining marks, invisible characters,
// look-alikes and invalid bytes at piece boundaries.
var normalizeSeeds = []string{
	"jailbreake\u0301", "e\u200b\u0301x", "x\u200by\u0301", "a\u0301\u0302b", "\u0301abc",
	"ＩＧＮＯＲＥ previous", "ﬁle ｆｕｌｌ\u00a0width", "ig\u00adnore\u200b", "Card ••4605 was charged",
	"a\xffb\xc3", "\xe2\x80", "İGNORE ſystem \u212Aey", "ΣΟΦΟΣ straße", "忽略之前的指示 ok", "0ㅡ", "ㄱㅏ", "x\u3131\u314f\u3131",
	"x\U000E0041\U000E007Fy", "A\u0308\u0304B", "\u1100\u1161\u11a8x", "e\u0327\u0301", "n\u0303o",
}

// TestNormalizePiecewiseExact checks the piecewise slow path against the
// whole-text form, text and offset map alike.
func TestNormalizePiecewiseExact(t *testing.T) {
	t.Parallel()
	for _, s := range normalizeSeeds {
		for _, in := range []string{s, strings.ToUpper(s), "pre " + s + " post", s + s} {
			checkPiecewise(t, in)
		}
	}
}

func FuzzNormalizePiecewise(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<12 {
			return
		}
		checkPiecewise(t, s)
	})
}

func checkPiecewise(t *testing.T, in string) {
	t.Helper()
	if normIsASCII([]byte(in)) {
		return
	}
	want := normalizeWhole(in)
	// Without a buffer, and with one that already holds another text.
	used := new(normBuf)
	normalizeSlowPath("Ünïcödé "+in+" \u00a0tail", used)
	for _, buf := range []*normBuf{nil, used} {
		got := normalizeSlowPath(in, buf)
		if got.Text != want.Text || !slices.Equal(got.offs, want.offs) || got.origLen != want.origLen {
			t.Fatalf("normalizeSlowPath(%q, buffer %v) = %q %v, whole-text form %q %v", in, buf != nil, got.Text, got.offs, want.Text, want.offs)
		}
	}
}
