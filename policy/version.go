package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sort"
	"strconv"
)

// setVersion hashes the canonical encoding of everything that affects
// decisions: the documents (without their source locations), the
// backends' names and order, the CEL cost limit and the caller's named
// policies. Equal inputs give equal versions across processes.
func setVersion(docs []*Document, opts CompileOptions) string {
	e := canon{out: make([]byte, 0, 4096)}
	e.str("agentos-policy-set/1")
	e.int(int64(len(docs)))
	for _, d := range docs {
		e.doc(d)
	}
	e.int(int64(len(opts.Backends)))
	for _, b := range opts.Backends {
		e.str(b.Name())
	}
	limit := opts.CELCostLimit
	if limit == 0 {
		limit = DefaultCELCostLimit
	}
	e.int(int64(limit))
	names := make([]string, 0, len(opts.Builtins))
	for k := range opts.Builtins {
		names = append(names, k)
	}
	sort.Strings(names)
	e.int(int64(len(names)))
	for _, k := range names {
		n := opts.Builtins[k]
		e.str(k)
		e.strs(n.BlockedActions)
		e.strs(n.BlockedPatterns)
		e.strs(n.RequireApproval)
	}
	sum := sha256.Sum256(e.out)
	return hex.EncodeToString(sum[:])
}

// canon writes a self-delimiting encoding: every item is a tag byte, and
// strings and collections carry their length. The encoding is collected in
// out and hashed once.
type canon struct {
	out []byte
}

func (e *canon) tag(t byte) { e.out = append(e.out, t) }

func (e *canon) str(s string) {
	e.tag('s')
	e.out = strconv.AppendInt(e.out, int64(len(s)), 10)
	e.out = append(e.out, ':')
	e.out = append(e.out, s...)
}

func (e *canon) int(i int64) {
	e.tag('i')
	e.out = strconv.AppendInt(e.out, i, 10)
	e.out = append(e.out, ';')
}

func (e *canon) strs(ss []string) {
	e.int(int64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *canon) doc(d *Document) {
	if d == nil {
		e.tag('n')
		return
	}
	e.tag('D')
	e.str(d.Version)
	e.str(d.Name)
	e.str(d.Description)
	e.str(string(d.Strategy))
	e.str(string(d.Defaults.Action))
	e.int(d.Defaults.MaxTokens)
	e.int(d.Defaults.MaxToolCalls)
	e.int(int64(math.Float64bits(d.Defaults.ConfidenceThreshold)))
	e.strs(d.Policies)
	e.int(int64(len(d.Rules)))
	for i := range d.Rules {
		r := &d.Rules[i]
		e.tag('R')
		e.str(r.Name)
		e.int(r.Priority)
		if r.Condition != nil {
			e.tag('c')
			e.cond(*r.Condition)
		} else {
			e.tag('-')
		}
		e.int(int64(len(r.Conditions)))
		for _, c := range r.Conditions {
			e.cond(c)
		}
		if r.Match != nil {
			e.tag('m')
			e.strs(r.Match.Tools)
			e.strs(r.Match.Agents)
			e.strs(r.Match.Syscalls)
		} else {
			e.tag('-')
		}
		e.str(r.When)
		e.str(string(r.Action))
		e.str(r.Message)
		e.str(r.Limit)
		e.str(r.OnViolation)
		e.strs(r.Approvers)
		e.int(int64(r.Quorum))
		e.int(int64(r.Timeout))
		e.str(string(r.Scope))
	}
}

func (e *canon) cond(c Condition) {
	e.str(c.Field)
	e.str(string(c.Operator))
	e.value(c.Value)
}

func (e *canon) value(v any) {
	switch x := v.(type) {
	case nil:
		e.tag('N')
	case bool:
		if x {
			e.tag('T')
		} else {
			e.tag('F')
		}
	case string:
		e.str(x)
	case []any:
		e.tag('L')
		e.int(int64(len(x)))
		for _, el := range x {
			e.value(el)
		}
	case []string:
		e.tag('L')
		e.int(int64(len(x)))
		for _, el := range x {
			e.str(el)
		}
	case map[string]any:
		e.tag('M')
		keys := keysSorted(x)
		e.int(int64(len(keys)))
		for _, k := range keys {
			e.str(k)
			e.value(x[k])
		}
	default:
		n, ok := toNum(v)
		switch {
		case !ok || kindOf(v) != kNum:
			e.tag('?')
		case n.tag == numInt:
			e.int(n.i)
		case n.tag == numBig:
			e.tag('B')
			e.str(n.b.String())
		default:
			e.tag('f')
			e.int(int64(math.Float64bits(n.f)))
		}
	}
}
