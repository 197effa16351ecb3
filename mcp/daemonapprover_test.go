package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	auditsqlite "github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp/mcptest"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/server"
)

// daemon is a real governance daemon (server.New on a SQLite audit log)
// served on 127.0.0.1:0.
type daemon struct {
	t      *testing.T
	s      *server.Server
	hs     *http.Server
	url    string
	admin  string // admin token
	agent  string // agent token bound to testAgent
	log    *audit.Log
	closed sync.Once
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	store, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: filepath.Join(dir, "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	alog, err := audit.Open(ctx, audit.Options{Store: store, Dir: dir, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alog.Close() })
	tokens, err := server.OpenTokenStore(server.TokenStoreOptions{Path: filepath.Join(dir, server.TokensFile), RecheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, log: alog}
	if _, d.admin, err = tokens.Create(server.RoleAdmin, "", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, d.agent, err = tokens.Create(server.RoleAgent, testAgent, "gateway"); err != nil {
		t.Fatal(err)
	}
	d.s, err = server.New(ctx, server.Options{
		AuditLog: alog, Tokens: tokens, PolicySource: "test",
		Policy: func(context.Context) ([]*policy.Document, error) {
			return policy.Parse("daemon.yaml", []byte("version: \"1.0\"\nname: daemon\ndefaults: {action: allow}\n"))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.url = "http://" + ln.Addr().String()
	d.hs = &http.Server{Handler: d.s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go d.hs.Serve(ln)
	t.Cleanup(d.stop)
	return d
}

// stop shuts the daemon down (idempotent).
func (d *daemon) stop() {
	d.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.s.Broker().Close() // ends long polls at once
		_ = d.hs.Shutdown(ctx)
		_ = d.s.Shutdown(ctx)
	})
}

// api sends a request to the daemon with token and decodes the answer.
func (d *daemon) api(method, path, token string, body, out any) int {
	d.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequestWithContext(d.t.Context(), method, d.url+path, bytes.NewReader(b))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			d.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// pending waits until the daemon holds one pending request and returns
// it.
func (d *daemon) pending(ctx context.Context) (approval.Ticket, error) {
	for {
		var list struct{ Approvals []approval.Ticket }
		d.api("GET", "/v1/approvals?status=pending", d.admin, nil, &list)
		if len(list.Approvals) > 0 {
			return list.Approvals[0], nil
		}
		select {
		case <-ctx.Done():
			return approval.Ticket{}, errors.New("no pending approval request appeared on the daemon")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// daemonEnv is a gateway session whose kernel asks the daemon d.
func daemonEnv(t *testing.T, opts DaemonApproverOptions) *env {
	t.Helper()
	return newEnv(t, envConfig{
		fixture: mcptest.Options{ExtraTools: 3},
		approver: func(kernel.Auditor) kernel.Approver {
			ap, err := NewDaemonApprover(opts)
			if err != nil {
				t.Fatal(err)
			}
			return ap
		},
	})
}

// TestDaemonApprovals runs a gateway session whose require_approval call
// (tool_2) is decided on a real daemon through its API.
func TestDaemonApprovals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// act decides the pending request (or breaks the daemon).
		act        func(t *testing.T, d *daemon, tk approval.Ticket)
		token      string // "": the agent token
		allowed    bool
		wantReason string
	}{
		{"approved on the daemon", func(t *testing.T, d *daemon, tk approval.Ticket) {
			if code := d.api("POST", "/v1/approvals/"+tk.ID+"/approve", d.admin, map[string]string{"comment": "fine"}, nil); code != 200 {
				t.Errorf("approve: %d", code)
			}
		}, "", true, ""},
		{"denied on the daemon", func(t *testing.T, d *daemon, tk approval.Ticket) {
			if code := d.api("POST", "/v1/approvals/"+tk.ID+"/deny", d.admin, map[string]string{"comment": "not today"}, nil); code != 200 {
				t.Errorf("deny: %d", code)
			}
		}, "", false, `denied by "alice": not today`},
		// Stopped while the gateway long-polls, the daemon answers the
		// poll as cancelled; stopped between two polls, the next one finds
		// no daemon. Either way the call is denied.
		{"daemon stopped while waiting", func(t *testing.T, d *daemon, tk approval.Ticket) { d.stop() }, "", false,
			"cancelled: approval broker closed|approval daemon unreachable"},
		{"daemon down", nil, "", false, "approval daemon unreachable"},
		{"token refused", nil, "agentos_not-a-token", false, "refused the token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t)
			tok := d.agent
			if tt.token != "" {
				tok = tt.token
			}
			e := daemonEnv(t, DaemonApproverOptions{URL: d.url, Token: tok, Source: "mcp:fixture", PollWait: time.Second})
			if tt.name == "daemon down" {
				d.stop()
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			var tk approval.Ticket
			decided := make(chan struct{})
			if tt.act != nil {
				go func() {
					defer close(decided)
					var err error
					if tk, err = d.pending(ctx); err != nil {
						t.Error(err)
						return
					}
					if tk.Request.Source != "mcp:fixture" || tk.Request.Rule != "approve-tool-2" || tk.Request.Tool != "tool_2" {
						t.Errorf("pending request = %+v", tk.Request)
					}
					d.checkPreview(t, tk.ID)
					tt.act(t, d, tk)
				}()
			} else {
				close(decided)
			}
			r, err := e.cs.CallTool(ctx, &sdk.CallToolParams{Name: "tool_2", Arguments: previewArgs})
			<-decided
			if tt.allowed {
				if err != nil || r.IsError || resultText(r) != "ok" {
					t.Fatalf("approved call = %v, %v", r, err)
				}
				// The approval was used once: a replay is refused.
				hash := tk.Request.ArgsHash
				if code := d.api("POST", "/v1/approvals/"+tk.ID+"/consume", d.agent, map[string]string{"tool": "tool_2", "args_hash": hash}, nil); code != http.StatusConflict {
					t.Errorf("replayed consume: %d, want 409", code)
				}
				var got approval.Ticket
				d.api("GET", "/v1/approvals/"+tk.ID, d.admin, nil, &got)
				if !got.Consumed() {
					t.Errorf("daemon ticket %+v not marked used", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("call not approved ran: %v", resultText(r))
			}
			_, dn := wireError(t, err)
			t.Logf("denial: %s", dn.Reason)
			if dn.Stage != StageApproval || !slices.ContainsFunc(strings.Split(tt.wantReason, "|"), func(w string) bool {
				return strings.Contains(dn.Reason, w)
			}) {
				t.Errorf("denial = %+v, want stage approval with %q", dn, tt.wantReason)
			}
		})
	}
}

// previewArgs are the arguments of the held call: what the approver must
// see, and secrets the approver must not.
var previewArgs = map[string]any{"id": "7", "limit": 10, "password": "hunter2-correct-horse",
	"note": "use " + mcptest.FakeAWSKey + " for the upload"}

// checkPreview checks what an approver reading request id through the
// daemon's API (GET /v1/approvals/{id}, as admin) sees: the held call's
// arguments, redacted, and no secret. It may run outside the test's
// goroutine.
func (d *daemon) checkPreview(t *testing.T, id string) {
	t.Helper()
	var raw json.RawMessage
	if code := d.api("GET", "/v1/approvals/"+id, d.admin, nil, &raw); code != http.StatusOK {
		t.Errorf("GET /v1/approvals/%s: %d", id, code)
		return
	}
	for _, secret := range []string{"hunter2-correct-horse", mcptest.FakeAWSKey} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the approver sees the secret %q: %s", secret, raw)
		}
	}
	var tk approval.Ticket
	if err := json.Unmarshal(raw, &tk); err != nil {
		t.Errorf("GET /v1/approvals/%s: %v", id, err)
		return
	}
	got, err := audit.CanonicalJSON(tk.Request.ArgsPreview)
	if want := `{"id":"7","limit":10,"note":"[REDACTED]","password":"[REDACTED]"}`; err != nil || string(got) != want {
		t.Errorf("the approver sees args_preview %s (%v), want %s", tk.Request.ArgsPreview, err, want)
	}
}

// TestDaemonApprovalAbandoned: a call given up by the gateway withdraws
// its request on the daemon.
func TestDaemonApprovalAbandoned(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	ap, err := NewDaemonApprover(DaemonApproverOptions{URL: d.url, Token: d.agent, Source: "mcp:fixture", PollWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := ap.Approve(ctx, kernel.ApprovalRequest{AgentID: testAgent, Tool: "tool_2", ArgsHash: strings.Repeat("ab", 32)})
		done <- err
	}()
	wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer wcancel()
	tk, err := d.pending(wctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Approve after cancel = %v, want context.Canceled", err)
	}
	var got approval.Ticket
	d.api("GET", "/v1/approvals/"+tk.ID, d.admin, nil, &got)
	if got.Status != approval.Cancelled {
		t.Errorf("abandoned request is %s, want cancelled", got.Status)
	}
}

// TestDaemonApproverMalformed: answers that are not what the API
// promises deny.
func TestDaemonApproverMalformed(t *testing.T) {
	t.Parallel()
	hash := strings.Repeat("cd", 32)
	ticket := func(id, agent, status string) string {
		return `{"id":"` + id + `","request":{"agent_id":"` + agent + `","tool":"tool_2","args_hash":"` + hash + `"},"status":"` + status + `"}`
	}
	const id = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   string
	}{
		{"not JSON", 201, "application/json", "{", "malformed"},
		{"HTML", 201, "text/html", "<html>", "not JSON"},
		{"another agent's ticket", 201, "application/json", ticket(id, "someone-else", "pending"), "another agent"},
		{"bad ID", 201, "application/json", ticket("../x", testAgent, "pending"), "valid ID"},
		{"unknown status", 201, "application/json", ticket(id, testAgent, "maybe"), "unknown status"},
		{"server error", 500, "application/json", `{"error":{"code":"internal","message":"boom"}}`, "status 500"},
		{"forbidden", 403, "application/json", `{"error":{"code":"forbidden","message":"no"}}`, "forbids"},
		{"redirect", 302, "text/plain", "", "status 302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer tok" {
					t.Errorf("authorization header %q", r.Header.Get("Authorization"))
				}
				if tt.status == 302 {
					w.Header().Set("Location", "http://example.com/")
				}
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			ap, err := NewDaemonApprover(DaemonApproverOptions{URL: srv.URL, Token: "tok", Source: "mcp:x"})
			if err != nil {
				t.Fatal(err)
			}
			ok, _, err := ap.Approve(t.Context(), kernel.ApprovalRequest{AgentID: testAgent, Tool: "tool_2", ArgsHash: hash})
			if ok || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Approve = %v, %v; want a denial error containing %q", ok, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "tok") && !strings.Contains(err.Error(), "token") {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestValidateDaemonURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.1.2.3:8080/", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"https://agentos.example.com", true},
		{"https://agentos.example.com/prefix/", true},
		{"http://agentos.example.com", false},
		{"http://10.0.0.1:8080", false},
		{"http://0.0.0.0:8080", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
		{"", false},
		{"https://user:pw@example.com", false},
		{"https://example.com/?x=1", false},
		{"https://example.com/#f", false},
		{"https://", false},
		{"http://localhost.evil.com", false},
	}
	for _, tt := range tests {
		_, err := ValidateDaemonURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateDaemonURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	for _, o := range []DaemonApproverOptions{
		{URL: "http://127.0.0.1:1", Source: "mcp:x"},
		{URL: "http://127.0.0.1:1", Token: "t", Source: ""},
		{URL: "http://127.0.0.1:1", Token: "a b", Source: "mcp:x"},
		{URL: "http://127.0.0.1:1", Token: "t", Source: "mcp:x", PollWait: 2 * time.Minute},
	} {
		if _, err := NewDaemonApprover(o); err == nil {
			t.Errorf("NewDaemonApprover(%+v) accepted", o)
		}
	}
}

func FuzzValidateDaemonURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080", "https://x.example", "http://[::1]", "http://localhost", "http://a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ValidateDaemonURL(raw)
		if err != nil {
			return
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("accepted %q with user, query or fragment", raw)
		}
		if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			t.Fatalf("accepted plain http to %q", u.Hostname())
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("accepted scheme %q", u.Scheme)
		}
	})
}
