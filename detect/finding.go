package detect

import (
	"context"
	"fmt"
	"strings"
)

// Severity ranks how bad a finding is.
type Severity uint8

// Severities, least to most severe.
const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String returns the lower-case name: info, low, medium, high, critical.
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler, accepting the names
// String returns, in any case.
func (s *Severity) UnmarshalText(b []byte) error {
	name := strings.ToLower(string(b))
	for i, n := range severityNames {
		if n == name {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q: want info, low, medium, high or critical", b)
}

// Finding is one thing a detector found. Every detector reports findings of
// this one type.
type Finding struct {
	// Detector names the detector: "injection", "secrets", "pii",
	// "dangerous", "mcp", "response", "memory".
	Detector string `json:"detector"`
	// Rule identifies the rule or model that fired, e.g. "aws-access-key",
	// "direct_override", "model".
	Rule string `json:"rule"`
	// Kind is the category of what was found, e.g. "aws_access_key", "ssn",
	// "shell", "sql", "hidden_instruction".
	Kind string `json:"kind"`
	// Severity and Confidence (0 to 1) rank the finding.
	Severity   Severity `json:"severity"`
	Confidence float64  `json:"confidence"`
	// Start and End are the byte span of the match in the scanned input
	// (End exclusive); both are -1 when the finding has no single span.
	Start int `json:"start"`
	End   int `json:"end"`
	// Explanation says what was found, in a sentence a person can act on.
	// It never contains the secret itself.
	Explanation string `json:"explanation"`
	// Suggestion, if any, says how to fix it.
	Suggestion string `json:"suggestion,omitempty"`
	// Source says what fired: "rule", "model" or "rule+model".
	Source string `json:"source,omitempty"`
}

// Detector scans text. Implementations are safe for concurrent use, bound
// the memory they use per call, and run in time linear in the input.
type Detector interface {
	// Name is the detector's name, as in Finding.Detector.
	Name() string
	// Scan returns what the detector found in input, in order of position.
	// An error means the input could not be scanned; callers fail closed.
	Scan(ctx context.Context, input string) ([]Finding, error)
}
