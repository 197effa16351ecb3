package policy

import "time"

// Location is a position in a policy file. Line and Col are 1-based; zero
// means unknown (for example a document built in Go rather than loaded).
type Location struct {
	File string
	Line int
	Col  int
}

// Document is one policy file (or one YAML document in a multi-document
// file) as loaded, before compilation. It is a strict superset of the
// reference's PolicyDocument; fields marked EXT are extensions.
type Document struct {
	// Version is the document's version string; default "1.0".
	Version string
	// Name names the policy; default "unnamed". Decisions report it.
	Name string
	// Description is free text.
	Description string
	// Strategy is the conflict strategy (EXT); "" means StrategyPriorityFirstMatch.
	Strategy Strategy
	// Defaults holds the default action and the reference's budget fields.
	Defaults Defaults
	// Rules in document order.
	Rules []Rule
	// Policies names built-in policies (read_only, no_pii, strict) this
	// document enables (EXT). Unknown names are a load error.
	Policies []string
	// Loc is where the document starts; Fields maps a dotted field path
	// ("rules.0.condition.value") to where it was written, for error
	// messages. Both are empty for documents built in Go.
	Loc    Location
	Fields map[string]Location
}

// Defaults are a document's defaults block. Only the first document's
// Action is used when no rule matches (reference behaviour).
type Defaults struct {
	// Action applies when no rule and no backend decides; "" means allow,
	// as in the reference. Only allow, deny, audit and block are valid.
	Action Action
	// MaxTokens, MaxToolCalls and ConfidenceThreshold are the reference's
	// budget fields (defaults 4096, 10 and 0.8), used by budgets.
	MaxTokens           int64
	MaxToolCalls        int64
	ConfidenceThreshold float64
}

// Rule is one rule of a document. A rule matches when every selector it has
// holds; a rule with no selector matches everything.
type Rule struct {
	// Name identifies the rule in decisions and audit events. Required.
	Name string
	// Priority orders rules: higher first; ties keep file order, then
	// document order.
	Priority int64
	// Condition is the reference's single condition; nil if absent.
	Condition *Condition
	// Conditions (EXT) must all hold.
	Conditions []Condition
	// Match (EXT) selects by tool, agent and syscall globs; nil if absent.
	Match *Match
	// When (EXT) is a CEL expression over the input; "" if absent.
	When string
	// Action is what a match decides.
	Action Action
	// Message is the decision's reason; "" means "Matched rule '<name>'".
	Message string
	// Limit (EXT) is the allowance of a rate_limit rule, "N/unit".
	Limit string
	// OnViolation (EXT) is what else happens to the agent when this rule
	// denies: "" or "deny" (nothing), "stop" (SIGSTOP) or "kill" (SIGKILL).
	OnViolation string
	// Approvers, Quorum and Timeout (EXT) configure require_approval.
	Approvers []string
	Quorum    int
	Timeout   time.Duration
	// Scope (EXT) is global (default), tenant, organization or agent; used
	// by most_specific_wins.
	Scope Scope
	// Loc is where the rule starts in its file.
	Loc Location
}

// Condition is {field, operator, value}: the input field is the subject,
// Value is the target.
type Condition struct {
	Field    string
	Operator Operator
	// Value is the target as decoded from the file: nil, bool, int64,
	// *big.Int (integers beyond int64), float64, string, []any or
	// map[string]any. Integers and floats stay distinct (1 vs 1.0).
	Value any
}

// Match selects rules by glob (EXT). Globs are fnmatch style and '*'
// crosses '/'. Empty lists do not constrain.
type Match struct {
	Tools    []string
	Agents   []string
	Syscalls []string
}

// Operator is a condition operator.
type Operator string

// The nine operators of the reference.
const (
	OpEq       Operator = "eq"
	OpNe       Operator = "ne"
	OpGt       Operator = "gt"
	OpLt       Operator = "lt"
	OpGte      Operator = "gte"
	OpLte      Operator = "lte"
	OpIn       Operator = "in"
	OpContains Operator = "contains"
	OpMatches  Operator = "matches"
)

// Action is what a rule or default decides.
type Action string

// Actions. Allow and Audit admit the action; Deny and Block refuse it;
// RequireApproval refuses until a human approves; RateLimit admits while
// under the rule's limit.
const (
	ActionAllow           Action = "allow"
	ActionAudit           Action = "audit"
	ActionDeny            Action = "deny"
	ActionBlock           Action = "block"
	ActionRequireApproval Action = "require_approval"
	ActionRateLimit       Action = "rate_limit"
)

// Strategy decides between several matching rules.
type Strategy string

// Conflict strategies. StrategyPriorityFirstMatch is the default.
const (
	StrategyPriorityFirstMatch Strategy = "priority_first_match"
	StrategyDenyOverrides      Strategy = "deny_overrides"
	StrategyAllowOverrides     Strategy = "allow_overrides"
	StrategyMostSpecificWins   Strategy = "most_specific_wins"
)

// Scope is how specific a rule is, for most_specific_wins.
type Scope string

// Scopes, least to most specific.
const (
	ScopeGlobal       Scope = "global"
	ScopeTenant       Scope = "tenant"
	ScopeOrganization Scope = "organization"
	ScopeAgent        Scope = "agent"
)
