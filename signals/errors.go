package signals

import "errors"

// Sentinel errors. Match them with errors.Is.
var (
	// ErrTerminated means the agent is terminated. Wait returns an error
	// matching it for a terminated agent, and the cause of a terminated
	// agent's context matches it whatever signal ended the agent.
	ErrTerminated = errors.New("agent terminated")

	// ErrKilled means the agent was terminated by force (SIGKILL, SIGPOLICY
	// or SIGTRUST). A forced termination matches both ErrKilled and
	// ErrTerminated; a graceful one (SIGTERM) matches only ErrTerminated.
	ErrKilled = errors.New("agent killed")

	// ErrUnmaskable is returned by Block for SIGKILL, SIGPOLICY and
	// SIGTRUST, which can never be blocked.
	ErrUnmaskable = errors.New("signal cannot be blocked")

	// ErrInvalidSignal is wrapped by every error about a signal number or
	// name outside the reference set (1 to 12).
	ErrInvalidSignal = errors.New("invalid signal")

	// ErrQueueFull is returned by Send when the signal is blocked and the
	// pending queue already holds Options.QueueSize signals. The signal is
	// recorded in the history as Refused and not queued.
	ErrQueueFull = errors.New("pending signal queue full")
)

// TerminationError says which signal ended an agent. It is the cause of the
// agent's cancelled context (see context.Cause) and what Wait returns for a
// terminated agent. It matches ErrTerminated, and also ErrKilled when the
// termination was forced.
type TerminationError struct {
	// AgentID is the agent that was terminated.
	AgentID string
	// Info is the signal that terminated it, with its source and reason.
	Info Info
}

// Error implements error: "agent a1 killed by SIGPOLICY from policy: reason".
func (e *TerminationError) Error() string {
	verb := " terminated by "
	if e.Forced() {
		verb = " killed by "
	}
	msg := "agent " + e.AgentID + verb + e.Info.Signal.String()
	if e.Info.Source != "" {
		msg += " from " + e.Info.Source
	}
	if e.Info.Reason != "" {
		msg += ": " + e.Info.Reason
	}
	return msg
}

// Forced reports whether the agent was killed (any terminating signal other
// than SIGTERM).
func (e *TerminationError) Forced() bool { return e.Info.Signal != SIGTERM }

// Unwrap returns ErrKilled and ErrTerminated for a forced termination and
// ErrTerminated alone for a graceful one.
func (e *TerminationError) Unwrap() []error {
	if e.Forced() {
		return []error{ErrKilled, ErrTerminated}
	}
	return []error{ErrTerminated}
}
