package limit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/limit/limittest"
)

var errBoom = errors.New("boom")

func call(b *limit.Breaker, success bool) error {
	t, err := b.Allow()
	if err != nil {
		return err
	}
	t.Done(success)
	return nil
}

// Core reference vector 77: threshold 2, timeout 50ms.
func TestBreakerReferenceVector77(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	b, err := limit.NewBreaker(limit.BreakerOptions{FailureThreshold: 2, ResetTimeout: 50 * time.Millisecond, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := call(b, false); err != nil {
			t.Fatal(err)
		}
	}
	if s := b.State(); s != limit.Open {
		t.Fatalf("after 2 failures: %v, want open", s)
	}
	clk.Advance(49 * time.Millisecond)
	err = call(b, true)
	if got, want := errorString(err), "Circuit breaker OPEN for agent 'legacy'. Retry after 0.0s."; got != want {
		t.Fatalf("open call: %q, want %q", got, want)
	}
	var oe *limit.OpenError
	if !errors.Is(err, limit.ErrOpen) || !errors.As(err, &oe) || oe.RetryAfter != time.Millisecond || oe.State != limit.Open {
		t.Fatalf("open call error %#v: want *OpenError retry 1ms", err)
	}
	clk.Advance(11 * time.Millisecond) // 60ms after opening
	if s := b.State(); s != limit.HalfOpen {
		t.Fatalf("after the timeout: %v, want half_open", s)
	}
	if err := call(b, true); err != nil {
		t.Fatal(err)
	}
	if s := b.State(); s != limit.Closed {
		t.Fatalf("after a half-open success: %v, want closed", s)
	}
	c := b.Counts()
	if c.Calls != 3 || c.Failures != 2 || c.Successes != 1 || c.Rejected != 1 {
		t.Fatalf("Counts = %+v, want 3 calls, 2 failures, 1 success, 1 rejected", c)
	}
}

// Control-plane vector 60: success threshold 2; a half-open failure reopens;
// refused calls are not counted as calls (deliberate: the reference counted
// refused half-open calls in total_calls).
func TestBreakerHalfOpen(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	b, err := limit.NewBreaker(limit.BreakerOptions{Name: "a1", FailureThreshold: 2, SuccessThreshold: 2, HalfOpenMaxCalls: 2,
		ResetTimeout: 50 * time.Millisecond, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	// A success resets the consecutive-failure count.
	_ = call(b, false)
	_ = call(b, true)
	_ = call(b, false)
	if s := b.State(); s != limit.Closed {
		t.Fatalf("non-consecutive failures opened the breaker: %v", s)
	}
	_ = call(b, false)
	if s := b.State(); s != limit.Open {
		t.Fatalf("state %v, want open", s)
	}
	clk.Advance(60 * time.Millisecond)
	t1, err1 := b.Allow()
	t2, err2 := b.Allow()
	_, err3 := b.Allow()
	if err1 != nil || err2 != nil {
		t.Fatalf("trial calls refused: %v, %v", err1, err2)
	}
	var oe *limit.OpenError
	if !errors.As(err3, &oe) || oe.State != limit.HalfOpen || oe.Name != "a1" {
		t.Fatalf("third trial = %v, want *OpenError in half_open", err3)
	}
	t1.Done(true)
	if s := b.State(); s != limit.HalfOpen {
		t.Fatalf("after one of two successes: %v, want half_open", s)
	}
	t2.Done(false)
	if s := b.State(); s != limit.Open {
		t.Fatalf("after a trial failure: %v, want open", s)
	}
	// A stale ticket from an earlier state changes nothing.
	t1.Done(false)
	clk.Advance(50 * time.Millisecond)
	_ = call(b, true)
	_ = call(b, true)
	if s := b.State(); s != limit.Closed {
		t.Fatalf("after two trial successes: %v, want closed", s)
	}
}

func TestBreakerDo(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	b, _ := limit.NewBreaker(limit.BreakerOptions{FailureThreshold: 1, Clock: clk})
	if err := b.Do(t.Context(), func(context.Context) error { return errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("Do = %v, want errBoom", err)
	}
	ran := false
	if err := b.Do(t.Context(), func(context.Context) error { ran = true; return nil }); !errors.Is(err, limit.ErrOpen) || ran {
		t.Fatalf("Do on open breaker = %v (ran %v), want ErrOpen without running", err, ran)
	}
	clk.Advance(30 * time.Second)
	func() {
		defer func() { _ = recover() }()
		_ = b.Do(t.Context(), func(context.Context) error { panic("tool panicked") })
	}()
	if s := b.State(); s != limit.Open {
		t.Fatalf("a panicking trial left the breaker %v, want open", s)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Do(ctx, func(context.Context) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with cancelled ctx = %v", err)
	}
}

func TestBreakerOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []limit.BreakerOptions{{FailureThreshold: -1}, {SuccessThreshold: -1}, {ResetTimeout: -1},
		{HalfOpenMaxCalls: -1}, {SuccessThreshold: 3, HalfOpenMaxCalls: 2}} {
		if _, err := limit.NewBreaker(o); !errors.Is(err, limit.ErrInvalidConfig) {
			t.Errorf("NewBreaker(%+v) = %v, want ErrInvalidConfig", o, err)
		}
	}
	for s, want := range map[limit.State]string{limit.Closed: "closed", limit.Open: "open", limit.HalfOpen: "half_open", 9: "unknown"} {
		if s.String() != want {
			t.Errorf("State(%d).String() = %q, want %q", s, s.String(), want)
		}
	}
}

func TestBreakerAllowAllocs(t *testing.T) {
	b, _ := limit.NewBreaker(limit.BreakerOptions{Clock: limittest.NewClock(limittest.Epoch())})
	if n := testing.AllocsPerRun(1000, func() {
		tk, err := b.Allow()
		if err == nil {
			tk.Done(true)
		}
	}); n != 0 {
		t.Fatalf("Allow+Done allocates %v times, want 0", n)
	}
}

func BenchmarkBreaker(b *testing.B) {
	b.ReportAllocs()
	br, _ := limit.NewBreaker(limit.BreakerOptions{Clock: limittest.NewClock(limittest.Epoch())})
	for b.Loop() {
		tk, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		tk.Done(true)
	}
}

func BenchmarkTokenBucketConsume(b *testing.B) {
	b.ReportAllocs()
	tb, _ := limit.NewTokenBucket(limit.BucketConfig{Capacity: 1e12, RefillRate: 1e12})
	for b.Loop() {
		_, _ = tb.Consume(1)
	}
}
