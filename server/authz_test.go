package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuthMatrix walks every route × role (none, admin, auditor, agent
// bound to a1, agent bound to a2) against the expected status class:
// 401 without credentials, 403 for a role that may not, else anything
// but 401/403.
func TestAuthMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.spawn("a1")
	e.spawn("a2")
	const (
		ok   = 0 // any status but 401 and 403
		deny = http.StatusForbidden
		anon = http.StatusUnauthorized
	)
	roles := []string{"", "admin", "auditor", "agent", "other"}
	// Each row: method, path (with {id} = a1), body, and the expected
	// outcome per role in the order of roles.
	type row struct {
		method, path, body string
		want               [5]int
	}
	pub := [5]int{ok, ok, ok, ok, ok}
	adminOnly := [5]int{anon, ok, deny, deny, deny}
	readers := [5]int{anon, ok, ok, deny, deny}
	self := [5]int{anon, ok, deny, ok, deny}
	readersOrSelf := [5]int{anon, ok, ok, ok, deny}
	actors := [5]int{anon, ok, deny, ok, deny} // body names a1
	anyRole := [5]int{anon, ok, ok, ok, ok}
	rows := []row{
		{"GET", "/healthz", "", pub},
		{"GET", "/readyz", "", pub},
		{"GET", "/metrics", "", pub},
		{"POST", "/v1/agents", `{"id":"new-%s"}`, adminOnly},
		{"GET", "/v1/agents", "", readers},
		{"GET", "/v1/agents/a1", "", readersOrSelf},
		{"DELETE", "/v1/agents/zz", "", adminOnly},
		{"POST", "/v1/agents/a1/signal", `{"signal":"SIGUSR1"}`, self},
		{"POST", "/v1/agents/a1/syscall", `{"syscall":"getpolicy"}`, self},
		{"POST", "/v1/agents/a1/tools/echo", `{}`, self},
		{"POST", "/v1/check", `{"agent_id":"a1","action":"echo"}`, actors},
		{"GET", "/v1/approvals", "", anyRole},
		{"POST", "/v1/approvals", `{"agent_id":"a1","tool":"t","args_hash":"` + strings.Repeat("ab", 32) + `","source":"mcp:x"}`, actors},
		{"GET", "/v1/approvals/NOPE", "", anyRole},
		// Consume and cancel: the handler hides another agent's request
		// (404), so the other agent gets no 403 on an unknown ID.
		{"POST", "/v1/approvals/NOPE/consume", `{"tool":"t","args_hash":"` + strings.Repeat("ab", 32) + `"}`, [5]int{anon, ok, deny, ok, ok}},
		{"POST", "/v1/approvals/NOPE/cancel", "", [5]int{anon, ok, deny, ok, ok}},
		{"POST", "/v1/approvals/NOPE/approve", "", adminOnly},
		{"POST", "/v1/approvals/NOPE/deny", "", adminOnly},
		{"GET", "/v1/audit", "", readers},
		{"GET", "/v1/audit/verify", "", readers},
		{"GET", "/v1/audit/proof/0", "", readers},
		{"GET", "/v1/policies", "", readers},
		{"POST", "/v1/policies/reload", "", adminOnly},
		{"POST", "/v1/policies/eval", `{"input":{}}`, readers},
		{"GET", "/health", "", anyRole},
		{"GET", "/ready", "", anyRole},
		{"POST", "/api/v1/execute", `{"action":"read","agent_id":"a1"}`, actors},
		{"POST", "/api/v1/detect/injection", `{"text":"hello"}`, [5]int{anon, ok, deny, ok, ok}},
		{"POST", "/api/v1/detect/injection/batch", `{"inputs":[]}`, [5]int{anon, ok, deny, ok, ok}},
		{"GET", "/api/v1/audit/injections", "", readers},
		{"GET", "/api/v1/metrics", "", readers},
		{"GET", "/ui/login", "", pub},
		{"GET", "/", "", anyRole},
	}
	covered := map[string]bool{}
	for _, r := range rows {
		pattern := r.path
		for _, rt := range e.s.routes {
			if rt.method == r.method && matches(rt.path, r.path) {
				covered[rt.method+" "+rt.path] = true
				pattern = rt.path
			}
		}
		for i, role := range roles {
			name := r.method + " " + pattern + " as " + map[bool]string{true: "anonymous", false: role}[role == ""]
			t.Run(name, func(t *testing.T) {
				body := r.body
				if strings.Contains(body, "%s") {
					body = strings.Replace(body, "%s", role+itoa(int64(i)), 1)
				}
				var b any
				if body != "" {
					b = body
				}
				code := e.do(r.method, r.path, role, b, nil)
				want := r.want[i]
				switch {
				case want == ok && (code == 401 || code == 403):
					t.Errorf("status %d, want access", code)
				case want != ok && code != want:
					t.Errorf("status %d, want %d", code, want)
				}
			})
		}
	}
	// The event stream: only the status, then hang up.
	for i, role := range roles {
		want := readers[i]
		code := e.streamStatus("/v1/events", role)
		covered["GET /v1/events"] = true
		if (want == ok && (code == 401 || code == 403)) || (want != ok && code != want) {
			t.Errorf("GET /v1/events as %q: status %d, want %d", role, code, want)
		}
	}
	// Every API route is in the matrix (the browser routes are covered
	// by TestSessions).
	for _, rt := range e.s.routes {
		k := rt.method + " " + rt.path
		if !covered[k] && !strings.HasPrefix(rt.path, "/ui/") {
			t.Errorf("route %s is not in the auth matrix", k)
		}
	}
}

// matches reports whether a concrete path fits a route pattern.
func matches(pattern, path string) bool {
	if pattern == "/{$}" {
		return path == "/"
	}
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") {
			continue
		}
		if ps[i] != xs[i] {
			return false
		}
	}
	return true
}

func TestAgentTokenCannotSeeOthersApprovals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.spawn("a1")
	var cr CheckResponse
	e.do("POST", "/v1/check", "agent", map[string]any{"agent_id": "a1", "action": "send_email", "args": map[string]any{"to": "x"}}, &cr)
	if cr.Approval == nil {
		t.Fatalf("check = %+v, want a pending approval", cr)
	}
	if code := e.do("GET", "/v1/approvals/"+cr.Approval.ID, "other", nil, nil); code != 404 {
		t.Errorf("other agent reads a1's approval: %d, want 404", code)
	}
	var list struct{ Approvals []map[string]any }
	e.do("GET", "/v1/approvals", "other", nil, &list)
	if len(list.Approvals) != 0 {
		t.Errorf("other agent lists %d approvals, want 0", len(list.Approvals))
	}
	if code := e.do("POST", "/v1/check", "other", map[string]any{"agent_id": "a1", "action": "echo"}, nil); code != 403 {
		t.Errorf("other agent checks as a1: %d, want 403", code)
	}
}

func TestRevokedTokenRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	tok, sec, err := e.tstore.Create(RoleAuditor, "", "temp")
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["temp"] = sec
	if code := e.do("GET", "/v1/agents", "temp", nil, nil); code != 200 {
		t.Fatalf("before revoke: %d", code)
	}
	if _, err := e.tstore.Revoke(tok.ID); err != nil {
		t.Fatal(err)
	}
	if code := e.do("GET", "/v1/agents", "temp", nil, nil); code != 401 {
		t.Errorf("after revoke: %d, want 401", code)
	}
	e.tokens["bogus"] = TokenPrefix + "nope"
	if code := e.do("GET", "/v1/agents", "bogus", nil, nil); code != 401 {
		t.Errorf("bogus token: %d, want 401", code)
	}
}

func TestInsecureNoAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{insecure: true})
	if code := e.do("GET", "/v1/agents", "", nil, nil); code != 200 {
		t.Errorf("insecure mode without token: %d, want 200", code)
	}
}
