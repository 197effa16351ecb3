package ui_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	auditsqlite "github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/server"
	"github.com/agentos/agentos/server/ui"
)

// hostileRule and hostileMessage try to break out of the page; they must
// show as text.
const (
	hostileRule    = `<script>alert("rule")</script>`
	hostileMessage = `<img src=x onerror=alert(1)>`
)

// testPolicy has a denying rule with a hostile name, a plain denying
// rule, and a rule requiring approval; everything else is allowed.
const testPolicy = `version: "1.0"
name: dashboard-test
defaults:
  action: allow
rules:
  - name: '<script>alert("rule")</script>'
    priority: 100
    match: {tools: [evil]}
    action: deny
    message: '<img src=x onerror=alert(1)>'
  - name: block-secrets
    priority: 90
    match: {tools: [read_secrets]}
    action: deny
    message: Reading secrets is not allowed
  - name: deploy-needs-approval
    priority: 80
    match: {tools: [deploy]}
    action: require_approval
    message: Deploys need a person
`

// brokenPolicy does not compile: the reload test swaps it in.
const brokenPolicy = `version: "1.0"
name: broken
rules:
  - name: bad
    action: explode
`

// env is the dashboard over real components: kernel, policy engine,
// SQLite audit log in a temporary directory, approval broker and the
// daemon's event hub, behind a minimal sign-in shim standing in for the
// daemon's sessions.
type env struct {
	t      testing.TB
	k      *kernel.Kernel
	log    *audit.Log
	broker *approval.Broker
	engine *policy.Engine
	hub    *server.Hub
	h      *ui.Handler
	ts     *httptest.Server
	shim   *shim
	broken atomic.Bool // the policy loader fails while set
}

// tap is the kernel's auditor in these tests: append, then publish, as
// the daemon does.
type tap struct {
	log *audit.Log
	hub *server.Hub
}

func (t tap) Append(ctx context.Context, e *audit.Event) error {
	if err := t.log.Append(ctx, e); err != nil {
		return err
	}
	typ := server.EventDecision
	switch e.Kind {
	case audit.KindSignal:
		typ = server.EventSignal
	case audit.KindAgentLifecycle:
		typ = server.EventLifecycle
	case audit.KindPolicyReload:
		typ = server.EventPolicyReload
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	t.hub.PublishRaw(typ, b)
	return nil
}

// notifier publishes approval steps on the hub.
type notifier struct{ hub *server.Hub }

func (n notifier) Notify(e approval.Event) { n.hub.Publish(server.EventApproval, e) }

// approver plugs the broker into the kernel.
type approver struct{ b *approval.Broker }

func (a approver) Approve(ctx context.Context, req kernel.ApprovalRequest) (bool, string, error) {
	r := approval.Request{AgentID: req.AgentID, Syscall: req.Syscall.String(), Tool: req.Tool, ArgsHash: req.ArgsHash,
		ArgsPreview: req.ArgsPreview, Rule: req.Rule, Policy: req.Policy, Reason: req.Reason}
	if ap := req.Approval; ap != nil {
		r.Approvers, r.Quorum, r.Timeout = ap.Approvers, ap.Quorum, ap.Timeout
	}
	t, err := a.b.Approve(ctx, r)
	if err != nil {
		return false, "", err
	}
	return t.Status == approval.Approved, t.Reason, nil
}

// hubSource is the wiring the daemon uses: the hub through ui.Relay.
func hubSource(h *server.Hub) ui.EventSource {
	return ui.Relay(func(queue int) (<-chan server.Event, func()) {
		s := h.Subscribe(queue)
		return s.C(), s.Cancel
	}, func(e server.Event) ui.Event {
		return ui.Event{ID: e.ID, Type: e.Type, Time: e.Time, Data: e.Data}
	})
}

func noop(context.Context, json.RawMessage) (any, error) { return "done", nil }

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	e := &env{t: t, hub: server.NewHub(nil)}
	t.Cleanup(e.hub.Close)
	store, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: filepath.Join(dir, "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if e.log, err = audit.Open(ctx, audit.Options{Store: store, Dir: dir, CheckpointInterval: -1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.log.Close() })
	e.engine = policy.NewEngine(policy.EngineOptions{Load: func(context.Context) ([]*policy.Document, error) {
		if e.broken.Load() {
			return policy.Parse("broken.yaml", []byte(brokenPolicy))
		}
		return policy.Parse("policy.yaml", []byte(testPolicy))
	}})
	if err := e.engine.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if e.broker, err = approval.New(approval.Options{Notifier: notifier{e.hub}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.broker.Close() })
	if e.k, err = kernel.New(kernel.Options{Policy: e.engine, Auditor: tap{e.log, e.hub}, Approver: approver{e.broker}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.k.Close() })
	for _, name := range []string{"evil", "read_secrets", "deploy", "echo"} {
		if err := e.k.RegisterTool(kernel.Tool{Name: name, Func: noop}); err != nil {
			t.Fatal(err)
		}
	}
	e.shim = newShim()
	e.h, err = ui.New(ui.Options{
		Kernel: e.k, Approvals: e.broker, Audit: e.log, Policy: e.engine,
		Reload: func(ctx context.Context) error { return e.engine.Reload(ctx) },
		Documents: func() []*policy.Document {
			docs, _ := policy.Parse("policy.yaml", []byte(testPolicy))
			return docs
		},
		PolicySource: "policy.yaml",
		Events:       hubSource(e.hub),
		Principal:    e.shim.principal,
		CSRFToken:    e.shim.csrf,
		Logger:       slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.h.Close() })
	e.ts = httptest.NewServer(e.shim.mux(e.h))
	t.Cleanup(e.ts.Close)
	return e
}

// spawn adds an agent.
func (e *env) spawn(id string) {
	e.t.Helper()
	if _, err := e.k.Spawn(e.t.Context(), kernel.AgentSpec{ID: id, Role: "worker"}); err != nil {
		e.t.Fatal(err)
	}
}

// exec runs a tool as the agent.
func (e *env) exec(ctx context.Context, agent, tool string) kernel.Result {
	res, _ := e.k.Syscall(ctx, agent, kernel.Exec{Tool: tool, Args: json.RawMessage(`{}`)})
	return res
}

// shim is a stand-in for the daemon's sign-in: a token form setting a
// session cookie, with a CSRF token per session.
type shim struct {
	mu       sync.Mutex
	tokens   map[string][2]string // secret → id, role
	sessions map[string]session   // cookie → session
}

type session struct{ id, role, csrf string }

const cookieName = "test_session"

func newShim() *shim {
	return &shim{tokens: map[string][2]string{
		"tok-admin":   {"alice", ui.RoleAdmin},
		"tok-auditor": {"ada", ui.RoleAuditor},
		"tok-agent":   {"agent-1", "agent"},
	}, sessions: map[string]session{}}
}

func random() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *shim) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[c.Value]
	return sess, ok
}

func (s *shim) principal(r *http.Request) (string, string, bool) {
	sess, ok := s.session(r)
	return sess.id, sess.role, ok
}

func (s *shim) csrf(r *http.Request) string {
	sess, _ := s.session(r)
	return sess.csrf
}

// login creates a session for a token secret and returns its cookie
// value, or "" for an unknown token.
func (s *shim) login(secret string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	who, ok := s.tokens[secret]
	if !ok {
		return ""
	}
	id := random()
	s.sessions[id] = session{id: who[0], role: who[1], csrf: random()}
	return id
}

func (s *shim) mux(h http.Handler) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /ui/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><form method="post" action="/ui/login"><input id="token" name="token" type="password"><button type="submit">Sign in</button></form>`)
	})
	m.HandleFunc("POST /ui/login", func(w http.ResponseWriter, r *http.Request) {
		id := s.login(r.PostFormValue("token"))
		if id == "" {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
	})
	m.Handle("/ui/", h)
	return m
}

// client is a signed-in browser stand-in: a cookie jar and the session's
// CSRF token. Redirects are not followed, so tests see them.
type client struct {
	e    *env
	c    *http.Client
	csrf string
}

// as signs in with a token secret ("" for an anonymous client).
func (e *env) as(secret string) *client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &client{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	if secret == "" {
		return cl
	}
	id := e.shim.login(secret)
	if id == "" {
		e.t.Fatalf("unknown test token %q", secret)
	}
	u, _ := url.Parse(e.ts.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: id, Path: "/"}})
	e.shim.mu.Lock()
	cl.csrf = e.shim.sessions[id].csrf
	e.shim.mu.Unlock()
	return cl
}

// get fetches a page and returns status, body and response.
func (c *client) get(path string) (int, string, *http.Response) {
	c.e.t.Helper()
	resp, err := c.c.Get(c.e.ts.URL + path)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// post submits a form; the session's CSRF token is added unless form
// already has one (set it to "" to send none).
func (c *client) post(path string, form url.Values, hdr ...string) (int, string, *http.Response) {
	c.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", c.csrf)
	}
	req, _ := http.NewRequestWithContext(c.e.t.Context(), http.MethodPost, c.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// waitApproval waits, on the hub, for a pending approval request and
// returns its ID. sub must be subscribed before the request is made.
func waitApproval(t *testing.T, sub *server.Subscription) string {
	t.Helper()
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				t.Fatal("event stream closed before an approval request appeared")
			}
			if ev.Type != server.EventApproval {
				continue
			}
			var ae approval.Event
			if err := json.Unmarshal(ev.Data, &ae); err != nil {
				t.Fatal(err)
			}
			if ae.Kind == approval.EventSubmitted {
				return ae.RequestID
			}
		case <-t.Context().Done():
			t.Fatal("no approval request appeared")
		}
	}
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// text strips tags, for assertions on what a page says.
func text(html string) string { return tagRE.ReplaceAllString(html, "") }
