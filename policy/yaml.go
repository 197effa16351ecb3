package policy

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// YAML 1.1 scalar resolution.
//
// The reference loads policy files with PyYAML, which resolves plain
// (unquoted) scalars with YAML 1.1 rules: yes/no/on/off are booleans, 017 is
// octal, 1_000 is 1000, 1:30 is 90 (base 60), 1e3 is a string (a float needs
// a dot), 2024-01-02 is a date. yaml.v3 follows YAML 1.2 and reads several of
// these differently, so every plain scalar is resolved here instead, with the
// patterns of PyYAML's resolver, and a policy file decides as it does in the
// reference. The one exception is dates and timestamps: the reference turns
// them into date objects that never equal any input value; here they are a
// load error asking for quotes (see resolvePlain).

// scalarKind is what a plain YAML scalar resolves to.
type scalarKind int

const (
	kindString scalarKind = iota
	kindNull
	kindBool
	kindInt
	kindFloat
	kindTimestamp
	kindValue // "=", YAML 1.1's value key; the reference cannot load it
)

// String names k for error messages.
func (k scalarKind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "boolean"
	case kindInt:
		return "integer"
	case kindFloat:
		return "float"
	case kindTimestamp:
		return "date"
	case kindValue:
		return "value key"
	}
	return "string"
}

// The implicit resolvers of PyYAML 6 (yaml/resolver.py), written for RE2.
// PyYAML's verbose patterns ignore whitespace; it is removed here.
var (
	yamlBoolRE  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	yamlFloatRE = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?` +
		`|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` +
		`|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*` +
		`|[-+]?\.(?:inf|Inf|INF)` +
		`|\.(?:nan|NaN|NAN))$`)
	yamlIntRE = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+` +
		`|[-+]?0[0-7_]+` +
		`|[-+]?(?:0|[1-9][0-9_]*)` +
		`|[-+]?0x[0-9a-fA-F_]+` +
		`|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	yamlNullRE      = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	yamlTimestampRE = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]` +
		`|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?` +
		`(?:[Tt]|[ \t]+)[0-9][0-9]?` +
		`:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?` +
		`(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
)

// classifyPlain reports what PyYAML's resolver makes of the plain scalar s.
// As in PyYAML, a resolver is only tried when the first character can start
// its pattern, and bool, float, int, merge, null, timestamp and value are
// tried in that order of registration per first character.
func classifyPlain(s string) scalarKind {
	if s == "" {
		return kindNull
	}
	switch c := s[0]; {
	case strings.IndexByte("yYnNtTfFoO", c) >= 0:
		if yamlBoolRE.MatchString(s) {
			return kindBool
		}
	case strings.IndexByte("-+0123456789.", c) >= 0:
		if yamlFloatRE.MatchString(s) {
			return kindFloat
		}
		if yamlIntRE.MatchString(s) {
			return kindInt
		}
		if c >= '0' && c <= '9' && yamlTimestampRE.MatchString(s) {
			return kindTimestamp
		}
	case c == '=':
		if s == "=" {
			return kindValue
		}
	}
	// 'n' and 'N' start both booleans and nulls; PyYAML tries bool first.
	if strings.IndexByte("~nN", s[0]) >= 0 && yamlNullRE.MatchString(s) {
		return kindNull
	}
	return kindString
}

// resolvePlain converts the plain scalar s as PyYAML's SafeLoader does:
// nil, bool, int64 (or *big.Int beyond int64), float64 or string. Dates,
// timestamps and "=" are errors: the reference reads a date as a date object,
// which never equals a string, number or anything an input can carry, so a
// policy comparing against one is almost certainly a mistake; quoting makes
// it a string.
func resolvePlain(s string) (any, scalarKind, error) {
	k := classifyPlain(s)
	switch k {
	case kindNull:
		return nil, k, nil
	case kindBool:
		switch strings.ToLower(s) {
		case "yes", "true", "on":
			return true, k, nil
		}
		return false, k, nil
	case kindInt:
		v, err := yamlInt(s)
		return v, k, err
	case kindFloat:
		v, err := yamlFloat(s)
		return v, k, err
	case kindTimestamp:
		return nil, k, fmt.Errorf("%s is a YAML 1.1 date, which the reference reads as a date that equals no input value; quote it if a string is meant: %q", s, s)
	case kindValue:
		return nil, k, fmt.Errorf("a plain = is YAML 1.1's value key, which the reference cannot load; quote it: \"=\"")
	}
	return s, kindString, nil
}

// yamlInt is PyYAML's construct_yaml_int: underscores dropped, 0b binary,
// 0x hex, a leading 0 octal, colons base 60, else decimal. The result is an
// int64, or a *big.Int when it does not fit.
func yamlInt(s string) (any, error) {
	v := strings.ReplaceAll(s, "_", "")
	neg := false
	if v != "" && (v[0] == '-' || v[0] == '+') {
		neg = v[0] == '-'
		v = v[1:]
	}
	n := new(big.Int)
	var ok bool
	switch {
	case v == "0":
		ok = true
	case strings.HasPrefix(v, "0b"):
		_, ok = n.SetString(v[2:], 2)
	case strings.HasPrefix(v, "0x"):
		_, ok = n.SetString(v[2:], 16)
	case strings.HasPrefix(v, "0"):
		_, ok = n.SetString(v, 8)
	case strings.Contains(v, ":"):
		ok = true
		for part := range strings.SplitSeq(v, ":") {
			d, err := strconv.ParseInt(part, 10, 64)
			if err != nil {
				ok = false
				break
			}
			n.Mul(n, big.NewInt(60))
			n.Add(n, big.NewInt(d))
		}
	default:
		_, ok = n.SetString(v, 10)
	}
	if !ok {
		return nil, fmt.Errorf("%s is not a valid YAML 1.1 integer", s)
	}
	if neg {
		n.Neg(n)
	}
	if n.IsInt64() {
		return n.Int64(), nil
	}
	return n, nil
}

// yamlFloat is PyYAML's construct_yaml_float: underscores dropped, .inf and
// .nan, colons base 60, else a decimal float. Overflow gives ±Inf, as
// Python's float() does.
func yamlFloat(s string) (float64, error) {
	v := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if v != "" && (v[0] == '-' || v[0] == '+') {
		if v[0] == '-' {
			sign = -1
		}
		v = v[1:]
	}
	switch {
	case v == ".inf":
		return sign * math.Inf(1), nil
	case v == ".nan":
		return math.NaN(), nil
	case strings.Contains(v, ":"):
		total := 0.0
		for part := range strings.SplitSeq(v, ":") {
			d, err := strconv.ParseFloat(part, 64)
			if err != nil {
				return 0, fmt.Errorf("%s is not a valid YAML 1.1 float", s)
			}
			total = total*60 + d
		}
		return sign * total, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s is not a valid YAML 1.1 float", s)
	}
	return sign * f, nil
}

// resolveTagged converts a scalar carrying an explicit standard tag
// (!!str, !!int, !!float, !!bool, !!null). Other tags are not supported:
// the reference's safe loader rejects custom tags, and !!binary,
// !!timestamp and the collection tags have no policy meaning.
func resolveTagged(tag, s string) (any, error) {
	switch tag {
	case "!!str":
		return s, nil
	case "!!null":
		if yamlNullRE.MatchString(s) {
			return nil, nil
		}
	case "!!bool":
		if yamlBoolRE.MatchString(s) {
			v, _, _ := resolvePlain(s)
			return v, nil
		}
	case "!!int":
		if yamlIntRE.MatchString(s) {
			return yamlInt(s)
		}
	case "!!float":
		if yamlFloatRE.MatchString(s) || yamlIntRE.MatchString(s) {
			return yamlFloat(s)
		}
	default:
		return nil, fmt.Errorf("unsupported YAML tag %s", tag)
	}
	return nil, fmt.Errorf("%q is not a valid %s", s, tag)
}
