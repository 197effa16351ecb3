package cedar_test

import (
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/policy/cedar"
)

// The backend satisfies the interface package policy consumes.
var _ policy.Backend = (*cedar.Backend)(nil)
