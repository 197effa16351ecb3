package ui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/server/ui"
	"github.com/agentos/agentos/signals"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	full := ui.Options{Kernel: e.k, Approvals: e.broker, Audit: e.log, Policy: e.engine,
		Principal: e.shim.principal, CSRFToken: e.shim.csrf}
	tests := []struct {
		name   string
		change func(*ui.Options)
		want   string
	}{
		{"no kernel", func(o *ui.Options) { o.Kernel = nil }, "Kernel"},
		{"no approvals", func(o *ui.Options) { o.Approvals = nil }, "Approvals"},
		{"no audit", func(o *ui.Options) { o.Audit = nil }, "Audit"},
		{"no policy", func(o *ui.Options) { o.Policy = nil }, "Policy"},
		{"no principal", func(o *ui.Options) { o.Principal = nil }, "Principal"},
		{"no csrf", func(o *ui.Options) { o.CSRFToken = nil }, "CSRFToken"},
		{"negative heartbeat", func(o *ui.Options) { o.Heartbeat = -time.Second }, "Heartbeat"},
		{"relative base", func(o *ui.Options) { o.BasePath = "ui" }, "BasePath"},
		{"trailing slash", func(o *ui.Options) { o.BasePath = "/ui/" }, "BasePath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := full
			tt.change(&o)
			h, err := ui.New(o)
			if err == nil {
				h.Close()
				t.Fatalf("New(%s) = nil error, want one naming %s", tt.name, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%s) = %v, want it to name %s", tt.name, err, tt.want)
			}
		})
	}
	h, err := ui.New(full)
	if err != nil {
		t.Fatalf("New(full options) = %v", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// pages are every page a reader may open.
var pages = []struct {
	path, want string
}{
	{"/ui/", "Top rules"},
	{"/ui/agents", "Agents"},
	{"/ui/agents/worker-1", "Last actions"},
	{"/ui/approvals", "Pending"},
	{"/ui/audit", "Verify the log"},
	{"/ui/policies", "Playground"},
}

func TestPagesByRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.spawn("worker-1")
	e.exec(t.Context(), "worker-1", "echo")
	for _, p := range pages {
		for _, tt := range []struct {
			role   string
			secret string
			status int
		}{
			{"admin", "tok-admin", http.StatusOK},
			{"auditor", "tok-auditor", http.StatusOK},
			{"agent", "tok-agent", http.StatusForbidden},
			{"anonymous", "", http.StatusSeeOther},
		} {
			t.Run(tt.role+p.path, func(t *testing.T) {
				t.Parallel()
				status, body, resp := e.as(tt.secret).get(p.path)
				if status != tt.status {
					t.Fatalf("GET %s as %s = %d, want %d\n%s", p.path, tt.role, status, tt.status, body)
				}
				switch status {
				case http.StatusOK:
					if !strings.Contains(body, p.want) {
						t.Errorf("GET %s as %s: page lacks %q", p.path, tt.role, p.want)
					}
				case http.StatusSeeOther:
					if loc := resp.Header.Get("Location"); loc != "/ui/login" {
						t.Errorf("GET %s anonymous: Location = %q, want /ui/login", p.path, loc)
					}
				case http.StatusForbidden:
					if strings.Contains(body, "<nav>") || !strings.Contains(body, "not role") {
						t.Errorf("GET %s as agent: want a refusal page without navigation, got\n%s", p.path, body)
					}
				}
			})
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/ui/", "/ui/audit", "/ui/static/app.js", "/ui/static/app.css", "/ui/nowhere"} {
		_, body, resp := e.as("tok-admin").get(path)
		csp := resp.Header.Get("Content-Security-Policy")
		if csp == "" || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy = %q", path, csp)
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("GET %s: X-Frame-Options = %q, want DENY", path, got)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options = %q, want nosniff", path, got)
		}
		// No inline script or style, no external asset.
		for _, bad := range []string{"<script>", "style=", "http://", "https://", " on"} {
			if strings.HasSuffix(path, ".css") || strings.HasSuffix(path, ".js") {
				break
			}
			if bad == " on" {
				if strings.Contains(body, " onclick=") || strings.Contains(body, " onload=") {
					t.Errorf("GET %s: inline event handler in page", path)
				}
				continue
			}
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: page contains %q", path, bad)
			}
		}
	}
	status, _, resp := e.as("tok-admin").get("/ui/static/app.js")
	if status != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("GET app.js = %d %q", status, resp.Header.Get("Content-Type"))
	}
	if status, _, _ := e.as("tok-admin").get("/ui/nowhere"); status != http.StatusNotFound {
		t.Errorf("GET /ui/nowhere = %d, want 404", status)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.spawn("worker-1")
	admin := e.as("tok-admin")
	other := e.as("tok-admin") // another session of the same user
	tests := []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no token", url.Values{"signal": {"kill"}, "csrf_token": {""}}, nil},
		{"wrong token", url.Values{"signal": {"kill"}, "csrf_token": {"forged"}}, nil},
		{"another session's token", url.Values{"signal": {"kill"}, "csrf_token": {other.csrf}}, nil},
		{"cross-site", url.Values{"signal": {"kill"}}, []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := admin.post("/ui/agents/worker-1/signal", tt.form, tt.hdr...)
			if status != http.StatusForbidden || !strings.Contains(body, "CSRF") {
				t.Errorf("POST signal with %s = %d, want 403 naming CSRF\n%s", tt.name, status, text(body))
			}
			if st := e.k.Agent("worker-1").State(); st != signals.Running {
				t.Fatalf("agent state after a refused POST = %v, want running", st)
			}
		})
	}
	// Every action refuses a POST without the token.
	for _, path := range []string{"/ui/agents/worker-1/signal", "/ui/approvals/x/approve", "/ui/audit/verify",
		"/ui/policies/reload", "/ui/policies/eval"} {
		if status, _, _ := admin.post(path, url.Values{"csrf_token": {""}}); status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF token = %d, want 403", path, status)
		}
	}
	// A session without a CSRF token (the daemon gives none) refuses POSTs.
	e.shim.mu.Lock()
	e.shim.sessions["no-csrf"] = session{id: "bob", role: ui.RoleAdmin}
	e.shim.mu.Unlock()
	nc := e.as("")
	u, _ := url.Parse(e.ts.URL)
	nc.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: "no-csrf", Path: "/"}})
	if status, body, _ := nc.post("/ui/agents/worker-1/signal", url.Values{"signal": {"kill"}, "csrf_token": {""}}); status != http.StatusForbidden ||
		!strings.Contains(body, "sign in") {
		t.Errorf("POST from a session without CSRF token = %d, want 403 asking to sign in\n%s", status, text(body))
	}
}

func TestSignalButtons(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.spawn("worker-1")
	admin := e.as("tok-admin")

	if status, body, _ := e.as("tok-auditor").post("/ui/agents/worker-1/signal", url.Values{"signal": {"kill"}}); status != http.StatusForbidden {
		t.Fatalf("auditor kill = %d, want 403\n%s", status, text(body))
	}
	if st := e.k.Agent("worker-1").State(); st != signals.Running {
		t.Fatalf("state after the auditor's refused kill = %v, want running", st)
	}
	steps := []struct {
		signal string
		from   string
		want   signals.State
		next   string
	}{
		{"stop", "", signals.Stopped, "/ui/agents?"},
		{"continue", "agent", signals.Running, "/ui/agents/worker-1?"},
		{"kill", "", signals.Terminated, "/ui/agents?"},
	}
	for _, st := range steps {
		status, body, resp := admin.post("/ui/agents/worker-1/signal", url.Values{"signal": {st.signal}, "from": {st.from}})
		if status != http.StatusSeeOther {
			t.Fatalf("POST signal=%s = %d, want 303\n%s", st.signal, status, text(body))
		}
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, st.next) {
			t.Errorf("POST signal=%s: Location = %q, want prefix %q", st.signal, loc, st.next)
		}
		if got := e.k.Agent("worker-1").State(); got != st.want {
			t.Fatalf("after %s: state = %v, want %v", st.signal, got, st.want)
		}
	}
	// The killed agent's next call is refused with -1.
	if res := e.exec(t.Context(), "worker-1", "echo"); res.Code != kernel.CodeTerminated {
		t.Errorf("syscall after kill: code %d, want %d", res.Code, kernel.CodeTerminated)
	}
	// The signal is recorded with the operator as source.
	var found bool
	err := e.log.Query(t.Context(), audit.Query{AgentID: "worker-1", Tool: "SIGKILL"}, func(ev *audit.Event) error {
		found = found || strings.Contains(string(ev.Args), `"source":"operator:alice"`)
		return nil
	})
	if err != nil || !found {
		t.Errorf("no SIGKILL audit event with source operator:alice (err %v)", err)
	}
	// The notice after the redirect says what happened.
	_, body, _ := admin.get("/ui/agents?notice=signal&agent=worker-1&signal=SIGKILL&outcome=delivered&state=terminated")
	if !strings.Contains(text(body), "SIGKILL to worker-1: delivered; the agent is now terminated.") {
		t.Errorf("agents page lacks the signal notice")
	}
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
	}{
		{"unknown signal", "/ui/agents/worker-1/signal", url.Values{"signal": {"term"}}, http.StatusBadRequest},
		{"unknown agent", "/ui/agents/nobody/signal", url.Values{"signal": {"kill"}}, http.StatusNotFound},
		{"long reason", "/ui/agents/worker-1/signal", url.Values{"signal": {"kill"}, "reason": {strings.Repeat("x", ui.MaxCommentBytes+1)}}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		if status, body, _ := admin.post(tt.path, tt.form); status != tt.status {
			t.Errorf("%s: status %d, want %d\n%s", tt.name, status, tt.status, text(body))
		}
	}
}

func TestApprovals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		vote     string
		wantCode int
		status   approval.Status
	}{
		{"approve", 0, approval.Approved},
		{"deny", kernel.CodePolicy, approval.Denied},
	} {
		t.Run(tt.vote, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.spawn("worker-1")
			sub := e.hub.Subscribe(0)
			defer sub.Cancel()
			done := make(chan kernel.Result, 1)
			go func() { done <- e.exec(context.WithoutCancel(t.Context()), "worker-1", "deploy") }()
			id := waitApproval(t, sub)

			_, body, _ := e.as("tok-auditor").get("/ui/approvals")
			if !strings.Contains(body, "deploy-needs-approval") || strings.Contains(body, "/approve\"") {
				t.Errorf("auditor's approvals page: want the request without vote buttons")
			}
			if status, _, _ := e.as("tok-auditor").post("/ui/approvals/"+id+"/"+tt.vote, nil); status != http.StatusForbidden {
				t.Errorf("auditor vote = %d, want 403", status)
			}
			admin := e.as("tok-admin")
			_, body, _ = admin.get("/ui/approvals")
			if !strings.Contains(body, "/ui/approvals/"+id+"/approve") {
				t.Fatalf("admin's approvals page lacks the approve form for %s", id)
			}
			status, body, resp := admin.post("/ui/approvals/"+id+"/"+tt.vote, url.Values{"comment": {"looks fine"}})
			if status != http.StatusSeeOther {
				t.Fatalf("vote %s = %d\n%s", tt.vote, status, text(body))
			}
			if loc := resp.Header.Get("Location"); !strings.Contains(loc, "status="+string(tt.status)) {
				t.Errorf("vote Location = %q, want status=%s", loc, tt.status)
			}
			res := <-done
			if res.Code != tt.wantCode {
				t.Errorf("waiting call after %s: code %d (%s), want %d", tt.vote, res.Code, res.Error, tt.wantCode)
			}
			tk, err := e.broker.Get(id)
			if err != nil || len(tk.Votes) != 1 || tk.Votes[0].Approver != "alice" || tk.Votes[0].Comment != "looks fine" {
				t.Errorf("ticket after vote = %+v, %v; want one vote by alice with the comment", tk, err)
			}
			// A second vote is refused with a reason.
			status, body, _ = admin.post("/ui/approvals/"+id+"/approve", nil)
			if status != http.StatusConflict || !strings.Contains(body, "not pending") {
				t.Errorf("second vote = %d, want 409 saying not pending\n%s", status, text(body))
			}
			_, body, _ = admin.get("/ui/approvals")
			if !strings.Contains(body, string(tt.status)) {
				t.Errorf("approvals page lacks the decided request")
			}
		})
	}
	e := newEnv(t)
	admin := e.as("tok-admin")
	if status, _, _ := admin.post("/ui/approvals/nope/approve", nil); status != http.StatusNotFound {
		t.Errorf("vote on unknown request = %d, want 404", status)
	}
	if status, _, _ := admin.post("/ui/approvals/nope/maybe", nil); status != http.StatusNotFound {
		t.Errorf("unknown vote = %d, want 404", status)
	}
}

// TestApprovalPreview: the approvals page shows a held call's arguments,
// redacted, and renders hostile text in them inert (escaped, never
// markup).
func TestApprovalPreview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.spawn("worker-1")
	sub := e.hub.Subscribe(0)
	defer sub.Cancel()
	args := json.RawMessage(`{"env":"prod","note":"</pre><script>alert(1)</script><img src=x onerror=alert(2)>",` +
		`"password":"hunter2-correct-horse","key":"AKIAIOSFODNN7EXAMPLE"}`)
	done := make(chan kernel.Result, 1)
	go func() {
		res, _ := e.k.Syscall(context.WithoutCancel(t.Context()), "worker-1", kernel.Exec{Tool: "deploy", Args: args})
		done <- res
	}()
	id := waitApproval(t, sub)
	status, body, _ := e.as("tok-admin").get("/ui/approvals")
	if status != http.StatusOK {
		t.Fatalf("approvals page: %d", status)
	}
	for _, raw := range []string{"<script>alert", "<img src=x", "</pre><script>", "hunter2-correct-horse", "AKIAIOSFODNN7EXAMPLE"} {
		if strings.Contains(body, raw) {
			t.Errorf("approvals page shows %q raw", raw)
		}
	}
	for _, want := range []string{`<pre class="args-preview"`, `&#34;env&#34;: &#34;prod&#34;`,
		`&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;`,
		`&#34;password&#34;: &#34;[REDACTED]&#34;`, `&#34;key&#34;: &#34;[REDACTED]&#34;`} {
		if !strings.Contains(body, want) {
			t.Errorf("approvals page lacks %q", want)
		}
	}
	if _, err := e.broker.Decide(t.Context(), id, approval.Vote{Approver: "alice", Approve: false}); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res.Code != kernel.CodePolicy {
		t.Errorf("denied call: code %d, want %d", res.Code, kernel.CodePolicy)
	}
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.spawn("worker-1")
	if res := e.exec(t.Context(), "worker-1", "evil"); res.Code != kernel.CodePolicy {
		t.Fatalf("evil call: code %d, want %d", res.Code, kernel.CodePolicy)
	}
	// An event recorded by another component with hostile fields.
	hostile := &audit.Event{Kind: audit.KindMCPMessage, AgentID: `<script>alert("agent")</script>`, Tool: `"><svg onload=alert(2)>`,
		Args:     json.RawMessage(`{"q":"</script><script>alert(3)</script>"}`),
		Decision: audit.Decision{Action: "deny", Rule: hostileRule, Reason: hostileMessage}}
	if err := e.log.Append(t.Context(), hostile); err != nil {
		t.Fatal(err)
	}
	if res := e.exec(t.Context(), "worker-1", "evil"); res.Code != kernel.CodePolicy {
		t.Fatalf("second evil call: code %d", res.Code)
	}
	admin := e.as("tok-admin")
	for _, path := range []string{"/ui/", "/ui/audit", "/ui/agents", "/ui/agents/worker-1", "/ui/policies",
		"/ui/audit?rule=" + url.QueryEscape(hostileRule), "/ui/agents/" + url.PathEscape(`<script>alert("agent")</script>`)} {
		status, body, _ := admin.get(path)
		if status != http.StatusOK {
			t.Errorf("GET %s = %d", path, status)
			continue
		}
		for _, raw := range []string{"<script>alert", "<img src=x", "<svg onload", "</script><script>"} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s: raw %q in page", path, raw)
			}
		}
	}
	_, body, _ := admin.get("/ui/audit")
	if !strings.Contains(body, "&lt;script&gt;alert(&#34;rule&#34;)&lt;/script&gt;") {
		t.Errorf("audit page does not show the hostile rule name escaped")
	}
	_, body, _ = admin.get("/ui/")
	if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("overview does not show the hostile reason escaped")
	}
	// The agent link of the hostile event is path-escaped.
	if !strings.Contains(body, `/ui/agents/%3Cscript%3Ealert%28%22agent%22%29%3C%2Fscript%3E`) {
		t.Errorf("hostile agent ID is not path-escaped in links")
	}
	// Values reflected from the query are escaped too.
	_, body, _ = admin.get("/ui/agents?notice=signal&agent=" + url.QueryEscape("<b>x</b>"))
	if strings.Contains(body, "<b>x</b>") {
		t.Errorf("notice reflects raw HTML")
	}
	// The live stream summaries carry the hostile strings as JSON text.
	le := summarizeDecision(t, hostileRule, hostileMessage)
	if !strings.Contains(le, `\u003cscript\u003e`) {
		t.Errorf("live summary does not escape < for HTML safety: %s", le)
	}
}

// summarizeDecision runs one decision through a live stream and returns
// its data line.
func summarizeDecision(t *testing.T, rule, reason string) string {
	t.Helper()
	e := newEnv(t)
	lines := openStream(t, e)
	ev, _ := json.Marshal(&audit.Event{Kind: audit.KindToolCall, AgentID: "a", Tool: "t",
		Decision: audit.Decision{Action: "deny", Rule: rule, Reason: reason}})
	e.hub.PublishRaw("decision", ev)
	for ln := range lines {
		if strings.HasPrefix(ln, "data: ") {
			return ln
		}
	}
	t.Fatal("stream ended without data")
	return ""
}

// openStream connects to the live stream as an admin and returns its
// lines; it waits until the stream is subscribed.
func openStream(t *testing.T, e *env) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/ui/events", nil)
	admin := e.as("tok-admin")
	resp, err := admin.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /ui/events = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	sc := bufio.NewScanner(resp.Body)
	// The retry line is written after subscribing.
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "retry:") {
		t.Fatalf("stream does not start with retry: %q", sc.Text())
	}
	out := make(chan string)
	go func() {
		defer close(out)
		for sc.Scan() {
			select {
			case out <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func TestLiveStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.spawn("worker-1")
	lines := openStream(t, e)
	res := e.exec(t.Context(), "worker-1", "read_secrets")
	if res.Code != kernel.CodePolicy {
		t.Fatalf("read_secrets: code %d", res.Code)
	}
	var event, data string
	for ln := range lines {
		switch {
		case strings.HasPrefix(ln, "event: "):
			event = strings.TrimPrefix(ln, "event: ")
		case strings.HasPrefix(ln, "data: "):
			data = strings.TrimPrefix(ln, "data: ")
		}
		if event == "decision" && data != "" {
			break
		}
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(data), &got); err != nil {
		t.Fatalf("data %q: %v", data, err)
	}
	if got["rule"] != "block-secrets" || got["allowed"] != false || got["agent_id"] != "worker-1" || got["tool"] != "read_secrets" {
		t.Errorf("live decision = %v", got)
	}
	if _, ok := got["args"]; ok {
		t.Errorf("live summary carries arguments: %v", got)
	}
	// Auditors may listen; agents and anonymous callers may not.
	if status, _, _ := e.as("tok-agent").get("/ui/events"); status != http.StatusForbidden {
		t.Errorf("agent GET /ui/events = %d, want 403", status)
	}
	if status, _, _ := e.as("").get("/ui/events"); status != http.StatusSeeOther {
		t.Errorf("anonymous GET /ui/events = %d, want 303", status)
	}
}

func TestAuditPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.spawn("worker-1")
	e.spawn("worker-2")
	e.exec(t.Context(), "worker-1", "read_secrets")
	e.exec(t.Context(), "worker-2", "echo")
	auditor := e.as("tok-auditor")
	tests := []struct {
		query        string
		status       int
		want, reject string
	}{
		{"", http.StatusOK, "worker-2", ""},
		{"?agent=worker-1", http.StatusOK, "block-secrets", ">worker-2<"},
		{"?action=deny", http.StatusOK, "block-secrets", ">echo<"},
		{"?tool=echo&limit=1", http.StatusOK, ">echo<", "read_secrets"},
		{"?since=2000-01-01T00:00:00Z&until=2199-01-01", http.StatusOK, "worker-1", ""},
		{"?until=2999-01-01", http.StatusBadRequest, "until: want a time from 1970 to 2261", ""},
		{"?since=yesterday", http.StatusBadRequest, "since: want a time", ""},
		{"?limit=0", http.StatusBadRequest, "limit: want an integer", ""},
		{"?limit=1001", http.StatusBadRequest, "limit", ""},
		{"?action=explode", http.StatusBadRequest, "action: want one of", ""},
		{"?agent=" + strings.Repeat("a", 300), http.StatusBadRequest, "agent: at most 256 bytes", ""},
	}
	for _, tt := range tests {
		status, body, _ := auditor.get("/ui/audit" + tt.query)
		if status != tt.status {
			t.Errorf("GET /ui/audit%s = %d, want %d", tt.query, status, tt.status)
			continue
		}
		if !strings.Contains(body, tt.want) {
			t.Errorf("GET /ui/audit%s lacks %q", tt.query, tt.want)
		}
		if tt.reject != "" && strings.Contains(body, tt.reject) {
			t.Errorf("GET /ui/audit%s shows %q", tt.query, tt.reject)
		}
	}
	status, body, _ := auditor.post("/ui/audit/verify", nil)
	if status != http.StatusOK || !strings.Contains(text(body), "Verified.") {
		t.Errorf("verify = %d\n%s", status, text(body))
	}
}

func TestVerifyFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, err := ui.New(ui.Options{Kernel: e.k, Approvals: e.broker, Audit: failingAudit{e.log}, Policy: e.engine,
		Principal: func(*http.Request) (string, string, bool) { return "ada", ui.RoleAuditor, true },
		CSRFToken: func(*http.Request) string { return "t" }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rec := newRecorder()
	req, _ := http.NewRequest(http.MethodPost, "/ui/audit/verify", strings.NewReader("csrf_token=t"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Verification failed.") ||
		!strings.Contains(rec.Body.String(), "event 7: hash mismatch") {
		t.Errorf("verify of a broken log = %d\n%s", rec.Code, text(rec.Body.String()))
	}
}

// failingAudit is the real log whose verification reports tampering.
type failingAudit struct{ *audit.Log }

func (failingAudit) Verify(context.Context, audit.VerifyOptions) (audit.VerifyResult, error) {
	return audit.VerifyResult{}, errors.New("event 7: hash mismatch")
}

func TestPolicies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, auditor := e.as("tok-admin"), e.as("tok-auditor")
	_, body, _ := auditor.get("/ui/policies")
	if !strings.Contains(body, e.engine.Current().Version()) || !strings.Contains(body, "deploy-needs-approval") {
		t.Errorf("policies page lacks version or rules")
	}
	if strings.Contains(body, `id="reload"`) {
		t.Errorf("auditor sees the reload button")
	}
	tests := []struct {
		name   string
		input  string
		status int
		want   []string
	}{
		{"denied", `{"tool_name": "read_secrets"}`, http.StatusOK, []string{"Denied", "block-secrets", "Reading secrets is not allowed"}},
		{"allowed", `{"tool_name": "echo", "n": 12345678901234567890}`, http.StatusOK, []string{"Allowed", "No rules matched"}},
		{"not json", `{"tool_name": `, http.StatusBadRequest, []string{"input: not a JSON object"}},
		{"array", `[1]`, http.StatusBadRequest, []string{"input: not a JSON object"}},
		{"null", `null`, http.StatusBadRequest, []string{"not null"}},
		{"trailing", `{} {}`, http.StatusBadRequest, []string{"trailing data"}},
		{"too large", `{"x":"` + strings.Repeat("a", ui.MaxPlaygroundInput) + `"}`, http.StatusBadRequest, []string{"at most"}},
	}
	for _, tt := range tests {
		status, body, _ := auditor.post("/ui/policies/eval", url.Values{"input": {tt.input}})
		if status != tt.status {
			t.Errorf("eval %s = %d, want %d\n%s", tt.name, status, tt.status, text(body))
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(text(body), w) {
				t.Errorf("eval %s: page lacks %q", tt.name, w)
			}
		}
	}
	// Reload: auditors may not; a good reload reports ok; a broken file is
	// rejected, the last good set keeps serving, and the errors are shown.
	if status, _, _ := auditor.post("/ui/policies/reload", nil); status != http.StatusForbidden {
		t.Errorf("auditor reload = %d, want 403", status)
	}
	good := e.engine.Current().Version()
	status, _, resp := admin.post("/ui/policies/reload", nil)
	if status != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/policies?notice=reloaded" {
		t.Fatalf("reload = %d %q", status, resp.Header.Get("Location"))
	}
	e.broken.Store(true)
	status, _, resp = admin.post("/ui/policies/reload", nil)
	if status != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/policies?notice=reload_failed" {
		t.Fatalf("broken reload = %d %q", status, resp.Header.Get("Location"))
	}
	if e.engine.Current().Version() != good {
		t.Fatalf("a broken reload replaced the set")
	}
	_, body, _ = admin.get("/ui/policies?notice=reload_failed")
	if !strings.Contains(body, `id="reload-error"`) || !strings.Contains(body, "explode") {
		t.Errorf("policies page does not show the reload errors:\n%s", text(body))
	}
}

func TestPlaygroundWithoutPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, err := ui.New(ui.Options{Kernel: e.k, Approvals: e.broker, Audit: e.log, Policy: noPolicy{},
		Principal: func(*http.Request) (string, string, bool) { return "alice", ui.RoleAdmin, true },
		CSRFToken: func(*http.Request) string { return "t" }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, tt := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/ui/policies", "", http.StatusOK, "No policy is loaded"},
		{"POST", "/ui/policies/eval", "csrf_token=t&input=%7B%7D", http.StatusConflict, "no policy set is loaded"},
		{"POST", "/ui/policies/reload", "csrf_token=t", http.StatusNotImplemented, "not available"},
		{"GET", "/ui/", "", http.StatusOK, "no policy"},
	} {
		rec := newRecorder()
		req, _ := http.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s %s = %d, want %d with %q\n%s", tt.method, tt.path, rec.Code, tt.status, tt.want, text(rec.Body.String()))
		}
	}
}

// noPolicy is an engine with nothing loaded.
type noPolicy struct{}

func (noPolicy) Current() *policy.Set { return nil }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// BenchmarkPages renders each page through the handler (one audit query
// for the overview and audit pages, one per agent for the agents page).
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	for i := range 10 {
		id := "worker-" + strconv.Itoa(i)
		e.spawn(id)
		e.exec(b.Context(), id, "read_secrets")
		e.exec(b.Context(), id, "echo")
	}
	p := func(*http.Request) (string, string, bool) { return "alice", ui.RoleAdmin, true }
	h, err := ui.New(ui.Options{Kernel: e.k, Approvals: e.broker, Audit: e.log, Policy: e.engine,
		Principal: p, CSRFToken: func(*http.Request) string { return "t" }})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for _, path := range []string{"/ui/", "/ui/agents", "/ui/audit", "/ui/policies"} {
		b.Run(strings.Trim(path, "/"), func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", path, rec.Code)
				}
			}
		})
	}
}

// TestApprovalsPageBounded: with more pending requests than the page
// lists, it shows the oldest MaxPendingShown and says how many more wait.
func TestApprovalsPageBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := ui.MaxPendingShown + 7
	for i := range n {
		_, err := e.broker.Submit(t.Context(), approval.Request{AgentID: "worker-" + strconv.Itoa(i%50), Tool: "deploy",
			ArgsHash: strings.Repeat("ab", 32), Reason: "bulk " + strconv.Itoa(i)})
		if err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
	}
	status, body, _ := e.as("tok-admin").get("/ui/approvals")
	if status != http.StatusOK {
		t.Fatalf("approvals page: %d", status)
	}
	if got := strings.Count(body, "<tr data-request="); got != ui.MaxPendingShown {
		t.Errorf("approvals page lists %d pending requests, want %d", got, ui.MaxPendingShown)
	}
	if !strings.Contains(body, `id="pending-more">7 more pending`) {
		t.Error("approvals page does not say that 7 more are pending")
	}
	_, body, _ = e.as("tok-admin").get("/ui/")
	if !strings.Contains(body, `id="pending">`+strconv.Itoa(n)+`<`) {
		t.Errorf("overview does not count %d pending approvals", n)
	}
}
