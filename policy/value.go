package policy

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Values in conditions follow the reference's Python semantics, with the
// deliberate deviations listed in POLICY.md: a boolean never equals a
// number, and ordering is only number/number or string/string.
//
// Supported Go types are nil, bool, string, every int and uint kind,
// float32, float64, json.Number, *big.Int, []any and map[string]any. Any
// other type in an input is a type error (fail closed).

// vkind classifies a value for the operators.
type vkind uint8

const (
	kNull vkind = iota
	kBool
	kNum
	kStr
	kList
	kMap
	kUnsupported
)

// errType is the cause of every operator type error; evaluation turns it
// into the fail-closed decision.
var errType = errors.New("type error")

// num is a normalized number: an int64, a big integer beyond int64, or a
// float64.
type pyNum struct {
	tag uint8 // numInt, numBig, numFloat
	i   int64
	b   *big.Int
	f   float64
}

const (
	numInt uint8 = iota
	numBig
	numFloat
)

// kindOf classifies v.
func kindOf(v any) vkind {
	switch v.(type) {
	case nil:
		return kNull
	case bool:
		return kBool
	case string:
		return kStr
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		float32, float64, json.Number, *big.Int:
		if b, ok := v.(*big.Int); ok && b == nil {
			return kNull
		}
		return kNum
	case []any:
		return kList
	case map[string]any:
		return kMap
	}
	return kUnsupported
}

// toNum converts a value of kind kNum.
func toNum(v any) (pyNum, bool) {
	switch x := v.(type) {
	case int64:
		return pyNum{tag: numInt, i: x}, true
	case int:
		return pyNum{tag: numInt, i: int64(x)}, true
	case float64:
		return pyNum{tag: numFloat, f: x}, true
	case int8:
		return pyNum{tag: numInt, i: int64(x)}, true
	case int16:
		return pyNum{tag: numInt, i: int64(x)}, true
	case int32:
		return pyNum{tag: numInt, i: int64(x)}, true
	case uint8:
		return pyNum{tag: numInt, i: int64(x)}, true
	case uint16:
		return pyNum{tag: numInt, i: int64(x)}, true
	case uint32:
		return pyNum{tag: numInt, i: int64(x)}, true
	case uint:
		return fromUint(uint64(x)), true
	case uint64:
		return fromUint(x), true
	case float32:
		return pyNum{tag: numFloat, f: float64(x)}, true
	case *big.Int:
		if x == nil {
			return pyNum{}, false
		}
		if x.IsInt64() {
			return pyNum{tag: numInt, i: x.Int64()}, true
		}
		return pyNum{tag: numBig, b: x}, true
	case json.Number:
		return parseNumber(string(x))
	}
	return pyNum{}, false
}

func fromUint(u uint64) pyNum {
	if u <= math.MaxInt64 {
		return pyNum{tag: numInt, i: int64(u)}
	}
	return pyNum{tag: numBig, b: new(big.Int).SetUint64(u)}
}

// parseNumber reads a JSON number: int-looking text is an integer (int64 or
// big), anything else a float.
func parseNumber(s string) (pyNum, bool) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return pyNum{tag: numInt, i: i}, true
		}
		b, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return pyNum{}, false
		}
		return pyNum{tag: numBig, b: b}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return pyNum{}, false
	}
	return pyNum{tag: numFloat, f: f}, true
}

// cmpNum compares a and b exactly, as Python does (2**53+1 != 2.0**53). ok
// is false when either is NaN.
func cmpNum(a, b pyNum) (c int, ok bool) {
	switch {
	case a.tag == numInt && b.tag == numInt:
		return cmpInt(a.i, b.i), true
	case a.tag == numFloat && b.tag == numFloat:
		if math.IsNaN(a.f) || math.IsNaN(b.f) {
			return 0, false
		}
		switch {
		case a.f < b.f:
			return -1, true
		case a.f > b.f:
			return 1, true
		}
		return 0, true
	case a.tag == numFloat:
		c, ok := cmpNum(b, a)
		return -c, ok
	case b.tag == numFloat: // a is int or big
		if math.IsNaN(b.f) {
			return 0, false
		}
		if math.IsInf(b.f, 1) {
			return -1, true
		}
		if math.IsInf(b.f, -1) {
			return 1, true
		}
		if a.tag == numInt {
			return cmpIntFloat(a.i, b.f), true
		}
		bf := new(big.Float).SetInt(a.b)
		return bf.Cmp(new(big.Float).SetFloat64(b.f)), true
	}
	// int/big or big/big
	return bigOf(a).Cmp(bigOf(b)), true
}

func bigOf(n pyNum) *big.Int {
	if n.tag == numBig {
		return n.b
	}
	return big.NewInt(n.i)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpIntFloat compares an int64 with a finite float64 exactly.
func cmpIntFloat(i int64, f float64) int {
	if f >= 0x1p63 {
		return -1
	}
	if f < -0x1p63 {
		return 1
	}
	t := math.Trunc(f)
	if c := cmpInt(i, int64(t)); c != 0 {
		return c
	}
	switch frac := f - t; {
	case frac > 0:
		return -1
	case frac < 0:
		return 1
	}
	return 0
}

// pyEqual is Python ==, except that a bool never equals a number. An
// unsupported Go type is a type error.
func pyEqual(a, b any) (bool, error) {
	// Fast paths for the common scalar pairs.
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return x == y, nil
		}
	case int64:
		if y, ok := b.(int64); ok {
			return x == y, nil
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y, nil
		}
	}
	ka, kb := kindOf(a), kindOf(b)
	if ka == kUnsupported || kb == kUnsupported {
		return false, errType
	}
	if ka != kb {
		return false, nil
	}
	switch ka {
	case kNull:
		return true, nil
	case kBool:
		return a.(bool) == b.(bool), nil
	case kStr:
		return a.(string) == b.(string), nil
	case kNum:
		na, ok1 := toNum(a)
		nb, ok2 := toNum(b)
		if !ok1 || !ok2 {
			return false, errType
		}
		c, ok := cmpNum(na, nb)
		return ok && c == 0, nil
	case kList:
		la, lb := a.([]any), b.([]any)
		if len(la) != len(lb) {
			return false, nil
		}
		for i := range la {
			eq, err := pyEqual(la[i], lb[i])
			if err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	case kMap:
		ma, mb := a.(map[string]any), b.(map[string]any)
		if len(ma) != len(mb) {
			return false, nil
		}
		for k, va := range ma {
			vb, ok := mb[k]
			if !ok {
				return false, nil
			}
			eq, err := pyEqual(va, vb)
			if err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	}
	return false, errType
}

// pyCompare orders a and b: numbers with numbers, strings with strings;
// anything else (bools and lists included) is a type error. ok is false
// when the pair is unordered (NaN).
func pyCompare(a, b any) (c int, ok bool, err error) {
	if x, isStr := a.(string); isStr {
		if y, isStr := b.(string); isStr {
			return strings.Compare(x, y), true, nil
		}
		return 0, false, errType
	}
	if kindOf(a) != kNum || kindOf(b) != kNum {
		return 0, false, errType
	}
	na, ok1 := toNum(a)
	nb, ok2 := toNum(b)
	if !ok1 || !ok2 {
		return 0, false, errType
	}
	c, ok = cmpNum(na, nb)
	return c, ok, nil
}

// pyIn is Python "item in container": list membership, substring of a
// string (item must be a string), key of a map (an unhashable item is an
// error, another scalar is absent). Any other container is an error.
func pyIn(item, container any) (bool, error) {
	switch c := container.(type) {
	case []any:
		for _, e := range c {
			eq, err := pyEqual(item, e)
			if err != nil {
				return false, err
			}
			if eq {
				return true, nil
			}
		}
		return false, nil
	case string:
		s, ok := item.(string)
		if !ok {
			return false, errType
		}
		return strings.Contains(c, s), nil
	case map[string]any:
		switch k := kindOf(item); k {
		case kStr:
			_, ok := c[item.(string)]
			return ok, nil
		case kList, kMap, kUnsupported:
			return false, errType
		}
		return false, nil
	}
	return false, errType
}

// pyStr appends Python's str(v) to b. Map keys are written in sorted order
// (Go maps keep no insertion order).
func appendPyStr(b []byte, v any) []byte {
	if s, ok := v.(string); ok {
		return append(b, s...)
	}
	return appendPyRepr(b, v)
}

// pyRepr appends Python's repr(v) to b.
func appendPyRepr(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "None"...)
	case bool:
		if x {
			return append(b, "True"...)
		}
		return append(b, "False"...)
	case string:
		return appendPyReprString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyRepr(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := keysSorted(x)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyReprString(b, k)
			b = append(b, ": "...)
			b = appendPyRepr(b, x[k])
		}
		return append(b, '}')
	}
	n, ok := toNum(v)
	if !ok {
		return append(b, "<unsupported>"...)
	}
	switch n.tag {
	case numInt:
		return strconv.AppendInt(b, n.i, 10)
	case numBig:
		return n.b.Append(b, 10)
	}
	return appendPyFloat(b, n.f)
}

func keysSorted(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pyFloatRepr appends Python's repr of a float: shortest round-trip digits,
// scientific notation when the exponent is below -4 or at least 16.
func appendPyFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	i := strings.LastIndexByte(string(e), 'e')
	exp, _ := strconv.Atoi(string(e[i+1:]))
	if exp >= -4 && exp < 16 {
		start := len(b)
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		if !strings.ContainsRune(string(b[start:]), '.') {
			b = append(b, ".0"...)
		}
		return b
	}
	// Go writes "1e+16" and "1.5e-05", as Python does.
	return append(b, e...)
}

// pyReprString appends Python's repr of a str.
func appendPyReprString(b []byte, s string) []byte {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	b = append(b, quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = appendHexEscape(b, 'x', uint32(s[i]), 2)
			i++
			continue
		}
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r < ' ' || r == 0x7f:
			b = appendHexEscape(b, 'x', uint32(r), 2)
		case r < 0x80:
			b = append(b, byte(r))
		case unicode.IsPrint(r):
			b = utf8.AppendRune(b, r)
		case r < 0x100:
			b = appendHexEscape(b, 'x', uint32(r), 2)
		case r < 0x10000:
			b = appendHexEscape(b, 'u', uint32(r), 4)
		default:
			b = appendHexEscape(b, 'U', uint32(r), 8)
		}
	}
	return append(b, quote)
}

func appendHexEscape(b []byte, c byte, v uint32, width int) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '\\', c)
	for shift := (width - 1) * 4; shift >= 0; shift -= 4 {
		b = append(b, hex[(v>>uint(shift))&0xf])
	}
	return b
}

// normalizeTarget converts a condition value written in Go or decoded by the
// loader to the canonical target types (nil, bool, int64, *big.Int,
// float64, string, []any, map[string]any).
func normalizeTarget(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string, int64, float64:
		return v, true
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, ok := normalizeTarget(e)
			if !ok {
				return nil, false
			}
			out[i] = n
		}
		return out, true
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, true
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, ok := normalizeTarget(e)
			if !ok {
				return nil, false
			}
			out[k] = n
		}
		return out, true
	}
	if kindOf(v) != kNum {
		return nil, false
	}
	n, ok := toNum(v)
	if !ok {
		return nil, false
	}
	switch n.tag {
	case numInt:
		return n.i, true
	case numBig:
		return n.b, true
	}
	return n.f, true
}
