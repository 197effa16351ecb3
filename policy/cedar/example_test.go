package cedar_test

import (
	"context"
	"fmt"

	"github.com/agentos/agentos/policy/cedar"
)

func Example() {
	b, err := cedar.New(cedar.Options{Policies: `
@id("payments-refunds")
permit (principal, action == Action::"RefundPayment", resource)
when { context has agent && context.agent.labels.team == "payments" };
`})
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
	// payments true cedar: allowed by permit policy payments-refunds (2:1) <nil>
	// sales false cedar: no permit policy matched (default deny) <nil>
}

// The request the backend authorizes for an input.
func ExampleMapRequest() {
	req, err := cedar.MapRequest(map[string]any{
		"tool_name": "execute_code",
		"agent_id":  "bot",
		"resource":  "db1",
		"extra":     1,
	})
	fmt.Println(req.Principal, req.Action, req.Resource, req.Context, err)
	// Output:
	// Agent::"bot" Action::"ExecuteCode" Resource::"db1" {"extra":1} <nil>
}

func ExamplePascalCase() {
	for _, tool := range []string{"file_read", "a__b", "_x", "get_HTTP"} {
		fmt.Println(cedar.PascalCase(tool))
	}
	// Output:
	// FileRead
	// AB
	// X
	// GetHTTP
}
