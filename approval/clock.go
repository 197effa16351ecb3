package approval

import "time"

// Clock tells the time and schedules request expiry. The broker reads Now
// to stamp requests, votes and events, and calls AfterFunc once per live
// request to expire it. Tests pass a manually advanced clock (see package
// approvaltest); nil in Options means the wall clock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for a fake clock, from
	// the goroutine that advances the clock) once d has elapsed, unless
	// the returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled call made by Clock.AfterFunc. *time.Timer
// implements it.
type Timer interface {
	// Stop prevents the call if it has not happened yet and reports
	// whether it did so.
	Stop() bool
}

// wallClock is the real clock.
type wallClock struct{}

// Now returns the wall-clock time.
func (wallClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (wallClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

var _ Clock = wallClock{}
