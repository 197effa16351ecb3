package cedar

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Sentinel errors returned by [New] and [Backend.Decide], to be matched
// with errors.Is. Every error from Decide means the action is denied.
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

// Error is one problem in a Cedar policy file or in [Options], located in its
// file. It prints as "file:line:col: field: message", omitting unknown
// parts.
type Error struct {
	// File is the policy file's name; "" for Options.Policies or an option.
	File string
	// Line is the 1-based line; 0 when unknown.
	Line int
	// Col is the 1-based column; 0 when unknown.
	Col int
	// Field names the offending option (for example "Files" or
	// "Entities"); "" for a problem inside a policy.
	Field string
	// Msg says what is wrong, in lower case.
	Msg string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
		if e.Col > 0 {
			b.WriteString(strconv.Itoa(e.Col))
			b.WriteByte(':')
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found by [New], sorted by file, line and column.
// When New returns Errors it built nothing.
type Errors []*Error

// Error implements error: one problem per line.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// sort orders es by file, line, column, then field.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if a.Col != b.Col {
			return a.Col - b.Col
		}
		return strings.Compare(a.Field, b.Field)
	})
}
