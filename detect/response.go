package detect

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// ResponseCategory classifies a threat found in a tool's output. The
// values are the reference's.
type ResponseCategory string

// Response threat categories.
const (
	ResponseInstructionInjection ResponseCategory = "instruction_injection"
	ResponsePromptInjection      ResponseCategory = "prompt_injection"
	ResponseCredentialLeak       ResponseCategory = "credential_leak"
	ResponseDataExfiltration     ResponseCategory = "data_exfiltration"
	ResponseError                ResponseCategory = "error"
)

// ResponseThreat is one problem found in a tool response, in the
// reference's shape.
type ResponseThreat struct {
	Category    ResponseCategory `json:"category"`
	Description string           `json:"description"`
	// MatchedPattern is the matched text, except for credential leaks,
	// where it is the credential type (never the secret).
	MatchedPattern string `json:"matched_pattern"`
	// CredentialType is set for credential leaks.
	CredentialType string `json:"credential_type,omitempty"`
	// Start and End are the byte span of the match in the response.
	Start int `json:"start"`
	End   int `json:"end"`
}

// ResponseScan is the result of scanning one tool response.
type ResponseScan struct {
	Safe     bool
	ToolName string
	Threats  []ResponseThreat
}

// ResponseOptions configures a ResponseScanner.
type ResponseOptions struct {
	// MaxInputBytes bounds the response size scanned; a larger response is
	// reported unsafe with category "error" and not scanned. 0: 1 MiB.
	MaxInputBytes int
}

// ResponseScanner scans tool outputs before a model reads them:
// instruction tags, imperative injections, credential leaks and
// exfiltration URLs, with the reference MCPResponseScanner's rules and
// messages. It is safe for concurrent use and runs in time linear in the
// response.
type ResponseScanner struct {
	max   int
	rules *responseRules
}

var _ Detector = (*ResponseScanner)(nil)

// NewResponseScanner returns a scanner configured by opts.
func NewResponseScanner(opts ResponseOptions) (*ResponseScanner, error) {
	if opts.MaxInputBytes < 0 {
		return nil, fmt.Errorf("%w: MaxInputBytes is %d, want 0 or more", ErrInvalidMCPOptions, opts.MaxInputBytes)
	}
	if opts.MaxInputBytes == 0 {
		opts.MaxInputBytes = 1 << 20
	}
	return &ResponseScanner{max: opts.MaxInputBytes, rules: sharedResponseRules()}, nil
}

type responseRules struct {
	tags        []*regexp.Regexp
	imperatives []*regexp.Regexp
	impLits     [][]string // per imperative: lower-case literals, one must occur
	url         *regexp.Regexp
	urlWords    *regexp.Regexp
	creds       []refPattern
}

var sharedResponseRules = sync.OnceValue(func() *responseRules {
	s := `[` + pySpace + `]`
	i := `[iIıİ]` // the reference's IGNORECASE folds ı and İ to i
	fix := func(p string) string {
		p = strings.ReplaceAll(p, `\s`, s)
		return strings.ReplaceAll(p, "i", i)
	}
	return &responseRules{
		tags: []*regexp.Regexp{
			regexp.MustCompile(`(?i)<(?:important|system|instructions?|hidden|inject|admin|override|prompt|context|role)(?:[^\pL\pN_>][^>]*)?>`),
			regexp.MustCompile(`(?i)\[(?:system|admin|instructions?)\]`),
		},
		imperatives: []*regexp.Regexp{
			regexp.MustCompile(`(?i)` + fix(`ignore\s+(?:all\s+)?previous\s+(?:instructions?|context|rules?)`)),
			regexp.MustCompile(`(?i)` + fix(`(?:forget|disregard|override)\s+(?:all\s+)?(?:previous|above|prior|earlier)`)),
			regexp.MustCompile(`(?i)` + fix(`execute\s+this`)),
			regexp.MustCompile(`(?i)` + fix(`you\s+are\s+now`)),
			regexp.MustCompile(`(?i)` + fix(`new\s+(?:role|instruction|directive|persona)\s*:`)),
			regexp.MustCompile(`(?i)` + fix(`from\s+now\s+on`)),
			regexp.MustCompile(`(?i)` + fix(`do\s+not\s+(?:follow|obey|listen)`)),
		},
		impLits:  [][]string{{"ignore", "ıgnore", "İgnore"}, {"forget", "disregard", "override"}, {"execute"}, {"you"}, {"new"}, {"from"}, {"do"}},
		url:      regexp.MustCompile(`(?i)https?://[^` + pySpace + `<>'"]+`),
		urlWords: regexp.MustCompile(`(?i)(?:^|[^\pL\pN_])(?:api[_-]?key|token|secret|payload|data|dump|upload|exfil|webhook)(?:$|[^\pL\pN_])|webhook\.site|requestbin|pastebin|ngrok|transfer\.sh`),
		creds:    refPatterns(),
	}
})

const (
	descTag        = "Instruction tag detected in tool response."
	descTagStrip   = "Instruction tag stripped from tool response."
	descImperative = "Imperative instruction detected in tool response."
	descExfil      = "Potential data exfiltration URL detected in tool response."
)

// ScanResponse scans the text of one tool response from toolName ("" is
// reported as "unknown").
func (s *ResponseScanner) ScanResponse(ctx context.Context, text, toolName string) ResponseScan {
	if toolName == "" {
		toolName = "unknown"
	}
	res := ResponseScan{Safe: true, ToolName: toolName}
	if text == "" {
		return res
	}
	if err := ctx.Err(); err != nil {
		return ResponseScan{ToolName: toolName, Threats: []ResponseThreat{{Category: ResponseError,
			Description: "Response scan error — fail closed: " + err.Error(), Start: -1, End: -1}}}
	}
	if len(text) > s.max {
		return ResponseScan{ToolName: toolName, Threats: []ResponseThreat{{Category: ResponseError,
			Description: fmt.Sprintf("Response larger than the scan limit (%d bytes) — fail closed", s.max), Start: -1, End: -1}}}
	}
	r := s.rules
	add := func(c ResponseCategory, desc string, text string, a, b int) {
		res.Threats = append(res.Threats, ResponseThreat{Category: c, Description: desc, MatchedPattern: text, Start: a, End: b})
	}
	if strings.ContainsAny(text, "<[") {
		for _, re := range r.tags {
			for _, loc := range re.FindAllStringIndex(text, -1) {
				add(ResponseInstructionInjection, descTag, text[loc[0]:loc[1]], loc[0], loc[1])
			}
		}
	}
	lower := strings.ToLower(text)
	for k, re := range r.imperatives {
		if !containsAny(lower, r.impLits[k]) {
			continue
		}
		for _, loc := range re.FindAllStringIndex(text, -1) {
			add(ResponsePromptInjection, descImperative, text[loc[0]:loc[1]], loc[0], loc[1])
		}
	}
	for i := range r.creds {
		p := &r.creds[i]
		if !credentialChance(p.name, text, lower) {
			continue
		}
		for from := 0; from <= len(text); {
			a, b, ok := p.find(text, from)
			if !ok {
				break
			}
			res.Threats = append(res.Threats, ResponseThreat{Category: ResponseCredentialLeak,
				Description: p.name + " detected in tool response.", MatchedPattern: p.name,
				CredentialType: p.name, Start: a, End: b})
			if b <= a {
				b = a + 1
			}
			from = b
		}
	}
	if strings.Contains(text, "://") {
		for _, loc := range r.url.FindAllStringIndex(text, -1) {
			u := text[loc[0]:loc[1]]
			if r.urlWords.MatchString(u) {
				add(ResponseDataExfiltration, descExfil, u, loc[0], loc[1])
			}
		}
	}
	res.Safe = len(res.Threats) == 0
	return res
}

// SanitizeResponse removes the opening instruction tags from text, as the
// reference does (closing tags and the text between stay), and returns the
// removed tags as threats.
func (s *ResponseScanner) SanitizeResponse(text string) (string, []ResponseThreat) {
	if text == "" || !strings.ContainsAny(text, "<[") {
		return text, nil
	}
	if len(text) > s.max {
		return "", []ResponseThreat{{Category: ResponseError,
			Description: fmt.Sprintf("Response larger than the scan limit (%d bytes) — fail closed", s.max), Start: -1, End: -1}}
	}
	var stripped []ResponseThreat
	for _, re := range s.rules.tags {
		text = re.ReplaceAllStringFunc(text, func(m string) string {
			stripped = append(stripped, ResponseThreat{Category: ResponseInstructionInjection,
				Description: descTagStrip, MatchedPattern: m, Start: -1, End: -1})
			return ""
		})
	}
	return text, stripped
}

// Name implements Detector.
func (s *ResponseScanner) Name() string { return "response" }

// Scan implements Detector, scanning input as one tool response.
func (s *ResponseScanner) Scan(ctx context.Context, input string) ([]Finding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(input) > s.max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInputTooLarge, len(input), s.max)
	}
	res := s.ScanResponse(ctx, input, "")
	fs := make([]Finding, 0, len(res.Threats))
	for _, t := range res.Threats {
		f := Finding{Detector: "response", Rule: string(t.Category), Kind: string(t.Category),
			Severity: SeverityHigh, Confidence: 0.7, Start: t.Start, End: t.End,
			Explanation: t.Description, Source: "rule"}
		switch t.Category {
		case ResponseInstructionInjection, ResponsePromptInjection:
			f.Explanation = t.Description + " Matched: " + trimForExplanation(t.MatchedPattern)
		case ResponseCredentialLeak:
			f.Severity = SeverityCritical
			f.Suggestion = "redact the credential before the model sees it"
		case ResponseError:
			f.Severity = SeverityCritical
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func trimForExplanation(s string) string { return firstRunes(s, 80) }

func containsAny(s string, lits []string) bool {
	for _, l := range lits {
		if strings.Contains(s, l) {
			return true
		}
	}
	return false
}

// credentialChance is a literal prefilter for the reference credential
// patterns: false means the pattern cannot match text. Unknown pattern
// names always run.
func credentialChance(name, text, lower string) bool {
	switch name {
	case "OpenAI API key":
		return strings.Contains(text, "sk-")
	case "GitHub token":
		return strings.Contains(text, "ghp_") || strings.Contains(text, "ghs_")
	case "AWS access key":
		return strings.Contains(text, "AKIA")
	case "Azure key", "Generic API secret":
		return strings.ContainsAny(text, ":=")
	case "Bearer token":
		return strings.Contains(text, "Bearer")
	case "PEM private key":
		return strings.Contains(text, "-----BEGIN")
	case "Connection string secret":
		return strings.Contains(text, "=")
	case "Basic auth secret":
		return strings.Contains(text, "://") || strings.Contains(lower, "bas")
	case "JWT":
		return strings.Contains(text, "eyJ")
	}
	return true
}
