package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/approval/approvaltest"
	"github.com/agentos/agentos/audit"
	auditsqlite "github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

// testPolicy exercises every decision the API maps.
const testPolicy = `version: "1.0"
name: test
defaults:
  action: allow
rules:
  - name: deny-secrets
    priority: 100
    condition: {field: args.path, operator: matches, value: '^/secret'}
    action: deny
    message: secrets are off limits
  - name: deny-rm
    priority: 100
    match: {tools: [rm]}
    action: deny
    message: no rm
  - name: approve-email
    priority: 50
    match: {tools: [send_email]}
    action: require_approval
    message: email needs a person
  - name: limit-search
    priority: 40
    match: {tools: [search]}
    action: rate_limit
    limit: 2/hour
`

// env is a daemon on real components: kernel, policy engine, SQLite
// audit log in a temporary directory, approval broker, token store.
type env struct {
	t       *testing.T
	s       *Server
	ts      *httptest.Server
	log     *audit.Log
	dir     string
	policy  string
	clock   *approvaltest.Clock
	tokens  map[string]string // role name → secret
	tstore  *TokenStore
	echoRun chan string
}

type envOpts struct {
	insecure bool
	ui       http.Handler
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, tokens: map[string]string{}, clock: approvaltest.NewClock(time.Time{}), echoRun: make(chan string, 64)}
	e.policy = filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(e.policy, []byte(testPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: filepath.Join(dir, "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e.log, err = audit.Open(ctx, audit.Options{Store: store, Dir: dir, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.log.Close() })
	e.tstore, err = OpenTokenStore(TokenStoreOptions{Path: filepath.Join(dir, TokensFile), RecheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key   string
		role  Role
		agent string
	}{{"admin", RoleAdmin, ""}, {"admin2", RoleAdmin, ""}, {"auditor", RoleAuditor, ""}, {"agent", RoleAgent, "a1"}, {"other", RoleAgent, "a2"}} {
		_, sec, err := e.tstore.Create(c.role, c.agent, c.key)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[c.key] = sec
	}
	echo := kernel.Tool{Name: "echo", Func: func(ctx context.Context, args json.RawMessage) (any, error) {
		e.echoRun <- string(args)
		return map[string]any{"echo": json.RawMessage(args)}, nil
	}}
	send := kernel.Tool{Name: "send_email", Func: func(ctx context.Context, args json.RawMessage) (any, error) {
		return "sent", nil
	}}
	e.s, err = New(ctx, Options{
		AuditLog: e.log, PolicySource: e.policy,
		Policy: func(context.Context) ([]*policy.Document, error) { return policy.LoadFiles(e.policy) },
		Tokens: e.tstore, InsecureNoAuth: o.insecure, UI: o.ui,
		Tools:    []kernel.Tool{echo, send},
		Approval: approval.Options{Clock: e.clock},
		Version:  "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(e.s.Handler())
	t.Cleanup(func() {
		e.ts.Close()
		_ = e.s.Shutdown(context.WithoutCancel(ctx))
	})
	return e
}

// do sends a request with the token of role key ("" for none) and
// decodes the JSON answer into out (if not nil).
func (e *env) do(method, path, key string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[key])
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// spawn spawns agent id as admin.
func (e *env) spawn(id string) {
	e.t.Helper()
	if code := e.do("POST", "/v1/agents", "admin", map[string]any{"id": id}, nil); code != http.StatusCreated {
		e.t.Fatalf("spawn %s: status %d", id, code)
	}
}

// apiErr is the error envelope for assertions.
type apiErr struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// writeFile replaces a file's content.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// streamStatus opens a streaming GET and returns its status without
// reading the body.
func (e *env) streamStatus(path, key string) int {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[key])
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
