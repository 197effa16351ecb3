package detect

import (
	"regexp"
	"slices"
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
	// anchored is ^(?:core), tried at anchor positions when atAnchor.
	anchored *regexp.Regexp
	// lits are literals one of which every match contains (ASCII
	// case-insensitively when fold); atAnchor means every match starts at
	// one of them. nil lits: no prefilter.
	lits     []string
	fold     bool
	atAnchor bool
}

const (
	refI  = `[iIıİ]` // Python's IGNORECASE also folds dotless ı and dotted İ to i
	refS  = `[` + pySpace + `]`
	refNS = pySpace // for use inside a negated class
)

func mustRef(name, kind, core string, leadB, trailB bool) refPattern {
	return refPattern{name: name, typeKey: kind, core: regexp.MustCompile(core),
		full: regexp.MustCompile(`^(?:` + core + `)$`), anchored: regexp.MustCompile(`^(?:` + core + `)`),
		leadB: leadB, trailB: trailB}
}

// withLits sets the pattern's literal prefilter.
func (p refPattern) withLits(fold, atAnchor bool, lits ...string) refPattern {
	p.lits, p.fold, p.atAnchor = lits, fold, atAnchor
	return p
}

// refAnchors finds the literal anchors of every reference pattern in one
// pass. It is immutable and safe for concurrent use.
type refAnchors struct {
	set     *literalSet
	pattern []int // per literal, its pattern
	n       int   // number of patterns
}

func newRefAnchors(ps []refPattern) *refAnchors {
	ra := &refAnchors{n: len(ps)}
	var lits []string
	var fold []bool
	for i, p := range ps {
		for _, l := range p.lits {
			lits = append(lits, l)
			fold = append(fold, p.fold)
			ra.pattern = append(ra.pattern, i)
		}
	}
	ra.set = newLiteralSet(lits, fold)
	return ra
}

// positions returns, per pattern, the sorted start positions of its
// literals in s, or nil when s holds text that Unicode case folding maps
// to ASCII letters (the prefilter would then be unsound and every pattern
// takes the full path). A pattern whose literals do not occur cannot
// match.
func (ra *refAnchors) positions(s string) [][]int {
	if hasFoldSensitive(s) {
		return nil
	}
	pos := make([][]int, ra.n)
	ra.set.each(s, func(lit, start int) bool {
		p := ra.pattern[lit]
		pos[p] = append(pos[p], start)
		return true
	})
	for _, ps := range pos {
		slices.Sort(ps)
	}
	return pos
}

// refPatterns builds the reference pattern table. Regexps are built from
// constants; the table is immutable once built.
func refPatterns() []refPattern {
	return []refPattern{
		mustRef("OpenAI API key", "openai_api_key", `sk-[A-Za-z0-9][A-Za-z0-9_-]{18,}`, true, true).
			withLits(false, true, "sk-"),
		mustRef("GitHub token", "github_token", `(?:ghp|ghs)_[A-Za-z0-9]{20,}`, true, true).
			withLits(false, true, "ghp_", "ghs_"),
		mustRef("AWS access key", "aws_access_key", `AKIA[A-Z0-9]{16}`, true, true).
			withLits(false, true, "AKIA"),
		mustRef("Azure key", "azure_key", `(?i)(?:accountkey|sharedaccesskey|azure[_-]?key)`+refS+`*[:=]`+refS+`*[A-Za-z0-9+/=]{20,}`, false, false).
			withLits(true, true, "accountkey", "sharedaccesskey", "azure"),
		mustRef("Bearer token", "bearer_token", `Bearer`+refS+`+[A-Za-z0-9._\-+/=]{16,}`, true, true).
			withLits(false, true, "Bearer"),
		{name: "PEM private key", typeKey: "private_key", pem: true, lits: []string{"-----BEGIN"}},
		mustRef("Connection string secret", "connection_string_secret", `(?i)(?:password|pwd|accountkey|sharedaccesss`+refI+`gnature)`+refS+`*=`+refS+`*[^;`+refNS+`]{4,}`, true, false).
			withLits(true, true, "password", "pwd", "accountkey", "sharedaccesss"),
		// Every match holds "bas" or (the URL form) an "@"; the URL form
		// starts before its "://", so this pattern is only gated by its
		// literals, not run at them.
		mustRef("Basic auth secret", "basic_auth", `(?i)(?:bas`+refI+`c`+refS+`+[A-Za-z0-9+/=]{8,}|[a-z][a-z0-9+.-]*://[^:/@`+refNS+`]+:[^@/`+refNS+`]+@)`, true, true).
			withLits(true, false, "bas", "@"),
		mustRef("JWT", "jwt", `eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9._-]{6,}\.[A-Za-z0-9._-]{6,}`, true, true).
			withLits(false, true, "eyJ"),
		// With dotless and dotted i excluded by the fold-sensitive check,
		// "ap[iı]" and "cl[iı]" start with the ASCII "api" and "cli".
		mustRef("Generic API secret", "generic_secret", `(?i)(?:ap`+refI+`[_-]?key|cl`+refI+`ent[_-]?secret|secret|token)`+refS+`*[:=]`+refS+`*['"]?[^`+refNS+`'";]{6,}`, true, false).
			withLits(true, true, "api", "cli", "secret", "token"),
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
	return p.findAt(s, from, nil, false)
}

// next returns the leftmost match of the core pattern starting at or after
// from. With prefiltered set, pos holds the sorted positions of the
// pattern's literals in s: a pattern whose literals are absent cannot
// match, and one whose matches start at a literal is tried only there,
// anchored, which finds the same leftmost match.
func (p *refPattern) next(s string, from int, pos []int, prefiltered bool) (int, int, bool) {
	if prefiltered && p.lits != nil {
		if len(pos) == 0 {
			return 0, 0, false
		}
		if p.atAnchor {
			i, _ := slices.BinarySearch(pos, from)
			for ; i < len(pos); i++ {
				if i > 0 && pos[i] == pos[i-1] {
					continue
				}
				if loc := p.anchored.FindStringIndex(s[pos[i]:]); loc != nil {
					return pos[i], pos[i] + loc[1], true
				}
			}
			return 0, 0, false
		}
	}
	loc := p.core.FindStringIndex(s[from:])
	if loc == nil {
		return 0, 0, false
	}
	return from + loc[0], from + loc[1], true
}

// findAt is find with the prefilter's literal positions (see next).
func (p *refPattern) findAt(s string, from int, pos []int, prefiltered bool) (int, int, bool) {
	if p.pem {
		if prefiltered && len(pos) == 0 {
			return 0, 0, false
		}
		return findPEM(s, from, nil)
	}
	for from <= len(s) {
		a, b, ok := p.next(s, from, pos, prefiltered)
		if !ok {
			return 0, 0, false
		}
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
	anchors  *refAnchors
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
	ps := refPatterns()
	return &CredentialRedactor{patterns: ps, anchors: newRefAnchors(ps), maxInput: opts.MaxInput}
}

// Redact returns s with every credential replaced by [REDACTED]. An input
// larger than MaxInput is replaced whole (fail closed).
func (r *CredentialRedactor) Redact(s string) string {
	if checkSize(len(s), r.maxInput) != nil {
		return RedactedPlaceholder
	}
	cur := s
	lits := r.anchors.positions(cur)
	for i := range r.patterns {
		p := &r.patterns[i]
		var b strings.Builder
		pos, from := 0, 0
		var noEnd map[string]int
		if p.pem {
			noEnd = map[string]int{}
		}
		for {
			a, e, ok := r.find(p, i, cur, from, lits, noEnd)
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
			// The text changed: find the literals again.
			lits = r.anchors.positions(cur)
		}
	}
	return cur
}

// find returns the next match of pattern p (number i) in s at or after
// from; lits are the literal positions of s from r.anchors, or nil for no
// prefilter.
func (r *CredentialRedactor) find(p *refPattern, i int, s string, from int, lits [][]int, noEnd map[string]int) (int, int, bool) {
	if lits != nil && len(lits[i]) == 0 {
		return 0, 0, false
	}
	if p.pem {
		return findPEM(s, from, noEnd)
	}
	if lits == nil {
		return p.find(s, from)
	}
	return p.findAt(s, from, lits[i], true)
}

// Matches returns every match of every pattern in s, in pattern order and
// then by position, each span covering the whole token.
func (r *CredentialRedactor) Matches(s string) []CredentialMatch {
	if checkSize(len(s), r.maxInput) != nil {
		return nil
	}
	return r.matches(s, r.anchors.positions(s))
}

// matches is Matches with the literal positions lits (nil: no prefilter).
func (r *CredentialRedactor) matches(s string, lits [][]int) []CredentialMatch {
	var out []CredentialMatch
	for i := range r.patterns {
		p := &r.patterns[i]
		from := 0
		var noEnd map[string]int
		if p.pem {
			noEnd = map[string]int{}
		}
		for {
			a, e, ok := r.find(p, i, s, from, lits, noEnd)
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
