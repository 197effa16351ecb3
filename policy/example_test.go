package policy_test

import (
	"context"
	"fmt"

	"github.com/agentos/agentos/policy"
)

func ExampleCompile() {
	doc := &policy.Document{
		Name:     "production",
		Defaults: policy.Defaults{Action: policy.ActionAllow},
		Rules: []policy.Rule{
			{
				Name:      "deny_large_tokens",
				Priority:  10,
				Condition: &policy.Condition{Field: "token_count", Operator: policy.OpGt, Value: int64(4096)},
				Action:    policy.ActionDeny,
				Message:   "Too many tokens",
			},
			{
				Name:     "block-destructive-sql",
				Priority: 100,
				Match:    &policy.Match{Tools: []string{"database_*"}},
				When:     `args.query.matches("(?i)\\b(drop|truncate)\\b")`,
				Action:   policy.ActionDeny,
				Message:  "Destructive SQL is not allowed",
			},
		},
	}
	set, err := policy.Compile([]*policy.Document{doc}, policy.CompileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(set.Len(), "rules,", set.Strategy())
	// Output: 2 rules, priority_first_match
}

func ExampleSet_Evaluate() {
	doc := &policy.Document{
		Name: "d1",
		Rules: []policy.Rule{
			{Name: "deny_large_tokens", Priority: 10, Action: policy.ActionDeny, Message: "Too many tokens",
				Condition: &policy.Condition{Field: "token_count", Operator: policy.OpGt, Value: int64(4096)}},
			{Name: "block_dangerous_tool", Priority: 20, Action: policy.ActionBlock,
				Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpIn, Value: []any{"exec", "shell"}}},
		},
	}
	set, err := policy.Compile([]*policy.Document{doc}, policy.CompileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, in := range []map[string]any{
		{"token_count": 5000},
		{"tool_name": "exec", "token_count": 9999},
		{"tool_name": "read"},
		{"token_count": "5000"},
	} {
		d := set.Evaluate(ctx, in)
		fmt.Printf("allowed=%v action=%s rule=%q reason=%q\n", d.Allowed, d.Action, d.Rule, d.Reason)
	}
	// Output:
	// allowed=false action=deny rule="deny_large_tokens" reason="Too many tokens"
	// allowed=false action=block rule="block_dangerous_tool" reason="Matched rule 'block_dangerous_tool'"
	// allowed=true action=allow rule="" reason="No rules matched; default action applied"
	// allowed=false action=deny rule="" reason="Policy evaluation error — access denied (fail closed)"
}

func ExampleResolve() {
	res, err := policy.Resolve(policy.StrategyDenyOverrides, []policy.Candidate{
		{Action: "allow", Priority: 10, Scope: policy.ScopeGlobal, RuleName: "g-allow"},
		{Action: "deny", Priority: 5, Scope: policy.ScopeTenant, RuleName: "t-deny"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Winner.RuleName, res.ConflictDetected, res.Trace)
	// Output: t-deny true [DENY_OVERRIDES: 1 deny rule(s) found Winner: t-deny (priority=5, scope=tenant)]
}

func ExampleCheckNamed() {
	v, err := policy.CheckNamed(policy.NamedCheck{
		Action:   "database_query",
		Params:   map[string]any{"query": "SELECT ssn FROM users"},
		Policies: []string{"read_only", "no_pii"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Policy, v.Kind)
	fmt.Println(v.Message)
	// Output:
	// no_pii blocked_pattern
	// Content blocked: 'ssn' detected in request parameters. Policy 'no_pii' prohibits this pattern. Remove the sensitive content and retry.
}

func ExampleEngine() {
	e := policy.NewEngine(policy.EngineOptions{})
	ctx := context.Background()
	fmt.Println(e.Evaluate(ctx, map[string]any{"tool_name": "x"}).Reason)
	set, err := policy.Compile([]*policy.Document{{Name: "open"}}, policy.CompileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	e.Swap(set)
	fmt.Println(e.Evaluate(ctx, map[string]any{"tool_name": "x"}).Allowed)
	// Output:
	// No policy loaded — access denied (fail closed)
	// true
}
