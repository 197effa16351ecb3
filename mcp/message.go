package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// GatewayIDPrefix starts the string ID of every request the gateway sends
// on its own. Peers must not use it: a request from a peer with such an ID
// is refused.
const GatewayIDPrefix = "agentos-gw-"

// MCP methods the gateway looks at.
const (
	methodToolsList        = "tools/list"
	methodPromptsList      = "prompts/list"
	methodResourcesList    = "resources/list"
	methodTemplatesList    = "resources/templates/list"
	methodToolsCall        = "tools/call"
	methodResourcesRead    = "resources/read"
	methodPromptsGet       = "prompts/get"
	methodSampling         = "sampling/createMessage"
	methodCancelled        = "notifications/cancelled"
	methodToolsChanged     = "notifications/tools/list_changed"
	methodPromptsChanged   = "notifications/prompts/list_changed"
	methodResourcesChanged = "notifications/resources/list_changed"
	methodElicit           = "elicitation/create"
	methodInitialize       = "initialize"
	methodDiscover         = "server/discover"
	notificationProgress   = "notifications/progress"
)

// idKey is a request ID usable as a map key.
type idKey struct {
	s   string
	n   int64
	str bool
}

func keyOf(id jsonrpc.ID) idKey {
	switch v := id.Raw().(type) {
	case string:
		return idKey{s: v, str: true}
	case int64:
		return idKey{n: v}
	}
	return idKey{}
}

// reserved reports whether k lies in the gateway's ID namespace.
func (k idKey) reserved() bool { return k.str && strings.HasPrefix(k.s, GatewayIDPrefix) }

// errorResponse encodes a JSON-RPC error response. An invalid id encodes
// as null.
func errorResponse(id jsonrpc.ID, code int64, msg string, data any) []byte {
	we := &jsonrpc.Error{Code: code, Message: msg}
	if data != nil {
		if b, err := json.Marshal(data); err == nil {
			we.Data = b
		}
	}
	if !id.IsValid() {
		b, _ := json.Marshal(struct {
			V   string         `json:"jsonrpc"`
			ID  *int           `json:"id"`
			Err *jsonrpc.Error `json:"error"`
		}{"2.0", nil, we})
		return b
	}
	b, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: we})
	if err != nil {
		return errorResponse(jsonrpc.ID{}, code, msg, nil)
	}
	return b
}

// resultResponse encodes a JSON-RPC result response.
func resultResponse(id jsonrpc.ID, result json.RawMessage) ([]byte, error) {
	return jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Result: result})
}

// denialData is the data member of a denial error.
type denialData struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Rule   string `json:"rule,omitempty"`
}

// denialResponse encodes d as a JSON-RPC error, or, when asResult is set,
// as a tools/call result with isError so the model sees the reason.
func denialResponse(id jsonrpc.ID, d *DenialError, asResult bool) []byte {
	if asResult {
		text := "Denied by agentos at stage " + d.Stage + ": " + d.Reason
		if d.Rule != "" {
			text += " (rule " + d.Rule + ")"
		}
		if b, err := json.Marshal(toolErrorResult(text)); err == nil {
			if out, err := resultResponse(id, b); err == nil {
				return out
			}
		}
	}
	return errorResponse(id, CodeDenied, "denied by agentos: "+d.Reason, denialData{d.Stage, d.Reason, d.Rule})
}

// toolErrorResult is a CallToolResult with one text item and isError.
func toolErrorResult(text string) map[string]any {
	return map[string]any{
		"content": []any{map[string]any{"type": "text", "text": text}},
		"isError": true,
	}
}

// members decodes a JSON object into its members by exact name. Unlike
// decoding into a struct, which matches member names without regard to
// case, this reads "name" and "Name" as different members, as the peers
// on either side of the gateway do; of duplicate members the last wins,
// as in JavaScript.
func members(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// memberString returns the string member key of a JSON object.
func memberString(raw json.RawMessage, key string) (string, bool) {
	m, ok := members(raw)
	if !ok {
		return "", false
	}
	v, ok := m[key]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// cancelledNotification encodes notifications/cancelled for id.
func cancelledNotification(id jsonrpc.ID, reason string) []byte {
	b, _ := json.Marshal(struct {
		V      string `json:"jsonrpc"`
		Method string `json:"method"`
		Params struct {
			RequestID any    `json:"requestId"`
			Reason    string `json:"reason,omitempty"`
		} `json:"params"`
	}{V: "2.0", Method: methodCancelled, Params: struct {
		RequestID any    `json:"requestId"`
		Reason    string `json:"reason,omitempty"`
	}{id.Raw(), reason}})
	return b
}

// cancelledID extracts the request ID a notifications/cancelled names.
func cancelledID(params json.RawMessage) (jsonrpc.ID, bool) {
	pm, ok := members(params)
	if !ok {
		return jsonrpc.ID{}, false
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(pm["requestId"]))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return jsonrpc.ID{}, false
	}
	if n, isNum := raw.(json.Number); isNum {
		i, err := n.Int64()
		if err != nil {
			return jsonrpc.ID{}, false
		}
		raw = i
	}
	id, err := jsonrpc.MakeID(raw)
	if err != nil || !id.IsValid() {
		return jsonrpc.ID{}, false
	}
	return id, true
}

// idString renders a request ID for audit events.
func idString(id jsonrpc.ID) string {
	switch v := id.Raw().(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

// errAmbiguousMember is the error of strictMembers for a member spelled
// twice, or in two cases.
var errAmbiguousMember = errors.New("a governed member is given more than once or in another case")

// strictMembers decodes a JSON object into its members by exact name, like
// members, and refuses an object in which one of the governed keys appears
// more than once, or also under another case ("Name" beside "name"): a
// peer decoding case-insensitively (Go's encoding/json) or keeping the
// first duplicate could then read another value than the gateway governs.
// It refuses raw unless it is one well-formed JSON object (trailing data
// included). The values are capped sub-slices of raw, not copies; at most
// 64 governed names.
func strictMembers(raw json.RawMessage, governed ...string) (map[string]json.RawMessage, error) {
	if len(governed) > 64 {
		return nil, errors.New("too many governed members")
	}
	b := skipJSONSpace(raw)
	if len(b) == 0 || b[0] != '{' {
		return nil, errNotObject
	}
	// One linear pass proves the whole object well-formed (the same
	// grammar and nesting bound as encoding/json's decoder); the members
	// are then cut out of it without decoding their values.
	if !json.Valid(b) {
		return nil, errMalformedObject
	}
	b = skipJSONSpace(b[1:])
	m := make(map[string]json.RawMessage, 4)
	var seen uint64 // bit i: governed[i] was given, in some case
	for len(b) > 0 && b[0] == '"' {
		n := stringEnd(b)
		key, err := memberName(b[:n])
		if err != nil {
			return nil, err
		}
		b = skipJSONSpace(b[n:])[1:] // the colon
		b = skipJSONSpace(b)
		n = valueEnd(b)
		// The value is a sub-slice of raw, capped so that an append to it
		// can never write into raw.
		v := json.RawMessage(b[:n:n])
		for i, g := range governed {
			if strings.EqualFold(key, g) {
				if seen&(1<<i) != 0 {
					return nil, errAmbiguousMember
				}
				seen |= 1 << i
			}
		}
		m[key] = v
		b = skipJSONSpace(b[n:])
		if b[0] == ',' {
			b = skipJSONSpace(b[1:])
		}
	}
	for i, g := range governed {
		if seen&(1<<i) == 0 {
			continue
		}
		if _, ok := m[g]; !ok {
			return nil, errAmbiguousMember // only another case of g
		}
	}
	return m, nil
}

// errNotObject is the error of strictMembers for a value other than an
// object.
var errNotObject = errors.New("params must be a JSON object")

// errMalformedObject is the error of strictMembers for an object that is
// not well-formed JSON.
var errMalformedObject = errors.New("params: not well-formed JSON")

// memberName decodes a member name, quoted, of well-formed JSON.
func memberName(q []byte) (string, error) {
	in := q[1 : len(q)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), nil
	}
	var key string
	if err := json.Unmarshal(q, &key); err != nil {
		return "", fmt.Errorf("member name: %w", err)
	}
	return key, nil
}

// stringValue decodes a member's value, cut by strictMembers, that is a
// JSON string; false when it is not one.
func stringValue(v json.RawMessage) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	s, err := memberName(v)
	return s, err == nil
}

// stringEnd returns the length of the JSON string b starts with, quotes
// included; b is well-formed JSON.
func stringEnd(b []byte) int {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the length of the JSON value b starts with; b is
// well-formed JSON.
func valueEnd(b []byte) int {
	switch b[0] {
	case '"':
		return stringEnd(b)
	case '{', '[':
		depth := 0
		for i := 0; i < len(b); i++ {
			switch b[i] {
			case '"':
				i += stringEnd(b[i:]) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i, c := range b {
		switch c {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return len(b)
}

// skipJSONSpace returns b without its leading JSON whitespace.
func skipJSONSpace(b []byte) []byte {
	for len(b) > 0 {
		switch b[0] {
		case ' ', '\t', '\n', '\r':
			b = b[1:]
		default:
			return b
		}
	}
	return b
}
