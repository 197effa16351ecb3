package detect

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Injection families, in the order the reference checks them. The order
// decides ties (the first finding with the highest threat names the type)
// and the order of matched pattern labels.
const (
	familyDirect = iota
	familyDelimiter
	familyEncoding
	familyRolePlay
	familyContext
	familyCanary
	familyMultiTurn
	familyCustom
)

// InjectionType names the kind of prompt injection, as the reference does.
type InjectionType string

// The reference's injection types.
const (
	TypeDirectOverride      InjectionType = "direct_override"
	TypeDelimiterAttack     InjectionType = "delimiter_attack"
	TypeEncodingAttack      InjectionType = "encoding_attack"
	TypeRolePlay            InjectionType = "role_play"
	TypeContextManipulation InjectionType = "context_manipulation"
	TypeCanaryLeak          InjectionType = "canary_leak"
	TypeMultiTurnEscalation InjectionType = "multi_turn_escalation"
)

// injectionRule is one of the reference's patterns. source is the
// reference's regular expression, used verbatim in the label; expr is the
// RE2 form that matches the same text once the input has been case folded
// and its spaces mapped (see foldForRules): lower-case literals, and \b
// spelt out with Unicode word characters as Python's re module defines them.
type injectionRule struct {
	family  int
	kind    InjectionType
	label   string // "<family>:<source>"
	threat  Severity
	conf    float64
	literal string // a lower-case literal every match contains
	litID   int    // index of literal in the detector's literal scanner
	re      *regexp.Regexp
	win     *windowRegexp // re, run around the literal's occurrences
}

// pyWordBoundary spells Python's Unicode \b for a boundary before or after a
// word character: RE2's \b only knows ASCII word characters, so "jailbreaké"
// would otherwise match \bjailbreak\b.
const (
	pyBoundaryBefore = `(?:^|[^\p{L}\p{N}_])`
	pyBoundaryAfter  = `(?:$|[^\p{L}\p{N}_])`
)

// ruleSpec is the constant description of an injectionRule.
type ruleSpec struct {
	family       int
	source, expr string
	literal      string
	multiline    bool
}

// ruleSpecs lists the reference's seven strategies (the canary family is
// not a regular expression and is handled separately).
func ruleSpecs() []ruleSpec {
	d := func(src, expr, lit string) ruleSpec {
		return ruleSpec{family: familyDirect, source: src, expr: expr, literal: lit}
	}
	del := func(src, expr, lit string, ml bool) ruleSpec {
		return ruleSpec{family: familyDelimiter, source: src, expr: expr, literal: lit, multiline: ml}
	}
	enc := func(src, expr, lit string) ruleSpec {
		return ruleSpec{family: familyEncoding, source: src, expr: expr, literal: lit}
	}
	rp := func(src, expr, lit string) ruleSpec {
		return ruleSpec{family: familyRolePlay, source: src, expr: expr, literal: lit}
	}
	ctx := func(src, expr, lit string) ruleSpec {
		return ruleSpec{family: familyContext, source: src, expr: expr, literal: lit}
	}
	mt := func(src, expr, lit string) ruleSpec {
		return ruleSpec{family: familyMultiTurn, source: src, expr: expr, literal: lit}
	}
	return []ruleSpec{
		d(`ignore\s+(all\s+)?previous\s+instructions`, `ignore\s+(all\s+)?previous\s+instructions`, "previous"),
		d(`you\s+are\s+now\b`, `you\s+are\s+now`+pyBoundaryAfter, "now"),
		d(`new\s+role\s*:`, `new\s+role\s*:`, "role"),
		d(`forget\s+(everything|all|your)\b`, `forget\s+(everything|all|your)`+pyBoundaryAfter, "forget"),
		d(`disregard\s+(all\s+)?(above|prior|previous)\b`, `disregard\s+(all\s+)?(above|prior|previous)`+pyBoundaryAfter, "disregard"),
		d(`override\s+(previous\s+)?instructions`, `override\s+(previous\s+)?instructions`, "override"),
		d(`do\s+not\s+follow\s+(your|the)\s+(previous\s+)?instructions`, `do\s+not\s+follow\s+(your|the)\s+(previous\s+)?instructions`, "follow"),

		del(`^-{3,}\s*$`, `^-{3,}\s*$`, "---", true),
		del(`^#{3,}\s*$`, `^#{3,}\s*$`, "###", true),
		del("^```\\s*$", "^```\\s*$", "```", true),
		del(`END\s+SYSTEM`, `end\s+system`, "system", false),
		del(`BEGIN\s+USER`, `begin\s+user`, "begin", false),
		del(`<\|im_start\|>`, `<\|im_start\|>`, "<|im_start|>", false),
		del(`<\|im_end\|>`, `<\|im_end\|>`, "<|im_end|>", false),
		del(`\[INST\]`, `\[inst\]`, "[inst]", false),
		del(`<<SYS>>`, `<<sys>>`, "<<sys>>", false),
		del(`<\|system\|>`, `<\|system\|>`, "<|system|>", false),
		del(`<\|user\|>`, `<\|user\|>`, "<|user|>", false),
		del(`<\|assistant\|>`, `<\|assistant\|>`, "<|assistant|>", false),

		enc(`\\x[0-9a-fA-F]{2}(?:\\x[0-9a-fA-F]{2}){3,}`, `\\x[0-9a-f]{2}(?:\\x[0-9a-f]{2}){3,}`, `\x`),
		enc(`\\u[0-9a-fA-F]{4}(?:\\u[0-9a-fA-F]{4}){3,}`, `\\u[0-9a-f]{4}(?:\\u[0-9a-f]{4}){3,}`, `\u`),
		enc(`\brot13\b`, pyBoundaryBefore+`rot13`+pyBoundaryAfter, "rot13"),
		enc(`\bbase64\s*decode\b`, pyBoundaryBefore+`base64\s*decode`+pyBoundaryAfter, "base64"),
		enc(`\bhex\s*decode\b`, pyBoundaryBefore+`hex\s*decode`+pyBoundaryAfter, "decode"),

		rp(`pretend\s+you\s+are`, `pretend\s+you\s+are`, "pretend"),
		rp(`act\s+as\s+if\s+you\s+have\s+no\s+restrictions`, `act\s+as\s+if\s+you\s+have\s+no\s+restrictions`, "restrictions"),
		rp(`\bjailbreak\b`, pyBoundaryBefore+`jailbreak`+pyBoundaryAfter, "jailbreak"),
		rp(`\bDAN\s+mode\b`, pyBoundaryBefore+`dan\s+mode`+pyBoundaryAfter, "mode"),
		rp(`developer\s+mode\s+override`, `developer\s+mode\s+override`, "override"),
		rp(`bypass\s+(all\s+)?(safety|content)\s+(filters?|restrictions?)`, `bypass\s+(all\s+)?(safety|content)\s+(filters?|restrictions?)`, "bypass"),
		rp(`you\s+have\s+no\s+(limitations?|restrictions?|rules?)`, `you\s+have\s+no\s+(limitations?|restrictions?|rules?)`, "have"),

		ctx(`the\s+above\s+instructions\s+are\s+wrong`, `the\s+above\s+instructions\s+are\s+wrong`, "wrong"),
		ctx(`actually\s+your\s+real\s+instructions\s+are`, `actually\s+your\s+real\s+instructions\s+are`, "actually"),
		ctx(`the\s+developer\s+told\s+me\s+to\s+tell\s+you`, `the\s+developer\s+told\s+me\s+to\s+tell\s+you`, "told"),
		ctx(`secret\s+password\s+is`, `secret\s+password\s+is`, "password"),
		ctx(`your\s+true\s+purpose\s+is`, `your\s+true\s+purpose\s+is`, "purpose"),
		ctx(`the\s+real\s+system\s+prompt\s+is`, `the\s+real\s+system\s+prompt\s+is`, "prompt"),

		mt(`as\s+I\s+mentioned\s+before.*you\s+agreed\s+to`, `as\s+i\s+mentioned\s+before.*you\s+agreed\s+to`, "mentioned"),
		mt(`you\s+already\s+said\s+yes`, `you\s+already\s+said\s+yes`, "already"),
		mt(`continuing\s+from\s+where\s+you\s+unlocked`, `continuing\s+from\s+where\s+you\s+unlocked`, "unlocked"),
		mt(`you\s+previously\s+confirmed`, `you\s+previously\s+confirmed`, "confirmed"),
		mt(`we\s+already\s+established\s+that\s+you\s+can`, `we\s+already\s+established\s+that\s+you\s+can`, "established"),
	}
}

// familyInfo is the reference's label prefix, type, threat and confidence
// of each family.
var familyInfo = [...]struct {
	prefix string
	kind   InjectionType
	threat Severity
	conf   float64
}{
	familyDirect:    {"direct_override", TypeDirectOverride, SeverityHigh, 0.9},
	familyDelimiter: {"delimiter", TypeDelimiterAttack, SeverityMedium, 0.7},
	familyEncoding:  {"encoding", TypeEncodingAttack, SeverityHigh, 0.8},
	familyRolePlay:  {"role_play", TypeRolePlay, SeverityHigh, 0.85},
	familyContext:   {"context_manipulation", TypeContextManipulation, SeverityMedium, 0.8},
	familyCanary:    {"canary_leak", TypeCanaryLeak, SeverityCritical, 1.0},
	familyMultiTurn: {"multi_turn", TypeMultiTurnEscalation, SeverityMedium, 0.75},
	familyCustom:    {"custom", TypeDirectOverride, SeverityHigh, 0.8},
}

// newRuleLiterals returns the scanner of the rules' literals and sets each
// rule's litID.
func newRuleLiterals(rules []injectionRule) *literalPositions {
	ids := map[string]int{}
	var lits []string
	for i := range rules {
		id, ok := ids[rules[i].literal]
		if !ok {
			id = len(lits)
			ids[rules[i].literal] = id
			lits = append(lits, rules[i].literal)
		}
		rules[i].litID = id
	}
	return &literalPositions{set: newLiteralSet(lits, make([]bool, len(lits))), n: len(lits)}
}

// compileRules builds the rule table. The expressions are constants, so an
// error here is a programming error caught by every test.
func compileRules() ([]injectionRule, error) {
	specs := ruleSpecs()
	if len(specs) > 64 {
		return nil, errors.New("more than 64 injection rules")
	}
	rules := make([]injectionRule, 0, len(specs))
	for _, s := range specs {
		expr := s.expr
		if s.multiline {
			expr = "(?m)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, err
		}
		fi := familyInfo[s.family]
		win, err := newWindowRegexp(re)
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(s.literal); i++ {
			if !win.alpha[s.literal[i]] {
				return nil, fmt.Errorf("literal %q of %q has a byte outside the expression's alphabet", s.literal, expr)
			}
		}
		rules = append(rules, injectionRule{
			win:     win,
			family:  s.family,
			kind:    fi.kind,
			label:   fi.prefix + ":" + s.source,
			threat:  fi.threat,
			conf:    fi.conf,
			literal: s.literal,
			re:      re,
		})
	}
	return rules, nil
}

// injBase64Run is the reference's candidate for an encoded payload.
var injBase64Run = regexp.MustCompile(`[A-Za-z0-9+/]{20,}={0,2}`)

// base64Keywords are the words that make a decoded payload suspicious, in
// the reference's order (the first one found names the finding).
var base64Keywords = [...]string{"ignore", "override", "system", "password", "secret", "admin", "root", "exec", "eval", "import os"}

// foldForRules is the reference's view of the text for its regular
// expressions: Python's re.IGNORECASE folding (including ı, İ, ſ and the
// Kelvin sign, which fold to ASCII letters) and Python's Unicode \s (every
// Unicode space becomes ' ', keeping the line structure). No NFKC, no
// look-alike mapping and no removal of invisible characters: that is what
// [Normalize] adds for our own verdict.
func foldForRules(s string) string {
	ascii := true
	needs := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			ascii = false
			break
		}
		if ('A' <= c && c <= 'Z') || c == '\v' || (0x1c <= c && c <= 0x1f) {
			needs = true
		}
	}
	if ascii {
		if !needs {
			return s
		}
		b := make([]byte, len(s))
		for i := 0; i < len(s); i++ {
			b[i] = normFoldASCII(s[i])
		}
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		switch {
		case r < 0x80:
			sb.WriteByte(normFoldASCII(byte(r)))
		case r == 'ı' || r == 'İ':
			sb.WriteByte('i')
		case r == 'ſ':
			sb.WriteByte('s')
		case r == 0x212A:
			sb.WriteByte('k')
		case normOtherSpace(r):
			sb.WriteByte(' ')
		default:
			sb.WriteRune(injPyLowerRune(r))
		}
	}
	return sb.String()
}
