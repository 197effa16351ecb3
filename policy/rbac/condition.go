package rbac

import (
	"strings"
)

// Operator is a comparison in a [Condition]. The attribute's value is the
// subject and the condition's Value the target.
type Operator string

// The operators the reference understands. Any other operator makes a
// condition false.
const (
	OpEq       Operator = "eq"       // subject == target
	OpNe       Operator = "ne"       // subject != target
	OpGt       Operator = "gt"       // subject > target
	OpLt       Operator = "lt"       // subject < target
	OpGte      Operator = "gte"      // subject >= target
	OpLte      Operator = "lte"      // subject <= target
	OpIn       Operator = "in"       // subject is an element of, a substring of, or a key of target
	OpNotIn    Operator = "not_in"   // the negation of in
	OpContains Operator = "contains" // target is an element of, a substring of, or a key of subject
)

// Operators lists every known operator, in the reference's order.
var Operators = []Operator{OpEq, OpNe, OpGt, OpLt, OpGte, OpLte, OpIn, OpNotIn, OpContains}

// Known reports whether op is one of [Operators]. Operators are
// case-sensitive: "EQ" is unknown, as in the reference.
func (op Operator) Known() bool {
	switch op {
	case OpEq, OpNe, OpGt, OpLt, OpGte, OpLte, OpIn, OpNotIn, OpContains:
		return true
	}
	return false
}

// Condition is one attribute test of an ABAC [Permission], the reference's
// Condition(attribute_path, operator, value).
//
// Semantics, kept from the reference:
//   - AttributePath is split on "." and followed through maps only; a
//     missing key, a step into a non-map, or a null value makes the
//     condition false (even for "eq" with a null Value).
//   - Equality is Python's: 1 equals 1.0, lists and maps compare
//     element-wise.
//
// Deliberate deviations:
//   - A boolean never equals, and never orders against, a number, at any
//     depth (the reference has True == 1 and True > 0).
//   - Ordering compares numbers with numbers and strings with strings only.
//     Any other pairing (which raises TypeError in the reference, or orders
//     lists lexicographically) makes the condition false and Evaluate
//     returns an error matching [ErrTypeMismatch]. Nothing panics.
type Condition struct {
	// AttributePath is the dotted path of the attribute, e.g. "args.amount",
	// "context.tier" or "user_status". "" names the key "".
	AttributePath string
	// Operator is the comparison; unknown operators make the condition false.
	Operator Operator
	// Value is the target: nil, bool, a number (any Go integer or float type,
	// or json.Number), string, []any, []string or map[string]any.
	Value any
}

// Evaluate reports whether the condition holds in ctx. The error is non-nil
// (and the result false) when the operator is unknown ([ErrUnknownOperator])
// or cannot compare the operands ([ErrTypeMismatch]); callers count such
// errors but must treat the condition as not met.
func (c Condition) Evaluate(ctx map[string]any) (bool, error) {
	if !c.Operator.Known() {
		return false, ErrUnknownOperator
	}
	first, rest, nested := strings.Cut(c.AttributePath, ".")
	v, ok := ctx[first]
	if !ok {
		return false, nil
	}
	if nested {
		v, ok = walk(v, rest)
		if !ok {
			return false, nil
		}
	}
	return c.test(v)
}

// walk follows a dotted path through maps only.
func walk(v any, path string) (any, bool) {
	for {
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, false
		}
		key, rest, more := strings.Cut(path, ".")
		v, isMap = m[key]
		if !isMap {
			return nil, false
		}
		if !more {
			return v, true
		}
		path = rest
	}
}

// test applies the operator to the resolved subject.
func (c Condition) test(subject any) (bool, error) {
	if subject == nil {
		return false, nil
	}
	switch c.Operator {
	case OpEq:
		return equal(subject, c.Value), nil
	case OpNe:
		return !equal(subject, c.Value), nil
	case OpGt, OpLt, OpGte, OpLte:
		cmp, ordered, err := order(c.Operator, subject, c.Value)
		if err != nil || !ordered {
			return false, err
		}
		switch c.Operator {
		case OpGt:
			return cmp > 0, nil
		case OpLt:
			return cmp < 0, nil
		case OpGte:
			return cmp >= 0, nil
		default:
			return cmp <= 0, nil
		}
	case OpIn:
		return member(c.Operator, subject, c.Value)
	case OpNotIn:
		in, err := member(c.Operator, subject, c.Value)
		if err != nil {
			return false, err
		}
		return !in, nil
	case OpContains:
		return member(c.Operator, c.Value, subject)
	}
	return false, ErrUnknownOperator
}

// order compares two values for the ordering operators. ordered is false
// for comparisons involving NaN (Python: always False, no error).
func order(op Operator, a, b any) (cmp int, ordered bool, err error) {
	ka, na := classify(a)
	kb, nb := classify(b)
	switch {
	case ka == kindNumber && kb == kindNumber:
		cmp, ordered = compareNumbers(na, nb)
		return cmp, ordered, nil
	case ka == kindString && kb == kindString:
		// Byte order of UTF-8 is code-point order, as Python compares str.
		return strings.Compare(a.(string), b.(string)), true, nil
	}
	return 0, false, &TypeError{Op: op, Subject: typeName(a), Target: typeName(b)}
}

// member is Python's "needle in haystack" for lists, strings and maps.
func member(op Operator, needle, haystack any) (bool, error) {
	switch h := haystack.(type) {
	case []any:
		for _, e := range h {
			if equal(needle, e) {
				return true, nil
			}
		}
		return false, nil
	case []string:
		s, ok := needle.(string)
		if !ok {
			return false, nil
		}
		for _, e := range h {
			if e == s {
				return true, nil
			}
		}
		return false, nil
	case string:
		s, ok := needle.(string)
		if !ok {
			return false, &TypeError{Op: op, Subject: typeName(needle), Target: "str"}
		}
		return strings.Contains(h, s), nil
	case map[string]any:
		switch k, _ := classify(needle); k {
		case kindString:
			_, ok := h[needle.(string)]
			return ok, nil
		case kindList, kindMap, kindOther:
			return false, &TypeError{Op: op, Subject: typeName(needle), Target: "dict"}
		}
		// Numbers, booleans and None are hashable but never string keys.
		return false, nil
	}
	return false, &TypeError{Op: op, Subject: typeName(needle), Target: typeName(haystack)}
}

// Permission is a conditional (ABAC) permission: the reference's
// ConditionalPermission(tool_name, conditions, require_all).
type Permission struct {
	// ToolName is the tool the permission governs.
	ToolName string
	// Conditions are the attribute tests.
	Conditions []Condition
	// Any selects OR semantics: one condition must hold. The zero value is
	// the reference default, AND (require_all=True). An empty AND holds; an
	// empty OR does not.
	Any bool
}

// Allowed reports whether the permission holds in ctx. Conditions are
// evaluated in order and evaluation stops at the first decisive one, as
// Python's all()/any() do. A condition whose evaluation errs is false; the
// errors met are returned joined in errs for counting.
func (p Permission) Allowed(ctx map[string]any) (ok bool, errs []error) {
	for _, c := range p.Conditions {
		held, err := c.Evaluate(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		if p.Any && held {
			return true, errs
		}
		if !p.Any && !held {
			return false, errs
		}
	}
	return !p.Any, errs
}

// clone deep-copies the permission's condition values.
func (p Permission) clone() Permission {
	out := Permission{ToolName: p.ToolName, Any: p.Any, Conditions: make([]Condition, len(p.Conditions))}
	for i, c := range p.Conditions {
		c.Value = cloneValue(c.Value)
		out.Conditions[i] = c
	}
	return out
}
