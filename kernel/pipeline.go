package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/signals"

	segjson "github.com/segmentio/encoding/json"
)

// Result is the outcome of one syscall, in the reference's wire shape.
type Result struct {
	// Code is 0 on success, else the code of the error (see CodeOf).
	Code int `json:"code"`
	// Value is the syscall's return value; nil on error.
	Value any `json:"value,omitempty"`
	// Error is the error's message; "" on success.
	Error string `json:"error,omitempty"`
	// Decision is the policy decision the syscall was governed by (zero if
	// it was refused before the policy step).
	Decision policy.Decision `json:"decision"`
}

// call is one syscall in flight.
type call struct {
	start   time.Time
	agentID string
	agent   *Agent
	sys     Syscall
	tool    string // policy tool name
	// toolValue is tool as an interface value when one is at hand (a
	// registered tool's name), else nil.
	toolValue any
	args      any             // decoded arguments, for the audit event
	rawArgs   json.RawMessage // EXEC arguments as given
	target    string          // the other agent of SIGNAL/SEND, if any

	decision policy.Decision
	// answered, for CHECKPOLICY, is the decision about the checked action;
	// the audit event records it instead of the syscall's own.
	answered *policy.Decision
	decided  bool // a decision (policy or kernel) was made
	executed bool // the handler ran (side effects may have happened)
	value    any
	err      error
}

// Syscall runs one syscall for the agent through the governed-action
// pipeline:
//
//  1. kernel state: PANIC or SHUTDOWN → ErrUnavailable;
//  2. agent state: unknown → ErrAgentNotFound, terminated → ErrTerminated,
//     stopped → wait for SIGCONT (or ctx);
//  3. protection ring, then policy (require_approval → Approver,
//     rate_limit → Limiter); a denial is a *PolicyError and may stop or
//     kill the agent (on_violation);
//  4. budgets (EXEC): tool calls and tokens;
//  5. execute: the tool (validated against its schema, under a timeout and
//     the agent's context, panics recovered) or the VFS/IPC handler;
//  7. audit: exactly one event, whatever happened; if it cannot be
//     appended the syscall fails with *AuditError (fail closed).
//
// The returned error is nil exactly when Result.Code is 0; it matches the
// sentinels and types of errors.go.
func (k *Kernel) Syscall(ctx context.Context, agentID string, req Request) (Result, error) {
	k.m.syscalls.Add(1)
	k.inflight.Add(1)
	defer k.leave()
	c := call{start: k.clock.Now(), agentID: agentID}
	if req == nil {
		c.err = refine(ErrBadArgs, "no request")
	} else {
		c.sys = req.Syscall()
		c.tool = c.sys.ToolName()
		k.run(ctx, &c, req)
	}
	if aerr := k.audit(ctx, &c); aerr != nil {
		k.m.auditFailures.Add(1)
		switch {
		case k.failOpen:
			// Configured to let the result stand; the log line below is
			// the only record of this action.
		case c.err == nil || c.executed:
			c.err = &AuditError{Syscall: c.sys, Executed: c.executed, Err: aerr}
			c.value = nil
			k.degrade()
		default:
			k.degrade()
		}
		k.log.LogAttrs(ctx, slog.LevelError, "audit append failed",
			slog.String("agent_id", agentID), slog.String("syscall", c.sys.String()),
			slog.Bool("executed", c.executed), slog.String("error", aerr.Error()))
	} else {
		k.undegrade()
	}
	k.count(&c)
	res := Result{Code: CodeOf(c.err), Value: c.value, Decision: c.decision}
	if c.err != nil {
		res.Value = nil
		res.Error = errorText(c.err)
	}
	return res, c.err
}

// leave ends a syscall's stay in flight and wakes Shutdown when it was the
// last one.
func (k *Kernel) leave() {
	if k.inflight.Add(-1) == 0 && k.State() == Shutdown {
		select {
		case k.drained <- struct{}{}:
		default:
		}
	}
}

// degrade moves RUNNING to DEGRADED after an audit failure.
func (k *Kernel) degrade() {
	k.state.CompareAndSwap(uint32(Running), uint32(Degraded))
}

// undegrade moves DEGRADED back to RUNNING after a successful append.
func (k *Kernel) undegrade() {
	if State(k.state.Load()) == Degraded {
		k.state.CompareAndSwap(uint32(Degraded), uint32(Running))
	}
}

// count updates the counters once per syscall.
func (k *Kernel) count(c *call) {
	if c.err == nil {
		return
	}
	var ae *AuditError
	if errors.As(c.err, &ae) || errors.Is(c.err, ErrAuditUnavailable) {
		return
	}
	switch CodeOf(c.err) {
	case CodePolicy:
		k.m.violations.Add(1)
	case CodeHandler:
		k.m.crashes.Add(1)
	case CodeToolFailed:
		k.m.toolFailures.Add(1)
		var te *ToolError
		if errors.As(c.err, &te) && te.Panicked {
			k.m.crashes.Add(1)
		}
	}
}

// run performs steps 1 to 5.
func (k *Kernel) run(ctx context.Context, c *call, req Request) {
	// 1. Kernel state.
	if st := k.State(); st.refusing() {
		c.err = refine(ErrUnavailable, "Kernel is in state "+st.String()+": syscall refused")
		return
	}
	// 2. Agent state.
	a := k.Agent(c.agentID)
	if a == nil {
		c.err = refine(ErrAgentNotFound, "Agent "+quoteBounded(c.agentID)+" not found")
		return
	}
	c.agent = a
	if a.sig.State() != signals.Running {
		if err := a.sig.Wait(ctx); err != nil {
			if errors.Is(err, signals.ErrTerminated) {
				c.err = refineCause(ErrTerminated, ErrTerminated.msg, err)
			} else {
				c.err = fmt.Errorf("agent %q is stopped; gave up waiting for SIGCONT: %w", a.id, err)
			}
			return
		}
		if st := k.State(); st.refusing() {
			c.err = refine(ErrUnavailable, "Kernel is in state "+st.String()+": syscall refused")
			return
		}
	}
	a.syscalls.Add(1)
	switch r := req.(type) {
	case Exec:
		k.exec(ctx, c, a, r)
	case *Exec:
		k.exec(ctx, c, a, *r)
	case Read:
		k.read(ctx, c, a, r)
	case Write:
		k.write(ctx, c, a, r)
	case Open:
		k.open(ctx, c, a, r)
	case Close:
		k.close(ctx, c, a, r)
	case Stat:
		k.stat(ctx, c, a, r)
	case Signal:
		k.signal(ctx, c, a, r)
	case CheckPolicy:
		k.checkPolicy(ctx, c, a, r)
	case GetPolicy:
		k.getPolicy(ctx, c, a)
	case Exit:
		k.exit(ctx, c, a, r)
	case Send:
		k.send(ctx, c, a, r)
	case Recv:
		k.recv(ctx, c, a, r)
	case SigProcMask:
		k.sigprocmask(ctx, c, a, r)
	default:
		c.err = refine(ErrUnknownSyscall, "Unknown syscall: "+c.sys.String())
	}
}

// currenter is implemented by *policy.Engine: a nil Current means no
// policy is loaded.
type currenter interface{ Current() *policy.Set }

// hasPolicy reports whether a policy is configured and loaded.
func (k *Kernel) hasPolicy() bool {
	if k.policy == nil {
		return false
	}
	if c, ok := k.policy.(currenter); ok && c.Current() == nil {
		return false
	}
	return true
}

// selfScoped reports whether sys is allowed without a policy: it touches
// only the caller's own VFS or lifetime, or only asks about policy.
func selfScoped(sys Syscall) bool {
	switch sys {
	case SysExit, SysRead, SysWrite, SysOpen, SysClose, SysStat, SysCheckPolicy, SysGetPolicy:
		return true
	}
	return false
}

// sideEffecting reports whether sys changes anything outside the call.
func sideEffecting(sys Syscall) bool {
	switch sys {
	case SysExec, SysWrite, SysSend, SysSignal, SysExit, SysSigprocmask:
		return true
	}
	return false
}

// Kernel-made decisions.
var (
	decisionPermissive = policy.Decision{Allowed: true, Action: policy.ActionAllow, Policy: "kernel",
		Reason: "no policy configured; permissive mode allows every action"}
	decisionSelfScoped = policy.Decision{Allowed: true, Action: policy.ActionAllow, Policy: "kernel",
		Reason: "no policy configured; self-scoped syscall allowed"}
)

// facts are the per-action fields of a policy input besides the tool and
// its arguments.
type facts struct {
	tokens     int64
	confidence float64
	content    string
	context    map[string]any
	target     string
}

// decide runs step 3 for an action: the policy decision, then approval or
// nothing (rate limits are applied by admit, after budgets). It records
// the decision in c and returns a *PolicyError when the action is denied.
func (k *Kernel) decide(ctx context.Context, c *call, a *Agent, args any, f *facts) error {
	if k.State() == Degraded && sideEffecting(c.sys) {
		c.decided = true
		c.decision = policy.Decision{Action: policy.ActionDeny, Policy: "kernel", Rule: "audit",
			Reason: "audit log unavailable: side-effecting syscalls are denied until an event is recorded (fail closed)"}
		return &PolicyError{Syscall: c.sys, Policy: "kernel", Rule: "audit", Reason: c.decision.Reason, Err: ErrAuditUnavailable}
	}
	if !k.hasPolicy() {
		c.decided = true
		switch {
		case k.permissive:
			c.decision = decisionPermissive
			return nil
		case selfScoped(c.sys):
			c.decision = decisionSelfScoped
			return nil
		}
		c.decision = policy.Decision{Action: policy.ActionDeny, Policy: "kernel",
			Reason: "no policy configured: access denied (fail closed)"}
		return &PolicyError{Syscall: c.sys, Policy: "kernel", Reason: c.decision.Reason, Err: ErrNoPolicy}
	}
	d := k.evaluate(ctx, a, c.sys, c.tool, c.toolValue, args, f)
	k.m.policyChecks.Add(1)
	c.decided = true
	c.decision = d
	switch d.Action {
	case policy.ActionAllow, policy.ActionAudit, policy.ActionRateLimit:
		if d.Allowed && !d.Error {
			return nil
		}
	case policy.ActionRequireApproval:
		if !d.Error {
			return k.approve(ctx, c, a, d)
		}
	}
	// deny, block, an inconsistent decision or an unknown action: deny.
	reason := d.Reason
	if reason == "" {
		reason = "denied by policy (action " + strconv.Quote(string(d.Action)) + ")"
	}
	if c.decision.Allowed {
		c.decision.Allowed = false
	}
	k.onViolation(a, d)
	return &PolicyError{Syscall: c.sys, Rule: d.Rule, Policy: d.Policy, Reason: reason}
}

// onViolation applies a denying rule's on_violation to the agent.
func (k *Kernel) onViolation(a *Agent, d policy.Decision) {
	var sig signals.Signal
	switch d.OnViolation {
	case "stop":
		sig = signals.SIGSTOP
	case "kill":
		sig = signals.SIGKILL
	default:
		return
	}
	reason := "Violated policy '" + d.Policy + "' rule '" + d.Rule + "': " + d.Reason
	if _, err := a.sig.Send(sig, "policy", reason); err != nil {
		k.log.LogAttrs(context.Background(), slog.LevelWarn, "on_violation signal not delivered",
			slog.String("agent_id", a.id), slog.String("signal", sig.String()), slog.String("error", err.Error()))
	}
}

// approve asks the Approver about a require_approval decision.
func (k *Kernel) approve(ctx context.Context, c *call, a *Agent, d policy.Decision) error {
	deny := func(reason string, cause error) error {
		c.decision.Allowed = false
		c.decision.Reason = reason
		return &PolicyError{Syscall: c.sys, Rule: d.Rule, Policy: d.Policy, Reason: reason, Err: errors.Join(ErrApproval, cause)}
	}
	if k.approver == nil {
		return deny("approval required: no approval broker configured", nil)
	}
	args, ok := argsJSON(c.rawArgs, c.args)
	if !ok {
		return deny("approval required: the arguments cannot be encoded", nil)
	}
	sum := sha256.Sum256(args)
	req := ApprovalRequest{
		AgentID: a.id, Syscall: c.sys, Tool: c.tool, ArgsHash: hex.EncodeToString(sum[:]),
		Rule: d.Rule, Policy: d.Policy, Reason: d.Reason, Approval: d.Approval,
	}
	req.ArgsPreview = audit.Preview(args, audit.PreviewOptions{})
	ok, reason, err := k.approver.Approve(ctx, req)
	switch {
	case err != nil:
		return deny("approval required: approval broker failed: "+err.Error(), err)
	case !ok:
		if reason == "" {
			reason = "not approved"
		}
		return deny("approval required: "+reason, nil)
	}
	c.decision.Allowed = true
	return nil
}

// admit runs step 4 for an admitted EXEC: charge the budgets, then the rate
// limit of a rate_limit decision (refunding the budgets if it refuses), so
// nothing is charged for a refused call.
func (k *Kernel) admit(c *call, a *Agent, tokens int64) error {
	if err := k.chargeBudgets(c, a, tokens); err != nil {
		return err
	}
	if err := k.rateLimit(c, a); err != nil {
		a.toolCalls.Add(-1)
		a.tokens.Add(-tokens)
		return err
	}
	return nil
}

// rateLimit applies the rate_limit decision in c, if any.
func (k *Kernel) rateLimit(c *call, a *Agent) error {
	d := c.decision
	if d.Action != policy.ActionRateLimit {
		return nil
	}
	if d.Limit.N <= 0 || d.Limit.Per <= 0 {
		c.decision.Allowed = false
		c.decision.Reason = "rate_limit rule '" + d.Rule + "' has no valid limit (fail closed)"
		return &PolicyError{Syscall: c.sys, Rule: d.Rule, Policy: d.Policy, Reason: c.decision.Reason, Err: ErrRateLimited}
	}
	ok, retry := k.limiter.Allow(a.id+"\x00"+d.Policy+"\x00"+d.Rule, d.Limit)
	if ok {
		return nil
	}
	c.decision.Allowed = false
	c.decision.Reason = "rate limit " + d.Limit.String() + " of rule '" + d.Rule + "' exceeded; resets in " + limit.FormatRetry(retry)
	return &PolicyError{Syscall: c.sys, Rule: d.Rule, Policy: d.Policy, Reason: c.decision.Reason, Err: ErrRateLimited}
}

// gate is steps 3 and 4 for syscalls other than EXEC (which has no budget
// but may be rate limited).
func (k *Kernel) gate(ctx context.Context, c *call, a *Agent, args any, f *facts) error {
	if err := k.decide(ctx, c, a, args, f); err != nil {
		return err
	}
	return k.rateLimit(c, a)
}

// chargeBudgets takes one tool call and tokens from the agent's budgets.
func (k *Kernel) chargeBudgets(c *call, a *Agent, tokens int64) error {
	for {
		n := a.toolCalls.Load()
		if a.maxToolCalls > 0 && n >= a.maxToolCalls {
			return k.budgetDenial(c, "tool call budget exhausted: "+strconv.FormatInt(n, 10)+" of "+strconv.FormatInt(a.maxToolCalls, 10)+" used")
		}
		if a.toolCalls.CompareAndSwap(n, n+1) {
			break
		}
	}
	for {
		n := a.tokens.Load()
		if a.maxTokens > 0 && (tokens > a.maxTokens-n) {
			a.toolCalls.Add(-1)
			return k.budgetDenial(c, "token budget exhausted: "+strconv.FormatInt(n, 10)+" of "+strconv.FormatInt(a.maxTokens, 10)+
				" used, "+strconv.FormatInt(tokens, 10)+" requested")
		}
		if a.tokens.CompareAndSwap(n, n+tokens) {
			return nil
		}
	}
}

func (k *Kernel) budgetDenial(c *call, reason string) error {
	c.decision.Allowed = false
	c.decision.Reason = reason
	return &PolicyError{Syscall: c.sys, Policy: "kernel", Rule: "budget", Reason: reason, Err: ErrBudget}
}

// decodeArgs decodes EXEC arguments: a JSON object, numbers kept as
// json.Number. Well-formed arguments (encoding/json's grammar and nesting
// bound, checked in one pass that allocates nothing) are decoded by a
// single-pass parser into the same values encoding/json's decoder gives;
// anything else goes through that decoder, for its exact error.
func decodeArgs(raw json.RawMessage) (map[string]any, error) {
	if json.Valid(raw) {
		var v any
		if _, err := segjson.Parse(raw, &v, segjson.UseNumber); err == nil {
			if m, ok := v.(map[string]any); ok {
				return m, nil
			}
			return nil, refine(ErrBadArgs, "args: want a JSON object, got "+typeName(v))
		}
	}
	return decodeArgsStream(raw)
}

// decodeArgsStream is decodeArgs through encoding/json's stream decoder.
func decodeArgsStream(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, refineCause(ErrBadArgs, "args: not valid JSON: "+err.Error(), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, refine(ErrBadArgs, "args: trailing data after the JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, refine(ErrBadArgs, "args: want a JSON object, got "+typeName(v))
	}
	return m, nil
}

// exec is SYS_EXEC.
func (k *Kernel) exec(ctx context.Context, c *call, a *Agent, r Exec) {
	if r.Tool == "" {
		c.err = refine(ErrBadArgs, "No tool specified")
		return
	}
	c.tool = r.Tool
	c.rawArgs = r.Args
	if len(r.Args) > maxArgsBytes {
		c.err = refine(ErrBadArgs, "args: larger than "+strconv.Itoa(maxArgsBytes)+" bytes")
		return
	}
	if r.Tokens < 0 {
		c.err = refine(ErrBadArgs, "tokens: must not be negative")
		return
	}
	var args map[string]any
	if len(bytes.TrimSpace(r.Args)) > 0 {
		var err error
		if args, err = decodeArgs(r.Args); err != nil {
			c.err = err
			return
		}
		c.args = args
	}
	f := facts{tokens: r.Tokens, confidence: r.Confidence, content: r.Content, context: r.Context}
	var in any = args
	if args == nil {
		in = nil
	}
	// Looked up before the decision only to reuse the tool's boxed name;
	// the tool that runs is the one registered after the decision.
	if t := k.tools.lookup(r.Tool); t != nil {
		c.toolValue = t.nameValue
	}
	if err := k.decide(ctx, c, a, in, &f); err != nil {
		c.err = err
		return
	}
	t := k.tools.lookup(r.Tool)
	if t == nil {
		c.err = refine(ErrToolNotFound, "Tool '"+r.Tool+"' not registered in kernel")
		return
	}
	var schemaArgs any = args
	if args == nil {
		schemaArgs = k.emptyArgs
	}
	if err := t.validateArgs(schemaArgs); err != nil {
		c.err = err
		return
	}
	if err := k.admit(c, a, r.Tokens); err != nil {
		c.err = err
		return
	}
	raw := r.Args
	if args == nil {
		raw = json.RawMessage("{}")
	}
	c.executed = true
	c.value, c.err = k.runTool(ctx, a, t, raw)
}

// runTool is step 5 for a tool: under ctx, the tool's timeout and the
// agent's context (so SIGKILL cancels it), with panics recovered. When the
// caller's context can never be cancelled (the common library case), the
// tool runs under a toolContext, which costs no timer unless the tool
// waits on Done.
func (k *Kernel) runTool(ctx context.Context, a *Agent, t *tool, raw json.RawMessage) (any, error) {
	timeout := t.Timeout
	if timeout == 0 {
		timeout = k.toolTimeout
	}
	if ctx.Done() == nil {
		tctx := newToolContext(ctx, a.sig.Context(), timeout)
		v, panicked, err := callTool(tctx, t.Func, raw)
		var tctxErr error
		if err != nil {
			tctxErr = tctx.Err()
		}
		tctx.release()
		return k.toolOutcome(ctx, a, t, timeout, tctxErr, v, panicked, err)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(a.sig.Context(), cancel)
	defer stop()
	v, panicked, err := callTool(tctx, t.Func, raw)
	return k.toolOutcome(ctx, a, t, timeout, tctx.Err(), v, panicked, err)
}

// toolOutcome turns a tool call's result into runTool's: a terminated agent
// wins, then the tool's error (naming the timeout if it passed).
func (k *Kernel) toolOutcome(ctx context.Context, a *Agent, t *tool, timeout time.Duration, tctxErr error, v any, panicked bool, err error) (any, error) {
	if a.sig.Context().Err() != nil {
		return nil, refineCause(ErrTerminated, "Agent has been terminated during tool '"+t.Name+"'", context.Cause(a.sig.Context()))
	}
	if err != nil {
		if !panicked && errors.Is(tctxErr, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no result within %v: %w", timeout, errors.Join(context.DeadlineExceeded, err))
		}
		return nil, &ToolError{Tool: t.Name, Err: err, Panicked: panicked}
	}
	return v, nil
}

// callTool calls fn, turning a panic into an error.
func callTool(ctx context.Context, fn ToolFunc, raw json.RawMessage) (v any, panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, panicked = nil, true
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	v, err = fn(ctx, raw)
	return v, false, err
}
