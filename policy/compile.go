package policy

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/cel-go/cel"

	"github.com/agentos/agentos/limit"
)

// CompileOptions configure [Compile].
type CompileOptions struct {
	// Backends are external engines consulted in order when no rule
	// matches; the first to answer decides and an error denies. nil: none.
	Backends []Backend
	// CELCostLimit bounds the runtime cost of each `when` expression; an
	// expression exceeding it fails closed. 0: DefaultCELCostLimit.
	CELCostLimit uint64
	// Builtins adds named policies, or overrides built-in ones by name, for
	// Document.Policies. nil: the built-ins of [BuiltinNamed] only.
	Builtins map[string]Named
}

// Set is a compiled, immutable policy set. It is safe for concurrent use;
// evaluating it does no parsing, no regexp compilation and, on the common
// path, no allocation.
type Set struct {
	rules    []compiledRule
	byTool   map[string][]int32 // rules pinned to a tool name, ascending
	wild     []int32            // rules not pinned, ascending
	strategy Strategy
	backends []backendEntry
	def      Decision // the default decision
	fail     Decision // the fail-closed decision
	version  string
	policies []string  // document names, in order
	extPool  sync.Pool // *fieldExt, for the `matches` prefilter
	// plan is the wildcard rules flattened for firstMatch; firstOnly
	// says Evaluate can go straight to it (priority_first_match, no
	// tool-pinned rules).
	plan      []planStep
	firstOnly bool
}

// backendEntry is a Backend with its precomputed names.
type backendEntry struct {
	b      Backend
	name   string
	policy string // "external:<name>"
}

// rule is a compiled rule. Selectors are checked in a fixed order: match
// globs (never an error), conditions (condition, then conditions),
// the named-policy check, then `when`.
type compiledRule struct {
	name     string
	policy   string
	priority int64
	spec     int
	class    actionClass
	tools    []globPattern
	agents   []globPattern
	syscalls []globPattern
	conds    []compiledCond
	named    *namedRule
	when     *celProgram
	whenSrc  string
	// condsOnly marks a rule whose only selectors are conditions.
	condsOnly bool
	decision  Decision // precomputed: Allowed, Action, Rule, Reason, Policy, Version, ...
}

// Compile validates and compiles docs into a Set. Rules of all documents are
// sorted by priority, highest first, ties keeping document then rule order.
// The first document's strategy and default action govern the set. Every
// problem is reported as an [Errors] located in its file; nothing is
// returned unless all documents compile.
func Compile(docs []*Document, opts CompileOptions) (*Set, error) {
	c := setCompiler{opts: opts, costLimit: opts.CELCostLimit}
	if c.costLimit == 0 {
		c.costLimit = DefaultCELCostLimit
	}
	s := &Set{strategy: StrategyPriorityFirstMatch}
	if len(docs) > 0 && docs[0] != nil && docs[0].Strategy != "" {
		s.strategy = docs[0].Strategy
	}
	var rules []compiledRule
	for di, d := range docs {
		if d == nil {
			c.errs = append(c.errs, &Error{Msg: fmt.Sprintf("document %d is nil", di)})
			continue
		}
		rules = append(rules, c.document(d, s.strategy)...)
		s.policies = append(s.policies, documentName(d))
	}
	for i, b := range opts.Backends {
		if b == nil {
			c.errs = append(c.errs, &Error{Field: "backends." + strconv.Itoa(i), Msg: "backend is nil"})
			continue
		}
		name := b.Name()
		s.backends = append(s.backends, backendEntry{b: b, name: name, policy: "external:" + name})
	}
	if err := c.errs.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].priority > rules[j].priority })
	s.rules = rules
	for i := range s.rules {
		r := &s.rules[i]
		r.condsOnly = len(r.tools) == 0 && len(r.agents) == 0 && len(r.syscalls) == 0 && r.named == nil && r.when == nil
	}
	s.index()
	s.assignSlots()
	s.buildPlan()
	s.firstOnly = s.strategy == StrategyPriorityFirstMatch && len(s.byTool) == 0

	s.version = setVersion(docs, opts)
	defAction := ActionAllow
	if len(docs) > 0 && docs[0].Defaults.Action != "" {
		defAction = docs[0].Defaults.Action
	}
	s.def = Decision{Allowed: allowedAction(defAction), Action: defAction, Reason: DefaultReason, Version: s.version}
	if len(s.policies) > 0 {
		s.def.Policy = s.policies[0]
	}
	s.fail = Decision{Action: ActionDeny, Reason: FailClosedReason, Error: true, Version: s.version}
	for i := range s.rules {
		s.rules[i].decision.Version = s.version
	}
	return s, nil
}

// Version is the set's version: the hex SHA-256 of its canonical encoding.
func (s *Set) Version() string { return s.version }

// Strategy is the conflict strategy governing the set.
func (s *Set) Strategy() Strategy { return s.strategy }

// Len is the number of compiled rules, built-in named policies included.
func (s *Set) Len() int { return len(s.rules) }

// allowedAction reports whether a decision with action a admits the action
// now.
func allowedAction(a Action) bool {
	return a == ActionAllow || a == ActionAudit || a == ActionRateLimit
}

func documentName(d *Document) string {
	if d.Name == "" {
		return "unnamed"
	}
	return d.Name
}

// compiler gathers every problem of a Compile call.
type setCompiler struct {
	opts      CompileOptions
	costLimit uint64
	env       *cel.Env
	envErr    error
	errs      Errors
}

func (c *setCompiler) errorf(d *Document, fallback Location, field, format string, args ...any) {
	loc, ok := d.Fields[field]
	if !ok {
		loc = fallback
		if loc == (Location{}) {
			loc = d.Loc
		}
	}
	if loc.File == "" {
		loc.File = d.Loc.File
	}
	c.errs = append(c.errs, &Error{Loc: loc, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (c *setCompiler) document(d *Document, strategy Strategy) []compiledRule {
	name := documentName(d)
	if !validStrategy(d.Strategy) {
		c.errorf(d, d.Loc, "strategy", "unknown strategy %q (want priority_first_match, deny_overrides, allow_overrides or most_specific_wins)", d.Strategy)
	} else if d.Strategy != "" && d.Strategy != strategy {
		c.errorf(d, d.Loc, "strategy", "strategy %q conflicts with %q of the first document, which governs the set", d.Strategy, strategy)
	}
	switch d.Defaults.Action {
	case "", ActionAllow, ActionDeny, ActionAudit, ActionBlock:
	default:
		c.errorf(d, d.Loc, "defaults.action", "unknown default action %q (want allow, deny, audit or block)", d.Defaults.Action)
	}
	var out []compiledRule
	for pi, pname := range d.Policies {
		n, ok := resolveNamed(pname, c.opts.Builtins)
		if !ok {
			c.errorf(d, d.Loc, "policies."+strconv.Itoa(pi), "%v %q (known: %s)", ErrUnknownPolicy, pname, knownNames(c.opts.Builtins))
			continue
		}
		for _, nr := range compileNamed(pname, n) {
			action := ActionDeny
			var approval *Approval
			if nr.kind == namedApproval {
				action, approval = ActionRequireApproval, &Approval{Quorum: 1}
			}
			out = append(out, compiledRule{
				name: pname, policy: name, priority: math.MaxInt64, class: classOf(action), named: nr,
				decision: Decision{Action: action, Rule: pname, Policy: name, Approval: approval},
			})
		}
	}
	for ri := range d.Rules {
		if r, ok := c.compiledRule(d, name, ri); ok {
			out = append(out, r)
		}
	}
	return out
}

func (c *setCompiler) compiledRule(d *Document, documentName string, ri int) (compiledRule, bool) {
	src := &d.Rules[ri]
	prefix := "rules." + strconv.Itoa(ri) + "."
	before := len(c.errs)
	bad := func(field, format string, args ...any) { c.errorf(d, src.Loc, prefix+field, format, args...) }

	r := compiledRule{name: src.Name, policy: documentName, priority: src.Priority, spec: specificity(src.Scope), class: classOf(src.Action)}
	if src.Name == "" {
		bad("name", "rule name is required")
	}
	switch src.Action {
	case ActionAllow, ActionAudit, ActionDeny, ActionBlock, ActionRequireApproval, ActionRateLimit:
	default:
		bad("action", "unknown action %q (want allow, audit, deny, block, require_approval or rate_limit)", src.Action)
	}
	switch src.Scope {
	case "", ScopeGlobal, ScopeTenant, ScopeOrganization, ScopeAgent:
	default:
		bad("scope", "unknown scope %q (want global, tenant, organization or agent)", src.Scope)
	}
	switch src.OnViolation {
	case "", "deny", "stop", "kill":
	default:
		bad("on_violation", "unknown on_violation %q (want deny, stop or kill)", src.OnViolation)
	}
	var rate limit.Rate
	switch {
	case src.Action == ActionRateLimit && src.Limit == "":
		bad("limit", "a rate_limit rule needs a limit such as \"100/hour\"")
	case src.Action != ActionRateLimit && src.Limit != "":
		bad("limit", "limit is only valid with action rate_limit")
	case src.Limit != "":
		var err error
		if rate, err = limit.ParseRate(src.Limit); err != nil {
			bad("limit", "%v", err)
		}
	}
	var approval *Approval
	if src.Quorum < 0 {
		bad("quorum", "quorum must not be negative")
	} else if len(src.Approvers) > 0 && src.Quorum > len(src.Approvers) {
		bad("quorum", "quorum %d exceeds the %d approvers", src.Quorum, len(src.Approvers))
	}
	if src.Timeout < 0 {
		bad("timeout", "timeout must not be negative")
	}
	if src.Action == ActionRequireApproval {
		approval = &Approval{Approvers: append([]string(nil), src.Approvers...), Quorum: max(src.Quorum, 1), Timeout: src.Timeout}
	}

	if m := src.Match; m != nil {
		r.tools = c.globs(d, src, prefix+"match.tools", m.Tools)
		r.agents = c.globs(d, src, prefix+"match.agents", m.Agents)
		r.syscalls = c.globs(d, src, prefix+"match.syscalls", m.Syscalls)
	}
	if src.Condition != nil {
		if cd, ok := c.compileCond(d, src, prefix+"condition", *src.Condition); ok {
			r.conds = append(r.conds, cd)
		}
	}
	for i, cond := range src.Conditions {
		if cd, ok := c.compileCond(d, src, prefix+"conditions."+strconv.Itoa(i), cond); ok {
			r.conds = append(r.conds, cd)
		}
	}
	if src.When != "" {
		if c.env == nil && c.envErr == nil {
			c.env, c.envErr = newCELEnv()
		}
		if c.envErr != nil {
			bad("when", "cel environment: %v", c.envErr)
		} else if p, err := compileCEL(c.env, src.When, c.costLimit); err != nil {
			bad("when", "invalid CEL expression: %v", err)
		} else {
			r.when, r.whenSrc = p, src.When
		}
	}
	reason := src.Message
	if reason == "" {
		reason = "Matched rule '" + src.Name + "'"
	}
	r.decision = Decision{
		Allowed: allowedAction(src.Action), Action: src.Action, Rule: src.Name, Reason: reason,
		Policy: documentName, OnViolation: src.OnViolation, Limit: rate, Approval: approval,
	}
	return r, len(c.errs) == before
}

func (c *setCompiler) globs(d *Document, src *Rule, field string, pats []string) []globPattern {
	var out []globPattern
	for i, p := range pats {
		g, err := compileGlob(p)
		if err != nil {
			c.errorf(d, src.Loc, field+"."+strconv.Itoa(i), "%v", err)
			continue
		}
		out = append(out, g)
	}
	return out
}

func (c *setCompiler) compileCond(d *Document, src *Rule, field string, in Condition) (compiledCond, bool) {
	op, ok := opCodes[in.Operator]
	if !ok {
		c.errorf(d, src.Loc, field+".operator", "unknown operator %q (want eq, ne, gt, lt, gte, lte, in, contains or matches)", in.Operator)
		return compiledCond{}, false
	}
	target, ok := normalizeTarget(in.Value)
	if !ok {
		c.errorf(d, src.Loc, field+".value", "unsupported value of type %T", in.Value)
		return compiledCond{}, false
	}
	cd := compiledCond{field: in.Field, path: splitPath(in.Field), op: op, target: target}
	cd.tstr, cd.isStr = target.(string)
	if kindOf(target) == kNum {
		cd.tnum, cd.isNum = toNum(target)
	}
	cd.fast = fastPath(&cd)
	if op == opMatches {
		pattern := string(appendPyStr(nil, target))
		re, err := regexp.Compile(pattern)
		if err != nil {
			c.errorf(d, src.Loc, field+".value", "invalid regular expression %q (RE2 syntax: no lookaround or back-references): %v", pattern, err)
			return compiledCond{}, false
		}
		cd.re = re
		cd.lit, cd.fold = requiredLiteral(pattern)
		cd.litBG = literalBigrams(cd.lit)
	}
	cd.desc = in.Field + " " + string(in.Operator) + " " + describeTarget(target)
	return cd, true
}

// index builds the tool-name index: a rule whose first-evaluated selector
// pins tool_name to literal names (match.tools without metacharacters, or a
// first condition "tool_name eq <string>" / "tool_name in [<strings>]")
// can only match those tools, and fails on every other tool without
// reaching a selector that could raise. Such rules go in per-tool buckets;
// the rest in the wildcard list.
func (s *Set) index() {
	s.byTool = map[string][]int32{}
	for i := range s.rules {
		names, pinned := s.rules[i].pins()
		if !pinned {
			s.wild = append(s.wild, int32(i))
			continue
		}
		seen := map[string]bool{}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				s.byTool[n] = append(s.byTool[n], int32(i))
			}
		}
	}
}

// assignSlots gives the fieldSlots most used condition fields a slot in
// the per-evaluation field cache.
func (s *Set) assignSlots() {
	count := map[string]int{}
	for i := range s.rules {
		for j := range s.rules[i].conds {
			count[s.rules[i].conds[j].field]++
		}
	}
	fields := make([]string, 0, len(count))
	for f := range count {
		fields = append(fields, f)
	}
	sort.Slice(fields, func(i, j int) bool {
		if count[fields[i]] != count[fields[j]] {
			return count[fields[i]] > count[fields[j]]
		}
		return fields[i] < fields[j]
	})
	slot := map[string]int8{}
	for i, f := range fields {
		if i == fieldSlots {
			break
		}
		slot[f] = int8(i)
	}
	for i := range s.rules {
		for j := range s.rules[i].conds {
			c := &s.rules[i].conds[j]
			if n, ok := slot[c.field]; ok {
				c.slot = n
			} else {
				c.slot = -1
			}
		}
	}
}

// pins returns the tool names r is restricted to, if it is.
func (r *compiledRule) pins() ([]string, bool) {
	if len(r.tools) > 0 {
		var names []string
		for _, g := range r.tools {
			if g.re != nil {
				return nil, false
			}
			names = append(names, g.literal)
		}
		return names, true
	}
	// Agent and syscall globs never raise, so the first condition is the
	// first selector that could fail the rule on tool_name alone.
	if len(r.conds) == 0 {
		return nil, false
	}
	c := &r.conds[0]
	if c.field != "tool_name" {
		return nil, false
	}
	switch c.op {
	case opEq:
		if c.isStr {
			return []string{c.tstr}, true
		}
	case opIn:
		list, ok := c.target.([]any)
		if !ok {
			return nil, false
		}
		// A string subject can only equal a string element.
		names := []string{}
		for _, e := range list {
			if s, ok := e.(string); ok {
				names = append(names, s)
			}
		}
		return names, true
	}
	return nil, false
}

func (r *compiledRule) describeSelectors() []string {
	var out []string
	add := func(what string, gs []globPattern) {
		if len(gs) > 0 {
			out = append(out, what)
		}
	}
	add("match.tools", r.tools)
	add("match.agents", r.agents)
	add("match.syscalls", r.syscalls)
	for i := range r.conds {
		out = append(out, "condition "+r.conds[i].desc)
	}
	if r.named != nil {
		out = append(out, "policy "+r.name)
	}
	if r.when != nil {
		out = append(out, "when "+strings.TrimSpace(r.whenSrc))
	}
	return out
}

// describeTarget renders a condition's target for people: a string without
// quotes or control characters as itself in single quotes (a regexp keeps
// its single backslashes), anything else in Python repr form.
func describeTarget(target any) string {
	if str, ok := target.(string); ok && !strings.ContainsFunc(str, func(r rune) bool {
		return r == '\'' || r < 0x20 || r == 0x7f || r == utf8.RuneError
	}) {
		return "'" + str + "'"
	}
	return string(appendPyRepr(nil, target))
}
