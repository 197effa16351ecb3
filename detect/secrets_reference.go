package detect

import (
	"regexp"
	"strings"
)

// The reference redactor's ten patterns, in its order. Each is compiled as
// an RE2 "core" without the \b assertions; Python's Unicode-aware word
// boundaries and the backtracking they cause are applied in code, so a
// non-ASCII letter after a token prevents a match exactly as in the
// reference, and non-ASCII spaces count as spaces.
type refPattern struct {
	name    string
	core    *regexp.Regexp
	full    *regexp.Regexp // ^(?:core)$, to re-check a shortened match
	leadB   bool           // \b before the match
	trailB  bool           // \b after the match
	pem     bool           // handled by findPEM
	typeKey string         // kind for Finding.Kind
}

const (
	refI  = `[iIıİ]` // Python's IGNORECASE also folds dotless ı and dotted İ to i
	refS  = `[` + pySpace + `]`
	refNS = pySpace // for use inside a negated class
)

func mustRef(name, kind, core string, leadB, trailB bool) refPattern {
	return refPattern{name: name, typeKey: kind, core: regexp.MustCompile(core),
		full: regexp.MustCompile(`^(?:` + core + `)$`), leadB: leadB, trailB: trailB}
}

// refPatterns builds the reference pattern table. Regexps are built from
// constants; the table is immutable once built.
func refPatterns() []refPattern {
	return []refPattern{
		mustRef("OpenAI API key", "openai_api_key", `sk-[A-Za-z0-9][A-Za-z0-9_-]{18,}`, true, true),
		mustRef("GitHub token", "github_token", `(?:ghp|ghs)_[A-Za-z0-9]{20,}`, true, true),
		mustRef("AWS access key", "aws_access_key", `AKIA[A-Z0-9]{16}`, true, true),
		mustRef("Azure key", "azure_key", `(?i)(?:accountkey|sharedaccesskey|azure[_-]?key)`+refS+`*[:=]`+refS+`*[A-Za-z0-9+/=]{20,}`, false, false),
		mustRef("Bearer token", "bearer_token", `Bearer`+refS+`+[A-Za-z0-9._\-+/=]{16,}`, true, true),
		{name: "PEM private key", typeKey: "private_key", pem: true},
		mustRef("Connection string secret", "connection_string_secret", `(?i)(?:password|pwd|accountkey|sharedaccesss`+refI+`gnature)`+refS+`*=`+refS+`*[^;`+refNS+`]{4,}`, true, false),
		mustRef("Basic auth secret", "basic_auth", `(?i)(?:bas`+refI+`c`+refS+`+[A-Za-z0-9+/=]{8,}|[a-z][a-z0-9+.-]*://[^:/@`+refNS+`]+:[^@/`+refNS+`]+@)`, true, true),
		mustRef("JWT", "jwt", `eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9._-]{6,}\.[A-Za-z0-9._-]{6,}`, true, true),
		mustRef("Generic API secret", "generic_secret", `(?i)(?:ap`+refI+`[_-]?key|cl`+refI+`ent[_-]?secret|secret|token)`+refS+`*[:=]`+refS+`*['"]?[^`+refNS+`'";]{6,}`, true, false),
	}
}

var (
	pemBegin = regexp.MustCompile(`^-----BEGIN` + refS + `+((?:RSA` + refS + `+|EC` + refS + `+|OPENSSH` + refS + `+)?PRIVATE` + refS + `+KEY)-----`)
	pemEnd   = regexp.MustCompile(`^-----END` + refS + `+`)
)

// maxBoundaryTries bounds how many shorter ends are tried for one match
// when the greedy end is not a word boundary (the reference backtracks);
// past it the greedy match is kept, which redacts more, never less.
const maxBoundaryTries = 64

// find returns the next match of p in s at or after from, with the
// reference's semantics.
func (p *refPattern) find(s string, from int) (int, int, bool) {
	if p.pem {
		return findPEM(s, from, nil)
	}
	for from <= len(s) {
		loc := p.core.FindStringIndex(s[from:])
		if loc == nil {
			return 0, 0, false
		}
		a, b := from+loc[0], from+loc[1]
		if p.leadB && !pyBoundary(s, a) {
			from = nextRune(s, a)
			continue
		}
		if !p.trailB || pyBoundary(s, b) {
			return a, b, true
		}
		// Backtrack: the longest shorter end that is a boundary and still
		// matches the whole pattern.
		tries := 0
		for e := b - 1; e > a && tries < maxBoundaryTries; e-- {
			if !pyBoundary(s, e) {
				continue
			}
			tries++
			if p.full.MatchString(s[a:e]) {
				return a, e, true
			}
		}
		if tries >= maxBoundaryTries {
			return a, b, true
		}
		from = nextRune(s, a)
	}
	return 0, 0, false
}

func nextRune(s string, i int) int {
	if i >= len(s) {
		return len(s) + 1
	}
	for i++; i < len(s) && s[i]&0xC0 == 0x80; i++ {
	}
	return i
}

// findPEM finds a private-key block: a BEGIN line, then the first END line
// carrying exactly the same label (the reference's back-reference, done
// without one). noEnd, if not nil, remembers labels known to have no END
// after a position, keeping repeated searches linear.
func findPEM(s string, from int, noEnd map[string]int) (int, int, bool) {
	for from < len(s) {
		i := strings.Index(s[from:], "-----BEGIN")
		if i < 0 {
			return 0, 0, false
		}
		a := from + i
		m := pemBegin.FindStringSubmatchIndex(s[a:])
		if m == nil {
			from = a + 1
			continue
		}
		label := s[a+m[2] : a+m[3]]
		if p, ok := noEnd[label]; ok && p <= a {
			from = a + 1
			continue
		}
		k := a + m[1]
		for k < len(s) {
			j := strings.Index(s[k:], "-----END")
			if j < 0 {
				break
			}
			e := k + j
			if em := pemEnd.FindStringIndex(s[e:]); em != nil {
				rest := s[e+em[1]:]
				if strings.HasPrefix(rest, label) && strings.HasPrefix(rest[len(label):], "-----") {
					return a, e + em[1] + len(label) + 5, true
				}
			}
			k = e + 1
		}
		if noEnd != nil {
			noEnd[label] = a
		}
		from = a + 1
	}
	return 0, 0, false
}

// extendResidue widens a match [a,b) so that redaction removes the whole
// token: trailing '=' padding, and the closing quote of a quoted value whose
// opening quote is inside the match. The reference leaves these behind.
func extendResidue(s string, a, b int) int {
	for b < len(s) && s[b] == '=' {
		b++
	}
	if b < len(s) && (s[b] == '\'' || s[b] == '"') && strings.IndexByte(s[a:b], s[b]) >= 0 {
		b++
	}
	return b
}

// CredentialMatch is one match of a reference credential pattern.
type CredentialMatch struct {
	// Name is the reference pattern name, e.g. "OpenAI API key".
	Name string `json:"name"`
	// Start and End are the byte span in the input.
	Start, End int
}

// CredentialRedactor reproduces the reference's CredentialRedactor: its ten
// patterns, applied in order to the progressively redacted string, with one
// deliberate difference: the whole token is removed, leaving no '='
// padding or closing quote behind. It is safe for concurrent use. For the
// wider set of credential families use [Secrets].
type CredentialRedactor struct {
	patterns []refPattern
	maxInput int
}

// CredentialRedactorOptions configures a CredentialRedactor.
type CredentialRedactorOptions struct {
	// MaxInput is the largest input, in bytes, that is redacted; larger
	// inputs are replaced whole by the placeholder. 0 means DefaultMaxInput.
	MaxInput int
}

// NewCredentialRedactor returns a redactor with the reference's patterns.
func NewCredentialRedactor(opts CredentialRedactorOptions) *CredentialRedactor {
	return &CredentialRedactor{patterns: refPatterns(), maxInput: opts.MaxInput}
}

// Redact returns s with every credential replaced by [REDACTED]. An input
// larger than MaxInput is replaced whole (fail closed).
func (r *CredentialRedactor) Redact(s string) string {
	if checkSize(len(s), r.maxInput) != nil {
		return RedactedPlaceholder
	}
	cur := s
	for i := range r.patterns {
		p := &r.patterns[i]
		var b strings.Builder
		pos, from := 0, 0
		var noEnd map[string]int
		if p.pem {
			noEnd = map[string]int{}
		}
		for {
			var a, e int
			var ok bool
			if p.pem {
				a, e, ok = findPEM(cur, from, noEnd)
			} else {
				a, e, ok = p.find(cur, from)
			}
			if !ok {
				break
			}
			e = extendResidue(cur, a, e)
			if b.Cap() == 0 {
				b.Grow(len(cur))
			}
			b.WriteString(cur[pos:a])
			b.WriteString(RedactedPlaceholder)
			pos, from = e, e
			if e == a {
				from = nextRune(cur, e)
			}
		}
		if pos > 0 {
			b.WriteString(cur[pos:])
			cur = b.String()
		}
	}
	return cur
}

// Matches returns every match of every pattern in s, in pattern order and
// then by position, each span covering the whole token.
func (r *CredentialRedactor) Matches(s string) []CredentialMatch {
	if checkSize(len(s), r.maxInput) != nil {
		return nil
	}
	var out []CredentialMatch
	for i := range r.patterns {
		p := &r.patterns[i]
		from := 0
		var noEnd map[string]int
		if p.pem {
			noEnd = map[string]int{}
		}
		for {
			var a, e int
			var ok bool
			if p.pem {
				a, e, ok = findPEM(s, from, noEnd)
			} else {
				a, e, ok = p.find(s, from)
			}
			if !ok {
				break
			}
			e = extendResidue(s, a, e)
			out = append(out, CredentialMatch{Name: p.name, Start: a, End: e})
			from = max(e, a+1)
		}
	}
	return out
}

// Types returns the names of the patterns that match s, deduplicated, in
// pattern order.
func (r *CredentialRedactor) Types(s string) []string {
	var out []string
	for _, m := range r.Matches(s) {
		if len(out) == 0 || out[len(out)-1] != m.Name {
			out = append(out, m.Name)
		}
	}
	return out
}

// ContainsCredentials reports whether any pattern matches s.
func (r *CredentialRedactor) ContainsCredentials(s string) bool {
	return len(r.Matches(s)) > 0
}

// RedactValue redacts every string inside v, recursing through maps and
// slices as decoded by encoding/json; other values are returned unchanged.
// It returns a new value and never modifies v.
func (r *CredentialRedactor) RedactValue(v any) any {
	return redactValue(v, r.Redact, 0)
}

// maxDepth bounds recursion over nested values.
const maxDepth = 10000

func redactValue(v any, redact func(string) string, depth int) any {
	if depth > maxDepth {
		return RedactedPlaceholder
	}
	switch x := v.(type) {
	case string:
		return redact(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactValue(e, redact, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e, redact, depth+1)
		}
		return out
	default:
		return v
	}
}

// RedactJSON redacts every string value of the JSON document raw with the
// reference patterns, keeping keys, numbers and layout, so the output is
// valid JSON. Findings carry the span of the redacted string in raw.
func (r *CredentialRedactor) RedactJSON(raw []byte) ([]byte, []Finding, error) {
	if err := checkSize(len(raw), r.maxInput); err != nil {
		return nil, nil, err
	}
	scan := func(s string) []Finding {
		var fs []Finding
		for _, m := range r.Matches(s) {
			fs = append(fs, Finding{Detector: "secrets", Rule: m.Name, Kind: "credential",
				Severity: SeverityHigh, Confidence: 0.9, Start: m.Start, End: m.End,
				Explanation: m.Name + " found", Source: "rule"})
		}
		return fs
	}
	return redactJSON(raw, scan, nil, "secrets")
}
