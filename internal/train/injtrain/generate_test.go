package injtrain

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode"
)

// corpora locates ../shared/corpora relative to the module root, or skips.
func corpora(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "corpora")
	if _, err := os.Stat(filepath.Join(dir, "injection")); err != nil {
		t.Skipf("labelled corpora not found at %s: %v", dir, err)
	}
	return dir
}

// words lower-cases s and splits it into runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// shingles returns the runs of n consecutive words of s.
func shingles(s string, n int) []string {
	w := words(s)
	var out []string
	for i := 0; i+n <= len(w); i++ {
		out = append(out, strings.Join(w[i:i+n], " "))
	}
	return out
}

// TestGeneratedDisjointFromHeldOut checks that the synthetic data of both
// heads neither contains a held-out row nor shares a run of eight words with
// one: the generator is written from parts, not from the evaluation rows.
func TestGeneratedDisjointFromHeldOut(t *testing.T) {
	t.Parallel()
	rows, err := Load(corpora(t))
	if err != nil {
		t.Fatal(err)
	}
	_, held := Split(rows)
	heldShingles := map[string]string{}
	for _, r := range held {
		for _, s := range shingles(r.Text, 8) {
			heldShingles[s] = r.Text
		}
	}
	// With no corpus rows, DataExamples returns only generated text (the
	// corpus part plants training rows in training rows, which may share
	// table rows and code with held-out rows of the same source).
	var generated []string
	for _, ex := range Generate(Seed) {
		generated = append(generated, ex.Text)
	}
	for _, ex := range DataExamples(nil, Seed) {
		generated = append(generated, ex.Text)
	}
	if len(generated) < 10000 {
		t.Fatalf("only %d generated examples", len(generated))
	}
	seen := map[string]bool{}
	for _, g := range generated {
		for _, r := range held {
			if len(r.Text) >= 20 && strings.Contains(g, r.Text) {
				t.Fatalf("generated text contains the held-out row %q", r.Text)
			}
		}
		for _, s := range shingles(g, 8) {
			if row, ok := heldShingles[s]; ok && !seen[s] {
				seen[s] = true
				t.Errorf("generated text shares %q with the held-out row %q", s, row)
			}
		}
	}
}

// TestDataExamplesUseTrainingRowsOnly checks that the data head sees no
// held-out row, in whole or planted, and that generation is deterministic.
func TestDataExamplesUseTrainingRowsOnly(t *testing.T) {
	t.Parallel()
	rows, err := Load(corpora(t))
	if err != nil {
		t.Fatal(err)
	}
	train, held := Split(rows)
	ex := DataExamples(train, Seed)
	again := DataExamples(train, Seed)
	if len(ex) != len(again) {
		t.Fatalf("DataExamples is not deterministic: %d and %d examples", len(ex), len(again))
	}
	var pos, neg int
	for i := range ex {
		if ex[i] != again[i] {
			t.Fatalf("DataExamples is not deterministic at %d", i)
		}
		if ex[i].Injection {
			pos++
		} else {
			neg++
		}
	}
	if pos < 1000 || neg < 1000 {
		t.Errorf("DataExamples: %d positives, %d negatives; want both >= 1000", pos, neg)
	}
	for _, r := range held {
		if len(r.Text) < 40 {
			continue
		}
		for _, e := range ex {
			if strings.Contains(e.Text, r.Text) {
				t.Fatalf("a data-head example contains the held-out row %q", r.Text[:40])
			}
		}
	}
}

func TestEvalChannel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    Row
		want string
	}{
		{Row{File: "bipia.jsonl", Category: "email_question"}, "prompt"},
		{Row{File: "bipia.jsonl", Category: "table_context"}, "data"},
		{Row{File: "bipia.jsonl", Category: "text_attack:Reverse Text"}, "data"},
		{Row{File: "wildguard_benign.jsonl", Category: "wildguard_benign"}, "prompt"},
	}
	for _, tt := range tests {
		if got := EvalChannel(tt.r); string(got) != tt.want {
			t.Errorf("EvalChannel(%s %s) = %s, want %s", tt.r.File, tt.r.Category, got, tt.want)
		}
	}
}
