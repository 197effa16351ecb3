package cedar

import "errors"

// Sentinel errors returned by [New] and [Backend.Decide], to be matched
// with errors.Is. Every error from Decide means the action is denied.
// Problems in policy files or options are not sentinels: [New] reports
// them as [policy.Errors], each a [*policy.Error] whose Loc.File is the
// policy file's name ("" for Options.Policies or an option) and whose
// Field names the offending option (for example "Files" or "Entities";
// "" for a problem inside a policy).
var (
	// ErrNoPolicies means [Options] gave no Cedar policy text or file.
	ErrNoPolicies = errors.New("cedar: no policy given")

	// ErrInput means the input could not be mapped to a Cedar request: a
	// non-string agent_id, tool_name or resource, an agent_id with "::"
	// that is not an entity UID, or a context value Cedar cannot hold
	// (see [MapRequest]).
	ErrInput = errors.New("cedar: invalid input")

	// ErrEval means a policy could not be evaluated (Cedar reported a
	// diagnostic error, such as reading an attribute that is absent), the
	// context was cancelled before evaluation, or the engine panicked.
	ErrEval = errors.New("cedar: evaluation error")
)
