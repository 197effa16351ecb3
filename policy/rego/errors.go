package rego

import "errors"

// Sentinel errors returned by [New] and [Backend.Decide], to be matched
// with errors.Is. Every error from Decide means the action is denied.
// Problems in modules or options are not sentinels: [New] reports them as
// [policy.Errors], each a [*policy.Error] whose Loc.File is the module's
// file name ("" for an option) and whose Field names the offending option
// (for example "Query" or "Data"; "" for a problem inside a module).
var (
	// ErrNoModules means [Options] named no Rego module to load.
	ErrNoModules = errors.New("rego: no policy module given")

	// ErrInput means the input could not be converted to a Rego value
	// (an unsupported Go type, a NaN or infinite number, nesting too deep).
	ErrInput = errors.New("rego: invalid input")

	// ErrEval means evaluation did not complete: a built-in function
	// failed (StrictBuiltinErrors is on), rules conflicted, the context was
	// cancelled or its deadline passed, or the engine panicked. When the
	// context ended, the error also wraps ctx.Err().
	ErrEval = errors.New("rego: evaluation error")

	// ErrResult means the query produced something other than exactly one
	// boolean or one {"allow": bool, "reason": string} object.
	ErrResult = errors.New("rego: unusable result")
)
