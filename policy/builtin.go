package policy

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Named is a named policy in the reference's stateless-kernel form:
// actions it blocks, substrings it forbids in the request parameters, and
// actions that need a person's approval.
type Named struct {
	// BlockedActions are action names refused outright (exact,
	// case-sensitive).
	BlockedActions []string
	// BlockedPatterns are case-insensitive substrings searched for in the
	// parameters serialized as the reference does (Python json.dumps, keys
	// included, non-ASCII escaped).
	BlockedPatterns []string
	// RequireApproval are action names refused until the approval broker
	// approves them. A caller-supplied "approved" parameter means nothing.
	RequireApproval []string
}

// Built-in policy names.
const (
	NamedReadOnly = "read_only"
	NamedNoPII    = "no_pii"
	NamedStrict   = "strict"
)

// BuiltinNamed returns the built-in named policies (a new map each call):
// read_only, no_pii and strict, with the reference's contents. The
// reference's read_only also declares a database_query read constraint that
// it never enforces; it is left out.
func BuiltinNamed() map[string]Named {
	return map[string]Named{
		NamedReadOnly: {BlockedActions: []string{"file_write", "database_write", "send_email"}},
		NamedNoPII:    {BlockedPatterns: []string{"ssn", "social_security", "credit_card", "password"}},
		NamedStrict:   {RequireApproval: []string{"send_email", "file_write", "code_execution"}},
	}
}

// resolveNamed looks name up in custom, then in the built-ins.
func resolveNamed(name string, custom map[string]Named) (Named, bool) {
	if n, ok := custom[name]; ok {
		return n, true
	}
	n, ok := BuiltinNamed()[name]
	return n, ok
}

// knownNames lists the names resolveNamed accepts, sorted, for messages.
func knownNames(custom map[string]Named) string {
	names := []string{NamedNoPII, NamedReadOnly, NamedStrict}
	for k := range custom {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// NamedCheck is one request checked against named policies.
type NamedCheck struct {
	// Action is the action name.
	Action string
	// Params are the request parameters; nil is an empty object.
	Params map[string]any
	// Policies names the policies to apply, in order; the first violation
	// wins.
	Policies []string
	// Custom adds or overrides named policies by name; nil: built-ins only.
	Custom map[string]Named
	// Approved is set by the kernel, and only when the approval broker has
	// approved this very request. It satisfies RequireApproval.
	Approved bool
}

// ViolationKind says which part of a named policy was violated.
type ViolationKind string

// Violation kinds.
const (
	ViolationBlockedAction   ViolationKind = "blocked_action"
	ViolationBlockedPattern  ViolationKind = "blocked_pattern"
	ViolationRequireApproval ViolationKind = "require_approval"
)

// Violation is the first named-policy rule a request breaks.
type Violation struct {
	// Policy is the violated policy's name.
	Policy string
	// Kind says what was violated.
	Kind ViolationKind
	// Message is the reference's message, for example "Action 'file_write'
	// blocked by 'read_only' policy. Try a read-only action instead (e.g.,
	// read, query, list)."
	Message string
}

// CheckNamed applies the named policies of c in order and returns the first
// violation, or nil. Unlike the reference, an unknown name is an error
// wrapping ErrUnknownPolicy (the reference skipped it), and a truthy
// "approved" parameter does not satisfy RequireApproval: only c.Approved
// does.
func CheckNamed(c NamedCheck) (*Violation, error) {
	for _, name := range c.Policies {
		if _, ok := resolveNamed(name, c.Custom); !ok {
			return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownPolicy, name, knownNames(c.Custom))
		}
	}
	var dump string
	dumped := false
	for _, name := range c.Policies {
		n, _ := resolveNamed(name, c.Custom)
		if slices.Contains(n.BlockedActions, c.Action) {
			return &Violation{Policy: name, Kind: ViolationBlockedAction, Message: blockedActionMessage(c.Action, name, n)}, nil
		}
		if len(n.BlockedPatterns) > 0 && !dumped {
			b, err := appendPyJSONLower(nil, c.Params)
			if err != nil {
				return nil, fmt.Errorf("serialize params: %w", err)
			}
			dump, dumped = string(b), true
		}
		for _, p := range n.BlockedPatterns {
			if strings.Contains(dump, strings.ToLower(p)) {
				return &Violation{Policy: name, Kind: ViolationBlockedPattern, Message: blockedPatternMessage(p, name)}, nil
			}
		}
		if slices.Contains(n.RequireApproval, c.Action) && !c.Approved {
			return &Violation{Policy: name, Kind: ViolationRequireApproval, Message: approvalMessage(c.Action)}, nil
		}
	}
	return nil, nil
}

func blockedActionMessage(action, policy string, n Named) string {
	var ok []string
	for _, s := range [...]string{"read", "query", "list"} {
		if !slices.Contains(n.BlockedActions, s) {
			ok = append(ok, s)
		}
	}
	suggestion := "Request policy exception from administrator"
	if len(ok) > 0 {
		suggestion = "Try a read-only action instead (e.g., " + strings.Join(ok, ", ") + ")"
	}
	return "Action '" + action + "' blocked by '" + policy + "' policy. " + suggestion + "."
}

func blockedPatternMessage(pattern, policy string) string {
	return "Content blocked: '" + pattern + "' detected in request parameters. Policy '" +
		policy + "' prohibits this pattern. Remove the sensitive content and retry."
}

func approvalMessage(action string) string {
	return "Action '" + action + "' requires approval. Add approved=True to params after " +
		"getting authorization, or use a non-restricted action instead."
}

// pyJSONLower appends Python's json.dumps(v).lower(): ", " and ": "
// separators, non-ASCII escaped as \uXXXX. Map keys are written sorted (Go
// maps keep no insertion order). A nil map is "{}".
func appendPyJSONLower(b []byte, v any) ([]byte, error) {
	start := len(b)
	b, err := appendPyJSON(b, v)
	if err != nil {
		return nil, err
	}
	for i := start; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b, nil
}

func appendPyJSON(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		if x {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case string:
		return appendPyJSONString(b, x), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			if b, err = appendPyJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		if x == nil {
			return append(b, "{}"...), nil
		}
		b = append(b, '{')
		for i, k := range keysSorted(x) {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyJSONString(b, k)
			b = append(b, ": "...)
			if b, err = appendPyJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	n, ok := toNum(v)
	if !ok || kindOf(v) != kNum {
		return nil, fmt.Errorf("value of type %T is not JSON serializable", v)
	}
	switch n.tag {
	case numInt:
		return strconv.AppendInt(b, n.i, 10), nil
	case numBig:
		return n.b.Append(b, 10), nil
	}
	switch {
	case math.IsNaN(n.f):
		return append(b, "NaN"...), nil
	case math.IsInf(n.f, 1):
		return append(b, "Infinity"...), nil
	case math.IsInf(n.f, -1):
		return append(b, "-Infinity"...), nil
	}
	return appendPyFloat(b, n.f), nil
}

// pyJSONString writes s as Python's json.dumps does with ensure_ascii.
func appendPyJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r >= 0x20 && r <= 0x7e:
			b = append(b, byte(r))
		case r >= 0x10000:
			r -= 0x10000
			b = appendHexEscape(b, 'u', uint32(0xd800+(r>>10)), 4)
			b = appendHexEscape(b, 'u', uint32(0xdc00+(r&0x3ff)), 4)
		default:
			b = appendHexEscape(b, 'u', uint32(r), 4)
		}
	}
	return append(b, '"')
}

// namedKind is which part of a Named a compiled built-in rule checks.
type namedKind uint8

const (
	namedActions namedKind = iota
	namedPatterns
	namedApproval
)

// namedRule is one part of a named policy compiled into a Set. Its
// messages are precomputed so a decision does not build strings.
type namedRule struct {
	kind     namedKind
	msgs     map[string]string // action → message (actions, approval)
	patterns []string          // lower-cased patterns
	patMsgs  []string
}

// compileNamed turns a named policy into up to three rules' checks, in the
// reference's order: blocked actions, blocked patterns, approval.
func compileNamed(name string, n Named) []*namedRule {
	var out []*namedRule
	if len(n.BlockedActions) > 0 {
		r := &namedRule{kind: namedActions, msgs: map[string]string{}}
		for _, a := range n.BlockedActions {
			r.msgs[a] = blockedActionMessage(a, name, n)
		}
		out = append(out, r)
	}
	if len(n.BlockedPatterns) > 0 {
		r := &namedRule{kind: namedPatterns}
		for _, p := range n.BlockedPatterns {
			r.patterns = append(r.patterns, strings.ToLower(p))
			r.patMsgs = append(r.patMsgs, blockedPatternMessage(p, name))
		}
		out = append(out, r)
	}
	if len(n.RequireApproval) > 0 {
		r := &namedRule{kind: namedApproval, msgs: map[string]string{}}
		for _, a := range n.RequireApproval {
			r.msgs[a] = approvalMessage(a)
		}
		out = append(out, r)
	}
	return out
}

// test checks in. The action is the input's "action" field, else its
// "tool_name"; the parameters are its "args".
func (n *namedRule) test(in map[string]any) (bool, string, error) {
	switch n.kind {
	case namedActions, namedApproval:
		for _, key := range [...]string{"action", "tool_name"} {
			if a, ok := in[key].(string); ok {
				if msg, hit := n.msgs[a]; hit {
					return true, msg, nil
				}
			}
		}
		return false, "", nil
	}
	var args any = map[string]any(nil)
	if v, ok := in["args"]; ok {
		args = v
	}
	dump, err := appendPyJSONLower(nil, args)
	if err != nil {
		return false, "", errType
	}
	for i, p := range n.patterns {
		if strings.Contains(string(dump), p) {
			return true, n.patMsgs[i], nil
		}
	}
	return false, "", nil
}
