package limit

import "time"

// Clock tells the time. Every limiter in this package reads time only
// through a Clock so tests can drive it deterministically; see the
// limittest package for a fake one.
type Clock interface {
	// Now returns the current time. Successive calls should not go
	// backwards; if they do, the limiters treat the step back as no time
	// passing (they never refill or reopen early because of it).
	Now() time.Time
}

// systemClock is the real clock.
type systemClock struct{}

// Now implements Clock with time.Now, which carries a monotonic reading.
func (systemClock) Now() time.Time { return time.Now() }

// clockOrSystem returns c, or the real clock when c is nil.
func clockOrSystem(c Clock) Clock {
	if c == nil {
		return systemClock{}
	}
	return c
}
