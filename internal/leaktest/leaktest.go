package leaktest

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Timeout is how long [Check] waits for the module's goroutines to exit
// after the tests pass before it reports them as leaked.
const Timeout = 5 * time.Second

// modulePrefix marks a goroutine stack that runs this module's code.
const modulePrefix = "github.com/agentos/agentos/"

// checkFrame marks the goroutine running [Check], the test binary's main
// goroutine, which runs the tests and is never a leak.
const checkFrame = modulePrefix + "internal/leaktest.Check("

// Check runs the tests in m and returns the exit code for os.Exit. If the
// tests passed but goroutines running the module's code are still alive
// after [Timeout], it writes their stacks to standard error and returns 1.
// A failed run's code is returned as is, without a leak check.
func Check(m *testing.M) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	if leaked := wait(Timeout); leaked != "" {
		_, _ = os.Stderr.WriteString("leaktest: goroutines still running after the tests:\n\n" + leaked)
		return 1
	}
	return 0
}

// wait polls until no goroutine other than the caller runs the module's
// code, or until timeout has passed, and returns the stacks of those still
// running ("" when there are none).
func wait(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for {
		leaked := moduleGoroutines()
		if leaked == "" || !time.Now().Before(deadline) {
			return leaked
		}
		// Goroutine exit has no notification to wait on; poll with backoff.
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// moduleGoroutines returns the stacks, each followed by a blank line, of
// the goroutines that run the module's code, other than the caller's and
// the one running [Check].
func moduleGoroutines() string {
	var out strings.Builder
	// runtime.Stack lists the calling goroutine first; it is skipped.
	for i, g := range strings.Split(allStacks(), "\n\n") {
		if i > 0 && strings.Contains(g, modulePrefix) && !strings.Contains(g, checkFrame) {
			out.WriteString(g)
			out.WriteString("\n\n")
		}
	}
	return out.String()
}

// allStacks returns the stacks of all goroutines, growing the buffer until
// none is cut off.
func allStacks() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}
