package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/signals"
)

// Secrets planted in the events tests.
const (
	awsKeyID    = "AKIAIOSFODNN7EXAMPLE"
	githubToken = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
	bearerToken = "abcdefghijklmnop1234"
)

// reasonApprover denies with a reason that quotes a bearer token.
type reasonApprover struct{}

func (reasonApprover) Approve(context.Context, kernel.ApprovalRequest) (bool, string, error) {
	return false, "do not send Authorization: Bearer " + bearerToken, nil
}

// TestAuditRedactsSecretShapes: secret-shaped text under ordinary keys,
// in tool errors, approvers' reasons, unknown agent IDs and tool names,
// signal reasons and agent labels never reaches the audit log; the text
// around it does.
func TestAuditRedactsSecretShapes(t *testing.T) {
	t.Parallel()
	set := compile(t, policy.ActionAllow, toolRule("ask", "ask", policy.ActionRequireApproval))
	e := newEnv(t, kernel.Options{Policy: set, Approver: reasonApprover{}})
	e.spawn(t, kernel.AgentSpec{ID: "a", Ring: kernel.RingDriver, Labels: map[string]string{"ci": "key=" + awsKeyID}})
	e.spawn(t, kernel.AgentSpec{ID: "b"})
	mustRegister(t, e.k, kernel.Tool{Name: "shell", Func: func(context.Context, json.RawMessage) (any, error) {
		return nil, errors.New("push to https://" + githubToken + "@github.com/o/r failed")
	}})
	mustRegister(t, e.k, kernel.Tool{Name: "ask", Func: noop})
	ctx := t.Context()

	tests := []struct {
		name    string
		agent   string
		req     kernel.Request
		signal  bool // send SIGUSR1 to b with a reason instead
		wantIn  []string
		wantOut []string
	}{
		{name: "exec args and tool error", agent: "a", req: kernel.Exec{Tool: "shell", Args: json.RawMessage(
			`{"command":"AWS_ACCESS_KEY_ID=` + awsKeyID + ` aws s3 ls","body":{"env":["K=` + awsKeyID + `"]},"password":"hunter2"}`)},
			wantIn:  []string{"AWS_ACCESS_KEY_ID=[REDACTED] aws s3 ls", `"K=[REDACTED]"`, `"password":"[REDACTED]"`, "push to https://[REDACTED]@github.com/o/r failed"},
			wantOut: []string{awsKeyID, githubToken, "hunter2"}},
		{name: "approver reason", agent: "a", req: kernel.Exec{Tool: "ask", Args: json.RawMessage(`{"q":1}`)},
			wantIn: []string{"Authorization: Bearer [REDACTED]"}, wantOut: []string{bearerToken}},
		{name: "unknown tool", agent: "a", req: kernel.Exec{Tool: githubToken},
			wantIn: []string{`"tool":"[REDACTED]"`}, wantOut: []string{githubToken}},
		{name: "unknown agent", agent: githubToken, req: kernel.GetPolicy{},
			wantIn: []string{`"agent_id":"[REDACTED]"`}, wantOut: []string{githubToken}},
		{name: "checkpolicy target", agent: "a", req: kernel.CheckPolicy{Action: "fetch", Target: "https://" + githubToken + "@github.com"},
			wantIn: []string{"https://[REDACTED]@github.com"}, wantOut: []string{githubToken}},
		{name: "signal reason", signal: true,
			wantIn: []string{"rotate Bearer [REDACTED]"}, wantOut: []string{bearerToken}},
	}
	for _, tt := range tests {
		before := e.log.Len()
		if tt.signal {
			if _, err := e.k.Signal("b", signals.SIGUSR1, "operator", "rotate Bearer "+bearerToken); err != nil {
				t.Fatalf("%s: Signal = %v", tt.name, err)
			}
		} else {
			_, _ = e.k.Syscall(ctx, tt.agent, tt.req)
		}
		events := e.log.Events(uint64(before), uint64(e.log.Len()))
		if len(events) == 0 {
			t.Fatalf("%s: no event", tt.name)
		}
		b, err := json.Marshal(events)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, s := range tt.wantOut {
			if strings.Contains(text, s) {
				t.Errorf("%s: the audit event holds %q: %s", tt.name, s, text)
			}
		}
		for _, s := range tt.wantIn {
			if !strings.Contains(text, s) {
				t.Errorf("%s: the audit event lacks %q: %s", tt.name, s, text)
			}
		}
	}

	// The spawn event of "a" carries its labels, redacted.
	spawn := e.log.Events(0, 1)[0]
	if spawn.Tool != "agent_spawn" || strings.Contains(string(spawn.Args), awsKeyID) ||
		!strings.Contains(string(spawn.Args), `"ci":"key=[REDACTED]"`) {
		t.Errorf("spawn event args = %s, want the label redacted", spawn.Args)
	}
	if err := e.log.Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestAuditRedactsPanicReason: the reason given to Panic is recorded
// redacted.
func TestAuditRedactsPanicReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t, kernel.Options{Permissive: true})
	e.k.Panic("leaked " + awsKeyID)
	n := e.log.Len()
	ev := e.log.Events(uint64(n-1), uint64(n))[0]
	if ev.Kind != audit.KindAgentLifecycle || ev.Decision.Reason != "Kernel panic: leaked [REDACTED]" {
		t.Errorf("panic event = %+v, want the reason redacted", ev)
	}
}
