package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// ToolScanner scans one tool definition. *detect.MCPScanner implements it.
// An error makes the gateway hide the tool (fail closed).
type ToolScanner interface {
	ScanTool(ctx context.Context, server string, t detect.Tool) ([]detect.Threat, error)
}

// ResponseScanner scans text a server sends toward the model.
// *detect.ResponseScanner implements it. Threats must carry byte spans
// (Start, End) for sanitizing; a threat without one (Start < 0) cannot be
// sanitized and blocks.
type ResponseScanner interface {
	ScanResponse(ctx context.Context, text, toolName string) detect.ResponseScan
}

// Policy decides actions; the gateway asks it, with empty arguments, which
// tools, prompts and resources a client may see, and, before a
// prompts/get or resources/read, whether a rule decides it (then the
// kernel does; see ToolResourcesRead). *policy.Engine and *policy.Set
// implement it.
type Policy interface {
	Evaluate(ctx context.Context, input map[string]any) policy.Decision
}

// ResponseMode says what the gateway does with a response the scanner
// flags.
type ResponseMode uint8

// Response modes.
const (
	// ResponseSanitize (the zero value) replaces each flagged span: a
	// credential with "[REDACTED:<type>]", anything else with "[REMOVED]".
	// A flagged response without spans is blocked.
	ResponseSanitize ResponseMode = iota
	// ResponseBlock replaces a flagged tools/call result with an isError
	// result naming the threat categories (never the matched text), and
	// answers other flagged responses with a denial.
	ResponseBlock
	// ResponseWarn passes flagged responses unchanged and audits them.
	ResponseWarn
	// ResponseOff does not scan responses.
	ResponseOff
)

// String returns the mode's name.
func (m ResponseMode) String() string {
	switch m {
	case ResponseSanitize:
		return "sanitize"
	case ResponseBlock:
		return "block"
	case ResponseWarn:
		return "warn"
	case ResponseOff:
		return "off"
	}
	return "unknown"
}

// ParseResponseMode parses "sanitize", "block", "warn" or "off".
func ParseResponseMode(s string) (ResponseMode, error) {
	for m := ResponseSanitize; m <= ResponseOff; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("response mode %q: want sanitize, block, warn or off", s)
}

// Defaults for zero Options fields.
const (
	DefaultCallTimeout  = 10 * time.Minute
	DefaultMaxInFlight  = 1024
	DefaultAuditTimeout = 5 * time.Second
)

// Options configure a Gateway.
type Options struct {
	// Kernel runs every tools/call through its pipeline. Required. The
	// gateway registers, under each visible tool's name, a kernel tool
	// that forwards the call to the server; a name already registered by
	// someone else hides the tool.
	Kernel *kernel.Kernel
	// AgentID is the agent every call runs as; it must already be spawned
	// in Kernel. Required.
	AgentID string
	// Auditor records the gateway's own decisions (kind mcp_message); it
	// should be the kernel's. Required.
	Auditor kernel.Auditor
	// Policy decides, with empty arguments, which tools, prompts and
	// resources a client may see, and which prompts/get and
	// resources/read requests go through the kernel; it must be the
	// kernel's. nil: nothing is hidden by policy, tools/call is still
	// decided by the kernel, prompts/get and resources/read are not.
	Policy Policy
	// Pins keeps tool-definition pins. nil: pins in memory only.
	Pins *PinStore
	// ApproveNewTools hides a tool seen for the first time until it is
	// approved (agentos mcp pins approve). false: new tools are pinned on
	// first use, unless the scanner flags them.
	ApproveNewTools bool
	// ToolScanner scans tool definitions. nil: detect.NewMCPScanner with
	// default options.
	ToolScanner ToolScanner
	// HideSeverity is the least severe scanner threat that hides a tool;
	// less severe threats are audited only. Zero (SeverityInfo): hide at
	// SeverityHigh.
	HideSeverity detect.Severity
	// ResponseScanner scans responses. nil: detect.NewResponseScanner
	// with the full secrets detector (detect.NewSecrets), so that every
	// kind of credential it knows is caught, not only the reference's
	// nine patterns, and with ResponseInjection.
	ResponseScanner ResponseScanner
	// ResponseInjection, if set, is the prompt-injection detector the
	// default response scanner also judges every response with (its rules
	// and its model's data head; see detect.ResponseOptions.Injection).
	// A response its model flags cannot be sanitized, only blocked or
	// passed with a warning. Ignored when ResponseScanner is set. nil:
	// the reference's injection rules only.
	ResponseInjection *detect.Injection
	// ResponseMode says what happens to flagged responses. Zero:
	// ResponseSanitize.
	ResponseMode ResponseMode
	// DenyAsToolError answers a denied tools/call with a result carrying
	// isError and the reason, so the model sees why. false: a JSON-RPC
	// error CodeDenied with data {stage, reason, rule}.
	DenyAsToolError bool
	// CallTimeout bounds one governed tools/call. 0: DefaultCallTimeout.
	CallTimeout time.Duration
	// MaxInFlight bounds the requests in flight in each direction of a
	// session; a request beyond it is refused. 0: DefaultMaxInFlight.
	MaxInFlight int
	// AuditTimeout bounds one audit append of the gateway. 0:
	// DefaultAuditTimeout.
	AuditTimeout time.Duration
	// Clock stamps audit events. nil: the wall clock.
	Clock Clock
	// Logger receives the gateway's logs. nil: discard.
	Logger *slog.Logger
}

// Gateway governs MCP sessions on behalf of one agent. Build it with New;
// it is safe for concurrent use by any number of sessions.
type Gateway struct {
	k          *kernel.Kernel
	agentID    string
	auditor    kernel.Auditor
	policy     Policy
	pins       *PinStore
	approveNew bool
	tscan      ToolScanner
	hideSev    detect.Severity
	rscan      ResponseScanner
	// rclear is rscan when it is the detect package's scanner, whose
	// ClearJSON lets a clean response skip the decode and the walk; nil
	// for any other scanner.
	rclear       *detect.ResponseScanner
	rmode        ResponseMode
	denyAsResult bool
	callTimeout  time.Duration
	maxInFlight  int
	auditTimeout time.Duration
	clock        Clock
	log          *slog.Logger

	// policyAgent is the agent part of dry-run policy inputs.
	policyAgent map[string]any

	mu sync.Mutex
	// owned names the kernel tools this gateway registered. Guarded by mu.
	owned map[string]bool

	cacheMu sync.Mutex
	// inspected caches verdicts by SHA-256 of server and definition bytes.
	// Guarded by cacheMu.
	inspected map[[32]byte]verdict
}

// New returns a Gateway. It fails, naming the field, for a missing Kernel,
// Auditor or AgentID, an agent the kernel does not know, or a negative
// bound.
func New(opts Options) (*Gateway, error) {
	switch {
	case opts.Kernel == nil:
		return nil, errors.New("mcp: Options.Kernel is required")
	case opts.Auditor == nil:
		return nil, errors.New("mcp: Options.Auditor is required")
	case opts.AgentID == "":
		return nil, errors.New("mcp: Options.AgentID is required")
	case opts.CallTimeout < 0:
		return nil, errors.New("mcp: Options.CallTimeout is negative")
	case opts.MaxInFlight < 0:
		return nil, errors.New("mcp: Options.MaxInFlight is negative")
	case opts.AuditTimeout < 0:
		return nil, errors.New("mcp: Options.AuditTimeout is negative")
	case opts.ResponseMode > ResponseOff:
		return nil, fmt.Errorf("mcp: Options.ResponseMode %d is not a mode", opts.ResponseMode)
	}
	a := opts.Kernel.Agent(opts.AgentID)
	if a == nil {
		return nil, fmt.Errorf("mcp: Options.AgentID %q: no such agent in the kernel", opts.AgentID)
	}
	g := &Gateway{
		k: opts.Kernel, agentID: opts.AgentID, auditor: opts.Auditor, policy: opts.Policy,
		pins: opts.Pins, approveNew: opts.ApproveNewTools, tscan: opts.ToolScanner,
		hideSev: opts.HideSeverity, rscan: opts.ResponseScanner, rmode: opts.ResponseMode,
		denyAsResult: opts.DenyAsToolError, callTimeout: opts.CallTimeout,
		maxInFlight: opts.MaxInFlight, auditTimeout: opts.AuditTimeout,
		clock: opts.Clock, log: opts.Logger, owned: make(map[string]bool),
		inspected: make(map[[32]byte]verdict),
	}
	if g.pins == nil {
		g.pins, _ = OpenPins(PinOptions{Clock: opts.Clock})
	}
	if g.tscan == nil {
		s, err := detect.NewMCPScanner(detect.MCPOptions{})
		if err != nil {
			return nil, fmt.Errorf("mcp: tool scanner: %w", err)
		}
		g.tscan = s
	}
	if g.hideSev == detect.SeverityInfo {
		g.hideSev = detect.SeverityHigh
	}
	if g.rscan == nil {
		s, err := detect.NewResponseScanner(detect.ResponseOptions{Secrets: detect.NewSecrets(detect.SecretsOptions{}),
			Injection: opts.ResponseInjection})
		if err != nil {
			return nil, fmt.Errorf("mcp: response scanner: %w", err)
		}
		g.rscan = s
	}
	g.rclear, _ = g.rscan.(*detect.ResponseScanner)
	if g.callTimeout == 0 {
		g.callTimeout = DefaultCallTimeout
	}
	if g.maxInFlight == 0 {
		g.maxInFlight = DefaultMaxInFlight
	}
	if g.auditTimeout == 0 {
		g.auditTimeout = DefaultAuditTimeout
	}
	if g.clock == nil {
		g.clock = wallClock{}
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.log = g.log.With(slog.String("component", "mcp"), slog.String("agent_id", g.agentID))
	labels := make(map[string]any)
	for k, v := range a.Labels() {
		labels[k] = v
	}
	g.policyAgent = map[string]any{"id": a.ID(), "role": a.Role(), "ring": int64(a.Ring().Level()), "labels": labels}
	return g, nil
}

// Pins returns the gateway's pin store.
func (g *Gateway) Pins() *PinStore { return g.pins }

// Close unregisters the kernel tools the gateway registered. Sessions
// still running fail their calls afterwards. It is idempotent.
func (g *Gateway) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for name := range g.owned {
		g.k.UnregisterTool(name)
		delete(g.owned, name)
	}
	return nil
}

// ensureTool registers the forwarding kernel tool for name, once. It fails
// when the kernel already has a tool of that name that is not the
// gateway's, or rejects the name.
func (g *Gateway) ensureTool(name string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.owned[name] {
		return nil
	}
	err := g.k.RegisterTool(kernel.Tool{
		Name:        name,
		Description: "MCP tool forwarded to its server by the agentos gateway",
		Timeout:     g.callTimeout,
		Func:        forward,
	})
	if err != nil {
		return err
	}
	g.owned[name] = true
	return nil
}

// callKey is the context key of the governed call a forwarding tool runs.
type callKey struct{}

// errNotMCP is returned by the forwarding tool when called other than
// through a session (e.g. an agent calling it through the kernel directly).
var errNotMCP = errors.New("this tool forwards MCP calls and cannot be called outside an MCP session")

// forward is the Func of every kernel tool the gateway registers: it sends
// the governed call in ctx to its server and waits for the response.
func forward(ctx context.Context, _ json.RawMessage) (any, error) {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		return nil, errNotMCP
	}
	return c.s.forwardCall(ctx, c)
}

// dryRun reports the policy decision for calling tool with the input in
// (empty arguments when listing tools); nothing is run or counted.
func (g *Gateway) dryRun(ctx context.Context, in map[string]any, tool string) policy.Decision {
	in["tool_name"] = tool
	in["action"] = tool
	return g.policy.Evaluate(ctx, in)
}

// dryRunInput builds the policy input a dry run reuses for every tool of a
// list (only tool_name and action change), shaped like the kernel's input
// for a SYS_EXEC call with empty arguments.
func (g *Gateway) dryRunInput(callCtx map[string]any) map[string]any {
	var calls, tokens int64
	if a := g.k.Agent(g.agentID); a != nil {
		u := a.Usage()
		calls, tokens = u.ToolCalls, u.Tokens
	}
	return map[string]any{
		"agent_id": g.agentID, "syscall": kernel.SysExec.String(),
		"token_count": tokens, "tool_call_count": calls, "confidence": 0.0, "content": "",
		"agent": g.policyAgent, "args": map[string]any{}, "context": callCtx,
		"usage": map[string]any{"tool_calls": calls, "tokens": tokens, "cost_usd": 0.0},
	}
}

// hidden reports whether a dry-run decision hides the tool: a denying
// action, or an evaluation error. require_approval, rate_limit and audit
// leave it visible (the call itself is decided later).
func hidden(d policy.Decision) bool {
	if d.Error {
		return true
	}
	switch d.Action {
	case policy.ActionAllow, policy.ActionAudit, policy.ActionRateLimit, policy.ActionRequireApproval:
		return false
	}
	return true
}

// event is one mcp_message audit event.
type event struct {
	session, server, method, tool, stage string
	action                               string // allow, deny, warn, sanitize, block
	allowed                              bool
	rule, reason                         string
	extra                                map[string]any
	// principal is the authenticated client, if any; requestID the
	// JSON-RPC ID of the client request the decision answers, if any.
	principal, requestID string
}

// audit appends an mcp_message event; an error must deny what it records.
func (g *Gateway) audit(ctx context.Context, ev event) error {
	args := map[string]any{"server": ev.server, "method": ev.method, "stage": ev.stage}
	if ev.principal != "" {
		args["principal"] = bound(ev.principal, 256)
	}
	if ev.requestID != "" {
		args["request_id"] = bound(ev.requestID, 128)
	}
	for k, v := range ev.extra {
		args[k] = v
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("audit event: %w", err)
	}
	tool := ev.tool
	if tool == "" {
		tool = ev.method
	}
	e := &audit.Event{
		Time: g.clock.Now(), AgentID: g.agentID, SessionID: ev.session, Kind: audit.KindMCPMessage,
		Tool: bound(tool, 256), Args: audit.Redact(raw, audit.RedactOptions{}),
		Decision: audit.Decision{Action: ev.action, Allowed: ev.allowed, Rule: ev.rule,
			Reason: bound(ev.reason, 1024), Policy: "mcp"},
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.auditTimeout)
	defer cancel()
	if err := g.auditor.Append(actx, e); err != nil {
		g.log.LogAttrs(ctx, slog.LevelError, "audit append failed", slog.String("method", ev.method),
			slog.String("tool", ev.tool), slog.String("error", err.Error()))
		return err
	}
	return nil
}

// AuditSpawn records that a server command is being launched (or refused),
// with its arguments redacted, and the command rating's findings.
func (g *Gateway) AuditSpawn(ctx context.Context, server string, argv []string, findings []CommandFinding, allowed bool, reason string) error {
	fs := make([]map[string]any, 0, len(findings))
	for _, f := range findings {
		fs = append(fs, map[string]any{"rule": f.Rule, "severity": f.Severity.String(), "message": f.Message})
	}
	action := "allow"
	if !allowed {
		action = "deny"
	}
	return g.audit(ctx, event{server: server, method: "spawn", tool: "spawn", stage: "spawn",
		action: action, allowed: allowed, reason: reason,
		extra: map[string]any{"command": redactArgv(argv), "findings": fs}})
}

// redactArgv keeps the program name and replaces arguments that look
// secret (or follow a secret-looking flag) with "[REDACTED]".
func redactArgv(argv []string) []string {
	out := make([]string, len(argv))
	secretNext := false
	for i, a := range argv {
		switch {
		case i == 0:
			out[i] = a
		case secretNext || audit.SecretShapes{}.IsSecret(a) || secretAssignment(a):
			out[i] = audit.Redacted
		default:
			out[i] = bound(a, 256)
		}
		secretNext = strings.HasPrefix(a, "-") && !strings.Contains(a, "=") && audit.SecretKey(strings.TrimLeft(a, "-"))
	}
	return out
}

// secretAssignment reports whether a is NAME=value or --name=value with a
// secret-looking name.
func secretAssignment(a string) bool {
	k, _, ok := strings.Cut(a, "=")
	return ok && audit.SecretKey(strings.TrimLeft(k, "-"))
}

// bound makes s at most n bytes of valid UTF-8.
func bound(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
