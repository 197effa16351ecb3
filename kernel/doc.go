// Package kernel is the choke point every agent action passes: an agent
// table, typed syscalls, a tool registry and the governed-action pipeline
// that decides each action against policy, runs it and records it in the
// audit log.
//
// # Usage
//
// Build a Kernel with New, giving it a Policy (a compiled *policy.Set or a
// *policy.Engine), an Auditor (an *audit.Memory or a durable log) and
// optionally a Limiter, an Approver and a Clock. Register tools with
// RegisterTool, spawn agents with Spawn, and send every action through
// Syscall:
//
//	k, err := kernel.New(kernel.Options{Policy: set, Auditor: log})
//	...
//	k.Spawn(ctx, kernel.AgentSpec{ID: "a1", Role: "analyst"})
//	res, err := k.Syscall(ctx, "a1", kernel.Exec{Tool: "search", Args: args})
//
// The JSON API decodes reference-style requests ({"path": ...}) with
// DecodeRequest.
//
// # The pipeline
//
// Syscall runs, in order: the kernel state gate (PANIC and SHUTDOWN refuse
// everything), the agent state gate (a terminated agent gets -1, a stopped
// one waits for SIGCONT), the protection-ring check, the policy decision
// (with approval and rate limits), the agent's budgets, the handler or
// tool, and finally exactly one audit event. Any failure on the way denies:
// no policy means deny (unless Options.Permissive) except for self-scoped
// syscalls, an unknown policy action denies, and an audit event that
// cannot be appended turns the result into an *AuditError.
//
// The one event is appended after the outcome is known, so it records the
// decision and the outcome together. Secrets are kept out of it: the value
// of a secret-looking argument (password, api_key, …token) becomes
// "[REDACTED]", and so does every secret of a recognised shape (AWS access
// key id, GitHub or Slack token, JWT, bearer token, PEM private key, a
// URL's password, an AWS secret access key given by name;
// audit.SecretShapes) wherever it stands in the arguments, the error
// message, the reason or an unknown agent's ID or tool's name, the text
// around it kept: "curl -H 'Authorization: Bearer [REDACTED]' …". For a denied action nothing ran. For
// an executed action whose event cannot be appended, the side effect has
// happened: the result is withheld, the error says so (AuditError.Executed),
// and the kernel enters DEGRADED, in which side-effecting syscalls are
// denied before they run until an event is appended again.
//
// # Errors
//
// Errors carry the reference's result codes (see CodeOf): ErrTerminated
// (-1), *PolicyError (-2), ErrUnknownSyscall (-3), *HandlerError (-4),
// ErrToolNotFound (-404), *ToolError (-500), and the handler codes
// ErrBadArgs (1), ErrNoVFS (2) and ErrVFS (3). Result carries the code and
// message for the wire.
//
// # Rings
//
// Agents run in a protection ring; the zero value is ring 3 (user). Only
// ring 0 and 1 agents may signal other agents, write the read-only /policy
// mount, or block signals that change their run state.
//
// # Concurrency
//
// All methods are safe for concurrent use. The agent table is behind a
// RWMutex; each agent's state is its signal dispatcher and atomics; the
// tool registry is an immutable map swapped atomically. Nothing done per
// syscall grows with the number of agents, tools or past events.
//
// # Performance
//
// The per-syscall scratch (the policy input maps, the audit event and the
// append's context) is pooled and reused, so Policy.Evaluate must not keep
// its input and Auditor.Append must not keep its event or context after
// returning. Deadlines cost no timer unless someone waits on them: the
// audit append's context and, when the caller's context cannot be
// cancelled, the tool's context start their timers only when Done is
// called. docs/benchmarks.md has the measured costs.
package kernel
