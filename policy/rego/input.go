package rego

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// maxDepth bounds the nesting of maps and lists in an input.
const maxDepth = 64

// inputValue converts a decoded JSON-like input to a Rego value. It accepts
// nil, bool, string, json.Number, every Go integer and float kind (finite
// only), map[string]any, map[string]string, []any and []string; anything
// else is an error naming the path to the offending value.
func inputValue(input map[string]any) (ast.Value, error) {
	v, err := toValue(input, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	return v, nil
}

// pathError is a conversion problem at a path inside the input.
type pathError struct {
	path []string // innermost first
	msg  string
}

func (e *pathError) Error() string {
	var b strings.Builder
	b.WriteString("input")
	for i := len(e.path) - 1; i >= 0; i-- {
		b.WriteString(e.path[i])
	}
	b.WriteString(": ")
	b.WriteString(e.msg)
	return b.String()
}

func (e *pathError) at(seg string) *pathError {
	e.path = append(e.path, seg)
	return e
}

func toValue(x any, depth int) (ast.Value, *pathError) {
	if depth > maxDepth {
		return nil, &pathError{msg: "nested more than " + strconv.Itoa(maxDepth) + " levels deep"}
	}
	switch v := x.(type) {
	case nil:
		return ast.NullValue, nil
	case bool:
		return ast.Boolean(v), nil
	case string:
		return ast.String(v), nil
	case json.Number:
		if !isJSONNumber(string(v)) {
			return nil, &pathError{msg: fmt.Sprintf("invalid number %q", string(v))}
		}
		return ast.Number(v), nil
	case int:
		return ast.Number(strconv.FormatInt(int64(v), 10)), nil
	case int8:
		return ast.Number(strconv.FormatInt(int64(v), 10)), nil
	case int16:
		return ast.Number(strconv.FormatInt(int64(v), 10)), nil
	case int32:
		return ast.Number(strconv.FormatInt(int64(v), 10)), nil
	case int64:
		return ast.Number(strconv.FormatInt(v, 10)), nil
	case uint:
		return ast.Number(strconv.FormatUint(uint64(v), 10)), nil
	case uint8:
		return ast.Number(strconv.FormatUint(uint64(v), 10)), nil
	case uint16:
		return ast.Number(strconv.FormatUint(uint64(v), 10)), nil
	case uint32:
		return ast.Number(strconv.FormatUint(uint64(v), 10)), nil
	case uint64:
		return ast.Number(strconv.FormatUint(v, 10)), nil
	case float32:
		return floatValue(float64(v), 32)
	case float64:
		return floatValue(v, 64)
	case []string:
		terms := make([]*ast.Term, len(v))
		for i, s := range v {
			terms[i] = ast.StringTerm(s)
		}
		return ast.NewArray(terms...), nil
	case []any:
		terms := make([]*ast.Term, len(v))
		for i, e := range v {
			ev, err := toValue(e, depth+1)
			if err != nil {
				return nil, err.at("[" + strconv.Itoa(i) + "]")
			}
			terms[i] = ast.NewTerm(ev)
		}
		return ast.NewArray(terms...), nil
	case map[string]string:
		obj := ast.NewObject()
		for k, s := range v {
			obj.Insert(ast.StringTerm(k), ast.StringTerm(s))
		}
		return obj, nil
	case map[string]any:
		obj := ast.NewObject()
		for k, e := range v {
			ev, err := toValue(e, depth+1)
			if err != nil {
				return nil, err.at(keySegment(k))
			}
			obj.Insert(ast.StringTerm(k), ast.NewTerm(ev))
		}
		return obj, nil
	default:
		return nil, &pathError{msg: fmt.Sprintf("unsupported type %T", x)}
	}
}

func floatValue(f float64, bits int) (ast.Value, *pathError) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &pathError{msg: "number " + strconv.FormatFloat(f, 'g', -1, bits) + " is not finite"}
	}
	return ast.Number(strconv.FormatFloat(f, 'g', -1, bits)), nil
}

// keySegment renders a map key as a path segment: .name for identifiers,
// ["quoted"] otherwise.
func keySegment(k string) string {
	if k == "" {
		return "[\"\"]"
	}
	for i, r := range k {
		ok := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || (i > 0 && '0' <= r && r <= '9')
		if !ok {
			return "[" + strconv.Quote(k) + "]"
		}
	}
	return "." + k
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}
