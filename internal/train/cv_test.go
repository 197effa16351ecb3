package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/train/injtrain"
)

// TestWriteSweep checks the channel-aware verdict of the cross-validation
// and the rows of its threshold sweep on a handful of scored rows.
func TestWriteSweep(t *testing.T) {
	t.Parallel()
	row := func(cat, label string) injtrain.Row {
		return injtrain.Row{File: "bipia.jsonl", Category: cat, Label: label}
	}
	scores := []cvScore{
		{row: row("text_attack:X", "malicious"), prompt: 0.9, data: 0.1},  // the prompt head finds it
		{row: row("text_attack:Y", "malicious"), prompt: 0.1, data: 0.94}, // only the data head does
		{row: row("code_context", "benign"), prompt: 0.1, data: 0.95},     // a false positive of the data head
		{row: row("table_context", "benign"), prompt: 0.1, data: 0.2},
		{row: row("email_context", "benign"), prompt: 0.1, data: 0.5},
		{row: row("table_question", "benign"), prompt: 0.1, data: 0.99}, // a prompt: the data head does not run
	}
	tests := []struct {
		name     string
		c        cvScore
		dataTh   float64
		flagged  bool
		sweepRow string // the sweep's row for dataTh starts with this
	}{
		{"prompt head", scores[0], 0.9, true, "| 0.90 | 100.00% (2/2) | 100.00% (2/2) | 100.00% (1/1) | 25.00% (1/4) | 33.33% (1/3) | 50.00% (1/2) | code_context 1; |"},
		{"data head", scores[1], 0.95, false, "| 0.95 | 50.00% (1/2) | 50.00% (1/2) | 0.00% (0/1) | 25.00% (1/4) | 33.33% (1/3) | 0.00% (0/2) | code_context 1; |"},
		{"question as a prompt", scores[5], 0.5, false, "| 0.50 | 100.00% (2/2) | 100.00% (2/2) | 100.00% (1/1) | 50.00% (2/4) | 66.67% (2/3) | 50.00% (1/2) | code_context 1; email_context 1; |"},
	}
	planted := []cvScore{{prompt: 0.1, data: 0.92}, {prompt: 0.1, data: 0.3}}
	var out bytes.Buffer
	writeSweep(&out, scores, planted, 0.7)
	for _, tt := range tests {
		if got := tt.c.flagged(0.7, tt.dataTh); got != tt.flagged {
			t.Errorf("%s: flagged(0.7, %.2f) = %v, want %v", tt.name, tt.dataTh, got, tt.flagged)
		}
		if !strings.Contains(out.String(), tt.sweepRow) {
			t.Errorf("%s: sweep has no row %q:\n%s", tt.name, tt.sweepRow, out.String())
		}
	}
}
