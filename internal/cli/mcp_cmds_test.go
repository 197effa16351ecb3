package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp"
	"github.com/agentos/agentos/mcp/mcptest"
)

// bearerTransport adds a bearer token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)/`)

// proxyApprovalRule holds echo of "approve-me" for approval.
const proxyApprovalRule = `  - name: approve-echo
    priority: 10
    condition: {field: args.msg, operator: eq, value: approve-me}
    action: require_approval
`

// TestMCPProxyCommand runs agentos mcp proxy as a process in front of the
// fixture server over Streamable HTTP, with --approve-via elicitation.
func TestMCPProxyCommand(t *testing.T) {
	t.Parallel()
	fx := mcptest.New(mcptest.Options{})
	upstream := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return fx.Server }, nil))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	pol := writeFile(t, dir, "policy.yaml", wrapPolicy+proxyApprovalRule)
	const token = "cli-test-token-0123456789abcdef"
	cmd := exec.Command(os.Args[0], "mcp", "proxy", "--upstream", upstream.URL, "--listen", "127.0.0.1:0",
		"--data-dir", filepath.Join(dir, "data"), "--policy", pol, "--server-name", "fixture", "--approve-via", "elicitation")
	cmd.Env = append(os.Environ(), envRoleMain+"=1", tokenEnv+"="+token)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// The proxy names its address on stderr; the rest of stderr is kept
	// for failure messages.
	var log syncBuffer
	base := ""
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.Write([]byte(sc.Text() + "\n"))
		if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatalf("the proxy did not say where it listens; stderr:\n%s", log.String())
	}
	go io.Copy(&log, stderr)
	endpoint := base + "/mcp"

	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"wrong token", map[string]string{"Authorization": "Bearer wrong-token-0123456789abcdef"}, http.StatusUnauthorized},
		{"foreign origin", map[string]string{"Authorization": "Bearer " + token, "Origin": "https://evil.example"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(initBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
		if tt.want == http.StatusUnauthorized && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Errorf("%s: WWW-Authenticate = %q", tt.name, resp.Header.Get("WWW-Authenticate"))
		}
	}

	ctx := t.Context()
	tr := &sdk.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Transport: bearerTransport{token}}}
	var asked atomic.Int32 // the handler runs in the SDK's goroutine
	copts := &sdk.ClientOptions{ElicitationHandler: func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
		asked.Add(1)
		return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": true}}, nil
	}}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "cli-test", Version: "1"}, copts).Connect(ctx, tr,
		&sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("connect through the proxy: %v\nstderr:\n%s", err, log.String())
	}
	defer cs.Close()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tl := range res.Tools {
		names[tl.Name] = true
	}
	if !names[mcptest.ToolEcho] || names[mcptest.ToolPoisoned] {
		t.Errorf("tools through the proxy = %v, want echo and not the poisoned tool", names)
	}
	r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: map[string]any{"msg": "hi"}})
	if err != nil || len(r.Content) == 0 {
		t.Fatalf("echo through the proxy = %v, %v", r, err)
	}
	if tc, _ := r.Content[0].(*sdk.TextContent); tc == nil || tc.Text != "echo: hi" {
		t.Errorf("echo through the proxy = %+v, want echo: hi", r.Content[0])
	}
	_, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: map[string]any{"msg": "forbidden"}})
	var we *jsonrpc.Error
	if !errors.As(err, &we) || we.Code != mcp.CodeDenied {
		t.Errorf("forbidden echo through the proxy = %v, want a -32000 denial", err)
	}
	if got := fx.Calls(mcptest.ToolEcho); got != 1 {
		t.Errorf("the server ran echo %d times, want 1 (the denied call never reaches it)", got)
	}
	// A held call is put to the client's user, who approves it.
	r, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: map[string]any{"msg": "approve-me"}})
	if err != nil || len(r.Content) == 0 || asked.Load() != 1 {
		t.Fatalf("held echo through the proxy = %v, %v (asked %d times)", r, err, asked.Load())
	}
	if tc, _ := r.Content[0].(*sdk.TextContent); tc == nil || tc.Text != "echo: approve-me" {
		t.Errorf("approved echo through the proxy = %+v, want echo: approve-me", r.Content[0])
	}
}

// TestMCPProxyApproveVia: the proxy takes --approve-via elicitation only.
func TestMCPProxyApproveVia(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, _, stderr := run(t, "", "mcp", "proxy", "--upstream", "http://127.0.0.1:1/mcp", "--data-dir", filepath.Join(dir, "data"),
		"--approve-via", "daemon")
	if code != ExitUsage || !strings.Contains(stderr, "supports only elicitation") {
		t.Errorf("exit %d, stderr %q; want %d saying only elicitation is supported", code, stderr, ExitUsage)
	}
}

// TestMCPServeCommand drives agentos mcp serve over stdio with a Go SDK
// client.
func TestMCPServeCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pol := writeFile(t, dir, "sql.yaml", sqlPolicy)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		code := Main(ctx, Env{Args: []string{"mcp", "serve", "--no-audit", "--policy", pol}, Stdin: inR, Stdout: outW, Stderr: &stderr})
		outW.Close()
		done <- code
	}()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "cli-test", Version: "1"}, nil).Connect(ctx,
		&sdk.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatalf("connect to mcp serve: %v\nstderr: %s", err, stderr.String())
	}
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tl := range res.Tools {
		names[tl.Name] = true
	}
	for _, want := range []string{"check_policy", "verify_code_safety", "scan_text", "get_audit_log"} {
		if !names[want] {
			t.Errorf("mcp serve lists %v, missing %s", names, want)
		}
	}
	tests := []struct {
		query      string
		wantAction string
		allowed    bool
		rule       string
	}{
		{"DROP TABLE users", "deny", false, "block-drop"},
		{"SELECT 1", "audit", true, "audit-all"},
	}
	for _, tt := range tests {
		r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "check_policy",
			Arguments: map[string]any{"tool_name": "database_query", "args": map[string]any{"query": tt.query}}})
		if err != nil || r.IsError {
			t.Fatalf("check_policy(%q) = %+v, %v", tt.query, r, err)
		}
		out, _ := r.StructuredContent.(map[string]any)
		if out["action"] != tt.wantAction || out["allowed"] != tt.allowed || out["rule"] != tt.rule {
			t.Errorf("check_policy(%q) = %v, want action %s, allowed %v, rule %s", tt.query, out, tt.wantAction, tt.allowed, tt.rule)
		}
	}
	cs.Close()
	inW.Close()
	if code := <-done; code != 0 {
		t.Errorf("mcp serve exit code = %d, stderr: %s", code, stderr.String())
	}
}

// chanNotifier passes approval events to a channel.
type chanNotifier chan approval.Event

func (c chanNotifier) Notify(e approval.Event) { c <- e }

// TestMCPApproveCommand: a call held by a gateway's standalone approvals
// is listed by agentos mcp approve and decided by its vote.
func TestMCPApproveCommand(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	alog, err := audit.NewMemory(audit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chanNotifier, 64)
	ap, err := mcp.NewApprovals(mcp.ApprovalsOptions{Dir: filepath.Join(data, mcp.ApprovalDirName), Auditor: alog, Webhook: events})
	if err != nil {
		t.Fatal(err)
	}
	defer ap.Close()
	ctx := t.Context()

	code, out, _ := run(t, "", "mcp", "approve", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "no calls awaiting approval") {
		t.Errorf("approve with nothing pending = %d %q", code, out)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		approve bool
		verb    string
	}{
		{"approve", []string{"--approver", "alice", "--comment", "looks fine"}, true, "approval of"},
		{"deny", []string{"--approver", "alice", "--deny"}, false, "denial of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				ok  bool
				err error
			}
			done := make(chan result, 1)
			go func() {
				ok, _, err := ap.Approve(ctx, kernel.ApprovalRequest{AgentID: "mcp-client", Syscall: kernel.SysExec,
					Tool: "write_file", ArgsHash: strings.Repeat("ab", 32), Rule: "ask-before-writing", Reason: "writes need a person",
					ArgsPreview: json.RawMessage(`{"path": "/srv/notes.txt", "token": "[REDACTED]"}`)})
				done <- result{ok, err}
			}()
			var id string
			for ev := range events {
				if ev.Kind == approval.EventSubmitted {
					id = ev.RequestID
					break
				}
			}
			code, out, errOut := run(t, "", "mcp", "approve", "--data-dir", data)
			if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "write_file") || !strings.Contains(out, "ask-before-writing") ||
				!strings.Contains(out, `{"path":"/srv/notes.txt","token":"[REDACTED]"}`) {
				t.Fatalf("approve (list) = %d %q %q, want the request %s", code, out, errOut, id)
			}
			code, _, errOut = run(t, "", append([]string{"mcp", "approve", "no-such-id", "--data-dir", data}, tc.args...)...)
			if code != ExitFailure || !strings.Contains(errOut, "no call awaiting approval") {
				t.Errorf("vote on an unknown ID = %d %q", code, errOut)
			}
			code, out, errOut = run(t, "", append([]string{"mcp", "approve", id, "--data-dir", data}, tc.args...)...)
			if code != 0 || !strings.Contains(out, tc.verb+" "+id+" by alice") {
				t.Fatalf("approve %s = %d %q %q", id, code, out, errOut)
			}
			ap.Poll(ctx)
			r := <-done
			if r.err != nil || r.ok != tc.approve {
				t.Errorf("decision = %v, %v; want approved %v", r.ok, r.err, tc.approve)
			}
			code, out, _ = run(t, "", "mcp", "approve", "--data-dir", data)
			if code != 0 || strings.Contains(out, id) {
				t.Errorf("after the vote, approve (list) = %d %q", code, out)
			}
		})
	}
}
