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

// secretsKindSupported maps a corpus kind to whether the detector claims
// to support it (the quality targets apply to supported kinds only).
func secretsKindSupported(kind string) bool {
	kind = strings.TrimPrefix(kind, "gitleaks-fp:")
	switch kind {
	case "aws_key", "aws-access-token", "azure_storage_key", "basic_auth", "github_token", "gitlab_token",
		"jwt", "npm", "openai", "openai-api-key", "pypi_token", "sendgrid", "stripe_key", "twilio",
		"anthropic-api-key", "anthropic-admin-api-key", "azure-ad-client-secret", "curl-auth-header",
		"curl-auth-user", "gcp-service-account", "private-key", "sidekiq-sensitive-url",
		"slack-app-token", "slack-bot-token", "slack-config-access-token", "slack-config-refresh-token",
		"slack-legacy-bot-token", "slack-legacy-token", "slack-legacy-workspace-token", "slack-user-token",
		"slack-webhook-url", "keyword:c_plus_plus_test_cases",
		"github-pat", "github-oauth", "github-app-token", "github-refresh-token", "github-fine-grained-pat",
		"gitlab-pat", "gitlab-pat-routable", "gitlab-ptt", "gitlab-rrt", "gitlab-runner-authentication-token-routable",
		"gcp-api-key", "generic-api-key", "jwt-base64", "ibm_cloud_iam", "softlayer", "cloudant", "ibm_cos_hmac",
		"notion-api-token", "sourcegraph-access-token", "telegram_token", "mailchimp_key", "mailchimp-api-key",
		"1password-service-account-token", "vault-service-token", "facebook-page-access-token",
		"atlassian-api-token", "perplexity-api-key", "intra42-client-secret", "cloudflare-origin-ca-key",
		"artifactory-api-key", "artifactory-reference-token", "age-secret-key":
		return true
	}
	return false
}

type secretRow struct {
	Text   string `json:"text"`
	Label  string `json:"label"`
	Kind   string `json:"kind"`
	Source string `json:"source"`
}

// measureSecrets returns per-kind counts for one corpus file.
func measureSecrets(t testing.TB, s *Secrets, path string) (map[string]*rate, []string) {
	rows := readJSONL[secretRow](t, path)
	byKind := map[string]*rate{}
	var misses []string
	for _, r := range rows {
		kind := strings.TrimPrefix(r.Kind, "gitleaks-fp:")
		k := byKind[kind]
		if k == nil {
			k = &rate{}
			byKind[kind] = k
		}
		found := len(s.scan(r.Text)) > 0
		switch {
		case r.Label == "secret" && found:
			k.tp++
		case r.Label == "secret":
			k.fn++
			misses = append(misses, "FN "+kind+": "+trunc(r.Text))
		case found:
			k.fp++
			misses = append(misses, "FP "+kind+": "+trunc(r.Text))
		default:
			k.tn++
		}
	}
	return byKind, misses
}

func trunc(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%q…", s[:120])
	}
	return fmt.Sprintf("%q", s)
}

func TestSecretsCorpus(t *testing.T) {
	t.Parallel()
	dir := corpusDir(t)
	s := NewSecrets(SecretsOptions{})
	// Floors are set a little below what the detector achieves, so that a
	// regression fails; see docs/detection.md for the figures.
	floors := map[string]struct{ minRecall, minPrecision float64 }{
		"detect_secrets_plugin_tests.jsonl": {0.85, 0.80},
		"gitleaks_rule_examples.jsonl":      {0.88, 0.70},
	}
	for file, floor := range floors {
		byKind, misses := measureSecrets(t, s, filepath.Join(dir, "secrets", file))
		var sup, unsup rate
		kinds := make([]string, 0, len(byKind))
		for k := range byKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			r := *byKind[k]
			tag := "unsupported"
			agg := &unsup
			if secretsKindSupported(k) {
				tag, agg = "supported", &sup
			}
			agg.tp += r.tp
			agg.fn += r.fn
			agg.fp += r.fp
			agg.tn += r.tn
			t.Logf("%s %-45s %-11s %v", file, k, tag, r)
		}
		t.Logf("%s: supported kinds %v", file, sup)
		t.Logf("%s: unsupported kinds %v", file, unsup)
		if testing.Verbose() {
			for _, m := range misses {
				t.Log("  " + m)
			}
		}
		recall := float64(sup.tp) / float64(max(1, sup.tp+sup.fn))
		prec := float64(sup.tp) / float64(max(1, sup.tp+sup.fp))
		if recall < floor.minRecall || prec < floor.minPrecision {
			t.Errorf("%s: supported-kind recall %.3f precision %.3f, floors %.2f / %.2f", file, recall, prec,
				floor.minRecall, floor.minPrecision)
		}
	}
}
