package cedar

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	cedargo "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// Input keys that form the request's principal, action and resource; all
// other keys form its context.
const (
	keyAgent    = "agent_id"
	keyTool     = "tool_name"
	keyResource = "resource"
)

// Entity types and defaults of the request mapping.
const (
	principalType   = types.EntityType("Agent")
	actionType      = types.EntityType("Action")
	resourceType    = types.EntityType("Resource")
	anonymous       = "anonymous"
	unknownAction   = "Unknown"
	defaultResource = "default"
)

// maxDepth bounds the nesting of maps and lists in a context.
const maxDepth = 64

// PascalCase turns a tool name into the Cedar action id the request
// mapping uses: the name is split at underscores, empty parts are dropped,
// and each part's first character is title-cased, the rest being kept as
// written. So file_read becomes FileRead, a__b and _a_b become AB, read2x
// becomes Read2x, get_HTTP becomes GetHTTP and émettre_reçu becomes
// ÉmettreReçu. Other characters (digits, '-', '.') are kept; each byte
// that is not valid UTF-8 becomes U+FFFD, so that bytes split by '_' can
// never join into a new character. The result is valid UTF-8, never
// contains '_', and PascalCase is idempotent.
func PascalCase(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	start := true
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		switch {
		case r == '_':
			start = true
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
			start = false
		case start:
			b.WriteRune(unicode.ToTitle(r))
			start = false
		default:
			b.WriteString(name[i : i+size])
			start = false
		}
		i += size
	}
	return b.String()
}

// MapRequest builds the Cedar request for an input, as the reference maps
// it:
//
//   - principal: Agent::"<agent_id>", or Agent::"anonymous" when agent_id
//     is absent, null or empty; an agent_id containing "::" is taken as a
//     Cedar entity UID written in full (User::"alice");
//   - action: Action::"<PascalCase(tool_name)>", or Action::"Unknown" when
//     tool_name is absent, null, empty or only underscores;
//   - resource: Resource::"<resource>", or Resource::"default" when
//     resource is absent, null or empty;
//   - context: every other key of input.
//
// agent_id, tool_name and resource must be strings of valid UTF-8.
//
// Context values convert as follows: strings, booleans, lists (Cedar sets:
// unordered, without duplicates) and maps (records) as themselves; null
// map entries are left out, so `context has k` is false for them; a
// number is a Long when its value is an integer within int64, else a
// decimal when it has at most four fractional digits and fits a Cedar
// decimal; time.Time and time.Duration become datetime and duration.
// Anything else (a longer fraction, an out-of-range number, NaN, null
// inside a list, another Go type, nesting deeper than 64) is an error
// wrapping [ErrInput] that names the path: never a guess.
func MapRequest(input map[string]any) (cedargo.Request, error) {
	var req cedargo.Request
	var err error
	if req.Principal, err = principal(input[keyAgent]); err != nil {
		return cedargo.Request{}, fmt.Errorf("%w: %w", ErrInput, err)
	}
	tool, err := entityID(keyTool, input[keyTool])
	if err != nil {
		return cedargo.Request{}, fmt.Errorf("%w: %w", ErrInput, err)
	}
	action := PascalCase(tool)
	if action == "" {
		action = unknownAction
	}
	req.Action = types.NewEntityUID(actionType, types.String(action))
	res, err := entityID(keyResource, input[keyResource])
	if err != nil {
		return cedargo.Request{}, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if res == "" {
		res = defaultResource
	}
	req.Resource = types.NewEntityUID(resourceType, types.String(res))

	rec := make(types.RecordMap, len(input))
	for k, v := range input {
		if k == keyAgent || k == keyTool || k == keyResource || v == nil {
			continue
		}
		cv, perr := toValue(v, 1)
		if perr != nil {
			return cedargo.Request{}, fmt.Errorf("%w: %w", ErrInput, perr.at(keySegment(k)))
		}
		rec[types.String(k)] = cv
	}
	req.Context = types.NewRecord(rec)
	return req, nil
}

// entityID returns a string input field, "" when it is absent or null.
func entityID(key string, v any) (string, error) {
	switch s := v.(type) {
	case nil:
		return "", nil
	case string:
		if !utf8.ValidString(s) {
			return "", fmt.Errorf("%s %q is not valid UTF-8", key, s)
		}
		return s, nil
	default:
		return "", fmt.Errorf("%s is %T, want a string", key, v)
	}
}

// principal maps agent_id to the request's principal.
func principal(v any) (types.EntityUID, error) {
	id, err := entityID(keyAgent, v)
	if err != nil {
		return types.EntityUID{}, err
	}
	if id == "" {
		return types.NewEntityUID(principalType, anonymous), nil
	}
	if !strings.Contains(id, "::") {
		return types.NewEntityUID(principalType, types.String(id)), nil
	}
	var uid types.EntityUID
	if err := uid.UnmarshalCedar([]byte(id)); err != nil {
		return types.EntityUID{}, fmt.Errorf("%s %q contains \"::\" but is not a Cedar entity UID such as User::\"alice\"", keyAgent, id)
	}
	return uid, nil
}

// pathError is a conversion problem at a path inside the context.
type pathError struct {
	path []string // innermost first
	msg  string
}

func (e *pathError) Error() string {
	var b strings.Builder
	b.WriteString("context")
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

// keySegment renders a map key as a path segment: .name for identifiers,
// ["quoted"] otherwise.
func keySegment(k string) string {
	if k == "" {
		return `[""]`
	}
	for i, r := range k {
		ok := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || (i > 0 && '0' <= r && r <= '9')
		if !ok {
			return "[" + strconv.Quote(k) + "]"
		}
	}
	return "." + k
}

func toValue(x any, depth int) (types.Value, *pathError) {
	if depth > maxDepth {
		return nil, &pathError{msg: "nested more than " + strconv.Itoa(maxDepth) + " levels deep"}
	}
	switch v := x.(type) {
	case nil:
		return nil, &pathError{msg: "null has no Cedar value"}
	case bool:
		return types.Boolean(v), nil
	case string:
		return types.String(v), nil
	case json.Number:
		return numberValue(string(v))
	case int:
		return types.Long(v), nil
	case int8:
		return types.Long(v), nil
	case int16:
		return types.Long(v), nil
	case int32:
		return types.Long(v), nil
	case int64:
		return types.Long(v), nil
	case uint:
		return unsignedValue(uint64(v))
	case uint8:
		return types.Long(v), nil
	case uint16:
		return types.Long(v), nil
	case uint32:
		return types.Long(v), nil
	case uint64:
		return unsignedValue(v)
	case float32:
		return floatValue(float64(v), 32)
	case float64:
		return floatValue(v, 64)
	case time.Time:
		return types.NewDatetime(v), nil
	case time.Duration:
		return types.NewDuration(v), nil
	case []string:
		vals := make([]types.Value, len(v))
		for i, s := range v {
			vals[i] = types.String(s)
		}
		return types.NewSet(vals...), nil
	case []any:
		vals := make([]types.Value, len(v))
		for i, e := range v {
			ev, err := toValue(e, depth+1)
			if err != nil {
				return nil, err.at("[" + strconv.Itoa(i) + "]")
			}
			vals[i] = ev
		}
		return types.NewSet(vals...), nil
	case map[string]string:
		rec := make(types.RecordMap, len(v))
		for k, s := range v {
			rec[types.String(k)] = types.String(s)
		}
		return types.NewRecord(rec), nil
	case map[string]any:
		rec := make(types.RecordMap, len(v))
		for k, e := range v {
			if e == nil {
				continue
			}
			ev, err := toValue(e, depth+1)
			if err != nil {
				return nil, err.at(keySegment(k))
			}
			rec[types.String(k)] = ev
		}
		return types.NewRecord(rec), nil
	default:
		return nil, &pathError{msg: fmt.Sprintf("unsupported type %T", x)}
	}
}

func unsignedValue(u uint64) (types.Value, *pathError) {
	if u > math.MaxInt64 {
		return nil, &pathError{msg: "number " + strconv.FormatUint(u, 10) + " is out of range for a Cedar long"}
	}
	return types.Long(u), nil
}

// two63 is 2^63, the first float64 beyond int64.
const two63 = 9223372036854775808.0

func floatValue(f float64, bits int) (types.Value, *pathError) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &pathError{msg: "number " + strconv.FormatFloat(f, 'g', -1, bits) + " is not finite"}
	}
	if f == math.Trunc(f) && f >= -two63 && f < two63 {
		return types.Long(int64(f)), nil
	}
	// The shortest decimal that reads back as f is the number the input
	// wrote, so 0.1 is the decimal 0.1.
	return numberValue(strconv.FormatFloat(f, 'g', -1, bits))
}

// decimalScale is 10^4: a Cedar decimal is an int64 count of 1/10000.
var decimalScale = big.NewRat(10000, 1)

// numberValue converts a number written in JSON's grammar to a Long or a
// decimal, exactly, or fails.
func numberValue(s string) (types.Value, *pathError) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return types.Long(n), nil
	}
	exp, ok := jsonNumberExponent(s)
	if !ok {
		return nil, &pathError{msg: fmt.Sprintf("invalid number %q", s)}
	}
	if exp > 1000 || exp < -1000 {
		// Far outside both the long and the decimal range or precision,
		// unless the mantissa is zero.
		if strings.Trim(strings.SplitN(strings.ToLower(s), "e", 2)[0], "-0.") != "" {
			return nil, &pathError{msg: fmt.Sprintf("number %s cannot be a Cedar long or decimal", s)}
		}
		return types.Long(0), nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, &pathError{msg: fmt.Sprintf("invalid number %q", s)}
	}
	if r.IsInt() {
		if !r.Num().IsInt64() {
			return nil, &pathError{msg: fmt.Sprintf("number %s is out of range for a Cedar long", s)}
		}
		return types.Long(r.Num().Int64()), nil
	}
	r.Mul(r, decimalScale)
	if !r.IsInt() {
		return nil, &pathError{msg: fmt.Sprintf("number %s has more than 4 decimal places, the precision of a Cedar decimal", s)}
	}
	if !r.Num().IsInt64() {
		return nil, &pathError{msg: fmt.Sprintf("number %s is out of range for a Cedar decimal", s)}
	}
	d, err := types.NewDecimal(r.Num().Int64(), -4)
	if err != nil {
		return nil, &pathError{msg: fmt.Sprintf("number %s: %v", s, err)}
	}
	return d, nil
}

// jsonNumberExponent checks s against JSON's number grammar and returns
// its exponent (0 when it has none, clamped to ±10000).
func jsonNumberExponent(s string) (int, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i - start
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		digits()
	default:
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return 0, false
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		start := i
		if digits() == 0 {
			return 0, false
		}
		for _, c := range s[start:i] {
			exp = exp*10 + int(c-'0')
			if exp > 10000 {
				exp = 10000
				break
			}
		}
		if neg {
			exp = -exp
		}
	}
	return exp, i == len(s)
}
