package approvaltest_test

import (
	"slices"
	"testing"
	"time"

	"github.com/agentos/agentos/approval/approvaltest"
)

func TestClock(t *testing.T) {
	t.Parallel()
	c := approvaltest.NewClock(time.Time{})
	if !c.Now().Equal(approvaltest.Epoch()) {
		t.Fatalf("Now = %v, want Epoch", c.Now())
	}
	var fired []string
	c.AfterFunc(3*time.Second, func() { fired = append(fired, "c") })
	c.AfterFunc(time.Second, func() { fired = append(fired, "a") })
	c.AfterFunc(time.Second, func() { fired = append(fired, "b") })
	stopped := c.AfterFunc(2*time.Second, func() { fired = append(fired, "stopped") })
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop = false on a scheduled timer, or true twice")
	}
	if now := c.Advance(time.Second); !now.Equal(approvaltest.Epoch().Add(time.Second)) {
		t.Errorf("Advance returned %v", now)
	}
	if !slices.Equal(fired, []string{"a", "b"}) || c.Timers() != 1 {
		t.Fatalf("after 1s fired %v with %d timers left, want [a b] and 1", fired, c.Timers())
	}
	c.Advance(5 * time.Second)
	if !slices.Equal(fired, []string{"a", "b", "c"}) || c.Timers() != 0 {
		t.Fatalf("fired %v, want [a b c]", fired)
	}
	// A timer can schedule another from its callback without deadlock.
	c.AfterFunc(0, func() { c.AfterFunc(time.Second, func() { fired = append(fired, "d") }) })
	c.Advance(0)
	c.Advance(time.Second)
	if fired[len(fired)-1] != "d" {
		t.Errorf("fired %v, want d last", fired)
	}
}
