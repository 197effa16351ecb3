package limit

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

// BudgetPolicy caps what an agent may consume, after the reference's
// BudgetPolicy. A zero limit means no limit, as the reference's truthiness
// treats it; a limit is exceeded only when usage is strictly greater.
type BudgetPolicy struct {
	// MaxTokens caps model tokens; 0 means no limit.
	MaxTokens int64
	// MaxToolCalls caps tool calls; 0 means no limit.
	MaxToolCalls int64
	// MaxCostUSD caps spend in US dollars; 0 means no limit.
	MaxCostUSD float64
	// MaxDuration caps the wall time since the agent's first charge; 0
	// means no limit.
	MaxDuration time.Duration
}

// Validate reports a negative or non-finite limit as a *ConfigError.
func (p BudgetPolicy) Validate() error {
	switch {
	case p.MaxTokens < 0:
		return &ConfigError{Field: "max_tokens", Msg: "max_tokens must be non-negative"}
	case p.MaxToolCalls < 0:
		return &ConfigError{Field: "max_tool_calls", Msg: "max_tool_calls must be non-negative"}
	case !(p.MaxCostUSD >= 0) || math.IsInf(p.MaxCostUSD, 0):
		return &ConfigError{Field: "max_cost_usd", Msg: "max_cost_usd must be a non-negative number"}
	case p.MaxDuration < 0:
		return &ConfigError{Field: "max_duration", Msg: "max_duration must be non-negative"}
	}
	return nil
}

// Usage is what an agent has consumed.
type Usage struct {
	// Tokens is model tokens consumed.
	Tokens int64
	// ToolCalls is tool calls made.
	ToolCalls int64
	// CostUSD is spend in US dollars.
	CostUSD float64
	// Duration is wall time since the first charge.
	Duration time.Duration
}

// Exceeded reports whether u exceeds any limit of p. It does not allocate.
func (p BudgetPolicy) Exceeded(u Usage) bool {
	return (p.MaxTokens > 0 && u.Tokens > p.MaxTokens) ||
		(p.MaxToolCalls > 0 && u.ToolCalls > p.MaxToolCalls) ||
		(p.MaxCostUSD > 0 && u.CostUSD > p.MaxCostUSD) ||
		(p.MaxDuration > 0 && u.Duration > p.MaxDuration) ||
		math.IsNaN(u.CostUSD) // fail closed on a corrupt cost
}

// Reasons lists every limit u exceeds, in the reference's words and order:
// "tokens: U/L", "tool_calls: U/L", "cost: $U.UU/$L.LL",
// "duration: U.Us/L.Ls". It is nil when nothing is exceeded.
func (p BudgetPolicy) Reasons(u Usage) []string {
	if !p.Exceeded(u) {
		return nil
	}
	var rs []string
	if p.MaxTokens > 0 && u.Tokens > p.MaxTokens {
		rs = append(rs, "tokens: "+strconv.FormatInt(u.Tokens, 10)+"/"+strconv.FormatInt(p.MaxTokens, 10))
	}
	if p.MaxToolCalls > 0 && u.ToolCalls > p.MaxToolCalls {
		rs = append(rs, "tool_calls: "+strconv.FormatInt(u.ToolCalls, 10)+"/"+strconv.FormatInt(p.MaxToolCalls, 10))
	}
	if (p.MaxCostUSD > 0 && u.CostUSD > p.MaxCostUSD) || math.IsNaN(u.CostUSD) {
		rs = append(rs, "cost: $"+strconv.FormatFloat(u.CostUSD, 'f', 2, 64)+"/$"+strconv.FormatFloat(p.MaxCostUSD, 'f', 2, 64))
	}
	if p.MaxDuration > 0 && u.Duration > p.MaxDuration {
		rs = append(rs, "duration: "+strconv.FormatFloat(u.Duration.Seconds(), 'f', 1, 64)+"s/"+
			strconv.FormatFloat(p.MaxDuration.Seconds(), 'f', 1, 64)+"s")
	}
	return rs
}

// Check returns nil, or a *BudgetError listing every exceeded limit.
func (p BudgetPolicy) Check(u Usage) error {
	if !p.Exceeded(u) {
		return nil
	}
	return &BudgetError{Reasons: p.Reasons(u)}
}

// Remaining is what is left of each limit; a nil field has no limit. It may
// be negative once a limit is exceeded. Float fields are rounded to 3
// decimal places, so 10.0-12.34 reads -2.34 rather than float noise.
type Remaining struct {
	Tokens          *int64   `json:"tokens"`
	ToolCalls       *int64   `json:"tool_calls"`
	CostUSD         *float64 `json:"cost_usd"`
	DurationSeconds *float64 `json:"duration_seconds"`
}

// Remaining returns limit minus usage for each limit that is set.
func (p BudgetPolicy) Remaining(u Usage) Remaining {
	var r Remaining
	if p.MaxTokens > 0 {
		r.Tokens = ptr(p.MaxTokens - u.Tokens)
	}
	if p.MaxToolCalls > 0 {
		r.ToolCalls = ptr(p.MaxToolCalls - u.ToolCalls)
	}
	if p.MaxCostUSD > 0 {
		r.CostUSD = ptr(round3(p.MaxCostUSD - u.CostUSD))
	}
	if p.MaxDuration > 0 {
		r.DurationSeconds = ptr(round3((p.MaxDuration - u.Duration).Seconds()))
	}
	return r
}

// Utilization is usage divided by limit for each limit that is set, rounded
// to 3 decimal places; a nil field has no limit.
type Utilization struct {
	Tokens    *float64 `json:"tokens"`
	ToolCalls *float64 `json:"tool_calls"`
	CostUSD   *float64 `json:"cost_usd"`
	Duration  *float64 `json:"duration_seconds"`
}

// Utilization returns usage over limit for each limit that is set.
func (p BudgetPolicy) Utilization(u Usage) Utilization {
	var r Utilization
	if p.MaxTokens > 0 {
		r.Tokens = ptr(round3(float64(u.Tokens) / float64(p.MaxTokens)))
	}
	if p.MaxToolCalls > 0 {
		r.ToolCalls = ptr(round3(float64(u.ToolCalls) / float64(p.MaxToolCalls)))
	}
	if p.MaxCostUSD > 0 {
		r.CostUSD = ptr(round3(u.CostUSD / p.MaxCostUSD))
	}
	if p.MaxDuration > 0 {
		r.Duration = ptr(round3(float64(u.Duration) / float64(p.MaxDuration)))
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// round3 rounds half away from zero to 3 decimal places.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// Charge is one increment of usage.
type Charge struct {
	// Tokens is model tokens to add.
	Tokens int64
	// ToolCalls is tool calls to add.
	ToolCalls int64
	// CostUSD is spend to add, in US dollars.
	CostUSD float64
}

// BudgetOptions configures a Budgets tracker.
type BudgetOptions struct {
	// Policy is applied to every agent; the zero policy limits nothing.
	Policy BudgetPolicy
	// Clock measures each agent's duration from its first charge; nil means
	// the real clock.
	Clock Clock
	// MaxAgents bounds how many agents are tracked; zero or negative means
	// DefaultMaxKeys. Charging a new agent beyond it fails (fail closed).
	MaxAgents int
}

// Budgets accounts usage per agent against one BudgetPolicy. It is safe for
// concurrent use.
type Budgets struct {
	policy    BudgetPolicy
	clock     Clock
	maxAgents int
	mu        sync.Mutex
	m         map[string]*agentUsage // guarded by mu
}

type agentUsage struct {
	u     Usage // Duration unused; computed from start
	start time.Time
}

// NewBudgets returns a tracker with no usage, or a *ConfigError for an
// invalid policy.
func NewBudgets(opts BudgetOptions) (*Budgets, error) {
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	n := opts.MaxAgents
	if n <= 0 {
		n = DefaultMaxKeys
	}
	return &Budgets{policy: opts.Policy, clock: clockOrSystem(opts.Clock), maxAgents: n, m: make(map[string]*agentUsage)}, nil
}

// Policy returns the policy the tracker applies.
func (b *Budgets) Policy() BudgetPolicy { return b.policy }

// Add charges c to agentID and returns its usage afterwards, with the
// duration since its first charge. Negative or non-finite amounts are
// refused, so usage never goes down.
func (b *Budgets) Add(agentID string, c Charge) (Usage, error) {
	if c.Tokens < 0 || c.ToolCalls < 0 || !(c.CostUSD >= 0) || math.IsInf(c.CostUSD, 0) {
		return Usage{}, fmt.Errorf("charge for agent %q: %w: amounts must be non-negative and finite", agentID, ErrInvalidConfig)
	}
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.m[agentID]
	if a == nil {
		if len(b.m) >= b.maxAgents {
			return Usage{}, fmt.Errorf("charge for agent %q: %w: %d agents already tracked", agentID, ErrBudgetExceeded, b.maxAgents)
		}
		a = &agentUsage{start: now}
		b.m[agentID] = a
	}
	a.u.Tokens = satAdd(a.u.Tokens, c.Tokens)
	a.u.ToolCalls = satAdd(a.u.ToolCalls, c.ToolCalls)
	a.u.CostUSD += c.CostUSD
	return a.usage(now), nil
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func (a *agentUsage) usage(now time.Time) Usage {
	u := a.u
	u.Duration = max(0, now.Sub(a.start))
	return u
}

// Usage returns agentID's usage; an agent never charged has none.
func (b *Budgets) Usage(agentID string) Usage {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.m[agentID]; a != nil {
		return a.usage(now)
	}
	return Usage{}
}

// Check returns nil, or a *BudgetError for agentID listing every exceeded
// limit.
func (b *Budgets) Check(agentID string) error {
	u := b.Usage(agentID)
	if !b.policy.Exceeded(u) {
		return nil
	}
	return &BudgetError{AgentID: agentID, Reasons: b.policy.Reasons(u)}
}

// Reset forgets agentID's usage; its next charge starts a new duration.
func (b *Budgets) Reset(agentID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, agentID)
}
