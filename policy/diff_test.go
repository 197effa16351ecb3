package policy

import (
	"math"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string) []*Document {
	t.Helper()
	docs, err := Parse("d.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return docs
}

func TestDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want []string
	}{
		{
			// The reference's own example (policies-cli diff).
			name: "reference example",
			a:    "name: p\nrules:\n  - {name: block-delete, priority: 10, action: deny, condition: {field: tool_name, operator: eq, value: delete}}\n",
			b: "name: p\ndefaults: {action: deny}\nrules:\n  - {name: block-delete, priority: 99, action: block, condition: {field: tool_name, operator: eq, value: delete}}\n" +
				"  - {name: new_rule, action: audit}\n",
			want: []string{
				"rule added: new_rule",
				"rule block-delete: action: 'deny' -> 'block'",
				"rule block-delete: priority: 10 -> 99",
				"defaults: action: None -> 'deny'",
			},
		},
		{name: "identical", a: "name: p\nrules: [{name: r, action: deny}]\n", b: "name: p\nrules:\n  - name: r\n    action: deny\n    priority: 0\n", want: nil},
		{
			name: "removed, values and top-level keys",
			a:    "version: \"1.0\"\nname: a\nrules:\n  - {name: x, action: deny, condition: {field: f, operator: in, value: [1, 'it''s', true, null]}}\n  - {name: gone, action: allow}\n",
			b:    "version: \"2.0\"\nname: b\ndescription: new\ndefaults: {max_tokens: 10}\nrules:\n  - {name: x, action: deny, condition: {field: f, operator: in, value: [1.0, \"a\\nb\"]}}\n",
			want: []string{
				"rule removed: gone",
				`rule x: condition: {'field': 'f', 'operator': 'in', 'value': [1, "it's", True, None]} -> {'field': 'f', 'operator': 'in', 'value': [1.0, 'a\nb']}`,
				"defaults: max_tokens: 4096 -> 10",
				"description: None -> 'new'",
				"name: 'a' -> 'b'",
				"version: '1.0' -> '2.0'",
			},
		},
		{
			name: "duplicate names pair in order",
			a:    "rules: [{name: r, action: deny}, {name: r, action: allow}]\n",
			b:    "rules: [{name: r, action: deny}]\n",
			want: []string{"rule removed: r"},
		},
		{
			name: "ext fields",
			a:    "rules: [{name: r, action: require_approval, approvers: [a], timeout: 10m, match: {tools: [x]}}]\n",
			b:    "rules: [{name: r, action: require_approval, approvers: [a, b], quorum: 2, match: {tools: [x, y]}, when: 'true'}]\n",
			want: []string{
				"rule r: approvers: ['a'] -> ['a', 'b']",
				"rule r: match: {'tools': ['x']} -> {'tools': ['x', 'y']}",
				"rule r: quorum: None -> 2",
				"rule r: timeout: '10m0s' -> None",
				"rule r: when: None -> 'true'",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Diff(mustParse(t, tt.a), mustParse(t, tt.b))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Diff =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestDiffEmptySides(t *testing.T) {
	t.Parallel()
	docs := mustParse(t, "name: p\nrules: [{name: r, action: deny}]\n")
	got := Diff(nil, docs)
	want := "rule added: r\ndefaults: confidence_threshold: None -> 0.8\ndefaults: max_tokens: None -> 4096\ndefaults: max_tool_calls: None -> 10\nname: None -> 'p'\nversion: None -> '1.0'"
	if strings.Join(got, "\n") != want {
		t.Errorf("Diff(nil, docs) =\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
	if got := Diff(docs, docs); got != nil {
		t.Errorf("Diff(docs, docs) = %q, want nil", got)
	}
}

// TestReprStr pins Python repr() of strings and floats.
func TestReprStr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want string
	}{
		{"plain", `'plain'`},
		{"it's", `"it's"`},
		{`it's "q"`, `'it\'s "q"'`},
		{"back\\slash", `'back\\slash'`},
		{"tab\tnl\ncr\r", `'tab\tnl\ncr\r'`},
		{"\x00\x7f", `'\x00\x7f'`},
		{"nbsp\u00a0", `'nbsp\xa0'`},
		{"zw\u200b", `'zw\u200b'`},
		{"é中😀", `'é中😀'`},
		{1.0, "1.0"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"}, {0.0001, "0.0001"}, {1e-5, "1e-05"},
		{math.Copysign(0, -1), "-0.0"}, {math.Inf(1), "inf"}, {math.NaN(), "nan"}, {1.5e300, "1.5e+300"},
		{int64(-3), "-3"}, {true, "True"}, {nil, "None"},
		{map[string]any{"b": int64(1), "a": []any{"x"}}, `{'a': ['x'], 'b': 1}`},
	}
	for _, tt := range tests {
		if got := reprValue(tt.in); got != tt.want {
			t.Errorf("reprValue(%#v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
