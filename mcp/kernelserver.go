package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/policy"
)

// TextScanner scans a text for findings. The detect package's detectors
// (Injection, Secrets, Dangerous, PII) implement it.
type TextScanner interface {
	Scan(ctx context.Context, input string) ([]detect.Finding, error)
}

// AuditQuerier reads audit events. *audit.Log implements it.
type AuditQuerier interface {
	Query(ctx context.Context, q audit.Query, fn func(*audit.Event) error) error
}

// KernelServerOptions configure NewKernelServer.
type KernelServerOptions struct {
	// Policy answers check_policy. Required.
	Policy Policy
	// CodeScanners check code for verify_code_safety (e.g.
	// detect.Dangerous and detect.Secrets). Required: at least one.
	CodeScanners []TextScanner
	// TextScanners check text for scan_text (e.g. detect.Injection and
	// detect.Secrets). Required: at least one.
	TextScanners []TextScanner
	// Audit answers get_audit_log and the audit resources. nil: they
	// report that no audit log is open.
	Audit AuditQuerier
	// Version is the server version announced. "": "dev".
	Version string
}

// Limits of the kernel server.
const (
	maxAuditLimit    = 1000
	defaultAuditRows = 20
	maxScanInput     = 1 << 20
)

// NewKernelServer returns the kernel's own MCP server (agentos mcp serve):
// tools check_policy, verify_code_safety, scan_text and get_audit_log;
// prompts governed_agent, verify_claim and safe_execution; the resource
// template audit://{agent_id}/log. Run it on any SDK transport.
func NewKernelServer(opts KernelServerOptions) (*sdk.Server, error) {
	switch {
	case opts.Policy == nil:
		return nil, errors.New("mcp: KernelServerOptions.Policy is required")
	case len(opts.CodeScanners) == 0:
		return nil, errors.New("mcp: KernelServerOptions.CodeScanners is required")
	case len(opts.TextScanners) == 0:
		return nil, errors.New("mcp: KernelServerOptions.TextScanners is required")
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	ks := &kernelServer{opts: opts}
	s := sdk.NewServer(&sdk.Implementation{Name: "agentos-kernel", Version: opts.Version}, &sdk.ServerOptions{
		Instructions: "agentos governance kernel: check actions against policy, check code and text for threats, read the audit log.",
	})
	sdk.AddTool(s, &sdk.Tool{Name: "check_policy", Title: "Check policy",
		Description: "Evaluates the loaded policy for an action (a tool call with arguments) and returns the decision: action, allowed, rule and reason. Nothing is executed.",
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}}, ks.checkPolicy)
	sdk.AddTool(s, &sdk.Tool{Name: "verify_code_safety", Title: "Verify code safety",
		Description: "Checks code for dangerous operations (destructive shell and SQL, privilege escalation) and hard-coded secrets. Returns safe=false with the violations found.",
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}}, ks.verifyCode)
	sdk.AddTool(s, &sdk.Tool{Name: "scan_text", Title: "Scan text",
		Description: "Checks text for prompt injection and leaked credentials. Returns safe=false with the findings (never the secret itself).",
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}}, ks.scanText)
	sdk.AddTool(s, &sdk.Tool{Name: "get_audit_log", Title: "Query the audit log",
		Description: "Returns recent audit events, newest first, optionally for one agent, tool or decision action.",
		Annotations: &sdk.ToolAnnotations{ReadOnlyHint: true}}, ks.auditLog)
	s.AddPrompt(&sdk.Prompt{Name: "governed_agent", Description: "Instructions for an agent working under agentos governance.",
		Arguments: []*sdk.PromptArgument{{Name: "agent_id", Required: true}, {Name: "policies", Description: "comma-separated policy names"}}},
		promptHandler("You are agent {agent_id}, governed by agentos under the policies: {policies}. Before each action, call check_policy with the tool name and arguments; do not attempt actions it denies, and explain denials to the user."))
	s.AddPrompt(&sdk.Prompt{Name: "verify_claim", Description: "Ask for a claim to be checked before it is acted on.",
		Arguments: []*sdk.PromptArgument{{Name: "claim", Required: true}}},
		promptHandler("Verify the following claim before acting on it. State the evidence for and against it, and say how confident you are:\n\n{claim}"))
	s.AddPrompt(&sdk.Prompt{Name: "safe_execution", Description: "Plan an action so that it is checked before it runs.",
		Arguments: []*sdk.PromptArgument{{Name: "action", Required: true}, {Name: "params", Required: true}}},
		promptHandler("Plan the action {action} with parameters {params}. First call check_policy for it; if it involves code, call verify_code_safety; only then carry it out, and report the decision."))
	s.AddResourceTemplate(&sdk.ResourceTemplate{Name: "agent_audit_log", URITemplate: "audit://{agent_id}/log",
		MIMEType: "application/json", Description: "The latest audit events of one agent."}, ks.auditResource)
	return s, nil
}

type kernelServer struct{ opts KernelServerOptions }

// promptHandler fills {name} placeholders with the prompt's arguments.
func promptHandler(tmpl string) sdk.PromptHandler {
	return func(_ context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
		text := tmpl
		for k, v := range req.Params.Arguments {
			text = strings.ReplaceAll(text, "{"+k+"}", v)
		}
		// Unset optional placeholders read as "none".
		for _, ph := range []string{"{policies}", "{agent_id}", "{claim}", "{action}", "{params}"} {
			text = strings.ReplaceAll(text, ph, "none")
		}
		return &sdk.GetPromptResult{Messages: []*sdk.PromptMessage{{Role: "user", Content: &sdk.TextContent{Text: text}}}}, nil
	}
}

// CheckPolicyInput is the input of check_policy.
type CheckPolicyInput struct {
	ToolName string         `json:"tool_name" jsonschema:"the tool or action to check"`
	AgentID  string         `json:"agent_id,omitempty" jsonschema:"the agent acting"`
	Args     map[string]any `json:"args,omitempty" jsonschema:"the action's arguments"`
	Context  map[string]any `json:"context,omitempty" jsonschema:"extra context for the policy"`
}

// CheckPolicyOutput is the result of check_policy.
type CheckPolicyOutput struct {
	Action  string `json:"action"`
	Allowed bool   `json:"allowed"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func (ks *kernelServer) checkPolicy(ctx context.Context, _ *sdk.CallToolRequest, in CheckPolicyInput) (*sdk.CallToolResult, CheckPolicyOutput, error) {
	if in.ToolName == "" {
		return nil, CheckPolicyOutput{}, errors.New("tool_name is required")
	}
	args := in.Args
	if args == nil {
		args = map[string]any{}
	}
	c := in.Context
	if c == nil {
		c = map[string]any{}
	}
	d := ks.opts.Policy.Evaluate(ctx, map[string]any{"agent_id": in.AgentID, "tool_name": in.ToolName, "action": in.ToolName,
		"syscall": "SYS_EXEC", "args": args, "context": c, "agent": map[string]any{"id": in.AgentID}})
	out := CheckPolicyOutput{Action: string(d.Action), Rule: d.Rule, Reason: d.Reason}
	out.Allowed = !d.Error && (d.Action == policy.ActionAllow || d.Action == policy.ActionAudit)
	return nil, out, nil
}

// CodeInput is the input of verify_code_safety.
type CodeInput struct {
	Code     string `json:"code" jsonschema:"the code to check"`
	Language string `json:"language" jsonschema:"its language, e.g. python, bash, sql"`
}

// Violation is one finding of verify_code_safety or scan_text.
type Violation struct {
	Rule     string `json:"rule"`
	Kind     string `json:"kind,omitempty"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// SafetyOutput is the result of verify_code_safety and scan_text.
type SafetyOutput struct {
	Safe       bool        `json:"safe"`
	Violations []Violation `json:"violations"`
	Warnings   []Violation `json:"warnings"`
	Language   string      `json:"language,omitempty"`
	Length     int         `json:"length"`
}

// scanAll runs scanners; high and critical findings are violations, the
// rest warnings. A scanner error fails closed (unsafe).
func scanAll(ctx context.Context, scanners []TextScanner, text string) SafetyOutput {
	out := SafetyOutput{Safe: true, Violations: []Violation{}, Warnings: []Violation{}, Length: len(text)}
	if len(text) > maxScanInput {
		out.Safe = false
		out.Violations = append(out.Violations, Violation{Rule: "too_large", Severity: "high", Message: fmt.Sprintf("input longer than %d bytes is not checked", maxScanInput)})
		return out
	}
	for _, sc := range scanners {
		fs, err := sc.Scan(ctx, text)
		if err != nil {
			out.Safe = false
			out.Violations = append(out.Violations, Violation{Rule: "scan_error", Severity: "high", Message: "the check failed (fail closed)"})
			continue
		}
		for _, f := range fs {
			v := Violation{Rule: f.Rule, Kind: f.Kind, Severity: f.Severity.String(), Message: f.Explanation}
			if f.Severity >= detect.SeverityHigh {
				out.Safe = false
				out.Violations = append(out.Violations, v)
			} else {
				out.Warnings = append(out.Warnings, v)
			}
		}
	}
	return out
}

func (ks *kernelServer) verifyCode(ctx context.Context, _ *sdk.CallToolRequest, in CodeInput) (*sdk.CallToolResult, SafetyOutput, error) {
	out := scanAll(ctx, ks.opts.CodeScanners, in.Code)
	out.Language = in.Language
	return nil, out, nil
}

// TextInput is the input of scan_text.
type TextInput struct {
	Text string `json:"text" jsonschema:"the text to check"`
}

func (ks *kernelServer) scanText(ctx context.Context, _ *sdk.CallToolRequest, in TextInput) (*sdk.CallToolResult, SafetyOutput, error) {
	return nil, scanAll(ctx, ks.opts.TextScanners, in.Text), nil
}

// AuditInput is the input of get_audit_log.
type AuditInput struct {
	Limit   int    `json:"limit,omitempty" jsonschema:"how many events (default 20, at most 1000)"`
	AgentID string `json:"agent_id,omitempty" jsonschema:"only this agent's events"`
	Tool    string `json:"tool,omitempty" jsonschema:"only events of this tool"`
	Action  string `json:"action,omitempty" jsonschema:"only events with this decision action (allow, deny, ...)"`
}

// AuditOutput is the result of get_audit_log.
type AuditOutput struct {
	Events []*audit.Event `json:"events"`
}

func (ks *kernelServer) query(ctx context.Context, in AuditInput) (AuditOutput, error) {
	if ks.opts.Audit == nil {
		return AuditOutput{}, errors.New("no audit log is open")
	}
	limit := in.Limit
	if limit <= 0 {
		limit = defaultAuditRows
	}
	limit = min(limit, maxAuditLimit)
	out := AuditOutput{Events: []*audit.Event{}}
	err := ks.opts.Audit.Query(ctx, audit.Query{AgentID: in.AgentID, Tool: in.Tool, Action: in.Action, Limit: limit},
		func(e *audit.Event) error {
			c := *e
			out.Events = append(out.Events, &c)
			return nil
		})
	return out, err
}

func (ks *kernelServer) auditLog(ctx context.Context, _ *sdk.CallToolRequest, in AuditInput) (*sdk.CallToolResult, AuditOutput, error) {
	out, err := ks.query(ctx, in)
	return nil, out, err
}

func (ks *kernelServer) auditResource(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
	rest, ok := strings.CutPrefix(req.Params.URI, "audit://")
	agent, ok2 := strings.CutSuffix(rest, "/log")
	if !ok || !ok2 || agent == "" || strings.Contains(agent, "/") {
		return nil, sdk.ResourceNotFoundError(req.Params.URI)
	}
	out, err := ks.query(ctx, AuditInput{AgentID: agent})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: req.Params.URI, MIMEType: "application/json", Text: string(b)}}}, nil
}
