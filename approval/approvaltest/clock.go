// Package approvaltest provides a manually advanced [approval.Clock] for
// deterministic tests of approval expiry: timers fire when the test
// advances the clock, never on their own.
package approvaltest

import (
	"slices"
	"sync"
	"time"

	"github.com/agentos/agentos/approval"
)

// Epoch returns the fixed, arbitrary start time used when NewClock is
// given the zero time: 2025-01-01 00:00:00 UTC.
func Epoch() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

// Clock is a manually advanced clock with timers, safe for concurrent use.
// Build it with NewClock.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*timer // scheduled, unsorted
}

var _ approval.Clock = (*Clock)(nil)

// NewClock returns a Clock reading start (Epoch if start is zero).
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = Epoch()
	}
	return &Clock{now: start}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the clock is advanced to d from now. f
// runs in the goroutine that calls Advance. A d of zero or less runs at
// the next Advance, even Advance(0).
func (c *Clock) AfterFunc(d time.Duration, f func()) approval.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{c: c, when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock forward by d and then runs, in order of their
// due time (ties in order of scheduling), the functions of every timer now
// due, outside the clock's lock. It returns the new time. A negative d
// panics: this clock only moves forward.
func (c *Clock) Advance(d time.Duration) time.Time {
	if d < 0 {
		panic("approvaltest: Advance with a negative duration")
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	var due []*timer
	c.timers = slices.DeleteFunc(c.timers, func(t *timer) bool {
		if t.when.After(now) {
			return false
		}
		due = append(due, t)
		return true
	})
	c.mu.Unlock()
	slices.SortFunc(due, func(a, b *timer) int {
		if c := a.when.Compare(b.when); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	for _, t := range due {
		t.f()
	}
	return now
}

// Timers returns how many timers are scheduled and not yet fired or
// stopped.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

type timer struct {
	c    *Clock
	when time.Time
	seq  int
	f    func()
}

// Stop unschedules the timer and reports whether it was still scheduled.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	n := len(t.c.timers)
	t.c.timers = slices.DeleteFunc(t.c.timers, func(x *timer) bool { return x == t })
	return len(t.c.timers) < n
}
