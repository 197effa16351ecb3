package approval_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/approval/approvaltest"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/internal/paritytest"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

// kernelApprover is the adapter a daemon writes to plug a Broker into the
// kernel: it proves the broker's API fits kernel.Approver.
type kernelApprover struct{ b *approval.Broker }

var _ kernel.Approver = kernelApprover{}

func (a kernelApprover) Approve(ctx context.Context, req kernel.ApprovalRequest) (bool, string, error) {
	r := approval.Request{AgentID: req.AgentID, Syscall: req.Syscall.String(), Tool: req.Tool,
		ArgsHash: req.ArgsHash, ArgsPreview: req.ArgsPreview, Rule: req.Rule, Policy: req.Policy, Reason: req.Reason}
	if ap := req.Approval; ap != nil {
		r.Approvers, r.Quorum, r.Timeout = ap.Approvers, ap.Quorum, ap.Timeout
	}
	t, err := a.b.Approve(ctx, r)
	if err != nil {
		return false, "", err
	}
	return t.Status == approval.Approved, t.Reason, nil
}

// auditRecorder is the adapter a daemon writes to record approval steps in
// the audit log.
type auditRecorder struct{ log *audit.Memory }

var _ approval.Recorder = auditRecorder{}

func (r auditRecorder) Record(ctx context.Context, e approval.Event) error {
	args, err := json.Marshal(map[string]any{"request_id": e.RequestID, "step": e.Kind, "args_hash": e.ArgsHash,
		"approver": e.Approver, "approve": e.Approve, "approvals": e.Approvals, "quorum": e.Quorum})
	if err != nil {
		return err
	}
	return r.log.Append(ctx, &audit.Event{Kind: audit.KindApproval, AgentID: e.AgentID, Tool: e.Tool, Args: args,
		Decision: audit.Decision{Action: string(policy.ActionRequireApproval), Allowed: e.Status == approval.Approved,
			Rule: e.Rule, Reason: e.Reason, Policy: e.Policy}})
}

// kenv is a real kernel whose require_approval decisions go to a broker.
type kenv struct {
	k     *kernel.Kernel
	b     *approval.Broker
	clock *approvaltest.Clock
	sink  *sink
	log   *audit.Memory
	runs  atomic.Int64
}

func newKernelEnv(t *testing.T, docs []*policy.Document, copts policy.CompileOptions, tools ...string) *kenv {
	t.Helper()
	set, err := policy.Compile(docs, copts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	log, err := audit.NewMemory(audit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := &kenv{clock: approvaltest.NewClock(time.Time{}), sink: newSink(), log: log}
	e.b, err = approval.New(approval.Options{Clock: e.clock, Notifier: e.sink, Recorder: auditRecorder{log}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.b.Close() })
	e.k, err = kernel.New(kernel.Options{Policy: set, Auditor: log, Approver: kernelApprover{e.b}, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.k.Close() })
	for _, name := range tools {
		err := e.k.RegisterTool(kernel.Tool{Name: name, Func: func(context.Context, json.RawMessage) (any, error) {
			e.runs.Add(1)
			return "done", nil
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// exec starts an EXEC in the background and returns its result channel.
func (e *kenv) exec(agent, tool, args string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := e.k.Syscall(context.Background(), agent, kernel.Exec{Tool: tool, Args: json.RawMessage(args)})
		done <- err
	}()
	return done
}

func TestKernelApprovalFlow(t *testing.T) {
	t.Parallel()
	docs := []*policy.Document{{Version: "1.0", Name: "ops", Defaults: policy.Defaults{Action: policy.ActionAllow},
		Rules: []policy.Rule{{Name: "deploys-need-two", Priority: 10, Action: policy.ActionRequireApproval,
			Message: "production deploys need two approvers", Approvers: []string{"alice", "bob", "carol"}, Quorum: 2, Timeout: time.Minute,
			Condition: &policy.Condition{Field: "tool_name", Operator: policy.OpEq, Value: "deploy"}}}}}
	e := newKernelEnv(t, docs, policy.CompileOptions{}, "deploy")
	if _, err := e.k.Spawn(t.Context(), kernel.AgentSpec{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	args := `{"env":"prod","version":"1.2.3","token":"s3cr3t-t0ken"}`

	t.Run("approved by quorum", func(t *testing.T) {
		done := e.exec("a", "deploy", args)
		ev := e.sink.next(t, approval.EventSubmitted)
		if string(ev.ArgsPreview) != `{"env":"prod","token":"[REDACTED]","version":"1.2.3"}` {
			t.Errorf("submitted event preview = %s, want the redacted arguments", ev.ArgsPreview)
		}
		if ev.AgentID != "a" || ev.Tool != "deploy" || ev.ArgsHash != hash(args) || ev.Rule != "deploys-need-two" ||
			ev.Policy != "ops" || ev.Syscall != "SYS_EXEC" || ev.Quorum != 2 || !ev.ExpiresAt.Equal(e.clock.Now().Add(time.Minute)) {
			t.Fatalf("submitted event = %+v", ev)
		}
		// The agent cannot approve itself, nor can an unlisted approver.
		if _, err := e.b.Decide(ctx, ev.RequestID, vote("a", true)); !errors.Is(err, approval.ErrSelfApproval) {
			t.Errorf("self vote = %v", err)
		}
		if _, err := e.b.Decide(ctx, ev.RequestID, vote("mallory", true)); !errors.Is(err, approval.ErrNotEligible) {
			t.Errorf("unlisted vote = %v", err)
		}
		if _, err := e.b.Decide(ctx, ev.RequestID, vote("alice", true)); err != nil {
			t.Fatal(err)
		}
		if e.runs.Load() != 0 {
			t.Fatal("tool ran before the quorum")
		}
		if _, err := e.b.Decide(ctx, ev.RequestID, vote("carol", true)); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("approved EXEC = %v", err)
		}
		if e.runs.Load() != 1 {
			t.Fatalf("tool ran %d times, want 1", e.runs.Load())
		}
		if got, _ := e.b.Get(ev.RequestID); !got.Consumed() {
			t.Errorf("approval not used by the waiting call: %+v", got)
		}
	})
	t.Run("denied", func(t *testing.T) {
		done := e.exec("a", "deploy", args)
		ev := e.sink.next(t, approval.EventSubmitted)
		if _, err := e.b.Decide(ctx, ev.RequestID, approval.Vote{Approver: "bob", Comment: "freeze week"}); err != nil {
			t.Fatal(err)
		}
		err := <-done
		var pe *kernel.PolicyError
		if !errors.Is(err, kernel.ErrApproval) || !errors.As(err, &pe) || pe.Rule != "deploys-need-two" ||
			pe.Reason != `approval required: denied by "bob": freeze week` || kernel.CodeOf(err) != kernel.CodePolicy {
			t.Fatalf("denied EXEC = %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		done := e.exec("a", "deploy", args)
		ev := e.sink.next(t, approval.EventSubmitted)
		if _, err := e.b.Decide(ctx, ev.RequestID, vote("alice", true)); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		err := <-done
		if !errors.Is(err, kernel.ErrApproval) || !strings.Contains(err.Error(), "approval required: expired: no decision within 1m0s (1 of 2 approvals)") {
			t.Fatalf("expired EXEC = %v", err)
		}
	})
	t.Run("a pre-approval binds to agent, tool and arguments, once", func(t *testing.T) {
		pre, err := e.b.Submit(ctx, approval.Request{AgentID: "a", Tool: "deploy", ArgsHash: hash(args), Approvers: []string{"alice", "bob"}, Quorum: 2})
		if err != nil {
			t.Fatal(err)
		}
		e.sink.next(t, approval.EventSubmitted)
		for _, who := range []string{"alice", "bob"} {
			if _, err := e.b.Decide(ctx, pre.ID, vote(who, true)); err != nil {
				t.Fatal(err)
			}
		}
		before := e.runs.Load()
		// Other arguments: a fresh request, which expires.
		done := e.exec("a", "deploy", `{"env":"prod","version":"6.6.6"}`)
		if ev := e.sink.next(t, approval.EventSubmitted); ev.ArgsHash == hash(args) {
			t.Fatal("other arguments matched the pre-approval's hash")
		}
		e.clock.Advance(time.Minute)
		if err := <-done; !errors.Is(err, kernel.ErrApproval) {
			t.Fatalf("EXEC with other arguments = %v, want denied", err)
		}
		// The exact arguments: runs at once on the pre-approval...
		if err := <-e.exec("a", "deploy", args); err != nil {
			t.Fatalf("pre-approved EXEC = %v", err)
		}
		if got, _ := e.b.Get(pre.ID); !got.Consumed() || e.runs.Load() != before+1 {
			t.Fatalf("pre-approval %+v, runs %d", got, e.runs.Load()-before)
		}
		// ...and only once.
		done = e.exec("a", "deploy", args)
		if ev := e.sink.next(t, approval.EventSubmitted); ev.RequestID == pre.ID {
			t.Fatal("the used approval was offered again")
		}
		e.clock.Advance(time.Minute)
		if err := <-done; !errors.Is(err, kernel.ErrApproval) {
			t.Fatalf("replayed EXEC = %v, want denied", err)
		}
	})
	t.Run("every step is in the audit log", func(t *testing.T) {
		if err := e.log.Verify(); err != nil {
			t.Fatal(err)
		}
		steps := map[string]int{}
		for _, ev := range e.log.Events(0, uint64(e.log.Len())) {
			if ev.Kind != audit.KindApproval {
				continue
			}
			var a struct {
				Step     string `json:"step"`
				ArgsHash string `json:"args_hash"`
			}
			if err := json.Unmarshal(ev.Args, &a); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(ev.Args), "prod") {
				t.Errorf("audit event carries argument values: %s", ev.Args)
			}
			steps[a.Step]++
		}
		want := map[string]int{"submitted": 6, "voted": 6, "vote_rejected": 2, "consumed": 2, "expired": 3}
		for k, n := range want {
			if steps[k] != n {
				t.Errorf("audit has %d %q steps, want %d (all: %v)", steps[k], k, n, steps)
			}
		}
	})
}

// TestParitySelfApproval runs the reference vectors where a caller's own
// params.approved satisfied require_approval (deviation "self-approval")
// through a real kernel and broker: in Go the flag means nothing, the
// action waits for people, and with no vote it is denied.
func TestParitySelfApproval(t *testing.T) {
	t.Parallel()
	var file map[string]json.RawMessage
	paritytest.Load(t, "stateless-kernel.json", &file)
	type parityCase struct {
		ID             string                     `json:"id"`
		Action         string                     `json:"action"`
		Params         map[string]any             `json:"params"`
		Policies       []string                   `json:"policies"`
		CustomPolicies map[string]json.RawMessage `json:"custom_policies"`
		DeviationKinds []string                   `json:"deviation_kinds"`
		Deviation      string                     `json:"deviation"`
		GoExpected     *struct {
			Success *bool `json:"success"`
		} `json:"go_expected"`
	}
	ran := 0
	for _, section := range []string{"matrix", "params", "custom", "context"} {
		var cases []parityCase
		if err := json.Unmarshal(file[section], &cases); err != nil {
			t.Fatalf("section %s: %v", section, err)
		}
		n := 0
		for _, c := range cases {
			if len(c.DeviationKinds) != 1 || c.DeviationKinds[0] != "self-approval" {
				continue
			}
			n++
			t.Run("deviation/self-approval/"+c.ID, func(t *testing.T) {
				t.Parallel()
				if c.GoExpected == nil || c.GoExpected.Success == nil || *c.GoExpected.Success {
					t.Fatalf("case %s: go_expected = %+v, want {success: false}", c.ID, c.GoExpected)
				}
				custom := map[string]policy.Named{}
				for name, raw := range c.CustomPolicies {
					var n struct {
						BlockedActions  []string `json:"blocked_actions"`
						BlockedPatterns []string `json:"blocked_patterns"`
						RequireApproval []string `json:"require_approval"`
					}
					if err := json.Unmarshal(raw, &n); err != nil {
						t.Fatal(err)
					}
					custom[name] = policy.Named{BlockedActions: n.BlockedActions, BlockedPatterns: n.BlockedPatterns, RequireApproval: n.RequireApproval}
				}
				docs := []*policy.Document{{Version: "1.0", Name: "parity", Defaults: policy.Defaults{Action: policy.ActionAllow}, Policies: c.Policies}}
				e := newKernelEnv(t, docs, policy.CompileOptions{Builtins: custom}, c.Action)
				if _, err := e.k.Spawn(t.Context(), kernel.AgentSpec{ID: "agent-1"}); err != nil {
					t.Fatal(err)
				}
				args, err := json.Marshal(c.Params)
				if err != nil {
					t.Fatal(err)
				}
				done := e.exec("agent-1", c.Action, string(args))
				ev := e.sink.next(t, approval.EventSubmitted)
				if ev.AgentID != "agent-1" || ev.Tool != c.Action || ev.ArgsHash != hash(string(args)) {
					t.Fatalf("request = %+v, want bound to agent-1, %s and the arguments' hash", ev, c.Action)
				}
				// The caller's flag does not count, and the agent cannot
				// vote for itself either.
				if _, err := e.b.Decide(t.Context(), ev.RequestID, vote("agent-1", true)); !errors.Is(err, approval.ErrSelfApproval) {
					t.Errorf("self vote = %v, want ErrSelfApproval", err)
				}
				e.clock.Advance(approval.DefaultTimeout)
				err = <-done
				if !errors.Is(err, kernel.ErrApproval) || kernel.CodeOf(err) != kernel.CodePolicy {
					t.Fatalf("EXEC %s %s = %v, want an approval denial (go_expected success false)", c.Action, args, err)
				}
				if e.runs.Load() != 0 {
					t.Fatal("the tool ran on a self-approval")
				}
			})
		}
		t.Logf("section %s: %d self-approval cases", section, n)
		ran += n
	}
	if ran != 27 {
		t.Errorf("ran %d self-approval cases, want the 27 the vectors hold", ran)
	}
}

// TestPreviewBound: the kernel's previews (audit.Preview's default
// bound) always fit a Request.
func TestPreviewBound(t *testing.T) {
	t.Parallel()
	if audit.DefaultPreviewBytes != approval.MaxArgsPreviewBytes {
		t.Fatalf("audit.DefaultPreviewBytes = %d, approval.MaxArgsPreviewBytes = %d: want them equal",
			audit.DefaultPreviewBytes, approval.MaxArgsPreviewBytes)
	}
}
