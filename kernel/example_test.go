package kernel_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

func Example() {
	set, err := policy.Compile([]*policy.Document{{
		Name:     "example",
		Defaults: policy.Defaults{Action: policy.ActionAllow},
		Rules: []policy.Rule{{
			Name: "no-shell", Action: policy.ActionDeny, Message: "shell access is not allowed",
			Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpEq, Value: "shell"},
		}},
	}}, policy.CompileOptions{})
	if err != nil {
		panic(err)
	}
	log, err := audit.NewMemory(audit.MemoryOptions{})
	if err != nil {
		panic(err)
	}
	k, err := kernel.New(kernel.Options{Policy: set, Auditor: log})
	if err != nil {
		panic(err)
	}
	defer k.Close()

	_ = k.RegisterTool(kernel.Tool{
		Name:   "greet",
		Schema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`),
		Func: func(_ context.Context, args json.RawMessage) (any, error) {
			var in struct{ Name string }
			if err := json.Unmarshal(args, &in); err != nil {
				return nil, err
			}
			return "hello, " + in.Name, nil
		},
	})
	_ = k.RegisterTool(kernel.Tool{Name: "shell", Func: func(context.Context, json.RawMessage) (any, error) { return nil, nil }})

	ctx := context.Background()
	if _, err := k.Spawn(ctx, kernel.AgentSpec{ID: "assistant", Role: "helper"}); err != nil {
		panic(err)
	}
	res, _ := k.Syscall(ctx, "assistant", kernel.Exec{Tool: "greet", Args: json.RawMessage(`{"name":"Ada"}`)})
	fmt.Println(res.Code, res.Value)
	res, err = k.Syscall(ctx, "assistant", kernel.Exec{Tool: "shell"})
	fmt.Println(res.Code, err)
	fmt.Println("audit events:", log.Len())
	// Output:
	// 0 hello, Ada
	// -2 Policy 'SYS_EXEC' blocked: shell access is not allowed
	// audit events: 3
}
