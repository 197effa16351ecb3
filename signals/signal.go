package signals

import (
	"fmt"
	"strconv"
)

// Signal is a reference signal number. The numbers and names are those of
// the reference, so they travel unchanged on the wire (SYS_SIGNAL's
// "signal" argument, the HTTP API, the audit log).
type Signal uint8

// The reference signals, with the reference's numbers.
const (
	// SIGSTOP pauses the agent: its next syscall waits for SIGCONT.
	SIGSTOP Signal = 1
	// SIGCONT resumes a stopped agent. It is a no-op on a running agent
	// and never revives a terminated one.
	SIGCONT Signal = 2
	// SIGINT interrupts the agent: it pauses after its current action.
	// In this kernel that is exactly what SIGSTOP does (no stop pre-empts
	// an action in flight), so the state effect is the same; the signal
	// number is kept in the history and in notifications.
	SIGINT Signal = 3
	// SIGKILL terminates the agent at once and cancels its context with a
	// cause that matches ErrKilled. It cannot be blocked.
	SIGKILL Signal = 4
	// SIGTERM terminates the agent gracefully: the context is cancelled
	// with a cause that matches ErrTerminated but not ErrKilled, and the
	// signal may be blocked (queued) while the agent finishes a critical
	// section.
	SIGTERM Signal = 5
	// SIGUSR1 is a user-defined notification; it changes no state.
	SIGUSR1 Signal = 6
	// SIGUSR2 is a user-defined notification; it changes no state.
	SIGUSR2 Signal = 7
	// SIGPOLICY terminates the agent for a policy violation, like SIGKILL,
	// recording the violation as the reason. It cannot be blocked.
	SIGPOLICY Signal = 8
	// SIGTRUST terminates the agent for a trust violation, like SIGKILL,
	// recording the violation as the reason. It cannot be blocked.
	SIGTRUST Signal = 9
	// SIGBUDGET pauses the agent because a budget ran out (resume with
	// SIGCONT). It does not kill.
	SIGBUDGET Signal = 10
	// SIGLOOP reports that the agent looks stuck in a loop; it changes no
	// state and is delivered to notifications only.
	SIGLOOP Signal = 11
	// SIGDRIFT reports behavioural drift; it changes no state and is
	// delivered to notifications only.
	SIGDRIFT Signal = 12
)

// maxSignal is the highest valid signal number.
const maxSignal = SIGDRIFT

// effect is what delivering a signal does to the agent's state.
type effect uint8

const (
	effectNone      effect = iota // notification only
	effectStop                    // running → stopped
	effectCont                    // stopped → running
	effectTerminate               // → terminated (graceful, SIGTERM)
	effectKill                    // → terminated (forced)
)

// signalInfo is the static description of one signal.
type signalInfo struct {
	name       string
	effect     effect
	unmaskable bool
}

// table describes every signal, indexed by number; index 0 is invalid.
var table = [maxSignal + 1]signalInfo{
	SIGSTOP:   {name: "SIGSTOP", effect: effectStop},
	SIGCONT:   {name: "SIGCONT", effect: effectCont},
	SIGINT:    {name: "SIGINT", effect: effectStop},
	SIGKILL:   {name: "SIGKILL", effect: effectKill, unmaskable: true},
	SIGTERM:   {name: "SIGTERM", effect: effectTerminate},
	SIGUSR1:   {name: "SIGUSR1", effect: effectNone},
	SIGUSR2:   {name: "SIGUSR2", effect: effectNone},
	SIGPOLICY: {name: "SIGPOLICY", effect: effectKill, unmaskable: true},
	SIGTRUST:  {name: "SIGTRUST", effect: effectKill, unmaskable: true},
	SIGBUDGET: {name: "SIGBUDGET", effect: effectStop},
	SIGLOOP:   {name: "SIGLOOP", effect: effectNone},
	SIGDRIFT:  {name: "SIGDRIFT", effect: effectNone},
}

// All returns every valid signal in numeric order.
func All() []Signal {
	out := make([]Signal, 0, maxSignal)
	for s := Signal(1); s <= maxSignal; s++ {
		out = append(out, s)
	}
	return out
}

// Valid reports whether s is one of the reference signals (1 to 12).
func (s Signal) Valid() bool { return s >= 1 && s <= maxSignal }

// Unmaskable reports whether s can be neither blocked nor prevented by a
// notification: SIGKILL, SIGPOLICY and SIGTRUST.
func (s Signal) Unmaskable() bool { return s.Valid() && table[s].unmaskable }

// Terminates reports whether delivering s ends the agent (SIGKILL, SIGTERM,
// SIGPOLICY, SIGTRUST).
func (s Signal) Terminates() bool {
	if !s.Valid() {
		return false
	}
	e := table[s].effect
	return e == effectKill || e == effectTerminate
}

// String returns the reference name, e.g. "SIGKILL", or "Signal(99)" for an
// invalid number.
func (s Signal) String() string {
	if !s.Valid() {
		return "Signal(" + strconv.Itoa(int(s)) + ")"
	}
	return table[s].name
}

// MarshalText encodes a valid signal as its name. An invalid signal is an
// error wrapping ErrInvalidSignal.
func (s Signal) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidSignal, uint8(s))
	}
	return []byte(table[s].name), nil
}

// UnmarshalText decodes any form Parse accepts.
func (s *Signal) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Parse reads a signal given by name or number: "SIGKILL", "sigkill",
// "kill", "KILL" and "4" all give SIGKILL (names ignore ASCII case only). Anything else, including
// surrounding spaces and numbers outside 1 to 12, is an error wrapping
// ErrInvalidSignal that quotes the input.
func Parse(s string) (Signal, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		n, err := strconv.ParseUint(s, 10, 8)
		if err == nil && Signal(n).Valid() && (len(s) == 1 || s[0] != '0') {
			return Signal(n), nil
		}
		return 0, fmt.Errorf("%w %q: number must be 1 to %d", ErrInvalidSignal, s, maxSignal)
	}
	for sig := Signal(1); sig <= maxSignal; sig++ {
		name := table[sig].name
		if asciiEqualFold(s, name) || asciiEqualFold(s, name[len("SIG"):]) {
			return sig, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want a name such as SIGKILL or kill, or a number 1 to %d", ErrInvalidSignal, s, maxSignal)
}

// asciiEqualFold reports whether s equals upper (an upper-case ASCII name)
// ignoring ASCII case only, so that look-alikes such as the Kelvin sign do
// not parse as signal names.
func asciiEqualFold(s, upper string) bool {
	if len(s) != len(upper) {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// State is an agent's run state. The zero value is Running.
type State uint8

// The agent states. Running and Stopped alternate; Terminated is final.
const (
	// Running: syscalls proceed.
	Running State = iota
	// Stopped: syscalls wait (see Dispatcher.Wait) until SIGCONT or
	// termination.
	Stopped
	// Terminated: the agent is gone for good; its context is cancelled and
	// every later signal is ignored.
	Terminated
)

// String returns "running", "stopped" or "terminated".
func (s State) String() string {
	switch s {
	case Running:
		return "running"
	case Stopped:
		return "stopped"
	case Terminated:
		return "terminated"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state as its String form.
func (s State) MarshalText() ([]byte, error) {
	if s > Terminated {
		return nil, fmt.Errorf("invalid agent state %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// Outcome says what happened to one sent signal; it is recorded in the
// history with the signal.
type Outcome uint8

// The outcomes of sending a signal.
const (
	// Delivered: the state transition (if any) happened and notifications
	// ran.
	Delivered Outcome = iota
	// Queued: the signal is blocked; it waits in the pending queue and is
	// delivered by Unblock (a second history entry records that delivery).
	Queued
	// Ignored: the agent was already terminated; nothing happened.
	Ignored
	// Refused: the signal was blocked and the pending queue was full; Send
	// returned ErrQueueFull.
	Refused
)

// String returns "delivered", "queued", "ignored" or "refused".
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Queued:
		return "queued"
	case Ignored:
		return "ignored"
	case Refused:
		return "refused"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText encodes the outcome as its String form.
func (o Outcome) MarshalText() ([]byte, error) {
	if o > Refused {
		return nil, fmt.Errorf("invalid signal outcome %d", uint8(o))
	}
	return []byte(o.String()), nil
}
