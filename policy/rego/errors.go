package rego

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Sentinel errors returned by [New] and [Backend.Decide], to be matched
// with errors.Is. Every error from Decide means the action is denied.
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

// Error is one problem in a Rego module or in [Options], located in its
// file. It prints as "file:line:col: field: message", omitting unknown
// parts.
type Error struct {
	// File is the module's file name; "" when the problem is in an option.
	File string
	// Line is the 1-based line; 0 when unknown.
	Line int
	// Col is the 1-based column; 0 when unknown.
	Col int
	// Field names the offending option (for example "Query" or "Data");
	// "" for a problem inside a module.
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
