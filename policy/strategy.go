package policy

// actionClass is how a strategy sees an action: a deny, an allow, or
// neither.
type actionClass uint8

const (
	classOther actionClass = iota
	classDeny
	classAllow
)

// classOf is the evaluator's view: deny and block refuse, allow admits;
// audit, rate_limit and require_approval are neither, so they never
// override.
func classOf(a Action) actionClass {
	switch a {
	case ActionDeny, ActionBlock:
		return classDeny
	case ActionAllow:
		return classAllow
	}
	return classOther
}

// specificity ranks scopes for most_specific_wins: global 0 < tenant 1 <
// organization 2 < agent 3. An unknown scope counts as global.
func specificity(s Scope) int {
	switch s {
	case ScopeTenant:
		return 1
	case ScopeOrganization:
		return 2
	case ScopeAgent:
		return 3
	}
	return 0
}

// validStrategy reports whether s names a strategy ("" is the default).
func validStrategy(s Strategy) bool {
	switch s {
	case "", StrategyPriorityFirstMatch, StrategyDenyOverrides, StrategyAllowOverrides, StrategyMostSpecificWins:
		return true
	}
	return false
}

// picker chooses a winner among candidates fed to it in input order,
// without allocating. It is shared by the evaluator (candidates are the
// matching rules, already in priority order) and by [Resolve]: in both,
// "highest" means the greatest key, ties going to the earliest candidate,
// which is what a stable descending sort followed by taking the first
// element gives.
type picker struct {
	n                       int
	top, topDeny, topAllow  int // indexes of the winners so far; -1: none
	topSpec                 int
	nDeny, nAllow           int
	prio, prioDeny, prioAll int64
	specPrio                int64
	specVal                 int
}

func newPicker() picker {
	return picker{top: -1, topDeny: -1, topAllow: -1, topSpec: -1}
}

// add feeds candidate i.
func (p *picker) add(i int, prio int64, class actionClass, spec int) {
	p.n++
	if p.top < 0 || prio > p.prio {
		p.top, p.prio = i, prio
	}
	switch class {
	case classDeny:
		p.nDeny++
		if p.topDeny < 0 || prio > p.prioDeny {
			p.topDeny, p.prioDeny = i, prio
		}
	case classAllow:
		p.nAllow++
		if p.topAllow < 0 || prio > p.prioAll {
			p.topAllow, p.prioAll = i, prio
		}
	}
	if p.topSpec < 0 || spec > p.specVal || (spec == p.specVal && prio > p.specPrio) {
		p.topSpec, p.specVal, p.specPrio = i, spec, prio
	}
}

// winner returns the winning candidate under s, or -1 if none was added.
func (p *picker) winner(s Strategy) int {
	switch s {
	case StrategyDenyOverrides:
		if p.topDeny >= 0 {
			return p.topDeny
		}
	case StrategyAllowOverrides:
		if p.topAllow >= 0 {
			return p.topAllow
		}
	case StrategyMostSpecificWins:
		return p.topSpec
	}
	return p.top
}
