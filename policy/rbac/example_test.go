package rbac_test

import (
	"errors"
	"fmt"

	"github.com/agentos/agentos/policy/rbac"
)

func Example() {
	b := rbac.NewBuilder(rbac.Options{})
	_ = b.AddConstraint("support", []string{"search", "read_file"})
	_ = b.AddConditionalPermission("support", rbac.Permission{
		ToolName:   "refund_user",
		Conditions: []rbac.Condition{{AttributePath: "args.amount", Operator: rbac.OpLt, Value: 1000}},
	})
	snap := b.Freeze()

	engine, err := rbac.NewEngine(rbac.EngineOptions{Snapshot: snap})
	if err != nil {
		panic(err)
	}
	fmt.Println(engine.Check("support", "refund_user", map[string]any{"amount": 500}).Allowed)
	fmt.Println(engine.Check("support", "refund_user", map[string]any{"amount": 5000}).Reason)
	fmt.Println(engine.Check("support", "read_file", map[string]any{"path": "/data/../etc/passwd"}).Reason)
	fmt.Println(engine.Check("support", "delete_file", nil).Reason)

	err = b.AddConstraint("support", []string{"delete_file"})
	fmt.Println(errors.Is(err, rbac.ErrFrozen))
	// Output:
	// true
	// Conditional permission denied for refund_user: Conditions not met
	// Path Violation: Cannot access protected directory /etc/
	// Role support cannot use tool delete_file
	// true
}
