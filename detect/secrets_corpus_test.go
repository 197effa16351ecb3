package detect

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/secretkinds"
)

// corpusDir returns the labelled corpora directory, ../shared/corpora
// relative to the module root, or skips the test when it is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared", "corpora")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("labelled corpora not found at %s (expected at ../shared/corpora from the module root): %v", dir, err)
	}
	return dir
}

// readJSONL decodes every line of a JSONL file into a T.
func readJSONL[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open corpus: %v", err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

// rate is a confusion count.
type rate struct{ tp, fn, fp, tn int }

func (r rate) String() string {
	tpr, fpr, prec := "-", "-", "-"
	if r.tp+r.fn > 0 {
		tpr = fmt.Sprintf("%.1f%%", 100*float64(r.tp)/float64(r.tp+r.fn))
	}
	if r.fp+r.tn > 0 {
		fpr = fmt.Sprintf("%.1f%%", 100*float64(r.fp)/float64(r.fp+r.tn))
	}
	if r.tp+r.fp > 0 {
		prec = fmt.Sprintf("%.1f%%", 100*float64(r.tp)/float64(r.tp+r.fp))
	}
	return fmt.Sprintf("pos %d neg %d | TPR %s FPR %s precision %s", r.tp+r.fn, r.fp+r.tn, tpr, fpr, prec)
}

// secretsKindSupported reports whether the detector claims to support a
// corpus kind (the quality targets apply to supported kinds only).
func secretsKindSupported(kind string) bool {
	_, ok := secretkinds.Family(kind)
	return ok
}

// answers reports whether one of fs is of a kind in family.
func answers(fs []Finding, family []string) bool {
	kinds := make([]string, len(fs))
	for i, f := range fs {
		kinds[i] = f.Kind
	}
	return secretkinds.Answers(kinds, family)
}

type secretRow struct {
	Text   string `json:"text"`
	Label  string `json:"label"`
	Kind   string `json:"kind"`
	Source string `json:"source"`
}

// measureSecrets returns per-kind counts for one corpus file: byKind
// counts a row as flagged when a finding of the kind's family answers it
// (any finding for unsupported kinds), anyFinding when there is any
// finding at all.
func measureSecrets(t testing.TB, s *Secrets, path string) (byKind, anyFinding map[string]*rate, misses []string) {
	rows := readJSONL[secretRow](t, path)
	byKind, anyFinding = map[string]*rate{}, map[string]*rate{}
	for _, r := range rows {
		kind := strings.TrimPrefix(r.Kind, "gitleaks-fp:")
		fs := s.scan(r.Text)
		family, ok := secretkinds.Family(kind)
		if !ok {
			family = []string{secretkinds.Any}
		}
		if m := tallyRow(byKind, kind, r.Label == "secret", answers(fs, family)); m != "" {
			misses = append(misses, m+" "+kind+": "+trunc(r.Text))
		}
		tallyRow(anyFinding, kind, r.Label == "secret", len(fs) > 0)
	}
	return byKind, anyFinding, misses
}

// tallyRow adds one row to m and returns "FN" or "FP" for a miss.
func tallyRow(m map[string]*rate, kind string, secret, found bool) string {
	k := m[kind]
	if k == nil {
		k = &rate{}
		m[kind] = k
	}
	switch {
	case secret && found:
		k.tp++
	case secret:
		k.fn++
		return "FN"
	case found:
		k.fp++
		return "FP"
	default:
		k.tn++
	}
	return ""
}

func trunc(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%q…", s[:120])
	}
	return fmt.Sprintf("%q", s)
}

// secretsKindFloors are the per-kind recall and precision below which
// TestSecretsCorpus fails, for the supported kinds that do not reach the
// 0.95 target on these labels: an
// all-'x' Twilio SID, AWS's documented example secret key and the
// literal "username:password" are labelled secrets but are placeholders
// to this detector; gitleaks' generic examples include a bare random
// string with no context and a public Algolia key allowlisted by value.
var secretsKindFloors = map[string]struct{ recall, precision float64 }{
	"detect_secrets_plugin_tests.jsonl/aws_key":    {0.83, 0.95},
	"detect_secrets_plugin_tests.jsonl/basic_auth": {0, 0},
	"detect_secrets_plugin_tests.jsonl/twilio":     {0, 0},
	"gitleaks_rule_examples.jsonl/generic-api-key": {0.5, 0.5},
	"gitleaks_rule_examples.jsonl/age-secret-key":  {0, 0},
}

func TestSecretsCorpus(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t)
	s := NewSecrets(SecretsOptions{})
	for _, file := range []string{"detect_secrets_plugin_tests.jsonl", "gitleaks_rule_examples.jsonl"} {
		byKind, anyFinding, misses := measureSecrets(t, s, filepath.Join(dir, "secrets", file))
		kinds := make([]string, 0, len(byKind))
		for k := range byKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			r, ra := *byKind[k], *anyFinding[k]
			if !secretsKindSupported(k) {
				t.Logf("%s %-45s unsupported %v", file, k, r)
				continue
			}
			t.Logf("%s %-45s supported   %v (any finding: %v)", file, k, r, ra)
			if r.tp+r.fn == 0 {
				continue // no positives: precision is not defined
			}
			recall := float64(r.tp) / float64(r.tp+r.fn)
			prec := float64(r.tp) / float64(max(1, r.tp+r.fp))
			floor, ok := secretsKindFloors[file+"/"+k]
			if !ok {
				floor.recall, floor.precision = 0.95, 0.95
			}
			if recall < floor.recall || prec < floor.precision {
				t.Errorf("%s %s: recall %.3f precision %.3f, floors %.2f / %.2f", file, k, recall, prec,
					floor.recall, floor.precision)
			}
		}
		if testing.Verbose() {
			for _, m := range misses {
				t.Log("  " + m)
			}
		}
	}
}
