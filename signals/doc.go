// Package signals implements the reference agent signals (SIGSTOP to
// SIGDRIFT, with the reference numbers) and the per-agent state machine they
// drive: running ⇄ stopped → terminated.
//
// # State machine
//
// Each agent has one [Dispatcher]. Transitions belong to the kernel and
// always happen; handlers registered with [Dispatcher.Notify] are
// notifications run after the transition and can neither prevent nor
// replace it.
//
//	signal                         running      stopped      terminated
//	SIGSTOP, SIGINT, SIGBUDGET     → stopped    stopped      ignored
//	SIGCONT                        running      → running    ignored
//	SIGKILL, SIGPOLICY, SIGTRUST   → terminated → terminated ignored
//	SIGTERM                        → terminated → terminated ignored
//	SIGUSR1, SIGUSR2, SIGLOOP,     running      stopped      ignored
//	SIGDRIFT (notification only)
//
// Terminated is final: SIGCONT never revives an agent, and a terminated
// agent records later signals in its history as Ignored without an error.
//
// SIGINT means "pause after the current action". A stop never pre-empts an
// action in flight here (the kernel waits at the start of each syscall), so
// SIGINT has the same effect as SIGSTOP; observers tell them apart by the
// signal number.
//
// SIGTERM is the graceful termination: it can be blocked (queued while the
// agent finishes a critical section), and the agent's context is cancelled
// with a cause matching [ErrTerminated] but not [ErrKilled]. SIGKILL,
// SIGPOLICY and SIGTRUST are forced: they cannot be blocked ([Dispatcher.Block]
// returns [ErrUnmaskable]) and the cause matches both. SIGPOLICY and SIGTRUST
// carry the violation in their reason, which the cause
// ([TerminationError]) keeps.
//
// # Cancellation and waiting
//
// [Dispatcher.Context] is cancelled exactly when the agent is terminated;
// this is how SIGKILL interrupts running work. If [Options].Parent ends, the
// agent is terminated by SIGTERM from the kernel, keeping that invariant.
// [Dispatcher.Wait] returns at once for a running agent (no lock, no
// allocation), blocks a stopped agent's callers until SIGCONT, termination
// or the end of their context, and returns a [TerminationError] for a
// terminated agent.
//
// # Blocking
//
// Blocked maskable signals are queued in FIFO order, up to
// [Options].QueueSize; beyond that [Dispatcher.Send] refuses them with
// [ErrQueueFull] rather than dropping an older one. [Dispatcher.Unblock]
// delivers the queued signals that are no longer blocked, in order.
//
// # Differences from the reference
//
// The reference lets a custom handler replace the state change (so a
// SIGPOLICY handler disables the kill), swallows SIGKILL's panic, treats
// SIGTRUST as maskable, ignores BLOCK, lets SIGCONT clear the stopped flag
// of a killed agent, and is not safe for concurrent use. None of that is
// kept.
//
// # Concurrency
//
// All methods are safe for concurrent use. Notifications run on the
// goroutine whose Send (or Unblock) delivered the signal, after the
// Dispatcher's lock is released, so they may call the Dispatcher.
package signals
