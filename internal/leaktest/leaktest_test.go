package leaktest

import (
	"os"
	"strings"
	"testing"
	"time"
)

// These tests start and count goroutines of this package, so none of them
// runs in parallel.

func TestMain(m *testing.M) { os.Exit(Check(m)) }

// park starts n goroutines running parked, each blocked until the returned
// release is called, and returns once all have started.
func park(t *testing.T, n int) (release func()) {
	t.Helper()
	stop := make(chan struct{})
	started := make(chan struct{}, n)
	for range n {
		go parked(started, stop)
	}
	for range n {
		<-started
	}
	done := false
	release = func() {
		if !done {
			done = true
			close(stop)
		}
	}
	t.Cleanup(release)
	return release
}

// parked is the goroutine body the tests look for in stacks.
func parked(started chan<- struct{}, stop <-chan struct{}) {
	started <- struct{}{}
	<-stop
}

func TestCallerIsNotALeak(t *testing.T) {
	if got := moduleGoroutines(); got != "" {
		t.Errorf("moduleGoroutines() with no other goroutine = %q, want \"\"", got)
	}
}

func TestWait(t *testing.T) {
	release := park(t, 1)
	if got := wait(0); !strings.Contains(got, "leaktest.parked(") {
		t.Fatalf("wait(0) with a parked goroutine = %q, want its stack", got)
	}
	release()
	// The goroutine exits once released; the timeout only bounds a
	// broken run.
	if got := wait(time.Minute); got != "" {
		t.Errorf("wait after release = %q, want \"\"", got)
	}
}

func TestEveryStackIsReported(t *testing.T) {
	// Enough goroutines that their stacks outgrow the first buffer.
	const n = 500
	release := park(t, n)
	got := moduleGoroutines()
	if c := strings.Count(got, "leaktest.parked("); c != n {
		t.Errorf("moduleGoroutines() reports %d parked goroutines, want %d", c, n)
	}
	if len(got) <= 1<<16 {
		t.Errorf("stacks of %d goroutines take %d bytes, want more than the first buffer", n, len(got))
	}
	release()
	if got := wait(time.Minute); got != "" {
		t.Errorf("wait after release = %q, want \"\"", got)
	}
}
