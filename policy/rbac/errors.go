package rbac

import "errors"

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
