package rego_test

import (
	"context"
	"fmt"

	"github.com/agentos/agentos/policy/rego"
)

func Example() {
	b, err := rego.New(rego.Options{
		Modules: map[string]string{"agents.rego": `package agentos

default allow := false

allow if {
	input.tool_name == "refund_payment"
	input.agent.labels.team == "payments"
}
`},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, team := range []string{"payments", "sales"} {
		allowed, reason, err := b.Decide(ctx, map[string]any{
			"tool_name": "refund_payment",
			"agent":     map[string]any{"labels": map[string]any{"team": team}},
		})
		fmt.Println(team, allowed, reason, err)
	}
	// Output:
	// payments true rego: data.agentos.allow is true <nil>
	// sales false rego: data.agentos.allow is false <nil>
}

// A query returning an object gives the policy's own reason.
func Example_decision() {
	b, err := rego.New(rego.Options{
		Query: "data.agentos.decision",
		Modules: map[string]string{"agents.rego": `package agentos

decision := {"allow": false, "reason": sprintf("tool %q is destructive", [input.tool_name])} if {
	startswith(input.tool_name, "delete_")
}
`},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	allowed, reason, err := b.Decide(context.Background(), map[string]any{"tool_name": "delete_repo"})
	fmt.Println(allowed, reason, err)
	// Output:
	// false tool "delete_repo" is destructive <nil>
}

// Errors in a module are located.
func ExampleNew_error() {
	_, err := rego.New(rego.Options{
		Modules: map[string]string{"bad.rego": "package agentos\n\nallow if {\n\tinput.tool_name ==\n}\n"},
	})
	fmt.Println(err)
	// Output:
	// bad.rego:5:1: rego_parse_error: unexpected } token
}
