package kernel

import (
	"context"
	"errors"
	"strings"
)

// Result codes. Negative codes are kernel-level, positive codes are
// handler-level; both are the reference's wire values except CodeUnavailable,
// which the reference lacks because it never refused a syscall in PANIC or
// SHUTDOWN.
const (
	CodeOK            = 0    // success
	CodeTerminated    = -1   // the agent is terminated, gone or unknown
	CodePolicy        = -2   // denied: policy, protection ring, approval, limit or audit
	CodeUnknown       = -3   // unknown or unimplemented syscall
	CodeHandler       = -4   // a syscall handler failed
	CodeToolNotFound  = -404 // no such tool in the registry
	CodeToolFailed    = -500 // the tool returned an error, panicked or timed out
	CodeUnavailable   = -503 // the kernel is in PANIC or SHUTDOWN
	CodeBadArgs       = 1    // the request's arguments are missing or invalid
	CodeNoVFS         = 2    // the agent has no file system
	CodeVFS           = 3    // the file system refused the operation
	codeUnclassified  = CodeHandler
	maxErrorTextBytes = 1024
)

// Sentinel errors. Each has a Code; errors returned by Syscall wrap one of
// these or are one of the struct types below, so errors.Is and errors.As
// work on them.
var (
	// ErrTerminated means the calling agent has been terminated (-1).
	ErrTerminated = &codeError{code: CodeTerminated, msg: "Agent has been terminated"}
	// ErrAgentNotFound means no agent with the given ID is in the table
	// (-1): it never existed, exited or was destroyed.
	ErrAgentNotFound = &codeError{code: CodeTerminated, msg: "agent not found"}
	// ErrUnknownSyscall means the syscall is unknown or not implemented (-3).
	ErrUnknownSyscall = &codeError{code: CodeUnknown, msg: "unknown syscall"}
	// ErrToolNotFound means the tool is not registered (-404).
	ErrToolNotFound = &codeError{code: CodeToolNotFound, msg: "tool not registered in kernel"}
	// ErrBadArgs means the request's arguments are missing or invalid (1).
	ErrBadArgs = &codeError{code: CodeBadArgs, msg: "bad arguments"}
	// ErrNoVFS means the agent has no file system (2).
	ErrNoVFS = &codeError{code: CodeNoVFS, msg: "No VFS for agent"}
	// ErrVFS means the file system refused the operation (3).
	ErrVFS = &codeError{code: CodeVFS, msg: "vfs error"}
	// ErrUnavailable means the kernel is in PANIC or SHUTDOWN and refuses
	// every syscall (-503).
	ErrUnavailable = &codeError{code: CodeUnavailable, msg: "kernel unavailable"}
	// ErrPermission is the cause of a denial by protection ring: only ring
	// 0 and 1 may write /policy or signal other agents (-2).
	ErrPermission = &codeError{code: CodePolicy, msg: "permission denied"}
	// ErrNoPolicy is the cause of a denial because no policy is configured
	// and the kernel is not permissive (-2).
	ErrNoPolicy = &codeError{code: CodePolicy, msg: "no policy configured"}
	// ErrRateLimited is the cause of a denial by a rate_limit rule (-2).
	ErrRateLimited = &codeError{code: CodePolicy, msg: "rate limit exceeded"}
	// ErrApproval is the cause of a denial by require_approval: no broker,
	// not approved, or the broker failed (-2).
	ErrApproval = &codeError{code: CodePolicy, msg: "approval required"}
	// ErrBudget is the cause of a denial because the agent's token or
	// tool-call budget is exhausted (-2).
	ErrBudget = &codeError{code: CodePolicy, msg: "budget exhausted"}
	// ErrAuditUnavailable is the cause of a denial, before anything runs,
	// of a side-effecting syscall while the kernel is DEGRADED because an
	// audit append failed (-2).
	ErrAuditUnavailable = &codeError{code: CodePolicy, msg: "audit log unavailable"}
	// ErrAgentExists is returned by Spawn for a duplicate ID.
	ErrAgentExists = errors.New("agent already registered")
	// ErrTooManyAgents is returned by Spawn when the table is full.
	ErrTooManyAgents = errors.New("agent table full")
	// ErrToolExists is returned by RegisterTool for a duplicate name.
	ErrToolExists = errors.New("tool already registered")
	// ErrClosed is returned by Spawn and RegisterTool after Close or
	// Shutdown.
	ErrClosed = errors.New("kernel closed")
)

// codeError is a sentinel error carrying a result code. Detail, when set,
// replaces the message while keeping the sentinel's identity for errors.Is.
type codeError struct {
	code   int
	msg    string
	base   *codeError // the sentinel this error refines; nil for a sentinel
	detail error      // an underlying cause, for errors.Is/As; may be nil
}

func (e *codeError) Error() string { return e.msg }

// Code returns the result code.
func (e *codeError) Code() int { return e.code }

// Is reports whether target is e's sentinel.
func (e *codeError) Is(target error) bool {
	return e.base != nil && target == error(e.base)
}

// Unwrap returns the underlying cause, if any.
func (e *codeError) Unwrap() error {
	if e.detail == nil {
		return nil
	}
	return e.detail
}

// refine returns an error that is base for errors.Is, has base's code and
// prints msg (the reference's wire message).
func refine(base *codeError, msg string) error {
	return &codeError{code: base.code, msg: msg, base: base}
}

// refineCause is refine with an underlying cause kept for errors.Is/As.
func refineCause(base *codeError, msg string, cause error) error {
	return &codeError{code: base.code, msg: msg, base: base, detail: cause}
}

// PolicyError is a denial (-2): by a policy rule, a protection ring, the
// approval broker, a rate limit or budget, or because no policy is
// configured. It prints as the reference does: "Policy 'SYS_X' blocked:
// <reason>".
type PolicyError struct {
	// Syscall is the denied syscall.
	Syscall Syscall
	// Rule names the deciding rule; "" if none (default action, no
	// policy, protection ring).
	Rule string
	// Policy names the deciding policy document, or "kernel" when the
	// kernel itself denied (ring, budget, no policy).
	Policy string
	// Reason says why, in words a person can act on.
	Reason string
	// Err is the cause class (ErrPermission, ErrNoPolicy, ErrRateLimited,
	// ErrApproval, ErrBudget) or nil for a plain policy denial.
	Err error
}

// Error implements error.
func (e *PolicyError) Error() string {
	return "Policy '" + e.Syscall.String() + "' blocked: " + e.Reason
}

// Code returns CodePolicy (-2).
func (e *PolicyError) Code() int { return CodePolicy }

// Unwrap returns the cause class, if any.
func (e *PolicyError) Unwrap() error { return e.Err }

// HandlerError is a failure inside a syscall handler that is not one of the
// handler-level codes (-4).
type HandlerError struct {
	// Syscall is the failing syscall.
	Syscall Syscall
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *HandlerError) Error() string { return e.Err.Error() }

// Code returns CodeHandler (-4).
func (e *HandlerError) Code() int { return CodeHandler }

// Unwrap returns the cause.
func (e *HandlerError) Unwrap() error { return e.Err }

// ToolError is a tool that returned an error, panicked or ran out of time
// (-500).
type ToolError struct {
	// Tool is the tool's name.
	Tool string
	// Err is what the tool returned, the recovered panic value as an error,
	// or context.DeadlineExceeded for a timeout.
	Err error
	// Panicked reports whether the tool panicked.
	Panicked bool
}

// Error implements error.
func (e *ToolError) Error() string {
	switch {
	case e.Panicked:
		return "tool '" + e.Tool + "' panicked: " + e.Err.Error()
	case errors.Is(e.Err, context.DeadlineExceeded):
		return "tool '" + e.Tool + "' timed out: " + e.Err.Error()
	}
	return "tool '" + e.Tool + "': " + e.Err.Error()
}

// Code returns CodeToolFailed (-500).
func (e *ToolError) Code() int { return CodeToolFailed }

// Unwrap returns the cause.
func (e *ToolError) Unwrap() error { return e.Err }

// AuditError is a syscall turned into a denial because its audit event
// could not be appended (fail closed, -2). When Executed is true the action
// had already run (a side effect may have happened) and its result is
// withheld from the caller.
type AuditError struct {
	// Syscall is the syscall whose event was lost.
	Syscall Syscall
	// Executed reports whether the action ran before the append failed.
	Executed bool
	// Err is the auditor's error.
	Err error
}

// Error implements error.
func (e *AuditError) Error() string {
	if e.Executed {
		return "audit failed after " + e.Syscall.String() + " executed; result withheld (fail closed): " + e.Err.Error()
	}
	return "audit failed; " + e.Syscall.String() + " denied (fail closed): " + e.Err.Error()
}

// Code returns CodePolicy (-2): an unaudited action is a denied one.
func (e *AuditError) Code() int { return CodePolicy }

// Unwrap returns the auditor's error.
func (e *AuditError) Unwrap() error { return e.Err }

// coder is implemented by every error with a result code.
type coder interface{ Code() int }

// CodeOf returns the result code of err: 0 for nil, the Code of the first
// error in its chain that has one, and CodeHandler (-4) for any other error.
func CodeOf(err error) int {
	if err == nil {
		return CodeOK
	}
	var c coder
	if errors.As(err, &c) {
		return c.Code()
	}
	return codeUnclassified
}

// errorText returns err's message bounded to maxErrorTextBytes, for
// results. (Audit events carry it redacted: see Kernel.audit.)
func errorText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > maxErrorTextBytes {
		s = strings.ToValidUTF8(s[:maxErrorTextBytes], "") + "…"
	}
	return s
}

// Interface guards.
var (
	_ coder = (*codeError)(nil)
	_ coder = (*PolicyError)(nil)
	_ coder = (*HandlerError)(nil)
	_ coder = (*ToolError)(nil)
	_ coder = (*AuditError)(nil)
)
