package ui

import (
	"bytes"
	"unicode/utf8"
)

// member returns the raw value of the top-level member name of the JSON
// object data, without decoding the rest: the dashboard reads a few
// fields of every decision the daemon makes, and decoding whole events
// (with their arguments) costs several times more. ok is false when data
// is not a well-formed object or the member is absent or repeated; the
// caller then decodes data in full, which reports what is wrong. The
// value returned is checked only for balance: decode it with
// encoding/json.
func member(data []byte, name string) (val []byte, ok bool) {
	var v [1][]byte
	if !members(data, []string{name}, v[:]) || v[0] == nil {
		return nil, false
	}
	return v[0], true
}

// members is member for several names at once: vals[i] is set to the raw
// value of names[i], or nil when absent. It reports false when data is
// not a well-formed object, a name is repeated, or a member name might
// match one of names for encoding/json without being equal to it
// (escapes, other letter case, non-ASCII letters).
func members(data []byte, names []string, vals [][]byte) bool {
	clear(vals)
	p := skipper{b: data}
	p.space()
	if !p.byte('{') {
		return false
	}
	p.space()
	if p.byte('}') {
		p.space()
		return p.i == len(p.b)
	}
	for {
		key, plain, ok := p.str()
		if !ok || !plain {
			return false
		}
		p.space()
		if !p.byte(':') {
			return false
		}
		p.space()
		start := p.i
		if !p.value(0) {
			return false
		}
		for i, n := range names {
			switch {
			case string(key) == n:
				if vals[i] != nil {
					return false
				}
				vals[i] = data[start:p.i]
			case bytes.EqualFold(key, []byte(n)):
				return false // encoding/json matches names case-insensitively
			}
		}
		if !ascii(key) {
			return false // nor would this fold like encoding/json (ſ, K)
		}
		p.space()
		if p.byte(',') {
			p.space()
			continue
		}
		if !p.byte('}') {
			return false
		}
		p.space()
		return p.i == len(p.b)
	}
}

// ascii reports whether b is all ASCII.
func ascii(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// decisionFields reads the allowed, rule and policy members of an audit
// event's decision, without decoding the rest of the event. ok is false
// when the event is not in the simple form this reads (the caller then
// decodes it in full).
func decisionFields(data []byte) (allowed bool, rule, policy string, ok bool) {
	dec, ok := member(data, "decision")
	if !ok {
		return false, "", "", false
	}
	var v [3][]byte
	if !members(dec, []string{"allowed", "rule", "policy"}, v[:]) {
		return false, "", "", false
	}
	switch string(v[0]) {
	case "true":
		allowed = true
	case "false", "":
	default:
		return false, "", "", false
	}
	if rule, ok = plainString(v[1]); !ok {
		return false, "", "", false
	}
	if policy, ok = plainString(v[2]); !ok {
		return false, "", "", false
	}
	return allowed, rule, policy, true
}

// plainString returns the content of a JSON string without escapes, or
// "" for nil; ok is false for anything else.
func plainString(raw []byte) (string, bool) {
	if raw == nil {
		return "", true
	}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	if !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}

// skipper walks JSON text without decoding it.
type skipper struct {
	b []byte
	i int
}

// maxSkipDepth bounds the nesting member walks.
const maxSkipDepth = 64

func (p *skipper) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *skipper) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// str skips a string and returns its raw content; plain is false when it
// holds escapes.
func (p *skipper) str() (raw []byte, plain, ok bool) {
	if !p.byte('"') {
		return nil, false, false
	}
	start := p.i
	plain = true
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], plain, true
		case c == '\\':
			plain = false
			p.i += 2
		case c < 0x20:
			return nil, false, false
		default:
			p.i++
		}
	}
	return nil, false, false
}

// value skips one value.
func (p *skipper) value(depth int) bool {
	if depth > maxSkipDepth || p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; c {
	case '"':
		_, _, ok := p.str()
		return ok
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		p.i++
		p.space()
		if p.byte(end) {
			return true
		}
		for {
			if c == '{' {
				if _, _, ok := p.str(); !ok {
					return false
				}
				p.space()
				if !p.byte(':') {
					return false
				}
				p.space()
			}
			if !p.value(depth + 1) {
				return false
			}
			p.space()
			if p.byte(',') {
				p.space()
				continue
			}
			return p.byte(end)
		}
	}
	// A number or a literal: the bytes up to a delimiter; encoding/json
	// checks them when the value is decoded, and the other members are
	// not used.
	start := p.i
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r', ':', '"', '{', '[':
			return p.i > start
		}
		p.i++
	}
	return p.i > start
}
