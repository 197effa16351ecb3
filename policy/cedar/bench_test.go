package cedar_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agentos/agentos/policy/cedar"
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

// BenchmarkDecide measures one decision with the example policy.
func BenchmarkDecide(b *testing.B) {
	be, err := cedar.New(cedar.Options{Files: []string{examplePolicy}})
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
}

// BenchmarkDecideRules measures a decision against sized policy sets: n
// permits each naming one action, with the matching one last.
func BenchmarkDecideRules(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var src strings.Builder
			for i := range n {
				fmt.Fprintf(&src, "permit (principal, action == Action::\"Tool%d\", resource);\n", i)
			}
			be, err := cedar.New(cedar.Options{Policies: src.String()})
			if err != nil {
				b.Fatal(err)
			}
			input := map[string]any{"tool_name": fmt.Sprintf("tool%d", n-1)}
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

// BenchmarkMapRequest measures the input-to-request mapping alone.
func BenchmarkMapRequest(b *testing.B) {
	input := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cedar.MapRequest(input); err != nil {
			b.Fatal(err)
		}
	}
}
