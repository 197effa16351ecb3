package limit

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Every denial or configuration error from this package
// matches one of them with errors.Is (Breaker.Do also passes through the
// error of the call it ran). A caller that gets any error from a limiter
// must deny the action it guards.
var (
	// ErrInvalidConfig is matched by every *ConfigError.
	ErrInvalidConfig = errors.New("invalid limit configuration")
	// ErrNonPositiveTokens is returned when asked to consume zero or fewer
	// tokens (the reference's "tokens must be positive").
	ErrNonPositiveTokens = errors.New("tokens must be positive")
	// ErrRateLimited is matched by every *RateLimitError.
	ErrRateLimited = errors.New("rate limit exceeded")
	// ErrTooManyKeys means a Limiter's key table is full of buckets that
	// are still limiting, so a new key is refused rather than forgetting
	// an old one's state (fail closed).
	ErrTooManyKeys = errors.New("rate limiter key table full")
	// ErrNoQuota means no quota is set for the agent.
	ErrNoQuota = errors.New("no quota set for agent")
	// ErrQuotaExceeded is matched by every *QuotaError.
	ErrQuotaExceeded = errors.New("quota exceeded")
	// ErrBudgetExceeded is matched by every *BudgetError.
	ErrBudgetExceeded = errors.New("budget exceeded")
	// ErrOpen is matched by every *OpenError: the circuit breaker refuses
	// calls.
	ErrOpen = errors.New("circuit breaker open")
)

// Never is the wait reported when waiting cannot help: the refill rate is
// zero or the request exceeds the bucket's capacity.
const Never = time.Duration(1<<63 - 1)

// ConfigError reports an invalid setting. Its message is the reference's
// wording, e.g. "capacity must be positive".
type ConfigError struct {
	// Field is the setting at fault, e.g. "capacity".
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error implements error.
func (e *ConfigError) Error() string { return e.Msg }

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// RateLimitError is a denial by a rate limit. It prints as
// "rate limit 100/hour exceeded; retry in 36s".
type RateLimitError struct {
	// Rate is the limit that denied.
	Rate Rate
	// RetryAfter is how long until one more event is admitted; Never when
	// waiting cannot help.
	RetryAfter time.Duration
}

// Error implements error.
func (e *RateLimitError) Error() string {
	return "rate limit " + e.Rate.String() + " exceeded; retry in " + FormatRetry(e.RetryAfter)
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// FormatRetry formats a retry delay for a person: rounded up to the next
// whole second from one second on ("36s", "1m30s"), to the next millisecond
// below that ("250ms"), and "never" for Never.
func FormatRetry(d time.Duration) string {
	switch {
	case d >= Never:
		return "never"
	case d <= 0:
		return "0s"
	case d < time.Second:
		return ceilTo(d, time.Millisecond).String()
	}
	return ceilTo(d, time.Second).String()
}

// ceilTo rounds d up to a multiple of unit without overflowing.
func ceilTo(d, unit time.Duration) time.Duration {
	if r := d % unit; r != 0 {
		if d > Never-unit {
			return d - r
		}
		return d - r + unit
	}
	return d
}

// QuotaError is a denial by an agent's quota.
type QuotaError struct {
	// AgentID is the agent whose quota denied.
	AgentID string
	// Reason says which limit denied, e.g. "requests per minute limit 2
	// reached" or `action type "file_write" not allowed`.
	Reason string
	// RetryAfter is how long until the limit admits again; 0 when waiting
	// does not help (a refused action type, a concurrency cap).
	RetryAfter time.Duration
}

// Error implements error.
func (e *QuotaError) Error() string {
	var b strings.Builder
	b.WriteString("quota for agent ")
	b.WriteString(strconv.Quote(e.AgentID))
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.RetryAfter > 0 {
		b.WriteString("; retry in ")
		b.WriteString(FormatRetry(e.RetryAfter))
	}
	return b.String()
}

// Is reports whether target is ErrQuotaExceeded.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// BudgetError is a denial by a budget. Reasons are the reference's strings
// ("tool_calls: 3/2", "cost: $1.50/$1.00", ...), in the order tokens,
// tool_calls, cost, duration.
type BudgetError struct {
	// AgentID is the agent over budget; "" when the check was not per agent.
	AgentID string
	// Reasons lists every exceeded limit.
	Reasons []string
}

// Error implements error.
func (e *BudgetError) Error() string {
	s := "budget exceeded"
	if e.AgentID != "" {
		s += " for agent " + strconv.Quote(e.AgentID)
	}
	return s + ": " + strings.Join(e.Reasons, ", ")
}

// Is reports whether target is ErrBudgetExceeded.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetExceeded }

// OpenError is a call refused by an open (or saturated half-open) circuit
// breaker. It prints as the reference does: "Circuit breaker OPEN for agent
// 'legacy'. Retry after 0.0s."
type OpenError struct {
	// Name is the breaker's name (the reference's agent id).
	Name string
	// State is the breaker's state when it refused.
	State State
	// RetryAfter is how long until the breaker lets a trial call through; 0
	// when it is half-open and all trial slots are taken.
	RetryAfter time.Duration
}

// Error implements error.
func (e *OpenError) Error() string {
	return "Circuit breaker OPEN for agent '" + e.Name + "'. Retry after " +
		strconv.FormatFloat(e.RetryAfter.Seconds(), 'f', 1, 64) + "s."
}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }
