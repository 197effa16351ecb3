package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/signals"
)

// Policy decides actions. *policy.Set and *policy.Engine implement it.
// Evaluate must be safe for concurrent use, must not keep or modify input
// after it returns, and must report its own failures as a denying Decision
// (fail closed).
type Policy interface {
	Evaluate(ctx context.Context, input map[string]any) policy.Decision
}

// Limiter admits or refuses events per key (the kernel's key is agent and
// rule of a rate_limit decision). *limit.Limiter implements it.
type Limiter interface {
	Allow(key string, r limit.Rate) (ok bool, retryAfter time.Duration)
}

// Approver asks people to approve an action a require_approval rule holds.
// Approve blocks until the request is approved, denied or times out, or ctx
// ends; an error denies the action (fail closed).
type Approver interface {
	Approve(ctx context.Context, req ApprovalRequest) (approved bool, reason string, err error)
}

// ApprovalRequest is what the kernel asks an Approver.
type ApprovalRequest struct {
	// AgentID, Syscall and Tool say who wants to do what.
	AgentID string
	Syscall Syscall
	Tool    string
	// ArgsHash is the hex SHA-256 of the action's arguments as given
	// (JSON), so an approval binds to exactly these arguments.
	ArgsHash string
	// ArgsPreview shows approvers what the action would do: its
	// arguments redacted and cut to at most audit.DefaultPreviewBytes of
	// JSON by audit.Preview. Display only; nil when there are none.
	ArgsPreview json.RawMessage
	// Rule, Policy and Reason come from the deciding rule.
	Rule, Policy, Reason string
	// Approval carries the rule's approvers, quorum and timeout.
	Approval *policy.Approval
}

// Clock tells the time. The kernel reads it to stamp audit events and
// messages and to measure latency.
type Clock interface {
	Now() time.Time
}

// State is the kernel's state, with the reference's numbers.
type State uint32

// Kernel states. PANIC and SHUTDOWN refuse every syscall.
const (
	// Booting: New has not finished.
	Booting State = 1
	// Running: syscalls proceed.
	Running State = 2
	// Degraded: syscalls proceed but the last audit append failed (so
	// audited actions are being denied); the next successful append
	// returns the kernel to Running.
	Degraded State = 3
	// Panicked: Panic was called; every syscall is refused.
	Panicked State = 4
	// Shutdown: Shutdown or Close was called; every syscall is refused.
	Shutdown State = 5
)

// String returns the reference name, e.g. "RUNNING".
func (s State) String() string {
	switch s {
	case Booting:
		return "BOOTING"
	case Running:
		return "RUNNING"
	case Degraded:
		return "DEGRADED"
	case Panicked:
		return "PANIC"
	case Shutdown:
		return "SHUTDOWN"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Defaults for zero Options fields.
const (
	DefaultToolTimeout  = 30 * time.Second
	DefaultAuditTimeout = 5 * time.Second
	DefaultMaxAgents    = 100_000
	DefaultInboxSize    = 64
	DefaultAuditArgs    = 4096
	// DefaultSignalHistory is small so that a large agent table stays
	// small: the history is allocated up front per agent.
	DefaultSignalHistory = 16
)

// Options configure a Kernel. The zero value is a kernel that denies every
// action except self-scoped syscalls (no policy), and cannot start without
// an Auditor.
type Options struct {
	// Policy decides every action. nil: no policy; the kernel denies every
	// syscall except the self-scoped ones (EXIT, READ, WRITE, OPEN, CLOSE,
	// STAT of the agent's own VFS, and the CHECKPOLICY/GETPOLICY
	// introspection calls) unless Permissive is set.
	Policy Policy
	// Permissive allows every action when Policy is nil. It has no effect
	// when a Policy is set.
	Permissive bool
	// Auditor receives exactly one event per syscall. Required: New fails
	// without one.
	Auditor Auditor
	// AuditFailOpen, when true, lets a syscall's result stand when its
	// audit event cannot be appended: the failure is logged at error level
	// and counted, and the kernel does not enter DEGRADED. false (the
	// default): fail closed — the syscall fails with *AuditError and, until
	// an append succeeds again, side-effecting syscalls are denied.
	AuditFailOpen bool
	// Limiter enforces rate_limit rules, keyed by agent and rule. nil: a
	// limit.Limiter on Clock.
	Limiter Limiter
	// Approver decides require_approval rules. nil: such rules deny with
	// the reason "approval required: no approval broker configured".
	Approver Approver
	// FileSystems builds each agent's VFS. nil: the standard in-memory VFS
	// (vfs.New).
	FileSystems FileSystemFactory
	// Clock stamps events and measures latency. nil: the wall clock.
	Clock Clock
	// Logger receives kernel logs. nil: discard.
	Logger *slog.Logger
	// DefaultToolTimeout bounds a tool call whose Tool.Timeout is 0.
	// 0: DefaultToolTimeout (30s).
	DefaultToolTimeout time.Duration
	// AuditTimeout bounds one audit append (which runs detached from the
	// caller's cancellation). 0: DefaultAuditTimeout (5s).
	AuditTimeout time.Duration
	// MaxAgents bounds the agent table. 0: DefaultMaxAgents.
	MaxAgents int
	// InboxSize bounds each agent's SYS_RECV inbox. 0: DefaultInboxSize.
	InboxSize int
	// SignalHistory bounds each agent's signal history. 0:
	// DefaultSignalHistory (16). Negative: no history.
	SignalHistory int
	// AuditArgsBytes bounds the arguments an audit event carries verbatim
	// (after redaction); larger arguments are recorded as their size and
	// SHA-256. 0: DefaultAuditArgs (4096).
	AuditArgsBytes int
}

// Kernel is the choke point every agent action passes. Build it with New;
// all methods are safe for concurrent use.
type Kernel struct {
	policy       Policy
	permissive   bool
	failOpen     bool // Options.AuditFailOpen
	auditor      Auditor
	limiter      Limiter
	approver     Approver
	filesystems  FileSystemFactory
	clock        Clock
	log          *slog.Logger
	baseLog      *slog.Logger // the caller's logger, for the packages that name their component
	toolTimeout  time.Duration
	auditTimeout time.Duration
	maxAgents    int
	inboxSize    int
	auditArgs    int
	sigHistory   int

	// ctx is the kernel's lifetime: every agent's context derives from it
	// and Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	state   atomic.Uint32
	started time.Time
	m       metrics
	tools   registry

	// inflight counts syscalls past the state gate; drained receives a
	// token when it drops to zero during shutdown.
	inflight atomic.Int64
	drained  chan struct{}

	mu     sync.RWMutex
	agents map[string]*Agent // guarded by mu

	closeOnce sync.Once

	emptyArgs map[string]any // never modified: the args of an argument-less action

	// inputs pools policy inputs (*inputBuf) between syscalls.
	inputs sync.Pool
	// audits pools audit events and their contexts (*auditBuf).
	audits sync.Pool
}

// New returns a running Kernel.
func New(opts Options) (*Kernel, error) {
	if opts.Auditor == nil {
		return nil, errors.New("kernel: Options.Auditor is required (every syscall is audited)")
	}
	if opts.DefaultToolTimeout < 0 {
		return nil, errors.New("kernel: Options.DefaultToolTimeout is negative")
	}
	if opts.AuditTimeout < 0 {
		return nil, errors.New("kernel: Options.AuditTimeout is negative")
	}
	if opts.MaxAgents < 0 {
		return nil, errors.New("kernel: Options.MaxAgents is negative")
	}
	if opts.InboxSize < 0 {
		return nil, errors.New("kernel: Options.InboxSize is negative")
	}
	if opts.AuditArgsBytes < 0 {
		return nil, errors.New("kernel: Options.AuditArgsBytes is negative")
	}
	k := &Kernel{
		policy:       opts.Policy,
		permissive:   opts.Permissive,
		failOpen:     opts.AuditFailOpen,
		auditor:      opts.Auditor,
		limiter:      opts.Limiter,
		approver:     opts.Approver,
		filesystems:  opts.FileSystems,
		clock:        opts.Clock,
		log:          opts.Logger,
		toolTimeout:  opts.DefaultToolTimeout,
		auditTimeout: opts.AuditTimeout,
		maxAgents:    opts.MaxAgents,
		inboxSize:    opts.InboxSize,
		auditArgs:    opts.AuditArgsBytes,
		sigHistory:   opts.SignalHistory,
		drained:      make(chan struct{}, 1),
		agents:       make(map[string]*Agent),
		emptyArgs:    map[string]any{},
	}
	k.state.Store(uint32(Booting))
	if k.clock == nil {
		k.clock = wallClock{}
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	k.baseLog = k.log
	k.log = k.log.With(slog.String("component", "kernel"))
	if k.limiter == nil {
		k.limiter = limit.NewLimiter(limit.LimiterOptions{Clock: k.clock, Logger: opts.Logger})
	}
	if k.filesystems == nil {
		k.filesystems = defaultFileSystems{clock: k.clock, log: opts.Logger}
	}
	if k.toolTimeout == 0 {
		k.toolTimeout = DefaultToolTimeout
	}
	if k.auditTimeout == 0 {
		k.auditTimeout = DefaultAuditTimeout
	}
	if k.maxAgents == 0 {
		k.maxAgents = DefaultMaxAgents
	}
	if k.inboxSize == 0 {
		k.inboxSize = DefaultInboxSize
	}
	if k.sigHistory == 0 {
		k.sigHistory = DefaultSignalHistory
	}
	if k.auditArgs == 0 {
		k.auditArgs = DefaultAuditArgs
	}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	k.started = k.clock.Now()
	k.state.Store(uint32(Running))
	if opts.Policy == nil {
		if opts.Permissive {
			k.log.Warn("no policy and permissive: every action is allowed")
		} else {
			k.log.Info("no policy: every action except self-scoped syscalls is denied (fail closed)")
		}
	}
	if k.failOpen {
		k.log.Warn("audit fail-open: an action whose audit event cannot be written still completes, unrecorded")
	}
	return k, nil
}

// wallClock is the real clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// State returns the kernel's state.
func (k *Kernel) State() State { return State(k.state.Load()) }

// refusing reports whether the kernel refuses syscalls.
func (s State) refusing() bool { return s == Panicked || s == Shutdown || s == Booting }

// Panic puts the kernel in the PANIC state: every later syscall is refused
// with ErrUnavailable. Agents keep their state so they can be inspected. It
// is a state transition, never a Go panic; it counts a kernel panic, logs
// and audits it. Panic after Shutdown does nothing.
func (k *Kernel) Panic(reason string) {
	for {
		st := k.State()
		if st == Shutdown || st == Panicked {
			return
		}
		if k.state.CompareAndSwap(uint32(st), uint32(Panicked)) {
			break
		}
	}
	k.m.panics.Add(1)
	k.log.LogAttrs(context.Background(), slog.LevelError, "kernel panic", slog.String("reason", reason))
	if err := k.appendKernelEvent("kernel_panic", "Kernel panic: "+reason); err != nil {
		k.log.LogAttrs(context.Background(), slog.LevelError, "kernel panic not audited", slog.String("error", err.Error()))
	}
}

// Shutdown refuses new syscalls, sends SIGTERM to every agent (cancelling
// their contexts, so running tools are asked to stop), waits until the
// syscalls in flight have finished or ctx ends, then removes every agent
// and releases the kernel's resources. It returns ctx's error if it gave up
// waiting; the kernel is shut down either way.
func (k *Kernel) Shutdown(ctx context.Context) error {
	k.state.Store(uint32(Shutdown))
	for _, a := range k.snapshot() {
		if _, err := a.sig.Send(signals.SIGTERM, "kernel", "kernel shutdown"); err != nil {
			k.log.LogAttrs(ctx, slog.LevelWarn, "shutdown: SIGTERM not delivered",
				slog.String("agent_id", a.id), slog.String("error", err.Error()))
		}
	}
	var err error
	for k.inflight.Load() > 0 {
		select {
		case <-k.drained:
		case <-ctx.Done():
			err = fmt.Errorf("kernel shutdown: %d syscalls still running: %w", k.inflight.Load(), ctx.Err())
		}
		if err != nil {
			break
		}
	}
	if cerr := k.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close shuts the kernel down at once: it refuses new syscalls, terminates
// every agent (SIGTERM via their contexts) and empties the agent table. It
// does not wait for syscalls in flight; use Shutdown for that. Close is
// idempotent and always returns nil.
func (k *Kernel) Close() error {
	k.closeOnce.Do(func() {
		k.state.Store(uint32(Shutdown))
		k.cancel()
		k.mu.Lock()
		agents := k.agents
		k.agents = make(map[string]*Agent)
		k.mu.Unlock()
		for _, a := range agents {
			a.release()
		}
	})
	return nil
}

// snapshot returns the agents in ID order.
func (k *Kernel) snapshot() []*Agent {
	k.mu.RLock()
	out := make([]*Agent, 0, len(k.agents))
	for _, a := range k.agents {
		out = append(out, a)
	}
	k.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// RegisterTool adds t to the tool registry. It fails, naming the problem,
// for an invalid name, a nil Func, a negative Timeout, a schema that is not
// a valid JSON Schema (draft 2020-12 unless $schema says otherwise;
// external references are refused), or a name already registered.
func (k *Kernel) RegisterTool(t Tool) error {
	if k.State() == Shutdown {
		return ErrClosed
	}
	ct, err := compileTool(t)
	if err != nil {
		return err
	}
	return k.tools.register(ct)
}

// UnregisterTool removes the named tool and reports whether it existed.
func (k *Kernel) UnregisterTool(name string) bool { return k.tools.unregister(name) }

// Tools lists the registered tools by name.
func (k *Kernel) Tools() []ToolInfo { return k.tools.list() }

// Metrics are the kernel's counters. Each event is counted once.
type Metrics struct {
	// State is the kernel's state.
	State State `json:"state"`
	// Syscalls counts every Syscall call, refused ones included.
	Syscalls int64 `json:"syscall_count"`
	// PolicyChecks counts policy evaluations (one per governed syscall,
	// plus the one a CHECKPOLICY asks for).
	PolicyChecks int64 `json:"policy_checks"`
	// PolicyViolations counts syscalls denied with -2 (policy, ring,
	// approval, rate limit, budget, no policy), audit failures excluded.
	PolicyViolations int64 `json:"policy_violations"`
	// AgentCrashes counts handler failures (-4) and tool panics.
	AgentCrashes int64 `json:"agent_crashes"`
	// ToolFailures counts tool errors, panics and timeouts (-500).
	ToolFailures int64 `json:"tool_failures"`
	// AuditFailures counts failed audit appends.
	AuditFailures int64 `json:"audit_failures"`
	// KernelPanics counts Panic calls that changed the state.
	KernelPanics int64 `json:"kernel_panics"`
	// ActiveAgents is the size of the agent table.
	ActiveAgents int `json:"active_agents"`
	// Uptime is the time since New.
	Uptime time.Duration `json:"uptime"`
}

type metrics struct {
	syscalls, policyChecks, violations, crashes, toolFailures, auditFailures, panics atomic.Int64
}

// Metrics returns a snapshot of the counters.
func (k *Kernel) Metrics() Metrics {
	k.mu.RLock()
	n := len(k.agents)
	k.mu.RUnlock()
	return Metrics{
		State:            k.State(),
		Syscalls:         k.m.syscalls.Load(),
		PolicyChecks:     k.m.policyChecks.Load(),
		PolicyViolations: k.m.violations.Load(),
		AgentCrashes:     k.m.crashes.Load(),
		ToolFailures:     k.m.toolFailures.Load(),
		AuditFailures:    k.m.auditFailures.Load(),
		KernelPanics:     k.m.panics.Load(),
		ActiveAgents:     n,
		Uptime:           k.clock.Now().Sub(k.started),
	}
}
