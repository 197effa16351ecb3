package detect

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Sensitivity selects how much evidence the injection detector needs.
type Sensitivity string

// Sensitivity levels. The rules behave as the reference's: a rule finding
// survives at strict and balanced when its confidence is at least 0.3 and
// 0.5, and at permissive only when its threat is high or critical with a
// confidence of at least 0.7 (so permissive ignores delimiters, context
// manipulation and multi-turn markers). Every built-in rule has a confidence
// of at least 0.7, so for the rules strict and balanced agree, as in the
// reference; strict differs in the model's threshold, which is lower.
const (
	SensitivityStrict     Sensitivity = "strict"
	SensitivityBalanced   Sensitivity = "balanced"
	SensitivityPermissive Sensitivity = "permissive"
)

// Channel says where a text comes from, which changes what counts as an
// injection. In the user's own prompt, requests and instructions to the
// assistant are normal; in data the agent reads (tool results, retrieved
// documents, e-mails, web pages, MCP responses, memory writes) any
// instruction or request addressed to the assistant is suspicious, because
// whoever wrote the data is not the user.
type Channel string

// Channels. The empty Channel means [ChannelPrompt].
const (
	ChannelPrompt Channel = "prompt"
	ChannelData   Channel = "data"
)

// Defaults for [InjectionOptions].
const (
	// DefaultInjectionChunk is the size of the pieces a long input is
	// scanned in when InjectionOptions.ChunkBytes is zero.
	DefaultInjectionChunk = 64 << 10
	// injectionOverlap is how much consecutive chunks overlap, so that a
	// phrase cut by a chunk boundary is still seen whole.
	injectionOverlap = 1 << 10
	// maxPooledNorm bounds the offsets (4 bytes each) of a normalisation
	// buffer that Check keeps for the next call.
	maxPooledNorm = 1 << 20
)

// InjectionOptions configures [NewInjection].
type InjectionOptions struct {
	// Sensitivity: "" means balanced. A value other than strict, balanced
	// or permissive also means balanced, as in the reference (names are
	// case-sensitive).
	Sensitivity Sensitivity
	// Allowlist: if the lower-cased input contains any entry (lower-cased),
	// the input is clean, whatever else it contains. Entries must have at
	// least 3 characters after trimming spaces. nil: no allowlist.
	Allowlist []string
	// Blocklist: if the lower-cased input contains any entry, the input is
	// an injection (high threat, confidence 1). Same length rule. nil: none.
	Blocklist []string
	// CustomPatterns are RE2 expressions matched, case-sensitively unless
	// they say (?i), against the original input; each match is a
	// direct_override finding of confidence 0.8. nil: none.
	CustomPatterns []string
	// Canaries are strings planted in the system prompt; finding one in the
	// input (case-insensitively) is a critical canary_leak. They are added
	// to the canaries passed to each call. nil: none.
	Canaries []string
	// Channel is the channel [Injection.Check] and [Injection.Scan] assume:
	// "" or ChannelPrompt for a user's prompt, ChannelData for untrusted
	// data. [Injection.CheckChannel] chooses per call.
	Channel Channel
	// Model scores inputs the rules miss. nil: the model embedded in the
	// package ([EmbeddedInjectionModel]).
	Model *Model
	// DisableModel turns the model off: the verdict is the rules' alone.
	DisableModel bool
	// ModelThreshold is the probability at or above which the model calls
	// an input an injection, in either channel. 0: the model's own
	// threshold for the channel and sensitivity (strict uses a lower one,
	// permissive a higher one).
	ModelThreshold float64
	// ChunkBytes bounds the memory of one call: longer inputs are scanned
	// in chunks of this size that overlap by 1 KiB, so every byte is still
	// scanned. 0: DefaultInjectionChunk. Values below 4 KiB are raised to it.
	ChunkBytes int
	// Logger receives debug records. nil: discard.
	Logger *slog.Logger
}

// Injection detects prompt injection with the reference's rules (seven
// strategies plus allow/block lists, custom patterns and canaries) matched
// on [Normalize]d text, and a statistical [Model] for the phrasings the
// rules do not know. It is safe for concurrent use.
type Injection struct {
	sensitivity Sensitivity
	threshold   float64  // rule confidence threshold
	minThreat   Severity // rule threat floor
	allow       []string // as given
	allowFold   []string // injPyLower of allow
	allowNorm   []string // Normalize(allow).Text
	block       []string
	blockFold   []string
	blockNorm   []string
	custom      []*regexp.Regexp
	customSrc   []string
	canaries    []string
	rules       []injectionRule
	literals    *literalPositions
	meter       *workMeter // nil except in tests
	scratch     sync.Pool  // *posScratch
	normBufs    sync.Pool  // *normBuf
	channel     Channel
	model       *Model
	modelThresh [2]float64 // per channel index (prompt, data)
	chunk       int
	log         *slog.Logger
}

var _ Detector = (*Injection)(nil)

// NewInjection validates opts and compiles the detector. A bad list entry
// or custom pattern is an [*InjectionConfigError].
func NewInjection(opts InjectionOptions) (*Injection, error) {
	d := &Injection{sensitivity: opts.Sensitivity, log: opts.Logger, channel: opts.Channel}
	switch opts.Channel {
	case "":
		d.channel = ChannelPrompt
	case ChannelPrompt, ChannelData:
	default:
		return nil, &InjectionConfigError{Field: "Channel", Index: -1,
			Reason: fmt.Sprintf("channel %q is neither %q nor %q", opts.Channel, ChannelPrompt, ChannelData)}
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	switch opts.Sensitivity {
	case SensitivityStrict:
		d.threshold, d.minThreat = 0.3, SeverityLow
	case SensitivityPermissive:
		d.threshold, d.minThreat = 0.7, SeverityHigh
	default:
		d.threshold, d.minThreat = 0.5, SeverityLow
	}
	var err error
	if d.allow, d.allowFold, d.allowNorm, err = checkList("Allowlist", opts.Allowlist,
		"Short entries risk disabling detection for broad input ranges."); err != nil {
		return nil, err
	}
	if d.block, d.blockFold, d.blockNorm, err = checkList("Blocklist", opts.Blocklist,
		"Short entries cause excessive false positives with substring matching."); err != nil {
		return nil, err
	}
	for i, src := range opts.CustomPatterns {
		re, err := regexp.Compile(src)
		if err != nil {
			return nil, &InjectionConfigError{Field: "CustomPatterns", Index: i,
				Reason: fmt.Sprintf("Custom pattern %q does not compile: %v", src, err), Err: err}
		}
		d.custom = append(d.custom, re)
		d.customSrc = append(d.customSrc, src)
	}
	d.canaries = append([]string(nil), opts.Canaries...)
	if d.rules, err = compileRules(); err != nil {
		return nil, fmt.Errorf("compile injection rules: %w", err)
	}
	d.literals = newRuleLiterals(d.rules)
	if !opts.DisableModel {
		d.model = opts.Model
		if d.model == nil {
			if d.model, err = EmbeddedInjectionModel(); err != nil {
				return nil, err
			}
		}
		if t := opts.ModelThreshold; t < 0 || t > 1 || math.IsNaN(t) {
			return nil, &InjectionConfigError{Field: "ModelThreshold", Index: -1,
				Reason: fmt.Sprintf("model threshold %v is outside [0, 1]", opts.ModelThreshold)}
		}
		for i, ch := range [2]Channel{ChannelPrompt, ChannelData} {
			d.modelThresh[i] = opts.ModelThreshold
			if d.modelThresh[i] == 0 {
				d.modelThresh[i] = d.model.ChannelThreshold(ch, opts.Sensitivity)
			}
		}
	}
	d.chunk = opts.ChunkBytes
	if d.chunk == 0 {
		d.chunk = DefaultInjectionChunk
	}
	d.chunk = max(d.chunk, 4<<10)
	return d, nil
}

// checkList validates an allow or block list the way the reference does
// and returns it with its folded and normalised forms.
func checkList(name string, entries []string, why string) (orig, fold, normd []string, err error) {
	for i, e := range entries {
		trimmed := strings.TrimFunc(e, injPyIsSpace)
		if trimmed == "" {
			return nil, nil, nil, &InjectionConfigError{Field: name, Index: i,
				Reason: name + " entries must not be empty or whitespace-only"}
		}
		if utf8.RuneCountInString(trimmed) < 3 {
			return nil, nil, nil, &InjectionConfigError{Field: name, Index: i,
				Reason: fmt.Sprintf("%s entry %s is too short (minimum 3 characters). %s", name, injPyRepr(e), why)}
		}
		orig = append(orig, e)
		fold = append(fold, injPyLower(e))
		normd = append(normd, Normalize(e).Text)
	}
	return orig, fold, normd, nil
}

// Name implements [Detector].
func (d *Injection) Name() string { return "injection" }

// InjectionResult is the reference's result shape (its detect() output),
// produced by [Injection.Reference] from the rules alone.
type InjectionResult struct {
	IsInjection bool `json:"is_injection"`
	// Threat is the threat of the first finding with the highest threat;
	// meaningless when IsInjection is false (ThreatLevel then says "none").
	Threat Severity `json:"-"`
	// Type is the injection type; "" when there is none (the reference's null).
	Type InjectionType `json:"injection_type"`
	// Confidence is the highest surviving confidence, rounded to 3 places.
	Confidence float64 `json:"confidence"`
	// MatchedPatterns are the labels of the surviving findings, in the
	// reference's check order: "<family>:<regex source>", "base64_payload:<keyword>",
	// "canary_leak:<canary>", "custom:<source>", "blocklist:<entry>".
	MatchedPatterns []string `json:"matched_patterns"`
	// Explanation is the reference's sentence.
	Explanation string `json:"explanation"`
}

// ThreatLevel is the reference's threat_level: "none" for a clean result,
// else the threat's name.
func (r InjectionResult) ThreatLevel() string {
	if !r.IsInjection {
		return "none"
	}
	return r.Threat.String()
}

// FailClosedResult is the reference's result for an internal error: the
// input is blocked.
func FailClosedResult() InjectionResult {
	return InjectionResult{IsInjection: true, Threat: SeverityCritical, Confidence: 1,
		MatchedPatterns: []string{"detection_error"}, Explanation: "Detection error — input blocked (fail closed)"}
}

// ruleHit is one rule finding before sensitivity filtering.
type ruleHit struct {
	family     int
	kind       InjectionType
	label      string
	threat     Severity
	conf       float64
	start, end int // span in the scanned text; -1 if none
}

// Reference returns the reference's verdict on text: the rules alone,
// matched as the reference matches them (Python's Unicode \s, \b and
// case folding, but no NFKC and no look-alike mapping), with canaries
// added to the configured ones. Use [Injection.Check] for our verdict.
func (d *Injection) Reference(text string, canaries []string) InjectionResult {
	lower := ""
	if len(d.allow)+len(d.block)+len(canaries)+len(d.canaries) > 0 {
		lower = injPyLower(text)
	}
	for _, a := range d.allowFold {
		if strings.Contains(lower, a) {
			return InjectionResult{Explanation: "Input matched allowlist entry", MatchedPatterns: []string{}}
		}
	}
	for i, b := range d.blockFold {
		if strings.Contains(lower, b) {
			return InjectionResult{IsInjection: true, Threat: SeverityHigh, Type: TypeDirectOverride, Confidence: 1,
				MatchedPatterns: []string{"blocklist:" + d.block[i]},
				Explanation:     "Input matched blocklist entry: " + d.block[i]}
		}
	}
	d.meter.add(len(text))
	hits := d.matchRules(nil, foldForRules(text), text, false)
	hits = d.matchCanaries(hits, lower, canaries, false)
	hits = d.matchCustom(hits, text)
	return d.summarize(hits)
}

// matchRules appends the findings of the built-in rules. folded is the
// text the regular expressions run on; orig is the text base64 runs are
// taken from (base64 is case-sensitive). withSpans records spans in folded.
// Each rule runs only in windows around its literal's occurrences, which
// finds exactly what running it over the whole text finds.
func (d *Injection) matchRules(hits []ruleHit, folded, orig string, withSpans bool) []ruleHit {
	return d.matchRulesWith(hits, folded, orig, withSpans, len(folded) <= math.MaxInt32)
}

// matchRulesWith is matchRules; windowed false runs every rule whose
// literal occurs over the whole text (the reference form the windowed
// search is tested against).
func (d *Injection) matchRulesWith(hits []ruleHit, folded, orig string, withSpans, windowed bool) []ruleHit {
	base64Done := false
	sc, _ := d.scratch.Get().(*posScratch)
	if sc == nil {
		sc = new(posScratch)
	}
	defer d.scratch.Put(sc)
	pos := d.literals.positions(sc, folded, d.meter)
	for i := range d.rules {
		r := &d.rules[i]
		if r.family > familyEncoding && !base64Done {
			hits = matchBase64(hits, orig)
			base64Done = true
		}
		lp := pos[r.litID]
		if len(lp) == 0 {
			continue
		}
		var a, b int
		var ok bool
		if windowed {
			a, b, ok = r.win.find(folded, lp, len(r.literal), d.meter)
		} else {
			d.meter.add(len(folded))
			if loc := r.re.FindStringIndex(folded); loc != nil {
				a, b, ok = loc[0], loc[1], true
			}
		}
		if !ok {
			continue
		}
		start, end := -1, -1
		if withSpans {
			start, end = injTrimBoundary(folded, a, b)
		}
		hits = append(hits, ruleHit{family: r.family, kind: r.kind, label: r.label, threat: r.threat, conf: r.conf,
			start: start, end: end})
	}
	if !base64Done {
		hits = matchBase64(hits, orig)
	}
	return hits
}

// injTrimBoundary drops the character a spelt-out \b consumed at either end of
// a match, so the span covers only the phrase.
func injTrimBoundary(s string, start, end int) (int, int) {
	if start < end {
		if r, n := utf8.DecodeRuneInString(s[start:]); !injIsPyWord(r) && r != '<' && r != '[' && r != '\\' && r != '-' && r != '#' && r != '`' {
			start += n
		}
	}
	if start < end {
		if r, n := utf8.DecodeLastRuneInString(s[start:end]); !injIsPyWord(r) && r != '>' && r != ']' && r != ':' && r != '-' && r != '#' && r != '`' && !unicode.IsSpace(r) {
			end -= n
		}
	}
	return start, end
}

func injIsPyWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// matchBase64 adds one finding per base64 run that decodes (with Python's
// non-strict rules) to text containing a suspicious keyword.
func matchBase64(hits []ruleHit, orig string) []ruleHit {
	if len(orig) < 20 {
		return hits
	}
	for _, loc := range base64Runs(orig) {
		decoded, ok := injB64Decode(orig[loc[0]:loc[1]])
		if !ok {
			continue
		}
		low := injPyLower(injUTF8Ignore(decoded))
		for _, kw := range base64Keywords {
			if strings.Contains(low, kw) {
				hits = append(hits, ruleHit{family: familyEncoding, kind: TypeEncodingAttack,
					label: "base64_payload:" + kw, threat: SeverityHigh, conf: 0.85, start: loc[0], end: loc[1]})
				break
			}
		}
	}
	return hits
}

// base64Runs returns the matches of the reference's base64 candidate
// expression [A-Za-z0-9+/]{20,}={0,2}, found without a regular expression:
// leftmost-first greedy matching of that expression yields exactly the
// maximal runs of at least 20 alphabet characters, each with up to two
// following '='. The scan looks at the last byte of the 20 from i first
// and reads back from there: a byte outside the alphabet at i+m means no
// run of 20 starts at or before it, so ordinary text is crossed a dozen
// bytes or more a step.
func base64Runs(s string) [][2]int {
	var out [][2]int
	// From i on, a run of 20 alphabet bytes starting at i is maximal:
	// i is 0 or follows a byte outside the alphabet (or follows a run
	// just reported and is then itself outside it).
	for i := 0; i+20 <= len(s); {
		j := i + 19
		for j >= i && b64Alphabet[s[j]] != 0 {
			j--
		}
		if j >= i {
			i = j + 1
			continue
		}
		e := i + 20
		for e < len(s) && b64Alphabet[s[e]] != 0 {
			e++
		}
		k := e
		for k < len(s) && k-e < 2 && s[k] == '=' {
			k++
		}
		out = append(out, [2]int{i, k})
		i = k
	}
	return out
}

// b64Alphabet marks the bytes of [A-Za-z0-9+/].
var b64Alphabet = [256]uint8{
	'A': 1, 'B': 1, 'C': 1, 'D': 1, 'E': 1, 'F': 1, 'G': 1, 'H': 1, 'I': 1, 'J': 1, 'K': 1, 'L': 1, 'M': 1,
	'N': 1, 'O': 1, 'P': 1, 'Q': 1, 'R': 1, 'S': 1, 'T': 1, 'U': 1, 'V': 1, 'W': 1, 'X': 1, 'Y': 1, 'Z': 1,
	'a': 1, 'b': 1, 'c': 1, 'd': 1, 'e': 1, 'f': 1, 'g': 1, 'h': 1, 'i': 1, 'j': 1, 'k': 1, 'l': 1, 'm': 1,
	'n': 1, 'o': 1, 'p': 1, 'q': 1, 'r': 1, 's': 1, 't': 1, 'u': 1, 'v': 1, 'w': 1, 'x': 1, 'y': 1, 'z': 1,
	'0': 1, '1': 1, '2': 1, '3': 1, '4': 1, '5': 1, '6': 1, '7': 1, '8': 1, '9': 1, '+': 1, '/': 1,
}

// matchCanaries adds a critical finding per canary found in lower.
func (d *Injection) matchCanaries(hits []ruleHit, lower string, extra []string, normalized bool) []ruleHit {
	for _, list := range [2][]string{d.canaries, extra} {
		for _, c := range list {
			var needle string
			if normalized {
				needle = Normalize(c).Text
			} else {
				needle = injPyLower(c)
			}
			i := strings.Index(lower, needle)
			if i < 0 {
				continue
			}
			hits = append(hits, ruleHit{family: familyCanary, kind: TypeCanaryLeak, label: "canary_leak:" + c,
				threat: SeverityCritical, conf: 1, start: i, end: i + len(needle)})
		}
	}
	return hits
}

// matchCustom adds a finding per custom pattern that matches text.
func (d *Injection) matchCustom(hits []ruleHit, text string) []ruleHit {
	for i, re := range d.custom {
		loc := re.FindStringIndex(text)
		if loc == nil {
			continue
		}
		hits = append(hits, ruleHit{family: familyCustom, kind: TypeDirectOverride, label: "custom:" + d.customSrc[i],
			threat: SeverityHigh, conf: 0.8, start: loc[0], end: loc[1]})
	}
	return hits
}

// keep reports whether a finding survives the sensitivity.
func (d *Injection) keep(h ruleHit) bool {
	return h.conf >= d.threshold && h.threat >= d.minThreat
}

// summarize builds the reference's result from the findings.
func (d *Injection) summarize(hits []ruleHit) InjectionResult {
	res := InjectionResult{MatchedPatterns: []string{}}
	var best *ruleHit
	n := 0
	for i := range hits {
		h := &hits[i]
		if !d.keep(*h) {
			continue
		}
		n++
		res.MatchedPatterns = append(res.MatchedPatterns, h.label)
		if best == nil || h.threat > best.threat {
			best = h
		}
		res.Confidence = max(res.Confidence, h.conf)
	}
	if best == nil {
		res.Explanation = "No injection patterns detected"
		return res
	}
	res.IsInjection = true
	res.Threat = best.threat
	res.Type = best.kind
	res.Confidence = math.Round(res.Confidence*1000) / 1000
	res.Explanation = "Detected " + string(best.kind) + " (" + best.threat.String() + " threat, " +
		strconv.FormatFloat(res.Confidence*100, 'f', 0, 64) + "% confidence) from " + strconv.Itoa(n) + " signal(s)"
	return res
}

// InjectionVerdict is our verdict on one input: the rules matched on the
// normalised text combined with the model.
type InjectionVerdict struct {
	// Injection is the verdict: true if a rule or the model fired (and no
	// allowlist entry matched).
	Injection bool
	// Source says what fired: "rule", "model", "rule+model", or "" if
	// nothing did.
	Source string
	// Rules is the rules' result in the reference's shape, computed on the
	// normalised text (so it also sees look-alike letters and invisible
	// characters the reference misses).
	Rules InjectionResult
	// Channel is the channel the input was judged in.
	Channel Channel
	// ModelScore is the probability, by the model's head for Channel, that
	// the input is an injection (the highest over the windows of a long
	// input); 0 if the model is off.
	ModelScore float64
	// PromptHeadScore is, in the data channel of a two-head model, the
	// prompt head's score as well (what is an injection in a prompt is one
	// in data too, so either head can fire); 0 otherwise.
	PromptHeadScore float64
	// Findings are the surviving rule findings and, if it fired, the
	// model's, with spans in the original input.
	Findings []Finding
}

// Check returns our verdict on input in the detector's channel
// (InjectionOptions.Channel), with canaries added to the configured ones.
// The only error is ctx's: callers fail closed on it.
func (d *Injection) Check(ctx context.Context, input string, canaries []string) (InjectionVerdict, error) {
	return d.CheckChannel(ctx, input, canaries, d.channel)
}

// CheckChannel is [Injection.Check] in channel ch: ChannelData for
// untrusted data the agent reads, ChannelPrompt (or "") for the user's own
// prompt. Any other value is treated as ChannelData, the stricter one
// (fail closed). The rules are the same in both channels. The prompt
// channel runs the model's prompt head; the data channel runs its data head
// and, with a two-head model, the prompt head too (an injection in a prompt
// is one in data as well): either firing makes an injection, and the
// model finding's Rule says which ("model:data" or "model").
func (d *Injection) CheckChannel(ctx context.Context, input string, canaries []string, ch Channel) (InjectionVerdict, error) {
	if ch == "" {
		ch = ChannelPrompt
	}
	if ch != ChannelPrompt {
		ch = ChannelData
	}
	ci := 0
	if ch == ChannelData {
		ci = 1
	}
	v := InjectionVerdict{Channel: ch}
	v.Rules.MatchedPatterns = []string{}
	var all []ruleHit
	allowed := false
	// Scores and best spans per head run: [0] the prompt head, [1] the
	// data head. The data channel runs both (with a two-head model).
	var score [2]float64
	span := [2][2]int{{-1, -1}, {-1, -1}}
	runHead := [2]bool{ch == ChannelPrompt, ch == ChannelData}
	if ch == ChannelData && d.model != nil && d.model.Heads() > 1 {
		runHead[0] = true
	}
	nb, _ := d.normBufs.Get().(*normBuf)
	if nb == nil {
		nb = new(normBuf)
	}
	defer d.putNormBuf(nb)
	for off := 0; ; {
		if err := ctx.Err(); err != nil {
			return InjectionVerdict{}, fmt.Errorf("injection scan: %w", err)
		}
		end := len(input)
		if end-off > d.chunk {
			end = injRuneStart(input, off+d.chunk)
		}
		piece := input[off:end]
		d.meter.add(len(piece))
		n := normalize(piece, nb) // its offsets live in nb until the next piece
		hits, allow := d.checkPiece(n, piece, canaries)
		if allow {
			allowed = true
			break
		}
		for _, h := range hits {
			if h.start >= 0 {
				h.start += off
				h.end += off
			}
			if !injContainsHit(all, h) {
				all = append(all, h)
			}
		}
		var ps [2]float64
		var spans [2][2]int
		if d.model != nil {
			ps, spans = d.model.scoreHeads(n.Text, runHead)
		}
		for hi := range runHead {
			if d.model == nil || !runHead[hi] {
				continue
			}
			p, ws, we := ps[hi], spans[hi][0], spans[hi][1]
			if p > score[hi] {
				score[hi] = p
				span[hi] = [2]int{-1, -1}
				if ws >= 0 {
					ws, we = n.Orig(ws, we)
					span[hi] = [2]int{ws + off, we + off}
				}
			}
		}
		if end == len(input) {
			break
		}
		off = injRuneStart(input, end-injectionOverlap)
	}
	if allowed {
		return InjectionVerdict{Channel: ch, Rules: InjectionResult{Explanation: "Input matched allowlist entry", MatchedPatterns: []string{}}}, nil
	}
	v.Rules = d.summarize(all)
	v.ModelScore = score[ci]
	if ci == 1 && runHead[0] {
		v.PromptHeadScore = score[0]
	}
	// The head that fired: the channel's own, else (data channel) the
	// prompt head; -1 for none.
	fired := -1
	switch {
	case d.model == nil:
	case runHead[ci] && score[ci] >= d.modelThresh[ci]:
		fired = ci
	case ci == 1 && runHead[0] && score[0] >= d.modelThresh[0]:
		fired = 0
	}
	modelFired := fired >= 0
	// Markdown structure (a line of ---, ### or ```) is one of the
	// reference's delimiter signals but is everywhere in ordinary documents
	// and code: except at strict it does not make an injection on its own.
	ruleFired := false
	for _, h := range all {
		if d.keep(h) && (d.sensitivity == SensitivityStrict || !isMarkdownDelimiter(h.label)) {
			ruleFired = true
		}
	}
	switch {
	case ruleFired && modelFired:
		v.Source = "rule+model"
	case ruleFired:
		v.Source = "rule"
	case modelFired:
		v.Source = "model"
	}
	v.Injection = v.Source != ""
	for _, h := range all {
		if !v.Injection || !d.keep(h) {
			continue
		}
		src := "rule"
		if modelFired {
			src = "rule+model"
		}
		v.Findings = append(v.Findings, Finding{
			Detector: "injection", Rule: h.label, Kind: string(h.kind), Severity: h.threat, Confidence: h.conf,
			Start: h.start, End: h.end, Source: src,
			Explanation: "Prompt injection (" + string(h.kind) + "): the input matches the rule " + h.label + ".",
		})
	}
	if modelFired {
		p := score[fired]
		sev := SeverityHigh
		if p < (1+d.modelThresh[fired])/2 {
			sev = SeverityMedium
		}
		src := "model"
		if ruleFired {
			src = "rule+model"
		}
		rule, what := "model", "this prompt"
		if fired == 1 {
			rule = "model:data"
		}
		if ch == ChannelData {
			what = "this untrusted data"
		}
		v.Findings = append(v.Findings, Finding{
			Detector: "injection", Rule: rule, Kind: "prompt_injection", Severity: sev,
			Confidence: math.Round(p*1000) / 1000, Start: span[fired][0], End: span[fired][1], Source: src,
			Explanation: "Prompt injection: the statistical model scores " + what + " " +
				strconv.FormatFloat(p*100, 'f', 0, 64) + "% likely to carry an instruction planted for the agent.",
		})
	}
	slices.SortStableFunc(v.Findings, func(a, b Finding) int {
		return cmp.Compare(uint(a.Start), uint(b.Start)) // -1 (no span) sorts last
	})
	return v, nil
}

// putNormBuf returns nb to the detector's pool, unless a huge chunk made
// it too large to keep.
func (d *Injection) putNormBuf(nb *normBuf) {
	if cap(nb.offs) <= maxPooledNorm {
		d.normBufs.Put(nb)
	}
}

// isMarkdownDelimiter reports the delimiter rules that match plain
// Markdown structure.
func isMarkdownDelimiter(label string) bool {
	return label == "delimiter:^-{3,}\\s*$" || label == "delimiter:^#{3,}\\s*$" || label == "delimiter:^```\\s*$"
}

// checkPiece runs the lists and rules on one chunk. It reports allow=true
// when an allowlist entry matched.
func (d *Injection) checkPiece(n Normalized, orig string, canaries []string) (hits []ruleHit, allow bool) {
	for _, a := range d.allowNorm {
		if strings.Contains(n.Text, a) {
			return nil, true
		}
	}
	for i, b := range d.blockNorm {
		if j := strings.Index(n.Text, b); j >= 0 {
			s, e := n.Orig(j, j+len(b))
			hits = append(hits, ruleHit{family: familyDirect, kind: TypeDirectOverride, label: "blocklist:" + d.block[i],
				threat: SeverityHigh, conf: 1, start: s, end: e})
		}
	}
	rh := d.matchRules(nil, n.Text, orig, true)
	rh = d.matchCanaries(rh, n.Text, canaries, true)
	for _, h := range rh {
		if h.start >= 0 && !strings.HasPrefix(h.label, "base64_payload:") {
			h.start, h.end = n.Orig(h.start, h.end)
		}
		hits = append(hits, h)
	}
	return d.matchCustom(hits, orig), false
}

func injContainsHit(hits []ruleHit, h ruleHit) bool {
	for _, x := range hits {
		if x.label == h.label {
			return true
		}
	}
	return false
}

// injRuneStart moves i back to the start of the rune containing it.
func injRuneStart(s string, i int) int {
	i = min(max(i, 0), len(s))
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

// Scan implements [Detector]: the findings of [Injection.Check] with no
// per-call canaries.
func (d *Injection) Scan(ctx context.Context, input string) ([]Finding, error) {
	v, err := d.Check(ctx, input, nil)
	if err != nil {
		return nil, err
	}
	return v.Findings, nil
}
