package approval

import (
	"slices"
	"strconv"
	"time"
)

// Fatigue configures approval-fatigue auto-deny: an agent that asks for
// approval more than MaxRequests times within Window gets its further
// requests denied at once, without bothering anyone, until older requests
// leave the window. Only accepted submissions count, so people see at most
// MaxRequests requests per agent per Window. The zero value turns it off.
type Fatigue struct {
	// MaxRequests is how many submissions one agent may make within
	// Window. 0 (with Window 0): off.
	MaxRequests int
	// Window is the sliding window. 0 (with MaxRequests 0): off.
	Window time.Duration
	// MaxAgents bounds how many agents are tracked at once; agents whose
	// requests have all left the window are forgotten first. When it is
	// reached, further agents' submissions fail with ErrFull (fail
	// closed). 0: DefaultFatigueAgents.
	MaxAgents int
}

// DefaultFatigueAgents is Fatigue.MaxAgents when zero.
const DefaultFatigueAgents = 100_000

// fatigue tracks recent submission times per agent. Guarded by Broker.mu.
type fatigue struct {
	max       int
	window    time.Duration
	maxAgents int
	agents    map[string][]time.Time // each at most max long, oldest first
	nextPrune int
}

func newFatigue(f Fatigue) (*fatigue, error) {
	switch {
	case f.MaxRequests == 0 && f.Window == 0:
		if f.MaxAgents != 0 {
			return nil, fieldErr("Options.Fatigue.MaxAgents", "set while fatigue is off (MaxRequests and Window are 0)")
		}
		return nil, nil
	case f.MaxRequests <= 0:
		return nil, fieldErr("Options.Fatigue.MaxRequests", "must be positive when Window is set, got "+strconv.Itoa(f.MaxRequests))
	case f.Window <= 0:
		return nil, fieldErr("Options.Fatigue.Window", "must be positive when MaxRequests is set, got "+f.Window.String())
	case f.MaxAgents < 0:
		return nil, fieldErr("Options.Fatigue.MaxAgents", "negative")
	}
	if f.MaxAgents == 0 {
		f.MaxAgents = DefaultFatigueAgents
	}
	return &fatigue{max: f.MaxRequests, window: f.Window, maxAgents: f.MaxAgents,
		agents: make(map[string][]time.Time), nextPrune: 64}, nil
}

// admit counts a submission by agent at now. It returns a non-empty denial
// reason when the agent is over its allowance, and ErrFull when no more
// agents can be tracked.
func (f *fatigue) admitLocked(agent string, now time.Time) (string, error) {
	cut := now.Add(-f.window)
	ts, known := f.agents[agent]
	// Drop the submissions that have left the window.
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) >= f.max {
		f.agents[agent] = ts
		return "approval fatigue: agent " + strconv.Quote(agent) + " asked " + strconv.Itoa(len(ts)+1) +
			" times in " + f.window.String() + " (at most " + strconv.Itoa(f.max) + " allowed); request denied without asking anyone", nil
	}
	if !known {
		if len(f.agents) >= f.nextPrune || len(f.agents) >= f.maxAgents {
			f.pruneLocked(cut)
		}
		if len(f.agents) >= f.maxAgents {
			return "", ErrFull
		}
	}
	if cap(ts) > 2*len(ts)+8 {
		// Re-home the slice so that dropped entries do not pin memory.
		ts = slices.Clone(ts)
	}
	f.agents[agent] = append(ts, now)
	return "", nil
}

// pruneLocked forgets agents with no submission inside the window.
func (f *fatigue) pruneLocked(cut time.Time) {
	for a, ts := range f.agents {
		if len(ts) == 0 || !ts[len(ts)-1].After(cut) {
			delete(f.agents, a)
		}
	}
	f.nextPrune = max(64, 2*len(f.agents))
}
