package limit_test

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/limit/limittest"
)

func TestBudgetPolicyReasons(t *testing.T) {
	t.Parallel()
	full := limit.BudgetPolicy{MaxTokens: 100, MaxToolCalls: 2, MaxCostUSD: 1.0, MaxDuration: 10 * time.Second}
	tests := []struct {
		name   string
		policy limit.BudgetPolicy
		usage  limit.Usage
		want   []string
	}{
		// Reference vector 75: tokens at the limit are not exceeded.
		{"reference vector 75", full, limit.Usage{Tokens: 100, ToolCalls: 3, CostUSD: 1.5, Duration: 12340 * time.Millisecond},
			[]string{"tool_calls: 3/2", "cost: $1.50/$1.00", "duration: 12.3s/10.0s"}},
		{"all four", full, limit.Usage{Tokens: 101, ToolCalls: 3, CostUSD: 1.005, Duration: 10*time.Second + 1},
			[]string{"tokens: 101/100", "tool_calls: 3/2", "cost: $1.00/$1.00", "duration: 10.0s/10.0s"}},
		{"all at limit", full, limit.Usage{Tokens: 100, ToolCalls: 2, CostUSD: 1, Duration: 10 * time.Second}, nil},
		{"zero policy limits nothing", limit.BudgetPolicy{}, limit.Usage{Tokens: 1 << 60, ToolCalls: 9, CostUSD: 1e9, Duration: time.Hour}, nil},
		{"NaN cost fails closed", full, limit.Usage{CostUSD: nan()}, []string{"cost: $NaN/$1.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.policy.Reasons(tt.usage)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Reasons(%+v) = %q, want %q", tt.usage, got, tt.want)
			}
			if ex := tt.policy.Exceeded(tt.usage); ex != (len(tt.want) > 0) {
				t.Fatalf("Exceeded = %v, want %v", ex, len(tt.want) > 0)
			}
			err := tt.policy.Check(tt.usage)
			var be *limit.BudgetError
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.As(err, &be) || !errors.Is(err, limit.ErrBudgetExceeded) || !slices.Equal(be.Reasons, tt.want) {
				t.Fatalf("Check = %v, want *BudgetError with %q", err, tt.want)
			}
		})
	}
}

func TestBudgetRemainingUtilization(t *testing.T) {
	t.Parallel()
	p := limit.BudgetPolicy{MaxTokens: 100, MaxToolCalls: 2, MaxCostUSD: 1.0, MaxDuration: 10 * time.Second}
	u := limit.Usage{Tokens: 100, ToolCalls: 3, CostUSD: 1.5, Duration: 12340 * time.Millisecond}
	rem, _ := json.Marshal(p.Remaining(u))
	if got, want := string(rem), `{"tokens":0,"tool_calls":-1,"cost_usd":-0.5,"duration_seconds":-2.34}`; got != want {
		t.Fatalf("Remaining = %s, want %s", got, want)
	}
	ut, _ := json.Marshal(p.Utilization(u))
	if got, want := string(ut), `{"tokens":1,"tool_calls":1.5,"cost_usd":1.5,"duration_seconds":1.234}`; got != want {
		t.Fatalf("Utilization = %s, want %s", got, want)
	}
	// Limit 0 is no limit: null, as the reference's truthiness gives.
	partial := limit.BudgetPolicy{MaxToolCalls: 3}
	rem, _ = json.Marshal(partial.Remaining(limit.Usage{ToolCalls: 1}))
	if got, want := string(rem), `{"tokens":null,"tool_calls":2,"cost_usd":null,"duration_seconds":null}`; got != want {
		t.Fatalf("Remaining = %s, want %s", got, want)
	}
	ut, _ = json.Marshal(partial.Utilization(limit.Usage{ToolCalls: 1}))
	if got, want := string(ut), `{"tokens":null,"tool_calls":0.333,"cost_usd":null,"duration_seconds":null}`; got != want {
		t.Fatalf("Utilization = %s, want %s", got, want)
	}
}

func TestBudgetPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []limit.BudgetPolicy{{MaxTokens: -1}, {MaxToolCalls: -1}, {MaxCostUSD: -0.01}, {MaxCostUSD: nan()}, {MaxDuration: -1}} {
		if _, err := limit.NewBudgets(limit.BudgetOptions{Policy: p}); !errors.Is(err, limit.ErrInvalidConfig) {
			t.Errorf("NewBudgets(%+v) = %v, want ErrInvalidConfig", p, err)
		}
	}
}

func TestBudgetsAccounting(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	b, err := limit.NewBudgets(limit.BudgetOptions{
		Policy: limit.BudgetPolicy{MaxToolCalls: 100, MaxDuration: time.Minute},
		Clock:  clk, MaxAgents: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 10 {
				if _, err := b.Add("a1", limit.Charge{ToolCalls: 1, Tokens: 5, CostUSD: 0.25}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	u := b.Usage("a1")
	if u.ToolCalls != 100 || u.Tokens != 500 || u.CostUSD != 25 {
		t.Fatalf("Usage = %+v, want 100 calls, 500 tokens, $25", u)
	}
	if err := b.Check("a1"); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if _, err := b.Add("a1", limit.Charge{ToolCalls: 1}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(61 * time.Second)
	err = b.Check("a1")
	if got, want := errorString(err), `budget exceeded for agent "a1": tool_calls: 101/100, duration: 61.0s/60.0s`; got != want {
		t.Fatalf("Check = %q, want %q", got, want)
	}
	if _, err := b.Add("a1", limit.Charge{Tokens: -1}); !errors.Is(err, limit.ErrInvalidConfig) {
		t.Fatalf("negative charge = %v, want ErrInvalidConfig", err)
	}
	if _, err := b.Add("a2", limit.Charge{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add("a3", limit.Charge{}); !errors.Is(err, limit.ErrBudgetExceeded) {
		t.Fatalf("third agent beyond MaxAgents = %v, want ErrBudgetExceeded (fail closed)", err)
	}
	b.Reset("a1")
	if u := b.Usage("a1"); u != (limit.Usage{}) {
		t.Fatalf("Usage after Reset = %+v", u)
	}
}

func BenchmarkBudgetCheck(b *testing.B) {
	b.ReportAllocs()
	bs, _ := limit.NewBudgets(limit.BudgetOptions{
		Policy: limit.BudgetPolicy{MaxTokens: 1 << 50, MaxToolCalls: 1 << 50, MaxCostUSD: 1e12, MaxDuration: time.Hour},
		Clock:  limittest.NewClock(limittest.Epoch()),
	})
	for b.Loop() {
		if _, err := bs.Add("agent-1", limit.Charge{Tokens: 10, ToolCalls: 1, CostUSD: 0.001}); err != nil {
			b.Fatal(err)
		}
		if err := bs.Check("agent-1"); err != nil {
			b.Fatal(err)
		}
	}
}
