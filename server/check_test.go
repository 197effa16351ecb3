package server

import (
	"testing"
	"time"
)

// TestCheckApprovalFlow: a require_approval check creates one pending
// request (repeats find it), an admin approves, the next check uses the
// approval once, and the one after needs a new approval.
func TestCheckApprovalFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.spawn("a1")
	body := map[string]any{"agent_id": "a1", "action": "send_email", "args": map[string]any{"to": "bob@example.com"}}
	var first CheckResponse
	if code := e.do("POST", "/v1/check", "agent", body, &first); code != 200 {
		t.Fatalf("check: %d", code)
	}
	if first.Allowed || first.Decision != "require_approval" || first.Approval == nil || first.Approval.Status != "pending" {
		t.Fatalf("first check = %+v", first)
	}
	var again CheckResponse
	e.do("POST", "/v1/check", "agent", body, &again)
	if again.Approval == nil || again.Approval.ID != first.Approval.ID {
		t.Fatalf("repeat check made a new request: %+v", again.Approval)
	}
	// The agent cannot approve its own request; an auditor cannot approve.
	if code := e.do("POST", "/v1/approvals/"+first.Approval.ID+"/approve", "agent", nil, nil); code != 403 {
		t.Errorf("agent approves: %d, want 403", code)
	}
	var polled map[string]any
	e.do("GET", "/v1/approvals/"+first.Approval.ID, "agent", nil, &polled)
	if polled["status"] != "pending" {
		t.Fatalf("poll = %v", polled)
	}
	var voted map[string]any
	if code := e.do("POST", "/v1/approvals/"+first.Approval.ID+"/approve", "admin", map[string]any{"comment": "ok"}, &voted); code != 200 {
		t.Fatalf("approve: %d %v", code, voted)
	}
	votes, _ := voted["votes"].([]any)
	if voted["status"] != "approved" || len(votes) != 1 || votes[0].(map[string]any)["approver"] != "admin" {
		t.Fatalf("after approve = %v", voted)
	}
	var used CheckResponse
	e.do("POST", "/v1/check", "agent", map[string]any{"agent_id": "a1", "action": "send_email",
		"args": map[string]any{"to": "bob@example.com"}, "approval_id": first.Approval.ID}, &used)
	if !used.Allowed {
		t.Fatalf("check after approval = %+v", used)
	}
	var next CheckResponse
	e.do("POST", "/v1/check", "agent", body, &next)
	if next.Allowed || next.Approval == nil || next.Approval.ID == first.Approval.ID {
		t.Fatalf("approval was not single-use: %+v", next)
	}
	// Other arguments never match an approval.
	var other CheckResponse
	e.do("POST", "/v1/check", "agent", map[string]any{"agent_id": "a1", "action": "send_email",
		"approval_id": first.Approval.ID, "args": map[string]any{"to": "eve@example.com"}}, &other)
	if other.Allowed {
		t.Fatalf("approval used for other arguments: %+v", other)
	}
	// A second admin vote on a decided request is refused.
	if code := e.do("POST", "/v1/approvals/"+first.Approval.ID+"/deny", "admin2", nil, nil); code != 409 {
		t.Errorf("vote on a decided request: %d, want 409", code)
	}
	// Expiry runs on the broker's clock.
	e.clock.Advance(11 * time.Minute)
	var exp map[string]any
	e.do("GET", "/v1/approvals/"+next.Approval.ID, "admin", nil, &exp)
	if exp["status"] != "expired" {
		t.Errorf("after the timeout: %v", exp["status"])
	}
}

func TestCheckDecisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.spawn("a1")
	tests := []struct {
		name    string
		body    map[string]any
		allowed bool
		rule    string
	}{
		{"default allow", map[string]any{"agent_id": "a1", "action": "echo"}, true, ""},
		{"deny rule", map[string]any{"agent_id": "a1", "action": "rm"}, false, "deny-rm"},
		{"deny by target", map[string]any{"agent_id": "a1", "action": "read", "args": map[string]any{"path": "/secret/k"}}, false, "deny-secrets"},
		{"rate limit 1", map[string]any{"agent_id": "a1", "action": "search"}, true, "limit-search"},
		{"rate limit 2", map[string]any{"agent_id": "a1", "action": "search"}, true, "limit-search"},
		{"rate limit exceeded", map[string]any{"agent_id": "a1", "action": "search"}, false, "limit-search"},
	}
	for _, tt := range tests {
		var cr CheckResponse
		if code := e.do("POST", "/v1/check", "agent", tt.body, &cr); code != 200 {
			t.Fatalf("%s: status %d", tt.name, code)
		}
		if cr.Allowed != tt.allowed || cr.Rule != tt.rule {
			t.Errorf("%s: allowed=%v rule=%q reason=%q, want %v %q", tt.name, cr.Allowed, cr.Rule, cr.Reason, tt.allowed, tt.rule)
		}
	}
	var ae apiErr
	if code := e.do("POST", "/v1/check", "agent", map[string]any{"agent_id": "a1"}, &ae); code != 400 || ae.Error.Details["field"] != "action" {
		t.Errorf("missing action: %d %v", code, ae.Error.Details)
	}
}
