package limit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// State is a circuit breaker's state.
type State uint8

// Breaker states, as the reference's CircuitState.
const (
	// Closed lets every call through and counts consecutive failures.
	Closed State = iota
	// Open refuses every call until the reset timeout has passed since it
	// opened.
	Open
	// HalfOpen lets a limited number of trial calls through; their
	// successes close the breaker, any failure opens it again.
	HalfOpen
)

// String returns the reference's name: "closed", "open" or "half_open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return "unknown"
}

// BreakerOptions configures a Breaker.
type BreakerOptions struct {
	// Name identifies the breaker in errors and logs (the reference's
	// agent id); "" means "legacy", the reference's default.
	Name string
	// FailureThreshold is how many consecutive failures open the breaker;
	// 0 means 5.
	FailureThreshold int
	// SuccessThreshold is how many successful trial calls close a half-open
	// breaker; 0 means 1 (the core reference: one success closes).
	SuccessThreshold int
	// ResetTimeout is how long an open breaker waits, from the failure that
	// opened it, before it lets trial calls through; 0 means 30s.
	ResetTimeout time.Duration
	// HalfOpenMaxCalls is how many trial calls a half-open breaker admits
	// before their outcomes are known; 0 means 1. It must be at least
	// SuccessThreshold to ever close.
	HalfOpenMaxCalls int
	// Clock reads time; nil means the real clock.
	Clock Clock
	// Logger receives state changes at Info; nil discards.
	Logger *slog.Logger
}

// BreakerCounts are a breaker's lifetime counters. Refused calls are not
// counted as calls (the reference's control plane counted refused
// half-open calls; this is deliberate).
type BreakerCounts struct {
	// Calls is admitted calls.
	Calls uint64
	// Successes and Failures are reported outcomes of admitted calls.
	Successes, Failures uint64
	// Rejected is calls refused while open or saturated.
	Rejected uint64
	// ConsecutiveFailures is the current run of failures while closed.
	ConsecutiveFailures int
}

// Breaker is a circuit breaker: closed → open after FailureThreshold
// consecutive failures; open → half-open once ResetTimeout has passed
// (checked lazily, on the next call or State); half-open → closed after
// SuccessThreshold trial successes, → open on any trial failure. It is safe
// for concurrent use.
type Breaker struct {
	opts BreakerOptions
	log  *slog.Logger

	mu         sync.Mutex
	state      State         // guarded by mu
	generation uint64        // guarded by mu; bumped on every state change
	openedAt   time.Time     // guarded by mu
	trials     int           // guarded by mu; admitted half-open calls
	trialOK    int           // guarded by mu; successful half-open calls
	counts     BreakerCounts // guarded by mu
}

// NewBreaker returns a closed breaker, or a *ConfigError for negative
// settings.
func NewBreaker(opts BreakerOptions) (*Breaker, error) {
	switch {
	case opts.FailureThreshold < 0:
		return nil, &ConfigError{Field: "failure_threshold", Msg: "failure_threshold must be non-negative"}
	case opts.SuccessThreshold < 0:
		return nil, &ConfigError{Field: "success_threshold", Msg: "success_threshold must be non-negative"}
	case opts.ResetTimeout < 0:
		return nil, &ConfigError{Field: "reset_timeout", Msg: "reset_timeout must be non-negative"}
	case opts.HalfOpenMaxCalls < 0:
		return nil, &ConfigError{Field: "half_open_max_calls", Msg: "half_open_max_calls must be non-negative"}
	}
	if opts.Name == "" {
		opts.Name = "legacy"
	}
	if opts.FailureThreshold == 0 {
		opts.FailureThreshold = 5
	}
	if opts.SuccessThreshold == 0 {
		opts.SuccessThreshold = 1
	}
	if opts.ResetTimeout == 0 {
		opts.ResetTimeout = 30 * time.Second
	}
	if opts.HalfOpenMaxCalls == 0 {
		opts.HalfOpenMaxCalls = 1
	}
	if opts.HalfOpenMaxCalls < opts.SuccessThreshold {
		return nil, &ConfigError{Field: "half_open_max_calls", Msg: "half_open_max_calls must be at least success_threshold"}
	}
	opts.Clock = clockOrSystem(opts.Clock)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Breaker{opts: opts, log: log.With("component", "breaker", "breaker", opts.Name)}, nil
}

// Ticket is an admitted call. Report its outcome with Done exactly once;
// an outcome reported after the breaker has changed state since admission
// is ignored. A Ticket is a small value: admitting a call does not allocate.
type Ticket struct {
	b          *Breaker
	generation uint64
}

// Allow admits a call, or refuses it with an *OpenError (matching ErrOpen).
func (b *Breaker) Allow() (Ticket, error) {
	now := b.opts.Clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked(now)
	switch b.state {
	case Closed:
	case HalfOpen:
		if b.trials >= b.opts.HalfOpenMaxCalls {
			b.counts.Rejected++
			return Ticket{}, &OpenError{Name: b.opts.Name, State: HalfOpen}
		}
		b.trials++
	default: // Open, or anything unknown: refuse (fail closed)
		b.counts.Rejected++
		wait := b.opts.ResetTimeout - now.Sub(b.openedAt)
		return Ticket{}, &OpenError{Name: b.opts.Name, State: Open, RetryAfter: max(0, wait)}
	}
	b.counts.Calls++
	return Ticket{b: b, generation: b.generation}, nil
}

// Done reports the call's outcome: success or failure.
func (t Ticket) Done(success bool) {
	if t.b == nil {
		return
	}
	t.b.record(t.generation, success)
}

func (b *Breaker) record(gen uint64, success bool) {
	now := b.opts.Clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if success {
		b.counts.Successes++
	} else {
		b.counts.Failures++
	}
	if gen != b.generation {
		return
	}
	switch b.state {
	case Closed:
		if success {
			b.counts.ConsecutiveFailures = 0
			return
		}
		b.counts.ConsecutiveFailures++
		if b.counts.ConsecutiveFailures >= b.opts.FailureThreshold {
			b.setLocked(Open, now)
		}
	case HalfOpen:
		if !success {
			b.setLocked(Open, now)
			return
		}
		b.trialOK++
		if b.trialOK >= b.opts.SuccessThreshold {
			b.setLocked(Closed, now)
		}
	}
}

// advanceLocked moves an open breaker to half-open once its timeout has
// passed.
func (b *Breaker) advanceLocked(now time.Time) {
	if b.state == Open && now.Sub(b.openedAt) >= b.opts.ResetTimeout {
		b.setLocked(HalfOpen, now)
	}
}

func (b *Breaker) setLocked(s State, now time.Time) {
	from := b.state
	b.state = s
	b.generation++
	b.trials, b.trialOK = 0, 0
	b.counts.ConsecutiveFailures = 0
	if s == Open {
		b.openedAt = now
	}
	if b.log.Enabled(context.Background(), slog.LevelInfo) {
		b.log.LogAttrs(context.Background(), slog.LevelInfo, "circuit breaker state change",
			slog.String("from", from.String()), slog.String("to", s.String()))
	}
}

// State returns the breaker's state, first moving an open breaker whose
// timeout has passed to half-open.
func (b *Breaker) State() State {
	now := b.opts.Clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked(now)
	return b.state
}

// Counts returns the breaker's counters.
func (b *Breaker) Counts() BreakerCounts {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts
}

// Do runs fn if the breaker admits it and records its outcome: a nil error
// is a success. A refusal returns the *OpenError without calling fn. A
// cancelled ctx refuses before calling fn and records nothing.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := b.Allow()
	if err != nil {
		return err
	}
	ok := false
	defer func() { t.Done(ok) }() // a panicking fn counts as a failure
	err = fn(ctx)
	ok = err == nil
	return err
}
