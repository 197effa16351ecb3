package kernel

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/agentos/agentos/signals"
)

// MaxAgentIDLen bounds an agent ID.
const MaxAgentIDLen = 128

// Ring is a protection ring. The zero value is the least privileged ring,
// ring 3 (user), so an AgentSpec that says nothing grants nothing; Level
// gives the reference's number (0 kernel … 3 user).
type Ring uint8

// Protection rings, least privileged first.
const (
	// RingUser is ring 3: ordinary agents. The zero value.
	RingUser Ring = iota
	// RingService is ring 2: services.
	RingService
	// RingDriver is ring 1: daemon internals; may write /policy and signal
	// other agents.
	RingDriver
	// RingKernel is ring 0: the kernel itself; may write /policy and
	// signal other agents.
	RingKernel
)

// Level returns the reference's ring number: 0 for RingKernel … 3 for
// RingUser.
func (r Ring) Level() int { return 3 - int(r) }

// Privileged reports whether r is ring 0 or 1.
func (r Ring) Privileged() bool { return r == RingKernel || r == RingDriver }

// String returns the reference name, e.g. "RING_3_USER".
func (r Ring) String() string {
	switch r {
	case RingUser:
		return "RING_3_USER"
	case RingService:
		return "RING_2_SERVICES"
	case RingDriver:
		return "RING_1_DRIVERS"
	case RingKernel:
		return "RING_0_KERNEL"
	}
	return "Ring(" + strconv.Itoa(int(r)) + ")"
}

// RingOf returns the ring with the reference number level (0 to 3).
func RingOf(level int) (Ring, error) {
	if level < 0 || level > 3 {
		return 0, fmt.Errorf("ring %d: want 0 (kernel) to 3 (user)", level)
	}
	return Ring(3 - level), nil
}

// AgentSpec describes an agent to spawn.
type AgentSpec struct {
	// ID names the agent: 1 to 128 characters from [A-Za-z0-9_.:@-],
	// starting with a letter or digit; "kernel" is reserved. Required.
	ID string
	// Role is the agent's role, passed to policy as agent.role.
	Role string
	// Ring is the agent's protection ring. Zero: RingUser (ring 3).
	Ring Ring
	// Labels are passed to policy as agent.labels; copied at Spawn.
	Labels map[string]string
	// MaxTokens bounds the tokens the agent's EXEC calls may consume in
	// total. 0: no bound.
	MaxTokens int64
	// MaxToolCalls bounds the agent's EXEC calls. 0: no bound.
	MaxToolCalls int64
}

// Agent is one entry of the agent table. Its methods are safe for
// concurrent use.
type Agent struct {
	id           string
	role         string
	ring         Ring
	labels       map[string]string
	created      time.Time
	maxTokens    int64
	maxToolCalls int64

	sig   *signals.Dispatcher
	fs    FileSystem
	inbox chan Message

	toolCalls atomic.Int64
	tokens    atomic.Int64
	syscalls  atomic.Int64

	// policyAgent is the immutable agent{id, role, ring, labels} of every
	// policy input.
	policyAgent map[string]any
	// idValue is id as an interface value, for policy inputs.
	idValue any
}

// ID returns the agent's ID.
func (a *Agent) ID() string { return a.id }

// Role returns the agent's role.
func (a *Agent) Role() string { return a.role }

// Ring returns the agent's protection ring.
func (a *Agent) Ring() Ring { return a.ring }

// Labels returns a copy of the agent's labels.
func (a *Agent) Labels() map[string]string { return maps.Clone(a.labels) }

// Created returns when the agent was spawned.
func (a *Agent) Created() time.Time { return a.created }

// State returns the agent's signal state.
func (a *Agent) State() signals.State { return a.sig.State() }

// Signals returns the agent's signal dispatcher, for notifications and
// history. Send signals through Kernel.Signal so they are checked.
func (a *Agent) Signals() *signals.Dispatcher { return a.sig }

// Context returns the agent's context: cancelled when it is terminated.
func (a *Agent) Context() context.Context { return a.sig.Context() }

// FileSystem returns the agent's VFS.
func (a *Agent) FileSystem() FileSystem { return a.fs }

// Usage is what an agent has consumed so far.
type Usage struct {
	// Syscalls counts the agent's syscalls that passed the state gates.
	Syscalls int64 `json:"syscalls"`
	// ToolCalls counts admitted EXEC calls.
	ToolCalls int64 `json:"tool_calls"`
	// Tokens sums the Tokens of admitted EXEC calls.
	Tokens int64 `json:"tokens"`
}

// Usage returns the agent's counters.
func (a *Agent) Usage() Usage {
	return Usage{Syscalls: a.syscalls.Load(), ToolCalls: a.toolCalls.Load(), Tokens: a.tokens.Load()}
}

// AgentInfo describes an agent, for listings.
type AgentInfo struct {
	ID      string            `json:"id"`
	Role    string            `json:"role,omitempty"`
	Ring    int               `json:"ring"`
	Labels  map[string]string `json:"labels,omitempty"`
	State   signals.State     `json:"state"`
	Created time.Time         `json:"created"`
	Usage   Usage             `json:"usage"`
}

// Info returns a description of the agent.
func (a *Agent) Info() AgentInfo {
	return AgentInfo{
		ID: a.id, Role: a.role, Ring: a.ring.Level(), Labels: a.Labels(),
		State: a.State(), Created: a.created, Usage: a.Usage(),
	}
}

// release terminates the agent (if it still runs) and frees its resources.
func (a *Agent) release() {
	if a.sig.State() != signals.Terminated {
		if _, err := a.sig.Send(signals.SIGKILL, "kernel", "agent destroyed"); err != nil {
			// SIGKILL is unmaskable and valid: Send cannot fail for it.
			_ = err
		}
	}
}

// validAgentID reports whether id is a valid agent ID.
func validAgentID(id string) bool {
	if id == "" || len(id) > MaxAgentIDLen || id == "kernel" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == ':' || c == '@' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// Spawn adds an agent to the table, with its own signal dispatcher, VFS and
// inbox. A duplicate ID is an error "Agent <id> already registered"
// (matching ErrAgentExists), as in the reference.
func (k *Kernel) Spawn(ctx context.Context, spec AgentSpec) (*Agent, error) {
	if !validAgentID(spec.ID) {
		return nil, fmt.Errorf("spawn agent %s: ID must be 1 to %d characters from [A-Za-z0-9_.:@-], starting with a letter or digit, and not \"kernel\"",
			quoteBounded(spec.ID), MaxAgentIDLen)
	}
	if spec.Ring > RingKernel {
		return nil, fmt.Errorf("spawn agent %q: invalid ring %d", spec.ID, spec.Ring)
	}
	if spec.MaxTokens < 0 || spec.MaxToolCalls < 0 {
		return nil, fmt.Errorf("spawn agent %q: budgets must not be negative", spec.ID)
	}
	if k.State().refusing() {
		return nil, fmt.Errorf("spawn agent %q: %w", spec.ID, ErrClosed)
	}
	k.mu.RLock()
	_, dup := k.agents[spec.ID]
	k.mu.RUnlock()
	if dup {
		return nil, &agentExistsError{id: spec.ID}
	}
	fs, err := k.filesystems.NewFileSystem(ctx, spec.ID)
	if err != nil {
		return nil, fmt.Errorf("spawn agent %q: file system: %w", spec.ID, err)
	}
	labels := maps.Clone(spec.Labels)
	policyLabels := make(map[string]any, len(labels))
	for key, v := range labels {
		policyLabels[key] = v
	}
	a := &Agent{
		id: spec.ID, role: spec.Role, ring: spec.Ring, labels: labels,
		created: k.clock.Now(), maxTokens: spec.MaxTokens, maxToolCalls: spec.MaxToolCalls,
		fs:    fs,
		inbox: make(chan Message, k.inboxSize),
		policyAgent: map[string]any{
			"id": spec.ID, "role": spec.Role, "ring": int64(spec.Ring.Level()), "labels": policyLabels,
		},
		idValue: spec.ID,
	}
	a.sig = signals.New(signals.Options{AgentID: spec.ID, Parent: k.ctx, Clock: k.clock, Logger: k.baseLog, HistorySize: k.sigHistory})
	k.mu.Lock()
	switch {
	case k.State() == Shutdown:
		err = fmt.Errorf("spawn agent %q: %w", spec.ID, ErrClosed)
	case k.agents[spec.ID] != nil:
		err = &agentExistsError{id: spec.ID}
	case len(k.agents) >= k.maxAgents:
		err = fmt.Errorf("spawn agent %q: %w (%d agents)", spec.ID, ErrTooManyAgents, k.maxAgents)
	default:
		k.agents[spec.ID] = a
	}
	k.mu.Unlock()
	if err != nil {
		a.release()
		return nil, err
	}
	if err := k.appendLifecycle(ctx, a, "agent_spawn", "agent spawned"); err != nil {
		k.mu.Lock()
		if k.agents[spec.ID] == a {
			delete(k.agents, spec.ID)
		}
		k.mu.Unlock()
		a.release()
		return nil, fmt.Errorf("spawn agent %q: audit failed (fail closed): %w", spec.ID, err)
	}
	return a, nil
}

// agentExistsError prints the reference's message and matches
// ErrAgentExists.
type agentExistsError struct{ id string }

func (e *agentExistsError) Error() string        { return "Agent " + e.id + " already registered" }
func (e *agentExistsError) Is(target error) bool { return target == ErrAgentExists }

// Agent returns the agent with the given ID, or nil.
func (k *Kernel) Agent(id string) *Agent {
	k.mu.RLock()
	a := k.agents[id]
	k.mu.RUnlock()
	return a
}

// List describes every agent, by ID.
func (k *Kernel) List() []AgentInfo {
	agents := k.snapshot()
	out := make([]AgentInfo, len(agents))
	for i, a := range agents {
		out[i] = a.Info()
	}
	return out
}

// Destroy terminates the agent (SIGKILL from "kernel", cancelling its
// context) and removes it from the table. It reports whether the agent
// existed; destroying an unknown agent is not an error (idempotent, as in
// the reference).
func (k *Kernel) Destroy(id string) bool {
	k.mu.Lock()
	a := k.agents[id]
	delete(k.agents, id)
	k.mu.Unlock()
	if a == nil {
		return false
	}
	a.release()
	if err := k.appendLifecycle(context.Background(), a, "agent_destroy", "agent destroyed"); err != nil {
		k.log.LogAttrs(context.Background(), slog.LevelError, "agent destroy not audited",
			slog.String("agent_id", id), slog.String("error", err.Error()))
	}
	return true
}

// Signal sends sig to the agent on behalf of an operator or the daemon
// (ring 0): no policy check, but the signal is recorded in the agent's
// history and in the audit log (kind signal) with source and reason; the
// signal is delivered even if its event cannot be appended (stopping or
// killing an agent must not depend on the log), and that failure is logged. Agents signal each other with the
// SYS_SIGNAL syscall instead, which is checked and audited.
func (k *Kernel) Signal(id string, sig signals.Signal, source, reason string) (signals.Info, error) {
	a := k.Agent(id)
	if a == nil {
		return signals.Info{}, fmt.Errorf("signal agent %s: %w", quoteBounded(id), ErrAgentNotFound)
	}
	info, err := a.sig.Send(sig, source, reason)
	if err != nil {
		return info, fmt.Errorf("signal agent %q: %w", id, err)
	}
	if aerr := k.appendSignal(a, info); aerr != nil {
		k.log.LogAttrs(context.Background(), slog.LevelError, "signal not audited",
			slog.String("agent_id", id), slog.String("signal", sig.String()), slog.String("error", aerr.Error()))
	}
	return info, nil
}
