package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/signals"
	"github.com/agentos/agentos/vfs"
)

// maxPolicyContent bounds the written data passed to policy as "content".
const maxPolicyContent = 64 << 10

// ErrInboxFull is the cause of a SEND to an agent whose inbox is full (-4).
var ErrInboxFull = errors.New("inbox full")

// vfsError turns a file-system error into ErrVFS (3), keeping the cause and
// its message (the reference's wire message).
func vfsError(err error) error {
	return refineCause(ErrVFS, err.Error(), err)
}

// gatePath runs what SYS_READ and SYS_STAT share before they touch the
// VFS: a path is given, the policy admits it, and the agent has a VFS. It
// reports whether the handler may go on (c.err says why not).
func (k *Kernel) gatePath(ctx context.Context, c *call, a *Agent, path string) bool {
	if path == "" {
		c.err = refine(ErrBadArgs, "No path specified")
		return false
	}
	args := map[string]any{"path": path}
	c.args = args
	if c.err = k.gate(ctx, c, a, args, &facts{}); c.err != nil {
		return false
	}
	if a.fs == nil {
		c.err = ErrNoVFS
		return false
	}
	c.executed = true
	return true
}

// read is SYS_READ.
func (k *Kernel) read(ctx context.Context, c *call, a *Agent, r Read) {
	if !k.gatePath(ctx, c, a, r.Path) {
		return
	}
	data, err := a.fs.Read(ctx, r.Path)
	if err != nil {
		c.err = vfsError(err)
		return
	}
	c.value = data
}

// write is SYS_WRITE. Ring 0 and 1 agents write through the VFS's
// privileged path, which may write the read-only /policy mount.
func (k *Kernel) write(ctx context.Context, c *call, a *Agent, r Write) {
	if r.Path == "" || r.Data == nil {
		c.err = refine(ErrBadArgs, "Missing path or data")
		return
	}
	args := map[string]any{"path": r.Path, "size": int64(len(r.Data))}
	c.args = args
	f := facts{}
	if len(r.Data) <= maxPolicyContent && utf8.Valid(r.Data) {
		f.content = string(r.Data)
	}
	if c.err = k.gate(ctx, c, a, args, &f); c.err != nil {
		return
	}
	if a.fs == nil {
		c.err = ErrNoVFS
		return
	}
	c.executed = true
	var n int
	var err error
	if a.ring.Privileged() {
		n, err = a.fs.Privileged().Write(ctx, r.Path, r.Data)
	} else {
		n, err = a.fs.Write(ctx, r.Path, r.Data)
	}
	if err != nil {
		c.err = vfsError(err)
		return
	}
	c.value = n
}

// open is SYS_OPEN.
func (k *Kernel) open(ctx context.Context, c *call, a *Agent, r Open) {
	if r.Path == "" {
		c.err = refine(ErrBadArgs, "No path specified")
		return
	}
	mode := r.Mode
	if mode == "" {
		mode = "r"
	}
	write := !strings.Contains(mode, "r")
	args := map[string]any{"path": r.Path, "mode": mode}
	c.args = args
	if c.err = k.gate(ctx, c, a, args, &facts{}); c.err != nil {
		return
	}
	if a.fs == nil {
		c.err = ErrNoVFS
		return
	}
	c.executed = true
	fmode := vfs.READ
	if write {
		fmode = vfs.WRITE
	}
	fd, err := a.fs.Open(ctx, r.Path, fmode)
	if err != nil {
		c.err = vfsError(err)
		return
	}
	c.value = fd
}

// close is SYS_CLOSE.
func (k *Kernel) close(ctx context.Context, c *call, a *Agent, r Close) {
	args := map[string]any{"fd": int64(r.FD)}
	c.args = args
	if c.err = k.gate(ctx, c, a, args, &facts{}); c.err != nil {
		return
	}
	if a.fs == nil {
		c.err = ErrNoVFS
		return
	}
	c.executed = true
	if err := a.fs.Close(r.FD); err != nil {
		c.err = vfsError(err)
		return
	}
	c.value = true
}

// stat is SYS_STAT.
func (k *Kernel) stat(ctx context.Context, c *call, a *Agent, r Stat) {
	if !k.gatePath(ctx, c, a, r.Path) {
		return
	}
	info, err := a.fs.Stat(ctx, r.Path)
	if err != nil {
		c.err = vfsError(err)
		return
	}
	c.value = info
}

// ringDenial is a denial by protection ring.
func ringDenial(c *call, reason string) error {
	c.decided = true
	c.decision.Allowed = false
	c.decision.Action = "deny"
	c.decision.Policy = "kernel"
	c.decision.Rule = "protection-ring"
	c.decision.Reason = reason
	return &PolicyError{Syscall: c.sys, Policy: "kernel", Rule: "protection-ring", Reason: reason, Err: ErrPermission}
}

// signal is SYS_SIGNAL.
func (k *Kernel) signal(ctx context.Context, c *call, a *Agent, r Signal) {
	if !r.Signal.Valid() {
		c.err = refine(ErrBadArgs, strconv.Itoa(int(r.Signal))+" is not a valid AgentSignal")
		return
	}
	target := r.Target
	if target == "" {
		target = a.id
	}
	c.target = target
	args := map[string]any{"target": target, "signal": r.Signal.String(), "reason": r.Reason}
	c.args = args
	if target != a.id && !a.ring.Privileged() {
		c.err = ringDenial(c, "agent '"+a.id+"' in "+a.ring.String()+" may not signal other agents (ring 0 or 1 required)")
		return
	}
	if c.err = k.gate(ctx, c, a, args, &facts{target: target}); c.err != nil {
		return
	}
	t := a
	if target != a.id {
		t = k.Agent(target)
	}
	if t == nil {
		c.err = refine(ErrBadArgs, "Target agent not found")
		return
	}
	c.executed = true
	info, err := t.sig.Send(r.Signal, a.id, r.Reason)
	if err != nil {
		c.err = &HandlerError{Syscall: c.sys, Err: err}
		return
	}
	c.value = info
}

// checkPolicy is SYS_CHECKPOLICY: a dry run of the policy for an action.
// It charges no rate limit or budget and sends no on_violation signal.
func (k *Kernel) checkPolicy(ctx context.Context, c *call, a *Agent, r CheckPolicy) {
	if r.Action == "" {
		c.err = refine(ErrBadArgs, "No action specified")
		return
	}
	asked := maps.Clone(r.Args)
	if r.Target != "" {
		if asked == nil {
			asked = make(map[string]any, 1)
		}
		asked["target"] = r.Target
	}
	c.args = map[string]any{"action": r.Action, "target": r.Target}
	if c.err = k.gate(ctx, c, a, c.args, &facts{}); c.err != nil {
		return
	}
	c.executed = true
	out := map[string]any{"action": r.Action, "agent_id": a.id}
	if !k.hasPolicy() {
		out["allowed"] = k.permissive
		if k.permissive {
			out["reason"] = decisionPermissive.Reason
		} else {
			out["reason"] = "no policy configured: access denied (fail closed)"
		}
		c.value = out
		return
	}
	var in any = asked
	if asked == nil {
		in = nil
	}
	d := k.evaluate(ctx, a, SysExec, r.Action, nil, in, &facts{target: r.Target})
	k.m.policyChecks.Add(1)
	allowed := d.Allowed && !d.Error
	switch d.Action {
	case "allow", "audit", "rate_limit":
	default:
		allowed = false
	}
	out["allowed"] = allowed
	// The deciding rule and policy, allowed or not, so callers (the
	// daemon's rate limits and approvals) need not evaluate again.
	if d.Rule != "" {
		out["rule"] = d.Rule
		out["policy"] = d.Policy
	}
	// The event of a CHECKPOLICY records the decision it answered, so the
	// audit log shows the checked action as allowed or denied.
	answered := d
	answered.Allowed = allowed
	c.answered = &answered
	if !allowed {
		reason := d.Reason
		if d.Action == "require_approval" {
			reason = "approval required: " + reason
		}
		out["reason"] = reason
		if d.Rule == "" {
			out["rule"], out["policy"] = "", d.Policy
		}
	}
	c.value = out
}

// versioner is implemented by policies that know their version.
type versioner interface{ Version() string }

// getPolicy is SYS_GETPOLICY.
func (k *Kernel) getPolicy(ctx context.Context, c *call, a *Agent) {
	if c.err = k.gate(ctx, c, a, nil, &facts{}); c.err != nil {
		return
	}
	c.executed = true
	out := map[string]any{"configured": k.hasPolicy(), "permissive": k.permissive && !k.hasPolicy()}
	switch p := k.policy.(type) {
	case versioner:
		out["version"] = p.Version()
	case currenter:
		if s := p.Current(); s != nil {
			out["version"] = s.Version()
		}
	}
	c.value = out
}

// exit is SYS_EXIT: the agent is terminated and removed from the table.
func (k *Kernel) exit(ctx context.Context, c *call, a *Agent, r Exit) {
	args := map[string]any{"code": int64(r.Code)}
	c.args = args
	if c.err = k.gate(ctx, c, a, args, &facts{}); c.err != nil {
		return
	}
	c.executed = true
	k.mu.Lock()
	if k.agents[a.id] == a {
		delete(k.agents, a.id)
	}
	k.mu.Unlock()
	if _, err := a.sig.Send(signals.SIGTERM, a.id, "exit code "+strconv.Itoa(r.Code)); err != nil || a.sig.State() != signals.Terminated {
		// SIGTERM may be blocked by the agent itself; exit anyway.
		a.release()
	}
	c.value = r.Code
}

// send is SYS_SEND.
func (k *Kernel) send(ctx context.Context, c *call, a *Agent, r Send) {
	switch {
	case r.To == "":
		c.err = refine(ErrBadArgs, "No recipient specified")
		return
	case len(r.Message) == 0:
		c.err = refine(ErrBadArgs, "No message specified")
		return
	case len(r.Message) > maxArgsBytes:
		c.err = refine(ErrBadArgs, "message: larger than 1048576 bytes")
		return
	case !json.Valid(r.Message):
		c.err = refine(ErrBadArgs, "message: not valid JSON")
		return
	}
	c.target = r.To
	args := map[string]any{"to": r.To, "size": int64(len(r.Message))}
	c.args = args
	if c.err = k.gate(ctx, c, a, args, &facts{target: r.To}); c.err != nil {
		return
	}
	t := k.Agent(r.To)
	if t == nil || t.sig.State() == signals.Terminated {
		c.err = refine(ErrBadArgs, "Target agent not found")
		return
	}
	msg := Message{From: a.id, Data: append(json.RawMessage(nil), r.Message...), Time: k.clock.Now()}
	c.executed = true
	select {
	case t.inbox <- msg:
		c.value = true
	default:
		c.err = &HandlerError{Syscall: c.sys, Err: errors.Join(ErrInboxFull, errors.New("inbox of agent '"+t.id+"' is full"))}
	}
}

// recv is SYS_RECV.
func (k *Kernel) recv(ctx context.Context, c *call, a *Agent, r Recv) {
	if r.Timeout < 0 {
		c.err = refine(ErrBadArgs, "timeout: must not be negative")
		return
	}
	c.args = map[string]any{"timeout_ms": r.Timeout.Milliseconds()}
	if c.err = k.gate(ctx, c, a, c.args, &facts{}); c.err != nil {
		return
	}
	c.executed = true
	select {
	case m := <-a.inbox:
		c.value = m
		return
	default:
	}
	if r.Timeout == 0 {
		return
	}
	timer := time.NewTimer(r.Timeout)
	defer timer.Stop()
	select {
	case m := <-a.inbox:
		c.value = m
	case <-timer.C:
	case <-a.sig.Done():
		c.err = refineCause(ErrTerminated, ErrTerminated.msg, context.Cause(a.sig.Context()))
	case <-ctx.Done():
		c.err = &HandlerError{Syscall: c.sys, Err: ctx.Err()}
	}
}

// controlSignal reports whether s changes an agent's run state; ring 2 and
// 3 agents may not block such signals (they would evade an operator's
// stop or terminate).
func controlSignal(s signals.Signal) bool {
	switch s {
	case signals.SIGSTOP, signals.SIGCONT, signals.SIGINT, signals.SIGTERM, signals.SIGBUDGET:
		return true
	}
	return s.Unmaskable()
}

// sigprocmask is SYS_SIGPROCMASK.
func (k *Kernel) sigprocmask(ctx context.Context, c *call, a *Agent, r SigProcMask) {
	names := func(sigs []signals.Signal) []any {
		out := make([]any, len(sigs))
		for i, s := range sigs {
			if !s.Valid() {
				return nil
			}
			out[i] = s.String()
		}
		return out
	}
	for _, s := range append(append([]signals.Signal(nil), r.Block...), r.Unblock...) {
		if !s.Valid() {
			c.err = refine(ErrBadArgs, strconv.Itoa(int(s))+" is not a valid AgentSignal")
			return
		}
	}
	args := map[string]any{"block": names(r.Block), "unblock": names(r.Unblock)}
	c.args = args
	for _, s := range r.Block {
		if s.Unmaskable() {
			c.err = refine(ErrBadArgs, s.String()+" cannot be blocked")
			return
		}
		if controlSignal(s) && !a.ring.Privileged() {
			c.err = ringDenial(c, "agent '"+a.id+"' in "+a.ring.String()+" may not block "+s.String()+" (ring 0 or 1 required)")
			return
		}
	}
	if c.err = k.gate(ctx, c, a, args, &facts{}); c.err != nil {
		return
	}
	c.executed = true
	if len(r.Block) > 0 {
		if err := a.sig.Block(r.Block...); err != nil {
			c.err = refineCause(ErrBadArgs, err.Error(), err)
			return
		}
	}
	if len(r.Unblock) > 0 {
		if err := a.sig.Unblock(r.Unblock...); err != nil {
			c.err = refineCause(ErrBadArgs, err.Error(), err)
			return
		}
	}
	c.value = true
}
