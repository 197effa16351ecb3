package detect

import (
	"cmp"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
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
	// schemeAt means every match starts at a literal other than "@" or
	// at a URL scheme: a letter in the run of scheme bytes that ends at
	// a "://" (see refScan.schemeStart). Such a pattern is tried anchored
	// only at those places.
	schemeAt bool
	// inMatch holds every byte that can occur in a match (all bytes of
	// 0x80 and above when any non-ASCII rune can): a failed anchored try
	// cannot have examined past the run of such bytes at its start.
	inMatch *[256]bool
}

const (
	refI  = `[iIıİ]` // Python's IGNORECASE also folds dotless ı and dotted İ to i
	refS  = `[` + pySpace + `]`
	refNS = pySpace // for use inside a negated class
)

func mustRef(name, kind, core string, leadB, trailB bool) refPattern {
	return refPattern{name: name, typeKey: kind, core: regexp.MustCompile(core),
		full: regexp.MustCompile(`^(?:` + core + `)$`), anchored: regexp.MustCompile(`^(?:` + core + `)`),
		leadB: leadB, trailB: trailB, inMatch: matchBytes(core)}
}

// matchBytes returns the bytes that can occur in a match of expr (every
// byte, should expr not parse).
func matchBytes(expr string) *[256]bool {
	var set [256]bool
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		for i := range set {
			set[i] = true
		}
		return &set
	}
	var walk func(*syntax.Regexp)
	addRange := func(lo, hi rune) {
		for c := max(lo, 0); c <= min(hi, 0x7f); c++ {
			set[c] = true
		}
		if hi >= 0x80 {
			for c := 0x80; c < 256; c++ {
				set[c] = true
			}
		}
	}
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			for _, r := range re.Rune {
				addRange(r, r)
				if re.Flags&syntax.FoldCase != 0 {
					for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
						addRange(f, f)
					}
				}
			}
		case syntax.OpCharClass:
			for i := 0; i+1 < len(re.Rune); i += 2 {
				addRange(re.Rune[i], re.Rune[i+1])
			}
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			addRange(0, unicode.MaxRune)
		}
		for _, sub := range re.Sub {
			walk(sub)
		}
	}
	walk(re)
	return &set
}

// runEnd returns the end of the run of bytes in set starting at s[i:].
func runEnd(set *[256]bool, s string, i int) int {
	for i < len(s) && set[s[i]] {
		i++
	}
	return i
}

// withLits sets the pattern's literal prefilter.
func (p refPattern) withLits(fold, atAnchor bool, lits ...string) refPattern {
	p.lits, p.fold, p.atAnchor = lits, fold, atAnchor
	return p
}

// withSchemeAt marks a pattern whose matches start at one of its
// literals other than "@" or at a URL scheme (see refPattern.schemeAt).
func (p refPattern) withSchemeAt() refPattern {
	p.schemeAt = true
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
		// starts before its "://", so this pattern is tried anchored at
		// each "bas" and at the first letter of the scheme run before
		// each "://" (schemeAt).
		mustRef("Basic auth secret", "basic_auth", `(?i)(?:bas`+refI+`c`+refS+`+[A-Za-z0-9+/=]{8,}|[a-z][a-z0-9+.-]*://[^:/@`+refNS+`]+:[^@/`+refNS+`]+@)`, true, true).
			withLits(true, false, "bas", "@").withSchemeAt(),
		mustRef("JWT", "jwt", `eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9._-]{6,}\.[A-Za-z0-9._-]{6,}`, true, true).
			withLits(false, true, "eyJ"),
		// With dotless and dotted i excluded by the fold-sensitive check,
		// "ap[iı]" and "cl[iı]" start with the ASCII "api" and "cli".
		mustRef("Generic API secret", "generic_secret", `(?i)(?:ap`+refI+`[_-]?key|cl`+refI+`ent[_-]?secret|secret|token)`+refS+`*[:=]`+refS+`*['"]?[^`+refNS+`'";]{6,}`, true, false).
			withLits(true, true, "api", "cli", "secret", "token"),
	}
}

// skipPySpace returns the end of the run of Python whitespace at s[i:].
func skipPySpace(s string, i int) int {
	for i < len(s) {
		c, n := utf8.DecodeRuneInString(s[i:])
		if !isPySpace(c) {
			break
		}
		i += n
	}
	return i
}

// pemBeginAt matches the reference's
// -----BEGIN\s+((?:RSA\s+|EC\s+|OPENSSH\s+)?PRIVATE\s+KEY)----- at the start
// of s, returning the label's span and the match's end. It examines only
// the bytes up to where the match succeeds or fails (n), which keeps a scan
// over many BEGIN lines linear.
func pemBeginAt(s string) (la, lb, end, n int, ok bool) {
	const begin = "-----BEGIN"
	if !strings.HasPrefix(s, begin) {
		return 0, 0, 0, 0, false
	}
	la = skipPySpace(s, len(begin))
	if la == len(begin) {
		return 0, 0, 0, la + 1, false
	}
	i := la
	for _, kind := range [...]string{"RSA", "EC", "OPENSSH"} {
		if strings.HasPrefix(s[i:], kind) {
			if j := skipPySpace(s, i+len(kind)); j > i+len(kind) {
				i = j
			}
			break
		}
	}
	if !strings.HasPrefix(s[i:], "PRIVATE") {
		return 0, 0, 0, i + 8, false
	}
	j := skipPySpace(s, i+len("PRIVATE"))
	if j == i+len("PRIVATE") || !strings.HasPrefix(s[j:], "KEY-----") {
		return 0, 0, 0, j + 9, false
	}
	lb = j + len("KEY")
	return la, lb, lb + 5, lb + 6, true
}

// pemEndAt matches -----END\s+ at the start of s and returns its end.
func pemEndAt(s string) (int, bool) {
	const end = "-----END"
	if !strings.HasPrefix(s, end) {
		return 0, false
	}
	i := skipPySpace(s, len(end))
	return i, i > len(end)
}

// maxBoundaryTries bounds how many shorter ends are tried for one match
// when the greedy end is not a word boundary (the reference backtracks);
// past it the greedy match is kept, which redacts more, never less.
const maxBoundaryTries = 64

// refScanSlack is the constant part of a scan's budgets, so that short
// inputs always get the reference's exact semantics.
const refScanSlack = 1 << 12

// refScan is the state of one pattern's scan over one string: its work
// budgets and the memo that keeps PEM searches linear. The reference
// backtracks without bound; here each scan may spend work proportional to
// the input.
//
// The boundary budget pays for the reference's word-boundary backtracking:
// every shorter end tried costs its length, and every restart after a
// failed boundary costs the span the next search examines again. Its
// charges do not depend on the literal prefilter, so the prefilter never
// changes a result. Once it is spent, the greedy match is kept whatever
// its boundaries: the scan fails toward redacting more, never less.
//
// The prefilter budget pays for anchored tries at literal positions, each
// of which may examine the rest of the input; once it is spent, the scan
// continues with the unanchored pattern, which finds the same matches.
type refScan struct {
	boundary  int
	prefilter int
	pemEnds   *pemEndIndex // the END lines of the string, built at the first PEM search
	meter     *workMeter   // nil except in tests
	// colon is the first "://" at or after the last position asked of
	// schemeStart (len(s)+1: none; -1: not searched yet), runStart the
	// start of the run of scheme bytes that ends there, and scheme the
	// first letter at or after the last position asked, within that run
	// (colon: none).
	colon, runStart, scheme int
}

// newRefScan returns the state for one scan of a string of n bytes.
func newRefScan(n int, meter *workMeter) *refScan {
	return &refScan{boundary: 4*n + refScanSlack, prefilter: 4*n + refScanSlack, meter: meter, colon: -1}
}

// schemeStart returns the first position at or after from where a match
// of `(?i)[a-z][a-z0-9+.-]*://` can start in s, or len(s)+1 when there is
// none. Such a match ends at the first byte after its start that is not a
// scheme byte ([A-Za-z0-9+.-]), which must begin "://"; so it starts at a
// letter of the run of scheme bytes that ends at a "://", and the first
// such letter at or after from is the only candidate before that "://".
// (Case folding adds no byte here: the callers hold text without the
// Kelvin sign and long s.) Calls must come with from never decreasing, on
// the same s; the work over all calls is linear in s.
func (sc *refScan) schemeStart(s string, from int) int {
	for {
		if sc.colon < from {
			q := strings.Index(s[min(from, len(s)):], "://")
			if q < 0 {
				sc.colon = len(s) + 1
				sc.meter.add(max(len(s)-from, 0))
				return len(s) + 1
			}
			sc.meter.add(q + 3)
			sc.colon = from + q
			r := sc.colon
			for r > from && isSchemeByte(s[r-1]) {
				r--
			}
			sc.runStart, sc.scheme = r, -1
		}
		if sc.colon > len(s) {
			return len(s) + 1
		}
		if sc.scheme < from {
			r := max(sc.runStart, from)
			for r < sc.colon && !isASCIILetter(s[r]) {
				r++
			}
			sc.scheme = r
		}
		if sc.scheme < sc.colon {
			return sc.scheme
		}
		from = sc.colon + 1 // no letter before this "://"
	}
}

// isSchemeByte reports whether c may follow the first letter of a URL
// scheme: [A-Za-z0-9+.-].
func isSchemeByte(c byte) bool {
	return isASCIILetter(c) || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-'
}

// isASCIILetter reports whether c is an ASCII letter.
func isASCIILetter(c byte) bool {
	return c|0x20 >= 'a' && c|0x20 <= 'z'
}

// chargeBoundary spends n units of the boundary budget.
func (sc *refScan) chargeBoundary(n int) {
	sc.boundary -= n
	sc.meter.add(n)
}

// find returns the next match of p in s at or after from, with the
// reference's semantics.
func (p *refPattern) find(s string, from int, sc *refScan) (int, int, bool) {
	return p.findAt(s, from, nil, false, sc)
}

// next returns the leftmost match of the core pattern starting at or after
// from. With prefiltered set, pos holds the sorted positions of the
// pattern's literals in s: a pattern whose literals are absent cannot
// match, and one whose matches start at a literal is tried only there,
// anchored, which finds the same leftmost match.
func (p *refPattern) next(s string, from int, pos []int, prefiltered bool, sc *refScan) (int, int, bool) {
	if prefiltered && p.lits != nil {
		if len(pos) == 0 {
			return 0, 0, false
		}
		if p.schemeAt && sc.prefilter >= 0 {
			a, b, ok, done := p.nextSchemed(s, from, pos, sc)
			if done {
				return a, b, ok
			}
			from = a // budget spent: search the rest unanchored
		} else if p.atAnchor && sc.prefilter >= 0 {
			i, _ := slices.BinarySearch(pos, from)
			run := 0 // end of the run of match bytes holding the last anchor
			for ; i < len(pos) && sc.prefilter >= 0; i++ {
				if i > 0 && pos[i] == pos[i-1] {
					continue
				}
				loc := p.anchored.FindStringIndex(s[pos[i]:])
				if loc != nil {
					sc.prefilter -= loc[1] + 1
					sc.meter.add(loc[1] + 1)
					return pos[i], pos[i] + loc[1], true
				}
				// A failed try examined at most the run of bytes that can
				// be in a match, and one more.
				if run <= pos[i] {
					run = runEnd(p.inMatch, s, pos[i])
					sc.meter.add(run - pos[i])
				}
				sc.prefilter -= run - pos[i] + 1
				sc.meter.add(run - pos[i] + 1)
			}
			if i >= len(pos) {
				return 0, 0, false
			}
			// Budget spent: search the rest unanchored.
			from = max(from, pos[i])
		}
	}
	loc := p.core.FindStringIndex(s[from:])
	if loc == nil {
		sc.meter.add(len(s) - from)
		return 0, 0, false
	}
	sc.meter.add(loc[1] + 1)
	return from + loc[0], from + loc[1], true
}

// nextSchemed is next for a schemeAt pattern: it tries the anchored
// pattern, in order, at the literals other than "@" at or after from and at
// the scheme starts (refScan.schemeStart), where every match starts, so
// the first that matches is the leftmost match. When the prefilter budget
// runs out before that, done is false and a is where the unanchored
// search must resume (no match starts before it).
func (p *refPattern) nextSchemed(s string, from int, pos []int, sc *refScan) (a, b int, ok, done bool) {
	i, _ := slices.BinarySearch(pos, from)
	run := 0 // end of the run of match bytes holding the last try
	for sc.prefilter >= 0 {
		for i < len(pos) && (pos[i] < from || s[pos[i]] == '@') {
			i++
		}
		c := len(s) + 1
		if i < len(pos) {
			c = pos[i]
		}
		c = min(c, sc.schemeStart(s, from))
		if c > len(s) {
			return 0, 0, false, true
		}
		if loc := p.anchored.FindStringIndex(s[c:]); loc != nil {
			sc.prefilter -= loc[1] + 1
			sc.meter.add(loc[1] + 1)
			return c, c + loc[1], true, true
		}
		// A failed try examined at most the run of bytes that can be in
		// a match, and one more.
		if run <= c {
			run = runEnd(p.inMatch, s, c)
			sc.meter.add(run - c)
		}
		sc.prefilter -= run - c + 1
		sc.meter.add(run - c + 1)
		from = c + 1 // c is an ASCII letter: c+1 starts a rune
	}
	return from, 0, false, false
}

// findAt is find with the prefilter's literal positions (see next).
func (p *refPattern) findAt(s string, from int, pos []int, prefiltered bool, sc *refScan) (int, int, bool) {
	if p.pem {
		if prefiltered && len(pos) == 0 {
			return 0, 0, false
		}
		if sc.pemEnds == nil {
			sc.pemEnds = newPEMEndIndex(s, sc.meter)
		}
		return findPEM(s, from, sc.pemEnds, sc.meter)
	}
	for from <= len(s) {
		a, b, ok := p.next(s, from, pos, prefiltered, sc)
		if !ok {
			return 0, 0, false
		}
		if sc.boundary < 0 {
			return a, b, true // budget spent: keep the greedy match
		}
		if p.leadB && !pyBoundary(s, a) {
			sc.chargeBoundary(b - a)
			from = nextRune(s, a)
			continue
		}
		if !p.trailB || pyBoundary(s, b) {
			return a, b, true
		}
		// Backtrack: the longest shorter end that is a boundary and still
		// matches the whole pattern. The walk back, and what the next
		// search examines again, cost the match's length; each shorter end
		// tried costs its own.
		sc.chargeBoundary(b - a)
		tries := 0
		for e := b - 1; e > a && tries < maxBoundaryTries; e-- {
			if !pyBoundary(s, e) {
				continue
			}
			if sc.boundary < 0 {
				return a, b, true // budget spent: keep the longer match
			}
			tries++
			sc.chargeBoundary(e - a)
			if p.full.MatchString(s[a:e]) {
				return a, e, true
			}
		}
		if tries >= maxBoundaryTries || sc.boundary < 0 {
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

// pemEndIndex lists a string's END lines by the label they close: for
// each "-----END" followed by whitespace and then text up to the next
// "-----", that text. A BEGIN label (letters and whitespace, ending in
// KEY) is closed by an END line exactly when the END's text equals it, so
// each BEGIN looks its label up once instead of rescanning every END line
// after it — which, with many differently spaced labels, cost n^1.5.
type pemEndIndex struct {
	byLabel map[string][]pemEnd // ascending positions
}

// pemEnd is one END line: where it starts and where its label ends.
type pemEnd struct {
	at, labelEnd int
}

// newPEMEndIndex indexes the END lines of s. Finding an END's label stops
// at the next "-----", which is at the latest the next END line, so the
// whole index costs linear work.
func newPEMEndIndex(s string, meter *workMeter) *pemEndIndex {
	x := &pemEndIndex{byLabel: map[string][]pemEnd{}}
	for k := 0; k < len(s); {
		j := strings.Index(s[k:], "-----END")
		if j < 0 {
			meter.add(len(s) - k)
			break
		}
		e := k + j
		meter.add(j + 8)
		k = e + 1
		em, ok := pemEndAt(s[e:])
		if !ok {
			continue
		}
		rest := s[e+em:]
		n := strings.Index(rest, "-----")
		if n < 0 {
			meter.add(len(rest))
			continue
		}
		meter.add(n + 5)
		label := rest[:n]
		x.byLabel[label] = append(x.byLabel[label], pemEnd{at: e, labelEnd: e + em + n})
	}
	return x
}

// first returns the first END line closing label that starts at or after
// from.
func (x *pemEndIndex) first(label string, from int) (pemEnd, bool) {
	ends := x.byLabel[label]
	i, _ := slices.BinarySearchFunc(ends, from, func(e pemEnd, from int) int { return cmp.Compare(e.at, from) })
	if i == len(ends) {
		return pemEnd{}, false
	}
	return ends[i], true
}

// findPEM finds a private-key block: a BEGIN line, then the first END line
// carrying exactly the same label (the reference's back-reference, done
// without one, through ends). meter, if not nil, counts the bytes examined.
func findPEM(s string, from int, ends *pemEndIndex, meter *workMeter) (int, int, bool) {
	for from < len(s) {
		i := strings.Index(s[from:], "-----BEGIN")
		if i < 0 {
			meter.add(len(s) - from)
			return 0, 0, false
		}
		a := from + i
		la, lb, mEnd, n, ok := pemBeginAt(s[a:])
		meter.add(i + n)
		if !ok {
			from = a + 1
			continue
		}
		if e, ok := ends.first(s[a+la:a+lb], a+mEnd); ok {
			return a, e.labelEnd + 5, true
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
	meter    *workMeter // nil except in tests
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
	lits := r.positions(cur)
	for i := range r.patterns {
		p := &r.patterns[i]
		var b strings.Builder
		pos, from := 0, 0
		sc := newRefScan(len(cur), r.meter)
		for {
			a, e, ok := r.find(p, i, cur, from, lits, sc)
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
			lits = r.positions(cur)
		}
	}
	return cur
}

// find returns the next match of pattern p (number i) in s at or after
// from; lits are the literal positions of s from r.anchors, or nil for no
// prefilter.
func (r *CredentialRedactor) find(p *refPattern, i int, s string, from int, lits [][]int, sc *refScan) (int, int, bool) {
	if lits != nil && len(lits[i]) == 0 {
		return 0, 0, false
	}
	if lits == nil {
		return p.find(s, from, sc)
	}
	return p.findAt(s, from, lits[i], true, sc)
}

// positions is r.anchors.positions, metered.
func (r *CredentialRedactor) positions(s string) [][]int {
	r.meter.add(len(s))
	return r.anchors.positions(s)
}

// Matches returns every match of every pattern in s, in pattern order and
// then by position, each span covering the whole token.
func (r *CredentialRedactor) Matches(s string) []CredentialMatch {
	if checkSize(len(s), r.maxInput) != nil {
		return nil
	}
	return r.matches(s, r.positions(s))
}

// matches is Matches with the literal positions lits (nil: no prefilter).
func (r *CredentialRedactor) matches(s string, lits [][]int) []CredentialMatch {
	var out []CredentialMatch
	for i := range r.patterns {
		p := &r.patterns[i]
		from := 0
		sc := newRefScan(len(s), r.meter)
		for {
			a, e, ok := r.find(p, i, s, from, lits, sc)
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
