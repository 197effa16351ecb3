// Package limittest provides a fake [limit.Clock] for deterministic tests of
// rate limits, quotas, budgets and circuit breakers.
package limittest

import (
	"sync"
	"time"
)

// Epoch returns the fixed, arbitrary time a zero Clock starts at:
// 2025-01-01 00:00:00 UTC.
func Epoch() time.Time { return time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC) }

// Clock is a manually advanced clock, safe for concurrent use. Its zero
// value reads [Epoch].
type Clock struct {
	mu  sync.Mutex
	now time.Time // guarded by mu; zero means Epoch
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = Epoch()
	}
	return c.now
}

// Advance moves the clock forward by d (backward if d is negative) and
// returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = Epoch()
	}
	c.now = c.now.Add(d)
	return c.now
}

// Set makes the clock read t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
