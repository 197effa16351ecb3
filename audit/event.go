package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind classifies an event.
type Kind string

// The event kinds.
const (
	// KindSyscall is a kernel syscall (read, write, exec, ...).
	KindSyscall Kind = "syscall"
	// KindToolCall is a governed tool call.
	KindToolCall Kind = "tool_call"
	// KindSignal is a signal sent to an agent.
	KindSignal Kind = "signal"
	// KindPolicyReload is a policy set loaded, reloaded or rejected.
	KindPolicyReload Kind = "policy_reload"
	// KindApproval is a human approval requested, granted, denied or timed
	// out.
	KindApproval Kind = "approval"
	// KindMCPMessage is an MCP message passing through the gateway.
	KindMCPMessage Kind = "mcp_message"
	// KindAgentLifecycle is an agent registered, exited or removed.
	KindAgentLifecycle Kind = "agent_lifecycle"
)

// Valid reports whether k is one of the defined kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindSyscall, KindToolCall, KindSignal, KindPolicyReload, KindApproval, KindMCPMessage, KindAgentLifecycle:
		return true
	}
	return false
}

// Decision is the policy decision an event records.
type Decision struct {
	// Action is the decided action: allow, deny, audit, block,
	// require_approval, rate_limit.
	Action string `json:"action"`
	// Allowed says whether the action was let through.
	Allowed bool `json:"allowed"`
	// Rule is the matched rule's name; "" when none matched.
	Rule string `json:"rule"`
	// Reason is the reason given to the caller.
	Reason string `json:"reason"`
	// Policy names the policy document the rule came from.
	Policy string `json:"policy"`
	// PolicyVersion identifies the compiled policy set (its SHA-256).
	PolicyVersion string `json:"policy_version"`
}

// Outcome is what executing the action produced.
type Outcome struct {
	// Code is the kernel result code (0 success, -1 terminated, -2 policy
	// violation, ...). It must lie within ±(2^53−1).
	Code int `json:"code"`
	// Error is the error message, "" on success.
	Error string `json:"error"`
	// ResultHash is the hex SHA-256 of the result, "" when none.
	ResultHash string `json:"result_hash"`
	// ResultSummary is a short, redacted description of the result.
	ResultSummary string `json:"result_summary"`
}

// Event is one entry of the audit log: one governed action, written once,
// after its outcome is known. Its JSON form (MarshalJSON) is the RFC 8785
// canonical form including "hash", so any JCS implementation can recompute
// the hash from the stored JSON.
type Event struct {
	// Seq is the event's position in the log, gap-free from 0. Set by the
	// log.
	Seq uint64 `json:"seq"`
	// Time is when the event was recorded, in UTC; it is encoded as RFC 3339
	// with exactly nine fractional digits. The log sets it when zero.
	Time time.Time `json:"time"`
	// AgentID is the acting agent.
	AgentID string `json:"agent_id"`
	// SessionID groups the agent's events into a session.
	SessionID string `json:"session_id"`
	// TraceID links the event to a distributed trace.
	TraceID string `json:"trace_id"`
	// Kind classifies the event; it must be Valid.
	Kind Kind `json:"kind"`
	// Tool is the tool or syscall name.
	Tool string `json:"tool"`
	// Args are the action's arguments as JSON, already redacted by the
	// caller. Nil means null. Logs store them in canonical form; numbers
	// are IEEE doubles under RFC 8785, so integers beyond 2^53 lose
	// precision (send them as strings).
	Args json.RawMessage `json:"args"`
	// Decision is the policy decision.
	Decision Decision `json:"decision"`
	// Outcome is the execution outcome.
	Outcome Outcome `json:"outcome"`
	// LatencyUS is the action's duration in microseconds.
	LatencyUS int64 `json:"latency_us"`
	// PrevHash is the previous event's Hash (GenesisHash for seq 0), as 64
	// lower-case hex digits. Set by the log.
	PrevHash string `json:"prev_hash"`
	// Hash is SHA-256(PrevHash's 32 bytes || Canonical(event)) as 64
	// lower-case hex digits. Set by the log.
	Hash string `json:"hash"`
}

// GenesisHash is the PrevHash of the first event (seq 0): 32 zero bytes in
// hex.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeLayout is the layout of Event.Time in canonical JSON: RFC 3339 in
// UTC with exactly nine fractional digits, so that the text sorts as the
// time does and re-encoding never changes it.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// maxSafeInt is 2^53−1, the largest integer every IEEE double holds
// exactly (I-JSON's limit).
const maxSafeInt = 1<<53 - 1

// maxDepth bounds the nesting of args.
const maxDepth = 1000

// Canonical returns the RFC 8785 (JCS) canonical JSON of e without its
// "hash" member: the bytes the chain hashes. It fails with an error
// wrapping ErrInvalidEvent that names the field for a string that is not
// valid UTF-8, args that are not I-JSON (see CanonicalJSON), an integer
// outside ±(2^53−1) or a time outside years 0–9999. The Kind is not
// checked here (see Kind.Valid).
func Canonical(e *Event) ([]byte, error) {
	out, _, err := appendEvent(nil, e, false)
	return out, err
}

// AppendCanonical appends Canonical(e) to dst.
func AppendCanonical(dst []byte, e *Event) ([]byte, error) {
	out, _, err := appendEvent(dst, e, false)
	return out, err
}

// MarshalJSON encodes e in canonical form including "hash", so the stored
// JSON, with "hash" removed and canonicalized by any JCS implementation,
// gives back the hashed bytes.
func (e Event) MarshalJSON() ([]byte, error) {
	out, _, err := appendEvent(nil, &e, true)
	return out, err
}

// UnmarshalJSON decodes an event, rejecting unknown members.
func (e *Event) UnmarshalJSON(data []byte) error {
	type plain Event // no methods: decodes by field tags
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("decode audit event: %w", err)
	}
	if dec.More() {
		return errors.New("decode audit event: data after the event")
	}
	*e = Event(p)
	return nil
}

// Hash computes e's hash from e.PrevHash and Canonical(e): lower-case hex of
// SHA-256(the 32 bytes PrevHash encodes || canonical JSON). It does not read
// e.Hash. PrevHash must be 64 lower-case hex digits.
func Hash(e *Event) (string, error) {
	buf, err := hashInput(make([]byte, 0, 512), e)
	if err != nil {
		return "", err
	}
	return encodeHash(sha256.Sum256(buf)), nil
}

// hashInput appends the bytes hashed for e to dst.
func hashInput(dst []byte, e *Event) ([]byte, error) {
	prev, err := decodeHash(e.PrevHash)
	if err != nil {
		return nil, fmt.Errorf("%w: prev_hash: %w", ErrInvalidEvent, err)
	}
	dst = append(dst, prev[:]...)
	dst, _, err = appendEvent(dst, e, false)
	return dst, err
}

// decodeHash parses 64 lower-case hex digits.
func decodeHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, fmt.Errorf("want 64 hex digits, got %d characters", len(s))
	}
	for i := range 64 {
		c := s[i]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return h, fmt.Errorf("want lower-case hex, got %q at %d", c, i)
		}
		h[i/2] |= v << (4 * (1 - i%2))
	}
	return h, nil
}

// encodeHash formats a hash as 64 lower-case hex digits.
func encodeHash(h [32]byte) string {
	var buf [64]byte
	hex.Encode(buf[:], h[:])
	return string(buf[:])
}

// VerifyChain checks that events form an unbroken chain starting after
// prevHash: consecutive sequence numbers, each PrevHash equal to the
// previous Hash, and each Hash equal to the recomputed one. It returns a
// *ChainError naming the first bad event, or nil.
func VerifyChain(events []Event, prevHash string) error {
	if len(events) == 0 {
		return nil
	}
	return verifyFrom(events, prevHash, events[0].Seq)
}

// verifyFrom is VerifyChain with the first sequence number given.
func verifyFrom(events []Event, prev string, seq uint64) error {
	buf := make([]byte, 0, 1024)
	for i := range events {
		e := &events[i]
		if e.Seq != seq {
			return &ChainError{Seq: seq, Reason: "sequence gap: found seq " + strconv.FormatUint(e.Seq, 10)}
		}
		if e.PrevHash != prev {
			return &ChainError{Seq: seq, Reason: "prev_hash does not match the previous event's hash"}
		}
		var err error
		buf, err = hashInput(buf[:0], e)
		if err != nil {
			return &ChainError{Seq: seq, Reason: "cannot recompute hash: " + err.Error()}
		}
		sum := sha256.Sum256(buf)
		if h, err := decodeHash(e.Hash); err != nil || h != sum {
			return &ChainError{Seq: seq, Reason: "hash mismatch"}
		}
		prev = e.Hash
		seq++
	}
	return nil
}

// invalid wraps ErrInvalidEvent naming field.
func invalid(field string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalidEvent, field, err)
}

var (
	errUTF8    = errors.New("invalid UTF-8")
	errIntSafe = errors.New("integer outside ±(2^53-1)")
)

// appendEvent appends e's canonical JSON to dst, with "hash" when withHash.
// It also returns where the canonical args value lies in the result. Members are
// written in the JCS order (all keys are ASCII, so byte order is UTF-16
// order); no reflection is used.
func appendEvent(dst []byte, e *Event, withHash bool) ([]byte, span, error) {
	var err error
	dst = append(dst, `{"agent_id":`...)
	if dst, err = appendString(dst, e.AgentID); err != nil {
		return nil, span{}, invalid("agent_id", err)
	}
	dst = append(dst, `,"args":`...)
	argsAt := len(dst)
	if len(e.Args) == 0 {
		dst = append(dst, "null"...)
	} else if dst, err = appendCanonicalJSON(dst, e.Args); err != nil {
		return nil, span{}, invalid("args", err)
	}
	args := span{argsAt, len(dst)}
	d := &e.Decision
	dst = append(dst, `,"decision":{"action":`...)
	if dst, err = appendString(dst, d.Action); err != nil {
		return nil, span{}, invalid("decision.action", err)
	}
	dst = append(dst, `,"allowed":`...)
	dst = strconv.AppendBool(dst, d.Allowed)
	dst = append(dst, `,"policy":`...)
	if dst, err = appendString(dst, d.Policy); err != nil {
		return nil, span{}, invalid("decision.policy", err)
	}
	dst = append(dst, `,"policy_version":`...)
	if dst, err = appendString(dst, d.PolicyVersion); err != nil {
		return nil, span{}, invalid("decision.policy_version", err)
	}
	dst = append(dst, `,"reason":`...)
	if dst, err = appendString(dst, d.Reason); err != nil {
		return nil, span{}, invalid("decision.reason", err)
	}
	dst = append(dst, `,"rule":`...)
	if dst, err = appendString(dst, d.Rule); err != nil {
		return nil, span{}, invalid("decision.rule", err)
	}
	dst = append(dst, '}')
	if withHash {
		dst = append(dst, `,"hash":`...)
		if dst, err = appendString(dst, e.Hash); err != nil {
			return nil, span{}, invalid("hash", err)
		}
	}
	dst = append(dst, `,"kind":`...)
	if dst, err = appendString(dst, string(e.Kind)); err != nil {
		return nil, span{}, invalid("kind", err)
	}
	if e.LatencyUS > maxSafeInt || e.LatencyUS < -maxSafeInt {
		return nil, span{}, invalid("latency_us", errIntSafe)
	}
	dst = append(dst, `,"latency_us":`...)
	dst = strconv.AppendInt(dst, e.LatencyUS, 10)
	o := &e.Outcome
	if o.Code > maxSafeInt || o.Code < -maxSafeInt {
		return nil, span{}, invalid("outcome.code", errIntSafe)
	}
	dst = append(dst, `,"outcome":{"code":`...)
	dst = strconv.AppendInt(dst, int64(o.Code), 10)
	dst = append(dst, `,"error":`...)
	if dst, err = appendString(dst, o.Error); err != nil {
		return nil, span{}, invalid("outcome.error", err)
	}
	dst = append(dst, `,"result_hash":`...)
	if dst, err = appendString(dst, o.ResultHash); err != nil {
		return nil, span{}, invalid("outcome.result_hash", err)
	}
	dst = append(dst, `,"result_summary":`...)
	if dst, err = appendString(dst, o.ResultSummary); err != nil {
		return nil, span{}, invalid("outcome.result_summary", err)
	}
	dst = append(dst, `},"prev_hash":`...)
	if dst, err = appendString(dst, e.PrevHash); err != nil {
		return nil, span{}, invalid("prev_hash", err)
	}
	if e.Seq > maxSafeInt {
		return nil, span{}, invalid("seq", errIntSafe)
	}
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	dst = append(dst, `,"session_id":`...)
	if dst, err = appendString(dst, e.SessionID); err != nil {
		return nil, span{}, invalid("session_id", err)
	}
	t := e.Time.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, span{}, invalid("time", fmt.Errorf("year %d outside 0000-9999", y))
	}
	dst = append(dst, `,"time":"`...)
	dst = t.AppendFormat(dst, TimeLayout)
	dst = append(dst, `","tool":`...)
	if dst, err = appendString(dst, e.Tool); err != nil {
		return nil, span{}, invalid("tool", err)
	}
	dst = append(dst, `,"trace_id":`...)
	if dst, err = appendString(dst, e.TraceID); err != nil {
		return nil, span{}, invalid("trace_id", err)
	}
	dst = append(dst, '}')
	return dst, args, nil
}

// span is a byte range [start, end).
type span struct{ start, end int }

const hexDigits = "0123456789abcdef"

// appendString appends s as a JCS string: only '"', '\\' and control
// characters are escaped (\b \t \n \f \r, else \u00xx in lower case); all
// else is literal UTF-8. Invalid UTF-8 is an error.
func appendString(dst []byte, s string) ([]byte, error) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, errUTF8
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscape(dst, c)
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}

// appendEscape appends the JCS escape of ASCII byte c.
func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\t':
		return append(dst, '\\', 't')
	case '\n':
		return append(dst, '\\', 'n')
	case '\f':
		return append(dst, '\\', 'f')
	case '\r':
		return append(dst, '\\', 'r')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// CanonicalJSON returns the RFC 8785 (JCS) canonical form of the JSON
// value in src: object members sorted by the UTF-16 code units of their
// names, no insignificant whitespace, numbers in ECMAScript form, strings
// with minimal escaping. Input that JCS cannot canonicalize is an error
// wrapping ErrInvalidJSON with the byte offset: malformed JSON, invalid
// UTF-8, lone surrogates, duplicate member names, numbers that overflow a
// double, nesting deeper than 1000, or data after the value.
func CanonicalJSON(src []byte) ([]byte, error) {
	return appendCanonicalJSON(nil, src)
}

// appendCanonicalJSON appends the canonical form of src to dst.
func appendCanonicalJSON(dst, src []byte) ([]byte, error) {
	p := parser{src: src}
	dst, err := p.value(dst, 0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, p.fail("data after the JSON value")
	}
	return dst, nil
}

// parser canonicalizes JSON in one pass.
type parser struct {
	src []byte
	pos int
}

// member is one object member already written to the output.
type member struct {
	key        []byte // decoded name, for sorting
	start, end int    // the member's bytes in the output
}

func (p *parser) fail(msg string) error {
	return fmt.Errorf("%w: offset %d: %s", ErrInvalidJSON, p.pos, msg)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value canonicalizes the value at p.pos.
func (p *parser) value(dst []byte, depth int) ([]byte, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.fail("unexpected end of input")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(dst, depth+1)
	case c == '[':
		return p.array(dst, depth+1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return appendStringBytes(dst, s), nil
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(dst)
	}
	return nil, p.fail(fmt.Sprintf("unexpected character %q", p.src[p.pos]))
}

func (p *parser) literal(dst []byte, lit string) ([]byte, error) {
	if !bytes.HasPrefix(p.src[p.pos:], []byte(lit)) {
		return nil, p.fail("invalid literal")
	}
	p.pos += len(lit)
	return append(dst, lit...), nil
}

func (p *parser) array(dst []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, p.fail("nesting deeper than 1000")
	}
	p.pos++ // '['
	dst = append(dst, '[')
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return append(dst, ']'), nil
	}
	for n := 0; ; n++ {
		if n > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = p.value(dst, depth); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.fail("unterminated array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return append(dst, ']'), nil
		default:
			return nil, p.fail("want ',' or ']' in array")
		}
	}
}

func (p *parser) object(dst []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, p.fail("nesting deeper than 1000")
	}
	p.pos++ // '{'
	dst = append(dst, '{')
	body := len(dst)
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return append(dst, '}'), nil
	}
	var stack [16]member
	members := stack[:0]
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return nil, p.fail("want a member name")
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.fail("want ':' after member name")
		}
		p.pos++
		if len(members) > 0 {
			dst = append(dst, ',')
		}
		start := len(dst)
		dst = appendStringBytes(dst, key)
		dst = append(dst, ':')
		if dst, err = p.value(dst, depth); err != nil {
			return nil, err
		}
		members = append(members, member{key: key, start: start, end: len(dst)})
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.fail("unterminated object")
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.src[p.pos] == '}' {
			p.pos++
			break
		}
		return nil, p.fail("want ',' or '}' in object")
	}
	sorted := true
	for i := 1; i < len(members); i++ {
		switch c := compareUTF16(members[i-1].key, members[i].key); {
		case c == 0:
			return nil, p.fail(fmt.Sprintf("duplicate member name %q", members[i].key))
		case c > 0:
			sorted = false
		}
	}
	if !sorted {
		slices.SortFunc(members, func(a, b member) int { return compareUTF16(a.key, b.key) })
		for i := 1; i < len(members); i++ {
			if compareUTF16(members[i-1].key, members[i].key) == 0 {
				return nil, p.fail(fmt.Sprintf("duplicate member name %q", members[i].key))
			}
		}
		// Write the members in order after the unsorted ones, then move
		// them down over them: no scratch allocation beyond dst's growth.
		end := len(dst)
		for i, m := range members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, dst[m.start:m.end]...)
		}
		n := copy(dst[body:], dst[end:])
		dst = dst[:body+n]
	}
	return append(dst, '}'), nil
}

// compareUTF16 compares two UTF-8 strings by their UTF-16 code units, as
// JCS sorts member names.
func compareUTF16(a, b []byte) int {
	for len(a) > 0 && len(b) > 0 {
		ra, na := utf8.DecodeRune(a)
		rb, nb := utf8.DecodeRune(b)
		if ra != rb {
			ua, ub := utf16Units(ra), utf16Units(rb)
			if ua[0] != ub[0] {
				return int(ua[0]) - int(ub[0])
			}
			return int(ua[1]) - int(ub[1])
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// utf16Units returns r's UTF-16 code units (the second is 0 for the BMP).
func utf16Units(r rune) [2]uint16 {
	if r < 0x10000 {
		return [2]uint16{uint16(r), 0}
	}
	hi, lo := utf16.EncodeRune(r)
	return [2]uint16{uint16(hi), uint16(lo)}
}

// str decodes the string at p.pos (which is '"'). The result aliases src
// when the string has no escapes.
func (p *parser) str() ([]byte, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			s := p.src[start:p.pos]
			p.pos++
			return s, nil
		case c == '\\':
			return p.strEscaped(start)
		case c < 0x20:
			return nil, p.fail("control character in string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.src[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return nil, p.fail("invalid UTF-8 in string")
			}
			p.pos += size
		default:
			p.pos++
		}
	}
	return nil, p.fail("unterminated string")
}

// strEscaped decodes a string with escapes; the bytes from start to p.pos
// are plain.
func (p *parser) strEscaped(start int) ([]byte, error) {
	out := make([]byte, 0, p.pos-start+16)
	out = append(out, p.src[start:p.pos]...)
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return out, nil
		case c < 0x20:
			return nil, p.fail("control character in string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.src[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return nil, p.fail("invalid UTF-8 in string")
			}
			out = append(out, p.src[p.pos:p.pos+size]...)
			p.pos += size
		case c != '\\':
			out = append(out, c)
			p.pos++
		default:
			if p.pos+1 >= len(p.src) {
				return nil, p.fail("unterminated escape")
			}
			e := p.src[p.pos+1]
			p.pos += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return nil, err
				}
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					return nil, p.fail("lone low surrogate")
				case r >= 0xD800 && r <= 0xDBFF:
					if p.pos+1 >= len(p.src) || p.src[p.pos] != '\\' || p.src[p.pos+1] != 'u' {
						return nil, p.fail("lone high surrogate")
					}
					p.pos += 2
					lo, err := p.hex4()
					if err != nil {
						return nil, err
					}
					if lo < 0xDC00 || lo > 0xDFFF {
						return nil, p.fail("high surrogate not followed by a low surrogate")
					}
					r = utf16.DecodeRune(r, lo)
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, p.fail(fmt.Sprintf("invalid escape \\%c", e))
			}
		}
	}
	return nil, p.fail("unterminated string")
}

// hex4 reads four hex digits at p.pos.
func (p *parser) hex4() (rune, error) {
	if p.pos+4 > len(p.src) {
		return 0, p.fail("short \\u escape")
	}
	var r rune
	for _, c := range p.src[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, p.fail("invalid \\u escape")
		}
	}
	p.pos += 4
	return r, nil
}

// appendStringBytes appends already-validated UTF-8 s as a JCS string.
func appendStringBytes(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscape(dst, c)
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// number validates the JSON number at p.pos and appends its ECMAScript form.
func (p *parser) number(dst []byte) ([]byte, error) {
	start := p.pos
	s := p.src
	i := p.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		return nil, p.fail("invalid number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			p.pos = i
			return nil, p.fail("invalid number: digit expected after '.'")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			p.pos = i
			return nil, p.fail("invalid number: digit expected in exponent")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	lit := s[start:i]
	if len(lit) <= 16 && bytes.IndexAny(lit, ".eE") < 0 {
		// An integer of at most 15 digits is exact as a double, and
		// ECMAScript prints it as is; only "-0" changes.
		if string(lit) == "-0" {
			lit = lit[1:]
		}
		p.pos = i
		return append(dst, lit...), nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil && (math.IsInf(f, 0) || !errors.Is(err, strconv.ErrRange)) {
		return nil, p.fail("number " + string(s[start:i]) + " overflows a double")
	}
	p.pos = i
	return AppendNumber(dst, f)
}

// AppendNumber appends f in ECMAScript Number.prototype.toString form, as
// RFC 8785 requires: the shortest digits that round-trip, plain notation
// for 1e-6 ≤ |f| < 1e21, exponent notation ("1e+21", "1e-7") otherwise,
// and "0" for both zeros. NaN and infinities are an error wrapping
// ErrInvalidJSON.
func AppendNumber(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %v is not a JSON number", ErrInvalidJSON, f)
	}
	if f == 0 {
		return append(dst, '0'), nil
	}
	if abs := math.Abs(f); abs >= 1e21 || abs < 1e-6 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
		// Go writes at least two exponent digits ("e-07"); ECMAScript
		// writes no leading zero ("e-7").
		e := start + bytes.IndexByte(dst[start:], 'e')
		if dst[e+2] == '0' {
			dst = append(dst[:e+2], dst[e+3:]...)
		}
		return dst, nil
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64), nil
}
