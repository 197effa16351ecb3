package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Candidate is one decision competing in [Resolve], as the reference's
// CandidateDecision: the action is a free string and only the exact
// strings "allow" and "deny" count as an allow or a deny.
type Candidate struct {
	// Action is the candidate's action, e.g. "deny".
	Action string
	// Priority orders candidates, higher first; 0 by default.
	Priority int64
	// Scope is used by most_specific_wins; "" means global.
	Scope Scope
	// PolicyName, RuleName and Reason describe where the candidate came
	// from.
	PolicyName string
	RuleName   string
	Reason     string
	// Approvers are carried through untouched.
	Approvers []string
}

// Resolution is the outcome of [Resolve].
type Resolution struct {
	// WinnerIndex indexes the winner in the candidate list; Winner is a
	// copy of it.
	WinnerIndex int
	Winner      Candidate
	// ConflictDetected reports that the candidates include both an
	// "allow" and a "deny".
	ConflictDetected bool
	// CandidatesEvaluated is the number of candidates.
	CandidatesEvaluated int
	// Strategy is the strategy used.
	Strategy Strategy
	// Trace explains the choice, in the reference's exact wording.
	Trace []string
}

// Resolve picks one of cands under strategy ("" means
// priority_first_match), as the reference's PolicyConflictResolver does:
//
//   - deny_overrides: the highest-priority "deny", else the highest
//     priority overall;
//   - allow_overrides: the highest-priority "allow", else the highest
//     priority overall;
//   - priority_first_match: the highest priority;
//   - most_specific_wins: the greatest (scope specificity, priority), with
//     agent > organization > tenant > global.
//
// Ties go to the earlier candidate. It shares its choice with the
// evaluator's multi-match strategies. An empty list is ErrNoCandidates.
func Resolve(strategy Strategy, cands []Candidate) (Resolution, error) {
	if strategy == "" {
		strategy = StrategyPriorityFirstMatch
	}
	if !validStrategy(strategy) {
		return Resolution{}, fmt.Errorf("unknown strategy %q", strategy)
	}
	if len(cands) == 0 {
		return Resolution{}, ErrNoCandidates
	}
	res := Resolution{CandidatesEvaluated: len(cands), Strategy: strategy}
	hasAllow, hasDeny := false, false
	p := newPicker()
	for i, c := range cands {
		class := classOther
		switch c.Action {
		case "deny":
			class, hasDeny = classDeny, true
		case "allow":
			class, hasAllow = classAllow, true
		}
		p.add(i, c.Priority, class, specificity(c.Scope))
	}
	res.ConflictDetected = hasAllow && hasDeny
	res.WinnerIndex = p.winner(strategy)
	res.Winner = cands[res.WinnerIndex]
	w := res.Winner
	if len(cands) == 1 {
		res.Trace = []string{"Single candidate: " + w.RuleName + " \u2192 " + w.Action}
		return res, nil
	}
	prio := strconv.FormatInt(w.Priority, 10)
	switch strategy {
	case StrategyDenyOverrides, StrategyAllowOverrides:
		name, n, want, other := "DENY_OVERRIDES", p.nDeny, "deny", "allow"
		if strategy == StrategyAllowOverrides {
			name, n, want, other = "ALLOW_OVERRIDES", p.nAllow, "allow", "deny"
		}
		if n > 0 {
			res.Trace = []string{
				name + ": " + strconv.Itoa(n) + " " + want + " rule(s) found",
				"Winner: " + w.RuleName + " (priority=" + prio + ", scope=" + scopeName(w.Scope) + ")",
			}
		} else {
			res.Trace = []string{
				name + ": no " + want + " rules, selecting highest-priority " + other,
				"Winner: " + w.RuleName + " (priority=" + prio + ")",
			}
		}
	case StrategyMostSpecificWins:
		order := make([]int, len(cands))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			sa, sb := specificity(cands[a].Scope), specificity(cands[b].Scope)
			if sa != sb {
				return sb - sa
			}
			return cmpInt(cands[b].Priority, cands[a].Priority)
		})
		var rank strings.Builder
		rank.WriteString("Specificity ranking: [")
		for k, i := range order {
			if k > 0 {
				rank.WriteString(", ")
			}
			c := cands[i]
			rank.WriteByte('(')
			rank.Write(appendPyReprString(nil, c.RuleName))
			rank.WriteString(", ")
			rank.Write(appendPyReprString(nil, scopeName(c.Scope)))
			rank.WriteString(", " + strconv.Itoa(specificity(c.Scope)) + ")")
		}
		rank.WriteByte(']')
		res.Trace = []string{
			"MOST_SPECIFIC_WINS: " + strconv.Itoa(len(cands)) + " candidates",
			rank.String(),
			"Winner: " + w.RuleName + " (scope=" + scopeName(w.Scope) + ", priority=" + prio + ", action=" + w.Action + ")",
		}
	default:
		res.Trace = []string{
			"PRIORITY_FIRST_MATCH: " + strconv.Itoa(len(cands)) + " candidates",
			"Winner: " + w.RuleName + " (priority=" + prio + ", action=" + w.Action + ")",
		}
	}
	return res, nil
}

func scopeName(s Scope) string {
	if s == "" {
		return string(ScopeGlobal)
	}
	return string(s)
}
