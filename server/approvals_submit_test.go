package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
)

// submitBody is a valid POST /v1/approvals body for agent a1, changed by
// mod.
func submitBody(mod func(m map[string]any)) map[string]any {
	m := map[string]any{"agent_id": "a1", "tool": "write_file", "args_hash": strings.Repeat("0f", 32),
		"rule": "ask-before-writing", "policy": "mcp", "reason": "writes need a person", "source": "mcp:filesystem"}
	if mod != nil {
		mod(m)
	}
	return m
}

func TestSubmitApprovalValidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	tests := []struct {
		name  string
		mod   func(m map[string]any)
		field string
	}{
		{"no agent", func(m map[string]any) { delete(m, "agent_id") }, "agent_id"},
		{"no tool", func(m map[string]any) { m["tool"] = "" }, "tool"},
		{"no source", func(m map[string]any) { delete(m, "source") }, "source"},
		{"control character in source", func(m map[string]any) { m["source"] = "mcp:\x07" }, "source"},
		{"long rule", func(m map[string]any) { m["rule"] = strings.Repeat("r", approval.MaxNameBytes+1) }, "rule"},
		{"short hash", func(m map[string]any) { m["args_hash"] = "abc" }, "args_hash"},
		{"non-hex hash", func(m map[string]any) { m["args_hash"] = strings.Repeat("zz", 32) }, "args_hash"},
		{"long reason", func(m map[string]any) { m["reason"] = strings.Repeat("x", approval.MaxReasonBytes+1) }, "reason"},
		{"negative quorum", func(m map[string]any) { m["quorum"] = -1 }, "quorum"},
		{"huge quorum", func(m map[string]any) { m["quorum"] = approval.MaxOpenQuorum + 1 }, "quorum"},
		{"empty approver", func(m map[string]any) { m["approvers"] = []string{"ops", ""} }, "approvers[1]"},
		{"bad timeout", func(m map[string]any) { m["timeout"] = "soon" }, "timeout"},
		{"zero timeout", func(m map[string]any) { m["timeout"] = "0s" }, "timeout"},
		{"timeout beyond the daemon's maximum", func(m map[string]any) { m["timeout"] = "25h" }, "timeout"},
		{"quorum above the approvers", func(m map[string]any) { m["approvers"] = []string{"ops"}; m["quorum"] = 2 }, "Request.Quorum"},
		{"agent approves itself", func(m map[string]any) { m["approvers"] = []string{"a1"} }, "Request.Approvers[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ae apiErr
			if code := e.do("POST", "/v1/approvals", "admin", submitBody(tt.mod), &ae); code != http.StatusBadRequest {
				t.Fatalf("status %d (%+v), want 400", code, ae)
			}
			if ae.Error.Details["field"] != tt.field {
				t.Errorf("field = %v (%s), want %s", ae.Error.Details["field"], ae.Error.Message, tt.field)
			}
		})
	}
	if code := e.do("POST", "/v1/approvals", "admin", `{"agent_id":"a1","bogus":1}`, nil); code != http.StatusBadRequest {
		t.Errorf("unknown field: %d, want 400", code)
	}
	if code := e.do("GET", "/v1/approvals/X?wait=2m", "admin", nil, nil); code != http.StatusBadRequest {
		t.Errorf("wait beyond the maximum: %d, want 400", code)
	}
}

// TestSubmittedApprovalLifecycle walks a request submitted from outside
// the kernel: submit as the agent, long-poll, approve as admin, consume
// once with the bound tool and hash, and checks who may see what.
func TestSubmittedApprovalLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	var tk approval.Ticket
	if code := e.do("POST", "/v1/approvals", "agent", submitBody(nil), &tk); code != http.StatusCreated {
		t.Fatalf("submit: status %d", code)
	}
	if tk.Status != approval.Pending || tk.Request.Source != "mcp:filesystem" || tk.Request.AgentID != "a1" {
		t.Fatalf("ticket = %+v, want pending from mcp:filesystem", tk)
	}
	if code := e.do("POST", "/v1/approvals", "other", submitBody(nil), nil); code != http.StatusForbidden {
		t.Errorf("agent a2 submits for a1: %d, want 403", code)
	}
	if code := e.do("GET", "/v1/approvals/"+tk.ID, "other", nil, nil); code != http.StatusNotFound {
		t.Errorf("agent a2 reads a1's request: %d, want 404", code)
	}
	// A short long-poll on a pending request answers pending.
	var polled approval.Ticket
	if code := e.do("GET", "/v1/approvals/"+tk.ID+"?wait=50ms", "agent", nil, &polled); code != 200 || polled.Status != approval.Pending {
		t.Fatalf("short poll: %d %s, want 200 pending", code, polled.Status)
	}
	// A long poll wakes on the vote.
	done := make(chan approval.Ticket, 1)
	go func() {
		var got approval.Ticket
		e.do("GET", "/v1/approvals/"+tk.ID+"?wait=30s", "agent", nil, &got)
		done <- got
	}()
	// Voting before the poll starts waiting is fine too: the poll then
	// answers at once.
	consume := map[string]any{"tool": "write_file", "args_hash": strings.Repeat("0F", 32)}
	if code := e.do("POST", "/v1/approvals/"+tk.ID+"/consume", "agent", consume, nil); code != http.StatusConflict {
		t.Errorf("consume before approval: %d, want 409", code)
	}
	if code := e.do("POST", "/v1/approvals/"+tk.ID+"/approve", "agent", nil, nil); code != http.StatusForbidden {
		t.Errorf("agent approves its own request: %d, want 403", code)
	}
	if code := e.do("POST", "/v1/approvals/"+tk.ID+"/approve", "admin", map[string]any{"comment": "ok"}, nil); code != 200 {
		t.Fatalf("approve: %d", code)
	}
	select {
	case got := <-done:
		if got.Status != approval.Approved {
			t.Fatalf("long poll = %s, want approved", got.Status)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("long poll did not wake on the vote")
	}
	for _, c := range []struct {
		name, key string
		body      map[string]any
		want      int
	}{
		{"another agent", "other", consume, http.StatusNotFound},
		{"auditor", "auditor", consume, http.StatusForbidden},
		{"another tool", "agent", map[string]any{"tool": "read_file", "args_hash": consume["args_hash"]}, http.StatusConflict},
		{"other arguments", "agent", map[string]any{"tool": "write_file", "args_hash": strings.Repeat("1f", 32)}, http.StatusConflict},
		{"malformed hash", "agent", map[string]any{"tool": "write_file", "args_hash": "x"}, http.StatusBadRequest},
		{"the bound action", "agent", consume, http.StatusOK},
		{"replay", "agent", consume, http.StatusConflict},
	} {
		var got approval.Ticket
		if code := e.do("POST", "/v1/approvals/"+tk.ID+"/consume", c.key, c.body, &got); code != c.want {
			t.Errorf("consume (%s): %d, want %d", c.name, code, c.want)
		} else if c.want == http.StatusOK && !got.Consumed() {
			t.Errorf("consume (%s): ticket %+v not marked used", c.name, got)
		}
	}
	// Every step is in the audit log, in order.
	var steps []string
	err := e.log.Query(t.Context(), audit.Query{AgentID: "a1", Tool: "write_file", Ascending: true}, func(ev *audit.Event) error {
		if ev.Kind == audit.KindApproval {
			var a struct{ Step string }
			if err := json.Unmarshal(ev.Args, &a); err != nil {
				return err
			}
			steps = append(steps, a.Step)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"submitted", "voted", "consumed"}; !slices.Equal(steps, want) {
		t.Errorf("audited approval steps = %v, want %v", steps, want)
	}
}

func TestSubmittedApprovalCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	var tk approval.Ticket
	if code := e.do("POST", "/v1/approvals", "agent", submitBody(func(m map[string]any) { m["timeout"] = "1m" }), &tk); code != http.StatusCreated {
		t.Fatalf("submit: %d", code)
	}
	if code := e.do("POST", "/v1/approvals/"+tk.ID+"/cancel", "other", nil, nil); code != http.StatusNotFound {
		t.Errorf("agent a2 cancels a1's request: %d, want 404", code)
	}
	var got approval.Ticket
	if code := e.do("POST", "/v1/approvals/"+tk.ID+"/cancel", "agent", map[string]any{"reason": "caller gave up"}, &got); code != 200 ||
		got.Status != approval.Cancelled || !strings.Contains(got.Reason, "caller gave up") {
		t.Fatalf("cancel: %d %+v", code, got)
	}
	if code := e.do("POST", "/v1/approvals/"+tk.ID+"/approve", "admin", nil, nil); code != http.StatusConflict {
		t.Errorf("approve after cancel: %d, want 409", code)
	}
	if code := e.do("POST", "/v1/approvals/"+tk.ID+"/cancel", "agent", nil, nil); code != http.StatusConflict {
		t.Errorf("second cancel: %d, want 409", code)
	}
}

// TestLongPollEndsOnStopWaiting checks that a daemon shutting down does
// not wait out approval long polls: StopWaiting makes a 60 s poll answer
// the request as it stands (pending) at once, and later polls too.
func TestLongPollEndsOnStopWaiting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	var tk approval.Ticket
	if code := e.do("POST", "/v1/approvals", "agent", submitBody(nil), &tk); code != http.StatusCreated {
		t.Fatalf("submit: status %d", code)
	}
	poll := func() <-chan approval.Ticket {
		done := make(chan approval.Ticket, 1)
		go func() {
			var got approval.Ticket
			e.do("GET", "/v1/approvals/"+tk.ID+"?wait=60s", "agent", nil, &got)
			done <- got
		}()
		return done
	}
	first := poll()
	e.s.StopWaiting()
	for i, done := range []<-chan approval.Ticket{first, poll()} {
		select {
		case got := <-done:
			if got.Status != approval.Pending {
				t.Errorf("poll %d answered %q, want pending", i, got.Status)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("poll %d did not end after StopWaiting", i)
		}
	}
}
