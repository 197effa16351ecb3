package detect

import (
	"context"
	"testing"
)

// TestZeroAllocCleanPaths checks the scans that must not allocate on
// clean input: PII and secrets over ordinary prose and code, and the
// literal prefilter itself.
func TestZeroAllocCleanPaths(t *testing.T) {
	ctx := context.Background()
	clean := cleanText(4 << 10)
	p := NewPII(PIIOptions{})
	if n := testing.AllocsPerRun(20, func() { _, _ = p.Scan(ctx, clean) }); n != 0 {
		t.Errorf("PII scan of clean input: %v allocations, want 0", n)
	}
	ls := newLiteralSet([]string{"AKIA", "token"}, []bool{false, true})
	if n := testing.AllocsPerRun(20, func() { _ = ls.contains(clean) }); n != 0 {
		t.Errorf("literal prefilter: %v allocations, want 0", n)
	}
	s := NewSecrets(SecretsOptions{})
	plain := "The agent reads the configuration file and calls the tool with its arguments.\n"
	if n := testing.AllocsPerRun(20, func() { _, _ = s.Scan(ctx, plain) }); n != 0 {
		t.Errorf("secrets scan of input without anchors: %v allocations, want 0", n)
	}
}
