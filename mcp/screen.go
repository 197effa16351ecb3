package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	segjson "github.com/segmentio/encoding/json"

	"github.com/agentos/agentos/detect"
)

// screened is the outcome of scanning a response.
type screened struct {
	// out is the sanitized body; nil when the body goes out unchanged.
	out json.RawMessage
	// blocked is set when the body must not go out; reason says why.
	blocked bool
	reason  string
}

// screen scans the text a body carries toward the model: every "text" and
// "systemPrompt" string, and every string under "structuredContent". It
// audits what it finds and applies the response mode; a body that cannot
// be decoded, or a finding that cannot be audited, blocks (fail closed).
func (s *Session) screen(ctx context.Context, method, tool string, body json.RawMessage) screened {
	mode := s.g.rmode
	if mode == ResponseOff || len(body) == 0 {
		return screened{}
	}
	if s.g.rclear != nil && s.g.rclear.ClearJSON(ctx, body) && plainJSON(body) {
		// Nothing in any string of the body can be a finding: the walk
		// below would scan them all to no effect.
		return screened{}
	}
	v, err := decodeNumbers(body)
	if err != nil {
		return screened{blocked: true, reason: "the response could not be decoded for scanning"}
	}
	w := walker{ctx: ctx, scan: s.g.rscan, tool: tool, sanitize: mode == ResponseSanitize}
	v = w.walk(v, "", false)
	if len(w.threats) == 0 {
		return screened{}
	}
	cats := categories(w.threats)
	action := mode.String()
	var out screened
	switch {
	case mode == ResponseWarn:
	case mode == ResponseSanitize && !w.unspanned:
		b, err := json.Marshal(v)
		if err != nil {
			out = screened{blocked: true}
			action = "block"
			break
		}
		out.out = b
	default:
		out.blocked = true
		action = "block"
	}
	out.reason = "the response contained " + strings.Join(cats, ", ")
	err = s.g.audit(ctx, event{session: s.id, principal: s.principal, server: s.server, method: method, tool: tool, stage: StageResponse,
		action: action, allowed: !out.blocked, rule: cats[0], reason: out.reason,
		extra: map[string]any{"threats": responseSummary(w.threats)}})
	if err != nil {
		return screened{blocked: true, reason: "the response's findings could not be audited (fail closed)"}
	}
	return out
}

// screenCallResult answers a governed call with its scanned result.
func (s *Session) screenCallResult(ctx context.Context, c *call) {
	sc := s.screen(ctx, methodToolsCall, c.tool, c.response.Result)
	switch {
	case sc.blocked:
		b, err := json.Marshal(toolErrorResult("agentos blocked this tool result: " + sc.reason + "."))
		if err == nil {
			if out, err := resultResponse(c.id, b); err == nil {
				s.writeClient(ctx, out)
				return
			}
		}
		s.writeClient(ctx, denialResponse(c.id, &DenialError{Stage: StageResponse, Reason: sc.reason}, false))
	case sc.out != nil:
		out, err := resultResponse(c.id, sc.out)
		if err != nil {
			s.writeClient(ctx, denialResponse(c.id, &DenialError{Stage: StageResponse, Reason: "the sanitized result could not be encoded"}, false))
			return
		}
		s.writeClient(ctx, out)
	default:
		s.writeClient(ctx, c.responseB)
	}
}

// screenResult forwards a resources/read or prompts/get response after
// scanning it.
func (s *Session) screenResult(ctx context.Context, m *jsonrpc.Response, raw []byte, method, tool string) {
	if m.Error != nil {
		s.writeClient(ctx, raw)
		return
	}
	sc := s.screen(ctx, method, tool, m.Result)
	switch {
	case sc.blocked:
		s.writeClient(ctx, denialResponse(m.ID, &DenialError{Stage: StageResponse, Reason: sc.reason}, false))
	case sc.out != nil:
		out, err := resultResponse(m.ID, sc.out)
		if err != nil {
			s.writeClient(ctx, denialResponse(m.ID, &DenialError{Stage: StageResponse, Reason: "the sanitized result could not be encoded"}, false))
			return
		}
		s.writeClient(ctx, out)
	default:
		s.writeClient(ctx, raw)
	}
}

// screenSampling forwards a server's sampling/createMessage request to the
// client after scanning its messages and system prompt; a blocked request
// is answered to the server with a denial.
func (s *Session) screenSampling(ctx context.Context, m *jsonrpc.Request, raw []byte, k idKey) {
	sc := s.screen(ctx, m.Method, "", m.Params)
	switch {
	case sc.blocked:
		s.mu.Lock()
		delete(s.fromServer, k)
		s.mu.Unlock()
		s.writeServer(ctx, denialResponse(m.ID, &DenialError{Stage: StageResponse, Reason: sc.reason}, false))
	case sc.out != nil:
		req, err := jsonrpc.EncodeMessage(&jsonrpc.Request{ID: m.ID, Method: m.Method, Params: sc.out})
		if err != nil {
			s.writeServer(ctx, denialResponse(m.ID, &DenialError{Stage: StageResponse, Reason: "the sanitized request could not be encoded"}, false))
			return
		}
		s.writeClient(ctx, req)
	default:
		s.writeClient(ctx, raw)
	}
}

// walker scans and optionally sanitizes the strings of a decoded body.
type walker struct {
	ctx       context.Context
	scan      ResponseScanner
	tool      string
	sanitize  bool
	threats   []detect.ResponseThreat
	unspanned bool // a threat without a span (cannot be sanitized)
}

// maxWalkDepth bounds the walk; deeper values are left as they are (the
// JSON decoder already bounds nesting).
const maxWalkDepth = 128

func (w *walker) walk(v any, key string, structured bool) any {
	return w.walkDepth(v, key, structured, 0)
}

func (w *walker) walkDepth(v any, key string, structured bool, depth int) any {
	if depth > maxWalkDepth {
		return v
	}
	switch x := v.(type) {
	case string:
		if !structured && key != "text" && key != "systemPrompt" {
			return x
		}
		res := w.scan.ScanResponse(w.ctx, x, w.tool)
		if res.Safe && len(res.Threats) == 0 {
			return x
		}
		if len(res.Threats) == 0 {
			// Unsafe without a reason: treat as an error (fail closed).
			res.Threats = []detect.ResponseThreat{{Category: detect.ResponseError, Description: "unsafe response", Start: -1, End: -1}}
		}
		w.threats = append(w.threats, res.Threats...)
		if !w.sanitize {
			return x
		}
		out, ok := sanitizeText(x, res.Threats)
		if !ok {
			w.unspanned = true
		}
		return out
	case map[string]any:
		for k, e := range x {
			x[k] = w.walkDepth(e, k, structured || k == "structuredContent", depth+1)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = w.walkDepth(e, key, structured, depth+1)
		}
		return x
	}
	return v
}

// sanitizeText replaces each threat's span: credentials with
// "[REDACTED:<type>]", anything else with "[REMOVED]". It reports false
// when a threat has no usable span.
func sanitizeText(text string, threats []detect.ResponseThreat) (string, bool) {
	ts := slices.Clone(threats)
	for _, t := range ts {
		if t.Start < 0 || t.End > len(text) || t.Start > t.End {
			return text, false
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Start < ts[j].Start })
	var b strings.Builder
	pos := 0
	for i := 0; i < len(ts); {
		start, end := ts[i].Start, ts[i].End
		label := replacement(ts[i])
		j := i + 1
		for ; j < len(ts) && ts[j].Start < end; j++ {
			if ts[j].End > end {
				end = ts[j].End
			}
			if ts[j].Category == detect.ResponseCredentialLeak {
				label = replacement(ts[j])
			}
		}
		if start < pos {
			start = pos
		}
		b.WriteString(text[pos:start])
		b.WriteString(label)
		pos = end
		i = j
	}
	b.WriteString(text[pos:])
	return b.String(), true
}

func replacement(t detect.ResponseThreat) string {
	if t.Category == detect.ResponseCredentialLeak {
		typ := t.CredentialType
		if typ == "" {
			typ = "credential"
		}
		return "[REDACTED:" + typ + "]"
	}
	return "[REMOVED]"
}

// categories lists the distinct threat categories, sorted.
func categories(ts []detect.ResponseThreat) []string {
	seen := make(map[string]bool)
	var out []string
	for _, t := range ts {
		c := string(t.Category)
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// responseSummary describes response threats for an audit event without
// the matched text (a credential's type only).
func responseSummary(ts []detect.ResponseThreat) []map[string]any {
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		m := map[string]any{"category": string(t.Category)}
		if t.CredentialType != "" {
			m["credential_type"] = t.CredentialType
		}
		out = append(out, m)
	}
	return out
}

// screenInstructions forwards an initialize (or, in the stateless
// protocol, server/discover) response after scanning the
// server's instructions, which clients hand to the model as they are:
// with the response scanner (injected instructions, credentials) and the
// tool scanner (hidden instructions, invisible Unicode). Per the response
// mode, flagged instructions are passed with a warning (warn), sanitized
// (sanitize: spans replaced; instructions with a finding that has no span
// are removed) or removed (block); the session itself goes on. A result
// that cannot be read, or a finding that cannot be audited, removes them
// (fail closed).
func (s *Session) screenInstructions(ctx context.Context, m *jsonrpc.Response, method string, raw []byte) {
	mode := s.g.rmode
	if m.Error != nil || mode == ResponseOff {
		s.writeClient(ctx, raw)
		return
	}
	res, ok := members(m.Result)
	if !ok {
		s.writeClient(ctx, raw)
		return
	}
	ir, has := res["instructions"]
	if !has || string(ir) == "null" {
		s.writeClient(ctx, raw)
		return
	}
	var text string
	var threats []detect.ResponseThreat
	var toolThreats []detect.Threat
	unspanned := false
	if err := json.Unmarshal(ir, &text); err != nil {
		unspanned = true
		threats = append(threats, detect.ResponseThreat{Category: detect.ResponseError, Description: "instructions are not a string", Start: -1, End: -1})
	} else {
		rs := s.g.rscan.ScanResponse(ctx, text, "")
		threats = append(threats, rs.Threats...)
		if !rs.Safe && len(rs.Threats) == 0 {
			unspanned = true
			threats = append(threats, detect.ResponseThreat{Category: detect.ResponseError, Description: "unsafe instructions", Start: -1, End: -1})
		}
		ts, err := s.g.tscan.ScanTool(ctx, s.server, detect.Tool{Name: "initialize:instructions", Description: text})
		if err != nil {
			unspanned = true
			threats = append(threats, detect.ResponseThreat{Category: detect.ResponseError, Description: "the instructions could not be scanned", Start: -1, End: -1})
		}
		for _, th := range ts {
			if th.Severity >= s.g.hideSev {
				toolThreats = append(toolThreats, th)
				unspanned = true
			}
		}
	}
	if len(threats) == 0 && len(toolThreats) == 0 {
		s.writeClient(ctx, raw)
		return
	}
	action := mode.String()
	var replacement json.RawMessage // nil: remove the member
	switch {
	case mode == ResponseWarn:
	case mode == ResponseSanitize && !unspanned:
		clean, ok := sanitizeText(text, threats)
		if ok {
			if b, err := json.Marshal(clean); err == nil {
				replacement = b
				break
			}
		}
		action = "block"
	default:
		action = "block"
	}
	var cats []string
	if len(threats) > 0 {
		cats = categories(threats)
	}
	for _, th := range toolThreats {
		if c := string(th.Type); !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	reason := "the server's instructions contained " + strings.Join(cats, ", ")
	extra := map[string]any{"threats": responseSummary(threats)}
	if len(toolThreats) > 0 {
		extra["definition_threats"] = threatSummary(toolThreats)
	}
	if err := s.g.audit(ctx, event{session: s.id, principal: s.principal, server: s.server, method: method,
		tool: "instructions", stage: StageResponse, action: action, allowed: action != "block", rule: cats[0],
		reason: reason, extra: extra}); err != nil {
		action, replacement = "block", nil
	}
	if action == "warn" {
		s.writeClient(ctx, raw)
		return
	}
	if replacement != nil {
		res["instructions"] = replacement
	} else {
		delete(res, "instructions")
	}
	b, err := json.Marshal(res)
	if err == nil {
		var out []byte
		if out, err = resultResponse(m.ID, b); err == nil {
			s.writeClient(ctx, out)
			return
		}
	}
	s.writeClient(ctx, denialResponse(m.ID, &DenialError{Stage: StageResponse, Reason: "the screened " + method + " result could not be encoded"}, false))
}

// decodeNumbers decodes the first JSON value of body as encoding/json's
// stream decoder does with UseNumber. A body proven well-formed (the
// decoder's grammar and nesting bound, one pass that allocates nothing)
// is decoded by a single-pass parser into the same values; anything else
// goes through the stream decoder itself.
func decodeNumbers(body []byte) (any, error) {
	if json.Valid(body) {
		var v any
		if _, err := segjson.Parse(body, &v, segjson.UseNumber); err == nil {
			return v, nil
		}
	}
	return decodeNumbersStream(body)
}

// decodeNumbersStream is decodeNumbers through the stream decoder.
func decodeNumbersStream(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// maxPlainDepth bounds the nesting plainJSON accepts.
const maxPlainDepth = 512

// plainJSON reports whether b is one well-formed JSON value (surrounding
// whitespace allowed) without a backslash and nested at most
// maxPlainDepth deep: where it reports true, json.Valid does too. It
// answers false for anything else, valid or not, and then the caller takes
// the general path. One pass, no allocation.
func plainJSON(b []byte) bool {
	var objs [maxPlainDepth / 64]uint64 // bit d: the container at depth d is an object
	depth, i := 0, 0
value:
	i = skipSpace(b, i)
	if i >= len(b) {
		return false
	}
	switch b[i] {
	case '{', '[':
		if depth == maxPlainDepth {
			return false
		}
		obj := b[i] == '{'
		if obj {
			objs[depth/64] |= 1 << (depth % 64)
		} else {
			objs[depth/64] &^= 1 << (depth % 64)
		}
		depth++
		i = skipSpace(b, i+1)
		if i < len(b) && (obj && b[i] == '}' || !obj && b[i] == ']') {
			depth--
			i++
			goto after
		}
		if obj {
			goto key
		}
		goto value
	case '"':
		if i = plainStringEnd(b, i); i < 0 {
			return false
		}
	case 't':
		if i = literalEnd(b, i, "true"); i < 0 {
			return false
		}
	case 'f':
		if i = literalEnd(b, i, "false"); i < 0 {
			return false
		}
	case 'n':
		if i = literalEnd(b, i, "null"); i < 0 {
			return false
		}
	default:
		if i = numberEnd(b, i); i < 0 {
			return false
		}
	}
after:
	i = skipSpace(b, i)
	if depth == 0 {
		return i == len(b)
	}
	if i >= len(b) {
		return false
	}
	switch obj := objs[(depth-1)/64]>>((depth-1)%64)&1 == 1; {
	case b[i] == ',' && obj:
		i++
		goto key
	case b[i] == ',':
		i++
		goto value
	case b[i] == '}' && obj, b[i] == ']' && !obj:
		depth--
		i++
		goto after
	}
	return false
key:
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '"' {
		return false
	}
	if i = plainStringEnd(b, i); i < 0 {
		return false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return false
	}
	i++
	goto value
}

// skipSpace returns the index of the first byte at or after i in b that
// is not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainStringEnd returns the end of the JSON string at b[i] (a quote),
// which must hold no backslash and no control character, or -1.
func plainStringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1
		case c == '\\' || c < 0x20:
			return -1
		}
	}
	return -1
}

// literalEnd returns the end of lit at b[i], or -1.
func literalEnd(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// numberEnd returns the end of the JSON number at b[i], or -1:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) int {
	digits := func(i int) int {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}
