package detect

import (
	"cmp"
	"math/bits"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// pyRule is one of the reference's case-insensitive patterns, translated
// to RE2: \s becomes the Unicode-aware class, and \b is checked in code
// with the reference's Unicode word characters. It runs on a folded copy
// (see foldInto), so no (?i) is needed, and only when its literal occurs.
type pyRule struct {
	source string // the reference's pattern source, reported as matched_pattern
	lit    string // a lower-case literal every match contains
	re     *regexp.Regexp
	leadB  bool
	trailB bool
}

// mustPyRule translates a reference pattern: every `\s` becomes the
// Unicode-aware class, a leading or trailing `\b` is checked in code.
func mustPyRule(source, lit string) pyRule {
	core := source
	r := pyRule{source: source, lit: lit}
	if strings.HasPrefix(core, `\b`) {
		r.leadB = true
		core = core[2:]
	}
	if strings.HasSuffix(core, `\b`) {
		r.trailB = true
		core = core[:len(core)-2]
	}
	core = strings.ReplaceAll(core, `\s`, `[`+pySpace+`]`)
	r.re = regexp.MustCompile(core)
	return r
}

// match reports whether the rule matches the folded text.
func (r *pyRule) match(folded string) bool {
	if !strings.Contains(folded, r.lit) {
		return false
	}
	return r.matchLit(folded, nil)
}

// pyRuleSlack is the fixed part of a word-boundary search's work budget.
const pyRuleSlack = 4096

// matchLit is match once the rule's literal is known to occur in folded.
// With word boundaries to honour it retries after every candidate whose
// boundary fails; each retry may scan to the end of the greedy match, so a
// text of many such candidates would cost quadratic work. The retries
// share a budget linear in len(folded); once it is spent the rule is
// taken to match (fail closed: the text is flagged, never passed). meter,
// if not nil, counts the bytes examined.
func (r *pyRule) matchLit(folded string, meter *workMeter) bool {
	if !r.leadB && !r.trailB {
		meter.add(len(folded))
		return r.re.MatchString(folded)
	}
	budget := 4*len(folded) + pyRuleSlack
	from := 0
	for from < len(folded) {
		loc := r.re.FindStringIndex(folded[from:])
		if loc == nil {
			meter.add(len(folded) - from)
			return false
		}
		meter.add(loc[1] + 1)
		budget -= loc[1] + 1
		a, b := from+loc[0], from+loc[1]
		if (!r.leadB || wordBoundaryBefore(folded, a)) && (!r.trailB || wordBoundaryAfter(folded, b)) {
			return true
		}
		if budget <= 0 {
			return true
		}
		from = nextRune(folded, a)
	}
	return false
}

// mcpRules holds the compiled rule tables of the MCP scanners. It is built
// once per scanner and never changed.
type mcpRules struct {
	instruction []pyRule // hidden-instruction phrases
	role        []pyRule // role override
	exfil       []pyRule // exfiltration
	comments    []*regexp.Regexp
	commentSrc  []string
	hexRun      *regexp.Regexp
	whitespace  *regexp.Regexp

	extended []extRule
	selfName *regexp.Regexp // property names that ask the model about itself

	// requiredLetters holds letterSet of each suspiciousRequired substring.
	requiredLetters [len(suspiciousRequired)]uint64

	// lits finds the literals of instruction, role and exfil and those of
	// the extended rules and of selfName in one pass, case-insensitively;
	// litBits maps each literal to its rule's bit in a ruleMask.
	lits    *literalSet
	litBits []uint64
}

// A ruleMask holds one bit per rule whose literal occurs in a text: bits
// 0..31 for the pyRules (instruction, then role, then exfil), bits 32 and
// up for the extended rules and, after them, selfName.
type ruleMask uint64

// py returns the pyRule bits: bit i for the i-th pyRule.
func (m ruleMask) py() uint32 { return uint32(m) }

// ext returns the extended-rule bits: bit i for extended[i], bit
// len(extended) for selfName.
func (m ruleMask) ext() uint32 { return uint32(m >> 32) }

// mask returns the rules with a literal in text, matched ASCII
// case-insensitively. On a folded text (foldInto) its py bits are those of
// the reference rules whose literal occurs; on a normalised text
// (Normalize) its ext bits are those of the extended rules.
func (r *mcpRules) mask(text string) ruleMask {
	return ruleMask(r.lits.orMask(text, r.litBits))
}

// pyPresent returns the bitmask of the pyRules (instruction, then role,
// then exfil) whose literal occurs in folded.
func (r *mcpRules) pyPresent(folded string) uint32 { return r.mask(folded).py() }

// extPresent returns the bitmask of the extended rules (bit i for
// extended[i]; bit len(extended) for selfName) with a literal in text.
func (r *mcpRules) extPresent(text string) uint32 { return r.mask(text).ext() }

// extSpans returns, per extended rule in want (bit i for extended[i]),
// the spans of its literals' occurrences in the normalised text norm,
// sorted by start. The slices are cut from one block.
func (r *mcpRules) extSpans(norm string, want uint32) [][]litSpan {
	type hit struct {
		rule int
		span litSpan
	}
	var hits []hit
	r.lits.each(norm, func(lit, start int) bool {
		ext := ruleMask(r.litBits[lit]).ext() & want
		for ext != 0 {
			i := bits.TrailingZeros32(ext)
			ext &^= 1 << i
			hits = append(hits, hit{i, litSpan{int32(start), int32(start + len(r.lits.lits[lit]))}})
		}
		return true
	})
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Or(a.rule-b.rule, int(a.span.start-b.span.start)) })
	out := make([][]litSpan, len(r.extended))
	flat := make([]litSpan, len(hits))
	for k, h := range hits {
		flat[k] = h.span
	}
	for k := 0; k < len(hits); {
		j := k
		for j < len(hits) && hits[j].rule == hits[k].rule {
			j++
		}
		out[hits[k].rule] = flat[k:j:j]
		k = j
	}
	return out
}

// selfNameLits are literals one of which every selfName match contains.
var selfNameLits = [...]string{"llm", "assistant", "prompt", "conversation", "chat", "previous", "model", "agent"}

// buildLiterals compiles the literal set. Every literal is lower-case
// ASCII (TestMCPRuleLiteralsLowerASCII), so matching it case-insensitively
// on raw ASCII text finds exactly what matching it on the folded or
// normalised copy finds.
func (r *mcpRules) buildLiterals() {
	var lits []string
	py := slices.Concat(r.instruction, r.role, r.exfil)
	if len(py) > 24 {
		panic("detect: the reference rules overlap the trigger bits") // the rules are constants
	}
	for i, pr := range py {
		lits = append(lits, pr.lit)
		r.litBits = append(r.litBits, 1<<i)
	}
	for i, e := range r.extended {
		for _, l := range e.lits {
			lits = append(lits, l)
			r.litBits = append(r.litBits, 1<<(32+i))
		}
	}
	for _, l := range selfNameLits {
		lits = append(lits, l)
		r.litBits = append(r.litBits, 1<<(32+len(r.extended)))
	}
	for i, l := range triggerLits {
		lits = append(lits, l)
		r.litBits = append(r.litBits, uint64(trigComment)<<i)
	}
	fold := make([]bool, len(lits))
	for i := range fold {
		fold[i] = true
	}
	r.lits = newStopLiteralSet(lits, fold, notPlain)
}

// Trigger bits: py bits above the reference rules' (which use fewer than
// 24), set like theirs when a literal occurs in the folded text. Each
// gates a substring test of the description checks: the literals hold no
// letter, so when one is absent from the folded text it is absent from
// the text (`\x` is matched case-insensitively: a superset).
const (
	trigComment     ruleMask = 1 << (24 + iota) // "<!--"
	trigLinkComment                             // "]:"
	trigHex                                     // `\x`
	trigNewlines                                // "\n\n\n\n\n"
)

// triggerLits are the literals of the trigger bits, in their order.
var triggerLits = [...]string{"<!--", "]:", `\x`, "\n\n\n\n\n"}

// notPlain reports the bytes that make a text not plainASCII: the stop
// bytes of the rule literals, so that one pass both finds the literals and
// proves the text plain.
func notPlain(c byte) bool { return c >= utf8.RuneSelf || c == '\v' || 0x1c <= c && c <= 0x1f }

// Reference pattern sources, reported verbatim as matched_pattern.
const (
	srcBase64     = `[A-Za-z0-9+/]{40,}={0,2}`
	srcHex        = `(?:\\x[0-9a-fA-F]{2}){4,}`
	srcWhitespace = `\n{5,}.+`
)

// extRule is one of our own rules, beyond the reference's. They run on the
// normalised text (NFKC, confusables mapped, case folded, invisible
// characters removed) of the description and of every string in the input
// schema.
type extRule struct {
	id       string
	lits     []string // the rule runs only if one of these occurs
	re       *regexp.Regexp
	win      *windowRegexp // re, run only around the occurrences of lits
	typ      ThreatType
	severity Severity
	message  string
}

// sharedMCPRules builds the rule tables once; they are immutable.
var sharedMCPRules = sync.OnceValue(newMCPRules)

func newMCPRules() *mcpRules {
	r := &mcpRules{
		instruction: []pyRule{
			mustPyRule(`ignore\s+(all\s+)?previous`, "ignore"),
			mustPyRule(`override\s+(the\s+)?(previous|above|original)`, "override"),
			mustPyRule(`instead\s+of\s+(the\s+)?(above|previous|described)`, "instead"),
			mustPyRule(`actually\s+do`, "actually"),
			mustPyRule(`\bsystem\s*:`, "system"),
			mustPyRule(`\bassistant\s*:`, "assistant"),
			mustPyRule(`do\s+not\s+follow`, "follow"),
			mustPyRule(`disregard\s+(all\s+)?(above|prior|previous)`, "disregard"),
		},
		role: []pyRule{
			mustPyRule(`you\s+are\b`, "you"),
			mustPyRule(`your\s+task\s+is\b`, "your"),
			mustPyRule(`respond\s+with\b`, "respond"),
			mustPyRule(`always\s+return\b`, "always"),
			mustPyRule(`you\s+must\b`, "you"),
			mustPyRule(`your\s+role\s+is\b`, "your"),
		},
		exfil: []pyRule{
			mustPyRule(`\bcurl\b`, "curl"),
			mustPyRule(`\bwget\b`, "wget"),
			mustPyRule(`\bfetch\s*\(`, "fetch"),
			mustPyRule(`https?://`, "http"),
			mustPyRule(`\bsend\s+email\b`, "send"),
			mustPyRule(`\bsend\s+to\b`, "send"),
			mustPyRule(`\bpost\s+to\b`, "post"),
			mustPyRule(`include\s+the\s+contents?\s+of\b`, "include"),
		},
		commentSrc: []string{`<!--.*?-->`, `\[//\]:\s*#\s*\(.*?\)`, `\[comment\]:\s*<>\s*\(.*?\)`},
		hexRun:     regexp.MustCompile(srcHex),
		whitespace: regexp.MustCompile(`(?s)\n{5,}.+`),
	}
	for _, src := range r.commentSrc {
		r.comments = append(r.comments, regexp.MustCompile(`(?is)`+strings.ReplaceAll(src, `\s`, `[`+pySpace+`]`)))
	}
	sp := `[` + pySpace + `]+`
	w := func(s string) string { return strings.ReplaceAll(s, " ", sp) }
	r.extended = []extRule{
		{
			id: "instruction-tag", lits: []string{"<"},
			re:  regexp.MustCompile(`<(important|system|instructions?|hidden|secret|admin|override|prompt|assistant|context)\b[^>]{0,80}>`),
			typ: ThreatHiddenInstruction, severity: SeverityCritical,
			message: "Instruction tag addressed to the model in tool definition",
		},
		{
			id: "secrecy", lits: []string{"user", "human", "secret", "silent", "quiet", "covert", "mention", "hide"},
			re:  regexp.MustCompile(w(`\b(?:(?:do not|don't|never|must not|should not) (?:tell|inform|notify|mention|reveal|disclose|show|alert|let|warn)[^.\n]{0,40}\b(?:user|human|operator|anyone)|without (?:telling|informing|notifying|alerting|asking|warning|showing) (?:the )?(?:user|human|operator)|(?:keep|treat) (?:this|it|these|the following) (?:as )?(?:secret|hidden|confidential|private) from|hide (?:this|it|the \w+) from (?:the )?(?:user|human)|the (?:user|human) (?:must|should|will) not (?:know|see|notice|be told)|(?:secretly|covertly|surreptitiously)\b)`)),
			typ: ThreatHiddenInstruction, severity: SeverityCritical,
			message: "Instruction to hide behaviour from the user",
		},
		{
			id: "credential-path", lits: []string{"ssh", "id_rsa", "id_ed25519", "aws", "passwd", "shadow", "netrc", "kube", "credential", "npmrc", "pypirc", ".env", "mcp.json", "claude_desktop", "history", "keychain", "wallet"},
			re:  regexp.MustCompile(`(?:~|\$home|%userprofile%|/home/[^/\s]+|/users/[^/\s]+)?/\.ssh\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.aws/(?:credentials|config)\b|/etc/(?:passwd|shadow|sudoers)\b|\.netrc\b|\.kube/config\b|\.git-credentials\b|\.docker/config\.json\b|\.npmrc\b|\.pypirc\b|(?:^|[\s/'"\x60(])\.env\b|\bmcp\.json\b|claude_desktop_config|\.(?:bash|zsh)_history\b|\blogin\.keychain\b|\bwallet\.dat\b`),
			typ: ThreatDescriptionInjection, severity: SeverityCritical,
			message: "Credential or private file referenced in tool definition",
		},
		{
			id: "exfiltrate-to", lits: []string{"http", "@", "webhook"},
			re:  regexp.MustCompile(w(`\b(?:send|post|upload|forward|transmit|exfiltrate|leak|submit|report|copy|copie|mirror|sync|email|mail)(?:s|es|ed|d|ing)? (?:(?:it|them|this|that|everything|all|the|a|any|its|their|your|of|and|with|contents?|data|results?|output|conversation|history|messages?|files?|keys?|tokens?|secrets?|credentials?|details) ){0,6}(?:to|into|at|via) (?:https?://|[\w.+-]+@[\w-]+\.|[\w.-]*webhook)`)),
			typ: ThreatDescriptionInjection, severity: SeverityCritical,
			message: "Instruction to send data to an external address",
		},
		{
			id: "include-private", lits: []string{"prompt", "conversation", "history", "messages", "api key", "token", "password", "credential", "private key", "secret", "ssh key", "cookie"},
			re:  regexp.MustCompile(w(`\b(?:include|append|attach|pass|add|provide|send|put|embed|insert|copy) (?:(?:in|into|with|as|all|of|the|a|any|full|entire|complete|whole|current|user's|users'|your|previous|prior|recent|this|that) ){0,5}(?:system prompt|conversation(?: history)?|chat history|message history|previous messages|api keys?|access tokens?|passwords?|credentials|private keys?|secrets?|ssh keys?|session cookies?)\b`)),
			typ: ThreatDescriptionInjection, severity: SeverityCritical,
			message: "Instruction to pass private data through the tool",
		},
		{
			id: "model-directive", lits: []string{"before", "after", "whenever", "every time", "each time", "first"},
			re:  regexp.MustCompile(w(`\b(?:before|after|whenever|every time|each time) (?:you |the (?:assistant|model|agent|ai) )?(?:use|using|call|calling|invoke|invoking|respond|responding|answer|answering|reply|replying|run|running) [^.\n]{0,60}\b(?:you must|you should|always|first (?:read|call|send|run|fetch|execute|include|ask)|make sure to|be sure to|remember to)\b`)),
			typ: ThreatDescriptionInjection, severity: SeverityHigh,
			message: "Instruction aimed at the model's behaviour outside the tool",
		},
		{
			id: "tool-preference", lits: []string{"best", "greatest", "only ", "most ", "number one", "#1", "ultimate", "other", "another", "alternative", "competing", "prefer", "priorit", "favo", "top "},
			re:  regexp.MustCompile(w(`\b(?:(?:this|it) (?:is|was) (?:the |a )?(?:best|greatest|only|ultimate|most (?:reliable|powerful|accurate|trusted|trustworthy|advanced|capable|effective)|number one|#1|top) (?:tool|function|server|api|plugin|option|choice|way)|(?:the )?(?:best|greatest|ultimate|number one|#1) (?:tool|function|server|plugin|api) (?:in|on|of) (?:the )?(?:world|market|internet|universe)|(?:always|must|should) (?:use|prefer|choose|call|select|pick|try) (?:this|me|this tool) (?:first|instead|over|rather|before)|(?:instead of|rather than|in place of|over) (?:any |all |the )?(?:other|another|alternative|competing) (?:tools?|functions?|servers?)|(?:do not|don't|never) (?:use|call|choose|select|trust) (?:any )?(?:other|another|alternative|competing) (?:tools?|functions?|servers?)|(?:prefer|prioriti[sz]e|favou?r) this (?:tool|function|server))`)),
			typ: ThreatDescriptionInjection, severity: SeverityHigh,
			message: "Tool-choice manipulation in description (claims to be the best or only tool)",
		},
		{
			id: "model-self-disclosure", lits: []string{"llm", "language model", "ai model", "assistant", "system prompt", "conversation", "chat history", "message history", "context window", "previous messages", "identity", "this tool", "this function", "model name", "model version", "instructions", "initial prompt", "hidden prompt"},
			re:  regexp.MustCompile(w(`\b(?:(?:the |your )?(?:llm|language model|ai model|ai assistant|assistant|model|agent|ai)(?: model)? (?:that |which |who )?(?:is )?(?:calls?|calling|invokes?|invoking|uses|using|runs?) this (?:tool|function)|(?:your|the assistant's|the model's|the agent's|the llm's) (?:own )?(?:system prompt|instructions|initial prompt|hidden prompt|model name|model version|conversation|chat history|context window|previous messages|identity)|(?:full|entire|complete|whole|verbatim) (?:system prompt|conversation|chat history|message history)|(?:name|version|identity) of (?:the |your )?(?:llm|language model|ai model|model|assistant|agent))`)),
			typ: ThreatToolPoisoning, severity: SeverityHigh,
			message: "Parameter asks the model to disclose its identity, prompt or conversation",
		},
	}
	for i, sub := range suspiciousRequired {
		r.requiredLetters[i], _ = letterSet(sub)
	}
	defer r.buildLiterals()
	for i := range r.extended {
		win, err := newWindowRegexp(r.extended[i].re)
		if err != nil {
			panic(err) // the expressions are constants that compiled above
		}
		r.extended[i].win = win
	}
	r.selfName = regexp.MustCompile(`(?:^|[_\-. ])(?:llm|llms|ai_model|assistant|system_?prompt|sys_?prompt|conversation|chat_?history|previous_?messages|model_?name|model_?id|agent_?name|prompt_?text|initial_?prompt)(?:$|[_\-. ])|^llm$`)
	return r
}

// base64Run reports whether s holds a run of at least 40 characters from
// [A-Za-z0-9+/] (the reference's encoded-payload rule; any such run counts,
// whatever it decodes to). It looks at the last byte of each 40-byte
// window first: when that byte is outside the alphabet no run can cover
// it and the window is skipped whole; otherwise it scans back to the
// window's last byte outside the alphabet and restarts after it. Each byte
// is examined at most twice, and on ordinary text about one in five.
func base64Run(s string) bool {
	const n = 40
	for i := 0; i+n <= len(s); {
		j := i + n - 1
		for j >= i && isBase64Char(s[j]) {
			j--
		}
		if j < i {
			return true // s[i:i+n] is a run
		}
		i = j + 1
	}
	return false
}

func isBase64Char(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// suspiciousRequired are the substrings the reference looks for in the
// names of required schema properties, in its order.
var suspiciousRequired = [...]string{"system_prompt", "instructions", "override", "command", "exec", "eval", "callback_url", "webhook", "target_url"}

// letterSet returns the set of the ASCII bytes of strings.ToLower(s), bit
// c&63 for byte c (so a set may hold a byte that s lacks, never the other
// way round), and whether s is ASCII; for other s the set is meaningless.
func letterSet(s string) (set uint64, ascii bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return 0, false
		}
		set |= 1 << (lowerASCII(c) & 63)
	}
	return set, true
}

// benignRequired are the suspiciousRequired substrings that name ordinary
// parameters of real tools (a shell tool takes a command); outside
// reference mode they are reported at low severity.
func benignRequired(sub string) bool {
	return sub == "command" || sub == "exec" || sub == "eval" || sub == "instructions"
}
