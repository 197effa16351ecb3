package detect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

type litHit struct{ lit, start int }

// naiveHits finds every occurrence of every literal by brute force.
func naiveHits(lits []string, fold []bool, s string) []litHit {
	var out []litHit
	for end := 1; end <= len(s); end++ {
		for li, l := range lits {
			if l == "" || len(l) > end {
				continue
			}
			w := s[end-len(l) : end]
			if w == l || (fold[li] && strings.EqualFold(w, l) && isASCIIString(w)) {
				out = append(out, litHit{li, end - len(l)})
			}
		}
	}
	return out
}

func sortHits(h []litHit) {
	slices.SortFunc(h, func(a, b litHit) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return a.lit - b.lit
	})
}

func TestLiteralSetMatchesNaive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lits  []string
		fold  []bool
		input string
	}{
		{"overlapping suffixes", []string{"he", "she", "his", "hers"}, []bool{false, false, false, false}, "ushers and his shes"},
		{"folded", []string{"token", "secret", "AKIA"}, []bool{true, true, false}, "TOKEN Secret akia AKIA toKen"},
		{"exact only", []string{"AC", "SK"}, []bool{false, false}, "ACK ack Ac SKIP sk"},
		{"self overlap", []string{"aa", "aaa"}, []bool{false, true}, "aaaaAAaa"},
		{"empty input", []string{"x"}, []bool{false}, ""},
		{"non-ascii", []string{"é", "ab"}, []bool{false, true}, "éAbÉab"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ls := newLiteralSet(tc.lits, tc.fold)
			var got []litHit
			ls.each(tc.input, func(l, s int) bool { got = append(got, litHit{l, s}); return true })
			want := naiveHits(tc.lits, tc.fold, tc.input)
			sortHits(got)
			sortHits(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestLiteralSetRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	alpha := "abAB-_:"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	for range 200 {
		n := 1 + r.IntN(8)
		lits := make([]string, n)
		fold := make([]bool, n)
		for i := range lits {
			lits[i] = word(1 + r.IntN(4))
			fold[i] = r.IntN(2) == 0
		}
		input := word(r.IntN(64))
		ls := newLiteralSet(lits, fold)
		var got []litHit
		ls.each(input, func(l, s int) bool { got = append(got, litHit{l, s}); return true })
		want := naiveHits(lits, fold, input)
		sortHits(got)
		sortHits(want)
		if !slices.Equal(got, want) {
			t.Fatalf("lits %q fold %v input %q: got %v, want %v", lits, fold, input, got, want)
		}
		if ls.contains(input) != (len(want) > 0) {
			t.Fatalf("contains(%q) = %v, want %v", input, !(len(want) > 0), len(want) > 0)
		}
	}
}

func FuzzLiteralSet(f *testing.F) {
	f.Add("token=AKIAxxxx secret", "token", "AKIA")
	f.Add("ushers", "he", "hers")
	f.Fuzz(func(t *testing.T, input, a, b string) {
		lits := []string{a, b, strings.ToUpper(a)}
		fold := []bool{true, false, false}
		ls := newLiteralSet(lits, fold)
		var got []litHit
		ls.each(input, func(l, s int) bool { got = append(got, litHit{l, s}); return true })
		want := naiveHits(lits, fold, input)
		sortHits(got)
		sortHits(want)
		if !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}
