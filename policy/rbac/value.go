package rbac

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// kind classifies a dynamic value the way the reference's Python types do.
type kind uint8

const (
	kindNone kind = iota
	kindBool
	kindNumber
	kindString
	kindList
	kindMap
	kindOther
)

// number is a numeric value: an exact integer (small in i, large in b) or a
// float. Python compares ints and floats exactly; so does compareNumbers.
type number struct {
	isFloat bool
	i       int64
	b       *big.Int // non-nil for integers outside int64
	f       float64
}

// classify returns the kind of v and, for numbers, its value.
func classify(v any) (kind, number) {
	switch x := v.(type) {
	case nil:
		return kindNone, number{}
	case bool:
		return kindBool, number{}
	case string:
		return kindString, number{}
	case int:
		return kindNumber, number{i: int64(x)}
	case int8:
		return kindNumber, number{i: int64(x)}
	case int16:
		return kindNumber, number{i: int64(x)}
	case int32:
		return kindNumber, number{i: int64(x)}
	case int64:
		return kindNumber, number{i: x}
	case uint:
		return kindNumber, fromUint(uint64(x))
	case uint8:
		return kindNumber, number{i: int64(x)}
	case uint16:
		return kindNumber, number{i: int64(x)}
	case uint32:
		return kindNumber, number{i: int64(x)}
	case uint64:
		return kindNumber, fromUint(x)
	case float32:
		return kindNumber, number{isFloat: true, f: float64(x)}
	case float64:
		return kindNumber, number{isFloat: true, f: x}
	case json.Number:
		n, ok := parseJSONNumber(string(x))
		if !ok {
			return kindOther, number{}
		}
		return kindNumber, n
	case []any, []string:
		return kindList, number{}
	case map[string]any:
		return kindMap, number{}
	default:
		return kindOther, number{}
	}
}

func fromUint(u uint64) number {
	if u <= math.MaxInt64 {
		return number{i: int64(u)}
	}
	return number{b: new(big.Int).SetUint64(u)}
}

// parseJSONNumber parses a JSON number literal: integers stay exact (as
// Python's json module keeps them), anything with a fraction or exponent is
// a float.
func parseJSONNumber(s string) (number, bool) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return number{i: i}, true
		}
		b, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return number{}, false
		}
		return number{b: b}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Out of range: ParseFloat still returns ±Inf or 0, as Python's
		// float() does for such literals.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return number{}, false
		}
	}
	return number{isFloat: true, f: f}, true
}

// compareNumbers returns -1, 0 or +1, and false if the comparison is
// unordered (a NaN is involved).
func compareNumbers(a, b number) (int, bool) {
	if a.isFloat && math.IsNaN(a.f) || b.isFloat && math.IsNaN(b.f) {
		return 0, false
	}
	switch {
	case !a.isFloat && !b.isFloat && a.b == nil && b.b == nil:
		return cmpInt64(a.i, b.i), true
	case a.isFloat && b.isFloat:
		return cmpFloat(a.f, b.f), true
	case a.b == nil && b.b == nil:
		// One int64, one float64: exact when the int fits in 53 bits.
		if !a.isFloat && fitsFloat(a.i) {
			return cmpFloat(float64(a.i), b.f), true
		}
		if !b.isFloat && fitsFloat(b.i) {
			return cmpFloat(a.f, float64(b.i)), true
		}
	}
	return a.bigFloat().Cmp(b.bigFloat()), true
}

func fitsFloat(i int64) bool { return i >= -(1<<53) && i <= 1<<53 }

func (n number) bigFloat() *big.Float {
	switch {
	case n.isFloat:
		return new(big.Float).SetFloat64(n.f) // ±Inf is representable; NaN was excluded
	case n.b != nil:
		return new(big.Float).SetInt(n.b)
	default:
		return new(big.Float).SetInt64(n.i)
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equal is Python's == over JSON-like values, except that a boolean never
// equals a number (the reference has True == 1), at any depth.
func equal(a, b any) bool {
	ka, na := classify(a)
	kb, nb := classify(b)
	if ka != kb {
		return false
	}
	switch ka {
	case kindNone:
		return true
	case kindBool:
		return a.(bool) == b.(bool)
	case kindString:
		return a.(string) == b.(string)
	case kindNumber:
		c, ok := compareNumbers(na, nb)
		return ok && c == 0
	case kindList:
		la, lb := listLen(a), listLen(b)
		if la != lb {
			return false
		}
		for i := range la {
			if !equal(listAt(a, i), listAt(b, i)) {
				return false
			}
		}
		return true
	case kindMap:
		ma, mb := a.(map[string]any), b.(map[string]any)
		if len(ma) != len(mb) {
			return false
		}
		for k, va := range ma {
			vb, ok := mb[k]
			if !ok || !equal(va, vb) {
				return false
			}
		}
		return true
	}
	return false
}

func listLen(v any) int {
	switch x := v.(type) {
	case []any:
		return len(x)
	case []string:
		return len(x)
	}
	return 0
}

func listAt(v any, i int) any {
	switch x := v.(type) {
	case []any:
		return x[i]
	case []string:
		return x[i]
	}
	return nil
}

// typeName is the Python type name of v, for error messages.
func typeName(v any) string {
	k, n := classify(v)
	switch k {
	case kindNone:
		return "NoneType"
	case kindBool:
		return "bool"
	case kindNumber:
		if n.isFloat {
			return "float"
		}
		return "int"
	case kindString:
		return "str"
	case kindList:
		return "list"
	case kindMap:
		return "dict"
	}
	return "unsupported"
}

// cloneValue deep-copies the maps and slices of a JSON-like value so a
// snapshot never shares mutable state with its caller.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		copy(out, x)
		return out
	}
	return v
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}
