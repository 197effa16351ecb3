package policy

import "context"

// Backend is an external policy engine (OPA/Rego, Cedar) consulted, in
// order, when no rule matches. Implementations live in policy/rego and
// policy/cedar and do not import this package.
//
// Decide must be safe for concurrent use. A returned error makes the whole
// decision a deny (fail closed); the reference skipped such a backend.
type Backend interface {
	// Name is the backend's name, reported as "external:<name>".
	Name() string
	// Decide answers whether input is allowed, with a reason a person can
	// act on.
	Decide(ctx context.Context, input map[string]any) (allowed bool, reason string, err error)
}
