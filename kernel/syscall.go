package kernel

import (
	"encoding/json"
	"time"

	"github.com/agentos/agentos/signals"
)

// Syscall numbers a system call. The values are the reference's (1..20, in
// its order), so they can travel on the wire.
type Syscall uint8

// The reference's twenty syscalls. SysFork, SysWait, SysMmap, SysMunmap,
// SysBrk, SysPipe and SysSigaction are not implemented: they return
// ErrUnknownSyscall (-3) with a reason.
const (
	SysFork Syscall = iota + 1
	SysExit
	SysWait
	SysExec
	SysOpen
	SysClose
	SysRead
	SysWrite
	SysStat
	SysMmap
	SysMunmap
	SysBrk
	SysPipe
	SysSend
	SysRecv
	SysSignal
	SysSigaction
	SysSigprocmask
	SysGetPolicy
	SysCheckPolicy
)

// sysNames are the reference's syscall names, indexed by number.
var sysNames = [...]string{
	"SYS_INVALID",
	"SYS_FORK", "SYS_EXIT", "SYS_WAIT", "SYS_EXEC", "SYS_OPEN", "SYS_CLOSE",
	"SYS_READ", "SYS_WRITE", "SYS_STAT", "SYS_MMAP", "SYS_MUNMAP", "SYS_BRK",
	"SYS_PIPE", "SYS_SEND", "SYS_RECV", "SYS_SIGNAL", "SYS_SIGACTION",
	"SYS_SIGPROCMASK", "SYS_GETPOLICY", "SYS_CHECKPOLICY",
}

// sysTools is the reference's syscall → policy tool-name table. SYS_EXEC
// uses the requested tool instead; unlisted syscalls use
// "syscall_<lower-case name>".
var sysTools = [...]string{
	"syscall_sys_invalid",
	"agent_spawn", "agent_exit", "syscall_sys_wait", "code_execute", "file_open",
	"file_close", "file_read", "file_write", "syscall_sys_stat", "memory_map",
	"memory_unmap", "syscall_sys_brk", "syscall_sys_pipe", "ipc_send", "ipc_recv",
	"signal_send", "syscall_sys_sigaction", "syscall_sys_sigprocmask",
	"syscall_sys_getpolicy", "syscall_sys_checkpolicy",
}

// String returns the reference name, e.g. "SYS_EXEC".
func (s Syscall) String() string {
	if int(s) < len(sysNames) {
		return sysNames[s]
	}
	return "SYS_INVALID"
}

// Valid reports whether s is one of the twenty syscalls.
func (s Syscall) Valid() bool { return s >= SysFork && s <= SysCheckPolicy }

// ToolName returns the policy tool name the reference uses for s (its
// table; "syscall_<lower-case name>" for unlisted syscalls). SYS_EXEC
// requests use their tool's name instead.
func (s Syscall) ToolName() string {
	if int(s) < len(sysTools) {
		return sysTools[s]
	}
	return sysTools[0]
}

// Request is one typed syscall request. The concrete types are Exec, Read,
// Write, Open, Close, Stat, Signal, CheckPolicy, GetPolicy, Exit, Send,
// Recv, SigProcMask and Unimplemented.
type Request interface {
	// Syscall returns the request's syscall number.
	Syscall() Syscall
}

// Exec runs a registered tool (SYS_EXEC).
type Exec struct {
	// Tool names the tool. Required.
	Tool string
	// Args are the tool's arguments, a JSON object validated against the
	// tool's schema; nil or empty means {}.
	Args json.RawMessage
	// Tokens is how many tokens this call consumes, charged to the
	// agent's token budget when the call is admitted; 0 for none.
	Tokens int64
	// Confidence is the caller's confidence in the action, passed to
	// policy as "confidence"; 0 when unknown.
	Confidence float64
	// Content is free text the action carries (a prompt, a message),
	// passed to policy as "content".
	Content string
	// Context holds caller-supplied extra fields, passed to policy as
	// "context". The kernel does not modify it.
	Context map[string]any
}

// Read reads a file of the agent's VFS (SYS_READ). The value is []byte.
type Read struct{ Path string }

// Write writes a file of the agent's VFS (SYS_WRITE). The value is the
// number of bytes written. Ring 0 and 1 agents may write /policy.
type Write struct {
	Path string
	Data []byte
}

// Open opens a file of the agent's VFS (SYS_OPEN). Mode is the reference's:
// a mode containing "r" opens for reading, anything else for writing; ""
// means "r". The value is the file descriptor (int).
type Open struct {
	Path string
	Mode string
}

// Close closes a file descriptor of the agent's VFS (SYS_CLOSE).
type Close struct{ FD int }

// Stat describes a file of the agent's VFS (SYS_STAT).
type Stat struct{ Path string }

// Signal sends a signal to an agent (SYS_SIGNAL). Target "" means the
// caller itself. Only ring 0 and 1 agents may signal other agents.
type Signal struct {
	Target string
	Signal signals.Signal
	Reason string
}

// CheckPolicy asks whether an action would be allowed, without doing it
// (SYS_CHECKPOLICY). The value is a map {allowed, action, agent_id} plus
// reason, rule and policy when denied.
type CheckPolicy struct {
	// Action is the tool name to check. Required.
	Action string
	// Target is the object acted on (a path, an URL); it is passed to
	// policy both as args.target and, unlike the reference, as "target".
	Target string
	// Args are the action's arguments.
	Args map[string]any
}

// GetPolicy describes the policy in force (SYS_GETPOLICY). The value is a
// map {configured, permissive, version}.
type GetPolicy struct{}

// Exit ends the calling agent (SYS_EXIT): it is terminated and removed from
// the table. The value is Code.
type Exit struct{ Code int }

// Send puts a message in another agent's inbox (SYS_SEND). The value is
// true. A full inbox is an error, never a block.
type Send struct {
	// To names the receiving agent. Required.
	To string
	// Message is the payload, a JSON value. Required.
	Message json.RawMessage
}

// Recv takes the oldest message from the caller's inbox (SYS_RECV). The
// value is a Message, or nil when none arrived within Timeout.
type Recv struct {
	// Timeout bounds the wait; 0 polls without waiting. The caller's
	// context also ends the wait.
	Timeout time.Duration
}

// SigProcMask blocks and unblocks signals of the calling agent
// (SYS_SIGPROCMASK). Unmaskable signals cannot be blocked.
type SigProcMask struct {
	Block   []signals.Signal
	Unblock []signals.Signal
}

// Unimplemented is a syscall the kernel does not implement (FORK, WAIT,
// MMAP, MUNMAP, BRK, PIPE, SIGACTION). Syscall answers it with
// ErrUnknownSyscall (-3).
type Unimplemented struct{ Sys Syscall }

// Message is what SYS_RECV returns.
type Message struct {
	// From is the sending agent's ID.
	From string `json:"from"`
	// Data is the payload as sent.
	Data json.RawMessage `json:"data"`
	// Time is when the kernel accepted it.
	Time time.Time `json:"time"`
}

// Syscall implements Request.
func (Exec) Syscall() Syscall { return SysExec }

// Syscall implements Request.
func (Read) Syscall() Syscall { return SysRead }

// Syscall implements Request.
func (Write) Syscall() Syscall { return SysWrite }

// Syscall implements Request.
func (Open) Syscall() Syscall { return SysOpen }

// Syscall implements Request.
func (Close) Syscall() Syscall { return SysClose }

// Syscall implements Request.
func (Stat) Syscall() Syscall { return SysStat }

// Syscall implements Request.
func (Signal) Syscall() Syscall { return SysSignal }

// Syscall implements Request.
func (CheckPolicy) Syscall() Syscall { return SysCheckPolicy }

// Syscall implements Request.
func (GetPolicy) Syscall() Syscall { return SysGetPolicy }

// Syscall implements Request.
func (Exit) Syscall() Syscall { return SysExit }

// Syscall implements Request.
func (Send) Syscall() Syscall { return SysSend }

// Syscall implements Request.
func (Recv) Syscall() Syscall { return SysRecv }

// Syscall implements Request.
func (SigProcMask) Syscall() Syscall { return SysSigprocmask }

// Syscall implements Request.
func (u Unimplemented) Syscall() Syscall { return u.Sys }

// Interface guards.
var (
	_ Request = Exec{}
	_ Request = Read{}
	_ Request = Write{}
	_ Request = Open{}
	_ Request = Close{}
	_ Request = Stat{}
	_ Request = Signal{}
	_ Request = CheckPolicy{}
	_ Request = GetPolicy{}
	_ Request = Exit{}
	_ Request = Send{}
	_ Request = Recv{}
	_ Request = SigProcMask{}
	_ Request = Unimplemented{}
)
