package server

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/agentos/agentos/internal/jsonw"
)

// fastDecoder is a request body with a decoder for its common, simple
// form. decodeFast either decodes body exactly as decodeBytes would (one
// JSON object, unknown fields rejected, numbers as json.Number) and
// reports true, or reports false leaving the value unchanged, and the
// caller decodes with encoding/json, which also words the errors. It
// declines anything unusual: escapes in strings, invalid UTF-8, repeated
// or differently cased members, null for a field, deep nesting.
type fastDecoder interface {
	decodeFast(body []byte) bool
}

var _ fastDecoder = (*CheckRequest)(nil)

// decodeFast implements fastDecoder for the body of POST /v1/check, which
// every governed agent sends before each action.
func (req *CheckRequest) decodeFast(body []byte) bool {
	p := scanner{b: body}
	var out CheckRequest
	var seen [5]bool
	p.space()
	if !p.byte('{') {
		return false
	}
	p.space()
	if p.peek() != '}' {
		for {
			key, ok := p.plainString()
			if !ok {
				return false
			}
			p.space()
			if !p.byte(':') {
				return false
			}
			p.space()
			var i int
			var dst *string
			switch string(key) {
			case "agent_id":
				i, dst = 0, &out.AgentID
			case "action":
				i, dst = 1, &out.Action
			case "target":
				i, dst = 2, &out.Target
			case "approval_id":
				i, dst = 3, &out.ApprovalID
			case "args":
				i = 4
			default:
				return false // unknown, or a case-insensitive match: encoding/json decides
			}
			if seen[i] {
				return false
			}
			seen[i] = true
			if dst != nil {
				s, ok := p.plainString()
				if !ok {
					return false
				}
				*dst = string(s)
			} else {
				if p.peek() != '{' {
					return false
				}
				v, ok := p.value(0)
				if !ok {
					return false
				}
				out.Args = v.(map[string]any)
			}
			p.space()
			if p.byte(',') {
				p.space()
				continue
			}
			break
		}
	}
	if !p.byte('}') {
		return false
	}
	p.space()
	if p.i != len(p.b) {
		return false
	}
	*req = out
	return true
}

// scanner reads the simple JSON that fast decoders accept.
type scanner struct {
	b []byte
	i int
}

// maxFastDepth bounds the nesting the fast decoders accept.
const maxFastDepth = 32

func (p *scanner) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// byte consumes c if it is next.
func (p *scanner) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// space skips JSON whitespace.
func (p *scanner) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// plainString reads a string without escapes or control characters, in
// valid UTF-8, returning its content (aliasing the body).
func (p *scanner) plainString() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	ascii := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.i++
	}
	return nil, false
}

// value reads any JSON value as encoding/json decodes it into an any with
// UseNumber: map[string]any, []any, string, json.Number, bool or nil.
func (p *scanner) value(depth int) (any, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	switch c := p.peek(); {
	case c == '{':
		p.i++
		m := map[string]any{}
		p.space()
		if p.byte('}') {
			return m, true
		}
		for {
			key, ok := p.plainString()
			if !ok {
				return nil, false
			}
			p.space()
			if !p.byte(':') {
				return nil, false
			}
			p.space()
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[string(key)] = v // a repeated name: the last wins, as in encoding/json
			p.space()
			if p.byte(',') {
				p.space()
				continue
			}
			if p.byte('}') {
				return m, true
			}
			return nil, false
		}
	case c == '[':
		p.i++
		a := []any{}
		p.space()
		if p.byte(']') {
			return a, true
		}
		for {
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			p.space()
			if p.byte(',') {
				p.space()
				continue
			}
			if p.byte(']') {
				return a, true
			}
			return nil, false
		}
	case c == '"':
		s, ok := p.plainString()
		if !ok {
			return nil, false
		}
		return string(s), true
	case c == '-' || '0' <= c && c <= '9':
		start := p.i
		if !p.number() {
			return nil, false
		}
		return json.Number(p.b[start:p.i]), true
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

// literal consumes lit.
func (p *scanner) literal(lit string) bool {
	if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// number consumes a JSON number (RFC 8259 grammar).
func (p *scanner) number() bool {
	digits := func() int {
		n := 0
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	p.byte('-')
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case '1' <= c && c <= '9':
		digits()
	default:
		return false
	}
	if p.byte('.') && digits() == 0 {
		return false
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// appendJSON appends r encoded as json.Marshal encodes it, followed by a
// newline as json.Encoder writes it, and reports true; or reports false,
// with dst unchanged, for a response with an approval or a retry delay
// (rare answers, left to encoding/json).
func (r *CheckResponse) appendJSON(dst []byte) ([]byte, bool) {
	if r.Approval != nil || r.RetryAfterSeconds != 0 {
		return dst, false
	}
	dst = append(dst, `{"allowed":`...)
	if r.Allowed {
		dst = append(dst, "true"...)
	} else {
		dst = append(dst, "false"...)
	}
	dst = append(dst, `,"agent_id":`...)
	dst = jsonw.AppendString(dst, r.AgentID)
	dst = append(dst, `,"action":`...)
	dst = jsonw.AppendString(dst, r.Action)
	for _, f := range [...]struct{ name, v string }{
		{`,"decision":`, r.Decision}, {`,"rule":`, r.Rule}, {`,"policy":`, r.Policy},
		{`,"reason":`, r.Reason}, {`,"policy_version":`, r.PolicyVersion},
	} {
		if f.v != "" {
			dst = append(dst, f.name...)
			dst = jsonw.AppendString(dst, f.v)
		}
	}
	return append(dst, '}', '\n'), true
}
