package detect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"regexp"
	"slices"
	"strings"
)

// SecretsOptions configures a [Secrets] detector.
type SecretsOptions struct {
	// MaxInput is the largest input, in bytes, that is scanned; a larger
	// input makes Scan return ErrInputTooLarge. 0 means DefaultMaxInput.
	MaxInput int
	// MinEntropy is the Shannon entropy, in bits per character, a value of
	// a secret-named assignment needs to be reported by the generic rule.
	// 0 means 3.0.
	MinEntropy float64
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Secrets finds credentials: the reference's patterns plus cloud keys,
// tokens of common services, private keys, JWTs, database and broker URLs
// with passwords, authorization headers and high-entropy values assigned
// to secret-named fields. It is safe for concurrent use. Regular
// expressions run only next to literal anchors found by a prefilter.
type Secrets struct {
	rules []secretRule
	// anchors finds every rule's literal anchors in one pass; anchorRule
	// maps an anchor to its rule.
	anchors    *literalSet
	anchorRule []int
	maxInput   int
	minEntropy float64
	log        *slog.Logger
	meter      *workMeter // nil except in tests
}

var _ Detector = (*Secrets)(nil)

// secretRule is one credential family.
type secretRule struct {
	id, kind    string
	severity    Severity
	confidence  float64
	explanation string
	// re is matched anchored at the candidate start.
	re *regexp.Regexp
	// back is how many bytes before the anchor the token may start (the
	// regexp is then tried at each such position that is a token start).
	back int
	// group, if > 0, is the submatch holding the secret (the redacted span).
	group int
	// leadB and trailB require a non-alphanumeric character (or the edge)
	// before and after the token.
	leadB, trailB bool
	// valid, if set, must accept the secret text.
	valid func(tok string) bool
	// window is how far after the anchor the regexp may read; 0 means 300.
	window int
}

const secretSuggestion = "remove the credential, rotate it, and load it from a secret store or the environment at run time"

// NewSecrets returns a secrets detector.
func NewSecrets(opts SecretsOptions) *Secrets {
	s := &Secrets{maxInput: opts.MaxInput, minEntropy: opts.MinEntropy, log: opts.Logger}
	if s.minEntropy <= 0 {
		s.minEntropy = 3.0
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var lits []string
	var fold []bool
	// Anchors are case-sensitive, except those of the generic rule and
	// those written "lower:anchor", which match in any ASCII case.
	add := func(r secretRule, anchors ...string) {
		idx := len(s.rules)
		s.rules = append(s.rules, r)
		for _, a := range anchors {
			f := r.id == "generic-secret-assignment" || strings.HasPrefix(a, "lower:")
			lits = append(lits, strings.TrimPrefix(a, "lower:"))
			fold = append(fold, f)
			s.anchorRule = append(s.anchorRule, idx)
		}
	}
	re := regexp.MustCompile
	tok := func(id, kind, expl string, sev Severity, pattern string, anchors ...string) {
		add(secretRule{id: id, kind: kind, severity: sev, confidence: 0.95, explanation: expl,
			re: re(`^(?:` + pattern + `)`), leadB: true, trailB: true,
			valid: func(t string) bool { return notPlaceholderToken(t) && !strings.HasSuffix(t, "-") }}, anchors...)
	}
	tok("aws-access-key-id", "aws_access_key", "AWS access key id", SeverityCritical,
		`(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}`, "AKIA", "ASIA", "ABIA", "ACCA", "A3T")
	tok("github-token", "github_token", "GitHub token", SeverityCritical,
		`(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}`, "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
	add(secretRule{id: "gitlab-token", kind: "gitlab_token", severity: SeverityCritical, confidence: 0.95,
		explanation: "GitLab token", leadB: true, trailB: true,
		re: re(`^(?:glpat-[A-Za-z0-9_-]{20,}|gldt-[A-Za-z0-9_-]{20,}|glptt-[A-Za-z0-9_-]{40}|glrt-[A-Za-z0-9_-]{20,}|glcbt-(?:[0-9a-fA-F]{1,5}_)?[A-Za-z0-9_-]{20,}|glimt-[A-Za-z0-9_-]{25}|gloas-[A-Za-z0-9_-]{64}|glsoat-[A-Za-z0-9_-]{20,}|glagent-[A-Za-z0-9_-]{50,1000}|glft-[A-Za-z0-9_-]{20,}|glffct-[A-Za-z0-9_-]{20,}|glsst-[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,})`),
		// The random part of a real token is high-entropy; "GR1348941"
		// followed by a repeated digit pattern is an example.
		valid: func(t string) bool {
			return notPlaceholderToken(t) && !strings.HasSuffix(t, "_") && shannonEntropy(gitlabRandomPart(t)) >= 3.0
		}, window: 1100},
		"glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "glimt-", "gloas-", "glsoat-", "glagent-", "glft-", "glffct-", "glsst-", "GR1348941")
	// A Slack token cut short before a placeholder ("xoxp-1-2-3-####")
	// ends in '-' and is rejected. The numeric parts are team and user ids
	// ("1111111" is a valid id); only the random last part is judged a
	// placeholder.
	add(secretRule{id: "slack-token", kind: "slack_token", severity: SeverityCritical, confidence: 0.95,
		explanation: "Slack token", leadB: true, trailB: true,
		re: re(`^(?:xox[abposr]-(?:[0-9]-)?[0-9]{5,}-[0-9A-Za-z-]{10,250}|xoxe\.xox[bp]-1-[A-Za-z0-9]{60,}|xoxe-1-[A-Za-z0-9-]{60,}|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+)`),
		valid: func(t string) bool {
			return !strings.HasSuffix(t, "-") && notPlaceholderToken(t[strings.LastIndexByte(t, '-')+1:])
		}},
		"xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-", "xoxe.", "xapp-")
	tok("slack-webhook", "slack_webhook", "Slack webhook URL", SeverityHigh,
		`https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}`, "https://hooks.slack.com/", "http://hooks.slack.com/")
	tok("stripe-key", "stripe_key", "Stripe secret or restricted key", SeverityCritical,
		`(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{20,240}`, "sk_live_", "rk_live_", "sk_test_", "rk_test_", "sk_prod_", "rk_prod_")
	tok("twilio-key", "twilio", "Twilio account SID or API key", SeverityHigh,
		`(?:AC|SK)[a-z0-9]{32}`, "AC", "SK")
	tok("sendgrid-key", "sendgrid", "SendGrid API key", SeverityCritical,
		`SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}`, "SG.")
	add(secretRule{id: "openai-key", kind: "openai_api_key", severity: SeverityCritical, confidence: 0.95,
		explanation: "OpenAI API key", re: re(`^sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}`), leadB: true, trailB: true,
		valid: func(t string) bool {
			// "sk-ant-" is Anthropic's namespace, judged by its own rule.
			return notPlaceholderToken(t) && !strings.HasPrefix(t, "sk-ant-") && (strings.Contains(t, "T3BlbkFJ") || len(t) >= 80)
		}}, "sk-")
	// Anthropic keys end in "AA"; admin keys are a kind of their own.
	anthropic := func(t string) bool { return notPlaceholderToken(t) && strings.HasSuffix(t, "AA") }
	add(secretRule{id: "anthropic-key", kind: "anthropic_api_key", severity: SeverityCritical, confidence: 0.95,
		explanation: "Anthropic API key", re: re(`^sk-ant-(?:api|sid)[0-9]{2}-[A-Za-z0-9_-]{80,}`), leadB: true, trailB: true,
		valid: anthropic}, "sk-ant-api", "sk-ant-sid")
	add(secretRule{id: "anthropic-admin-key", kind: "anthropic_admin_key", severity: SeverityCritical, confidence: 0.95,
		explanation: "Anthropic admin API key", re: re(`^sk-ant-admin[0-9]{2}-[A-Za-z0-9_-]{80,}`), leadB: true, trailB: true,
		valid: anthropic}, "sk-ant-admin")
	add(secretRule{id: "google-api-key", kind: "google_api_key", severity: SeverityHigh, confidence: 0.85,
		explanation: "Google API key", re: re(`^AIza[0-9A-Za-z_-]{35}`), leadB: true, trailB: true,
		valid: func(t string) bool {
			return notPlaceholderToken(t) && shannonEntropy(t[4:]) >= 3.5 && !sequential(t[4:])
		}}, "AIza")
	tok("npm-token", "npm_token", "npm access token", SeverityCritical, `npm_[A-Za-z0-9]{36}`, "npm_")
	add(secretRule{id: "npm-auth-token", kind: "npm_token", severity: SeverityCritical, confidence: 0.9,
		explanation: "npm registry auth token", re: re(`^//[^\s/:]+(?:/[^\s:]*)?/:_authToken=[ \t]*([^\s'"]+)`), back: 256, group: 1,
		valid: notTemplated}, ":_authToken=")
	tok("pypi-token", "pypi_token", "PyPI upload token", SeverityCritical,
		`pypi-Ag(?:EIcHlwaS5vcmc|ENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{70,}`, "pypi-Ag")
	add(secretRule{id: "private-key", kind: "private_key", severity: SeverityCritical, confidence: 0.99,
		explanation: "private key block", window: -1}, "-----BEGIN")
	add(secretRule{id: "jwt", kind: "jwt", severity: SeverityHigh, confidence: 0.9, explanation: "JSON Web Token",
		valid: validJWT, window: -1}, "eyJ")
	add(secretRule{id: "url-password", kind: "url_password", severity: SeverityCritical, confidence: 0.9,
		explanation: "URL with an embedded password",
		re:          re(`^[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@'"<>]*:([^\s@/'"<>]{1,256})@[A-Za-z0-9\[]`), back: 24, group: 1, leadB: true,
		valid: func(t string) bool { return notTemplated(t) && !placeholderWord(t) }}, "://")
	add(secretRule{id: "auth-header", kind: "auth_header", severity: SeverityHigh, confidence: 0.85,
		explanation: "credential in an authorization header",
		re:          re(`^(?i:authorization)["']?[ \t]*[:=][ \t]*["']?(?:(?i:bearer|token|api-token|apikey)[ \t]+)?([A-Za-z0-9._~+/=:-]{8,})`), group: 1,
		valid: func(t string) bool {
			return notTemplated(t) && !placeholderWord(t) && charClasses(t) >= 2 && shannonEntropy(t) >= 2.5
		}}, "lower:authorization")
	add(secretRule{id: "basic-auth", kind: "basic_auth", severity: SeverityHigh, confidence: 0.9,
		explanation: "HTTP Basic credentials", re: re(`^(?i:basic)[ \t]+([A-Za-z0-9+/]{6,}={0,2})`), group: 1, leadB: true, trailB: true,
		valid: validBasic}, "lower:basic ")
	add(secretRule{id: "bearer-token", kind: "bearer_token", severity: SeverityHigh, confidence: 0.85,
		explanation: "bearer token", re: re(`^(?i:bearer)[ \t]+([A-Za-z0-9._~+/-]{16,}=*)`), group: 1, leadB: true,
		valid: func(t string) bool { return notTemplated(t) && !placeholderWord(t) && shannonEntropy(t) >= 3.0 }}, "lower:bearer ")
	add(secretRule{id: "azure-storage-key", kind: "azure_storage_key", severity: SeverityCritical, confidence: 0.95,
		explanation: "Azure storage account key or shared access key",
		re:          re(`^(?i:accountkey|sharedaccesskey)[ \t]*=[ \t]*([A-Za-z0-9+/]{20,}={0,2})`), group: 1, valid: notPlaceholderToken}, "lower:accountkey", "lower:sharedaccesskey")
	add(secretRule{id: "azure-sas", kind: "azure_sas", severity: SeverityHigh, confidence: 0.85,
		explanation: "Azure shared access signature", re: re(`^(?i:sharedaccesssignature)[ \t]*=[ \t]*([^;\s'"]{8,})`), group: 1}, "lower:sharedaccesssignature")
	add(secretRule{id: "azure-ad-client-secret", kind: "azure_client_secret", severity: SeverityCritical, confidence: 0.9,
		explanation: "Azure AD client secret", re: re(`^[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}`), back: 4, leadB: true, trailB: true,
		valid: notPlaceholderToken}, "Q~")
	add(secretRule{id: "gcp-service-account", kind: "gcp_service_account", severity: SeverityHigh, confidence: 0.8,
		explanation: "Google Cloud service-account key file", re: re(`^"type"[ \t]*:[ \t]*"service_account"`), back: 0}, `"type"`)
	// The argument of -u is one shell word, which may join quoted and bare
	// parts: "user":'pass', kevin:'pass'.
	add(secretRule{id: "curl-user", kind: "basic_auth", severity: SeverityHigh, confidence: 0.8,
		explanation: "credentials passed to curl with -u/--user",
		re:          re(`^(?:-u|--user)[ \t]+((?:"[^"\s]{0,200}"|'[^'\s]{0,200}'|[^\s'"]{1,200})+)`), leadB: true, group: 1,
		valid: validUserPass}, "-u ", "--user ")
	// Vendor formats with a distinctive prefix (as documented by each
	// vendor or in common secret-scanning rule sets).
	tok("notion-token", "notion_token", "Notion integration token", SeverityHigh,
		`ntn_[0-9]{11}[A-Za-z0-9]{35}`, "ntn_")
	tok("sourcegraph-token", "sourcegraph_token", "Sourcegraph access token", SeverityHigh,
		`sgp_(?:[A-Fa-f0-9]{16}_|local_)?[A-Fa-f0-9]{40}`, "sgp_")
	add(secretRule{id: "telegram-bot-token", kind: "telegram_token", severity: SeverityHigh, confidence: 0.9,
		explanation: "Telegram bot token", re: re(`^[0-9]{5,16}:AA[A-Za-z0-9_-]{33}`), back: 16, leadB: true, trailB: true,
		valid: notPlaceholderToken}, ":AA")
	add(secretRule{id: "mailchimp-key", kind: "mailchimp_key", severity: SeverityHigh, confidence: 0.85,
		explanation: "Mailchimp API key", re: re(`^[0-9a-f]{32}-us[0-9]{1,2}`), back: 32, leadB: true, trailB: true,
		valid: notPlaceholderToken}, "-us")
	// A service account token is about 800 characters long.
	add(secretRule{id: "1password-service-account-token", kind: "onepassword_token", severity: SeverityCritical, confidence: 0.95,
		explanation: "1Password service account token", re: re(`^ops_eyJ[A-Za-z0-9+/]{250,}={0,3}`), leadB: true, trailB: true,
		valid: notPlaceholderToken, window: 4100}, "ops_eyJ")
	tok("clojars-token", "clojars_token", "Clojars deploy token", SeverityHigh, `CLOJARS_[a-z0-9]{60}`, "CLOJARS_")
	tok("vault-token", "vault_token", "HashiCorp Vault token", SeverityCritical,
		`hvs\.[A-Za-z0-9_-]{90,}|hvb\.[A-Za-z0-9_-]{138,300}`, "hvs.", "hvb.")
	// Vault service tokens before Vault 1.10: "s." and 24 base62
	// characters. "s." ends many words, so the anchor includes the
	// character before it; the token must mix cases and digits, and not
	// be followed by "(" or "." (a method call or field in code:
	// s.ReadUint16LengthPrefixed(...)).
	add(secretRule{id: "vault-legacy-token", kind: "vault_token", severity: SeverityCritical, confidence: 0.8,
		explanation: "HashiCorp Vault token", re: re(`^[ \t\n"'=:\x60(](s\.[A-Za-z0-9]{24})(?:[^A-Za-z0-9_(.]|\.[^A-Za-z0-9_]|\.?$)`), group: 1,
		valid: func(t string) bool {
			return notPlaceholderToken(t) && charClasses(t[2:]) == 3 && shannonEntropy(t[2:]) >= 3.5 && capitalWords(t[2:]) < 3
		}}, " s.", "\ts.", "\ns.", `"s.`, "'s.", "=s.", ":s.", "`s.", "(s.")
	// Sourcegraph's older access tokens are 40 hex digits with no prefix:
	// they are recognised after the product's name.
	add(secretRule{id: "sourcegraph-legacy-token", kind: "sourcegraph_token", severity: SeverityHigh, confidence: 0.8,
		explanation: "Sourcegraph access token", leadB: true, trailB: true, group: 1,
		re:    re(`^(?i:sourcegraph)[A-Za-z0-9_.-]{0,24}["']?[ \t]*(?:=>|:=|=|:)[ \t]*["']?([a-fA-F0-9]{40})`),
		valid: func(t string) bool { return notPlaceholderToken(t) && isHexToken(t) && shannonEntropy(t) >= 3 }},
		"lower:sourcegraph")
	tok("facebook-access-token", "facebook_token", "Facebook (Meta) access token", SeverityHigh,
		`EAA[MC][A-Za-z0-9]{100,}`, "EAAM", "EAAC")
	tok("atlassian-api-token", "atlassian_token", "Atlassian API token", SeverityHigh,
		`ATATT3[A-Za-z0-9_=-]{186}`, "ATATT3")
	tok("perplexity-key", "perplexity_api_key", "Perplexity API key", SeverityHigh,
		`pplx-[A-Za-z0-9]{48}`, "pplx-")
	tok("intra42-client-secret", "intra42_secret", "42 Intra client secret", SeverityHigh,
		`s-s4t2(?:ud|af)-[a-f0-9]{64}`, "s-s4t2")
	tok("cloudflare-origin-ca-key", "cloudflare_key", "Cloudflare origin CA key", SeverityHigh,
		`v1\.0-[a-f0-9]{24}-[a-f0-9]{146}`, "v1.0-")
	tok("artifactory-token", "artifactory_token", "JFrog Artifactory API key or reference token", SeverityHigh,
		`AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59}`, "AKCp", "cmVmd")
	tok("age-secret-key", "age_secret_key", "age encryption secret key", SeverityCritical,
		`AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}`, "AGE-SECRET-KEY-1")
	add(secretRule{id: "generic-secret-assignment", kind: "generic_secret", severity: SeverityHigh, confidence: 0.7,
		explanation: "high-entropy value assigned to a secret-named field", window: 600},
		"secret", "token", "passw", "pwd", "api_key", "apikey", "api-key", "access_key", "private_key", "credential", "_pass", "-pass", "secretkey", "accesskey", "privatekey", "clientkey")
	s.anchors = newLiteralSet(lits, fold)
	return s
}

// Name implements Detector.
func (s *Secrets) Name() string { return "secrets" }

// Scan implements Detector: it returns the credentials found in input, in
// order of position, each span covering the secret itself.
func (s *Secrets) Scan(ctx context.Context, input string) ([]Finding, error) {
	if err := checkSize(len(input), s.maxInput); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.scan(input), nil
}

// secretHit is a rule's anchor found at pos.
type secretHit struct{ pos, rule int }

func (s *Secrets) scan(input string) []Finding {
	// One pass finds every anchor. Vendor-specific rules run first, then
	// the generic assignment rule, each in position order, so that a
	// specific finding wins an overlap.
	var vendor, generic []secretHit
	s.meter.add(len(input))
	s.anchors.each(input, func(lit, start int) bool {
		h := secretHit{start, s.anchorRule[lit]}
		if s.rules[h.rule].id == "generic-secret-assignment" {
			generic = append(generic, h)
		} else {
			vendor = append(vendor, h)
		}
		return true
	})
	if len(vendor)+len(generic) == 0 {
		return nil
	}
	byPos := func(a, b secretHit) int {
		if a.pos != b.pos {
			return a.pos - b.pos
		}
		return a.rule - b.rule
	}
	slices.SortFunc(vendor, byPos)
	slices.SortFunc(generic, byPos)
	var cands []Finding
	var pem *pemEndLines
	jwtRunEnd := -1
	for _, h := range slices.Concat(vendor, generic) {
		r := &s.rules[h.rule]
		var a, b int
		var ok bool
		switch r.id {
		case "private-key":
			if pem == nil {
				pem = indexPEMEndLines(input)
				s.meter.add(len(input))
			}
			a, b, ok = s.matchPEM(input, h.pos, pem)
		case "jwt":
			if h.pos < jwtRunEnd {
				continue // this run of token characters was already examined
			}
			a, b, ok, jwtRunEnd = matchJWT(input, h.pos)
			s.meter.add(jwtRunEnd - h.pos)
		case "generic-secret-assignment":
			a, b, ok = s.matchAssignment(input, h.pos)
		default:
			a, b, ok = s.matchRule(r, input, h.pos)
		}
		if !ok {
			continue
		}
		cands = append(cands, Finding{Detector: "secrets", Rule: r.id, Kind: r.kind, Severity: r.severity,
			Confidence: r.confidence, Start: a, End: b, Explanation: r.explanation + " found",
			Suggestion: secretSuggestion, Source: "rule"})
	}
	return firstNonOverlapping(cands)
}

// firstNonOverlapping keeps each finding that overlaps no finding kept
// before it (earlier findings win), and returns the kept ones sorted by
// position. It runs in O(k log k): kept findings are disjoint, so a
// candidate [a,b) overlaps one exactly when a kept finding starts inside
// [a,b) or the kept finding starting last before a ends after a; two
// Fenwick trees over the candidates' start positions answer both.
func firstNonOverlapping(cands []Finding) []Finding {
	if len(cands) <= 1 {
		return cands
	}
	starts := make([]int, len(cands))
	for i, f := range cands {
		starts[i] = f.Start
	}
	slices.Sort(starts)
	starts = slices.Compact(starts)
	n := len(starts)
	count := make([]int, n+1)        // Fenwick: number of kept starts
	maxEnd := make([]int, n+1)       // Fenwick: largest kept end, by prefix
	prefixCount := func(i int) int { // kept starts among starts[:i]
		c := 0
		for ; i > 0; i -= i & -i {
			c += count[i]
		}
		return c
	}
	prefixMax := func(i int) int { // largest kept end among starts[:i]
		m := -1
		for ; i > 0; i -= i & -i {
			m = max(m, maxEnd[i])
		}
		return m
	}
	out := cands[:0:0]
	for _, f := range cands {
		i, _ := slices.BinarySearch(starts, f.Start)
		j, _ := slices.BinarySearch(starts, f.End)
		if prefixCount(j)-prefixCount(i) > 0 || prefixMax(i) > f.Start {
			continue
		}
		for k := i + 1; k <= n; k += k & -k {
			count[k]++
			maxEnd[k] = max(maxEnd[k], f.End)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Finding) int { return a.Start - b.Start })
	return out
}

// dedupeOverlaps drops findings overlapping an earlier, longer one.
func dedupeOverlaps(fs []Finding) []Finding {
	out := fs[:0]
	for _, f := range fs {
		if n := len(out); n > 0 && f.Start < out[n-1].End {
			if f.End-f.Start > out[n-1].End-out[n-1].Start {
				out[n-1] = f
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

// matchRule tries r at the anchor position pos (and up to r.back bytes
// before it) and returns the span of the secret.
func (s *Secrets) matchRule(r *secretRule, input string, pos int) (int, int, bool) {
	window := r.window
	if window == 0 {
		window = 300
	}
	lo := max(0, pos-r.back)
	for st := lo; st <= pos; st++ {
		if r.back > 0 && st < pos && st > 0 && isAlnum(input[st-1]) {
			continue
		}
		if r.leadB && st > 0 && (isAlnum(input[st-1]) || input[st-1] == '_') {
			continue
		}
		end := min(len(input), st+window)
		s.meter.add(end - st)
		m := r.re.FindStringSubmatchIndex(input[st:end])
		if m == nil {
			continue
		}
		if r.trailB && st+m[1] < len(input) && (isAlnum(input[st+m[1]]) || input[st+m[1]] == '_') {
			continue
		}
		a, b := st+m[0], st+m[1]
		switch {
		case r.group > 0 && m[2*r.group] >= 0:
			a, b = st+m[2*r.group], st+m[2*r.group+1]
		case r.group < 0: // first participating group
			for g := 1; 2*g < len(m); g++ {
				if m[2*g] >= 0 {
					a, b = st+m[2*g], st+m[2*g+1]
					break
				}
			}
		}
		if r.valid != nil && !r.valid(input[a:b]) {
			continue
		}
		return a, b, true
	}
	return 0, 0, false
}

var pemLabel = regexp.MustCompile(`^-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----`)

// pemEndLines lists the "-----END <label>-----" lines of an input by
// label (labels have no '-', so the label is the text up to the next
// "-----"), in ascending order, so that each BEGIN line finds its END with
// one lookup however many differently labelled BEGIN lines there are.
type pemEndLines map[string][]int

// indexPEMEndLines indexes input's END lines in one pass: a label's end is
// looked for only within the longest label pemLabel allows.
func indexPEMEndLines(input string) *pemEndLines {
	const maxLabel = 64
	x := pemEndLines{}
	for k := 0; k < len(input); {
		j := strings.Index(input[k:], "-----END ")
		if j < 0 {
			break
		}
		e := k + j
		k = e + 1
		rest := input[e+len("-----END ") : min(len(input), e+len("-----END ")+maxLabel)]
		if n := strings.Index(rest, "-----"); n >= 0 {
			x[rest[:n]] = append(x[rest[:n]], e)
		}
	}
	return &x
}

// next returns the first END line of label at or after from, or
// len(input) when there is none.
func (x *pemEndLines) next(label string, from, inputLen int) int {
	ends := (*x)[label]
	if i, _ := slices.BinarySearch(ends, from); i < len(ends) {
		return ends[i]
	}
	return inputLen
}

// matchPEM matches a private-key block starting at pos: the BEGIN line,
// then the END line with the same label. Without an END line, the header
// and the key material after it are reported (a truncated key still leaks).
func (s *Secrets) matchPEM(input string, pos int, ends *pemEndLines) (int, int, bool) {
	m := pemLabel.FindStringSubmatchIndex(input[pos:min(len(input), pos+80)])
	if m == nil {
		return 0, 0, false
	}
	label := input[pos+m[2] : pos+m[3]]
	body := pos + m[1]
	end := "-----END " + label + "-----"
	e := ends.next(label, body, len(input))
	if e < len(input) {
		j := e - body
		if base64Chars(input[body:body+j]) < 16 {
			// An empty or nearly empty block is a template, not a key: the
			// shortest real key (Ed25519, PKCS#8) has 64 characters of
			// base64 material; abbreviated keys keep at least a line.
			return 0, 0, false
		}
		return pos, e + len(end), true
	}
	// No END: key material runs while base64 characters and line breaks do.
	k := body
	for k < len(input) && k-body < 16384 {
		c := input[k]
		if isAlnum(c) || c == '+' || c == '/' || c == '=' || c == '\n' || c == '\r' || c == '\\' || c == ' ' {
			k++
			continue
		}
		break
	}
	if k-body < 64 {
		return 0, 0, false
	}
	return pos, k, true
}

// base64Chars counts the base64 alphabet characters in s.
func base64Chars(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; isAlnum(c) || c == '+' || c == '/' {
			n++
		}
	}
	return n
}

// secretKeywordSegments are identifier segments that make an assignment a
// secret by themselves.
var secretKeywordSegments = map[string]bool{
	"secret": true, "secrets": true, "token": true, "tokens": true, "password": true, "passwd": true,
	"pwd": true, "pass": true, "passphrase": true, "credential": true, "credentials": true,
	"apikey": true, "apisecret": true, "secretkey": true, "accesskey": true, "privatekey": true,
	"authtoken": true, "clientsecret": true, "secrete": true, "auth": true, "srt": true,
}

// notSecretSuffix ends identifiers that name something about a secret,
// not the secret itself: credentials_id, secret_name, token_url.
var notSecretSuffix = map[string]bool{
	"id": true, "ids": true, "name": true, "names": true, "url": true, "uri": true, "length": true,
	"len": true, "file": true, "path": true, "type": true, "format": true, "header": true, "field": true,
	"prefix": true, "endpoint": true, "size": true, "count": true, "version": true, "policy": true,
	"variable": true, "env": true, "ref": true, "expiry": true, "expires": true, "ttl": true,
}

// notSecretSegment marks identifiers of values that are not credentials.
var notSecretSegment = map[string]bool{"public": true, "csrf": true, "xsrf": true, "pub": true}

// keyQualifiers make a "key" segment secret: api_key, access_key, ...
var keyQualifiers = map[string]bool{
	"api": true, "access": true, "secret": true, "private": true, "client": true, "auth": true,
	"master": true, "signing": true, "encryption": true, "app": true, "account": true, "service": true,
	"license": true, "session": true,
}

// prepositions end the head of an identifier: in keyVaultToStoreSecrets
// or urlForToken the named thing comes before the preposition. ("in" is
// left out: sign_in_token is a token.)
var prepositions = map[string]bool{"to": true, "for": true, "of": true, "from": true, "with": true, "by": true}

// secretName reports whether an identifier names a secret.
func secretName(ident string) bool {
	segs := identSegments(ident)
	for i, sg := range segs {
		if prepositions[sg] && i > 0 {
			segs = segs[:i]
			break
		}
	}
	if len(segs) == 0 || notSecretSuffix[segs[len(segs)-1]] {
		return false
	}
	for _, sg := range segs {
		if notSecretSegment[sg] {
			return false
		}
	}
	for i, sg := range segs {
		if secretKeywordSegments[sg] {
			if sg == "auth" && i+1 < len(segs) && !secretKeywordSegments[segs[i+1]] && segs[i+1] != "key" {
				continue // auth_url, auth_type
			}
			return true
		}
		if sg == "key" && i > 0 && keyQualifiers[segs[i-1]] {
			return true
		}
	}
	return false
}

// identSegments splits an identifier on separators and camel case, lower
// casing each segment.
func identSegments(ident string) []string {
	var segs []string
	cur := make([]byte, 0, len(ident))
	flush := func() {
		if len(cur) > 0 {
			segs = append(segs, string(cur))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(ident); i++ {
		c := ident[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if i > 0 && ident[i-1] >= 'a' && ident[i-1] <= 'z' {
				flush()
			}
			cur = append(cur, c+32)
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
			cur = append(cur, c)
		default:
			flush()
		}
	}
	flush()
	return segs
}

// assignRE matches the operator and value after a secret-named
// identifier; group 1 is the operator, groups 3, 5 and 7 the value
// (double-quoted, single-quoted, bare).
var assignRE = regexp.MustCompile(`^["']?[ \t]*(=>|:=|==|!=|=|:|\()[ \t]*(?:(")([^"\n]{1,300})"|(')([^'\n]{1,300})'|()([A-Za-z0-9+/=_.~!@#$%^&*-]{1,300}))`)

// matchAssignment handles a secret keyword at pos: it finds the identifier
// around it, the assignment after it, and judges the value.
func (s *Secrets) matchAssignment(input string, pos int) (int, int, bool) {
	a := pos
	for a > 0 && isIdentByte(input[a-1]) && pos-a < 64 {
		a--
	}
	b := pos
	for b < len(input) && isIdentByte(input[b]) && b-pos < 64 {
		b++
	}
	ident := input[a:b]
	if !secretName(ident) {
		return 0, 0, false
	}
	rest := input[b:min(len(input), b+400)]
	s.meter.add(b - a + len(rest))
	m := assignRE.FindStringSubmatchIndex(rest)
	if m == nil {
		return 0, 0, false
	}
	var va, vb int
	quoted := false
	switch {
	case m[6] >= 0:
		va, vb, quoted = m[6], m[7], true
	case m[10] >= 0:
		va, vb, quoted = m[10], m[11], true
	default:
		va, vb = m[14], m[15]
	}
	v := rest[va:vb]
	if !quoted && (rest[m[2]:m[3]] == "(" || strings.HasPrefix(rest[vb:], "(")) {
		// secret(expr) or secret = f(...): an expression, not a literal.
		return 0, 0, false
	}
	if !quoted && a > 0 && vb < len(rest) && rest[vb] == input[a-1] && (rest[vb] == '"' || rest[vb] == '\'') {
		// "Name: value" inside one quoted string (an HTTP header passed
		// to curl -H, a YAML line in a string): the value is delimited.
		quoted = true
	}
	if elided(v, rest[vb:]) || !s.plausibleSecretValue(v, quoted) {
		return 0, 0, false
	}
	return b + va, b + vb, true
}

// elided reports whether a value is shortened for display ("ops_eyJz...",
// "abc12..[Redacted]", "sk-…"): what is shown is not the credential.
func elided(v, after string) bool {
	return strings.HasSuffix(v, "..") || strings.Contains(v, "...") ||
		strings.HasPrefix(after, "…") || strings.HasPrefix(after, "[") && placeholderWord(after[:min(len(after), 12)])
}

// plausibleSecretValue judges the value of a secret-named assignment.
func (s *Secrets) plausibleSecretValue(v string, quoted bool) bool {
	if len(v) < 8 || !notTemplated(v) || placeholderWord(v) || hasSequentialRun(v, 8) {
		return false
	}
	if strings.ContainsAny(v, " \t") || namesCredential(v, quoted) || hostOrPath(v) {
		return false
	}
	h := shannonEntropy(v)
	minH := s.minEntropy
	if isHexToken(v) {
		// Hex has 16 symbols: a random 16-character hex string has an
		// entropy near 3.3 and often below 3 (detect-secrets' hex limit
		// is 3.0 against 4.5 for base64).
		minH -= 0.5
	}
	if quoted {
		return h >= minH && charClasses(v) >= 2
	}
	// Unquoted: a bare token, long and random-looking, with a digit (a
	// bare word of letters is an identifier: password=credentialsId).
	return len(v) >= 12 && h >= minH+0.3 && charClasses(v) >= 2 && strings.ContainsAny(v, "0123456789") &&
		!strings.ContainsAny(v, "{}()[]<>")
}

// namesCredential reports whether v is an identifier that names a
// credential rather than being one: "basicAuthCredentials",
// "ADMIN_PASSWORD" (a reference to a variable or a vault entry), or, bare,
// testRSA2048PrivateKey. A quoted value with digits may be a weak
// password ("myPassword1"), so only bare values may have digits.
func namesCredential(v string, quoted bool) bool {
	if v == "" || !(v[0] >= 'a' && v[0] <= 'z' || v[0] >= 'A' && v[0] <= 'Z' || v[0] == '_') {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= '0' && c <= '9' && !quoted {
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	for _, sg := range identSegments(v) {
		if secretKeywordSegments[sg] || sg == "key" {
			return true
		}
	}
	return false
}

// capitalWords counts the runs of an upper-case letter and three or more
// lower-case ones: camel-case names have several (ReadUint16Length), a
// random base62 string seldom more than one.
func capitalWords(t string) int {
	n := 0
	for i := 0; i+3 < len(t); i++ {
		if t[i] >= 'A' && t[i] <= 'Z' {
			j := i + 1
			for j < len(t) && t[j] >= 'a' && t[j] <= 'z' {
				j++
			}
			if j-i-1 >= 3 {
				n++
			}
		}
	}
	return n
}

// hostOrPath reports whether v is a host name or URL path without a
// scheme ("api.github.com", "registry.internal/v2/auth"): lower-case
// dot-separated labels, the last one of letters, then an optional path.
func hostOrPath(v string) bool {
	host, _, _ := strings.Cut(v, "/")
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	for i := 0; i < len(tld); i++ {
		if tld[i] < 'a' || tld[i] > 'z' {
			return false
		}
	}
	return len(tld) >= 2
}

// isHexToken reports whether v is at least 16 hex digits with both
// letters and digits, or a UUID.
func isHexToken(v string) bool {
	if len(v) < 16 {
		return false
	}
	var letter, digit bool
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			letter = true
		case c == '-' && (i == 8 || i == 13 || i == 18 || i == 23) && len(v) == 36:
		default:
			return false
		}
	}
	return letter && digit
}

// hasSequentialRun reports whether s contains n or more consecutive
// characters each one more than the last ("12345678", "abcdefgh"), which
// a random value almost never does: such a value is a placeholder.
func hasSequentialRun(s string, n int) bool {
	run := 1
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1]+1 && isAlnum(s[i]) {
			run++
			if run >= n {
				return true
			}
		} else {
			run = 1
		}
	}
	return false
}

// gitlabRandomPart returns the part of a GitLab token after its prefix.
func gitlabRandomPart(t string) string {
	if strings.HasPrefix(t, "GR1348941") {
		return t[len("GR1348941"):]
	}
	if i := strings.IndexByte(t, '-'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// placeholders are words that mark a value as an example, not a secret.
var placeholders = []string{"example", "fake", "dummy", "sample", "placeholder", "changeme", "change_me",
	"your_", "your-", "yourkey", "insert", "_here", "-here", "xxxx", "****", "redacted", "todo", "lorem", "notreal", "not_real", "not-a-"}

func placeholderWord(v string) bool {
	l := strings.ToLower(v)
	for _, p := range placeholders {
		if strings.Contains(l, p) {
			return true
		}
	}
	switch l {
	case "password", "passwd", "secret", "token", "pass", "username", "user", "test", "none", "null", "true", "false":
		return true
	}
	return false
}

// notTemplated rejects values that are template or variable references.
func notTemplated(v string) bool {
	v = strings.Trim(v, `"'`)
	if v == "" {
		return false
	}
	switch {
	case strings.HasPrefix(v, "${"), strings.HasPrefix(v, "$("), strings.HasPrefix(v, "{{"),
		strings.HasPrefix(v, "<"), strings.HasPrefix(v, "%"), strings.HasPrefix(v, "["),
		strings.HasPrefix(v, "process.env"), strings.HasPrefix(v, "os.environ"), strings.HasPrefix(v, "env."):
		return false
	}
	if v[0] == '$' && len(v) > 1 && (v[1] == '_' || (v[1] >= 'A' && v[1] <= 'Z') || (v[1] >= 'a' && v[1] <= 'z')) {
		return false
	}
	return true
}

// notPlaceholderToken rejects vendor-shaped tokens that are obviously
// examples: EXAMPLE in them, or long runs of one character.
func notPlaceholderToken(t string) bool {
	if strings.Contains(t, "EXAMPLE") || strings.Contains(strings.ToLower(t), "xxxxxxxx") {
		return false
	}
	run := 1
	for i := 1; i < len(t); i++ {
		if t[i] == t[i-1] {
			run++
			if run >= 8 && t[i] != 'Z' {
				return false
			}
		} else {
			run = 1
		}
	}
	return true
}

// sequential reports whether s is mostly an alphabet or digit run
// ("abcdefgh...", "123456...").
func sequential(s string) bool {
	n := 0
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1]+1 || s[i] == s[i-1] {
			n++
		}
	}
	return n*2 > len(s)
}

// validJWT accepts a token whose header and payload decode to JSON objects.
func validJWT(t string) bool {
	parts := strings.SplitN(t, ".", 3)
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts[:2] {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
		if err != nil {
			return false
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return false
		}
	}
	return true
}

// validBasic accepts Basic credentials that decode to user:password.
func validBasic(t string) bool {
	b, err := base64.StdEncoding.DecodeString(t)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(t, "="))
		if err != nil {
			return false
		}
	}
	// RFC 7617: user-id ":" password, no control characters. A JSON object (the
	// header of a JWT sent under the wrong scheme) is not a user-id.
	i := strings.IndexByte(string(b), ':')
	if i < 0 || len(b) < 3 || b[0] == '{' || b[0] == '"' {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// validUserPass accepts user:password pairs whose secret part is not a
// placeholder or variable.
func validUserPass(t string) bool {
	i := strings.IndexByte(t, ':')
	if i < 0 {
		return false
	}
	t = strings.NewReplacer(`"`, "", "'", "").Replace(t)
	i = strings.IndexByte(t, ':')
	user, pass := unbrace(t[:i]), unbrace(t[i+1:])
	secret := pass
	if pass == "" {
		secret = user
	}
	if len(secret) < 6 || !notTemplated(secret) || !notTemplated(user+"x") || placeholderWord(secret) {
		return false
	}
	return !strings.ContainsAny(user+pass, "<>{}[]") && !strings.Contains(t, "$(") && charClasses(secret) >= 2
}

// unbrace removes one pair of braces around a value that is not a
// template name: "{k3Y-9x}" is the value k3Y-9x, while "{password}" and
// "{{ .Values.pass }}" keep their braces (and are then rejected).
func unbrace(v string) string {
	if len(v) < 3 || v[0] != '{' || v[len(v)-1] != '}' {
		return v
	}
	in := v[1 : len(v)-1]
	for i := 0; i < len(in); i++ {
		if c := in[i]; c >= '0' && c <= '9' {
			if !strings.ContainsAny(in, "{}$ ") {
				return in
			}
			break
		}
	}
	return v
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isIdentByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// RedactString returns input with every secret replaced by [REDACTED], and
// the findings (spans refer to input). An input larger than MaxInput is
// replaced whole (fail closed) with one finding.
func (s *Secrets) RedactString(input string) (string, []Finding) {
	if checkSize(len(input), s.maxInput) != nil {
		return RedactedPlaceholder, []Finding{tooLargeFinding("secrets", len(input))}
	}
	fs := s.scan(input)
	return redactSpans(input, fs), fs
}

// RedactJSON redacts every string value of the JSON document raw, and the
// scalar value of every field named like a secret (password, api_key,
// client_secret, ...), keeping keys, numbers, order and layout, so the
// output is valid JSON. Finding spans are byte offsets of the redacted
// values in raw.
func (s *Secrets) RedactJSON(raw []byte) ([]byte, []Finding, error) {
	if err := checkSize(len(raw), s.maxInput); err != nil {
		return nil, nil, err
	}
	return redactJSON(raw, s.scan, secretName, "secrets")
}

func tooLargeFinding(det string, n int) Finding {
	return Finding{Detector: det, Rule: "input-too-large", Kind: "unscanned", Severity: SeverityHigh,
		Confidence: 1, Start: 0, End: n, Explanation: "input too large to scan; redacted whole", Source: "rule"}
}

// matchJWT examines the run of token characters starting at the anchor at
// pos: header.payload[.signature] where header and payload start with
// "eyJ". It returns the span, whether it is a valid JWT, and the end of the
// run (later anchors inside it need no second look).
func matchJWT(input string, pos int) (int, int, bool, int) {
	re := pos
	for re < len(input) && (isAlnum(input[re]) || input[re] == '_' || input[re] == '-' || input[re] == '.' || input[re] == '=') {
		re++
	}
	if pos > 0 && (isAlnum(input[pos-1]) || input[pos-1] == '_') {
		return 0, 0, false, re
	}
	run := input[pos:re]
	// Try each "eyJ" segment start in the run whose next segment also
	// starts with "eyJ".
	for off := 0; off < len(run); {
		seg := run[off:]
		d1 := strings.IndexByte(seg, '.')
		if d1 < 0 {
			break
		}
		if strings.HasPrefix(seg, "eyJ") && d1 >= 11 && strings.HasPrefix(seg[d1+1:], "eyJ") {
			rest := seg[d1+1:]
			d2 := strings.IndexByte(rest, '.')
			end := len(rest)
			if d2 >= 0 {
				d3 := strings.IndexByte(rest[d2+1:], '.')
				end = len(rest)
				if d3 >= 0 {
					end = d2 + 1 + d3
				}
			}
			tok := seg[:d1+1+end]
			if d2 >= 0 && d2 < 11 {
				off += d1 + 1
				continue
			}
			if validJWT(strings.TrimRight(tok, "=.")) {
				a := pos + off
				return a, a + len(strings.TrimRight(tok, "=.")), true, re
			}
		}
		off += d1 + 1
	}
	return 0, 0, false, re
}
