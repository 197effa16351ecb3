package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/kernel"
)

type traceKey struct{}

// TestToolContextCallers: a tool sees the same context whether or not the
// caller's context can be cancelled (the kernel takes a cheaper path when
// it cannot): the caller's values, its timeout, cancellation once the call
// has ended.
func TestToolContextCallers(t *testing.T) {
	t.Parallel()
	callers := []struct {
		name string
		ctx  func(t *testing.T) context.Context
	}{
		{"uncancellable", func(*testing.T) context.Context {
			return context.WithValue(context.Background(), traceKey{}, "trace-1")
		}},
		{"cancellable", func(t *testing.T) context.Context {
			return context.WithValue(t.Context(), traceKey{}, "trace-1")
		}},
	}
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, kernel.Options{Permissive: true})
			e.spawn(t, kernel.AgentSpec{ID: "a"})
			kept := make(chan context.Context, 1)
			mustRegister(t, e.k, kernel.Tool{Name: "peek", Func: func(ctx context.Context, _ json.RawMessage) (any, error) {
				kept <- ctx
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if _, ok := ctx.Deadline(); !ok {
					return nil, errors.New("no deadline")
				}
				return ctx.Value(traceKey{}), nil
			}})
			mustRegister(t, e.k, kernel.Tool{Name: "slow", Timeout: time.Millisecond, Func: func(ctx context.Context, _ json.RawMessage) (any, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}})
			res, err := e.k.Syscall(c.ctx(t), "a", kernel.Exec{Tool: "peek"})
			if err != nil || res.Value != "trace-1" {
				t.Fatalf("peek = %+v, %v, want the caller's value", res, err)
			}
			// A tool that keeps its context sees it cancelled after the call.
			if ctx := <-kept; !errors.Is(ctx.Err(), context.Canceled) {
				t.Errorf("kept context Err = %v, want Canceled", ctx.Err())
			}
			res, err = e.k.Syscall(c.ctx(t), "a", kernel.Exec{Tool: "slow"})
			var te *kernel.ToolError
			if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(res.Error, "no result within 1ms") {
				t.Errorf("slow = %+v, %v, want a ToolError naming the timeout", res, err)
			}
		})
	}
}

// TestSyscallExecAllocs bounds the allocations of a governed EXEC of a
// no-op tool (policy input, audit event and contexts are reused): the
// tool's context, its "{}" argument bytes and at most one boxed counter.
// The audit log's own allocations are excluded by an auditor that counts.
func TestSyscallExecAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race sync.Pool drops items at random, so allocation counts mean nothing")
	}
	log := &countLog{}
	e := newEnv(t, kernel.Options{Policy: tenRules(t), Auditor: log})
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	mustRegister(t, e.k, kernel.Tool{Name: "noop", Func: noop})
	ctx := context.Background()
	req := kernel.Exec{Tool: "noop"}
	n := testing.AllocsPerRun(1000, func() {
		if _, err := e.k.Syscall(ctx, "a", req); err != nil {
			t.Fatal(err)
		}
	})
	if n > 3 {
		t.Errorf("Syscall(EXEC noop) allocates %v times per call, want at most 3", n)
	}
	if log.n.Load() < 1000 {
		t.Errorf("%d events for 1001 syscalls", log.n.Load())
	}
}
