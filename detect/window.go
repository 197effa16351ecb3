package detect

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"unicode"
	"unicode/utf8"
)

// windowRegexp runs a regular expression only in windows around the
// occurrences of a literal that every match contains, instead of over the
// whole text. The window around an occurrence is the maximal run of bytes
// that can occur in a match (the expression's byte alphabet), plus one
// character of context on each side so that assertions (^, $, \b) see what
// they would see in the whole text. No match can cross a byte outside the
// alphabet, so every match lies inside one window, and since windows are
// disjoint and tried in order, the first window that matches holds the
// leftmost match of the whole text: the result is exactly that of running
// the expression over the whole text (see TestInjectionWindowsExact). Work
// is linear: each byte is examined by the window scan and by the
// expression at most a constant number of times. It is immutable and safe
// for concurrent use.
type windowRegexp struct {
	re    *regexp.Regexp
	alpha [256]bool
}

func newWindowRegexp(re *regexp.Regexp) (*windowRegexp, error) {
	alpha, err := regexpAlphabet(re.String())
	if err != nil {
		return nil, err
	}
	return &windowRegexp{re: re, alpha: alpha}, nil
}

// regexpAlphabet returns the bytes that can occur in a match of expr: the
// ASCII bytes it names and, if it can match any non-ASCII character (or
// folds case), every byte from 0x80 up.
func regexpAlphabet(expr string) ([256]bool, error) {
	var a [256]bool
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return a, fmt.Errorf("byte alphabet of %q: %w", expr, err)
	}
	high := func() {
		for c := 0x80; c < 0x100; c++ {
			a[c] = true
		}
	}
	addRune := func(r rune, fold bool) {
		rs := []rune{r}
		if fold {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				rs = append(rs, f)
			}
		}
		for _, x := range rs {
			if x < utf8.RuneSelf {
				a[x] = true
			} else {
				high()
			}
		}
	}
	var walk func(re *syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			for _, r := range re.Rune {
				addRune(r, re.Flags&syntax.FoldCase != 0)
			}
		case syntax.OpCharClass:
			for i := 0; i+1 < len(re.Rune); i += 2 {
				lo, hi := re.Rune[i], re.Rune[i+1]
				for c := lo; c <= hi && c < utf8.RuneSelf; c++ {
					a[c] = true
				}
				if hi >= utf8.RuneSelf {
					high()
				}
			}
		case syntax.OpAnyCharNotNL:
			for c := range a {
				a[c] = c != '\n'
			}
		case syntax.OpAnyChar:
			for c := range a {
				a[c] = true
			}
		}
		for _, s := range re.Sub {
			walk(s)
		}
	}
	walk(re)
	return a, nil
}

// find returns the leftmost match of the expression in s, given the
// sorted start positions pos of a literal of length n that every match
// contains. meter, if not nil, counts the bytes examined.
func (w *windowRegexp) find(s string, pos []int32, n int, meter *workMeter) (int, int, bool) {
	done := 0 // windows end before here
	for _, p32 := range pos {
		p := int(p32)
		if p < done {
			continue
		}
		a, b := p, p+n
		for a > done && w.alpha[s[a-1]] {
			a--
		}
		for b < len(s) && w.alpha[s[b]] {
			b++
		}
		ca, cb := a, b
		if ca > 0 {
			_, k := utf8.DecodeLastRuneInString(s[:ca])
			ca -= k
		}
		if cb < len(s) {
			_, k := utf8.DecodeRuneInString(s[cb:])
			cb += k
		}
		meter.add((b - p) + (p - a) + (cb - ca))
		if loc := w.re.FindStringIndex(s[ca:cb]); loc != nil {
			return ca + loc[0], ca + loc[1], true
		}
		done = b
	}
	return 0, 0, false
}

// litSpan is the span [start, end) of one literal occurrence.
type litSpan struct{ start, end int32 }

// matchAround reports whether the expression matches anywhere in s, given
// the spans, sorted by start, of every occurrence of the literals one of
// which each match contains. It tries the window around each occurrence as
// find does, so the answer is that of re.MatchString(s) (see
// TestMCPExtendedWindowsExact). meter, if not nil, counts the bytes
// examined.
func (w *windowRegexp) matchAround(s string, spans []litSpan, meter *workMeter) bool {
	done := 0 // windows end before here
	for _, sp := range spans {
		a, b := int(sp.start), int(sp.end)
		if a < done {
			continue // inside a window already tried
		}
		p := a
		for a > done && w.alpha[s[a-1]] {
			a--
		}
		for b < len(s) && w.alpha[s[b]] {
			b++
		}
		ca, cb := a, b
		if ca > 0 {
			_, k := utf8.DecodeLastRuneInString(s[:ca])
			ca -= k
		}
		if cb < len(s) {
			_, k := utf8.DecodeRuneInString(s[cb:])
			cb += k
		}
		meter.add((b - p) + (p - a) + (cb - ca))
		if w.re.MatchString(s[ca:cb]) {
			return true
		}
		done = b
	}
	return false
}

// literalPositions finds every occurrence of a set of literals in one pass
// and groups the start positions by literal.
type literalPositions struct {
	set *literalSet
	n   int
}

// posScratch is the reusable memory of one positions call.
type posScratch struct {
	hits  []int64 // literal<<32 | start
	out   [][]int32
	count []int
	flat  []int32
}

// positions returns, per literal, the sorted start positions of its
// occurrences in s, in memory owned by sc (valid until sc is reused).
func (lp *literalPositions) positions(sc *posScratch, s string, meter *workMeter) [][]int32 {
	meter.add(len(s))
	hits := sc.hits[:0]
	lp.set.each(s, func(lit, start int) bool {
		hits = append(hits, int64(lit)<<32|int64(start))
		return true
	})
	sc.hits = hits
	out := slices.Grow(sc.out[:0], lp.n)[:lp.n]
	clear(out)
	sc.out = out
	if len(hits) == 0 {
		return out
	}
	count := slices.Grow(sc.count[:0], 2*lp.n+1)[:2*lp.n+1]
	clear(count)
	sc.count = count
	fill := count[lp.n+1:]
	count = count[:lp.n+1]
	for _, h := range hits {
		count[h>>32+1]++
	}
	for i := 1; i <= lp.n; i++ {
		count[i] += count[i-1]
	}
	copy(fill, count[:lp.n])
	flat := slices.Grow(sc.flat[:0], len(hits))[:len(hits)]
	sc.flat = flat
	for _, h := range hits { // in order of end, hence of start per literal
		l := h >> 32
		flat[fill[l]] = int32(h)
		fill[l]++
	}
	for i := range out {
		out[i] = flat[count[i]:count[i+1]:count[i+1]]
	}
	return out
}
