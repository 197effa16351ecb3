package detect

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
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
	// Secrets, if set, also reports as credential leaks the credentials
	// this detector finds (every kind it knows, such as an AWS secret
	// access key assigned by name, which the reference's nine patterns
	// miss), except where a reference pattern already covers the span.
	// Their CredentialType is the finding's Kind. nil: only the
	// reference's patterns, as the reference reports them.
	Secrets *Secrets
	// Injection, if set, also judges each response as untrusted data
	// with this detector's rules and its model's data head (see
	// [Injection.CheckChannel] with [ChannelData]). A rule finding is a
	// prompt_injection threat with its span, unless a threat of the
	// reference's rules covers it; the data head's verdict, which is about
	// the whole response, is a prompt_injection threat with Start and End
	// -1 (it cannot be cut out: a sanitizing caller must block). The
	// prompt head's verdict is left out: in data it also fires on
	// instructions written for people (a README's install steps). A
	// failed check is an error threat (fail closed). nil: the reference's
	// rules only.
	Injection *Injection
}

// ResponseScanner scans tool outputs before a model reads them:
// instruction tags, imperative injections, credential leaks and
// exfiltration URLs, with the reference MCPResponseScanner's rules and
// messages. It is safe for concurrent use and runs in time linear in the
// response.
type ResponseScanner struct {
	max     int
	rules   *responseRules
	secrets *Secrets   // nil: the reference's credential patterns only
	inj     *Injection // nil: the reference's injection rules only
	meter   *workMeter // nil except in tests
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
	return &ResponseScanner{max: opts.MaxInputBytes, rules: sharedResponseRules(), secrets: opts.Secrets, inj: opts.Injection}, nil
}

type responseRules struct {
	tags        []*regexp.Regexp
	imperatives []*regexp.Regexp
	impLits     [][]string // per imperative: lower-case literals, one must occur
	// impAnchored is ^(?:imperative), tried where an imperative's ASCII
	// literal starts (every match starts at one, in text without
	// letters that Unicode case folding maps to ASCII); impBytes holds
	// the bytes that can occur in its match and impMax bounds the runes
	// other than spaces in a match (see impWindow).
	impAnchored []*regexp.Regexp
	impBytes    []*[256]bool
	impMax      []int
	// impSet holds the imperatives' ASCII literals and "http" (where
	// every url match starts), found in one pass.
	impSet   *literalSet
	impOf    []int // per impSet literal, its imperative; httpLit for "http"
	impLen   []int // per impSet literal, its length
	url      *regexp.Regexp
	urlWords *regexp.Regexp
	// urlLits holds literals one of which every urlWords match contains.
	urlLits  *literalSet
	creds    []refPattern
	credLits *refAnchors
}

var sharedResponseRules = sync.OnceValue(func() *responseRules {
	s := `[` + pySpace + `]`
	i := `[iIıİ]` // the reference's IGNORECASE folds ı and İ to i
	creds := refPatterns()
	fix := func(p string) string {
		p = strings.ReplaceAll(p, `\s`, s)
		return strings.ReplaceAll(p, "i", i)
	}
	rr := &responseRules{
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
		urlLits: newLiteralSet([]string{"api", "token", "secret", "payload", "data", "dump", "upload", "exfil",
			"webhook", "requestbin", "pastebin", "ngrok", "transfer.sh"}, []bool{true, true, true, true, true, true, true, true, true, true, true, true, true}),
		creds:    creds,
		credLits: newRefAnchors(creds),
	}
	for _, re := range rr.imperatives {
		expr := re.String()
		rr.impAnchored = append(rr.impAnchored, regexp.MustCompile(`^(?:`+expr+`)`))
		rr.impBytes = append(rr.impBytes, matchBytes(expr))
		rr.impMax = append(rr.impMax, maxNonSpaceRunes(expr))
	}
	var lits []string
	var fold []bool
	for k, ls := range rr.impLits {
		for _, l := range ls {
			if isASCIIString(l) {
				lits = append(lits, l)
				fold = append(fold, true)
				rr.impOf = append(rr.impOf, k)
				rr.impLen = append(rr.impLen, len(l))
			}
		}
	}
	lits = append(lits, "http")
	fold = append(fold, true)
	rr.impOf = append(rr.impOf, httpLit)
	rr.impLen = append(rr.impLen, len("http"))
	rr.impSet = newLiteralSet(lits, fold)
	return rr
})

// mayHaveTag reports whether text may hold a match of responseRules.tags:
// every match is "<" or "[" followed by one of the tag words (the singular
// "instruction" covers "instructions"), ASCII case-insensitively when text
// has no letter that Unicode case folding maps to ASCII (with one,
// foldSensitive, the answer is true whenever "<" or "[" occurs).
func mayHaveTag(text string, foldSensitive bool) bool {
	angle := [...]string{"important", "system", "instruction", "hidden", "inject", "admin", "override", "prompt", "context", "role"}
	bracket := [...]string{"system", "admin", "instruction"}
	return tagWordAfter(text, '<', angle[:], foldSensitive) ||
		tagWordAfter(text, '[', bracket[:], foldSensitive)
}

// tagWordAfter reports whether some c in text is followed by one of words
// (see mayHaveTag).
func tagWordAfter(text string, c byte, words []string, foldSensitive bool) bool {
	for i := 0; i < len(text); i++ {
		j := strings.IndexByte(text[i:], c)
		if j < 0 {
			return false
		}
		if foldSensitive {
			return true
		}
		i += j
		for _, w := range words {
			if len(text)-i-1 >= len(w) && asciiEqualFold(text[i+1:i+1+len(w)], w) {
				return true
			}
		}
	}
	return false
}

// asciiEqualFold reports whether s equals the lower-case ASCII word w,
// ASCII case-insensitively (len(s) == len(w)).
func asciiEqualFold(s, w string) bool {
	for i := 0; i < len(w); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// impHit is where a literal of imperative k occurs: text[at:end].
type impHit struct{ k, at, end int }

// impWindow returns the end of the part of text, from at, that holds every
// match starting at at of a pattern whose matches hold only bytes in
// inMatch and at most maxRunes runes other than Python spaces: the first
// byte not in inMatch, or the start of the rune past maxRunes such runes.
// Matching the anchored pattern on text[at:end] gives the match that
// matching on text[at:] gives: no match is cut, and the pattern asserts
// nothing about where its input ends.
func impWindow(text string, at int, inMatch *[256]bool, maxRunes int) int {
	n := 0
	for i := at; i < len(text); {
		c := text[i]
		if !inMatch[c] {
			return i
		}
		if c < utf8.RuneSelf {
			if !isPySpace(rune(c)) {
				if n++; n > maxRunes {
					return i
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isPySpace(r) {
			if n++; n > maxRunes {
				return i
			}
		}
		i += size
	}
	return len(text)
}

// maxNonSpaceRunes bounds the number of runes other than Python spaces
// (pySpace) in a match of expr; it panics when there is no bound or expr
// does not parse (it is called on the package's own patterns).
func maxNonSpaceRunes(expr string) int {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		panic(err)
	}
	const unbounded = 1 << 30
	var walk func(*syntax.Regexp) int
	walk = func(re *syntax.Regexp) int {
		switch re.Op {
		case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
			syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			return 0
		case syntax.OpLiteral:
			return len(re.Rune)
		case syntax.OpCharClass:
			for i := 0; i+1 < len(re.Rune); i += 2 {
				for c := re.Rune[i]; c <= re.Rune[i+1]; c++ {
					if !isPySpace(c) {
						return 1
					}
				}
			}
			return 0
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			return 1
		case syntax.OpCapture:
			return walk(re.Sub[0])
		case syntax.OpQuest:
			return walk(re.Sub[0])
		case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
			m := walk(re.Sub[0])
			if m == 0 {
				return 0
			}
			if re.Op != syntax.OpRepeat || re.Max < 0 {
				return unbounded
			}
			return min(m*re.Max, unbounded)
		case syntax.OpConcat:
			n := 0
			for _, sub := range re.Sub {
				n = min(n+walk(sub), unbounded)
			}
			return n
		case syntax.OpAlternate:
			n := 0
			for _, sub := range re.Sub {
				n = max(n, walk(sub))
			}
			return n
		}
		return unbounded
	}
	n := walk(re)
	if n >= unbounded {
		panic("detect: no bound on the runes of " + expr)
	}
	return n
}

// httpLit marks the "http" literal of responseRules.impSet.
const httpLit = -1

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
	foldSensitive := hasFoldSensitive(text)
	if mayHaveTag(text, foldSensitive) {
		for _, re := range r.tags {
			s.meter.add(len(text))
			for _, loc := range re.FindAllStringIndex(text, -1) {
				add(ResponseInstructionInjection, descTag, text[loc[0]:loc[1]], loc[0], loc[1])
			}
		}
	}
	// Which imperatives may match: one of their literals occurs (ASCII
	// case-insensitively, or after Unicode lower-casing when the text has
	// letters that fold to ASCII). The same pass finds where "http"
	// occurs, for the URL rule.
	var may uint64
	var httpBuf [16]int
	httpAt := httpBuf[:0]
	var hitBuf [32]impHit
	hits := hitBuf[:0] // with !foldSensitive: where imperatives' literals start
	s.meter.add(len(text))
	scheme := strings.Contains(text, "://")
	if foldSensitive {
		lower := strings.ToLower(text)
		for k := range r.imperatives {
			if containsAny(lower, r.impLits[k]) {
				may |= 1 << k
			}
		}
	} else {
		r.impSet.each(text, func(lit, start int) bool {
			switch k := r.impOf[lit]; {
			case k != httpLit:
				may |= 1 << k
				hits = append(hits, impHit{k: k, at: start, end: start + r.impLen[lit]})
			case scheme:
				httpAt = append(httpAt, start)
			}
			return true
		})
	}
	if foldSensitive {
		for k, re := range r.imperatives {
			if may&(1<<k) == 0 {
				continue
			}
			s.meter.add(len(text))
			for _, loc := range re.FindAllStringIndex(text, -1) {
				add(ResponsePromptInjection, descImperative, text[loc[0]:loc[1]], loc[0], loc[1])
			}
		}
	} else if len(hits) > 0 {
		slices.SortFunc(hits, func(a, b impHit) int {
			return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.at, b.at))
		})
		end, k := 0, -1 // end of the last match of imperative k
		for _, h := range hits {
			if h.k != k {
				k, end = h.k, 0
			}
			if h.at < end {
				continue // inside the last match (or tried already)
			}
			end = h.at + 1
			// Every imperative's literal is followed by \s+.
			if c, _ := utf8.DecodeRuneInString(text[h.end:]); !isPySpace(c) {
				continue
			}
			w := impWindow(text, h.at, r.impBytes[k], r.impMax[k])
			s.meter.add(w - h.at + 1)
			if loc := r.impAnchored[k].FindStringIndex(text[h.at:w]); loc != nil {
				a, b := h.at, h.at+loc[1]
				add(ResponsePromptInjection, descImperative, text[a:b], a, b)
				end = b
			}
		}
	}
	s.meter.add(len(text))
	lits := r.credLits.positions(text)
	for i := range r.creds {
		p := &r.creds[i]
		var pos []int
		if lits != nil {
			if len(lits[i]) == 0 {
				continue // the pattern's literals are absent: it cannot match
			}
			pos = lits[i]
		}
		sc := newRefScan(len(text), s.meter)
		for from := 0; from <= len(text); {
			a, b, ok := p.findAt(text, from, pos, lits != nil, sc)
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
	if s.inj != nil {
		s.judgeInjection(ctx, text, &res)
	}
	if s.secrets != nil {
		ref := len(res.Threats)
		for _, f := range s.secrets.scan(text) {
			if covered(res.Threats[:ref], f.Start, f.End, ResponseCredentialLeak, ResponseCredentialLeak) {
				continue
			}
			res.Threats = append(res.Threats, ResponseThreat{Category: ResponseCredentialLeak,
				Description: f.Explanation + " in tool response.", MatchedPattern: f.Kind,
				CredentialType: f.Kind, Start: f.Start, End: f.End})
		}
	}
	if scheme {
		s.meter.add(len(text))
		for _, loc := range r.urls(text, foldSensitive, httpAt) {
			u := text[loc[0]:loc[1]]
			s.meter.add(2 * len(u))
			if (hasFoldSensitive(u) || r.urlLits.contains(u)) && r.urlWords.MatchString(u) {
				add(ResponseDataExfiltration, descExfil, u, loc[0], loc[1])
			}
		}
	}
	res.Safe = len(res.Threats) == 0
	return res
}

// judgeInjection adds the injection detector's rule findings and its
// data head's verdict on text to res (see ResponseOptions.Injection).
func (s *ResponseScanner) judgeInjection(ctx context.Context, text string, res *ResponseScan) {
	v, err := s.inj.CheckChannel(ctx, text, nil, ChannelData)
	if err != nil {
		res.Threats = append(res.Threats, ResponseThreat{Category: ResponseError,
			Description: "Response injection check failed — fail closed: " + err.Error(), Start: -1, End: -1})
		return
	}
	ref := len(res.Threats)
	for _, f := range v.Findings {
		switch {
		case f.Rule == "model":
			continue // the prompt head
		case isMarkdownDelimiter(f.Rule) && s.inj.sensitivity != SensitivityStrict:
			continue // not an injection on its own (present when a head fired)
		case f.Rule == "model:data":
			res.Threats = append(res.Threats, ResponseThreat{Category: ResponsePromptInjection,
				Description: f.Explanation, MatchedPattern: f.Rule, Start: -1, End: -1})
		case f.Start >= 0 && f.Start <= f.End && f.End <= len(text):
			if covered(res.Threats[:ref], f.Start, f.End, ResponseInstructionInjection, ResponsePromptInjection) {
				continue
			}
			res.Threats = append(res.Threats, ResponseThreat{Category: ResponsePromptInjection,
				Description: f.Explanation, MatchedPattern: text[f.Start:f.End], Start: f.Start, End: f.End})
		default:
			res.Threats = append(res.Threats, ResponseThreat{Category: ResponsePromptInjection,
				Description: f.Explanation, MatchedPattern: f.Rule, Start: -1, End: -1})
		}
	}
}

// covered reports whether a threat among threats of category a or b
// overlaps the span [start, end).
func covered(threats []ResponseThreat, start, end int, a, b ResponseCategory) bool {
	for _, t := range threats {
		if (t.Category == a || t.Category == b) && t.Start < end && start < t.End {
			return true
		}
	}
	return false
}

// urls returns the spans of r.url's matches in text, as FindAllStringIndex
// does, trying the anchored pattern only at httpAt, the sorted offsets of
// "http" (in any case) in text. Text with letters that Unicode case
// folding maps to ASCII (foldSensitive) takes the regular expression.
func (r *responseRules) urls(text string, foldSensitive bool, httpAt []int) [][]int {
	if foldSensitive {
		return r.url.FindAllStringIndex(text, -1)
	}
	var out [][]int
	end := 0
	for _, p := range httpAt {
		if p < end {
			continue
		}
		if e := urlEnd(text, p); e > 0 {
			out = append(out, []int{p, e})
			end = e
		}
	}
	return out
}

// urlEnd matches `(?i)https?://[^space<>'"]+` (spaces as Python's \s) at
// p, where text has "http" in some case, and returns the end, or 0.
func urlEnd(text string, p int) int {
	i := p + 4
	if i < len(text) && (text[i] == 's' || text[i] == 'S') {
		i++
	}
	if !strings.HasPrefix(text[i:], "://") {
		return 0
	}
	i += 3
	start := i
	for i < len(text) {
		if c := text[i]; c < utf8.RuneSelf {
			if c < 64 && urlStopASCII>>c&1 != 0 {
				break
			}
			i++
			continue
		}
		c, n := utf8.DecodeRuneInString(text[i:])
		if isPySpace(c) {
			break
		}
		i += n
	}
	if i == start {
		return 0
	}
	return i
}

// urlStopASCII has bit c set for each ASCII byte c that ends a URL: the
// ASCII characters of pySpace and <, >, ' and " (all below 64).
const urlStopASCII = 1<<'\t' | 1<<'\n' | 1<<'\v' | 1<<'\f' | 1<<'\r' | 0xf<<0x1c | 1<<' ' |
	1<<'<' | 1<<'>' | 1<<'\'' | 1<<'"'

// isPySpace reports whether c is in pySpace.
func isPySpace(c rune) bool {
	switch {
	case c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == ' ',
		c >= 0x1c && c <= 0x1f, c == 0x85, c == 0xa0, c == 0x1680, c >= 0x2000 && c <= 0x200a,
		c == 0x2028, c == 0x2029, c == 0x202f, c == 0x205f, c == 0x3000:
		return true
	}
	return false
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
