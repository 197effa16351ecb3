package rego_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agentos/agentos/policy/rego"
)

func benchInput() map[string]any {
	return map[string]any{
		"tool_name": "refund_payment",
		"agent_id":  "refunder",
		"agent":     map[string]any{"id": "refunder", "role": "worker", "labels": map[string]any{"team": "payments"}},
		"args":      map[string]any{"amount": 120, "currency": "EUR", "order": "o-1234"},
		"usage":     map[string]any{"tool_calls": 3, "tokens": 1200},
	}
}

// BenchmarkDecide measures one decision with the example policy, through
// the boolean and the object query.
func BenchmarkDecide(b *testing.B) {
	for _, query := range []string{"data.agentos.allow", "data.agentos.decision"} {
		b.Run(strings.TrimPrefix(query, "data.agentos."), func(b *testing.B) {
			be, err := rego.New(rego.Options{Files: []string{examplePolicy}, Query: query})
			if err != nil {
				b.Fatal(err)
			}
			input := benchInput()
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if allowed, _, err := be.Decide(ctx, input); !allowed || err != nil {
					b.Fatalf("Decide = %v, %v", allowed, err)
				}
			}
		})
	}
}

// BenchmarkDecideRules measures a decision against sized rule sets: n
// rules each matching one tool, with the matching tool last.
func BenchmarkDecideRules(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var src strings.Builder
			src.WriteString("package agentos\n\n")
			for i := range n {
				fmt.Fprintf(&src, "allow if input.tool_name == \"tool_%d\"\n", i)
			}
			be, err := rego.New(rego.Options{Modules: map[string]string{"rules.rego": src.String()}})
			if err != nil {
				b.Fatal(err)
			}
			input := map[string]any{"tool_name": fmt.Sprintf("tool_%d", n-1)}
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if allowed, _, err := be.Decide(ctx, input); !allowed || err != nil {
					b.Fatalf("Decide = %v, %v", allowed, err)
				}
			}
		})
	}
}
