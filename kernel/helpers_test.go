package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/internal/leaktest"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

// TestMain fails the run if goroutines started by the module's code
// outlive the tests.
func TestMain(m *testing.M) { os.Exit(leaktest.Check(m)) }

func itoa(n int) string { return strconv.Itoa(n) }

// env is a kernel with an in-memory audit log.
type env struct {
	k   *kernel.Kernel
	log *audit.Memory
}

func newEnv(t testing.TB, opts kernel.Options) *env {
	t.Helper()
	if opts.Auditor == nil {
		log, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		opts.Auditor = log
	}
	k, err := kernel.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	e := &env{k: k}
	if m, ok := opts.Auditor.(*audit.Memory); ok {
		e.log = m
	}
	return e
}

func (e *env) spawn(t testing.TB, spec kernel.AgentSpec) *kernel.Agent {
	t.Helper()
	a, err := e.k.Spawn(context.Background(), spec)
	if err != nil {
		t.Fatalf("Spawn(%q) = %v", spec.ID, err)
	}
	return a
}

// compile builds a policy set from rules, with default action def.
func compile(t testing.TB, def policy.Action, rules ...policy.Rule) *policy.Set {
	t.Helper()
	s, err := policy.Compile([]*policy.Document{{
		Version: "1.0", Name: "test", Defaults: policy.Defaults{Action: def}, Rules: rules,
	}}, policy.CompileOptions{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

// toolRule is a rule matching one tool name.
func toolRule(name, tool string, action policy.Action) policy.Rule {
	return policy.Rule{
		Name: name, Priority: 10, Action: action,
		Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpEq, Value: tool},
	}
}

// noop is a tool that does nothing.
func noop(context.Context, json.RawMessage) (any, error) { return nil, nil }

// echoTool returns its arguments.
func echoTool(_ context.Context, args json.RawMessage) (any, error) {
	var v map[string]any
	if err := json.Unmarshal(args, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// mustRegister registers t or fails.
func mustRegister(t testing.TB, k *kernel.Kernel, tl kernel.Tool) {
	t.Helper()
	if err := k.RegisterTool(tl); err != nil {
		t.Fatalf("RegisterTool(%q) = %v", tl.Name, err)
	}
}

// wantCode checks a syscall's result code and, when msg is not empty, its
// message.
func wantCode(t *testing.T, res kernel.Result, err error, code int, msg string) {
	t.Helper()
	if res.Code != code || kernel.CodeOf(err) != code {
		t.Fatalf("code = %d (CodeOf %d, err %v), want %d", res.Code, kernel.CodeOf(err), err, code)
	}
	if (err == nil) != (code == 0) {
		t.Fatalf("err = %v with code %d", err, code)
	}
	if msg != "" && res.Error != msg {
		t.Fatalf("error = %q, want %q", res.Error, msg)
	}
}

// call decodes a reference-style request and runs it.
func call(t *testing.T, k *kernel.Kernel, agent, name string, args map[string]any) (kernel.Result, error) {
	t.Helper()
	req, err := kernel.DecodeRequest(name, args)
	if err != nil {
		return kernel.Result{Code: kernel.CodeOf(err), Error: err.Error()}, err
	}
	return k.Syscall(context.Background(), agent, req)
}

// chanApprover approves or denies according to its channel.
type chanApprover struct {
	reqs    chan kernel.ApprovalRequest
	answers chan bool
}

func (c *chanApprover) Approve(ctx context.Context, req kernel.ApprovalRequest) (bool, string, error) {
	select {
	case c.reqs <- req:
	case <-ctx.Done():
		return false, "", ctx.Err()
	}
	select {
	case ok := <-c.answers:
		if !ok {
			return false, "denied by approver", nil
		}
		return true, "", nil
	case <-ctx.Done():
		return false, "", ctx.Err()
	}
}

// failingApprover fails.
type failingApprover struct{}

func (failingApprover) Approve(context.Context, kernel.ApprovalRequest) (bool, string, error) {
	return false, "", errors.New("broker down")
}
