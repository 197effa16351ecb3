// Package limit provides the kernel's admission limits: token-bucket rate
// limits parsed from "N/unit" strings, per-agent budgets (tokens, tool calls,
// cost, duration) and a circuit breaker. Every limiter reads time from an
// injected Clock so tests are deterministic.
package limit
