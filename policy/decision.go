package policy

import (
	"time"

	"github.com/agentos/agentos/limit"
)

// FailClosedReason is the reason of every decision that denies because
// evaluation itself failed. It contains an em dash (U+2014), as in the
// reference.
const FailClosedReason = "Policy evaluation error — access denied (fail closed)"

// DefaultReason is the reason when no rule and no backend decided.
const DefaultReason = "No rules matched; default action applied"

// Decision is the outcome of evaluating one input against a [Set]. It is a
// small value; its strings point into the compiled set, so returning it does
// not allocate.
type Decision struct {
	// Allowed reports whether the action may proceed now. For
	// require_approval it is false until approved; for rate_limit it is true
	// and the kernel applies Limit.
	Allowed bool
	// Action is the deciding rule's action, the backend's (allow or deny),
	// or the default action.
	Action Action
	// Rule names the deciding rule; "" when a backend or the default decided
	// or evaluation failed.
	Rule string
	// Reason is the rule's message, "Matched rule '<name>'", a backend's
	// reason, DefaultReason or FailClosedReason.
	Reason string
	// Policy names the deciding rule's document, "external:<backend>" for a
	// backend, or the first document's name for the default ("" if none).
	Policy string
	// Version is the policy-set version: hex SHA-256 of the canonical
	// compiled set.
	Version string
	// Error is true when the decision is a fail-closed deny caused by an
	// evaluation error (type error, CEL error, backend error).
	Error bool
	// Backend names the backend that decided, if any.
	Backend string
	// OnViolation is the deciding rule's on_violation ("", "deny", "stop"
	// or "kill").
	OnViolation string
	// Limit is the allowance of a rate_limit rule; zero otherwise.
	Limit limit.Rate
	// Approval is set for require_approval; it points into the compiled set.
	Approval *Approval
}

// Approval is what a require_approval rule asks of the approval broker.
type Approval struct {
	// Approvers may approve; empty means any approver.
	Approvers []string
	// Quorum is how many distinct approvers must approve; at least 1.
	Quorum int
	// Timeout is how long the request waits before it is denied; 0 means
	// the broker's default.
	Timeout time.Duration
}
