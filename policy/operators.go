package policy

import (
	"math"
	"regexp"
	"strings"
)

// opCode is an Operator resolved at compile time.
type opCode uint8

const (
	opEq opCode = iota
	opNe
	opGt
	opLt
	opGte
	opLte
	opIn
	opContains
	opMatches
)

var opCodes = map[Operator]opCode{
	OpEq: opEq, OpNe: opNe, OpGt: opGt, OpLt: opLt, OpGte: opGte, OpLte: opLte,
	OpIn: opIn, OpContains: opContains, OpMatches: opMatches,
}

// condition is a compiled {field, operator, value}.
type compiledCond struct {
	field string
	path  []string // dotted segments; nil when field has no '.'
	op    opCode
	// target is the normalized value; tstr/isStr and tnum/isNum cache
	// scalar targets for the fast paths.
	target any
	tstr   string
	isStr  bool
	tnum   pyNum
	isNum  bool
	re     *regexp.Regexp // matches: compiled str(target)
	lit    string         // matches: a literal every match contains ("" if none)
	fold   bool           // lit is compared case-insensitively
	litBG  []uint16       // lit's bigram hashes
	slot   int8           // fieldCache slot; -1: not cached
	fast   fastKind       // the inlined check of the common subject type
	desc   string         // for traces: "token_count gt 4096"
}

// fastKind names a condition whose common case the evaluation loop
// (firstMatch) checks inline: a string subject against a string target for eq/ne, an int64
// subject against an int target or a float64 subject against a float
// target for the orderings. Any other subject takes the general path
// (holds), so the outcome is always that of holds.
type fastKind uint8

const (
	fastNone fastKind = iota
	fastStrEq
	fastStrNe
	fastIntGt
	fastIntLt
	fastIntGte
	fastIntLte
	fastFloatGt
	fastFloatLt
	fastFloatGte
	fastFloatLte
)

// fastPath picks c's inline check.
func fastPath(c *compiledCond) fastKind {
	switch {
	case c.isStr && c.op == opEq:
		return fastStrEq
	case c.isStr && c.op == opNe:
		return fastStrNe
	case !c.isNum || c.op < opGt || c.op > opLte:
		return fastNone
	case c.tnum.tag == numInt:
		return fastIntGt + fastKind(c.op-opGt)
	case c.tnum.tag == numFloat && !math.IsNaN(c.tnum.f):
		return fastFloatGt + fastKind(c.op-opGt)
	}
	return fastNone
}

// lookupField finds field in in: the exact key first, then (EXT) a dotted
// path into nested maps. ok is false when the field is absent.
func lookupField(in map[string]any, field string, path []string) (any, bool) {
	if v, ok := in[field]; ok {
		return v, true
	}
	if path == nil {
		return nil, false
	}
	var cur any = in
	for _, seg := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func splitPath(field string) []string {
	if !strings.Contains(field, ".") {
		return nil
	}
	return strings.Split(field, ".")
}

// eval reports whether the condition holds for in. A missing or null
// subject never holds. A type error is returned as errType.
func (c *compiledCond) eval(in map[string]any, fc *fieldCache) (bool, error) {
	var v any
	var ok bool
	if c.slot >= 0 && fc.state[c.slot] != 0 {
		v, ok = fc.val[c.slot], fc.state[c.slot] == 2
	} else {
		v, ok = fc.load(c, in)
	}
	if !ok || v == nil {
		return false, nil
	}
	return c.holds(v, fc)
}

// holds reports whether the condition holds for the present, non-null
// subject v.
func (c *compiledCond) holds(v any, fc *fieldCache) (bool, error) {
	switch c.fast {
	case fastStrNe:
		if s, isStr := v.(string); isStr {
			return s != c.tstr, nil
		}
	case fastIntLt, fastIntGte, fastIntLte:
		if x, isInt := v.(int64); isInt {
			switch c.fast {
			case fastIntLt:
				return x < c.tnum.i, nil
			case fastIntGte:
				return x >= c.tnum.i, nil
			}
			return x <= c.tnum.i, nil
		}
	case fastFloatGt, fastFloatGte, fastFloatLte:
		if x, isFloat := v.(float64); isFloat {
			// NaN is unordered: every comparison is false, as in cmpNum.
			switch c.fast {
			case fastFloatGt:
				return x > c.tnum.f, nil
			case fastFloatGte:
				return x >= c.tnum.f, nil
			}
			return x <= c.tnum.f, nil
		}
	}
	switch c.op {
	case opEq, opNe:
		var eq bool
		if s, ok := v.(string); ok && c.isStr {
			eq = s == c.tstr
		} else {
			var err error
			if eq, err = pyEqual(v, c.target); err != nil {
				return false, err
			}
		}
		return eq == (c.op == opEq), nil
	case opGt, opLt, opGte, opLte:
		var cmp int
		if x, isInt := v.(int64); isInt && c.isNum && c.tnum.tag == numInt {
			cmp = cmpInt(x, c.tnum.i)
		} else {
			var ordered bool
			var err error
			if cmp, ordered, err = c.compare(v); err != nil || !ordered {
				return false, err
			}
		}
		switch c.op {
		case opGt:
			return cmp > 0, nil
		case opLt:
			return cmp < 0, nil
		case opGte:
			return cmp >= 0, nil
		}
		return cmp <= 0, nil
	case opIn:
		return pyIn(v, c.target)
	case opContains:
		return pyIn(c.target, v)
	case opMatches:
		if s, ok := v.(string); ok {
			if c.lit != "" && !c.mayMatch(s, fc) {
				return false, nil
			}
			return c.re.MatchString(s), nil
		}
		if kindOf(v) == kUnsupported {
			return false, errType
		}
		return c.re.Match(appendPyStr(nil, v)), nil
	}
	return false, errType
}

// mayMatch is the `matches` prefilter: false means the required literal
// is absent, so the regexp cannot match s.
func (c *compiledCond) mayMatch(s string, fc *fieldCache) bool {
	if c.slot < 0 {
		if c.fold {
			low, ascii := asciiLower(s)
			return !ascii || strings.Contains(low, c.lit)
		}
		return strings.Contains(s, c.lit)
	}
	bs, ascii := fc.bigrams(c.slot, s)
	if c.fold {
		// Unicode folding maps some non-ASCII letters (the Kelvin sign)
		// onto ASCII ones: no prefilter for non-ASCII text.
		return !ascii || (bs.hasAll(c.litBG) && containsFoldASCII(s, c.lit))
	}
	// Bigrams ignore ASCII case on both sides, so they hold for an exact
	// literal too.
	return bs.hasAll(c.litBG) && strings.Contains(s, c.lit)
}

// compare orders the subject v against the target, with fast paths for the
// common int64/float64 subjects.
func (c *compiledCond) compare(v any) (int, bool, error) {
	if c.isNum {
		var n pyNum
		switch x := v.(type) {
		case int64:
			n = pyNum{tag: numInt, i: x}
		case int:
			n = pyNum{tag: numInt, i: int64(x)}
		case float64:
			n = pyNum{tag: numFloat, f: x}
		default:
			return pyCompare(v, c.target)
		}
		cmp, ok := cmpNum(n, c.tnum)
		return cmp, ok, nil
	}
	if c.isStr {
		if s, ok := v.(string); ok {
			return strings.Compare(s, c.tstr), true, nil
		}
	}
	return pyCompare(v, c.target)
}
