package policy

import (
	"fmt"
	"strconv"
	"testing"
)

// flatRules returns n rules on a flat context, alternating eq and gt on
// different fields, none pinned to a tool, the last one matching
// benchInput.
func flatRules(n int) *Document {
	d := &Document{Name: "bench"}
	for i := 0; i < n-1; i++ {
		c := &Condition{Field: "token_count", Operator: OpGt, Value: int64(100000 + i)}
		if i%2 == 1 {
			c = &Condition{Field: "agent_id", Operator: OpEq, Value: "agent-" + strconv.Itoa(i)}
		}
		d.Rules = append(d.Rules, Rule{Name: "r" + strconv.Itoa(i), Priority: int64(n - i), Condition: c, Action: ActionDeny})
	}
	d.Rules = append(d.Rules, Rule{Name: "last", Condition: &Condition{Field: "confidence", Operator: OpLt, Value: 0.8}, Action: ActionDeny, Message: "Confidence too low"})
	return d
}

// toolRules returns n rules each pinned to its own tool; the last tool's
// rule matches benchToolInput.
func toolRules(n int) *Document {
	d := &Document{Name: "bench-tools"}
	for i := 0; i < n; i++ {
		d.Rules = append(d.Rules, Rule{
			Name: "t" + strconv.Itoa(i), Priority: int64(n - i), Action: ActionDeny,
			Condition: &Condition{Field: "tool_name", Operator: OpEq, Value: "tool_" + strconv.Itoa(i)},
		})
	}
	return d
}

// regexRules returns n `matches` rules on a nested argument; none matches.
func regexRules(n int) *Document {
	d := &Document{Name: "bench-regex"}
	for i := 0; i < n; i++ {
		d.Rules = append(d.Rules, Rule{
			Name: "re" + strconv.Itoa(i), Action: ActionDeny,
			Condition: &Condition{Field: "args.query", Operator: OpMatches, Value: `(?i)\b(drop|truncate)\s+table_` + strconv.Itoa(i) + `\b`},
		})
	}
	return d
}

func benchInput() map[string]any {
	return map[string]any{
		"tool_name": "database_query", "agent_id": "agent-x", "token_count": int64(512),
		"tool_call_count": int64(3), "confidence": 0.5, "action": "tool_call",
	}
}

func mustCompile(tb testing.TB, docs ...*Document) *Set {
	tb.Helper()
	s, err := Compile(docs, CompileOptions{})
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return s
}

// TestEvaluateAllocs pins the zero-allocation common path: plain eq/gt/lt
// conditions on a flat context, ten rules, the last one matching.
func TestEvaluateAllocs(t *testing.T) {
	s := mustCompile(t, flatRules(10))
	in := benchInput()
	ctx := t.Context()
	if d := s.Evaluate(ctx, in); d.Rule != "last" {
		t.Fatalf("Evaluate = %+v, want rule last", d)
	}
	if n := testing.AllocsPerRun(1000, func() { s.Evaluate(ctx, in) }); n != 0 {
		t.Errorf("Evaluate allocates %v times per call, want 0", n)
	}
	tools := mustCompile(t, toolRules(100))
	in["tool_name"] = "tool_99"
	if n := testing.AllocsPerRun(1000, func() { tools.Evaluate(ctx, in) }); n != 0 {
		t.Errorf("indexed Evaluate allocates %v times per call, want 0", n)
	}
	def := mustCompile(t, &Document{Name: "empty", Defaults: Defaults{Action: ActionDeny}})
	if n := testing.AllocsPerRun(1000, func() { def.Evaluate(ctx, in) }); n != 0 {
		t.Errorf("default Evaluate allocates %v times per call, want 0", n)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("flat/rules=%d", n), func(b *testing.B) {
			s := mustCompile(b, flatRules(n))
			in := benchInput()
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				s.Evaluate(ctx, in)
			}
		})
	}
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("indexed/rules=%d", n), func(b *testing.B) {
			s := mustCompile(b, toolRules(n))
			in := benchInput()
			in["tool_name"] = "tool_" + strconv.Itoa(n-1) // the last rule matches
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				s.Evaluate(ctx, in)
			}
		})
	}
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("regex/rules=%d", n), func(b *testing.B) {
			s := mustCompile(b, regexRules(n))
			in := benchInput()
			in["args"] = map[string]any{"query": "SELECT name, email FROM users WHERE id = 42 ORDER BY created_at"}
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				s.Evaluate(ctx, in)
			}
		})
	}
	b.Run("cel", func(b *testing.B) {
		s := mustCompile(b, &Document{Name: "cel", Rules: []Rule{{
			Name: "big", Action: ActionDeny, When: `token_count > 4096 && tool_name.startsWith("database")`,
		}}})
		in := benchInput()
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			s.Evaluate(ctx, in)
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			d := flatRules(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile([]*Document{d}, CompileOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
