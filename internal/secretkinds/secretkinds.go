// Package secretkinds maps the kinds that the public secrets corpora label
// (gitleaks and detect-secrets rule names) to the finding kinds of package
// detect that answer them. The corpora label per rule: a string one rule
// must not match is "clean" for that rule even when another rule rightly
// matches it (gitleaks' anthropic-api-key examples list an admin key as
// clean; detect-secrets' GitLab examples list a GitHub token), so the
// secrets detector is measured per kind by findings of the kind's own
// family. Used by the quality report and the package's corpus test.
package secretkinds

import "strings"

// Any marks a corpus kind that any finding answers (a catch-all rule of
// the labelling tool).
const Any = "*"

// Family returns the finding kinds that answer a corpus kind (a
// "gitleaks-fp:" prefix is ignored), and whether the detector supports
// the kind at all: the quality targets apply to supported kinds only.
func Family(corpusKind string) ([]string, bool) {
	f, ok := families[strings.TrimPrefix(corpusKind, "gitleaks-fp:")]
	return f, ok
}

// Answers reports whether one of the finding kinds is in family.
func Answers(findingKinds []string, family []string) bool {
	for _, got := range findingKinds {
		for _, k := range family {
			if k == Any || k == got {
				return true
			}
		}
	}
	return false
}

// families is read only.
var families = map[string][]string{
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
	"keyword:c_plus_plus_test_cases": {Any}, "generic-api-key": {Any},
	"ibm_cloud_iam": {"generic_secret"}, "softlayer": {"generic_secret"}, "cloudant": {"generic_secret"}, "ibm_cos_hmac": {"generic_secret"},
	"notion-api-token": {"notion_token"}, "sourcegraph-access-token": {"sourcegraph_token"},
	"telegram_token": {"telegram_token"}, "mailchimp_key": {"mailchimp_key"}, "mailchimp-api-key": {"mailchimp_key"},
	"1password-service-account-token": {"onepassword_token"}, "vault-service-token": {"vault_token"},
	"facebook-page-access-token": {"facebook_token"}, "atlassian-api-token": {"atlassian_token"},
	"perplexity-api-key": {"perplexity_api_key"}, "intra42-client-secret": {"intra42_secret"},
	"cloudflare-origin-ca-key": {"cloudflare_key"}, "artifactory-api-key": {"artifactory_token"},
	"artifactory-reference-token": {"artifactory_token"}, "age-secret-key": {"age_secret_key"},
}
