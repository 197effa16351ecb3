package limit

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// QuotaConfig is an agent's resource quota, after the reference's
// ResourceQuota. Every field means exactly what it says, so the zero
// QuotaConfig admits nothing (fail closed); start from DefaultQuota for the
// reference's defaults.
type QuotaConfig struct {
	// RequestsPerMinute is the capacity of a bucket refilling that many
	// requests per minute; 0 admits none.
	RequestsPerMinute int `json:"max_requests_per_minute"`
	// RequestsPerHour is the capacity of a bucket refilling that many
	// requests per hour; 0 admits none.
	RequestsPerHour int `json:"max_requests_per_hour"`
	// MaxConcurrent is how many admitted requests may run at once (held
	// from Acquire until release); 0 admits none.
	MaxConcurrent int `json:"max_concurrent_executions"`
	// AllowedActions lists the action types admitted; empty means all.
	AllowedActions []string `json:"allowed_action_types"`
}

// DefaultQuota returns the reference's default quota: 60 requests per
// minute, 1000 per hour, 5 concurrent executions, every action type.
func DefaultQuota() QuotaConfig {
	return QuotaConfig{RequestsPerMinute: 60, RequestsPerHour: 1000, MaxConcurrent: 5}
}

// Validate reports the first negative limit as a *ConfigError.
func (c QuotaConfig) Validate() error {
	switch {
	case c.RequestsPerMinute < 0:
		return &ConfigError{Field: "max_requests_per_minute", Msg: "max_requests_per_minute must be non-negative"}
	case c.RequestsPerHour < 0:
		return &ConfigError{Field: "max_requests_per_hour", Msg: "max_requests_per_hour must be non-negative"}
	case c.MaxConcurrent < 0:
		return &ConfigError{Field: "max_concurrent_executions", Msg: "max_concurrent_executions must be non-negative"}
	}
	return nil
}

// Quota enforces one agent's QuotaConfig with two token buckets (per minute
// and per hour) and a real concurrency counter. Unlike the reference, which
// used fixed windows and charged a request even when a later stage denied
// it, a Quota is charged only by Acquire, which the caller makes once every
// other stage has admitted the request. It is safe for concurrent use.
type Quota struct {
	agentID string
	cfg     QuotaConfig
	clock   Clock

	base     time.Time // gcra times are nanoseconds since base
	mu       sync.Mutex
	minute   gcra // guarded by mu; unused when RequestsPerMinute is 0
	hour     gcra // guarded by mu; unused when RequestsPerHour is 0
	inFlight int  // guarded by mu
}

// NewQuota returns agentID's quota, with both buckets full. A nil clock
// means the real clock.
func NewQuota(agentID string, cfg QuotaConfig, clock Clock) (*Quota, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.AllowedActions = slices.Clone(cfg.AllowedActions)
	clock = clockOrSystem(clock)
	q := &Quota{agentID: agentID, cfg: cfg, clock: clock, base: clock.Now()}
	if cfg.RequestsPerMinute > 0 {
		q.minute = newGCRA(Rate{N: cfg.RequestsPerMinute, Per: time.Minute}, 0)
	}
	if cfg.RequestsPerHour > 0 {
		q.hour = newGCRA(Rate{N: cfg.RequestsPerHour, Per: time.Hour}, 0)
	}
	return q, nil
}

// Config returns the quota's configuration.
func (q *Quota) Config() QuotaConfig {
	c := q.cfg
	c.AllowedActions = slices.Clone(c.AllowedActions)
	return c
}

// Check reports whether a request of the given action type would be
// admitted now, without charging anything: nil, or a *QuotaError naming the
// limit. The checks run in the reference's order: per-minute, per-hour,
// concurrency, then action type.
func (q *Quota) Check(action string) error {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.checkLocked(now, action)
}

func (q *Quota) now() int64 { return int64(q.clock.Now().Sub(q.base)) }

func (q *Quota) checkLocked(now int64, action string) error {
	if q.cfg.RequestsPerMinute == 0 {
		return &QuotaError{AgentID: q.agentID, Reason: "requests per minute limit 0 reached"}
	}
	if w := q.minute.wait(now); w > 0 {
		return &QuotaError{AgentID: q.agentID, Reason: "requests per minute limit " + strconv.Itoa(q.cfg.RequestsPerMinute) + " reached", RetryAfter: w}
	}
	if q.cfg.RequestsPerHour == 0 {
		return &QuotaError{AgentID: q.agentID, Reason: "requests per hour limit 0 reached"}
	}
	if w := q.hour.wait(now); w > 0 {
		return &QuotaError{AgentID: q.agentID, Reason: "requests per hour limit " + strconv.Itoa(q.cfg.RequestsPerHour) + " reached", RetryAfter: w}
	}
	if q.inFlight >= q.cfg.MaxConcurrent {
		return &QuotaError{AgentID: q.agentID, Reason: "max concurrent executions " + strconv.Itoa(q.cfg.MaxConcurrent) + " reached"}
	}
	if len(q.cfg.AllowedActions) > 0 && !slices.Contains(q.cfg.AllowedActions, action) {
		return &QuotaError{AgentID: q.agentID, Reason: "action type " + strconv.Quote(action) + " not allowed"}
	}
	return nil
}

// Acquire admits a request of the given action type: if Check passes it
// charges one request to both buckets and holds one concurrency slot until
// release is called. release is safe to call more than once; only the first
// call frees the slot. On a denial nothing is charged and release is a
// no-op.
func (q *Quota) Acquire(action string) (release func(), err error) {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.checkLocked(now, action); err != nil {
		return func() {}, err
	}
	q.minute.take(now)
	q.hour.take(now)
	q.inFlight++
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			q.mu.Lock()
			q.inFlight--
			q.mu.Unlock()
		}
	}, nil
}

// QuotaStatus is a snapshot of a quota, with the reference's
// get_quota_status keys. RequestsThisMinute and RequestsThisHour are the
// requests the buckets still hold against the agent (tokens not yet
// refilled, rounded up): the token-bucket counterpart of the reference's
// fixed-window counters, equal to them within the first window.
type QuotaStatus struct {
	AgentID            string `json:"agent_id"`
	RequestsThisMinute int    `json:"requests_this_minute"`
	MaxPerMinute       int    `json:"max_requests_per_minute"`
	RequestsThisHour   int    `json:"requests_this_hour"`
	MaxPerHour         int    `json:"max_requests_per_hour"`
	CurrentExecutions  int    `json:"current_executions"`
	MaxConcurrent      int    `json:"max_concurrent_executions"`
}

// Status returns the quota's current state.
func (q *Quota) Status() QuotaStatus {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	return QuotaStatus{
		AgentID:            q.agentID,
		RequestsThisMinute: int(q.minute.used(now)),
		MaxPerMinute:       q.cfg.RequestsPerMinute,
		RequestsThisHour:   int(q.hour.used(now)),
		MaxPerHour:         q.cfg.RequestsPerHour,
		CurrentExecutions:  q.inFlight,
		MaxConcurrent:      q.cfg.MaxConcurrent,
	}
}

// QuotaOptions configures a Quotas registry.
type QuotaOptions struct {
	// Clock reads time for every quota; nil means the real clock.
	Clock Clock
	// MaxAgents bounds how many agents may have a quota; zero or negative
	// means DefaultMaxKeys. Set refuses a new agent beyond it.
	MaxAgents int
}

// Quotas holds the quota of each agent that has one. An agent without a
// quota is not limited by it, as in the reference. It is safe for
// concurrent use.
type Quotas struct {
	clock     Clock
	maxAgents int
	mu        sync.RWMutex
	m         map[string]*Quota // guarded by mu
}

// NewQuotas returns an empty registry.
func NewQuotas(opts QuotaOptions) *Quotas {
	n := opts.MaxAgents
	if n <= 0 {
		n = DefaultMaxKeys
	}
	return &Quotas{clock: clockOrSystem(opts.Clock), maxAgents: n, m: make(map[string]*Quota)}
}

// Set gives agentID the quota cfg, replacing any previous one (with fresh
// buckets; executions in flight under the old quota release into it).
func (qs *Quotas) Set(agentID string, cfg QuotaConfig) error {
	q, err := NewQuota(agentID, cfg, qs.clock)
	if err != nil {
		return fmt.Errorf("quota for agent %q: %w", agentID, err)
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if _, ok := qs.m[agentID]; !ok && len(qs.m) >= qs.maxAgents {
		return fmt.Errorf("quota for agent %q: %w: %d agents already have one", agentID, ErrInvalidConfig, qs.maxAgents)
	}
	qs.m[agentID] = q
	return nil
}

// Remove drops agentID's quota.
func (qs *Quotas) Remove(agentID string) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	delete(qs.m, agentID)
}

// Get returns agentID's quota, or ErrNoQuota.
func (qs *Quotas) Get(agentID string) (*Quota, error) {
	qs.mu.RLock()
	q := qs.m[agentID]
	qs.mu.RUnlock()
	if q == nil {
		return nil, fmt.Errorf("%w %q", ErrNoQuota, agentID)
	}
	return q, nil
}

// Check is Quota.Check for agentID; an agent without a quota passes.
func (qs *Quotas) Check(agentID, action string) error {
	q, err := qs.Get(agentID)
	if err != nil {
		return nil
	}
	return q.Check(action)
}

// Acquire is Quota.Acquire for agentID; an agent without a quota is
// admitted with a no-op release.
func (qs *Quotas) Acquire(agentID, action string) (release func(), err error) {
	q, err := qs.Get(agentID)
	if err != nil {
		return func() {}, nil
	}
	return q.Acquire(action)
}

// Status returns agentID's quota status, or ErrNoQuota (the reference's
// {"error": "No quota set for agent"}).
func (qs *Quotas) Status(agentID string) (QuotaStatus, error) {
	q, err := qs.Get(agentID)
	if err != nil {
		return QuotaStatus{}, err
	}
	return q.Status(), nil
}
