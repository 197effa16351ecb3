package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/limit"
)

func compileOne(t *testing.T, d *Document, opts CompileOptions) *Set {
	t.Helper()
	s, err := Compile([]*Document{d}, opts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

func TestEvaluateSelectors(t *testing.T) {
	t.Parallel()
	doc := &Document{Name: "sel", Defaults: Defaults{Action: ActionAllow}, Rules: []Rule{
		{Name: "fs-glob", Priority: 90, Action: ActionDeny, Match: &Match{Tools: []string{"fs/*"}}},
		{Name: "q-glob", Priority: 80, Action: ActionBlock, Match: &Match{Tools: []string{"ru?", "x[0-9]", "y[!a]"}}},
		{Name: "agent-and-cond", Priority: 70, Action: ActionAudit,
			Match:      &Match{Agents: []string{"bot-*"}},
			Conditions: []Condition{{Field: "token_count", Operator: OpGt, Value: int64(10)}, {Field: "args.mode", Operator: OpEq, Value: "write"}}},
		{Name: "syscall", Priority: 60, Action: ActionDeny, Match: &Match{Syscalls: []string{"exec"}}},
		{Name: "cel", Priority: 50, Action: ActionDeny, Message: "drop", When: `has(args.query) && args.query.matches("(?i)drop")`},
	}}
	s := compileOne(t, doc, CompileOptions{})
	tests := []struct {
		name string
		in   map[string]any
		rule string
	}{
		{"star crosses slash", map[string]any{"tool_name": "fs/a/b"}, "fs-glob"},
		{"star no match", map[string]any{"tool_name": "xfs/a"}, ""},
		{"question mark", map[string]any{"tool_name": "run"}, "q-glob"},
		{"question mark needs one", map[string]any{"tool_name": "ru"}, ""},
		{"char class", map[string]any{"tool_name": "x7"}, "q-glob"},
		{"negated class", map[string]any{"tool_name": "yb"}, "q-glob"},
		{"negated class miss", map[string]any{"tool_name": "ya"}, ""},
		{"all selectors hold", map[string]any{"agent_id": "bot-1", "token_count": 11, "args": map[string]any{"mode": "write"}}, "agent-and-cond"},
		{"one condition fails", map[string]any{"agent_id": "bot-1", "token_count": 11, "args": map[string]any{"mode": "read"}}, ""},
		{"glob fails", map[string]any{"agent_id": "human", "token_count": 11, "args": map[string]any{"mode": "write"}}, ""},
		{"syscall", map[string]any{"syscall": "exec"}, "syscall"},
		{"cel", map[string]any{"args": map[string]any{"query": "DROP TABLE x"}}, "cel"},
		{"cel false", map[string]any{"args": map[string]any{"query": "select"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := s.Evaluate(t.Context(), tt.in); got.Rule != tt.rule || got.Error {
				t.Errorf("Evaluate(%v) = %+v, want rule %q", tt.in, got, tt.rule)
			}
		})
	}
}

func TestEvaluateCatchAllAndDecisionFields(t *testing.T) {
	t.Parallel()
	doc := &Document{Name: "fields", Rules: []Rule{
		{Name: "approve", Priority: 3, Action: ActionRequireApproval, Approvers: []string{"alice", "bob"}, Quorum: 2, Timeout: 10 * time.Minute,
			Condition: &Condition{Field: "tool_name", Operator: OpEq, Value: "pay"}},
		{Name: "kill", Priority: 2, Action: ActionDeny, OnViolation: "kill", Condition: &Condition{Field: "tool_name", Operator: OpEq, Value: "rm"}},
		{Name: "limit", Priority: 1, Action: ActionRateLimit, Limit: "5/minute"},
	}}
	s := compileOne(t, doc, CompileOptions{})
	ctx := t.Context()
	d := s.Evaluate(ctx, map[string]any{"tool_name": "pay"})
	if d.Allowed || d.Action != ActionRequireApproval || d.Approval == nil || d.Approval.Quorum != 2 ||
		len(d.Approval.Approvers) != 2 || d.Approval.Timeout != 10*time.Minute {
		t.Errorf("approval decision = %+v (approval %+v)", d, d.Approval)
	}
	if d := s.Evaluate(ctx, map[string]any{"tool_name": "rm"}); d.OnViolation != "kill" || d.Allowed {
		t.Errorf("kill decision = %+v", d)
	}
	d = s.Evaluate(ctx, map[string]any{"tool_name": "ls"})
	if !d.Allowed || d.Rule != "limit" || d.Limit != (limit.Rate{N: 5, Per: time.Minute}) || d.Reason != "Matched rule 'limit'" {
		t.Errorf("catch-all rate limit decision = %+v", d)
	}
	if d.Version != s.Version() || len(d.Version) != 64 {
		t.Errorf("Version = %q, want the set's %q", d.Version, s.Version())
	}
}

func TestStrategies(t *testing.T) {
	t.Parallel()
	rules := []Rule{
		{Name: "g-allow", Priority: 10, Action: ActionAllow, Scope: ScopeGlobal},
		{Name: "t-block", Priority: 5, Action: ActionBlock, Scope: ScopeTenant},
		{Name: "a-audit", Priority: 1, Action: ActionAudit, Scope: ScopeAgent},
		{Name: "o-deny", Priority: 0, Action: ActionDeny, Scope: ScopeOrganization, Condition: &Condition{Field: "x", Operator: OpEq, Value: int64(1)}},
	}
	tests := []struct {
		strategy Strategy
		in       map[string]any
		rule     string
	}{
		{StrategyPriorityFirstMatch, map[string]any{}, "g-allow"},
		{"", map[string]any{}, "g-allow"},
		{StrategyDenyOverrides, map[string]any{}, "t-block"}, // block counts as a deny here
		{StrategyDenyOverrides, map[string]any{"x": 1}, "t-block"},
		{StrategyAllowOverrides, map[string]any{}, "g-allow"},
		{StrategyMostSpecificWins, map[string]any{}, "a-audit"},
		{StrategyMostSpecificWins, map[string]any{"x": 1}, "a-audit"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.strategy, tt.in), func(t *testing.T) {
			t.Parallel()
			s := compileOne(t, &Document{Name: "st", Strategy: tt.strategy, Rules: rules}, CompileOptions{})
			if got := s.Evaluate(t.Context(), tt.in); got.Rule != tt.rule {
				t.Errorf("Evaluate(%v) under %q = %+v, want %q", tt.in, tt.strategy, got, tt.rule)
			}
		})
	}
	t.Run("multi-match evaluates every rule, so a later error fails closed", func(t *testing.T) {
		t.Parallel()
		s := compileOne(t, &Document{Name: "st", Strategy: StrategyDenyOverrides, Rules: append(rules[:1:1],
			Rule{Name: "bad", Action: ActionDeny, Condition: &Condition{Field: "n", Operator: OpGt, Value: int64(1)}})}, CompileOptions{})
		if got := s.Evaluate(t.Context(), map[string]any{"n": "2"}); !got.Error || got.Allowed || got.Reason != FailClosedReason {
			t.Errorf("Evaluate = %+v, want the fail-closed deny", got)
		}
	})
	t.Run("strategies conflict across documents", func(t *testing.T) {
		t.Parallel()
		_, err := Compile([]*Document{{Name: "a", Strategy: StrategyDenyOverrides}, {Name: "b", Strategy: StrategyAllowOverrides}}, CompileOptions{})
		if es := AsErrors(err); len(es) != 1 || es[0].Field != "strategy" {
			t.Errorf("Compile = %v, want one strategy error", err)
		}
	})
}

func TestEvaluateFailClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rule Rule
		in   map[string]any
	}{
		{"ordering string vs int", Rule{Condition: &Condition{Field: "n", Operator: OpGt, Value: int64(1)}}, map[string]any{"n": "5"}},
		{"ordering bool", Rule{Condition: &Condition{Field: "n", Operator: OpGt, Value: int64(0)}}, map[string]any{"n": true}},
		{"ordering list", Rule{Condition: &Condition{Field: "n", Operator: OpLt, Value: []any{int64(1)}}}, map[string]any{"n": []any{}}},
		{"in non-container", Rule{Condition: &Condition{Field: "n", Operator: OpIn, Value: int64(5)}}, map[string]any{"n": int64(5)}},
		{"contains on number", Rule{Condition: &Condition{Field: "n", Operator: OpContains, Value: "a"}}, map[string]any{"n": 5}},
		{"unsupported input type", Rule{Condition: &Condition{Field: "n", Operator: OpEq, Value: "a"}}, map[string]any{"n": []string{"a"}}},
		{"cel missing key", Rule{When: "args.x == 1"}, map[string]any{}},
		{"cel null ordering", Rule{When: "token_count > 1"}, map[string]any{}},
		{"cel runtime type error", Rule{When: "tool_name + 1 == 2"}, map[string]any{"tool_name": "x"}},
		{"cel dyn not bool", Rule{When: "args.x"}, map[string]any{"args": map[string]any{"x": "yes"}}},
		{"cel cost limit", Rule{When: `args.items.all(i, args.items.all(j, args.items.all(k, i + j + k >= 0)))`},
			map[string]any{"args": map[string]any{"items": make([]any, 200)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.rule
			r.Name, r.Action = "r", ActionAllow
			if tt.name == "cel cost limit" {
				items := tt.in["args"].(map[string]any)["items"].([]any)
				for i := range items {
					items[i] = int64(i)
				}
			}
			s := compileOne(t, &Document{Name: "fc", Rules: []Rule{r}}, CompileOptions{CELCostLimit: 10_000})
			got := s.Evaluate(t.Context(), tt.in)
			want := Decision{Action: ActionDeny, Reason: FailClosedReason, Error: true, Version: s.Version()}
			if got != want {
				t.Errorf("Evaluate(%v) = %+v, want %+v", tt.in, got, want)
			}
		})
	}
}

type fixedBackend struct {
	name    string
	allowed bool
	err     error
	calls   *int
}

func (b fixedBackend) Name() string { return b.name }
func (b fixedBackend) Decide(context.Context, map[string]any) (bool, string, error) {
	if b.calls != nil {
		*b.calls++
	}
	return b.allowed, b.name + " says so", b.err
}

func TestBackends(t *testing.T) {
	t.Parallel()
	doc := &Document{Name: "base", Defaults: Defaults{Action: ActionDeny}}
	tests := []struct {
		name     string
		backends []Backend
		want     Decision
	}{
		{"first answers", []Backend{fixedBackend{name: "opa", allowed: true}, fixedBackend{name: "cedar"}},
			Decision{Allowed: true, Action: ActionAllow, Reason: "opa says so", Policy: "external:opa", Backend: "opa"}},
		{"abstain passes on", []Backend{fixedBackend{name: "opa", err: fmt.Errorf("undefined: %w", ErrAbstain)}, fixedBackend{name: "cedar"}},
			Decision{Action: ActionDeny, Reason: "cedar says so", Policy: "external:cedar", Backend: "cedar"}},
		{"all abstain: default", []Backend{fixedBackend{name: "opa", err: ErrAbstain}},
			Decision{Action: ActionDeny, Reason: DefaultReason, Policy: "base"}},
		{"error denies", []Backend{fixedBackend{name: "opa", err: errors.New("boom")}, fixedBackend{name: "cedar", allowed: true}},
			Decision{Action: ActionDeny, Reason: FailClosedReason, Error: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := compileOne(t, doc, CompileOptions{Backends: tt.backends})
			tt.want.Version = s.Version()
			if got := s.Evaluate(t.Context(), map[string]any{"tool_name": "x"}); got != tt.want {
				t.Errorf("Evaluate = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	at := Location{File: "p.yaml", Line: 7, Col: 9}
	tests := []struct {
		name  string
		doc   Document
		field string
		msg   string
	}{
		{"bad regexp", Document{Rules: []Rule{{Name: "r", Action: ActionDeny, Condition: &Condition{Field: "s", Operator: OpMatches, Value: "foo(?=bar)"}}}},
			"rules.0.condition.value", "invalid regular expression"},
		{"bad operator", Document{Rules: []Rule{{Name: "r", Action: ActionDeny, Condition: &Condition{Field: "s", Operator: "like", Value: "x"}}}},
			"rules.0.condition.operator", "unknown operator"},
		{"bad action", Document{Rules: []Rule{{Name: "r", Action: "maybe"}}}, "rules.0.action", "unknown action"},
		{"missing name", Document{Rules: []Rule{{Action: ActionDeny}}}, "rules.0.name", "required"},
		{"bad value type", Document{Rules: []Rule{{Name: "r", Action: ActionDeny, Conditions: []Condition{{Field: "s", Operator: OpEq, Value: struct{}{}}}}}},
			"rules.0.conditions.0.value", "unsupported value"},
		{"bad cel", Document{Rules: []Rule{{Name: "r", Action: ActionDeny, When: "tool_name =="}}}, "rules.0.when", "invalid CEL"},
		{"cel not bool", Document{Rules: []Rule{{Name: "r", Action: ActionDeny, When: "1 + 2"}}}, "rules.0.when", "want bool"},
		{"cel unknown variable", Document{Rules: []Rule{{Name: "r", Action: ActionDeny, When: "secret == 1"}}}, "rules.0.when", "undeclared"},
		{"bad glob", Document{Rules: []Rule{{Name: "r", Action: ActionDeny, Match: &Match{Tools: []string{"[z-a]"}}}}}, "rules.0.match.tools.0", "invalid glob"},
		{"rate limit without limit", Document{Rules: []Rule{{Name: "r", Action: ActionRateLimit}}}, "rules.0.limit", "needs a limit"},
		{"bad limit", Document{Rules: []Rule{{Name: "r", Action: ActionRateLimit, Limit: "5/fortnight"}}}, "rules.0.limit", "bad rate"},
		{"quorum too big", Document{Rules: []Rule{{Name: "r", Action: ActionRequireApproval, Approvers: []string{"a"}, Quorum: 2}}}, "rules.0.quorum", "exceeds"},
		{"bad scope", Document{Rules: []Rule{{Name: "r", Action: ActionDeny, Scope: "planet"}}}, "rules.0.scope", "unknown scope"},
		{"bad on_violation", Document{Rules: []Rule{{Name: "r", Action: ActionDeny, OnViolation: "explode"}}}, "rules.0.on_violation", "unknown on_violation"},
		{"bad default", Document{Defaults: Defaults{Action: ActionRequireApproval}}, "defaults.action", "unknown default action"},
		{"bad strategy", Document{Strategy: "coin_flip"}, "strategy", "unknown strategy"},
		{"unknown named policy", Document{Policies: []string{"read_only", "no_cookies"}}, "policies.1", "unknown named policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := tt.doc
			d.Name = "bad"
			d.Loc = Location{File: "p.yaml", Line: 1, Col: 1}
			d.Fields = map[string]Location{tt.field: at}
			s, err := Compile([]*Document{&d}, CompileOptions{})
			if s != nil {
				t.Fatalf("Compile returned a set despite errors")
			}
			es := AsErrors(err)
			if len(es) == 0 {
				t.Fatalf("Compile error = %v, want Errors", err)
			}
			e := es[0]
			if e.Field != tt.field || e.Loc != at || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("error = %q (field %q, loc %+v), want field %q at %+v containing %q", e.Error(), e.Field, e.Loc, tt.field, at, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "p.yaml:7:9: "+tt.field+": ") {
				t.Errorf("error text %q does not start with file:line:col: field", err.Error())
			}
		})
	}
	t.Run("every problem reported", func(t *testing.T) {
		t.Parallel()
		d := &Document{Name: "multi", Rules: []Rule{{Name: "a", Action: "x"}, {Name: "", Action: ActionDeny}}}
		if es := AsErrors(func() error { _, err := Compile([]*Document{d}, CompileOptions{}); return err }()); len(es) != 2 {
			t.Errorf("got %d errors, want 2: %v", len(es), es)
		}
	})
}

func TestNamedPoliciesInSet(t *testing.T) {
	t.Parallel()
	custom := map[string]Named{"gate": {RequireApproval: []string{"deploy"}}, NamedNoPII: {BlockedPatterns: []string{"API_KEY"}}}
	doc := &Document{Name: "np", Policies: []string{NamedReadOnly, NamedNoPII, NamedStrict, "gate"}, Rules: []Rule{
		{Name: "allow-all", Priority: 1000, Action: ActionAllow},
	}}
	s := compileOne(t, doc, CompileOptions{Builtins: custom})
	tests := []struct {
		name   string
		in     map[string]any
		action Action
		rule   string
		reason string
	}{
		{"read_only blocks", map[string]any{"tool_name": "file_write"}, ActionDeny, NamedReadOnly,
			"Action 'file_write' blocked by 'read_only' policy. Try a read-only action instead (e.g., read, query, list)."},
		{"action field too", map[string]any{"action": "send_email"}, ActionDeny, NamedReadOnly,
			"Action 'send_email' blocked by 'read_only' policy. Try a read-only action instead (e.g., read, query, list)."},
		{"custom no_pii overrides", map[string]any{"tool_name": "chat", "args": map[string]any{"k": "my api_key"}}, ActionDeny, NamedNoPII,
			"Content blocked: 'API_KEY' detected in request parameters. Policy 'no_pii' prohibits this pattern. Remove the sensitive content and retry."},
		{"built-in no_pii replaced", map[string]any{"tool_name": "chat", "args": map[string]any{"password": "x"}}, ActionAllow, "allow-all", "Matched rule 'allow-all'"},
		{"strict needs approval despite approved", map[string]any{"tool_name": "code_execution", "args": map[string]any{"approved": true}}, ActionRequireApproval, NamedStrict,
			"Action 'code_execution' requires approval. Add approved=True to params after getting authorization, or use a non-restricted action instead."},
		{"custom gate", map[string]any{"tool_name": "deploy"}, ActionRequireApproval, "gate",
			"Action 'deploy' requires approval. Add approved=True to params after getting authorization, or use a non-restricted action instead."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := s.Evaluate(t.Context(), tt.in)
			if got.Action != tt.action || got.Rule != tt.rule || got.Reason != tt.reason || got.Policy != "np" {
				t.Errorf("Evaluate(%v) = %+v, want %s by %q: %q", tt.in, got, tt.action, tt.rule, tt.reason)
			}
			if tt.action == ActionRequireApproval && (got.Approval == nil || got.Approval.Quorum != 1) {
				t.Errorf("Approval = %+v, want quorum 1", got.Approval)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	s := compileOne(t, &Document{Name: "ex", Rules: []Rule{
		{Name: "big", Priority: 2, Action: ActionDeny, Condition: &Condition{Field: "token_count", Operator: OpGt, Value: int64(4096)}},
		{Name: "exec", Priority: 1, Action: ActionBlock, Condition: &Condition{Field: "tool_name", Operator: OpIn, Value: []any{"exec", "shell"}}},
	}}, CompileOptions{})
	d, steps := s.Explain(t.Context(), map[string]any{"tool_name": "shell", "token_count": 10})
	if d.Rule != "exec" || len(steps) != 2 {
		t.Fatalf("Explain = %+v, %+v", d, steps)
	}
	if steps[0].Matched || !strings.Contains(steps[0].Why, "token_count gt 4096") {
		t.Errorf("step 0 = %+v, want a miss naming the condition", steps[0])
	}
	if !steps[1].Matched || steps[1].Rule != "exec" || steps[1].Priority != 1 || steps[1].Action != ActionBlock {
		t.Errorf("step 1 = %+v, want the match", steps[1])
	}
	d, steps = s.Explain(t.Context(), map[string]any{"token_count": "x"})
	if !d.Error || len(steps) != 1 || !steps[0].Error || !strings.Contains(steps[0].Why, "type error") {
		t.Errorf("Explain of a type error = %+v, %+v", d, steps)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	mk := func(v any, loc Location) *Document {
		return &Document{Name: "v", Loc: loc, Rules: []Rule{{Name: "r", Action: ActionDeny, Loc: loc,
			Condition: &Condition{Field: "x", Operator: OpEq, Value: v}}}}
	}
	ver := func(d *Document, opts CompileOptions) string {
		s, err := Compile([]*Document{d}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return s.Version()
	}
	base := ver(mk(int64(1), Location{}), CompileOptions{})
	if got := ver(mk(int64(1), Location{File: "elsewhere.yaml", Line: 3}), CompileOptions{}); got != base {
		t.Errorf("moving the file changed the version")
	}
	for name, other := range map[string]string{
		"int vs float": ver(mk(1.0, Location{}), CompileOptions{}),
		"value":        ver(mk(int64(2), Location{}), CompileOptions{}),
		"backends":     ver(mk(int64(1), Location{}), CompileOptions{Backends: []Backend{fixedBackend{name: "opa"}}}),
		"cel limit":    ver(mk(int64(1), Location{}), CompileOptions{CELCostLimit: 5}),
		"named":        ver(mk(int64(1), Location{}), CompileOptions{Builtins: map[string]Named{"x": {}}}),
	} {
		if other == base {
			t.Errorf("%s: version unchanged", name)
		}
	}
}

func TestValueSemantics(t *testing.T) {
	t.Parallel()
	big2p64 := new(big.Int).Lsh(big.NewInt(1), 64)
	eqTests := []struct {
		a, b any
		want bool
	}{
		{int64(1), 1.0, true},
		{int64(1), true, false}, // deviation: bool never equals a number
		{[]any{true, int64(0)}, []any{int64(1), false}, false},
		{[]any{int64(1), "a"}, []any{1.0, "a"}, true},
		{map[string]any{"a": int64(1)}, map[string]any{"a": 1.0}, true},
		{int64(1<<53 + 1), float64(1 << 53), false},
		{int64(1 << 53), float64(1 << 53), true},
		{big2p64, math.Ldexp(1, 64), true},
		{new(big.Int).Add(big2p64, big.NewInt(1)), math.Ldexp(1, 64), false},
		{uint64(math.MaxUint64), new(big.Int).Sub(big2p64, big.NewInt(1)), true},
		{json.Number("10"), int64(10), true},
		{json.Number("1e1"), int64(10), true},
		{float32(0.5), 0.5, true},
		{nil, nil, true},
		{"1", int64(1), false},
	}
	for _, tt := range eqTests {
		if got, err := pyEqual(tt.a, tt.b); err != nil || got != tt.want {
			t.Errorf("pyEqual(%#v, %#v) = %v, %v; want %v", tt.a, tt.b, got, err, tt.want)
		}
	}
	reprTests := []struct {
		v    any
		want string
	}{
		{true, "True"}, {nil, "None"}, {1.0, "1.0"}, {1e16, "1e+16"}, {1e-5, "1e-05"}, {0.0001, "0.0001"},
		{123456789012345.6, "123456789012345.6"}, {-0.0, "-0.0"}, {math.Inf(-1), "-inf"}, {1.5e300, "1.5e+300"},
		{[]any{int64(1), "a"}, "[1, 'a']"}, {[]any{"it's"}, `["it's"]`}, {[]any{"a'\""}, `['a\'"']`},
		{[]any{"\n\x00é\u200b"}, `['\n\x00é\u200b']`}, {map[string]any{"k": nil}, "{'k': None}"},
		{big2p64, "18446744073709551616"},
	}
	for _, tt := range reprTests {
		if got := string(appendPyStr(nil, tt.v)); got != tt.want && !(tt.want == "-0.0" && got == "0.0") {
			t.Errorf("str(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if got := string(appendPyStr(nil, math.Copysign(0, -1))); got != "-0.0" {
		t.Errorf("str(-0.0) = %q", got)
	}
	jsonTests := []struct {
		v    any
		want string
	}{
		{map[string]any{"B": []any{int64(1), 2.5, true, nil}, "a": "É\U0001F600\"\\\n"}, `{"B": [1, 2.5, true, null], "a": "\u00c9\ud83d\ude00\"\\\n"}`},
		{map[string]any(nil), "{}"},
	}
	for _, tt := range jsonTests {
		got, err := appendPyJSONLower(nil, tt.v)
		if err != nil || string(got) != strings.ToLower(tt.want) {
			t.Errorf("json.dumps(%#v).lower() = %q, %v; want %q", tt.v, got, err, strings.ToLower(tt.want))
		}
	}
}

func TestRequiredLiteral(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, lit string
		fold         bool
	}{
		{`rm -rf`, "rm -rf", false},
		{`(?i)\b(drop|truncate)\s+table_1\b`, "table_1", true},
		{`^abc\d+xyz`, "abc", false},
		{`a|b`, "", false},
		{`(?i)kelvin`, "kelvin", true},
		{`é+`, "", false},
		{`(foo)+bar`, "foo", false},
	}
	for _, tt := range tests {
		lit, fold := requiredLiteral(tt.pattern)
		if lit != tt.lit || (lit != "" && fold != tt.fold) {
			t.Errorf("requiredLiteral(%q) = %q, %v; want %q, %v", tt.pattern, lit, fold, tt.lit, tt.fold)
		}
	}
	// The prefilter must not reject what the regexp accepts.
	s := compileOne(t, &Document{Name: "pf", Rules: []Rule{{Name: "k", Action: ActionDeny,
		Condition: &Condition{Field: "s", Operator: OpMatches, Value: "(?i)kelvin"}}}}, CompileOptions{})
	for _, in := range []string{"KELVIN", "\u212aelvin", "xx kElViN"} {
		if d := s.Evaluate(t.Context(), map[string]any{"s": in}); d.Rule != "k" {
			t.Errorf("Evaluate(%q) = %+v, want a match", in, d)
		}
	}
}

func TestToolIndex(t *testing.T) {
	t.Parallel()
	doc := &Document{Name: "idx", Defaults: Defaults{Action: ActionDeny}, Rules: []Rule{
		// Pinned to "a" by its first condition; its second raises for a
		// string n, but only once tool_name is "a".
		{Name: "a-only", Priority: 3, Action: ActionAllow, Conditions: []Condition{
			{Field: "tool_name", Operator: OpEq, Value: "a"}, {Field: "n", Operator: OpGt, Value: int64(1)}}},
		{Name: "bc", Priority: 2, Action: ActionAudit, Condition: &Condition{Field: "tool_name", Operator: OpIn, Value: []any{"b", "c", int64(7)}}},
		{Name: "glob-lit", Priority: 1, Action: ActionBlock, Match: &Match{Tools: []string{"d"}}},
		{Name: "wild", Priority: 0, Action: ActionAllow, Condition: &Condition{Field: "x", Operator: OpEq, Value: int64(1)}},
	}}
	s := compileOne(t, doc, CompileOptions{})
	if len(s.byTool) != 4 || len(s.wild) != 1 {
		t.Fatalf("index: %d buckets, %d wildcard rules; want 4 and 1", len(s.byTool), len(s.wild))
	}
	tests := []struct {
		in   map[string]any
		rule string
		err  bool
	}{
		{map[string]any{"tool_name": "a", "n": "x"}, "", true},
		{map[string]any{"tool_name": "b", "n": "x"}, "bc", false},
		{map[string]any{"tool_name": "d", "x": 1}, "glob-lit", false},
		{map[string]any{"tool_name": "e", "x": 1}, "wild", false},
		{map[string]any{"tool_name": int64(7)}, "bc", false},   // non-string: full scan
		{map[string]any{"tool_name": []string{"a"}}, "", true}, // unsupported type: full scan raises
		{map[string]any{"x": 1}, "wild", false},
	}
	for _, tt := range tests {
		d := s.Evaluate(t.Context(), tt.in)
		if d.Rule != tt.rule || d.Error != tt.err {
			t.Errorf("Evaluate(%v) = %+v, want rule %q error %v", tt.in, d, tt.rule, tt.err)
		}
		if d2, _ := s.Explain(t.Context(), tt.in); d2 != d {
			t.Errorf("Explain(%v) = %+v, Evaluate %+v", tt.in, d2, d)
		}
	}
}
