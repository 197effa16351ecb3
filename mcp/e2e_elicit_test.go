package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp/mcptest"
	"github.com/agentos/agentos/policy"
)

// elicitOutput is what elicit-client.mjs and input-required-client.mjs
// print.
type elicitOutput struct {
	Failure         string      `json:"failure"`
	ProtocolVersion string      `json:"protocolVersion"`
	Questions       []string    `json:"questions"`
	Approved        peerAttempt `json:"approved"`
	Declined        peerAttempt `json:"declined"`
}

// runNodeClient runs a node client script with args and decodes what it
// prints.
func runNodeClient(t *testing.T, ctx context.Context, script string, args ...string) elicitOutput {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s\n%s", err, raw, stderr.String())
	}
	var out elicitOutput
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("node client output %s: %v", raw, err)
	}
	if out.Failure != "" {
		t.Fatalf("node client failed: %s\n%s", out.Failure, stderr.String())
	}
	return out
}

// checkElicitOutput checks that the approved call ran (its result text
// holding want), the declined one was denied at stage approval, and the
// user was asked exactly twice, about each call.
func checkElicitOutput(t *testing.T, out elicitOutput, want string) {
	t.Helper()
	if r := out.Approved.Result; r == nil || r.IsError || !strings.Contains(r.text(), want) {
		t.Errorf("approved call = %+v, want a result holding %q", out.Approved, want)
	}
	if e := out.Declined.Error; e == nil || e.Code == nil || *e.Code != CodeDenied || !strings.Contains(string(e.Data), `"stage":"approval"`) {
		t.Errorf("declined call = %+v, want a -32000 denial at stage approval", out.Declined)
	}
	if len(out.Questions) != 2 || !strings.Contains(out.Questions[0], "approve me") || !strings.Contains(out.Questions[1], "decline me") {
		t.Errorf("questions = %q, want one about each call", out.Questions)
	}
}

// TestE2EProxyElicitation runs a session-era client on the TypeScript
// SDK v1 through mcp proxy with --approve-via elicitation: the question
// reaches it on the call's event stream, its POSTed answer approves one
// call and declines the other, and the answers never reach the server.
func TestE2EProxyElicitation(t *testing.T) {
	prefix := e2ePrefix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newProxyEnv(t, proxyConfig{approvals: &ApprovalsOptions{ElicitOnly: true}, elicit: true})
	out := runNodeClient(t, ctx, e2eScript(t, prefix, "elicit-client.mjs"), e.front.URL+"/mcp", aliceToken, "tool_2")
	checkElicitOutput(t, out, "ok")
	if got := strings.Join(auditedVotes(e.log), ","); got != "elicitation:agentos-e2e-elicit=yes,elicitation:agentos-e2e-elicit=no" {
		t.Errorf("audited votes = %q", got)
	}
	for _, b := range e.upstreamBodies() {
		if strings.Contains(b, `"action"`) {
			t.Errorf("an answer reached the server: %s", b)
		}
	}
}

// e2eApprovalPolicy holds echo for approval.
const e2eApprovalPolicy = `version: "1.0"
name: e2e-approval
defaults:
  action: allow
rules:
  - name: approve-echo
    condition: {field: tool_name, operator: eq, value: echo}
    action: require_approval
    message: echoing needs a person's approval
`

// TestE2EStatelessInputRequired runs a stateless (2026-07-28) client and
// server, both on the TypeScript SDK v2, through mcp proxy with
// --approve-via elicitation: the held call is answered with an
// input_required result, the SDK asks its user and retries with the
// answer, which approves one call and declines the other; the server sees
// the approved call only, without the gateway's members.
func TestE2EStatelessInputRequired(t *testing.T) {
	prefix := mcptest.NPMPrefix(t, e2eV2Packages...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	upstream, upstreamLog := startStatelessServer(t, ctx, prefix)
	log, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := policy.Parse("e2e-approval.yaml", []byte(e2eApprovalPolicy))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Compile(docs, policy.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := NewApprovals(ApprovalsOptions{Dir: t.TempDir(), Auditor: log, ElicitOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ap.Close()
	k, err := kernel.New(kernel.Options{Auditor: log, Policy: set, Approver: ap})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Spawn(ctx, kernel.AgentSpec{ID: testAgent}); err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Kernel: k, AgentID: testAgent, Auditor: log, Policy: set})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := NewTokenAuth(map[string]string{aliceToken: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProxy(ProxyOptions{Gateway: g, Upstream: upstream, Server: "stateless", Auth: auth, ApprovalElicitation: true})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	defer func() {
		p.Close()
		front.CloseClientConnections()
		front.Close()
	}()

	out := runNodeClient(t, ctx, e2eScript(t, prefix, "input-required-client.mjs"), front.URL+"/mcp", aliceToken)
	if out.ProtocolVersion != ProtocolStateless {
		t.Errorf("negotiated %q, want %s", out.ProtocolVersion, ProtocolStateless)
	}
	checkElicitOutput(t, out, "echo: approve me")
	if got := strings.Join(auditedVotes(log), ","); got != "elicitation:agentos-e2e-input-required=yes,elicitation:agentos-e2e-input-required=no" {
		t.Errorf("audited votes = %q", got)
	}
	var calls []string
	for _, r := range readUpstreamLog(t, upstreamLog) {
		if r.Method == "tools/call" && r.MCPName != nil {
			calls = append(calls, *r.MCPName)
			if len(r.RetryMembers) > 0 {
				t.Errorf("a call reached the server with the gateway's members %v", r.RetryMembers)
			}
		}
	}
	if len(calls) != 1 || calls[0] != "echo" {
		t.Errorf("calls reaching the server = %v, want the approved echo only", calls)
	}
}
