// Package limit provides the kernel's admission limits: token-bucket rate
// limits parsed from "N/unit" strings, per-agent quotas, budgets (tokens,
// tool calls, cost, duration) and a circuit breaker. Every limiter reads
// time from an injected [Clock] so tests are deterministic; the limittest
// package has a fake one.
//
// # Rate limits
//
// [ParseRate] reads "100/hour" into a [Rate]. A [Limiter] keeps one token
// bucket per key (for example agent and rule): Rate{N, Per} is a bucket of
// capacity N refilling N per Per. [Limiter.Allow] does not allocate for a
// known key; [Limiter.Check] turns a denial into a [*RateLimitError] whose
// text says when to retry. The key table is bounded: buckets that have
// refilled completely are dropped when it is full, and if none has, new keys
// are refused rather than old limits forgotten.
//
// [TokenBucket] is the reference's TokenBucket (capacity, refill rate per
// second, initial tokens) with its error messages.
//
// # Quotas
//
// A [Quota] is the reference's ResourceQuota rebuilt on two token buckets
// (per minute, per hour) and a real concurrency counter. It is charged only
// by [Quota.Acquire], once every other stage has admitted a request; the
// reference charged requests that a later stage denied.
//
// # Budgets
//
// [BudgetPolicy] and [Budgets] follow the reference's BudgetPolicy: a limit
// is exceeded when usage is strictly greater, and the reasons read
// "tokens: U/L", "tool_calls: U/L", "cost: $U.UU/$L.LL",
// "duration: U.Us/L.Ls".
//
// # Circuit breaker
//
// [Breaker] is closed, open or half-open; an open breaker refuses calls
// with an [*OpenError] matching [ErrOpen].
//
// # Failing closed
//
// Every error from this package means deny. Invalid rates admit nothing, a
// zero [QuotaConfig] admits nothing, and a full key table refuses new keys.
package limit
