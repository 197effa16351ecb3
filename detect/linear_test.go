package detect

import (
	"context"
	"strings"
	"testing"
)

// adversarialRepeats are inputs built by repeating a unit that starts a
// match, or a statement, over and over: the shapes that make a careless
// scanner quadratic.
var adversarialRepeats = []struct{ name, unit string }{
	{"sql-delete", "\ndelete"},
	{"sql-delete-from", "\ndelete from t "},
	{"sql-select", "\nselect"},
	{"pem-begin", "-----BEGIN "},
	{"pem-begin-label", "-----BEGIN RSA PRIVATE KEY-----\n"},
	{"jwt-prefix", "eyJ"},
	{"jwt-dotted", "eyJhbGciOiJIUzI1NiJ9."},
	{"aws", "AKIA"},
	{"aws-full", "AKIAABCDEFGHIJKLMNOP "},
	{"password-assign", "password="},
	{"password-value", "password=\"a8Zq!x9Lm2\" "},
	{"url-scheme", "a://"},
	{"html-comment", "<!--"},
	{"zero-width", "\u200b\u200c\u200d"},
	{"quote", "'"},
	{"basic", "Basic "},
	{"token-word", "token "},
	{"injection-phrase", "you are now "},
	{"injection-literal-run", "now"},
	{"injection-boundary", "rot13rot13"},
	{"injection-line", "---\n"},
	{"injection-any", "as i mentioned before "},
}

// workRatio returns work(2n)/work(n) for the unit repeated to about n and
// 2n bytes.
func workRatio(t *testing.T, unit string, n int, work func(string) int64) float64 {
	t.Helper()
	small := strings.Repeat(unit, n/len(unit))
	big := strings.Repeat(unit, 2*(n/len(unit)))
	ws, wb := work(small), work(big)
	if ws <= 0 {
		t.Fatalf("no work counted for %d bytes", len(small))
	}
	return float64(wb) / float64(ws)
}

// TestLinearWork proves, without timing anything, that each detector's
// work grows linearly: the bytes its matchers and tokenizers examine on an
// adversarial input of 2n bytes are at most about twice those on n bytes.
func TestLinearWork(t *testing.T) {
	t.Parallel()
	const n = 1 << 14
	detectors := []struct {
		name string
		work func(string) int64
	}{
		{"secrets", func(in string) int64 {
			s := NewSecrets(SecretsOptions{})
			s.meter = &workMeter{}
			if _, err := s.Scan(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			return s.meter.load()
		}},
		{"injection", func(in string) int64 {
			d, err := NewInjection(InjectionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			d.meter = &workMeter{}
			if _, err := d.Check(context.Background(), in, nil); err != nil {
				t.Fatal(err)
			}
			return d.meter.load()
		}},
		{"injection-reference", func(in string) int64 {
			d, err := NewInjection(InjectionOptions{DisableModel: true})
			if err != nil {
				t.Fatal(err)
			}
			d.meter = &workMeter{}
			_ = d.Reference(in, nil)
			return d.meter.load()
		}},
		{"dangerous", func(in string) int64 {
			d := NewDangerous(DangerousOptions{})
			d.meter = &workMeter{}
			if _, err := d.Scan(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			return d.meter.load()
		}},
	}
	for _, d := range detectors {
		for _, a := range adversarialRepeats {
			t.Run(d.name+"/"+a.name, func(t *testing.T) {
				t.Parallel()
				if r := workRatio(t, a.unit, n, d.work); r > 2.5 {
					t.Errorf("work ratio for 2n/n bytes is %.2f, want <= 2.5 (linear)", r)
				}
			})
		}
	}
}

// TestSQLWorkBound checks the per-scan tokenizer bound: a text made only of
// statement starts is judged up to the bound and then reported, never
// silently passed.
func TestSQLWorkBound(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("\ndelete", 1<<16)
	fs := analyzeSQL(newSQLVerbSet(), in, nil)
	if len(fs) == 0 {
		t.Fatal("no findings for repeated DELETE statements")
	}
	last := fs[len(fs)-1]
	if last.rule != "sql-analysis-limit" {
		t.Errorf("last finding %q, want sql-analysis-limit", last.rule)
	}
	// Ordinary SQL never reaches the bound.
	script := strings.Repeat("DELETE FROM t WHERE id = 1;\nUPDATE t SET a = 1 WHERE b = 2;\n", 1000)
	for _, f := range analyzeSQL(newSQLVerbSet(), strings.ToLower(script), nil) {
		t.Errorf("unexpected finding %q in a script of bounded statements", f.rule)
	}
}
