// Command embed shows agentos used as a Go library: a kernel with a policy
// written inline, one tool, one agent, and every call governed and audited.
//
//	go run ./examples/embed
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

const policyYAML = `
version: "1.0"
name: weather-bot
defaults:
  action: deny
rules:
  - name: forecasts-for-europe-only
    priority: 10
    match: {tools: [get_forecast]}
    when: 'args.city in ["Berlin", "Paris", "Lisbon"]'
    action: allow
  - name: everything-else
    priority: 0
    action: deny
    message: This agent may only ask for European forecasts
`

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	docs, err := policy.Parse("weather-bot.yaml", []byte(policyYAML))
	if err != nil {
		return err
	}
	set, err := policy.Compile(docs, policy.CompileOptions{})
	if err != nil {
		return err
	}
	engine := policy.NewEngine(policy.EngineOptions{})
	engine.Swap(set)

	log, err := audit.NewMemory(audit.MemoryOptions{})
	if err != nil {
		return err
	}
	k, err := kernel.New(kernel.Options{Policy: engine, Auditor: log})
	if err != nil {
		return err
	}
	defer k.Close()

	err = k.RegisterTool(kernel.Tool{
		Name:   "get_forecast",
		Schema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
		Func: func(ctx context.Context, args json.RawMessage) (any, error) {
			var in struct{ City string }
			if err := json.Unmarshal(args, &in); err != nil {
				return nil, err
			}
			return "sunny in " + strings.ToUpper(in.City[:1]) + in.City[1:], nil
		},
	})
	if err != nil {
		return err
	}
	if _, err := k.Spawn(ctx, kernel.AgentSpec{ID: "weather-bot"}); err != nil {
		return err
	}

	for _, city := range []string{"Berlin", "Pyongyang"} {
		args, _ := json.Marshal(map[string]string{"city": city})
		res, err := k.Syscall(ctx, "weather-bot", kernel.Exec{Tool: "get_forecast", Args: args})
		if err != nil {
			fmt.Fprintf(w, "%s: denied (code %d): %s\n", city, res.Code, res.Error)
			continue
		}
		fmt.Fprintf(w, "%s: %v\n", city, res.Value)
	}
	if err := log.Verify(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	fmt.Fprintf(w, "%d audit events, chain verified\n", log.Len())
	return nil
}
