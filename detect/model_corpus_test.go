package detect_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/internal/train/injtrain"
)

// corporaDir locates ../shared/corpora relative to the module root.
func corporaDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared", "corpora")
	if _, err := os.Stat(filepath.Join(dir, "injection")); err != nil {
		t.Skipf("labelled corpora not found at %s (they live beside the module in CI): %v", dir, err)
	}
	return dir
}

func logRates(t *testing.T, title string, rates []injtrain.Rate) {
	t.Helper()
	var sb strings.Builder
	injtrain.WriteTable(&sb, rates)
	t.Logf("%s\n%s", title, sb.String())
}

// TestInjectionCorpusHeldOut trains the model on the training split only
// (corpus rows outside the fixed held-out split, plus the synthetic data),
// exactly as the training program does, and measures the combined verdict
// (rules + model, balanced) on the held-out rows, per file and category.
// These are the honest numbers; the floors sit a little below them.
func TestInjectionCorpusHeldOut(t *testing.T) {
	t.Parallel()
	rows, err := injtrain.Load(corporaDir(t))
	if err != nil {
		t.Fatal(err)
	}
	train, held := injtrain.Split(rows)
	m, err := injtrain.Train(t.Context(), train, injtrain.Seed, injtrain.TrainOptions())
	if err != nil {
		t.Fatal(err)
	}
	d, err := detect.NewInjection(detect.InjectionOptions{Model: m})
	if err != nil {
		t.Fatal(err)
	}
	flag := func(s string) bool {
		v, err := d.Check(t.Context(), s, nil)
		return err != nil || v.Injection // fail closed
	}
	files, cats := injtrain.Measure(held, flag)
	logRates(t, "held-out, rules + model, balanced, per file:", files)
	logRates(t, "held-out, rules + model, balanced, per category:", cats)
	floors := map[string]struct{ minTPR, maxFPR float64 }{
		"bipia.jsonl":            {0.77, 0.01},
		"wildguard_benign.jsonl": {0, 0.01},
	}
	for _, r := range files {
		f, ok := floors[r.Group]
		if !ok {
			t.Errorf("no floor for corpus file %s", r.Group)
			continue
		}
		if r.Positives > 0 && r.TPR() < f.minTPR {
			t.Errorf("%s held-out TPR = %.3f, want >= %.2f", r.Group, r.TPR(), f.minTPR)
		}
		if r.FPR() > f.maxFPR {
			t.Errorf("%s held-out FPR = %.4f, want <= %.2f", r.Group, r.FPR(), f.maxFPR)
		}
	}

	// Rules alone (the reference's phrase lists), for comparison.
	rulesOnly, err := detect.NewInjection(detect.InjectionOptions{DisableModel: true})
	if err != nil {
		t.Fatal(err)
	}
	files, _ = injtrain.Measure(held, func(s string) bool { return rulesOnly.Reference(s, nil).IsInjection })
	logRates(t, "held-out, reference rules alone:", files)

	// Channel-aware: the users' questions and WildGuard as prompts, the
	// e-mails, tables, code answers and attacks as data. The data head
	// finds plain tasks the prompt head cannot (see docs/detection.md);
	// the floors sit a little below the measured figures.
	files, cats = injtrain.MeasureRows(held, func(r injtrain.Row) bool {
		v, err := d.CheckChannel(t.Context(), r.Text, nil, injtrain.EvalChannel(r))
		return err != nil || v.Injection
	})
	logRates(t, "held-out, channel-aware, rules + model, balanced, per file:", files)
	logRates(t, "held-out, channel-aware, per category:", cats)
	chFloors := map[string]struct{ minTPR, maxFPR float64 }{
		"bipia.jsonl":            {0.87, 0.01},
		"wildguard_benign.jsonl": {0, 0.01},
	}
	for _, r := range files {
		f := chFloors[r.Group]
		if r.Positives > 0 && r.TPR() < f.minTPR {
			t.Errorf("%s channel-aware held-out TPR = %.3f, want >= %.2f", r.Group, r.TPR(), f.minTPR)
		}
		if r.FPR() > f.maxFPR {
			t.Errorf("%s channel-aware held-out FPR = %.4f, want <= %.2f", r.Group, r.FPR(), f.maxFPR)
		}
	}
}

// TestInjectionCorpusEmbeddedInSample measures the embedded model, which was
// trained on every row: these numbers are in-sample, not a quality claim.
func TestInjectionCorpusEmbeddedInSample(t *testing.T) {
	t.Parallel()
	rows, err := injtrain.LoadInjection(corporaDir(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := detect.NewInjection(detect.InjectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files, cats := injtrain.Measure(rows, func(s string) bool {
		v, err := d.Check(t.Context(), s, nil)
		return err != nil || v.Injection
	})
	logRates(t, "IN-SAMPLE (embedded model trained on all rows), per file:", files)
	logRates(t, "IN-SAMPLE, per category:", cats)
	for _, r := range files {
		if r.FPR() > 0.01 {
			t.Errorf("%s in-sample FPR = %.4f, want <= 0.01", r.Group, r.FPR())
		}
	}
}
