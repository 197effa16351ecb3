package rbac

import (
	"errors"
	"strconv"
	"strings"
)

// ErrFrozen is matched (with errors.Is) by every error a [Builder] mutator
// returns after [Builder.Freeze]. The concrete error is a [*FrozenError].
var ErrFrozen = errors.New("policy engine is frozen")

// ErrTypeMismatch is matched by the error [Condition.Evaluate] returns when
// an operator is applied to operands of types it cannot compare (where the
// reference raises TypeError). The condition is false in that case.
var ErrTypeMismatch = errors.New("operand types cannot be compared")

// ErrUnknownOperator is matched by the error [Condition.Evaluate] returns for
// an operator outside [Operators]. The condition is false in that case, as in
// the reference.
var ErrUnknownOperator = errors.New("unknown operator")

// ErrInvalidArgument is matched by errors from [Builder] methods given a bad
// value (an empty role, a relative base directory, a regexp that does not
// compile, a NaN threshold). Nothing is applied when it is returned.
var ErrInvalidArgument = errors.New("invalid argument")

// FrozenError is returned by a [Builder] mutator called after
// [Builder.Freeze]. Its message is the reference's RuntimeError text.
type FrozenError struct {
	// Op is the refused operation, named as in the reference
	// ("add_constraint", "set_agent_context", ...).
	Op string
}

// Error returns the reference's message, e.g. "PolicyEngine is frozen —
// cannot perform 'add_constraint'. Call freeze() is irreversible to prevent
// runtime self-modification."
func (e *FrozenError) Error() string {
	return "PolicyEngine is frozen — cannot perform '" + e.Op +
		"'. Call freeze() is irreversible to prevent runtime self-modification."
}

// Is reports whether target is [ErrFrozen].
func (e *FrozenError) Is(target error) bool { return target == ErrFrozen }

// TypeError describes an operator applied to operands it cannot compare.
// It matches [ErrTypeMismatch] with errors.Is.
type TypeError struct {
	// Op is the condition's operator.
	Op Operator
	// Subject and Target name the Python-style types of the attribute value
	// and of the condition's value ("int", "str", "list", ...).
	Subject, Target string
}

// Error implements error.
func (e *TypeError) Error() string {
	return "operator " + string(e.Op) + ": cannot compare " + e.Subject + " with " + e.Target
}

// Is reports whether target is [ErrTypeMismatch].
func (e *TypeError) Is(target error) bool { return target == ErrTypeMismatch }

// ConfigError is a problem in an SQL policy file. It prints as
// "file:line:col: field: message", leaving out unknown parts.
type ConfigError struct {
	// File is the file name given to the loader; "" if unknown.
	File string
	// Line and Col are 1-based; 0 means unknown.
	Line, Col int
	// Field is the dotted path of the offending field, e.g.
	// "sql_policy.blocked_patterns.2"; "" for the document itself.
	Field string
	// Msg says what is wrong, in lower case.
	Msg string
	// Err is the underlying cause, if any (a YAML syntax error, a regexp
	// compile error).
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string {
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
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *ConfigError) Unwrap() error { return e.Err }
