package kernel

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

// deadlineOnly is a context with a deadline but no channel, which the
// standard library never makes but a caller may.
type deadlineOnly struct {
	context.Context
	d time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.d, true }

// TestToolContext checks toolContext against what it replaces,
// context.WithTimeout(ctx, timeout) plus context.AfterFunc(agent, cancel)
// and a deferred cancel.
func TestToolContext(t *testing.T) {
	t.Parallel()
	parent := context.WithValue(context.Background(), ctxKey{}, "v")
	tests := []struct {
		name    string
		timeout time.Duration
		act     func(c *toolContext, killAgent context.CancelFunc)
		want    error
		done    bool // wait on Done before checking Err
	}{
		{"running", time.Hour, func(*toolContext, context.CancelFunc) {}, nil, false},
		{"agent killed, polled", time.Hour, func(_ *toolContext, kill context.CancelFunc) { kill() }, context.Canceled, false},
		{"agent killed, waited", time.Hour, func(_ *toolContext, kill context.CancelFunc) { kill() }, context.Canceled, true},
		{"agent killed after Done", time.Hour, func(c *toolContext, kill context.CancelFunc) { c.Done(); kill() }, context.Canceled, true},
		{"timeout passed, polled", time.Nanosecond, func(*toolContext, context.CancelFunc) {}, context.DeadlineExceeded, false},
		{"timeout passes, waited", time.Millisecond, func(*toolContext, context.CancelFunc) {}, context.DeadlineExceeded, true},
		{"call ended", time.Hour, func(c *toolContext, _ context.CancelFunc) { c.release() }, context.Canceled, true},
		{"call ended after Done", time.Hour, func(c *toolContext, _ context.CancelFunc) { c.Done(); c.release() }, context.Canceled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			agent, kill := context.WithCancel(context.Background())
			defer kill()
			c := newToolContext(parent, agent, tt.timeout)
			defer c.release()
			if got := c.Value(ctxKey{}); got != "v" {
				t.Errorf("Value = %v, want the caller's value", got)
			}
			if d, ok := c.Deadline(); !ok || d.IsZero() {
				t.Errorf("Deadline = %v, %v, want a deadline", d, ok)
			}
			tt.act(c, kill)
			if tt.done {
				<-c.Done()
			}
			if err := c.Err(); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Err = %v, want %v", err, tt.want)
			}
			if got := context.Cause(c); !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Errorf("Cause = %v, want %v", got, tt.want)
			}
			if tt.want != nil {
				select {
				case <-c.Done():
				default:
					t.Error("Done not closed after Err reported", tt.want)
				}
			}
		})
	}
}

// TestToolContextDerived: a context derived from a tool's context (as a
// tool passes to its own calls) is cancelled when the call ends.
func TestToolContextDerived(t *testing.T) {
	t.Parallel()
	c := newToolContext(context.Background(), context.Background(), time.Hour)
	child, cancel := context.WithCancel(c)
	defer cancel()
	stopped := make(chan struct{})
	context.AfterFunc(c, func() { close(stopped) })
	c.release()
	<-child.Done()
	<-stopped
	if !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("child Err = %v, want Canceled", child.Err())
	}
}

// TestToolContextCallerDeadline: a caller deadline earlier than the tool's
// timeout is the tool's deadline, and it is kept even though the caller's
// context has no channel.
func TestToolContextCallerDeadline(t *testing.T) {
	t.Parallel()
	d := time.Now().Add(time.Millisecond)
	c := newToolContext(deadlineOnly{context.Background(), d}, context.Background(), time.Hour)
	defer c.release()
	if got, _ := c.Deadline(); !got.Equal(d) {
		t.Errorf("Deadline = %v, want the caller's %v", got, d)
	}
	<-c.Done()
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Errorf("Err = %v, want DeadlineExceeded", c.Err())
	}
}

// TestAuditContext checks auditContext against what it replaces,
// context.WithTimeout(context.WithoutCancel(ctx), timeout) and a deferred
// cancel, and when it may be reused.
func TestAuditContext(t *testing.T) {
	t.Parallel()
	caller, cancelCaller := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	cancelCaller() // the caller gave up: the append must not notice
	t.Run("live", func(t *testing.T) {
		t.Parallel()
		c := new(auditContext)
		c.reset(context.WithoutCancel(caller), time.Now().Add(time.Hour))
		if err := c.Err(); err != nil {
			t.Errorf("Err = %v, want nil", err)
		}
		if got := c.Value(ctxKey{}); got != "v" {
			t.Errorf("Value = %v, want the caller's value", got)
		}
		if !c.release() {
			t.Error("release = false for a context whose Done was never called")
		}
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("Err after release = %v, want Canceled", c.Err())
		}
		// Reuse starts afresh.
		c.reset(context.Background(), time.Now().Add(time.Hour))
		if err := c.Err(); err != nil {
			t.Errorf("Err after reset = %v, want nil", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		c := new(auditContext)
		c.reset(context.Background(), time.Now().Add(-time.Second))
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v, want DeadlineExceeded", c.Err())
		}
		<-c.Done()
	})
	t.Run("waited", func(t *testing.T) {
		t.Parallel()
		c := new(auditContext)
		c.reset(context.Background(), time.Now().Add(time.Millisecond))
		<-c.Done()
		if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(c), context.DeadlineExceeded) {
			t.Errorf("Err, Cause = %v, %v, want DeadlineExceeded", c.Err(), context.Cause(c))
		}
		if c.release() {
			t.Error("release = true for a context whose channel was handed out")
		}
	})
	t.Run("released while waited on", func(t *testing.T) {
		t.Parallel()
		c := new(auditContext)
		c.reset(context.Background(), time.Now().Add(time.Hour))
		done := c.Done()
		if c.release() {
			t.Error("release = true for a context whose channel was handed out")
		}
		<-done
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("Err = %v, want Canceled", c.Err())
		}
	})
}
