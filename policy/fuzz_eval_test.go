package policy

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
)

// decodeFuzzJSON decodes s as the API does (UseNumber); ok is false for
// invalid JSON.
func decodeFuzzJSON(s string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

var fuzzStrategies = []Strategy{StrategyPriorityFirstMatch, StrategyDenyOverrides, StrategyAllowOverrides, StrategyMostSpecificWins}

// FuzzEvaluate compiles a small set around one fuzzed condition and
// evaluates a fuzzed input: it never panics, an error decision never
// allows, and the indexed evaluation decides exactly as the full scan of
// Explain.
func FuzzEvaluate(f *testing.F) {
	var file struct {
		Operators []evalParityCase `json:"operators"`
	}
	paritytest.Load(f, "policy-evaluator.json", &file)
	for i, c := range file.Operators {
		if i%7 != 0 {
			continue
		}
		cond := c.Documents[0]["rules"].([]any)[0].(map[string]any)["condition"].(map[string]any)
		val, _ := json.Marshal(cond["value"])
		ctx, _ := json.Marshal(c.Context)
		f.Add(cond["field"].(string), cond["operator"].(string), string(val), string(ctx), "exec", uint8(i))
	}
	f.Add("tool_name", "in", `["exec","shell"]`, `{"tool_name":"exec","token_count":5000}`, "shell", uint8(1))
	f.Add("args.query", "matches", `"(?i)drop"`, `{"args":{"query":"DROP x"}}`, "db", uint8(2))
	f.Fuzz(func(t *testing.T, field, op, valueJSON, inputJSON, tool string, knob uint8) {
		value, ok := decodeFuzzJSON(valueJSON)
		if !ok {
			return
		}
		raw, ok := decodeFuzzJSON(inputJSON)
		if !ok {
			return
		}
		in, ok := raw.(map[string]any)
		if !ok {
			return
		}
		doc := &Document{Name: "fuzz", Strategy: fuzzStrategies[knob%4], Defaults: Defaults{Action: ActionDeny}, Rules: []Rule{
			{Name: "fuzzed", Priority: int64(knob % 3), Action: ActionAllow, Condition: &Condition{Field: field, Operator: Operator(op), Value: evalFromJSON(value)}},
			{Name: "pinned", Priority: 1, Action: ActionBlock, Scope: ScopeAgent, Condition: &Condition{Field: "tool_name", Operator: OpEq, Value: tool}},
			{Name: "pinned-glob", Priority: 1, Action: ActionAudit, Match: &Match{Tools: []string{tool}}, Conditions: []Condition{{Field: field, Operator: OpGt, Value: int64(0)}}},
			{Name: "catch-all", Priority: -1, Action: ActionDeny, Scope: ScopeTenant},
		}}
		if knob&8 != 0 {
			doc.Rules[3].Condition = &Condition{Field: "tool_name", Operator: OpIn, Value: []any{tool, int64(1)}}
		}
		s, err := Compile([]*Document{doc}, CompileOptions{})
		if err != nil {
			if len(AsErrors(err)) == 0 {
				t.Fatalf("Compile error %v is not located Errors", err)
			}
			return
		}
		ctx := t.Context()
		d := s.Evaluate(ctx, in)
		if d.Error && (d.Allowed || d.Action != ActionDeny || d.Reason != FailClosedReason) {
			t.Fatalf("error decision %+v is not the fail-closed deny", d)
		}
		if d.Allowed != allowedAction(d.Action) && d.Backend == "" {
			t.Fatalf("Allowed %v disagrees with action %q", d.Allowed, d.Action)
		}
		if d2, _ := s.Explain(ctx, in); d2 != d {
			t.Fatalf("Evaluate = %+v, Explain = %+v", d, d2)
		}
	})
}

// FuzzCELCompile compiles fuzzed `when` expressions: compiling never
// panics, and a compiled expression evaluates without panicking, any
// error failing closed.
func FuzzCELCompile(f *testing.F) {
	for _, s := range []string{
		`args.query.matches("(?i)drop")`, `token_count > 4096 && tool_name == "exec"`, `has(args.path)`,
		`agent.labels.team in ["a", "b"]`, `size(content) > 10`, `tool_name.startsWith("db_")`, `1 + 2`, `"x"`, `(`,
		`args.items.all(i, i > 0)`, `usage.tokens / 0 > 1`,
	} {
		f.Add(s)
	}
	env, err := newCELEnv()
	if err != nil {
		f.Fatal(err)
	}
	in := map[string]any{
		"tool_name": "database_query", "token_count": int64(5000), "content": "hello",
		"args":  map[string]any{"query": "DROP TABLE x", "items": []any{int64(1), int64(2)}},
		"agent": map[string]any{"labels": map[string]any{"team": "a"}}, "usage": map[string]any{"tokens": int64(3)},
	}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := compileCEL(env, expr, 10_000)
		if err != nil {
			return
		}
		s, err := Compile([]*Document{{Name: "c", Rules: []Rule{{Name: "w", Action: ActionAllow, When: expr}}}}, CompileOptions{CELCostLimit: 10_000})
		if err != nil {
			t.Fatalf("compileCEL accepted %q but Compile failed: %v", expr, err)
		}
		_, evalErr := p.eval(t.Context(), in)
		d := s.Evaluate(t.Context(), in)
		if evalErr != nil && (!d.Error || d.Allowed) {
			t.Fatalf("CEL error %v gave decision %+v, want fail closed", evalErr, d)
		}
	})
}

// FuzzFieldLookup checks field lookup on fuzzed inputs: never a panic, the
// exact key wins, and a dotted path agrees with walking the maps.
func FuzzFieldLookup(f *testing.F) {
	f.Add("tool.name", `{"tool":{"name":"x"}}`)
	f.Add("tool.name", `{"tool.name":"y","tool":{"name":"x"}}`)
	f.Add("a.b.c", `{"a":{"b":{"c":[1]}}}`)
	f.Add("tools.0", `{"tools":["x"]}`)
	f.Add("", `{"":1}`)
	f.Add("a..b", `{"a":{"":{"b":2}}}`)
	f.Fuzz(func(t *testing.T, field, inputJSON string) {
		raw, ok := decodeFuzzJSON(inputJSON)
		if !ok {
			return
		}
		in, ok := raw.(map[string]any)
		if !ok {
			return
		}
		v, found := lookupField(in, field, splitPath(field))
		if exact, ok := in[field]; ok {
			if !found || !sameJSON(v, exact) {
				t.Fatalf("lookupField(%q) = %v, %v; want the exact key's %v", field, v, found, exact)
			}
			return
		}
		if !strings.Contains(field, ".") && found {
			t.Fatalf("lookupField(%q) found %v without the key", field, v)
		}
	})
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// FuzzGlob compiles fuzzed fnmatch patterns: never a panic, a literal
// pattern matches only itself, and '*' spans '/'.
func FuzzGlob(f *testing.F) {
	for _, p := range []string{"fs/*", "ru?", "x[0-9]", "y[!a]", "[", "[]]", "[!]x]", "a\\b", "*payment*", "transfer_*", "[z-a]", "é*"} {
		f.Add(p, "fs/a/b")
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		g, err := compileGlob(pattern)
		if err != nil {
			return
		}
		got := g.match(name)
		if isLiteralGlob(pattern) && got != (pattern == name) {
			t.Fatalf("literal %q match(%q) = %v", pattern, name, got)
		}
		if star, err := compileGlob("*" + pattern); err == nil && got && !star.match("a/b/"+name) {
			t.Fatalf("*%q does not match a/b/%q though %q matches", pattern, name, pattern)
		}
	})
}
