package detect

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small JSON reader that keeps object members in their
// order (the reference reports schema findings in property order) and
// writes the reference's canonical form for fingerprints:
// json.dumps(value, sort_keys=True) with its ", " and ": " separators,
// ASCII-only output and Python's float spelling.

// jsonKind is the type of a JSON value.
type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonNode is one JSON value. str holds a string's decoded text or a
// number's lexical form; kids holds array elements or object members (with
// key set) in document order.
type jsonNode struct {
	kind    jsonKind
	boolean bool
	key     string
	str     string
	kids    []jsonNode
}

// member returns the value of the object member named key, or nil.
func (n *jsonNode) member(key string) *jsonNode {
	if n == nil || n.kind != jsonObject {
		return nil
	}
	for i := range n.kids {
		if n.kids[i].key == key {
			return &n.kids[i]
		}
	}
	return nil
}

// maxJSONDepth bounds nesting so that hostile input cannot exhaust the
// stack.
const maxJSONDepth = 64

// errJSONSyntax reports malformed JSON.
var errJSONSyntax = errors.New("invalid JSON")

// parseJSON parses one JSON value from data (trailing white space only).
func parseJSON(data string) (jsonNode, error) {
	p := jsonParser{stack: make([]jsonNode, 0, 16)}
	return p.parse(data)
}

// parse is parseJSON with the parser's memory: the nodes are cut from its
// arena, valid until reset.
func (p *jsonParser) parse(data string) (jsonNode, error) {
	p.s, p.i = data, 0
	p.skipSpace()
	n, err := p.value(0, false)
	clear(p.stack[:cap(p.stack)]) // let the stack's copies go
	p.stack = p.stack[:0]
	if err != nil {
		return jsonNode{}, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return jsonNode{}, p.errorf("unexpected data after the value")
	}
	return n, nil
}

// reset makes the parser ready for another parse, dropping every node
// of the last (which must no longer be used) and, when its arena or stack
// hold more than maxNodes nodes, the memory too.
func (p *jsonParser) reset(maxNodes int) {
	p.s, p.i, p.strs = "", 0, nil
	clear(p.arena)
	p.arena = p.arena[:0]
	if cap(p.stack) > maxNodes {
		p.stack = nil
	}
	if cap(p.arena) > maxNodes {
		p.arena = nil
	}
}

// jsonStrings collects, during a parse, every string of a schema the rules
// read (property names, titles, descriptions, enums, defaults, examples,
// at any depth: every string value, and the member names of each object
// that is the value of a "properties" member) in document order, each
// followed by a NUL, which no rule matches across.
type jsonStrings struct {
	buf []byte
}

func (j *jsonStrings) add(s string) {
	j.buf = append(j.buf, s...)
	j.buf = append(j.buf, 0)
}

type jsonParser struct {
	s string
	i int
	// stack holds the members read so far of the objects and arrays
	// being read; a finished container's members move to arena, from
	// which every kids slice is cut, so a parse allocates a few large
	// blocks instead of a growing slice per container.
	stack []jsonNode
	arena []jsonNode
	// strs, if not nil, receives the strings of the document (see
	// jsonStrings).
	strs *jsonStrings
}

// kids moves the members read since mark from the stack to the arena and
// returns them; nil when there are none.
func (p *jsonParser) kids(mark int) []jsonNode {
	n := len(p.stack) - mark
	if n == 0 {
		return nil
	}
	if cap(p.arena)-len(p.arena) < n {
		p.arena = make([]jsonNode, 0, max(n, 2*cap(p.arena), 16))
	}
	a := len(p.arena)
	p.arena = p.arena[:a+n]
	k := p.arena[a : a+n : a+n]
	// Element by element: cheaper than copy's runtime call for the few
	// members most containers have. The stack's stale copies are cleared
	// when the parse ends (parse).
	for j := range k {
		k[j] = p.stack[mark+j]
	}
	p.stack = p.stack[:mark]
	return k
}

func (p *jsonParser) errorf(msg string) error {
	return fmt.Errorf("%w at offset %d: %s", errJSONSyntax, p.i, msg)
}

func (p *jsonParser) skipSpace() {
	s, i := p.s, p.i
	for i < len(s) && s[i] <= ' ' && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	p.i = i
}

// value reads one value; props says that it is the value of a member
// named "properties".
func (p *jsonParser) value(depth int, props bool) (jsonNode, error) {
	if depth > maxJSONDepth {
		return jsonNode{}, p.errorf("nesting too deep")
	}
	if p.i >= len(p.s) {
		return jsonNode{}, p.errorf("unexpected end of input")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		n := jsonNode{kind: jsonObject}
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return n, nil
		}
		mark := len(p.stack)
		for {
			p.skipSpace()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return jsonNode{}, p.errorf("want an object key")
			}
			key, err := p.str()
			if err != nil {
				return jsonNode{}, err
			}
			if props && p.strs != nil {
				p.strs.add(key)
			}
			p.skipSpace()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return jsonNode{}, p.errorf("want ':'")
			}
			p.i++
			p.skipSpace()
			v, err := p.value(depth+1, p.strs != nil && key == "properties")
			if err != nil {
				return jsonNode{}, err
			}
			v.key = key
			p.stack = append(p.stack, v)
			p.skipSpace()
			if p.i >= len(p.s) {
				return jsonNode{}, p.errorf("unterminated object")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == '}' {
				p.i++
				n.kids = p.kids(mark)
				return n, nil
			}
			return jsonNode{}, p.errorf("want ',' or '}'")
		}
	case c == '[':
		p.i++
		n := jsonNode{kind: jsonArray}
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return n, nil
		}
		mark := len(p.stack)
		for {
			p.skipSpace()
			v, err := p.value(depth+1, false)
			if err != nil {
				return jsonNode{}, err
			}
			p.stack = append(p.stack, v)
			p.skipSpace()
			if p.i >= len(p.s) {
				return jsonNode{}, p.errorf("unterminated array")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == ']' {
				p.i++
				n.kids = p.kids(mark)
				return n, nil
			}
			return jsonNode{}, p.errorf("want ',' or ']'")
		}
	case c == '"':
		s, err := p.str()
		if err == nil && p.strs != nil {
			p.strs.add(s)
		}
		return jsonNode{kind: jsonString, str: s}, err
	case c == 't' && strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return jsonNode{kind: jsonBool, boolean: true}, nil
	case c == 'f' && strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return jsonNode{kind: jsonBool}, nil
	case c == 'n' && strings.HasPrefix(p.s[p.i:], "null"):
		p.i += 4
		return jsonNode{kind: jsonNull}, nil
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	}
	return jsonNode{}, p.errorf("unexpected character")
}

func (p *jsonParser) number() (jsonNode, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if digits() == 0 {
		return jsonNode{}, p.errorf("bad number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return jsonNode{}, p.errorf("bad number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return jsonNode{}, p.errorf("bad number")
		}
	}
	return jsonNode{kind: jsonNumber, str: p.s[start:p.i]}, nil
}

// str reads a JSON string starting at the opening quote. Strings without
// escapes are returned without copying. It skips eight bytes at a time
// while none of them is a quote, a backslash or a control character.
func (p *jsonParser) str() (string, error) {
	s, i := p.s, p.i+1 // after the opening quote
	start := i
	for ; i+8 <= len(s) && !strSpecial(load64(s[i:i+8])); i += 8 {
	}
	for i < len(s) {
		c := s[i]
		if c == '"' {
			p.i = i + 1
			return s[start:i], nil
		}
		if c == '\\' || c < 0x20 {
			break // an escape, or an error the loop below reports
		}
		i++
	}
	p.i = i
	var b strings.Builder
	b.WriteString(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c != '\\':
			b.WriteByte(c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.s) {
			break
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if strings.HasPrefix(p.s[p.i:], `\u`) {
					save := p.i
					p.i += 2
					if lo, ok := p.hex4(); ok && utf16.DecodeRune(r, lo) != utf8.RuneError {
						r2 = utf16.DecodeRune(r, lo)
					} else {
						p.i = save
					}
				}
				r = r2
			}
			b.WriteRune(r)
		default:
			return "", p.errorf("bad escape")
		}
	}
	return "", p.errorf("unterminated string")
}

// strSpecial reports whether a byte of the word w (eight bytes of a JSON
// string) is '"', '\\' or below 0x20: the bytes str stops at.
func strSpecial(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, bs := w^'"'*ones, w^'\\'*ones
	// (v-ones)&^v&highs is not zero exactly when a byte of v is zero;
	// (w-0x20*ones)&^w&highs exactly when a byte of w is below 0x20.
	return ((q-ones)&^q|(bs-ones)&^bs|(w-0x20*ones)&^w)&highs != 0
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(v), true
}

// pyDumpSorted appends the reference's json.dumps(v, sort_keys=True) text
// for n to b.
func pyDumpSorted(b []byte, n *jsonNode) []byte {
	switch n.kind {
	case jsonNull:
		return append(b, "null"...)
	case jsonBool:
		if n.boolean {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case jsonNumber:
		return pyNumber(b, n.str)
	case jsonString:
		return pyQuote(b, n.str)
	case jsonArray:
		b = append(b, '[')
		for i := range n.kids {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = pyDumpSorted(b, &n.kids[i])
		}
		return append(b, ']')
	default:
		// Python dicts keep the last of duplicate keys.
		idx := make([]int, 0, len(n.kids))
		seen := make(map[string]int, len(n.kids))
		for i := range n.kids {
			if j, ok := seen[n.kids[i].key]; ok {
				idx[j] = i
				continue
			}
			seen[n.kids[i].key] = len(idx)
			idx = append(idx, i)
		}
		sort.Slice(idx, func(a, c int) bool { return pyKeyLess(n.kids[idx[a]].key, n.kids[idx[c]].key) })
		b = append(b, '{')
		for k, i := range idx {
			if k > 0 {
				b = append(b, ", "...)
			}
			b = pyQuote(b, n.kids[i].key)
			b = append(b, ": "...)
			b = pyDumpSorted(b, &n.kids[i])
		}
		return append(b, '}')
	}
}

// pyKeyLess orders keys as Python orders str: by code point.
func pyKeyLess(a, b string) bool {
	// UTF-8 byte order equals code point order.
	return a < b
}

// pyNumber spells a JSON number as Python would after json.loads: integers
// unchanged, floats in repr form (1.0, 1e+16, 1e-05, inf).
func pyNumber(b []byte, lex string) []byte {
	if !strings.ContainsAny(lex, ".eE") {
		return append(b, lex...)
	}
	f, err := strconv.ParseFloat(lex, 64)
	if err != nil && !math.IsInf(f, 0) {
		return append(b, lex...)
	}
	switch {
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	return pyFloatRepr(b, f)
}

// pyFloatRepr appends Python's repr of a finite float.
func pyFloatRepr(b []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	digits := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(digits, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= 16 {
		b = append(b, mant...) // Python keeps "1e+16", not "1.0e+16"
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, int64(exp), 10)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	b = append(b, s...)
	if !strings.Contains(s, ".") {
		b = append(b, ".0"...)
	}
	return b
}

// pyQuote appends s as json.dumps(ensure_ascii=True) writes it.
func pyQuote(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	u := func(b []byte, v rune) []byte {
		return append(b, '\\', 'u', hexDigits[v>>12&0xf], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf])
	}
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r < 0x20 || r >= 0x7f && r < 0x10000:
			b = u(b, r)
		case r >= 0x10000:
			r1, r2 := utf16.EncodeRune(r)
			b = u(u(b, r1), r2)
		default:
			b = append(b, byte(r))
		}
	}
	return append(b, '"')
}

// schemaHash returns the reference's schema fingerprint: sha256 of the
// sorted JSON dump, or of no bytes when the schema is absent, null or an
// empty object (the reference treats every falsy schema alike).
func schemaHash(n *jsonNode) [32]byte {
	if n == nil || pyFalsy(n) {
		return sha256.Sum256(nil)
	}
	return sha256.Sum256(pyDumpSorted(nil, n))
}

// pyFalsy reports Python truthiness of a decoded JSON value.
func pyFalsy(n *jsonNode) bool {
	switch n.kind {
	case jsonNull:
		return true
	case jsonBool:
		return !n.boolean
	case jsonNumber:
		f, err := strconv.ParseFloat(n.str, 64)
		return err == nil && f == 0
	case jsonString:
		return n.str == ""
	default:
		return len(n.kids) == 0
	}
}
