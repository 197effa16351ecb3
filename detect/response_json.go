package detect

import (
	"bytes"
	"context"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// ClearJSON reports whether ScanResponse, with a context that is not done,
// finds nothing in any string of the JSON text body: false means it may
// find something (or that body is beyond what the check reasons about),
// and the strings must be decoded and scanned one by one. It lets a caller
// that scans every string of a JSON document skip decoding it in the
// common case of a clean one. body is not checked to be valid JSON: a
// caller must decode (or validate) it anyway before trusting that it has no
// other strings than its quoted runs. body must not be modified during the
// call.
//
// The check runs the scanner's rules over body as one text. It answers
// only for body without a backslash and in valid UTF-8, so that every
// string of body is a run of its bytes (with a double quote on either
// side), and without text that Unicode case folding maps to ASCII letters,
// so that the rules' ASCII literals are a sound prefilter. For each rule,
// a finding in a string implies one over body:
//
//   - instruction tags and credential patterns are unanchored regular
//     expressions without word-boundary assertions (a credential pattern's
//     boundaries and budgets only ever drop or keep a match of its core
//     expression), so a match in a run of body is a match in body; and a
//     credential pattern whose literals are absent from body cannot match
//     (the PEM rule, which is code, is taken to match whenever its literal
//     occurs);
//   - an imperative matches only where one of its literals starts, and the
//     anchored expression is tried at every such place in body on a window
//     no shorter than the string's;
//   - a URL cannot hold a double quote, so the URLs found in body are the
//     strings' URLs (and those of the rest of body);
//   - with ResponseOptions.Secrets, every finding of that detector starts
//     from one of its literal anchors, so body must hold none of those
//     that a string can hold (none with a double quote in it).
//
// With ResponseOptions.Injection it always answers false: the model judges
// each string as a whole, which nothing over body can stand in for.
func (s *ResponseScanner) ClearJSON(ctx context.Context, body []byte) bool {
	if len(body) == 0 {
		return true
	}
	if s.inj != nil || ctx.Err() != nil || len(body) > s.max || bytes.IndexByte(body, '\\') >= 0 || !utf8.Valid(body) {
		return false
	}
	// The string shares body's bytes: the rules only read it, and nothing
	// derived from it outlives the call.
	text := unsafe.String(unsafe.SliceData(body), len(body))
	return s.rules.clear(text) && (s.secrets == nil || !s.secrets.mayFindInRuns(text))
}

// mayFindInRuns reports whether a run of text's bytes without a double
// quote may hold a finding: whether one of the anchors that every finding
// starts from occurs in text, leaving out the anchors that hold a double
// quote (such as the service-account rule's "type" in quotes, which every
// MCP content item has as a member name), since such a run cannot hold
// them.
func (s *Secrets) mayFindInRuns(text string) bool {
	found := false
	s.anchors.each(text, func(lit, _ int) bool {
		found = strings.IndexByte(s.anchors.lits[lit], '"') < 0
		return !found
	})
	return found
}

// clear reports whether none of the response rules can match anywhere in
// text, which holds no fold-sensitive text (see ClearJSON).
func (r *responseRules) clear(text string) bool {
	if hasFoldSensitive(text) {
		return false
	}
	if mayHaveTag(text, false) {
		for _, re := range r.tags {
			if re.MatchString(text) {
				return false
			}
		}
	}
	scheme := strings.Contains(text, "://")
	found := false
	urlEnd0 := 0 // end of the last URL, which the next may not overlap
	r.impSet.each(text, func(lit, start int) bool {
		k := r.impOf[lit]
		if k == httpLit {
			if !scheme || start < urlEnd0 {
				return true
			}
			e := urlEnd(text, start)
			if e == 0 {
				return true
			}
			urlEnd0 = e
			u := text[start:e]
			found = r.urlLits.contains(u) && r.urlWords.MatchString(u)
			return !found
		}
		end := start + r.impLen[lit]
		if c, _ := utf8.DecodeRuneInString(text[end:]); !isPySpace(c) {
			return true
		}
		w := impWindow(text, start, r.impBytes[k], r.impMax[k])
		found = r.impAnchored[k].MatchString(text[start:w])
		return !found
	})
	if found {
		return false
	}
	var pats uint64 // the credential patterns whose literals occur
	r.credLits.set.each(text, func(lit, _ int) bool {
		pats |= 1 << r.credLits.pattern[lit]
		return true
	})
	for i := range r.creds {
		if pats&(1<<i) == 0 {
			continue
		}
		if p := &r.creds[i]; p.pem || p.core.MatchString(text) {
			return false
		}
	}
	return true
}
