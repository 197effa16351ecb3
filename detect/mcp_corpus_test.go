package detect

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// mcpCorpusDir locates the labelled corpora (../shared/corpora from the
// module root) or skips the test.
func mcpCorpusDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared", "corpora", "mcp")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("labelled MCP corpora not found at %s (expected at ../shared/corpora/mcp from the module root): %v", dir, err)
	}
	return dir
}

type mcpCorpusRow struct {
	Tool     json.RawMessage `json:"tool"`
	Label    string          `json:"label"`
	Category string          `json:"category"`
	Shadows  string          `json:"shadows"`
}

func readMCPCorpus(t testing.TB, path string) []mcpCorpusRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open corpus: %v", err)
	}
	defer f.Close()
	var rows []mcpCorpusRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		var r mcpCorpusRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return rows
}

// mcpCounts is a confusion count for one file or category.
type mcpCounts struct{ tp, fn, fp, tn int }

func (c mcpCounts) tpr() float64 { return ratio(c.tp, c.tp+c.fn) }
func (c mcpCounts) fpr() float64 { return ratio(c.fp, c.fp+c.tn) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// measureMCPFile scans each row with a fresh default-mode scanner (after
// registering the shadowed name from another server for name-collision
// rows) and counts a row as flagged when Blocking reports true.
func measureMCPFile(t *testing.T, path string) (file mcpCounts, cats map[string]*mcpCounts, misses []string) {
	t.Helper()
	cats = map[string]*mcpCounts{}
	for i, r := range readMCPCorpus(t, path) {
		s, err := NewMCPScanner(MCPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Shadows != "" {
			if _, err := s.RegisterTool("original", Tool{Name: r.Shadows, Description: "original tool"}); err != nil {
				t.Fatal(err)
			}
		}
		threats, err := s.ScanToolJSON(t.Context(), "server", r.Tool)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
		flagged := Blocking(threats)
		c := cats[r.Category]
		if c == nil {
			c = &mcpCounts{}
			cats[r.Category] = c
		}
		switch {
		case r.Label == "poisoned" && flagged:
			c.tp++
			file.tp++
		case r.Label == "poisoned":
			c.fn++
			file.fn++
			misses = append(misses, string(r.Tool))
		case flagged:
			c.fp++
			file.fp++
			var rules []string
			for _, th := range threats {
				if th.Severity >= SeverityHigh {
					rules = append(rules, th.Rule+": "+th.Message)
				}
			}
			b, _ := json.Marshal(rules)
			misses = append(misses, "FP "+string(b)+" "+string(r.Tool))
		default:
			c.tn++
			file.tn++
		}
	}
	return file, cats, misses
}

// TestMCPCorpus measures the definition scanner on the labelled MCP
// corpora, per file and per category, and holds floors a little below
// what it achieves.
func TestMCPCorpus(t *testing.T) {
	dir := mcpCorpusDir(t)
	tests := []struct {
		file   string
		minTPR float64 // files with poisoned rows
		maxFPR float64
	}{
		{"msb_tool_signatures.jsonl", 0.95, 0.05},
		{"mcp_tools_list_snapshots.jsonl", 0, 0.01},
		{"bfcl_function_docs.jsonl", 0, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file, cats, misses := measureMCPFile(t, filepath.Join(dir, tt.file))
			t.Logf("%s: TPR %.3f (%d/%d)  FPR %.4f (%d/%d)", tt.file, file.tpr(), file.tp, file.tp+file.fn,
				file.fpr(), file.fp, file.fp+file.tn)
			names := make([]string, 0, len(cats))
			for k := range cats {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				c := cats[k]
				t.Logf("  %-55s TPR %.3f (%d/%d)  FPR %.4f (%d/%d)", k, c.tpr(), c.tp, c.tp+c.fn, c.fpr(), c.fp, c.fp+c.tn)
			}
			for _, m := range misses {
				t.Logf("  miss: %.300s", m)
			}
			if file.tp+file.fn > 0 && file.tpr() < tt.minTPR {
				t.Errorf("TPR %.3f, want at least %.3f", file.tpr(), tt.minTPR)
			}
			if file.fpr() > tt.maxFPR {
				t.Errorf("FPR %.4f, want at most %.4f", file.fpr(), tt.maxFPR)
			}
			for _, k := range names {
				if c := cats[k]; c.tp+c.fn > 0 && c.tpr() < tt.minTPR {
					t.Errorf("category %s: TPR %.3f, want at least %.3f", k, c.tpr(), tt.minTPR)
				}
			}
		})
	}
}
