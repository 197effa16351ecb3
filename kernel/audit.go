package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/signals"
)

// Auditor records events. *audit.Memory and the durable logs implement it.
// Append returns only once the event is recorded; an error makes the kernel
// deny (fail closed). Append must not keep e or ctx, nor use them, after it
// returns: the kernel reuses both for later events.
type Auditor interface {
	Append(ctx context.Context, e *audit.Event) error
}

// maxSummary bounds an outcome's result summary.
const maxSummary = 128

// auditBuf is a reusable audit event and append context.
type auditBuf struct {
	event audit.Event
	ctx   *auditContext
}

// audit is step 7: exactly one event for the syscall in c. It runs detached
// from the caller's cancellation (a client hanging up must not lose the
// record) under its own deadline.
func (k *Kernel) audit(ctx context.Context, c *call) error {
	b, ok := k.audits.Get().(*auditBuf)
	if !ok {
		b = &auditBuf{ctx: new(auditContext)}
	}
	e := &b.event
	*e = audit.Event{
		Time:    k.clock.Now(),
		AgentID: c.agentID,
		Kind:    audit.KindSyscall,
		Tool:    c.sys.String(),
		Args:    k.auditArgsJSON(c),
		Outcome: audit.Outcome{Code: CodeOf(c.err)},
	}
	if c.err != nil {
		// The whole message is redacted before it is cut, so that no
		// part of a secret is left at the cut.
		e.Outcome.Error = boundText(redactText(c.err.Error()), maxErrorTextBytes)
	}
	if c.agent == nil {
		// An agent's ID is short ASCII (validAgentID); a caller's unknown
		// ID may be anything.
		e.AgentID = boundText(redactText(c.agentID), MaxAgentIDLen)
	}
	if c.sys == SysExec {
		e.Kind = audit.KindToolCall
		if c.toolValue == nil {
			// A registered tool's name is short ASCII (validToolName).
			e.Tool = boundText(redactText(c.tool), MaxToolNameLen)
		} else {
			e.Tool = c.tool
		}
	}
	e.LatencyUS = e.Time.Sub(c.start).Microseconds()
	if c.decided {
		d := &c.decision
		if c.answered != nil {
			d = c.answered
		}
		e.Decision = audit.Decision{
			Action: string(d.Action), Allowed: d.Allowed && c.err == nil, Rule: d.Rule,
			Reason: boundText(redactText(d.Reason), maxErrorTextBytes), Policy: d.Policy, PolicyVersion: d.Version,
		}
	}
	if c.err == nil && c.value != nil {
		e.Outcome.ResultHash, e.Outcome.ResultSummary = summarize(c.value)
	}
	// The append's context: the caller's values without its cancellation
	// (context.WithoutCancel; a context that cannot be cancelled is used
	// as it is) and a deadline of its own.
	values := ctx
	if ctx.Done() != nil {
		values = context.WithoutCancel(ctx)
	}
	now := e.Time
	if _, wall := k.clock.(wallClock); !wall {
		now = time.Now()
	}
	b.ctx.reset(values, now.Add(k.auditTimeout))
	err := k.auditor.Append(b.ctx, e)
	*e = audit.Event{}
	if !b.ctx.release() {
		// Someone took the context's channel; it is not reused.
		b.ctx = new(auditContext)
	}
	k.audits.Put(b)
	return err
}

// appendKernelEvent records an event about the kernel itself (agent
// "kernel"), such as a kernel panic.
func (k *Kernel) appendKernelEvent(tool, reason string) error {
	e := &audit.Event{
		Time: k.clock.Now(), AgentID: "kernel", Kind: audit.KindAgentLifecycle, Tool: tool,
		Decision: audit.Decision{Action: "deny", Policy: "kernel", Reason: boundText(redactText(reason), maxErrorTextBytes)},
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.auditTimeout)
	defer cancel()
	return k.auditor.Append(ctx, e)
}

// appendLifecycle records an agent's spawn or removal.
func (k *Kernel) appendLifecycle(ctx context.Context, a *Agent, tool, reason string) error {
	args, _ := json.Marshal(redact(map[string]any{"role": a.role, "ring": a.ring.Level(), "labels": a.labels}))
	e := &audit.Event{
		Time: k.clock.Now(), AgentID: a.id, Kind: audit.KindAgentLifecycle, Tool: tool, Args: args,
		Decision: audit.Decision{Action: "allow", Allowed: true, Policy: "kernel", Reason: reason},
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.auditTimeout)
	defer cancel()
	return k.auditor.Append(actx, e)
}

// auditArgsJSON returns the call's arguments for the event: redacted, or,
// when they are larger than the bound, only their size and SHA-256.
func (k *Kernel) auditArgsJSON(c *call) json.RawMessage {
	if len(c.rawArgs) > k.auditArgs {
		sum := sha256.Sum256(c.rawArgs)
		return json.RawMessage(`{"_sha256":"` + hex.EncodeToString(sum[:]) + `","_size":` +
			strconv.Itoa(len(c.rawArgs)) + `,"_truncated":true}`)
	}
	if c.args == nil {
		return nil
	}
	v := redact(c.args)
	b, ok := appendJSON(nil, v)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return json.RawMessage(`{"_unencodable":true}`)
		}
	}
	if len(b) > k.auditArgs {
		sum := sha256.Sum256(b)
		return json.RawMessage(`{"_sha256":"` + hex.EncodeToString(sum[:]) + `","_size":` +
			strconv.Itoa(len(b)) + `,"_truncated":true}`)
	}
	return b
}

// summarize returns the hex SHA-256 of a result (of its bytes for []byte,
// else of its JSON) and a short description that never includes the
// result's content.
func summarize(v any) (hash, summary string) {
	var data []byte
	switch x := v.(type) {
	case []byte:
		data = x
		summary = "bytes: " + strconv.Itoa(len(x))
	case string:
		data = []byte(x)
		summary = "string: " + strconv.Itoa(len(x)) + " bytes"
	default:
		var buf [512]byte
		b, ok := appendJSON(buf[:0], v)
		if !ok {
			var err error
			if b, err = json.Marshal(v); err != nil {
				return "", "unencodable result"
			}
		}
		data = b
		summary = "json: " + strconv.Itoa(len(b)) + " bytes"
	}
	sum := sha256.Sum256(data)
	var digest [2 * sha256.Size]byte
	hex.Encode(digest[:], sum[:])
	return string(digest[:]), boundText(summary, maxSummary)
}

// boundText makes s valid UTF-8 and at most n bytes.
func boundText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// appendSignal records a signal sent through Kernel.Signal.
func (k *Kernel) appendSignal(a *Agent, info signals.Info) error {
	args, _ := json.Marshal(map[string]any{
		"signal": info.Signal.String(), "source": boundText(redactText(info.Source), 256),
		"reason": boundText(redactText(info.Reason), maxErrorTextBytes), "outcome": info.Outcome.String(),
	})
	e := &audit.Event{
		Time: k.clock.Now(), AgentID: a.id, Kind: audit.KindSignal, Tool: info.Signal.String(), Args: args,
		Decision: audit.Decision{Action: "allow", Allowed: true, Policy: "kernel", Reason: "operator signal"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.auditTimeout)
	defer cancel()
	return k.auditor.Append(ctx, e)
}
