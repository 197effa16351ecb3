package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/mcp/mcptest"
)

// Pinned npm packages of the stateless-era end-to-end test: the
// TypeScript SDK v2, the first released SDK speaking protocol 2026-07-28
// (versions from npm view).
var e2eV2Packages = []string{
	"@modelcontextprotocol/client@2.4.0",
	"@modelcontextprotocol/server@2.4.0",
	"@modelcontextprotocol/node@2.1.2",
}

// startStatelessServer starts stateless-server.mjs and returns its
// endpoint and the file where it logs the requests that reach it.
func startStatelessServer(t *testing.T, ctx context.Context, prefix string) (endpoint, logFile string) {
	t.Helper()
	logFile = filepath.Join(t.TempDir(), "upstream.jsonl")
	srv := exec.CommandContext(ctx, "node", e2eScript(t, prefix, "stateless-server.mjs"), logFile)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
	})
	// The server prints "listening PORT" once it accepts connections.
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	var port int
	select {
	case s := <-line:
		if _, err := fmt.Sscanf(s, "listening %d", &port); err != nil {
			t.Fatalf("server said %q: %v\n%s", s, err, stderr.String())
		}
	case <-ctx.Done():
		t.Fatalf("the server did not start: %v\n%s", ctx.Err(), stderr.String())
	}
	return fmt.Sprintf("http://127.0.0.1:%d/mcp", port), logFile
}

// upstreamRequest is one request as stateless-server.mjs logged it.
type upstreamRequest struct {
	Method          string  `json:"method"`
	MCPMethod       *string `json:"mcpMethod"`
	MCPName         *string `json:"mcpName"`
	ProtocolVersion *string `json:"protocolVersion"`
	// RetryMembers are the multi round-trip members the params held.
	RetryMembers []string `json:"retryMembers"`
}

func readUpstreamLog(t *testing.T, path string) []upstreamRequest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []upstreamRequest
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var r upstreamRequest
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("upstream log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// TestE2EStatelessProxy runs a 2026-07-28 (stateless) client and server,
// both on the TypeScript SDK v2, through mcp proxy: the client discovers
// the server without a session, the policy hides and denies get-env, a
// credential in a result is redacted, and every request reaching the
// server carries Mcp-Method and Mcp-Name headers that match its body.
func TestE2EStatelessProxy(t *testing.T) {
	prefix := mcptest.NPMPrefix(t, e2eV2Packages...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	upstream, upstreamLog := startStatelessServer(t, ctx, prefix)
	g, _ := e2eGateway(t)
	auth, err := NewTokenAuth(map[string]string{aliceToken: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProxy(ProxyOptions{Gateway: g, Upstream: upstream, Server: "stateless", Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	defer func() {
		p.Close()
		front.CloseClientConnections()
		front.Close()
	}()

	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", e2eScript(t, prefix, "stateless-client.mjs"), front.URL+"/mcp", aliceToken)
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s\n%s", err, raw, stderr.String())
	}
	var out struct {
		Failure         string      `json:"failure"`
		ProtocolVersion string      `json:"protocolVersion"`
		Discovered      bool        `json:"discovered"`
		SessionID       *string     `json:"sessionId"`
		Tools           []string    `json:"tools"`
		Echo            peerAttempt `json:"echo"`
		Env             peerAttempt `json:"env"`
		Note            peerAttempt `json:"note"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("node client output %s: %v", raw, err)
	}
	if out.Failure != "" {
		t.Fatalf("node client failed: %s\n%s", out.Failure, stderr.String())
	}
	if out.ProtocolVersion != "2026-07-28" || !out.Discovered || out.SessionID != nil {
		t.Errorf("client negotiated %q (discovered %v, session %v), want stateless 2026-07-28",
			out.ProtocolVersion, out.Discovered, out.SessionID)
	}
	if want := []string{"echo", "read_note"}; !slices.Equal(out.Tools, want) {
		t.Errorf("tools = %v, want %v (get-env hidden by policy)", out.Tools, want)
	}
	if out.Echo.Result == nil || out.Echo.Result.text() != "echo: hello, stateless" {
		t.Errorf("echo = %+v", out.Echo)
	}
	if e := out.Env.Error; e == nil || e.Code == nil || *e.Code != CodeDenied || !strings.Contains(string(e.Data), `"stage":"policy"`) {
		t.Errorf("get-env = %+v, want a -32000 denial at stage policy (hidden by a rule)", out.Env)
	}
	if r := out.Note.Result; r == nil || strings.Contains(r.text(), "AKIAIOSFODNN7EXAMPLE") || !strings.Contains(r.text(), "Deploy at noon.") {
		t.Errorf("read_note = %+v, want the key redacted and the rest kept", out.Note)
	}

	// A request whose Mcp-Method header disagrees with its body is refused
	// before anything trusts it.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, front.URL+"/mcp",
		strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"message":"smuggled"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`))
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/list")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "-32020") {
		t.Errorf("mismatched Mcp-Method: %d %s, want 400 with -32020", resp.StatusCode, body)
	}

	// What reached the server: stateless requests only, each with headers
	// matching its body; nothing for the denied tool or the smuggled call.
	reqs := readUpstreamLog(t, upstreamLog)
	var calls []string
	for _, r := range reqs {
		if r.Method == "initialize" {
			t.Errorf("a session handshake reached the server: %+v", r)
		}
		if r.ProtocolVersion == nil || *r.ProtocolVersion != "2026-07-28" || r.MCPMethod == nil || *r.MCPMethod != r.Method {
			t.Errorf("request %s reached the server with headers %+v", r.Method, r)
		}
		if r.Method == "tools/call" {
			if r.MCPName == nil {
				t.Errorf("tools/call without Mcp-Name: %+v", r)
				continue
			}
			calls = append(calls, *r.MCPName)
		}
	}
	if want := []string{"echo", "read_note"}; !slices.Equal(calls, want) {
		t.Errorf("tools/call reaching the server named %v, want %v", calls, want)
	}
	if !slices.ContainsFunc(reqs, func(r upstreamRequest) bool { return r.Method == "server/discover" }) {
		t.Errorf("no server/discover reached the server: %+v", reqs)
	}
}
