package detect

import "strconv"

// InjectionConfigError reports a bad [InjectionOptions] field.
type InjectionConfigError struct {
	// Field is the option's name, e.g. "Allowlist".
	Field string
	// Index is the position of the bad entry in a list field, or -1.
	Index int
	// Reason is the reference's message for the problem.
	Reason string
	// Err is the underlying error, if any (a regexp syntax error).
	Err error
}

// Error implements error.
func (e *InjectionConfigError) Error() string {
	f := e.Field
	if e.Index >= 0 {
		f += "[" + strconv.Itoa(e.Index) + "]"
	}
	return "injection options: " + f + ": " + e.Reason
}

// Unwrap returns the underlying error.
func (e *InjectionConfigError) Unwrap() error { return e.Err }
