package rego_test

import (
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/policy/rego"
)

// The backend satisfies the interface package policy consumes.
var _ policy.Backend = (*rego.Backend)(nil)
