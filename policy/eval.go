package policy

import (
	"context"
	"errors"
	"strings"
)

// NoPolicyReason is the reason of the deny an [Engine] (or a nil [Set])
// returns when no policy is loaded.
const NoPolicyReason = "No policy loaded — access denied (fail closed)"

// ActionBackend is an optional interface of a [Backend] whose answer
// carries an action label of its own, as the reference's backend decisions
// do. Without it a backend's action is allow or deny after its allowed
// flag.
type ActionBackend interface {
	Backend
	// DecideAction is Decide with the action the backend reports; "" means
	// allow or deny after allowed.
	DecideAction(ctx context.Context, input map[string]any) (allowed bool, action Action, reason string, err error)
}

// Step is one rule's part in an evaluation, as [Set.Explain] reports it.
type Step struct {
	// Rule and Policy name the rule and its document.
	Rule   string
	Policy string
	// Priority and Action are the rule's.
	Priority int64
	Action   Action
	// Matched reports whether every selector of the rule held.
	Matched bool
	// Error reports that checking the rule failed, which fails the whole
	// evaluation closed.
	Error bool
	// Why says what decided the step: "all selectors hold", the first
	// selector that did not hold, or the error.
	Why string
}

// Evaluate decides input against the set.
//
// Rules are tried in priority order; the tool-name index skips rules
// pinned to other tools, which never changes the outcome. Under
// priority_first_match the first matching rule decides. The other
// strategies look at every matching rule: deny_overrides picks the
// highest-priority deny or block (else the highest-priority match),
// allow_overrides the highest-priority allow (else the highest-priority
// match), most_specific_wins the most specific scope (agent >
// organization > tenant > global), then the highest priority. Ties go to
// the earlier rule. With no match, the backends are asked in order (an
// answer decides, ErrAbstain passes on, any other error denies), then the
// first document's default applies.
//
// Any evaluation error (an operator type error, a CEL error, a backend
// error) aborts the evaluation with the fail-closed deny: Allowed false,
// Action deny, Reason FailClosedReason, Error true.
//
// The input values may be nil, bool, string, any int or uint kind,
// float32, float64, json.Number, *big.Int, []any and map[string]any; any
// other type in a field a condition reads is a type error.
func (s *Set) Evaluate(ctx context.Context, input map[string]any) Decision {
	if s == nil {
		return noPolicyDecision
	}
	fc := fieldCache{pool: &s.extPool}
	var dp *Decision
	var reason string
	if s.firstOnly {
		dp, reason = s.firstMatch(ctx, input, &fc)
	} else {
		dp, reason = s.evaluate(ctx, input, &fc, nil)
	}
	if fc.ext != nil {
		fc.release()
	}
	// Copy the decision once, here: inner functions return pointers into
	// the compiled set to keep the hot path cheap; nil means no rule
	// matched.
	switch {
	case dp == nil:
		return s.noMatch(ctx, input)
	case reason == "":
		return *dp
	}
	d := *dp
	d.Reason = reason
	return d
}

// Explain is Evaluate with a trace of every rule it tried, in order. It
// tries every rule (without the tool-name index, which never changes the
// decision) so the trace shows why each one did not match.
func (s *Set) Explain(ctx context.Context, input map[string]any) (Decision, []Step) {
	if s == nil {
		return noPolicyDecision, nil
	}
	var steps []Step
	fc := fieldCache{pool: &s.extPool}
	dp, reason := s.evaluate(ctx, input, &fc, &steps)
	fc.release()
	if dp == nil {
		return s.noMatch(ctx, input), steps
	}
	d := *dp
	if reason != "" {
		d.Reason = reason
	}
	return d, steps
}

// ruleCursor walks candidate rule indexes in ascending (priority) order,
// merging a tool bucket with the wildcard list, or every rule.
type ruleCursor struct {
	bucket, wild []int32
	bi, wi       int
	all          bool
	k, n         int
}

func (c *ruleCursor) next() (int, bool) {
	if c.all {
		if c.k >= c.n {
			return 0, false
		}
		c.k++
		return c.k - 1, true
	}
	switch {
	case c.bi < len(c.bucket) && (c.wi >= len(c.wild) || c.bucket[c.bi] < c.wild[c.wi]):
		c.bi++
		return int(c.bucket[c.bi-1]), true
	case c.wi < len(c.wild):
		c.wi++
		return int(c.wild[c.wi-1]), true
	}
	return 0, false
}

// noPolicyDecision is what a nil set decides.
var noPolicyDecision = Decision{Action: ActionDeny, Reason: NoPolicyReason, Error: true}

// evaluate is the general path. It returns the deciding rule's decision
// (nil if no rule matched) and, if not "", a reason replacing its own (a
// named policy's message).
func (s *Set) evaluate(ctx context.Context, in map[string]any, fc *fieldCache, steps *[]Step) (*Decision, string) {
	cur := ruleCursor{wild: s.wild, all: steps != nil, n: len(s.rules)}
	if len(s.byTool) > 0 && !cur.all {
		if v, ok := in["tool_name"]; ok {
			if name, isStr := v.(string); isStr {
				cur.bucket = s.byTool[name]
			} else if v != nil {
				// A non-string tool name may raise where a pinned rule
				// is checked; keep the exact semantics by trying every
				// rule.
				cur.all = true
			}
		}
	}
	multi := s.strategy != StrategyPriorityFirstMatch
	if !multi && steps == nil && !cur.all && len(cur.bucket) == 0 {
		return s.firstMatch(ctx, in, fc)
	}
	p := newPicker()
	for {
		idx, more := cur.next()
		if !more {
			break
		}
		r := &s.rules[idx]
		ok, at, reason, err := r.test(ctx, in, fc)
		if steps != nil {
			*steps = append(*steps, r.step(ok, at, err))
		}
		if err != nil {
			return &s.fail, ""
		}
		if !ok {
			continue
		}
		if !multi {
			return &r.decision, reason
		}
		p.add(idx, r.priority, r.class, r.spec)
	}
	if w := p.winner(s.strategy); w >= 0 {
		r := &s.rules[w]
		reason := ""
		if r.named != nil {
			// Named rules compute their reason; the check is pure.
			_, reason, _ = r.named.test(in)
		}
		return &r.decision, reason
	}
	return nil, ""
}

// planStep is one step of a Set's plan: the wildcard rules in order,
// each condition-only rule as its conditions (with its common case
// inline), any other rule as one step that runs compiledRule.match.
type planStep struct {
	kind stepKind
	fast fastKind // stepCond: cond.fast
	slot int8     // stepCond: cond.slot
	last bool     // stepCond: the rule's last condition
	rule int32    // index in Set.rules
	next int32    // index of the next rule's first step
	cond *compiledCond
	// field is cond.field; flat says it has no dots (one map lookup).
	field string
	flat  bool
	tstr  string  // fastStrEq: the target
	tint  int64   // fastIntGt: the target
	tflt  float64 // fastFloatLt: the target
}

// stepKind is what a planStep does.
type stepKind uint8

const (
	stepCond   stepKind = iota // check one condition of a condition-only rule
	stepAlways                 // a rule without selectors: it matches
	stepRule                   // any other rule: compiledRule.match
)

// buildPlan flattens s.wild into s.plan. It runs after assignSlots.
func (s *Set) buildPlan() {
	s.plan = s.plan[:0]
	for _, idx := range s.wild {
		r := &s.rules[idx]
		first := len(s.plan)
		switch {
		case !r.condsOnly:
			s.plan = append(s.plan, planStep{kind: stepRule, rule: idx})
		case len(r.conds) == 0:
			s.plan = append(s.plan, planStep{kind: stepAlways, rule: idx})
		default:
			for i := range r.conds {
				c := &r.conds[i]
				s.plan = append(s.plan, planStep{
					kind: stepCond, fast: c.fast, slot: c.slot, last: i == len(r.conds)-1, rule: idx,
					cond: c, field: c.field, flat: c.path == nil, tstr: c.tstr, tint: c.tnum.i, tflt: c.tnum.f,
				})
			}
		}
		for i := first; i < len(s.plan); i++ {
			s.plan[i].next = int32(len(s.plan))
		}
	}
}

// firstMatch is the common path: priority_first_match over the rules no
// tool pins, following s.plan. It decides exactly as trying each rule's
// compiledRule.match in order would.
func (s *Set) firstMatch(ctx context.Context, in map[string]any, fc *fieldCache) (*Decision, string) {
	plan := s.plan
	for i := 0; i < len(plan); {
		st := &plan[i]
		switch st.kind {
		case stepAlways:
			return &s.rules[st.rule].decision, ""
		case stepRule:
			r := &s.rules[st.rule]
			ok, reason, err := r.match(ctx, in, fc)
			if err != nil {
				return &s.fail, ""
			}
			if ok {
				return &r.decision, reason
			}
			i = int(st.next)
			continue
		}
		// compiledCond.eval, with the common case inline.
		var v any
		var present bool
		switch {
		case st.slot >= 0 && fc.state[st.slot&(fieldSlots-1)] != 0:
			v, present = fc.val[st.slot&(fieldSlots-1)], fc.state[st.slot&(fieldSlots-1)] == 2
		case st.flat:
			// fieldCache.load for a field without dots: one map lookup.
			v, present = in[st.field]
			if st.slot >= 0 {
				j := st.slot & (fieldSlots - 1)
				if present {
					fc.state[j], fc.val[j] = 2, v
				} else {
					fc.state[j] = 1
				}
			}
		default:
			v, present = fc.load(st.cond, in)
		}
		holds := false
		if present && v != nil {
			inline := true
			switch st.fast {
			case fastStrEq:
				if x, ok := v.(string); ok {
					holds = x == st.tstr
				} else {
					inline = false
				}
			case fastIntGt:
				if x, ok := v.(int64); ok {
					holds = x > st.tint
				} else {
					inline = false
				}
			case fastFloatLt:
				if x, ok := v.(float64); ok {
					holds = x < st.tflt
				} else {
					inline = false
				}
			default:
				inline = false
			}
			if !inline {
				var err error
				if holds, err = st.cond.holds(v, fc); err != nil {
					return &s.fail, ""
				}
			}
		}
		switch {
		case !holds:
			i = int(st.next)
		case st.last:
			return &s.rules[st.rule].decision, ""
		default:
			i++
		}
	}
	return nil, ""
}

// noMatch decides when no rule matched: the backends, then the default.
func (s *Set) noMatch(ctx context.Context, in map[string]any) Decision {
	var d Decision
	for i := range s.backends {
		if s.consult(ctx, &s.backends[i], in, &d) {
			return d
		}
	}
	return s.def
}

// consult asks one backend, writing its decision to d. Its answer decides
// and its error denies; an error wrapping ErrAbstain means it has no
// answer (answered is false).
func (s *Set) consult(ctx context.Context, b *backendEntry, in map[string]any, d *Decision) (answered bool) {
	var (
		allowed bool
		action  Action
		reason  string
		err     error
	)
	if ab, ok := b.b.(ActionBackend); ok {
		allowed, action, reason, err = ab.DecideAction(ctx, in)
	} else {
		allowed, reason, err = b.b.Decide(ctx, in)
	}
	if err != nil {
		if errors.Is(err, ErrAbstain) {
			return false
		}
		// As for a raising backend in the reference: the plain
		// fail-closed decision.
		*d = s.fail
		return true
	}
	if action == "" {
		action = ActionDeny
		if allowed {
			action = ActionAllow
		}
	}
	*d = Decision{Allowed: allowed, Action: action, Reason: reason, Policy: b.policy, Version: s.version, Backend: b.name}
	return true
}

// match is test without the trace position, with a fast path for rules
// made of conditions only.
func (r *compiledRule) match(ctx context.Context, in map[string]any, fc *fieldCache) (bool, string, error) {
	if r.condsOnly {
		for i := range r.conds {
			if ok, err := r.conds[i].eval(in, fc); err != nil || !ok {
				return false, "", err
			}
		}
		return true, "", nil
	}
	ok, _, reason, err := r.test(ctx, in, fc)
	return ok, reason, err
}

// test checks every selector of r in order. at is the index of the first
// selector that did not hold or raised (see describeSelectors); reason is
// a named policy's message.
func (r *compiledRule) test(ctx context.Context, in map[string]any, fc *fieldCache) (ok bool, at int, reason string, err error) {
	if len(r.tools) > 0 {
		if !matchGlobs(r.tools, in, "tool_name") {
			return false, at, "", nil
		}
		at++
	}
	if len(r.agents) > 0 {
		if !matchGlobs(r.agents, in, "agent_id") {
			return false, at, "", nil
		}
		at++
	}
	if len(r.syscalls) > 0 {
		if !matchGlobs(r.syscalls, in, "syscall") {
			return false, at, "", nil
		}
		at++
	}
	for i := range r.conds {
		if ok, err := r.conds[i].eval(in, fc); err != nil || !ok {
			return false, at, "", err
		}
		at++
	}
	if r.named != nil {
		ok, msg, err := r.named.test(in)
		if err != nil || !ok {
			return false, at, "", err
		}
		reason = msg
		at++
	}
	if r.when != nil {
		if ok, err := r.when.eval(ctx, in); err != nil || !ok {
			return false, at, "", err
		}
	}
	return true, at, reason, nil
}

// matchGlobs reports whether the string field key of in matches any glob.
func matchGlobs(gs []globPattern, in map[string]any, key string) bool {
	v, ok := in[key].(string)
	if !ok {
		return false
	}
	for i := range gs {
		if gs[i].match(v) {
			return true
		}
	}
	return false
}

// step describes one test for Explain.
func (r *compiledRule) step(ok bool, at int, err error) Step {
	st := Step{Rule: r.name, Policy: r.policy, Priority: r.priority, Action: r.decision.Action, Matched: ok}
	sel := r.describeSelectors()
	what := ""
	if at < len(sel) {
		what = sel[at]
	}
	switch {
	case err != nil:
		st.Error = true
		st.Why = "error in " + what + ": " + err.Error()
	case ok && len(sel) == 0:
		st.Why = "no selectors: matches everything"
	case ok:
		st.Why = "all selectors hold: " + strings.Join(sel, "; ")
	default:
		st.Why = "does not hold: " + what
	}
	return st
}
