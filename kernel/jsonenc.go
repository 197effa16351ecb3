package kernel

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/agentos/agentos/internal/jsonw"
)

// appendJSON appends the JSON encoding of v to dst, byte for byte what
// json.Marshal produces (map keys sorted, HTML characters and U+2028/9
// escaped, invalid UTF-8 replaced), for the values the kernel encodes on
// every call: map[string]any, []any, string, bool, nil, json.Number,
// json.RawMessage (a tool's result as its server sent it), float64 and the
// integer types. It reports false, with dst unchanged,
// for any other value and for values json.Marshal rejects (NaN, an
// invalid json.Number), so the caller can use json.Marshal instead.
// It avoids reflection and the sorted copy of every map's keys that make
// json.Marshal of small maps several times slower.
func appendJSON(dst []byte, v any) ([]byte, bool) {
	out, ok := appendValue(dst, v, 0)
	if !ok {
		return dst, false
	}
	return out, true
}

// maxEncodeDepth bounds appendValue's recursion; deeper values are left to
// json.Marshal (which detects cycles).
const maxEncodeDepth = 64

func appendValue(dst []byte, v any, depth int) ([]byte, bool) {
	if depth > maxEncodeDepth {
		return dst, false
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case string:
		return jsonw.AppendString(dst, x), true
	case bool:
		return strconv.AppendBool(dst, x), true
	case json.Number:
		s := string(x)
		if s == "" {
			s = "0" // as json.Marshal encodes an empty Number
		}
		if !validNumber(s) {
			return dst, false
		}
		return append(dst, s...), true
	case float64:
		return appendFloat(dst, x)
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case uint64:
		return strconv.AppendUint(dst, x, 10), true
	case json.RawMessage:
		return appendRaw(dst, x)
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), true
		}
		var small [16]string
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonw.AppendString(dst, k)
			dst = append(dst, ':')
			var ok bool
			if dst, ok = appendValue(dst, x[k], depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case []any:
		if x == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendValue(dst, e, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	}
	return dst, false
}

// appendRaw appends raw compacted, as json.Marshal encodes a
// json.RawMessage. It declines (false, dst unchanged) raw that is not JSON,
// which json.Marshal rejects, and raw holding a character json.Marshal
// would escape (<, >, &, U+2028, U+2029: only inside strings in valid JSON),
// which the caller leaves to json.Marshal.
func appendRaw(dst []byte, raw json.RawMessage) ([]byte, bool) {
	if raw == nil {
		return append(dst, "null"...), true
	}
	start := len(dst)
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return dst[:start], false
	}
	out := buf.Bytes()
	if htmlEscaped(out[start:]) {
		return dst[:start], false
	}
	return out, true
}

// htmlEscaped reports whether b holds a character json.Marshal escapes
// in strings: <, >, &, U+2028 or U+2029.
func htmlEscaped(b []byte) bool {
	return bytes.IndexAny(b, "<>&") >= 0 || bytes.Contains(b, []byte("\u2028")) || bytes.Contains(b, []byte("\u2029"))
}

// appendFloat encodes f as encoding/json does for a float64.
func appendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(dst) - start; n >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
			dst[len(dst)-2] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst, true
}

// validNumber reports whether s is a JSON number.
func validNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return s == ""
}
