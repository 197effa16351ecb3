package injtrain

import (
	"math/rand/v2"
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

// TestGeneratedTextFilled checks that every {slot} of the task and
// ordinary-data templates has a pool: generated text keeps no braces.
func TestGeneratedTextFilled(t *testing.T) {
	t.Parallel()
	g := &dataGen{rng: rand.New(rand.NewPCG(1, 2))}
	gens := map[string]func() string{
		"familyTask": g.familyTask, "task": g.task, "ordinaryDoc": g.ordinaryDoc, "longTable": g.longTable,
		"longAnswer": g.longAnswer, "notice": g.notice, "readme": g.readme, "notes": g.notes,
	}
	for kind := range ordinaryTemplates {
		gens["sentences/"+kind] = func() string { return strings.Join(g.sentences(kind, 3), " ") }
	}
	for name, gen := range gens {
		for range 3000 {
			if s := gen(); strings.ContainsAny(s, "{}") || s == "" {
				t.Fatalf("%s generated %q: empty or an unfilled slot", name, s)
			}
		}
	}
	for _, f := range taskFamilies {
		for _, o := range f.objects {
			for _, slot := range slotNames(o) {
				if _, ok := taskSlots[slot]; !ok {
					t.Errorf("task object %q: no pool for {%s}", o, slot)
				}
			}
		}
	}
}

// slotNames returns the {slot} names in s.
func slotNames(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s[max(i, 0):], '}')
		if i < 0 || j < 0 {
			return out
		}
		out = append(out, s[i+1:i+j])
		s = s[i+j+1:]
	}
}

// TestLoadOrdinary checks the ordinary rows: every file gives rows, none
// is held out or labelled malicious, the prompt head never sees them, the
// evaluation judges them as data, and tldr rows are whole pages.
func TestLoadOrdinary(t *testing.T) {
	t.Parallel()
	dir := corpora(t)
	ord, err := LoadOrdinary(dir)
	if err != nil {
		t.Fatal(err)
	}
	perFile := map[string]int{}
	for _, r := range ord {
		perFile[r.File]++
		if !r.Ordinary || r.Malicious() || HeldOut(r) || EvalChannel(r) != "data" || r.Text == "" || len(r.Text) > maxOrdinaryText+(2<<10) {
			t.Fatalf("ordinary row %+v: want ordinary, benign, in training, judged as data, with text of bounded size", r)
		}
		if r.File == "tldr_commands.jsonl" && (!strings.HasPrefix(r.Text, "# ") || !strings.Contains(r.Text, "\n- ")) {
			t.Fatalf("tldr row %q is not a page", r.Text)
		}
	}
	for _, name := range OrdinaryFiles {
		if perFile[filepath.Base(name)] == 0 {
			t.Errorf("no ordinary rows from %s", name)
		}
	}
	if ex := Examples(ord); len(ex) != 0 {
		t.Errorf("Examples(ordinary rows) = %d prompt-head examples, want 0", len(ex))
	}
	all, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	inj, err := LoadInjection(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(inj)+len(ord) {
		t.Errorf("Load = %d rows, want %d injection + %d ordinary", len(all), len(inj), len(ord))
	}
}
