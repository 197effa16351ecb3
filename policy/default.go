package policy

import _ "embed"

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the source of the built-in default policy: it denies
// destructive shell commands and SQL, system paths and internal endpoints,
// requires approval for outbound messages and payments, and rate-limits
// everything else.
func DefaultYAML() []byte {
	return append([]byte(nil), defaultYAML...)
}

// DefaultDocuments parses the built-in default policy.
func DefaultDocuments() ([]*Document, error) {
	return Parse("default.yaml", defaultYAML)
}
