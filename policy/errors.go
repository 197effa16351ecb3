package policy

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a policy document, located in its file.
// It prints as "file:line:col: field: message", omitting unknown parts.
type Error struct {
	// Loc is where the problem is; zero fields are unknown.
	Loc Location
	// Field is the dotted path of the offending field, e.g.
	// "rules.2.condition.operator"; "" for the document itself.
	Field string
	// Msg says what is wrong, in lower case.
	Msg string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Loc.File != "" {
		b.WriteString(e.Loc.File)
		b.WriteByte(':')
	}
	if e.Loc.Line > 0 {
		b.WriteString(strconv.Itoa(e.Loc.Line))
		b.WriteByte(':')
		if e.Loc.Col > 0 {
			b.WriteString(strconv.Itoa(e.Loc.Col))
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

// Errors is every problem found while loading or compiling, sorted by file,
// line and column. A loader or compiler that returns Errors applied nothing.
type Errors []*Error

// Error implements error: one problem per line.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Sort orders es by file, line, column, then field.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Loc.File != b.Loc.File {
			return a.Loc.File < b.Loc.File
		}
		if a.Loc.Line != b.Loc.Line {
			return a.Loc.Line < b.Loc.Line
		}
		if a.Loc.Col != b.Loc.Col {
			return a.Loc.Col < b.Loc.Col
		}
		return a.Field < b.Field
	})
}

// Err returns es as an error, or nil if es is empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	es.Sort()
	return es
}

// AsErrors returns the located problems in err (an *Error or Errors, possibly
// wrapped), or nil if err carries none.
func AsErrors(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return nil
}

// ErrUnknownPolicy is wrapped by the error for a named policy (see
// [BuiltinNamed]) that neither the built-ins nor the caller define.
var ErrUnknownPolicy = errors.New("unknown named policy")

// ErrNoLoader is returned by [Engine.Reload] when the engine has no loader.
var ErrNoLoader = errors.New("no policy loader configured")

// ErrAbstain is returned (possibly wrapped) by a [Backend] that has no
// answer for an input; the next backend is asked. Any other error denies.
var ErrAbstain = errors.New("backend abstains")

// ErrNoCandidates is returned by [Resolve] for an empty candidate list. Its
// text is the reference's.
var ErrNoCandidates = errors.New("Cannot resolve conflict with zero candidates") //nolint:staticcheck // reference text
