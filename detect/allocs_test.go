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

// TestInjectionCheckAllocs checks that Check of 1 KiB of real e-mail text
// (non-ASCII, so the normalised copy is made) allocates once, the
// normalised text, in the prompt channel where the verdict is clean; and
// that plain lower-case ASCII is checked without allocating.
func TestInjectionCheckAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so the count is meaningless under -race")
	}
	d, err := NewInjection(InjectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	email := concatRows(loadJSONLTexts(t, benignSamplePath, true), 1<<10)
	plain := "the quarterly report is attached; please review the figures and reply by friday.\n"
	for _, tt := range []struct {
		name string
		in   string
		want float64
	}{
		{"e-mail", email, 1},
		{"plain ascii", plain, 0},
	} {
		if v, err := d.Check(ctx, tt.in, nil); err != nil || v.Injection {
			t.Fatalf("Check(%s) = %v, %v; want a clean verdict", tt.name, v.Injection, err)
		}
		if n := testing.AllocsPerRun(50, func() { _, _ = d.Check(ctx, tt.in, nil) }); n > tt.want {
			t.Errorf("Check(%s): %v allocations, want at most %v", tt.name, n, tt.want)
		}
	}
}
