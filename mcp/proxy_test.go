package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp/mcptest"
	"github.com/agentos/agentos/policy"
)

const (
	aliceToken = "alice-token-0123456789abcdef"
	bobToken   = "bob-token-0123456789abcdef00"
)

// proxyEnv is the fixture server behind the Go SDK's Streamable HTTP
// handler, and a Proxy in front of it.
type proxyEnv struct {
	fx       *mcptest.Fixture
	log      *audit.Memory
	p        *Proxy
	upstream *httptest.Server
	front    *httptest.Server
	ap       *Approvals // set with proxyConfig.approvals

	mu sync.Mutex
	// upBodies are the bodies of the POSTs that reached the upstream.
	upBodies []string
}

// upstreamBodies returns the bodies of the POSTs that reached the
// upstream so far.
func (e *proxyEnv) upstreamBodies() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.upBodies...)
}

type proxyConfig struct {
	stateless bool
	origins   []string
	maxBody   int64
	// clock and idle drive idle expiry; nil and 0: the defaults.
	clock       Clock
	idle        time.Duration
	maxSessions int
	// waitRelease releases the fixture's wait tool.
	waitRelease <-chan struct{}
	// approvals, if set, makes the kernel's approver an Approvals with
	// these options (Dir and Auditor filled in); elicit lets the proxy ask
	// approvals through the client.
	approvals *ApprovalsOptions
	elicit    bool
}

// manualClock is a Clock the test moves.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newProxyEnv(t testing.TB, cfg proxyConfig) *proxyEnv {
	t.Helper()
	e := &proxyEnv{fx: mcptest.New(mcptest.Options{ExtraTools: 3, WaitRelease: cfg.waitRelease})}
	up := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return e.fx.Server },
		&sdk.StreamableHTTPOptions{Stateless: cfg.stateless})
	e.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			e.mu.Lock()
			e.upBodies = append(e.upBodies, string(b))
			e.mu.Unlock()
			r.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		up.ServeHTTP(w, r)
	}))
	t.Cleanup(e.upstream.Close)
	var err error
	e.log, err = audit.NewMemory(audit.MemoryOptions{MaxEvents: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := policy.Parse("mcp-test.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Compile(docs, policy.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kopts := kernel.Options{Auditor: e.log, Policy: set}
	if cfg.approvals != nil {
		aopts := *cfg.approvals
		if aopts.Dir == "" {
			aopts.Dir = t.TempDir()
		}
		aopts.Auditor = e.log
		e.ap, err = NewApprovals(aopts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.ap.Close() })
		kopts.Approver = e.ap
	}
	k, err := kernel.New(kopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	if _, err := k.Spawn(context.Background(), kernel.AgentSpec{ID: testAgent}); err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Kernel: k, AgentID: testAgent, Auditor: e.log, Policy: set})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := NewTokenAuth(map[string]string{aliceToken: "alice", bobToken: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	e.p, err = NewProxy(ProxyOptions{Gateway: g, Upstream: e.upstream.URL, Server: "fixture", Auth: auth,
		AllowedOrigins: cfg.origins, MaxBodyBytes: cfg.maxBody, Clock: cfg.clock, IdleTimeout: cfg.idle, MaxSessions: cfg.maxSessions,
		UpstreamHeader: http.Header{"X-Upstream-Credential": {"proxy-secret"}}, ApprovalElicitation: cfg.elicit})
	if err != nil {
		t.Fatal(err)
	}
	e.front = httptest.NewServer(e.p)
	t.Cleanup(func() {
		e.p.Close()
		e.front.CloseClientConnections()
		e.front.Close()
	})
	return e
}

// bearer adds a token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func (e *proxyEnv) connect(t testing.TB, token, version string, opts *sdk.ClientOptions) *sdk.ClientSession {
	t.Helper()
	tr := &sdk.StreamableClientTransport{Endpoint: e.front.URL + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}}
	var sopts *sdk.ClientSessionOptions
	if version != "" {
		sopts = &sdk.ClientSessionOptions{ProtocolVersion: version}
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "proxy-test", Version: "1"}, opts).Connect(context.Background(), tr, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func TestProxySessionEra(t *testing.T) {
	t.Parallel()
	e := newProxyEnv(t, proxyConfig{})
	ctx := context.Background()
	sampled := make(chan string, 1)
	cs := e.connect(t, aliceToken, "2025-11-25", &sdk.ClientOptions{
		CreateMessageHandler: func(_ context.Context, req *sdk.CreateMessageRequest) (*sdk.CreateMessageResult, error) {
			if tc, ok := req.Params.Messages[0].Content.(*sdk.TextContent); ok {
				sampled <- tc.Text
			}
			return &sdk.CreateMessageResult{Role: "assistant", Model: "test", Content: &sdk.TextContent{Text: "short"}}, nil
		}})
	if cs.ID() == "" {
		t.Fatal("no session ID from the proxy")
	}
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := toolNames(res)
	for _, want := range []string{mcptest.ToolEcho, mcptest.ToolLeak, "tool_0", "tool_2"} {
		if !names[want] {
			t.Errorf("tool %s missing from %v", want, names)
		}
	}
	for _, hiddenTool := range []string{mcptest.ToolPoisoned, "tool_1"} {
		if names[hiddenTool] {
			t.Errorf("tool %s listed; want hidden", hiddenTool)
		}
	}

	t.Run("allow", func(t *testing.T) {
		r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: map[string]any{"msg": "hi"}})
		if err != nil || resultText(r) != "echo: hi" {
			t.Fatalf("echo = %v, %v", r, err)
		}
	})
	t.Run("deny", func(t *testing.T) {
		_, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: map[string]any{"msg": "forbidden"}})
		var we *jsonrpc.Error
		if !errors.As(err, &we) || we.Code != CodeDenied || !strings.Contains(string(we.Data), `"stage":"policy"`) {
			t.Fatalf("err = %v; want a policy denial", err)
		}
	})
	t.Run("hidden tool not callable", func(t *testing.T) {
		_, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolPoisoned, Arguments: map[string]any{}})
		var we *jsonrpc.Error
		if !errors.As(err, &we) || !strings.Contains(string(we.Data), `"stage":"pin"`) {
			t.Fatalf("err = %v; want a pin denial", err)
		}
	})
	t.Run("response sanitized", func(t *testing.T) {
		r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolLeak, Arguments: map[string]any{}})
		if err != nil {
			t.Fatal(err)
		}
		if txt := resultText(r); strings.Contains(txt, mcptest.FakeAWSKey) || !strings.Contains(txt, "[REDACTED:") {
			t.Fatalf("leak result %q not redacted", txt)
		}
	})
	t.Run("progress and sampling stream through", func(t *testing.T) {
		progress := make(chan float64, 8)
		cs2 := e.connect(t, aliceToken, "2025-11-25", &sdk.ClientOptions{
			ProgressNotificationHandler: func(_ context.Context, r *sdk.ProgressNotificationClientRequest) { progress <- r.Params.Progress },
			CreateMessageHandler: func(context.Context, *sdk.CreateMessageRequest) (*sdk.CreateMessageResult, error) {
				return &sdk.CreateMessageResult{Role: "assistant", Model: "m", Content: &sdk.TextContent{Text: "ok"}}, nil
			}})
		p := &sdk.CallToolParams{Name: mcptest.ToolProgress, Arguments: map[string]any{}}
		p.SetProgressToken("tok-1")
		if _, err := cs2.CallTool(ctx, p); err != nil {
			t.Fatal(err)
		}
		for want := 1.0; want <= 3; want++ {
			if got := <-progress; got != want {
				t.Errorf("progress %v, want %v", got, want)
			}
		}
		r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolSample, Arguments: map[string]any{"msg": "long text"}})
		if err != nil || resultText(r) != "summary: short" {
			t.Fatalf("sampling call = %v, %v", r, err)
		}
		if got := <-sampled; got != "Summarize: long text" {
			t.Errorf("sampling request %q", got)
		}
	})
	t.Run("session bound to principal", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.front.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":99,"method":"tools/list"}`))
		req.Header.Set("Authorization", "Bearer "+bobToken)
		req.Header.Set(headerSessionID, cs.ID())
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("another principal's use of the session: %d, want 404", resp.StatusCode)
		}
	})
	t.Run("rug pull", func(t *testing.T) {
		if _, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolRugPull, Arguments: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
		e.fx.RugPull()
		// The gateway re-lists on its own (list_changed on the standalone
		// stream, or on the next call); the changed tool is not callable.
		_, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolRugPull, Arguments: map[string]any{}})
		res, lerr := cs.ListTools(ctx, nil)
		if lerr != nil {
			t.Fatal(lerr)
		}
		if toolNames(res)[mcptest.ToolRugPull] {
			t.Fatal("rug-pulled tool still listed")
		}
		_, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolRugPull, Arguments: map[string]any{}})
		var we *jsonrpc.Error
		if !errors.As(err, &we) || !strings.Contains(string(we.Data), `"stage":"pin"`) {
			t.Fatalf("call after rug pull: %v; want a pin denial", err)
		}
	})
	if got := e.p.Sessions(); got != 1 {
		t.Errorf("%d live sessions, want 1", got)
	}
	// DELETE ends the session at the proxy and upstream.
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
	if got := e.p.Sessions(); got != 0 {
		t.Errorf("%d live sessions after DELETE, want 0", got)
	}
	// Audit events carry the principal.
	var withPrincipal bool
	for _, ev := range e.log.Events(0, uint64(e.log.Len())) {
		if ev.Kind == audit.KindMCPMessage && strings.Contains(string(ev.Args), `"principal":"alice"`) {
			withPrincipal = true
		}
	}
	if !withPrincipal {
		t.Error("no mcp_message event names the principal")
	}
}

func TestProxyStatelessEra(t *testing.T) {
	t.Parallel()
	e := newProxyEnv(t, proxyConfig{stateless: true})
	ctx := context.Background()
	cs := e.connect(t, aliceToken, ProtocolStateless, nil)
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if names := toolNames(res); !names[mcptest.ToolEcho] || names[mcptest.ToolPoisoned] || names["tool_1"] {
		t.Fatalf("tools = %v", names)
	}
	r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: map[string]any{"msg": "x"}})
	if err != nil || resultText(r) != "echo: x" {
		t.Fatalf("echo = %v, %v", r, err)
	}
	_, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: map[string]any{"msg": "forbidden"}})
	var we *jsonrpc.Error
	if !errors.As(err, &we) || we.Code != CodeDenied {
		t.Fatalf("err = %v; want a denial", err)
	}
	// A client that calls without listing is governed too: a fresh
	// principal's session lists on its own first.
	cs2 := e.connect(t, bobToken, ProtocolStateless, nil)
	if _, err := cs2.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolPoisoned, Arguments: map[string]any{}}); err == nil {
		t.Fatal("call to a hidden tool without listing succeeded")
	}
}

// post sends a raw POST to the proxy.
func post(t *testing.T, url string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestProxyHTTPChecks(t *testing.T) {
	t.Parallel()
	e := newProxyEnv(t, proxyConfig{origins: []string{"https://app.example"}, maxBody: 1024})
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	auth := "Bearer " + aliceToken
	callHdr := func(extra map[string]string) map[string]string {
		h := map[string]string{"Authorization": auth, headerProtocol: ProtocolStateless}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	tests := []struct {
		name       string
		hdr        map[string]string
		body       string
		wantStatus int
		wantBody   string
		wantHeader [2]string
	}{
		{name: "missing token", hdr: nil, body: initBody, wantStatus: 401,
			wantHeader: [2]string{"WWW-Authenticate", `Bearer resource_metadata="` + e.front.URL + PRMPath + `"`}},
		{name: "wrong token", hdr: map[string]string{"Authorization": "Bearer not-a-valid-token-xxxxxxxx"}, body: initBody, wantStatus: 401,
			wantHeader: [2]string{"WWW-Authenticate", `error="invalid_token"`}},
		{name: "origin not allowed", hdr: map[string]string{"Authorization": auth, "Origin": "https://evil.example"}, body: initBody, wantStatus: 403},
		{name: "origin allowed", hdr: map[string]string{"Authorization": auth, "Origin": "https://app.example"}, body: initBody, wantStatus: 200, wantHeader: [2]string{headerSessionID, ""}},
		{name: "body too large", hdr: map[string]string{"Authorization": auth}, body: `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", 2000) + `"}}`, wantStatus: 413},
		{name: "not JSON-RPC", hdr: map[string]string{"Authorization": auth}, body: `[1,2]`, wantStatus: 400, wantBody: `"code":-32700`},
		{name: "no session", hdr: map[string]string{"Authorization": auth}, body: `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, wantStatus: 400},
		{name: "unknown session", hdr: map[string]string{"Authorization": auth, headerSessionID: "nope"}, body: `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, wantStatus: 404},
		{name: "stateless missing method header", hdr: callHdr(nil), body: `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`, wantStatus: 400, wantBody: `"code":-32020`},
		{name: "stateless method mismatch", hdr: callHdr(map[string]string{headerMethod: "tools/list"}),
			body: `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo"}}`, wantStatus: 400, wantBody: `"code":-32020`},
		{name: "stateless name mismatch", hdr: callHdr(map[string]string{headerMethod: "tools/call", headerName: "read_config"}),
			body: `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo"}}`, wantStatus: 400, wantBody: `"code":-32020`},
		{name: "stateless name missing", hdr: callHdr(map[string]string{headerMethod: "tools/call"}),
			body: `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo"}}`, wantStatus: 400, wantBody: `"code":-32020`},
		{name: "stateless version mismatch", hdr: callHdr(map[string]string{headerMethod: "tools/list"}),
			body: `{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2027-01-01"}}}`, wantStatus: 400, wantBody: `"code":-32020`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, e.front.URL+"/mcp", tc.hdr, tc.body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.wantStatus)
			}
			if tc.wantBody != "" && !strings.Contains(body, tc.wantBody) {
				t.Errorf("body %s lacks %s", body, tc.wantBody)
			}
			if h := tc.wantHeader; h[0] != "" {
				got := resp.Header.Get(h[0])
				if got == "" || !strings.Contains(got, h[1]) {
					t.Errorf("header %s = %q, want it to contain %q", h[0], got, h[1])
				}
			}
		})
	}
	t.Run("protected resource metadata", func(t *testing.T) {
		resp, err := http.Get(e.front.URL + PRMPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var md map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
			t.Fatal(err)
		}
		if md["resource"] != e.front.URL+"/" {
			t.Errorf("metadata = %v", md)
		}
	})
}

// TestProxyNeverForwardsClientToken checks the upstream sees the proxy's
// credential and never the client's.
func TestProxyNeverForwardsClientToken(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []http.Header
	fx := mcptest.New(mcptest.Options{})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return fx.Server }, nil)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		up.CloseClientConnections()
		up.Close()
	})
	e := newProxyEnv(t, proxyConfig{})
	e.p.upstream = up.URL
	cs := e.connect(t, aliceToken, "", nil)
	if _, err := cs.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, hdr := range seen {
		n++
		if hdr.Get("Authorization") != "" {
			t.Errorf("upstream saw Authorization %q", hdr.Get("Authorization"))
		}
		if hdr.Get("X-Upstream-Credential") != "proxy-secret" {
			t.Errorf("upstream credential missing")
		}
	}
	if n == 0 {
		t.Fatal("upstream saw no request")
	}
}

// waitQuiet waits until no POST is in flight on any session of p: a
// client has its response before the handler has finished, and the
// handler's end counts as use of the session.
func waitQuiet(t *testing.T, p *Proxy) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		busy := 0
		p.mu.Lock()
		for _, m := range [...]map[string]*httpSession{p.sessions, p.stateless} {
			for _, hs := range m {
				hs.mu.Lock()
				busy += hs.active
				hs.mu.Unlock()
			}
		}
		p.mu.Unlock()
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still in flight", busy)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestProxyIdleExpiry(t *testing.T) {
	t.Parallel()
	clock := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := newProxyEnv(t, proxyConfig{clock: clock, idle: time.Hour, maxSessions: 2})
	ctx := t.Context()
	alice := e.connect(t, aliceToken, "2025-11-25", nil)
	if _, err := alice.ListTools(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitQuiet(t, e.p)
	clock.Advance(30 * time.Minute)
	bob := e.connect(t, bobToken, "2025-11-25", nil)
	waitQuiet(t, e.p)
	if n := e.p.Sessions(); n != 2 {
		t.Fatalf("sessions = %d, want 2", n)
	}
	// Nothing is idle for an hour yet.
	if n := e.p.ExpireIdle(); n != 0 {
		t.Fatalf("ExpireIdle = %d before the timeout, want 0", n)
	}
	// A request keeps bob's session alive; alice's expires.
	clock.Advance(45 * time.Minute)
	if _, err := bob.ListTools(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitQuiet(t, e.p)
	if n := e.p.ExpireIdle(); n != 1 {
		t.Fatalf("ExpireIdle = %d, want 1 (alice's session)", n)
	}
	if _, err := alice.ListTools(ctx, nil); err == nil {
		t.Error("a request on the expired session succeeded")
	}
	if _, err := bob.ListTools(ctx, nil); err != nil {
		t.Errorf("bob's live session: %v", err)
	}
	// A full table makes room by expiring idle sessions first.
	e.connect(t, aliceToken, "2025-11-25", nil)
	waitQuiet(t, e.p)
	clock.Advance(2 * time.Hour)
	third := e.connect(t, aliceToken, "2025-11-25", nil)
	if _, err := third.ListTools(ctx, nil); err != nil {
		t.Errorf("initialize with a full table of idle sessions: %v", err)
	}
	if n := e.p.Sessions(); n != 1 {
		t.Errorf("sessions = %d after making room, want 1", n)
	}
}
