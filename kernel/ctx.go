package kernel

import (
	"context"
	"sync"
	"time"
)

// The two contexts below exist for speed: every syscall appends an audit
// event under a deadline and every EXEC runs its tool under a timeout, and
// context.WithTimeout costs a timer and several allocations per call even
// when nobody ever waits on the context. These contexts compute Err from
// the clock and their parents, and make their channel (and the timer or
// watchers that close it) only when Done is called. Their behaviour is that
// of the standard contexts they replace; Cause equals Err, as for a
// context cancelled without a cause.

// lazyDeadline is the shared part: a deadline, an error once done, and a
// channel made on demand.
type lazyDeadline struct {
	deadline time.Time

	mu     sync.Mutex
	err    error         // guarded by mu; set once
	done   chan struct{} // guarded by mu; made by Done
	closed bool          // guarded by mu; done is closed
	timer  *time.Timer   // guarded by mu; made by Done for an own deadline
}

// finishLocked records err (the first error wins) and closes the channel,
// if any. c.mu must be held.
func (c *lazyDeadline) finishLocked(err error) {
	if c.err == nil {
		c.err = err
	}
	if c.done != nil && !c.closed {
		close(c.done)
		c.closed = true
	}
}

// finish is finishLocked with the lock taken.
func (c *lazyDeadline) finish(err error) {
	c.mu.Lock()
	c.finishLocked(err)
	c.mu.Unlock()
}

// expired reports whether the deadline has passed. The deadline carries a
// monotonic reading, so this reads only the monotonic clock.
func (c *lazyDeadline) expired() bool { return time.Until(c.deadline) <= 0 }

// auditContext is the context of one audit append: the caller's values
// without its cancellation (context.WithoutCancel) and a deadline of its
// own, as context.WithTimeout(context.WithoutCancel(ctx), timeout) gives.
// It is reused between syscalls (see Auditor: Append must not use ctx after
// it returns).
type auditContext struct {
	lazyDeadline
	values context.Context // never cancelled
}

// reset prepares c for an append with the given deadline.
func (c *auditContext) reset(values context.Context, deadline time.Time) {
	c.values, c.deadline = values, deadline
	c.err, c.done, c.closed, c.timer = nil, nil, false, nil
}

// release ends the append (cancelling c, as the deferred cancel of
// WithTimeout does) and reports whether c may be reused: false once Done
// has been called, since someone may still wait on its channel.
func (c *auditContext) release() (reusable bool) {
	c.mu.Lock()
	c.finishLocked(context.Canceled)
	t, made := c.timer, c.done != nil
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	c.values = nil
	return !made
}

// Deadline returns the append's deadline.
func (c *auditContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the deadline passes or the append
// ends; the first call starts the timer.
func (c *auditContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		switch {
		case c.err != nil:
			c.finishLocked(c.err)
		case c.expired():
			c.finishLocked(context.DeadlineExceeded)
		default:
			c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.finish(context.DeadlineExceeded) })
		}
	}
	return c.done
}

// Err returns context.DeadlineExceeded once the deadline has passed,
// context.Canceled after the append, else nil.
func (c *auditContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && c.expired() {
		c.finishLocked(context.DeadlineExceeded)
	}
	return c.err
}

// Value returns the caller's value for key.
func (c *auditContext) Value(key any) any {
	if c.values == nil {
		return nil
	}
	return c.values.Value(key)
}

// toolContext is the context of one tool call whose caller's context can
// never be cancelled (its Done is nil): the caller's values, cancelled when
// the agent's context is (SIGKILL, SIGTERM), when the tool's timeout passes
// or when the call ends, as context.WithTimeout(ctx, timeout) plus
// context.AfterFunc(agent, cancel) gives. A tool that never calls Done
// costs no timer and no goroutine.
type toolContext struct {
	lazyDeadline
	parent    context.Context // the caller's; Done is nil
	agent     context.Context // the agent's lifetime
	stopAgent func() bool     // guarded by mu; made by Done
}

// newToolContext returns the context for a tool call under parent (whose
// Done must be nil) and agent, with the given timeout.
func newToolContext(parent, agent context.Context, timeout time.Duration) *toolContext {
	c := &toolContext{parent: parent, agent: agent}
	c.deadline = time.Now().Add(timeout)
	if d, ok := parent.Deadline(); ok && d.Before(c.deadline) {
		// A caller's deadline without a channel: keep it ourselves.
		c.deadline = d
	}
	return c
}

// pollLocked notes the agent's termination or the deadline, if either has
// happened. c.mu must be held.
func (c *toolContext) pollLocked() {
	if c.err != nil {
		return
	}
	switch {
	case c.agent.Err() != nil:
		c.finishLocked(context.Canceled)
	case c.expired():
		c.finishLocked(context.DeadlineExceeded)
	}
}

// release ends the call: it cancels c and stops its watchers.
func (c *toolContext) release() {
	c.mu.Lock()
	c.finishLocked(context.Canceled)
	t, stop := c.timer, c.stopAgent
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	if stop != nil {
		stop()
	}
}

// Deadline returns the earlier of the tool's and the caller's deadlines.
func (c *toolContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the agent is terminated, the deadline
// passes or the call ends; the first call starts the watchers.
func (c *toolContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.done = make(chan struct{})
	c.pollLocked()
	if c.err != nil {
		c.finishLocked(c.err)
		return c.done
	}
	c.stopAgent = context.AfterFunc(c.agent, func() { c.finish(context.Canceled) })
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.finish(context.DeadlineExceeded) })
	return c.done
}

// Err returns context.Canceled once the agent is terminated or the call has
// ended, context.DeadlineExceeded once the deadline has passed, else nil.
func (c *toolContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pollLocked()
	return c.err
}

// Value returns the caller's value for key.
func (c *toolContext) Value(key any) any { return c.parent.Value(key) }

// Interface guards.
var (
	_ context.Context = (*auditContext)(nil)
	_ context.Context = (*toolContext)(nil)
)
