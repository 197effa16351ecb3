package detect

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type labelledRow struct {
	Text        string `json:"text"`
	Label       string `json:"label"`
	Category    string `json:"category"`
	Description string `json:"description"`
}

// measureDangerous returns per-category counts for one corpus file.
func measureDangerous(t testing.TB, d *Dangerous, path string, verbose bool) (map[string]*rate, rate) {
	rows := readJSONL[labelledRow](t, path)
	byCat := map[string]*rate{}
	var total rate
	var shown int
	for _, r := range rows {
		cat := r.Category
		if strings.HasPrefix(cat, "tldr:") {
			cat = "tldr:" + cat[strings.LastIndexByte(cat, ':')+1:]
		}
		c := byCat[cat]
		if c == nil {
			c = &rate{}
			byCat[cat] = c
		}
		fs, err := d.Scan(context.Background(), r.Text)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		found := len(fs) > 0
		switch {
		case r.Label == "malicious" && found:
			c.tp++
			total.tp++
		case r.Label == "malicious":
			c.fn++
			total.fn++
		case found:
			c.fp++
			total.fp++
			if verbose && shown < 60 {
				shown++
				t.Logf("  FP %s: %q (%s)", cat, r.Text, fs[0].Rule)
			}
		default:
			c.tn++
			total.tn++
		}
	}
	return byCat, total
}

func TestDangerousCorpus(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t)
	d := NewDangerous(DangerousOptions{})
	// maxFPR per file on the benign rows, minTPR per malicious category;
	// set slightly below what the detector achieves so regressions fail.
	type floor struct {
		maxFPR float64
		minTPR map[string]float64
	}
	files := map[string]floor{
		"destructive/tldr_commands.jsonl":      {maxFPR: 0.005, minTPR: map[string]float64{"tldr:destructive_by_description": 0.004}},
		"destructive/sqlglot_statements.jsonl": {maxFPR: 0.005, minTPR: map[string]float64{"sql:DROP": 0.9, "sql:DELETE_ALL": 0.99}},
		"toolcalls/bfcl_calls.jsonl":           {maxFPR: 0.005},
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, file := range names {
		fl := files[file]
		byCat, total := measureDangerous(t, d, filepath.Join(dir, file), testing.Verbose())
		cats := make([]string, 0, len(byCat))
		for c := range byCat {
			cats = append(cats, c)
		}
		sort.Strings(cats)
		for _, c := range cats {
			t.Logf("%s %-40s %v", file, c, *byCat[c])
		}
		t.Logf("%s: all rows %v", file, total)
		if fpr := float64(total.fp) / float64(max(1, total.fp+total.tn)); fpr > fl.maxFPR {
			t.Errorf("%s: FPR %.4f above %.4f", file, fpr, fl.maxFPR)
		}
		for c, min := range fl.minTPR {
			r := byCat[c]
			if r == nil {
				t.Errorf("%s: no category %s", file, c)
				continue
			}
			if tpr := float64(r.tp) / float64(max(1, r.tp+r.fn)); tpr < min {
				t.Errorf("%s %s: TPR %.3f below %.3f", file, c, tpr, min)
			}
		}
	}
}
