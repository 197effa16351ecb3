package mcp

import (
	"context"
	"io"
	"sync"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp/mcptest"
	"github.com/agentos/agentos/policy"
)

const testAgent = "mcp-agent"

// testPolicy allows by default, hides tool_1, denies echo of "forbidden"
// and holds tool_2 for approval.
const testPolicy = `version: "1.0"
name: mcp-test
defaults:
  action: allow
rules:
  - name: hide-tool-1
    priority: 10
    condition: {field: tool_name, operator: eq, value: tool_1}
    action: deny
    message: tool_1 is not for this agent
  - name: no-forbidden-echo
    priority: 10
    condition: {field: args.msg, operator: eq, value: forbidden}
    action: deny
    message: that message is forbidden
  - name: approve-tool-2
    priority: 10
    condition: {field: tool_name, operator: eq, value: tool_2}
    action: require_approval
`

// env is a fixture server and an SDK client joined through a gateway
// session over in-memory pipes.
type env struct {
	t      testing.TB
	k      *kernel.Kernel
	log    *audit.Memory
	g      *Gateway
	s      *Session
	fx     *mcptest.Fixture
	cs     *sdk.ClientSession
	runErr chan error
	cancel context.CancelFunc
	// raw is the client side as a Conn, when no SDK client is connected.
	raw Conn
	// closeOnce makes close idempotent (a test may end the session before
	// its cleanup does).
	closeOnce sync.Once
}

type envConfig struct {
	opts     Options
	fixture  mcptest.Options
	client   *sdk.ClientOptions
	noPolicy bool
	// policy is the YAML policy of the kernel and the gateway; "":
	// testPolicy.
	policy     string
	pinsPath   string
	skipClient bool
	// protocol is the protocol version the client asks for; "": the SDK's
	// latest.
	protocol string
	// approver, if set, builds the kernel's Approver on the env's audit
	// log.
	approver func(kernel.Auditor) kernel.Approver
	// elicit lets the session ask approvals through elicitation.
	elicit bool
	// auditor, if set, is the audit log of the kernel and the gateway
	// instead of the env's in-memory one (which then stays empty).
	auditor kernel.Auditor
}

// pipePair returns two connected ends: what one writes the other reads.
func pipePair() (aR *io.PipeReader, aW *io.PipeWriter, bR *io.PipeReader, bW *io.PipeWriter) {
	r1, w1 := io.Pipe()
	r2, w2 := io.Pipe()
	return r1, w2, r2, w1
}

func newEnv(t testing.TB, cfg envConfig) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &env{t: t, cancel: cancel, runErr: make(chan error, 1)}
	var err error
	e.log, err = audit.NewMemory(audit.MemoryOptions{MaxEvents: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var pol Policy
	var auditor kernel.Auditor = e.log
	if cfg.auditor != nil {
		auditor = cfg.auditor
	}
	kopts := kernel.Options{Auditor: auditor, Permissive: cfg.noPolicy}
	if cfg.approver != nil {
		kopts.Approver = cfg.approver(e.log)
	}
	if !cfg.noPolicy {
		src := cfg.policy
		if src == "" {
			src = testPolicy
		}
		docs, err := policy.Parse("mcp-test.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		set, err := policy.Compile(docs, policy.CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kopts.Policy, pol = set, set
	}
	e.k, err = kernel.New(kopts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.k.Spawn(ctx, kernel.AgentSpec{ID: testAgent}); err != nil {
		t.Fatal(err)
	}
	opts := cfg.opts
	opts.Kernel, opts.AgentID, opts.Auditor = e.k, testAgent, auditor
	if opts.Policy == nil {
		opts.Policy = pol
	}
	if cfg.pinsPath != "" {
		opts.Pins, err = OpenPins(PinOptions{Path: cfg.pinsPath})
		if err != nil {
			t.Fatal(err)
		}
	}
	e.g, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.s, err = e.g.NewSession(SessionOptions{Server: "fixture", ID: "sess-1", ApprovalElicitation: cfg.elicit})
	if err != nil {
		t.Fatal(err)
	}
	e.fx = mcptest.New(cfg.fixture)

	// server <-> gateway
	sR, sW, gR, gW := pipePair()
	if _, err := e.fx.Server.Connect(ctx, &sdk.IOTransport{Reader: sR, Writer: sW}, nil); err != nil {
		t.Fatal(err)
	}
	upstream := NewStreamConn(gR, gW, StreamOptions{})
	// client <-> gateway
	cR, cW, hR, hW := pipePair()
	down := NewStreamConn(hR, hW, StreamOptions{})
	go func() { e.runErr <- e.s.Run(ctx, down, upstream) }()
	t.Cleanup(e.close)
	if cfg.skipClient {
		e.raw = NewStreamConn(cR, cW, StreamOptions{})
		return e
	}
	copts := cfg.client
	if copts == nil {
		copts = &sdk.ClientOptions{}
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "test-client", Version: "1"}, copts)
	var sopts *sdk.ClientSessionOptions
	if cfg.protocol != "" {
		sopts = &sdk.ClientSessionOptions{ProtocolVersion: cfg.protocol}
	}
	e.cs, err = c.Connect(ctx, &sdk.IOTransport{Reader: cR, Writer: cW}, sopts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// close ends the session, waits until its Run returned (every governed
// call finished and audited) and closes the kernel. It is idempotent.
func (e *env) close() { e.closeOnce.Do(e.doClose) }

func (e *env) doClose() {
	if e.cs != nil {
		e.cs.Close()
	}
	if e.raw != nil {
		e.raw.Close()
	}
	e.cancel()
	<-e.runErr
	e.k.Close()
}

// events returns the audit events of a kind.
func (e *env) events(kind audit.Kind) []audit.Event {
	var out []audit.Event
	for _, ev := range e.log.Events(0, uint64(e.log.Len())) {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func toolNames(res *sdk.ListToolsResult) map[string]bool {
	m := make(map[string]bool)
	for _, t := range res.Tools {
		m[t.Name] = true
	}
	return m
}

func resultText(r *sdk.CallToolResult) string {
	var s string
	for _, c := range r.Content {
		if t, ok := c.(*sdk.TextContent); ok {
			s += t.Text
		}
	}
	return s
}
