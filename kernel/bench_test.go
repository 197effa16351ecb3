package kernel_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

// windowLog is an in-memory audit log that starts a fresh audit.Memory
// every window events, so a long benchmark does not fill memory. Every
// Append is a real hash-chained append.
type windowLog struct {
	mu     sync.Mutex
	window int
	m      *audit.Memory
}

func newWindowLog(tb testing.TB, window int) *windowLog {
	l := &windowLog{window: window}
	l.reset(tb)
	return l
}

func (l *windowLog) reset(tb testing.TB) {
	m, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: l.window})
	if err != nil {
		tb.Fatal(err)
	}
	l.m = m
}

func (l *windowLog) Append(ctx context.Context, e *audit.Event) error {
	// The check and the append are one step, so that concurrent callers
	// cannot both take the last slot of a window.
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m.Len() >= l.window {
		m, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: l.window})
		if err != nil {
			return err
		}
		l.m = m
	}
	return l.m.Append(ctx, e)
}

// tenRules is a 10-rule policy; none matches the benchmarked tool, so
// every rule indexable by tool is skipped and the default allows.
func tenRules(tb testing.TB) *policy.Set {
	var rules []policy.Rule
	for i := range 8 {
		rules = append(rules, toolRule("deny-"+strconv.Itoa(i), "tool-"+strconv.Itoa(i), policy.ActionDeny))
	}
	rules = append(rules,
		policy.Rule{Name: "big-tokens", Priority: 5, Action: policy.ActionDeny,
			Condition: &policy.Condition{Field: "token_count", Operator: policy.OpGt, Value: int64(100000)}},
		policy.Rule{Name: "no-root", Priority: 5, Action: policy.ActionDeny,
			Condition: &policy.Condition{Field: "args.path", Operator: policy.OpEq, Value: "/"}},
	)
	return compile(tb, policy.ActionAllow, rules...)
}

// countLog only counts events. It is not an audit log: the benchmarks
// use it to measure the kernel's own share of a syscall, apart from the
// fixed cost of the in-memory log's canonical JSON and SHA-256 (which
// BenchmarkAppend in package audit measures).
type countLog struct{ n atomic.Int64 }

func (l *countLog) Append(ctx context.Context, e *audit.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.n.Add(1)
	return nil
}

func benchKernel(b *testing.B, agents int) (*kernel.Kernel, []string) {
	return benchKernelWith(b, agents, newWindowLog(b, 1<<16))
}

func benchKernelWith(b *testing.B, agents int, log kernel.Auditor) (*kernel.Kernel, []string) {
	k, err := kernel.New(kernel.Options{Policy: tenRules(b), Auditor: log, MaxAgents: agents})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = k.Close() })
	ids := make([]string, agents)
	for i := range agents {
		ids[i] = "agent-" + strconv.Itoa(i)
		if _, err := k.Spawn(context.Background(), kernel.AgentSpec{ID: ids[i]}); err != nil {
			b.Fatal(err)
		}
	}
	if err := k.RegisterTool(kernel.Tool{Name: "noop", Func: noop}); err != nil {
		b.Fatal(err)
	}
	return k, ids
}

// BenchmarkSyscallExec is a full EXEC of a no-op tool with a 10-rule
// policy and an in-memory audit log, at 10 and 10,000 agents.
func BenchmarkSyscallExec(b *testing.B) {
	for _, bc := range []struct {
		name   string
		agents int
		args   string
	}{
		{"agents=10", 10, ""},
		{"agents=10000", 10_000, ""},
		{"agents=10/args", 10, `{"query":"select 1","limit":10}`},
		{"agents=10/args-secret", 10, `{"command":"curl -H 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345' https://api.example.com","limit":10}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			k, ids := benchKernel(b, bc.agents)
			ctx := context.Background()
			req := kernel.Exec{Tool: "noop"}
			if bc.args != "" {
				req.Args = json.RawMessage(bc.args)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := k.Syscall(ctx, ids[i%len(ids)], req); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	b.Run("agents=10/parallel", func(b *testing.B) {
		k, ids := benchKernel(b, 10)
		req := kernel.Exec{Tool: "noop"}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := k.Syscall(context.Background(), ids[i%len(ids)], req); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkSyscallExecKernel is BenchmarkSyscallExec with an auditor
// that only counts: the kernel's own share of the call, without the fixed
// cost of the in-memory log's canonical JSON and SHA-256.
func BenchmarkSyscallExecKernel(b *testing.B) {
	for _, agents := range []int{10, 10_000} {
		b.Run("agents="+strconv.Itoa(agents), func(b *testing.B) {
			log := &countLog{}
			k, ids := benchKernelWith(b, agents, log)
			ctx := context.Background()
			req := kernel.Exec{Tool: "noop"}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := k.Syscall(ctx, ids[i%len(ids)], req); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if log.n.Load() < int64(i) {
				b.Fatalf("%d events for %d syscalls", log.n.Load(), i)
			}
		})
	}
}

// BenchmarkSyscallRead is a full READ of a small file.
func BenchmarkSyscallRead(b *testing.B) {
	k, ids := benchKernel(b, 10)
	ctx := context.Background()
	if _, err := k.Syscall(ctx, ids[0], kernel.Write{Path: "/mem/working/f", Data: []byte("hello")}); err != nil {
		b.Fatal(err)
	}
	req := kernel.Read{Path: "/mem/working/f"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Syscall(ctx, ids[0], req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeRequest decodes a reference-style EXEC request.
func BenchmarkDecodeRequest(b *testing.B) {
	args := map[string]any{"tool": "search", "args": map[string]any{"q": "go"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kernel.DecodeRequest("SYS_EXEC", args); err != nil {
			b.Fatal(err)
		}
	}
}
