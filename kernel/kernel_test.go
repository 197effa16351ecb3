package kernel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/limit/limittest"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/signals"
	"github.com/agentos/agentos/vfs"
)

// TestReferenceVectors replays the reference's kernel vectors (no policy
// engine, hence Permissive) through DecodeRequest and Syscall. Deliberate
// deviations are named subtests below.
func TestReferenceVectors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true})
	e.spawn(t, kernel.AgentSpec{ID: "a1"})
	e.spawn(t, kernel.AgentSpec{ID: "op", Ring: kernel.RingDriver})
	mustRegister(t, e.k, kernel.Tool{Name: "boom", Func: func(context.Context, json.RawMessage) (any, error) {
		var zero int
		return 1 / zero, nil
	}})
	mustRegister(t, e.k, kernel.Tool{
		Name:   "add",
		Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}`),
		Func: func(_ context.Context, raw json.RawMessage) (any, error) {
			var v struct{ A, B int }
			err := json.Unmarshal(raw, &v)
			return v.A + v.B, err
		},
	})
	tests := []struct {
		name    string
		syscall string
		args    map[string]any
		code    int
		msg     string
		value   any
	}{
		{"1 write", "SYS_WRITE", map[string]any{"path": "/mem/working/x.txt", "data": "hello"}, 0, "", 5},
		{"2 read", "SYS_READ", map[string]any{"path": "/mem/working/x.txt"}, 0, "", []byte("hello")},
		{"3 read missing", "SYS_READ", map[string]any{"path": "/mem/working/nope"}, 3, "No such file: /mem/working/nope", nil},
		{"4 read no path", "SYS_READ", map[string]any{}, 1, "No path specified", nil},
		{"5 write policy", "SYS_WRITE", map[string]any{"path": "/policy/p.yaml", "data": "x"}, 3, "", nil},
		{"6 write no mount", "SYS_WRITE", map[string]any{"path": "/foo/p", "data": "x"}, 3, "No mount point for path: /foo/p", nil},
		{"7 fork", "SYS_FORK", map[string]any{}, -3, "Unknown syscall: SYS_FORK", nil},
		{"8 checkpolicy", "SYS_CHECKPOLICY", map[string]any{"action": "x"}, 0, "", nil},
		{"8 checkpolicy no action", "SYS_CHECKPOLICY", map[string]any{}, 1, "No action specified", nil},
		{"9 open", "SYS_OPEN", map[string]any{"path": "/mem/working/x.txt"}, 0, "", 1},
		{"9 open policy for writing", "SYS_OPEN", map[string]any{"path": "/policy/x", "mode": "w"}, 3, "Cannot open for writing: /policy/x", nil},
		{"11 exec no tool", "SYS_EXEC", map[string]any{}, 1, "No tool specified", nil},
		{"11 exec unknown tool", "SYS_EXEC", map[string]any{"tool": "zz"}, -404, "Tool 'zz' not registered in kernel", nil},
		{"12 exec panicking tool", "SYS_EXEC", map[string]any{"tool": "boom"}, -500, "", nil},
		{"12 exec add", "SYS_EXEC", map[string]any{"tool": "add", "args": map[string]any{"a": 1, "b": 2}}, 0, "", 3},
		{"stat", "SYS_STAT", map[string]any{"path": "/mem/working/x.txt"}, 0, "", nil},
		{"getpolicy", "SYS_GETPOLICY", map[string]any{}, 0, "", nil},
	}
	for _, tt := range tests {
		res, err := call(t, e.k, "a1", tt.syscall, tt.args)
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, res, err, tt.code, tt.msg)
			if tt.value != nil {
				got, _ := json.Marshal(res.Value)
				want, _ := json.Marshal(tt.value)
				if !bytes.Equal(got, want) {
					t.Fatalf("value = %s, want %s", got, want)
				}
			}
		})
	}
	if res, err := call(t, e.k, "a1", "SYS_CHECKPOLICY", map[string]any{"action": "x"}); err != nil || res.Value.(map[string]any)["allowed"] != true {
		t.Errorf("CHECKPOLICY permissive = %v, %v; want allowed", res.Value, err)
	}

	// 12, deviation: a missing argument is caught by the tool's schema
	// (code 1 naming the field) rather than by the call raising (-500).
	t.Run("12 deviation: schema names missing field", func(t *testing.T) {
		res, err := call(t, e.k, "a1", "SYS_EXEC", map[string]any{"tool": "add", "args": map[string]any{"a": 1}})
		wantCode(t, res, err, kernel.CodeBadArgs, "")
		if !strings.Contains(res.Error, "'b'") {
			t.Errorf("error %q does not name the missing field b", res.Error)
		}
	})
	// 10, deviation: closing an unknown descriptor is an error (the
	// reference ignored it).
	t.Run("10 deviation: close unknown fd", func(t *testing.T) {
		res, err := call(t, e.k, "a1", "SYS_CLOSE", map[string]any{"fd": 99})
		wantCode(t, res, err, kernel.CodeVFS, "")
	})
	// 13, deviation: an invalid signal number is a bad argument (1), not
	// code 2 (which means "no VFS" everywhere else).
	t.Run("13 deviation: invalid signal is code 1", func(t *testing.T) {
		res, err := e.k.Syscall(t.Context(), "a1", kernel.Signal{Target: "a1", Signal: 99})
		wantCode(t, res, err, kernel.CodeBadArgs, "99 is not a valid AgentSignal")
		res, err = call(t, e.k, "a1", "SYS_SIGNAL", map[string]any{"signal": 99})
		if !errors.Is(err, kernel.ErrBadArgs) || res.Error != "99 is not a valid AgentSignal" {
			t.Errorf("decode signal 99 = %v", err)
		}
	})
	t.Run("13 signal stops a2, 14 SIGKILL terminates it", func(t *testing.T) {
		a2 := e.spawn(t, kernel.AgentSpec{ID: "a2"})
		res, err := call(t, e.k, "op", "SYS_SIGNAL", map[string]any{"target": "ghost", "signal": 1})
		wantCode(t, res, err, kernel.CodeBadArgs, "Target agent not found")
		res, err = call(t, e.k, "op", "SYS_SIGNAL", map[string]any{"target": "a2", "signal": 1})
		wantCode(t, res, err, 0, "")
		if a2.State() != signals.Stopped {
			t.Fatalf("a2 state = %v, want stopped", a2.State())
		}
		res, err = call(t, e.k, "op", "SYS_SIGNAL", map[string]any{"target": "a2", "signal": 4})
		wantCode(t, res, err, 0, "")
		res, err = call(t, e.k, "a2", "SYS_READ", map[string]any{"path": "/mem/working/x.txt"})
		wantCode(t, res, err, kernel.CodeTerminated, "Agent has been terminated")
		if !errors.Is(err, kernel.ErrTerminated) || !errors.Is(err, signals.ErrKilled) {
			t.Errorf("err = %v, want ErrTerminated wrapping signals.ErrKilled", err)
		}
	})
	t.Run("15 exit", func(t *testing.T) {
		e.spawn(t, kernel.AgentSpec{ID: "ex"})
		res, err := call(t, e.k, "ex", "SYS_EXIT", map[string]any{"code": 3})
		wantCode(t, res, err, 0, "")
		if res.Value != 3 {
			t.Fatalf("exit value = %v, want 3", res.Value)
		}
		if e.k.Agent("ex") != nil {
			t.Fatal("agent still in the table after EXIT")
		}
		// Deviation: the reference answered 2 "No VFS for agent"; the
		// agent is gone, so Go answers -1.
		res, err = call(t, e.k, "ex", "SYS_READ", map[string]any{"path": "/x"})
		wantCode(t, res, err, kernel.CodeTerminated, "")
		if !errors.Is(err, kernel.ErrAgentNotFound) {
			t.Errorf("err = %v, want ErrAgentNotFound", err)
		}
	})
	t.Run("16 duplicate spawn", func(t *testing.T) {
		e.spawn(t, kernel.AgentSpec{ID: "d"})
		_, err := e.k.Spawn(t.Context(), kernel.AgentSpec{ID: "d"})
		if !errors.Is(err, kernel.ErrAgentExists) || err.Error() != "Agent d already registered" {
			t.Fatalf("Spawn dup = %v", err)
		}
	})
}

func TestSpawnValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{MaxAgents: 2})
	for _, id := range []string{"", "kernel", "-x", "a b", "a/b", strings.Repeat("a", 129), "é"} {
		if _, err := e.k.Spawn(t.Context(), kernel.AgentSpec{ID: id}); err == nil {
			t.Errorf("Spawn(%q) succeeded", id)
		}
	}
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	e.spawn(t, kernel.AgentSpec{ID: "b"})
	if _, err := e.k.Spawn(t.Context(), kernel.AgentSpec{ID: "c"}); !errors.Is(err, kernel.ErrTooManyAgents) {
		t.Errorf("Spawn over MaxAgents = %v, want ErrTooManyAgents", err)
	}
	if got := len(e.k.List()); got != 2 {
		t.Errorf("List() has %d agents, want 2", got)
	}
	if !e.k.Destroy("a") || e.k.Destroy("a") {
		t.Error("Destroy not idempotent")
	}
	if _, err := kernel.New(kernel.Options{}); err == nil {
		t.Error("New without Auditor succeeded")
	}
}

// TestFailClosed: with no policy and not permissive, only self-scoped
// syscalls are allowed.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{})
	e.spawn(t, kernel.AgentSpec{ID: "a", Ring: kernel.RingKernel})
	e.spawn(t, kernel.AgentSpec{ID: "b"})
	mustRegister(t, e.k, kernel.Tool{Name: "t", Func: noop})
	tests := []struct {
		name string
		req  kernel.Request
		code int
	}{
		{"exec denied", kernel.Exec{Tool: "t"}, kernel.CodePolicy},
		{"signal denied", kernel.Signal{Target: "b", Signal: signals.SIGSTOP}, kernel.CodePolicy},
		{"send denied", kernel.Send{To: "b", Message: json.RawMessage(`1`)}, kernel.CodePolicy},
		{"recv denied", kernel.Recv{}, kernel.CodePolicy},
		{"write allowed", kernel.Write{Path: "/mem/working/f", Data: []byte("x")}, 0},
		{"read allowed", kernel.Read{Path: "/mem/working/f"}, 0},
		{"stat allowed", kernel.Stat{Path: "/mem/working/f"}, 0},
		{"open allowed", kernel.Open{Path: "/mem/working/f"}, 0},
		{"close allowed", kernel.Close{FD: 1}, 0},
		{"checkpolicy allowed", kernel.CheckPolicy{Action: "t"}, 0},
	}
	for _, tt := range tests {
		res, err := e.k.Syscall(t.Context(), "a", tt.req)
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, res, err, tt.code, "")
			if tt.code == kernel.CodePolicy && !errors.Is(err, kernel.ErrNoPolicy) {
				t.Errorf("err = %v, want ErrNoPolicy", err)
			}
		})
	}
	res, _ := e.k.Syscall(t.Context(), "a", kernel.CheckPolicy{Action: "t"})
	if v := res.Value.(map[string]any); v["allowed"] != false || v["reason"] == "" {
		t.Errorf("CHECKPOLICY without policy = %v, want allowed false with a reason", v)
	}
	// An Engine with nothing loaded is no policy too.
	e2 := newEnv(t, kernel.Options{Policy: policy.NewEngine(policy.EngineOptions{})})
	e2.spawn(t, kernel.AgentSpec{ID: "a"})
	if _, err := e2.k.Syscall(t.Context(), "a", kernel.Write{Path: "/mem/working/f", Data: []byte("x")}); err != nil {
		t.Errorf("self-scoped write with empty engine = %v", err)
	}
	if _, err := e2.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "t"}); !errors.Is(err, kernel.ErrNoPolicy) {
		t.Errorf("exec with empty engine = %v, want ErrNoPolicy", err)
	}
}

func TestPolicyDecisions(t *testing.T) {
	t.Parallel()
	clock := limittest.NewClock(limittest.Epoch())
	set := compile(t, policy.ActionAllow,
		policy.Rule{Name: "no-danger", Priority: 10, Action: policy.ActionDeny, Message: "danger is not allowed",
			Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpEq, Value: "danger"}},
		policy.Rule{Name: "stop-it", Priority: 10, Action: policy.ActionDeny, OnViolation: "stop",
			Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpEq, Value: "stopper"}},
		policy.Rule{Name: "kill-it", Priority: 10, Action: policy.ActionBlock, OnViolation: "kill",
			Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpEq, Value: "killer"}},
		policy.Rule{Name: "ask", Priority: 10, Action: policy.ActionRequireApproval,
			Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpEq, Value: "ask"}},
		policy.Rule{Name: "slow", Priority: 10, Action: policy.ActionRateLimit, Limit: "2/minute",
			Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpEq, Value: "limited"}},
		policy.Rule{Name: "no-writes", Priority: 10, Action: policy.ActionDeny,
			Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpEq, Value: "file_write"}},
		policy.Rule{Name: "path-check", Priority: 10, Action: policy.ActionDeny, Message: "secret file",
			Condition: &policy.Condition{Field: "args.path", Operator: policy.OpContains, Value: "secret"}},
	)
	e := newEnv(t, kernel.Options{Policy: set, Clock: clock})
	for _, n := range []string{"danger", "stopper", "killer", "ask", "limited", "fine"} {
		mustRegister(t, e.k, kernel.Tool{Name: n, Func: noop})
	}
	t.Run("deny", func(t *testing.T) {
		e.spawn(t, kernel.AgentSpec{ID: "p1"})
		res, err := e.k.Syscall(t.Context(), "p1", kernel.Exec{Tool: "danger"})
		wantCode(t, res, err, kernel.CodePolicy, "Policy 'SYS_EXEC' blocked: danger is not allowed")
		var pe *kernel.PolicyError
		if !errors.As(err, &pe) || pe.Rule != "no-danger" || pe.Policy != "test" {
			t.Fatalf("err = %#v, want PolicyError of rule no-danger, policy test", err)
		}
		if res.Decision.Version != set.Version() || res.Decision.Allowed {
			t.Errorf("decision = %+v", res.Decision)
		}
		if st := e.k.Agent("p1").State(); st != signals.Running {
			t.Errorf("plain deny changed agent state to %v", st)
		}
		res, err = e.k.Syscall(t.Context(), "p1", kernel.Write{Path: "/mem/working/f", Data: []byte("x")})
		wantCode(t, res, err, kernel.CodePolicy, "")
		res, err = e.k.Syscall(t.Context(), "p1", kernel.Read{Path: "/mem/working/secret"})
		wantCode(t, res, err, kernel.CodePolicy, "Policy 'SYS_READ' blocked: secret file")
		res, err = e.k.Syscall(t.Context(), "p1", kernel.Exec{Tool: "fine"})
		wantCode(t, res, err, 0, "")
	})
	t.Run("on_violation stop", func(t *testing.T) {
		a := e.spawn(t, kernel.AgentSpec{ID: "p2"})
		res, err := e.k.Syscall(t.Context(), "p2", kernel.Exec{Tool: "stopper"})
		wantCode(t, res, err, kernel.CodePolicy, "")
		if a.State() != signals.Stopped {
			t.Fatalf("state = %v, want stopped", a.State())
		}
	})
	t.Run("on_violation kill", func(t *testing.T) {
		a := e.spawn(t, kernel.AgentSpec{ID: "p3"})
		res, err := e.k.Syscall(t.Context(), "p3", kernel.Exec{Tool: "killer"})
		wantCode(t, res, err, kernel.CodePolicy, "")
		if a.State() != signals.Terminated {
			t.Fatalf("state = %v, want terminated", a.State())
		}
		res, err = e.k.Syscall(t.Context(), "p3", kernel.Exec{Tool: "fine"})
		wantCode(t, res, err, kernel.CodeTerminated, "")
	})
	t.Run("require_approval without broker", func(t *testing.T) {
		e.spawn(t, kernel.AgentSpec{ID: "p4"})
		res, err := e.k.Syscall(t.Context(), "p4", kernel.Exec{Tool: "ask"})
		wantCode(t, res, err, kernel.CodePolicy, "Policy 'SYS_EXEC' blocked: approval required: no approval broker configured")
		if !errors.Is(err, kernel.ErrApproval) {
			t.Errorf("err = %v, want ErrApproval", err)
		}
	})
	t.Run("rate_limit", func(t *testing.T) {
		e.spawn(t, kernel.AgentSpec{ID: "p5"})
		for i := range 2 {
			res, err := e.k.Syscall(t.Context(), "p5", kernel.Exec{Tool: "limited"})
			wantCode(t, res, err, 0, "")
			_ = i
		}
		res, err := e.k.Syscall(t.Context(), "p5", kernel.Exec{Tool: "limited"})
		wantCode(t, res, err, kernel.CodePolicy, "")
		if !errors.Is(err, kernel.ErrRateLimited) || !strings.Contains(res.Error, "resets in") {
			t.Fatalf("err = %v, want ErrRateLimited with reset time", err)
		}
		clock.Advance(time.Minute)
		res, err = e.k.Syscall(t.Context(), "p5", kernel.Exec{Tool: "limited"})
		wantCode(t, res, err, 0, "")
		// Another agent has its own allowance.
		e.spawn(t, kernel.AgentSpec{ID: "p6"})
		res, err = e.k.Syscall(t.Context(), "p6", kernel.Exec{Tool: "limited"})
		wantCode(t, res, err, 0, "")
	})
	t.Run("checkpolicy dry run", func(t *testing.T) {
		e.spawn(t, kernel.AgentSpec{ID: "p7"})
		res, err := e.k.Syscall(t.Context(), "p7", kernel.CheckPolicy{Action: "danger"})
		wantCode(t, res, err, 0, "")
		v := res.Value.(map[string]any)
		if v["allowed"] != false || v["reason"] != "danger is not allowed" || v["rule"] != "no-danger" {
			t.Errorf("CHECKPOLICY danger = %v", v)
		}
		res, _ = e.k.Syscall(t.Context(), "p7", kernel.CheckPolicy{Action: "read_file", Args: map[string]any{"path": "/x/secret"}})
		if v := res.Value.(map[string]any); v["allowed"] != false {
			t.Errorf("CHECKPOLICY args.path secret = %v, want denied", v)
		}
		res, _ = e.k.Syscall(t.Context(), "p7", kernel.CheckPolicy{Action: "killer"})
		if e.k.Agent("p7").State() != signals.Running {
			t.Error("CHECKPOLICY applied on_violation")
		}
		res, _ = e.k.Syscall(t.Context(), "p7", kernel.GetPolicy{})
		if v := res.Value.(map[string]any); v["version"] != set.Version() || v["configured"] != true {
			t.Errorf("GETPOLICY = %v", v)
		}
	})
}

func TestApproval(t *testing.T) {
	t.Parallel()
	set := compile(t, policy.ActionAllow, toolRule("ask", "ask", policy.ActionRequireApproval))
	ap := &chanApprover{reqs: make(chan kernel.ApprovalRequest), answers: make(chan bool)}
	e := newEnv(t, kernel.Options{Policy: set, Approver: ap})
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	ran := make(chan struct{}, 2)
	mustRegister(t, e.k, kernel.Tool{Name: "ask", Func: func(context.Context, json.RawMessage) (any, error) {
		ran <- struct{}{}
		return "done", nil
	}})
	for _, approve := range []bool{true, false} {
		done := make(chan error, 1)
		go func() {
			_, err := e.k.Syscall(context.Background(), "a", kernel.Exec{Tool: "ask", Args: json.RawMessage(`{"x":1,"password":"hunter2"}`)})
			done <- err
		}()
		req := <-ap.reqs
		if req.AgentID != "a" || req.Tool != "ask" || req.Rule != "ask" || len(req.ArgsHash) != 64 {
			t.Errorf("approval request = %+v", req)
		}
		// Approvers see the arguments, redacted; the hash binds them.
		if string(req.ArgsPreview) != `{"password":"[REDACTED]","x":1}` {
			t.Errorf("approval request preview = %s, want the redacted arguments", req.ArgsPreview)
		}
		ap.answers <- approve
		err := <-done
		if approve && err != nil {
			t.Errorf("approved call = %v", err)
		}
		if !approve && (!errors.Is(err, kernel.ErrApproval) || !strings.Contains(err.Error(), "denied by approver")) {
			t.Errorf("denied call = %v", err)
		}
	}
	if len(ran) != 1 {
		t.Errorf("tool ran %d times, want 1", len(ran))
	}
	e2 := newEnv(t, kernel.Options{Policy: set, Approver: failingApprover{}})
	e2.spawn(t, kernel.AgentSpec{ID: "a"})
	if _, err := e2.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "ask"}); !errors.Is(err, kernel.ErrApproval) {
		t.Errorf("failing broker = %v, want ErrApproval", err)
	}
}

func TestToolRegistry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true, DefaultToolTimeout: time.Millisecond})
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	bad := []struct {
		name string
		tool kernel.Tool
		want string
	}{
		{"empty name", kernel.Tool{Func: noop}, "name must be"},
		{"bad name", kernel.Tool{Name: "a b", Func: noop}, "name must be"},
		{"nil func", kernel.Tool{Name: "x"}, "Func is nil"},
		{"not json", kernel.Tool{Name: "x", Func: noop, Schema: json.RawMessage(`{`)}, "not JSON"},
		{"bad schema", kernel.Tool{Name: "x", Func: noop, Schema: json.RawMessage(`{"type":"nope"}`)}, "invalid schema"},
		{"remote ref", kernel.Tool{Name: "x", Func: noop, Schema: json.RawMessage(`{"$ref":"http://example.com/s.json"}`)}, "invalid schema"},
		{"negative timeout", kernel.Tool{Name: "x", Func: noop, Timeout: -1}, "negative"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := e.k.RegisterTool(tt.tool)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("RegisterTool = %v, want error containing %q", err, tt.want)
			}
		})
	}
	schema := json.RawMessage(`{"type":"object","properties":{"q":{"type":"string","maxLength":5}},"required":["q"],"additionalProperties":false}`)
	mustRegister(t, e.k, kernel.Tool{Name: "search", Description: "finds", Schema: schema, Func: echoTool})
	if err := e.k.RegisterTool(kernel.Tool{Name: "search", Func: noop}); !errors.Is(err, kernel.ErrToolExists) {
		t.Errorf("duplicate = %v", err)
	}
	mustRegister(t, e.k, kernel.Tool{Name: "panics", Func: func(context.Context, json.RawMessage) (any, error) { panic("oops") }})
	mustRegister(t, e.k, kernel.Tool{Name: "fails", Func: func(context.Context, json.RawMessage) (any, error) { return nil, errors.New("no luck") }})
	mustRegister(t, e.k, kernel.Tool{Name: "slow", Func: func(ctx context.Context, _ json.RawMessage) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	calls := []struct {
		name string
		req  kernel.Exec
		code int
		msg  string
	}{
		{"valid", kernel.Exec{Tool: "search", Args: json.RawMessage(`{"q":"go"}`)}, 0, ""},
		{"missing field", kernel.Exec{Tool: "search"}, 1, "'q'"},
		{"wrong type", kernel.Exec{Tool: "search", Args: json.RawMessage(`{"q":1}`)}, 1, "/q"},
		{"too long", kernel.Exec{Tool: "search", Args: json.RawMessage(`{"q":"abcdefg"}`)}, 1, "/q"},
		{"extra field", kernel.Exec{Tool: "search", Args: json.RawMessage(`{"q":"a","z":1}`)}, 1, "z"},
		{"not an object", kernel.Exec{Tool: "search", Args: json.RawMessage(`[1]`)}, 1, "object"},
		{"bad json", kernel.Exec{Tool: "search", Args: json.RawMessage(`{"q":`)}, 1, "not valid JSON"},
		{"trailing data", kernel.Exec{Tool: "search", Args: json.RawMessage(`{"q":"a"} x`)}, 1, "trailing"},
		{"panic", kernel.Exec{Tool: "panics"}, -500, "panicked: oops"},
		{"error", kernel.Exec{Tool: "fails"}, -500, "no luck"},
		{"timeout", kernel.Exec{Tool: "slow"}, -500, "timed out"},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.k.Syscall(t.Context(), "a", tt.req)
			wantCode(t, res, err, tt.code, "")
			if !strings.Contains(res.Error, tt.msg) {
				t.Errorf("error = %q, want it to contain %q", res.Error, tt.msg)
			}
		})
	}
	var te *kernel.ToolError
	_, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "slow"})
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout err = %v, want ToolError wrapping DeadlineExceeded", err)
	}
	if got := e.k.Tools(); len(got) != 4 || got[0].Name != "fails" || got[3].Name != "slow" {
		t.Errorf("Tools() = %v", got)
	}
	if !e.k.UnregisterTool("search") || e.k.UnregisterTool("search") {
		t.Error("UnregisterTool not reporting existence")
	}
	res, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "search", Args: json.RawMessage(`{"q":"go"}`)})
	wantCode(t, res, err, kernel.CodeToolNotFound, "")
}

// TestKillCancelsRunningTool: SIGKILL during a long-running tool cancels
// its context and the syscall reports the termination.
func TestKillCancelsRunningTool(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true})
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	started := make(chan struct{})
	mustRegister(t, e.k, kernel.Tool{Name: "long", Timeout: time.Hour, Func: func(ctx context.Context, _ json.RawMessage) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	done := make(chan error, 1)
	go func() {
		_, err := e.k.Syscall(context.Background(), "a", kernel.Exec{Tool: "long"})
		done <- err
	}()
	<-started
	if _, err := e.k.Signal("a", signals.SIGKILL, "operator", "stop now"); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if kernel.CodeOf(err) != kernel.CodeTerminated || !errors.Is(err, signals.ErrKilled) {
		t.Fatalf("err = %v, want -1 wrapping ErrKilled", err)
	}
}

// TestStoppedAgentWaits: a stopped agent's syscall blocks until SIGCONT.
func TestStoppedAgentWaits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true})
	a := e.spawn(t, kernel.AgentSpec{ID: "a"})
	if _, err := e.k.Signal("a", signals.SIGSTOP, "operator", "inspect"); err != nil {
		t.Fatal(err)
	}
	before := e.k.Metrics().Syscalls
	done := make(chan error, 1)
	go func() {
		_, err := e.k.Syscall(context.Background(), "a", kernel.Write{Path: "/mem/working/f", Data: []byte("x")})
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for e.k.Metrics().Syscalls == before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // waiting for the goroutine to enter Syscall
	}
	select {
	case err := <-done:
		t.Fatalf("stopped agent's syscall returned %v before SIGCONT", err)
	default:
	}
	if a.Usage().Syscalls != 0 {
		t.Fatal("stopped agent's syscall passed the state gate")
	}
	if _, err := e.k.Signal("a", signals.SIGCONT, "operator", "resume"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("after SIGCONT: %v", err)
	}
	// A caller that gives up while the agent is stopped gets ctx's error.
	if _, err := e.k.Signal("a", signals.SIGSTOP, "operator", "again"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := e.k.Syscall(ctx, "a", kernel.Read{Path: "/mem/working/f"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait = %v, want context.Canceled", err)
	}
}

func TestRings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true})
	e.spawn(t, kernel.AgentSpec{ID: "user"})
	e.spawn(t, kernel.AgentSpec{ID: "svc", Ring: kernel.RingService})
	e.spawn(t, kernel.AgentSpec{ID: "drv", Ring: kernel.RingDriver})
	e.spawn(t, kernel.AgentSpec{ID: "victim"})
	for _, id := range []string{"user", "svc"} {
		res, err := e.k.Syscall(t.Context(), id, kernel.Signal{Target: "victim", Signal: signals.SIGKILL})
		wantCode(t, res, err, kernel.CodePolicy, "")
		if !errors.Is(err, kernel.ErrPermission) {
			t.Errorf("%s signalling another agent = %v, want ErrPermission", id, err)
		}
		res, err = e.k.Syscall(t.Context(), id, kernel.Write{Path: "/policy/p.yaml", Data: []byte("x")})
		wantCode(t, res, err, kernel.CodeVFS, "Mount point is read-only: /policy")
		res, err = e.k.Syscall(t.Context(), id, kernel.SigProcMask{Block: []signals.Signal{signals.SIGSTOP}})
		if !errors.Is(err, kernel.ErrPermission) {
			t.Errorf("%s blocking SIGSTOP = %v, want ErrPermission", id, err)
		}
	}
	if e.k.Agent("victim").State() != signals.Running {
		t.Fatal("victim was signalled by an unprivileged agent")
	}
	// A user agent may signal itself and block notification signals.
	res, err := e.k.Syscall(t.Context(), "user", kernel.SigProcMask{Block: []signals.Signal{signals.SIGUSR1}})
	wantCode(t, res, err, 0, "")
	res, err = e.k.Syscall(t.Context(), "user", kernel.Signal{Signal: signals.SIGUSR1})
	wantCode(t, res, err, 0, "")
	if info := res.Value.(signals.Info); info.Outcome != signals.Queued {
		t.Errorf("blocked SIGUSR1 outcome = %v, want queued", info.Outcome)
	}
	res, err = e.k.Syscall(t.Context(), "drv", kernel.Write{Path: "/policy/p.yaml", Data: []byte("rules: []")})
	wantCode(t, res, err, 0, "")
	res, err = e.k.Syscall(t.Context(), "drv", kernel.Read{Path: "/policy/p.yaml"})
	wantCode(t, res, err, 0, "")
	res, err = e.k.Syscall(t.Context(), "drv", kernel.Signal{Target: "victim", Signal: signals.SIGSTOP, Reason: "check"})
	wantCode(t, res, err, 0, "")
	if e.k.Agent("victim").State() != signals.Stopped {
		t.Fatal("ring 1 could not stop another agent")
	}
	if r, _ := kernel.RingOf(3); r != kernel.RingUser || kernel.RingKernel.Level() != 0 {
		t.Error("ring numbering")
	}
}

// TestAuditFailureDenies: an event that cannot be appended fails the
// syscall closed and degrades the kernel.
func TestAuditFailureDenies(t *testing.T) {
	t.Parallel()
	log, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: 3})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, kernel.Options{Permissive: true, Auditor: log})
	e.spawn(t, kernel.AgentSpec{ID: "a"}) // event 1
	runs := 0
	mustRegister(t, e.k, kernel.Tool{Name: "effect", Func: func(context.Context, json.RawMessage) (any, error) {
		runs++
		return "secret result", nil
	}})
	if _, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "effect"}); err != nil { // event 2
		t.Fatal(err)
	}
	if _, err := e.k.Syscall(t.Context(), "a", kernel.Read{Path: "/mem/working/none"}); kernel.CodeOf(err) != kernel.CodeVFS { // event 3
		t.Fatal(err)
	}
	res, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "effect"})
	var ae *kernel.AuditError
	if !errors.As(err, &ae) || !ae.Executed || !errors.Is(err, audit.ErrFull) || res.Code != kernel.CodePolicy || res.Value != nil {
		t.Fatalf("unaudited exec = %+v, %v; want AuditError{Executed}, value withheld", res, err)
	}
	if runs != 2 || e.k.State() != kernel.Degraded {
		t.Fatalf("runs = %d, state = %v; want 2, DEGRADED", runs, e.k.State())
	}
	// Degraded: side-effecting syscalls are denied before they run.
	_, err = e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "effect"})
	if runs != 2 || kernel.CodeOf(err) != kernel.CodePolicy {
		t.Fatalf("degraded exec ran (runs %d) or err %v", runs, err)
	}
	m := e.k.Metrics()
	if m.AuditFailures != 2 || m.PolicyViolations != 0 {
		t.Errorf("metrics = %+v", m)
	}
}

// TestAuditFailOpen: with AuditFailOpen an unrecorded syscall keeps its
// result and the kernel stays RUNNING; the failure is still counted.
func TestAuditFailOpen(t *testing.T) {
	t.Parallel()
	log, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: 2})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, kernel.Options{Permissive: true, Auditor: log, AuditFailOpen: true})
	e.spawn(t, kernel.AgentSpec{ID: "a"}) // event 1
	mustRegister(t, e.k, kernel.Tool{Name: "t", Func: echoTool})
	if _, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "t"}); err != nil { // event 2
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the log is full: unrecorded, but the results stand
		res, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "t", Args: json.RawMessage(`{"x":1}`)})
		if err != nil || res.Code != 0 || res.Value == nil {
			t.Fatalf("fail-open exec %d = %+v, %v; want success", i, res, err)
		}
	}
	if st := e.k.State(); st != kernel.Running {
		t.Errorf("state = %v, want RUNNING", st)
	}
	if m := e.k.Metrics(); m.AuditFailures != 2 {
		t.Errorf("audit failures = %d, want 2", m.AuditFailures)
	}
}

// TestCheckPolicyEventRecordsTheAnswer: the audit event of a CHECKPOLICY
// carries the decision about the checked action, so a denied check is a
// denial in the log.
func TestCheckPolicyEventRecordsTheAnswer(t *testing.T) {
	t.Parallel()
	set := compile(t, policy.ActionAllow, toolRule("no", "denied", policy.ActionDeny))
	e := newEnv(t, kernel.Options{Policy: set})
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	for _, tt := range []struct {
		action      string
		wantAllowed bool
		wantRule    string
	}{
		{"denied", false, "no"},
		{"fine", true, ""},
	} {
		before := e.log.Len()
		res, err := e.k.Syscall(t.Context(), "a", kernel.CheckPolicy{Action: tt.action})
		if err != nil || res.Code != 0 {
			t.Fatalf("CHECKPOLICY %s: %+v, %v", tt.action, res, err)
		}
		if got := res.Value.(map[string]any)["allowed"]; got != tt.wantAllowed {
			t.Errorf("CHECKPOLICY %s: allowed = %v, want %v", tt.action, got, tt.wantAllowed)
		}
		ev := e.log.Events(uint64(before), uint64(before+1))[0]
		if ev.Decision.Allowed != tt.wantAllowed || ev.Decision.Rule != tt.wantRule {
			t.Errorf("CHECKPOLICY %s: event decision %+v; want allowed=%v rule=%q",
				tt.action, ev.Decision, tt.wantAllowed, tt.wantRule)
		}
		if !res.Decision.Allowed {
			t.Errorf("CHECKPOLICY %s: the syscall's own decision %+v should allow the check", tt.action, res.Decision)
		}
	}
}

// TestOneEventPerSyscall: every syscall, whatever its outcome, appends
// exactly one event.
func TestOneEventPerSyscall(t *testing.T) {
	t.Parallel()
	set := compile(t, policy.ActionAllow, toolRule("no", "denied", policy.ActionDeny))
	e := newEnv(t, kernel.Options{Policy: set})
	e.spawn(t, kernel.AgentSpec{ID: "a", Ring: kernel.RingDriver})
	e.spawn(t, kernel.AgentSpec{ID: "b"})
	mustRegister(t, e.k, kernel.Tool{Name: "t", Func: echoTool})
	mustRegister(t, e.k, kernel.Tool{Name: "denied", Func: noop})
	reqs := []kernel.Request{
		kernel.Exec{Tool: "t", Args: json.RawMessage(`{"password":"hunter2","nested":{"api_key":"k"},"q":1}`)},
		kernel.Exec{Tool: "denied"}, kernel.Exec{Tool: "missing"}, kernel.Exec{},
		kernel.Write{Path: "/mem/working/f", Data: []byte("x")}, kernel.Read{Path: "/mem/working/f"},
		kernel.Read{}, kernel.Open{Path: "/mem/working/f"}, kernel.Close{FD: 1}, kernel.Close{FD: 1},
		kernel.Stat{Path: "/mem/working/f"}, kernel.Signal{Target: "b", Signal: signals.SIGUSR1},
		kernel.CheckPolicy{Action: "denied"}, kernel.GetPolicy{}, kernel.Send{To: "b", Message: json.RawMessage(`"hi"`)},
		kernel.Recv{}, kernel.SigProcMask{Block: []signals.Signal{signals.SIGUSR2}},
		kernel.Unimplemented{Sys: kernel.SysFork}, kernel.Unimplemented{Sys: kernel.SysMmap}, nil,
	}
	for _, req := range reqs {
		before := e.log.Len()
		res, _ := e.k.Syscall(t.Context(), "a", req)
		if got := e.log.Len() - before; got != 1 {
			t.Errorf("%T: %d events, want 1", req, got)
		}
		ev := e.log.Events(uint64(before), uint64(before+1))[0]
		if ev.Outcome.Code != res.Code || ev.AgentID != "a" {
			t.Errorf("%T: event %+v does not match result %+v", req, ev, res)
		}
	}
	// Unknown agent and exited agent still get an event.
	for _, id := range []string{"ghost", "b"} {
		before := e.log.Len()
		_, _ = e.k.Syscall(t.Context(), id, kernel.Exit{})
		if e.log.Len()-before != 1 {
			t.Errorf("agent %s: %d events, want 1", id, e.log.Len()-before)
		}
	}
	if err := e.log.Verify(); err != nil {
		t.Fatal(err)
	}
	first := e.log.Events(0, uint64(e.log.Len()))
	var found bool
	for _, ev := range first {
		if ev.Tool == "t" && ev.Kind == audit.KindToolCall {
			found = true
			if bytes.Contains(ev.Args, []byte("hunter2")) || bytes.Contains(ev.Args, []byte(`"k"`)) ||
				!bytes.Contains(ev.Args, []byte(kernel.Redacted)) || !bytes.Contains(ev.Args, []byte(`"q":1`)) {
				t.Errorf("args not redacted: %s", ev.Args)
			}
			if ev.Outcome.ResultHash == "" || strings.Contains(ev.Outcome.ResultSummary, "hunter2") {
				t.Errorf("outcome = %+v", ev.Outcome)
			}
		}
	}
	if !found {
		t.Fatal("no tool_call event for t")
	}
	m := e.k.Metrics()
	if m.PolicyChecks == 0 || m.PolicyViolations != 1 {
		t.Errorf("metrics = %+v, want exactly one violation", m)
	}
}

func TestLargeArgsAreHashed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true, AuditArgsBytes: 64})
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	mustRegister(t, e.k, kernel.Tool{Name: "t", Func: noop})
	big := `{"blob":"` + strings.Repeat("z", 200) + `"}`
	if _, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "t", Args: json.RawMessage(big)}); err != nil {
		t.Fatal(err)
	}
	ev := e.log.Events(uint64(e.log.Len()-1), uint64(e.log.Len()))[0]
	if bytes.Contains(ev.Args, []byte("zzz")) || !bytes.Contains(ev.Args, []byte(`"_truncated":true`)) {
		t.Errorf("large args recorded as %s", ev.Args)
	}
}

func TestKernelStates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true})
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	if e.k.State() != kernel.Running {
		t.Fatalf("state = %v", e.k.State())
	}
	e.k.Panic("disk on fire")
	e.k.Panic("again")
	res, err := e.k.Syscall(t.Context(), "a", kernel.Read{Path: "/mem/working/x"})
	wantCode(t, res, err, kernel.CodeUnavailable, "")
	if !errors.Is(err, kernel.ErrUnavailable) || e.k.Metrics().KernelPanics != 1 || e.k.State().String() != "PANIC" {
		t.Fatalf("after panic: err %v, metrics %+v", err, e.k.Metrics())
	}

	e2 := newEnv(t, kernel.Options{Permissive: true})
	a := e2.spawn(t, kernel.AgentSpec{ID: "a"})
	b := e2.spawn(t, kernel.AgentSpec{ID: "b"})
	if err := e2.k.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a.State() != signals.Terminated || b.State() != signals.Terminated || len(e2.k.List()) != 0 {
		t.Fatalf("after shutdown: %v %v %d agents", a.State(), b.State(), len(e2.k.List()))
	}
	if h := a.Signals().History(); len(h) == 0 || h[0].Signal != signals.SIGTERM {
		t.Errorf("history = %v, want SIGTERM first", h)
	}
	res, err = e2.k.Syscall(t.Context(), "a", kernel.Read{Path: "/x"})
	wantCode(t, res, err, kernel.CodeUnavailable, "")
	if _, err := e2.k.Spawn(t.Context(), kernel.AgentSpec{ID: "c"}); !errors.Is(err, kernel.ErrClosed) {
		t.Errorf("Spawn after shutdown = %v", err)
	}
	if e2.k.Close() != nil || e2.k.Close() != nil {
		t.Error("Close not idempotent")
	}
}

// TestShutdownWaitsForInflight: Shutdown cancels agents and waits for the
// syscalls in flight.
func TestShutdownWaitsForInflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true})
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	started := make(chan struct{})
	mustRegister(t, e.k, kernel.Tool{Name: "long", Timeout: time.Hour, Func: func(ctx context.Context, _ json.RawMessage) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	done := make(chan error, 1)
	go func() {
		_, err := e.k.Syscall(context.Background(), "a", kernel.Exec{Tool: "long"})
		done <- err
	}()
	<-started
	if err := e.k.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if kernel.CodeOf(err) != kernel.CodeTerminated {
			t.Errorf("in-flight call = %v, want -1", err)
		}
	default:
		t.Fatal("Shutdown returned before the in-flight syscall finished")
	}
}

func TestSendRecv(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true, InboxSize: 1})
	e.spawn(t, kernel.AgentSpec{ID: "a"})
	e.spawn(t, kernel.AgentSpec{ID: "b"})
	res, err := e.k.Syscall(t.Context(), "b", kernel.Recv{})
	wantCode(t, res, err, 0, "")
	if res.Value != nil {
		t.Fatalf("empty inbox gave %v", res.Value)
	}
	res, err = e.k.Syscall(t.Context(), "a", kernel.Send{To: "b", Message: json.RawMessage(`{"hi":1}`)})
	wantCode(t, res, err, 0, "")
	res, err = e.k.Syscall(t.Context(), "a", kernel.Send{To: "b", Message: json.RawMessage(`2`)})
	wantCode(t, res, err, kernel.CodeHandler, "")
	if !errors.Is(err, kernel.ErrInboxFull) {
		t.Errorf("full inbox = %v", err)
	}
	for _, bad := range []kernel.Send{{To: "b"}, {Message: json.RawMessage(`1`)}, {To: "b", Message: json.RawMessage(`{`)}, {To: "ghost", Message: json.RawMessage(`1`)}} {
		if _, err := e.k.Syscall(t.Context(), "a", bad); !errors.Is(err, kernel.ErrBadArgs) {
			t.Errorf("Send %+v = %v, want ErrBadArgs", bad, err)
		}
	}
	res, err = e.k.Syscall(t.Context(), "b", kernel.Recv{Timeout: time.Hour})
	wantCode(t, res, err, 0, "")
	if m, ok := res.Value.(kernel.Message); !ok || m.From != "a" || string(m.Data) != `{"hi":1}` {
		t.Fatalf("Recv = %#v", res.Value)
	}
	// A waiting receiver gets a message sent later.
	done := make(chan kernel.Result, 1)
	go func() {
		r, _ := e.k.Syscall(context.Background(), "b", kernel.Recv{Timeout: time.Hour})
		done <- r
	}()
	for {
		if _, err := e.k.Syscall(t.Context(), "a", kernel.Send{To: "b", Message: json.RawMessage(`3`)}); err == nil {
			break
		}
	}
	if r := <-done; r.Value == nil {
		t.Fatalf("waiting Recv = %+v", r)
	}
}

func TestBudgets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true})
	a := e.spawn(t, kernel.AgentSpec{ID: "a", MaxToolCalls: 2, MaxTokens: 100})
	mustRegister(t, e.k, kernel.Tool{Name: "t", Func: noop})
	if _, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "t", Tokens: 60}); err != nil {
		t.Fatal(err)
	}
	res, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "t", Tokens: 60})
	wantCode(t, res, err, kernel.CodePolicy, "")
	if !errors.Is(err, kernel.ErrBudget) || !strings.Contains(res.Error, "token budget") {
		t.Fatalf("token budget = %v", err)
	}
	if _, err := e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "t", Tokens: 40}); err != nil {
		t.Fatal(err)
	}
	res, err = e.k.Syscall(t.Context(), "a", kernel.Exec{Tool: "t"})
	if !errors.Is(err, kernel.ErrBudget) || !strings.Contains(res.Error, "tool call budget") {
		t.Fatalf("tool call budget = %v", err)
	}
	if u := a.Usage(); u.ToolCalls != 2 || u.Tokens != 100 {
		t.Errorf("usage = %+v, want 2 calls, 100 tokens (refused calls not charged)", u)
	}
}

// TestConcurrentAgents drives many agents at once (run with -race).
func TestConcurrentAgents(t *testing.T) {
	t.Parallel()
	set := compile(t, policy.ActionAllow, toolRule("no", "denied", policy.ActionDeny))
	e := newEnv(t, kernel.Options{Policy: set})
	mustRegister(t, e.k, kernel.Tool{Name: "t", Func: echoTool})
	mustRegister(t, e.k, kernel.Tool{Name: "denied", Func: noop})
	const agents, calls = 32, 50
	var wg sync.WaitGroup
	for i := range agents {
		id := "agent-" + itoa(i)
		e.spawn(t, kernel.AgentSpec{ID: id})
		wg.Go(func() {
			for j := range calls {
				var req kernel.Request
				switch j % 4 {
				case 0:
					req = kernel.Exec{Tool: "t", Args: json.RawMessage(`{"n":1}`)}
				case 1:
					req = kernel.Exec{Tool: "denied"}
				case 2:
					req = kernel.Write{Path: "/mem/working/f", Data: []byte(id)}
				default:
					req = kernel.Read{Path: "/mem/working/f"}
				}
				if _, err := e.k.Syscall(context.Background(), id, req); (j%4 == 1) != (err != nil) {
					t.Errorf("%s call %d: %v", id, j, err)
				}
			}
		})
	}
	wg.Wait()
	m := e.k.Metrics()
	if m.Syscalls != agents*calls || m.PolicyViolations != agents*13 {
		t.Errorf("metrics = %+v", m)
	}
	if got := e.log.Len(); got != agents*calls+agents {
		t.Errorf("audit has %d events, want %d", got, agents*calls+agents)
	}
	if err := e.log.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestCodeOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		code int
	}{
		{nil, 0},
		{kernel.ErrTerminated, -1},
		{&kernel.PolicyError{Reason: "x"}, -2},
		{kernel.ErrUnknownSyscall, -3},
		{&kernel.HandlerError{Err: errors.New("x")}, -4},
		{kernel.ErrToolNotFound, -404},
		{&kernel.ToolError{Tool: "t", Err: errors.New("x")}, -500},
		{kernel.ErrBadArgs, 1},
		{kernel.ErrNoVFS, 2},
		{kernel.ErrVFS, 3},
		{&kernel.AuditError{Err: errors.New("x")}, -2},
		{errors.New("plain"), -4},
		{vfs.ErrNotFound, -4},
	}
	for _, tt := range tests {
		if got := kernel.CodeOf(tt.err); got != tt.code {
			t.Errorf("CodeOf(%v) = %d, want %d", tt.err, got, tt.code)
		}
	}
}
