package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestGovernedCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.spawn("a1")

	var ok SyscallResult
	if code := e.do("POST", "/v1/agents/a1/tools/echo", "agent", map[string]any{"args": map[string]any{"q": "hi"}}, &ok); code != 200 {
		t.Fatalf("tool call: status %d", code)
	}
	if ok.Decision.Action != "allow" || !ok.Decision.Allowed || ok.Decision.PolicyVersion == "" {
		t.Errorf("tool call decision = %+v", ok.Decision)
	}
	if got := <-e.echoRun; got != `{"q":"hi"}` {
		t.Errorf("tool ran with %s", got)
	}

	tests := []struct {
		name, path string
		body       any
		status     int
		code, rule string
	}{
		{"policy denial names the rule", "/v1/agents/a1/syscall", map[string]any{"syscall": "SYS_READ", "args": map[string]any{"path": "/secret/x"}}, 403, "policy_denied", "deny-secrets"},
		{"lower-case syscall name", "/v1/agents/a1/syscall", map[string]any{"syscall": "read", "args": map[string]any{"path": "/secret/y"}}, 403, "policy_denied", "deny-secrets"},
		{"unknown tool", "/v1/agents/a1/tools/nope", map[string]any{}, 404, "tool_not_found", ""},
		{"unknown agent", "/v1/agents/ghost/tools/echo", map[string]any{}, 404, "agent_not_found", ""},
		{"unknown syscall", "/v1/agents/a1/syscall", map[string]any{"syscall": "SYS_NOPE"}, 400, "bad_request", ""},
		{"unknown field", "/v1/agents/a1/syscall", map[string]any{"syscall": "read", "argz": 1}, 400, "bad_request", ""},
		{"bad json", "/v1/agents/a1/syscall", "{", 400, "bad_request", ""},
		{"empty body", "/v1/agents/a1/syscall", "", 400, "bad_request", ""},
		{"missing syscall", "/v1/agents/a1/syscall", map[string]any{}, 400, "bad_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae apiErr
			code := e.do("POST", tt.path, "admin", tt.body, &ae)
			if code != tt.status || ae.Error.Code != tt.code {
				t.Fatalf("status %d code %q (%s), want %d %q", code, ae.Error.Code, ae.Error.Message, tt.status, tt.code)
			}
			if tt.rule != "" && ae.Error.Details["rule"] != tt.rule {
				t.Errorf("details = %v, want rule %s", ae.Error.Details, tt.rule)
			}
			if ae.Error.Details["request_id"] == nil {
				t.Errorf("no request_id in %v", ae.Error.Details)
			}
		})
	}

	t.Run("unknown field is named", func(t *testing.T) {
		var ae apiErr
		e.do("POST", "/v1/agents/a1/syscall", "admin", map[string]any{"syscall": "read", "argz": 1}, &ae)
		if ae.Error.Details["field"] != "argz" {
			t.Errorf("details = %v, want field argz", ae.Error.Details)
		}
	})

	t.Run("body limit", func(t *testing.T) {
		var ae apiErr
		big := `{"args":{"x":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}}`
		if code := e.do("POST", "/v1/agents/a1/tools/echo", "admin", big, &ae); code != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d (%s), want 413", code, ae.Error.Code)
		}
	})

	t.Run("kill then refused", func(t *testing.T) {
		e.spawn("victim")
		if code := e.do("POST", "/v1/agents/victim/signal", "admin", map[string]any{"signal": "SIGKILL", "reason": "test"}, nil); code != 200 {
			t.Fatalf("kill: %d", code)
		}
		var ae apiErr
		code := e.do("POST", "/v1/agents/victim/tools/echo", "admin", map[string]any{}, &ae)
		if code != http.StatusGone && code != http.StatusNotFound {
			t.Fatalf("call after kill: %d %s", code, ae.Error.Code)
		}
	})
}

func TestAuditAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.spawn("a1")
	for range 3 {
		e.do("POST", "/v1/agents/a1/tools/echo", "agent", map[string]any{}, nil)
	}
	var page AuditPage
	if code := e.do("GET", "/v1/audit?agent=a1&tool=echo&limit=2", "auditor", nil, &page); code != 200 {
		t.Fatalf("query: %d", code)
	}
	if len(page.Events) != 2 || page.NextCursor == "" || page.Events[0].Seq <= page.Events[1].Seq {
		t.Fatalf("page = %d events, cursor %q", len(page.Events), page.NextCursor)
	}
	var next AuditPage
	e.do("GET", "/v1/audit?agent=a1&tool=echo&limit=2&cursor="+page.NextCursor, "auditor", nil, &next)
	if len(next.Events) != 1 || next.NextCursor != "" || next.Events[0].Seq >= page.Events[1].Seq {
		t.Fatalf("second page = %+v", next)
	}
	var ae apiErr
	if code := e.do("GET", "/v1/audit?since=yesterday", "auditor", nil, &ae); code != 400 || ae.Error.Details["field"] != "since" {
		t.Errorf("bad since: %d %v", code, ae.Error.Details)
	}
	var v VerifyResponse
	if code := e.do("GET", "/v1/audit/verify", "auditor", nil, &v); code != 200 || !v.OK || v.Size == 0 {
		t.Fatalf("verify = %d %+v", code, v)
	}
	var p struct {
		Event       struct{ Seq uint64 } `json:"event"`
		TreeSize    uint64               `json:"tree_size"`
		Checkpoint  string               `json:"checkpoint"`
		VerifierKey string               `json:"verifier_key"`
	}
	seq := page.Events[0].Seq
	if code := e.do("GET", "/v1/audit/proof/"+itoa(int64(seq)), "auditor", nil, &p); code != 200 {
		t.Fatalf("proof: %d", code)
	}
	if p.Event.Seq != seq || p.TreeSize <= seq || p.Checkpoint == "" || p.VerifierKey == "" {
		t.Errorf("proof = %+v", p)
	}
	if code := e.do("GET", "/v1/audit/proof/999999", "auditor", nil, nil); code != 404 {
		t.Errorf("proof of a missing event: %d, want 404", code)
	}
}

func TestPoliciesAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	var info PolicyInfo
	if code := e.do("GET", "/v1/policies", "auditor", nil, &info); code != 200 || info.Rules != 4 || info.Version == "" || len(info.Documents) != 1 {
		t.Fatalf("policies = %d %+v", code, info)
	}
	var ev EvalResponse
	e.do("POST", "/v1/policies/eval", "auditor", map[string]any{"input": map[string]any{"tool_name": "rm"}}, &ev)
	if ev.Decision.Rule != "deny-rm" || ev.Decision.Allowed || len(ev.Trace) == 0 {
		t.Fatalf("eval = %+v", ev)
	}
	// A broken file is rejected; the last good set keeps serving.
	writeFile(t, e.policy, "version: 1.0\nrules: [")
	var ae apiErr
	if code := e.do("POST", "/v1/policies/reload", "admin", nil, &ae); code != 422 || ae.Error.Code != "policy_invalid" {
		t.Fatalf("broken reload: %d %+v", code, ae)
	}
	var after PolicyInfo
	e.do("GET", "/v1/policies", "auditor", nil, &after)
	if after.Version != info.Version || after.LastError == "" {
		t.Fatalf("after broken reload: version %s (was %s), last_error %q", after.Version, info.Version, after.LastError)
	}
	// A good file replaces the set.
	writeFile(t, e.policy, strings.Replace(testPolicy, "no rm", "rm is not allowed", 1))
	var ok map[string]string
	if code := e.do("POST", "/v1/policies/reload", "admin", nil, &ok); code != 200 || ok["version"] == info.Version {
		t.Fatalf("good reload: %d %v", code, ok)
	}
	// Both reloads are audited.
	var page AuditPage
	e.do("GET", "/v1/audit?kind=policy_reload", "auditor", nil, &page)
	if len(page.Events) != 3 { // start, rejected, accepted
		t.Fatalf("policy_reload events = %d, want 3", len(page.Events))
	}
	if page.Events[1].Decision.Allowed || page.Events[1].Outcome.Error == "" {
		t.Errorf("rejected reload event = %+v", page.Events[1])
	}
}
