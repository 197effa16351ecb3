package detect

// The injection check as it was before its speed work, kept verbatim (only
// renamed) as the oracle the current code is compared with: every verdict,
// score, finding and span must be identical (see TestInjectionMatchesOracle
// and FuzzInjectionOracleDifferential). Do not optimise these copies.

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// refCheckChannel is [Injection.Check] in channel ch: ChannelData for
// untrusted data the agent reads, ChannelPrompt (or "") for the user's own
// prompt. Any other value is treated as ChannelData, the stricter one
// (fail closed). The rules are the same in both channels. The prompt
// channel runs the model's prompt head; the data channel runs its data head
// and, with a two-head model, the prompt head too (an injection in a prompt
// is one in data as well): either firing makes an injection, and the
// model finding's Rule says which ("model:data" or "model").
func (d *Injection) refCheckChannel(ctx context.Context, input string, canaries []string, ch Channel) (InjectionVerdict, error) {
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
		n := refNormalize(piece)
		hits, allow := d.refCheckPiece(n, piece, canaries)
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
		for hi, hc := range [2]Channel{ChannelPrompt, ChannelData} {
			if d.model == nil || !runHead[hi] {
				continue
			}
			p, ws, we := d.model.refScoreNormalized(hc, n.Text)
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

// refCheckPiece runs the lists and rules on one chunk. It reports allow=true
// when an allowlist entry matched.
func (d *Injection) refCheckPiece(n Normalized, orig string, canaries []string) (hits []ruleHit, allow bool) {
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
	rh := d.refMatchRulesWith(nil, n.Text, orig, true, len(n.Text) <= math.MaxInt32)
	rh = d.refMatchCanaries(rh, n.Text, canaries, true)
	for _, h := range rh {
		if h.start >= 0 && !strings.HasPrefix(h.label, "base64_payload:") {
			h.start, h.end = n.Orig(h.start, h.end)
		}
		hits = append(hits, h)
	}
	return d.matchCustom(hits, orig), false
}

// refMatchRulesWith is matchRules; windowed false runs every rule whose
// literal occurs over the whole text (the reference form the windowed
// search is tested against).
func (d *Injection) refMatchRulesWith(hits []ruleHit, folded, orig string, withSpans, windowed bool) []ruleHit {
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
			hits = refMatchBase64(hits, orig)
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
		hits = refMatchBase64(hits, orig)
	}
	return hits
}

// refMatchBase64 adds one finding per base64 run that decodes (with Python's
// non-strict rules) to text containing a suspicious keyword.
func refMatchBase64(hits []ruleHit, orig string) []ruleHit {
	if len(orig) < 20 {
		return hits
	}
	for _, loc := range refBase64Runs(orig) {
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

// refBase64Runs returns the matches of the reference's base64 candidate
// expression [A-Za-z0-9+/]{20,}={0,2}, found without a regular expression:
// leftmost-first greedy matching of that expression yields exactly the
// maximal runs of at least 20 alphabet characters, each with up to two
// following '='.
func refBase64Runs(s string) [][2]int {
	var out [][2]int
	for i := 0; i < len(s); {
		if b64Alphabet[s[i]] == 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && b64Alphabet[s[j]] != 0 {
			j++
		}
		if j-i >= 20 {
			k := j
			for k < len(s) && k-j < 2 && s[k] == '=' {
				k++
			}
			out = append(out, [2]int{i, k})
			j = k
		}
		i = j
	}
	return out
}

// refMatchCanaries adds a critical finding per canary found in lower.
func (d *Injection) refMatchCanaries(hits []ruleHit, lower string, extra []string, normalized bool) []ruleHit {
	for _, list := range [2][]string{d.canaries, extra} {
		for _, c := range list {
			var needle string
			if normalized {
				needle = refNormalize(c).Text
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

// refNormalize returns the normalised form of s described at [Normalized.Text].
// Plain ASCII input takes a fast path that copies at most once and keeps an
// identity offset map. Work and memory are linear in len(s).
func refNormalize(s string) Normalized {
	// ASCII fast path, eight bytes at a time (asciiFoldMask); any
	// non-ASCII byte sends the whole text to the slow path.
	fold := false
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s[i : i+8])
		if w&asciiHighs != 0 {
			return refNormalizeSlowPath(s)
		}
		fold = fold || asciiFoldMask(w) != 0
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return refNormalizeSlowPath(s)
		}
		fold = fold || normFoldASCII(c) != c
	}
	if !fold {
		return Normalized{Text: s, origLen: len(s)}
	}
	b := make([]byte, len(s))
	i = 0
	for ; i+8 <= len(s); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], asciiFold8(load64(s[i:i+8])))
	}
	for ; i < len(s); i++ {
		b[i] = normFoldASCII(s[i])
	}
	return Normalized{Text: string(b), origLen: len(s)}
}

// refNormalizeSlowPath handles input containing non-ASCII bytes. Every ASCII
// byte is a normalisation boundary (a starter that composes with nothing
// before it), so the text is split there: an ASCII byte followed by another
// ASCII byte (or the end) is folded directly, and only the pieces that hold
// non-ASCII text, each with the ASCII byte before it, go through NFKC. The
// result is the same as normalising the whole text at once (see
// TestNormalizePiecewiseExact) at a fraction of the cost on mostly-ASCII
// text.
func refNormalizeSlowPath(s string) Normalized {
	out := make([]byte, 0, len(s)+len(s)/8)
	offs := make([]int32, 0, cap(out)+1)
	var sc normScratch
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf && normBoundaryAt(s, i+1) {
			// A run of ASCII bytes, each followed by a boundary: fold it in
			// bulk.
			j := i + 1
			for j < len(s) && s[j] < utf8.RuneSelf {
				j++
			}
			if j < len(s) && !normBoundaryAt(s, j) {
				j-- // the last ASCII byte goes with what follows
			}
			n := len(out)
			out = slices.Grow(out, j-i)[:n+j-i]
			offs = slices.Grow(offs, j-i)[:n+j-i]
			for k := i; k < j; k++ {
				out[n+k-i] = normFoldASCII(s[k])
				offs[n+k-i] = int32(k)
			}
			i = j
			continue
		}
		if n := normPlainRune(s, i); n > 0 && normBoundaryAt(s, i+n) {
			// A character that every step leaves unchanged.
			out = append(out, s[i:i+n]...)
			for range n {
				offs = append(offs, int32(i))
			}
			i += n
			continue
		}
		// A piece up to the next boundary goes through NFKC.
		j := i + 1
		for j < len(s) && !normBoundaryAt(s, j) {
			j++
		}
		out, offs = sc.piece(out, offs, s, i, j)
		i = j
	}
	offs = append(offs, int32(len(s)))
	return Normalized{Text: string(out), offs: offs, origLen: len(s)}
}

// refScoreNormalized scores normalised text with ch's head and returns the
// probability and the span of the best window (-1, -1 when the whole text
// was one window).
func (m *Model) refScoreNormalized(ch Channel, text string) (p float64, start, end int) {
	h := m.head(ch)
	nb := max((len(text)+modelBlock-1)/modelBlock, 1)
	var fixedSums, fixedCount [8]int32
	b := featureSink{weights: h.weights, wordsOnly: h.wordsOnly, codeWords: h.codeWords}
	if nb <= len(fixedSums) {
		b.sums, b.count = fixedSums[:nb], fixedCount[:nb]
	} else {
		b.sums, b.count = make([]int32, nb), make([]int32, nb)
	}
	refExtractFeatures(text, m.bits, &b)
	per := modelWindow / modelBlock
	if h.halfWindow {
		per /= 2
	}
	if nb <= per+1 {
		return modelSigmoid(h.logit(b.sums, b.count)), -1, -1
	}
	best := math.Inf(-1)
	start, end = 0, 0
	for i := 0; i+per <= nb; i++ {
		s := h.logit(b.sums[i:i+per], b.count[i:i+per])
		if s > best {
			best, start, end = s, i*modelBlock, min((i+per)*modelBlock, len(text))
		}
	}
	return modelSigmoid(best), start, end
}

// refExtractFeatures feeds the features of text to sink.
func refExtractFeatures(text string, bits uint8, sink *featureSink) {
	if sink.wordsOnly {
		refExtractWords(text, bits, sink)
		return
	}
	shift := 64 - bits
	var g uint64 // last five bytes after space collapsing, newest lowest
	n := 0       // bytes seen after space collapsing
	prevSpace := true
	var word uint64 // hash of the current word
	var prevWord uint64
	inWord := false
	lead, wordLead := true, false // at a sentence start; the current word starts one
	for i := 0; i < len(text); i++ {
		c := text[i]
		// Words.
		if ngramWordByte(c) {
			if !inWord {
				word = fnvOffset
				inWord = true
				wordLead, lead = lead, false
			}
			word = (word ^ uint64(c)) * rollBase
		} else {
			if inWord {
				sink.add(ngramBucket(word^saltWord, bits), i)
				if prevWord != 0 {
					sink.add(ngramBucket((prevWord*31+word)^saltBigram, bits), i)
				}
				if wordLead {
					sink.add(ngramBucket(word^saltLead, bits), i)
				}
				prevWord = word
				inWord = false
			}
			if ngramSentenceByte(c) {
				lead = true
			}
		}
		// Character n-grams.
		if ngramSpaceByte(c) {
			if prevSpace {
				continue
			}
			c = ' '
			prevSpace = true
		} else {
			prevSpace = false
			if '0' <= c && c <= '9' {
				c = '0'
			}
		}
		g = g<<8 | uint64(c)
		n++
		if n >= 5 && sink.weights != nil {
			// The common case when scoring: the three grams ending here
			// fall in one block, summed at once.
			w := sink.weights
			k := i / modelBlock
			sink.sums[k] += int32(w[gramBucket((g&0xFFFFFF)<<2|1, shift)]) +
				int32(w[gramBucket((g&0xFFFFFFFF)<<2|2, shift)]) +
				int32(w[gramBucket((g&0xFFFFFFFFFF)<<2|3, shift)])
			sink.count[k] += 3
		} else if n >= 3 {
			sink.add(gramBucket((g&0xFFFFFF)<<2|1, shift), i+1)
			if n >= 4 {
				sink.add(gramBucket((g&0xFFFFFFFF)<<2|2, shift), i+1)
				if n >= 5 {
					sink.add(gramBucket((g&0xFFFFFFFFFF)<<2|3, shift), i+1)
				}
			}
		}
	}
	if inWord {
		sink.add(ngramBucket(word^saltWord, bits), len(text))
		if prevWord != 0 {
			sink.add(ngramBucket((prevWord*31+word)^saltBigram, bits), len(text))
		}
		if wordLead {
			sink.add(ngramBucket(word^saltLead, bits), len(text))
		}
	}
}

// refExtractWords feeds the word features of text to sink: those of
// [extractFeatures] without the grams, and with sink.codeWords the words
// between backticks hashed apart (a backtick toggles; a fence of three
// toggles too).
func refExtractWords(text string, bits uint8, sink *featureSink) {
	var word, prevWord, code uint64
	inWord := false
	lead, wordLead := true, false // at a sentence start; the current word starts one
	for i := 0; i < len(text); i++ {
		c := text[i]
		if ngramWordByte(c) {
			if !inWord {
				word = fnvOffset
				inWord = true
				wordLead, lead = lead, false
			}
			word = (word ^ uint64(c)) * rollBase
			continue
		}
		if inWord {
			word ^= code
			sink.add(ngramBucket(word^saltWord, bits), i)
			if prevWord != 0 {
				sink.add(ngramBucket((prevWord*31+word)^saltBigram, bits), i)
			}
			if wordLead {
				sink.add(ngramBucket(word^saltLead, bits), i)
			}
			prevWord = word
			inWord = false
		}
		if ngramSentenceByte(c) {
			lead = true
		}
		if c == '`' && sink.codeWords {
			code ^= saltCode
		}
	}
	if inWord {
		word ^= code
		sink.add(ngramBucket(word^saltWord, bits), len(text))
		if prevWord != 0 {
			sink.add(ngramBucket((prevWord*31+word)^saltBigram, bits), len(text))
		}
		if wordLead {
			sink.add(ngramBucket(word^saltLead, bits), len(text))
		}
	}
}
