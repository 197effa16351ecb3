package main

import (
	"fmt"
	"sort"
)

// counts is the confusion count of one group of rows.
type counts struct {
	Group  string
	Pos    int // rows labelled positive (malicious, secret, poisoned)
	Neg    int // rows labelled benign
	TP, FP int // flagged positives, flagged benign rows
}

// N is the number of rows.
func (c counts) N() int { return c.Pos + c.Neg }

// TPR is TP/Pos; ok is false when there are no positives.
func (c counts) TPR() (v float64, ok bool) { return frac(c.TP, c.Pos) }

// FPR is FP/Neg; ok is false when there are no benign rows.
func (c counts) FPR() (v float64, ok bool) { return frac(c.FP, c.Neg) }

// Precision is TP/(TP+FP); ok is false when nothing was flagged.
func (c counts) Precision() (v float64, ok bool) { return frac(c.TP, c.TP+c.FP) }

func frac(a, b int) (float64, bool) {
	if b == 0 {
		return 0, false
	}
	return float64(a) / float64(b), true
}

// add counts one row.
func (c *counts) add(positive, flagged bool) {
	switch {
	case positive:
		c.Pos++
		if flagged {
			c.TP++
		}
	default:
		c.Neg++
		if flagged {
			c.FP++
		}
	}
}

// plus returns the sum of two counts (keeping c's group).
func (c counts) plus(o counts) counts {
	c.Pos += o.Pos
	c.Neg += o.Neg
	c.TP += o.TP
	c.FP += o.FP
	return c
}

// tally accumulates counts per group.
type tally map[string]*counts

func (t tally) add(group string, positive, flagged bool) {
	c := t[group]
	if c == nil {
		c = &counts{Group: group}
		t[group] = c
	}
	c.add(positive, flagged)
}

// sorted returns the groups ordered by name.
func (t tally) sorted() []counts {
	out := make([]counts, 0, len(t))
	for _, c := range t {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// total sums every group under the given name.
func (t tally) total(name string) counts {
	s := counts{Group: name}
	for _, c := range t {
		s = s.plus(*c)
	}
	return s
}

// pct formats a rate as a percentage with its fraction, or "—" when it is
// undefined.
func pct(v float64, ok bool, num, den int) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*v, num, den)
}

// pct2 is pct with two decimals, for false-positive rates.
func pct2(v float64, ok bool, num, den int) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f%% (%d/%d)", 100*v, num, den)
}
