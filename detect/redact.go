package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RedactedPlaceholder replaces every redacted secret or personal datum.
const RedactedPlaceholder = "[REDACTED]"

// DefaultMaxInput is the input size, in bytes, the secrets, PII and
// dangerous-operation detectors scan when their Options leave MaxInput zero.
const DefaultMaxInput = 16 << 20

func checkSize(n, limit int) error {
	if limit <= 0 {
		limit = DefaultMaxInput
	}
	if n > limit {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInputTooLarge, n, limit)
	}
	return nil
}

// redactSpans replaces each finding's span in s with the placeholder.
// Overlapping spans are merged. Findings without a span are ignored.
func redactSpans(s string, fs []Finding) string {
	if len(fs) == 0 {
		return s
	}
	type span struct{ a, b int }
	spans := make([]span, 0, len(fs))
	for _, f := range fs {
		if f.Start >= 0 && f.End > f.Start && f.End <= len(s) {
			spans = append(spans, span{f.Start, f.End})
		}
	}
	if len(spans) == 0 {
		return s
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].a < spans[j].a })
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for i := 0; i < len(spans); {
		a, e := spans[i].a, spans[i].b
		j := i + 1
		for j < len(spans) && spans[j].a < e {
			e = max(e, spans[j].b)
			j++
		}
		if a < pos { // cannot happen after merging; keep the guard
			a = pos
		}
		b.WriteString(s[pos:a])
		b.WriteString(RedactedPlaceholder)
		pos = e
		i = j
	}
	b.WriteString(s[pos:])
	return b.String()
}

// scanFunc finds the spans to redact in one string.
type scanFunc func(s string) []Finding

// redactJSON rewrites every string value of the JSON document raw whose
// content scan finds something in, replacing the found spans with the
// placeholder, and replaces scalar values of keys for which keyIsSecret is
// true by the placeholder. Keys, numbers, layout and order are kept, so the
// output is valid JSON. Finding spans are byte offsets into raw.
func redactJSON(raw []byte, scan scanFunc, keyIsSecret func(string) bool, detector string) ([]byte, []Finding, error) {
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	var out bytes.Buffer
	out.Grow(len(raw))
	var findings []Finding
	// Stack of containers: true for an object. In an object, expectKey says
	// whether the next string is a key.
	type frame struct {
		object    bool
		expectKey bool
		key       string
	}
	var stack []frame
	pos := 0
	i := 0
	for i < len(raw) {
		c := raw[i]
		switch {
		case c == '{' || c == '[':
			stack = append(stack, frame{object: c == '{', expectKey: c == '{'})
			i++
		case c == '}' || c == ']':
			stack = stack[:len(stack)-1]
			i++
		case c == ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].expectKey = true
			}
			i++
		case c == ':':
			i++
		case c == '"':
			end := jsonStringEnd(raw, i)
			tok := raw[i:end]
			n := len(stack)
			if n > 0 && stack[n-1].object && stack[n-1].expectKey {
				var k string
				if err := json.Unmarshal(tok, &k); err != nil {
					return nil, nil, fmt.Errorf("%w: key at byte %d: %v", ErrInvalidJSON, i, err)
				}
				stack[n-1].key = k
				stack[n-1].expectKey = false
				i = end
				continue
			}
			var val string
			if err := json.Unmarshal(tok, &val); err != nil {
				return nil, nil, fmt.Errorf("%w: string at byte %d: %v", ErrInvalidJSON, i, err)
			}
			secretKey := n > 0 && stack[n-1].object && keyIsSecret != nil && keyIsSecret(stack[n-1].key)
			var repl string
			changed := false
			if secretKey && val != "" && val != RedactedPlaceholder {
				repl, changed = RedactedPlaceholder, true
				findings = append(findings, Finding{Detector: detector, Rule: "secret-named-key",
					Kind: "secret_field", Severity: SeverityHigh, Confidence: 0.7, Start: i, End: end,
					Explanation: "value of a field named like a secret (" + safeKey(stack[n-1].key) + ")",
					Suggestion:  "keep credentials out of payloads and logs; pass them by reference", Source: "rule"})
			} else if fs := scan(val); len(fs) > 0 {
				repl, changed = redactSpans(val, fs), true
				for _, f := range fs {
					f.Start, f.End = i, end
					findings = append(findings, f)
				}
			}
			if changed {
				out.Write(raw[pos:i])
				writeJSONString(&out, repl)
				pos = end
			}
			i = end
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default: // number, true, false, null
			j := i
			for j < len(raw) && !strings.ContainsRune(" \t\r\n,]}", rune(raw[j])) {
				j++
			}
			n := len(stack)
			if n > 0 && stack[n-1].object && keyIsSecret != nil && keyIsSecret(stack[n-1].key) &&
				(raw[i] == '-' || (raw[i] >= '0' && raw[i] <= '9')) {
				out.Write(raw[pos:i])
				writeJSONString(&out, RedactedPlaceholder)
				pos = j
				findings = append(findings, Finding{Detector: detector, Rule: "secret-named-key",
					Kind: "secret_field", Severity: SeverityHigh, Confidence: 0.7, Start: i, End: j,
					Explanation: "value of a field named like a secret (" + safeKey(stack[n-1].key) + ")",
					Suggestion:  "keep credentials out of payloads and logs; pass them by reference", Source: "rule"})
			}
			i = j
		}
	}
	out.Write(raw[pos:])
	return out.Bytes(), findings, nil
}

// safeKey shortens a JSON key for an explanation.
func safeKey(k string) string {
	if len(k) > 40 {
		k = k[:40] + "…"
	}
	return fmt.Sprintf("%q", k)
}

// jsonStringEnd returns the index just past the JSON string starting at raw[i]
// (which is '"'). raw is known to be valid JSON.
func jsonStringEnd(raw []byte, i int) int {
	j := i + 1
	for j < len(raw) {
		switch raw[j] {
		case '\\':
			j += 2
		case '"':
			return j + 1
		default:
			j++
		}
	}
	return len(raw)
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	var tmp bytes.Buffer
	enc = json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	b.Write(bytes.TrimRight(tmp.Bytes(), "\n"))
}

// isPyWord reports whether r is a word character in the sense of Python's
// Unicode-aware \w, which the reference's \b boundaries use.
func isPyWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.No, r)
}

// pyBoundary reports whether position i of s is a word boundary in the sense
// of Python's Unicode-aware \b.
func pyBoundary(s string, i int) bool {
	before, after := false, false
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		before = isPyWord(r)
	}
	if i < len(s) {
		r, _ := utf8.DecodeRuneInString(s[i:])
		after = isPyWord(r)
	}
	return before != after
}

// pySpace is an RE2 class body matching what Python's Unicode-aware \s
// matches, so that a non-breaking or ideographic space cannot evade a rule.
const pySpace = `\t\n\v\f\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
