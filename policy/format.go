package policy

import (
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Format writes docs as canonical YAML, the output of `agentos policy fmt`:
// two-space indentation; document keys in the order version, name,
// description, strategy, defaults, policies, rules; rule keys in the order
// name, priority, condition, conditions, match, when, action, message,
// limit, on_violation, approvers, quorum, timeout, scope; condition keys
// field, operator, value; mapping keys inside values sorted. Fields with
// their default value are left out (defaults equal to the reference's, a
// zero priority, empty lists). Strings that a YAML 1.1 loader would read as
// another type are quoted, and floats always carry a dot, so the output
// decides the same under this loader and under the reference's.
//
// Parse(Format(docs)) yields documents equal to docs, apart from locations
// and empty-versus-absent lists. Comments are not preserved. Documents are
// separated by "---". Format fails on strings that are not valid UTF-8 and
// on condition values of types Parse does not produce.
func Format(w io.Writer, docs []*Document) error {
	if len(docs) == 0 {
		return nil // an empty document set is an empty file
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	for i, d := range docs {
		if d == nil {
			return fmt.Errorf("format document %d: document is nil", i)
		}
		n, err := documentNode(d)
		if err != nil {
			return fmt.Errorf("format document %d (%s): %w", i, d.Name, err)
		}
		if err := enc.Encode(n); err != nil {
			return fmt.Errorf("format document %d (%s): %w", i, d.Name, err)
		}
	}
	return enc.Close()
}

// nodeBuilder builds mapping nodes and remembers the first bad value.
type nodeBuilder struct{ err error }

func mapNode(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func (b *nodeBuilder) add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, b.str(key), v)
}

// str is a string scalar, quoted when YAML 1.1 or 1.2 would read it as
// something else.
func (b *nodeBuilder) str(s string) *yaml.Node {
	if !utf8.ValidString(s) && b.err == nil {
		b.err = fmt.Errorf("string %q is not valid UTF-8", s)
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if classifyPlain(s) != kindString || s == "<<" || s == "=" {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func (b *nodeBuilder) strList(l []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, s := range l {
		n.Content = append(n.Content, b.str(s))
	}
	return n
}

func intNode(v int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v, 10)}
}

// floatNode writes f so that PyYAML reads a float: with a dot, and with a
// signed exponent if any (1.0e+16; PyYAML reads 1e+16 as a string).
func floatNode(f float64) *yaml.Node {
	var s string
	switch {
	case math.IsInf(f, 1):
		s = ".inf"
	case math.IsInf(f, -1):
		s = "-.inf"
	case math.IsNaN(f):
		s = ".nan"
	default:
		s = reprFloat(f)
		if mant, exp, ok := strings.Cut(s, "e"); ok && !strings.Contains(mant, ".") {
			s = mant + ".0e" + exp
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: s}
}

// value converts a condition value.
func (b *nodeBuilder) value(v any) *yaml.Node {
	switch v := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
	case int64:
		return intNode(v)
	case int:
		return intNode(int64(v))
	case *big.Int:
		if v == nil {
			break
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: v.String()}
	case float64:
		return floatNode(v)
	case string:
		return b.str(v)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, e := range v {
			n.Content = append(n.Content, b.value(e))
		}
		return n
	case map[string]any:
		n := mapNode(true)
		for _, k := range sortedKeys(v) {
			b.add(n, k, b.value(v[k]))
		}
		return n
	}
	if b.err == nil {
		b.err = fmt.Errorf("condition value of type %T cannot be written", v)
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

func (b *nodeBuilder) condition(c Condition) *yaml.Node {
	n := mapNode(false)
	b.add(n, "field", b.str(c.Field))
	b.add(n, "operator", b.str(string(c.Operator)))
	b.add(n, "value", b.value(c.Value))
	return n
}

func documentNode(d *Document) (*yaml.Node, error) {
	var b nodeBuilder
	n := mapNode(false)
	b.add(n, "version", b.str(d.Version))
	b.add(n, "name", b.str(d.Name))
	if d.Description != "" {
		b.add(n, "description", b.str(d.Description))
	}
	if d.Strategy != "" {
		b.add(n, "strategy", b.str(string(d.Strategy)))
	}
	def := mapNode(false)
	if d.Defaults.Action != "" {
		b.add(def, "action", b.str(string(d.Defaults.Action)))
	}
	if d.Defaults.MaxTokens != defaultMaxTokens {
		b.add(def, "max_tokens", intNode(d.Defaults.MaxTokens))
	}
	if d.Defaults.MaxToolCalls != defaultMaxToolCalls {
		b.add(def, "max_tool_calls", intNode(d.Defaults.MaxToolCalls))
	}
	if d.Defaults.ConfidenceThreshold != defaultConfidenceThreshold {
		b.add(def, "confidence_threshold", floatNode(d.Defaults.ConfidenceThreshold))
	}
	if len(def.Content) > 0 {
		b.add(n, "defaults", def)
	}
	if len(d.Policies) > 0 {
		b.add(n, "policies", b.strList(d.Policies))
	}
	if len(d.Rules) > 0 {
		rules := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range d.Rules {
			rules.Content = append(rules.Content, b.rule(&d.Rules[i]))
		}
		b.add(n, "rules", rules)
	}
	return n, b.err
}

func (b *nodeBuilder) rule(r *Rule) *yaml.Node {
	n := mapNode(false)
	b.add(n, "name", b.str(r.Name))
	if r.Priority != 0 {
		b.add(n, "priority", intNode(r.Priority))
	}
	if r.Condition != nil {
		b.add(n, "condition", b.condition(*r.Condition))
	}
	if len(r.Conditions) > 0 {
		l := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, c := range r.Conditions {
			l.Content = append(l.Content, b.condition(c))
		}
		b.add(n, "conditions", l)
	}
	if r.Match != nil {
		m := mapNode(false)
		for _, f := range []struct {
			key  string
			list []string
		}{{"tools", r.Match.Tools}, {"agents", r.Match.Agents}, {"syscalls", r.Match.Syscalls}} {
			if len(f.list) > 0 {
				b.add(m, f.key, b.strList(f.list))
			}
		}
		if len(m.Content) == 0 {
			m.Style = yaml.FlowStyle
		}
		b.add(n, "match", m)
	}
	if r.When != "" {
		b.add(n, "when", b.str(r.When))
	}
	if r.Action != "" {
		b.add(n, "action", b.str(string(r.Action)))
	}
	if r.Message != "" {
		b.add(n, "message", b.str(r.Message))
	}
	if r.Limit != "" {
		b.add(n, "limit", b.str(r.Limit))
	}
	if r.OnViolation != "" {
		b.add(n, "on_violation", b.str(r.OnViolation))
	}
	if len(r.Approvers) > 0 {
		b.add(n, "approvers", b.strList(r.Approvers))
	}
	if r.Quorum != 0 {
		b.add(n, "quorum", intNode(int64(r.Quorum)))
	}
	if r.Timeout != 0 {
		b.add(n, "timeout", b.str(r.Timeout.String()))
	}
	if r.Scope != "" {
		b.add(n, "scope", b.str(string(r.Scope)))
	}
	return n
}
