package policy

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Diff compares two policy sets rule by rule and returns the differences in
// the line format of the reference's `policies-cli diff`, or nil if there
// are none:
//
//	rule added: <name>
//	rule removed: <name>
//	rule <name>: <key>: <old> -> <new>
//	defaults: <key>: <old> -> <new>
//	<top-key>: <old> -> <new>
//
// Values are Python reprs ('deny', 10, True, {'field': 'x', ...}) and None
// stands for an absent field. Rules of all documents are paired by name (the
// n-th rule of a name in a with the n-th in b); added, removed and changed
// rules each come sorted by name, keys sorted within a rule. Top-level keys
// and defaults are those of the first document of each side.
//
// The comparison is semantic: a field written with its default value is the
// same as one left out (the reference compares the raw files), and the
// budget defaults always show their effective values.
func Diff(a, b []*Document) []string {
	var out []string
	ra, rb := diffRules(a), diffRules(b)
	var added, removed, common []string
	for k := range rb {
		if _, ok := ra[k]; !ok {
			added = append(added, k)
		}
	}
	for k := range ra {
		if _, ok := rb[k]; ok {
			common = append(common, k)
		} else {
			removed = append(removed, k)
		}
	}
	slices.SortFunc(added, compareRuleKeys)
	slices.SortFunc(removed, compareRuleKeys)
	slices.SortFunc(common, compareRuleKeys)
	for _, k := range added {
		out = append(out, "rule added: "+ruleKeyName(k))
	}
	for _, k := range removed {
		out = append(out, "rule removed: "+ruleKeyName(k))
	}
	for _, k := range common {
		out = append(out, diffMaps("rule "+ruleKeyName(k)+": ", ra[k], rb[k])...)
	}
	da, db := firstDoc(a), firstDoc(b)
	out = append(out, diffMaps("defaults: ", defaultsRepr(da), defaultsRepr(db))...)
	out = append(out, diffMaps("", topRepr(da), topRepr(db))...)
	return out
}

// ruleKey is a rule name plus its occurrence (names may repeat), encoded as
// "name\x00n".
func ruleKeyName(k string) string {
	name, _, _ := strings.Cut(k, "\x00")
	return name
}

func compareRuleKeys(x, y string) int {
	nx, ox, _ := strings.Cut(x, "\x00")
	ny, oy, _ := strings.Cut(y, "\x00")
	if c := strings.Compare(nx, ny); c != 0 {
		return c
	}
	ix, _ := strconv.Atoi(ox)
	iy, _ := strconv.Atoi(oy)
	return ix - iy
}

func firstDoc(docs []*Document) *Document {
	for _, d := range docs {
		if d != nil {
			return d
		}
	}
	return nil
}

// diffRules maps each rule (by name and occurrence) to its keys' reprs.
func diffRules(docs []*Document) map[string]map[string]string {
	out := make(map[string]map[string]string)
	count := make(map[string]int)
	for _, d := range docs {
		if d == nil {
			continue
		}
		for i := range d.Rules {
			r := &d.Rules[i]
			k := r.Name + "\x00" + strconv.Itoa(count[r.Name])
			count[r.Name]++
			out[k] = ruleRepr(r)
		}
	}
	return out
}

// diffMaps lists the keys of a and b whose reprs differ, sorted.
func diffMaps(prefix string, a, b map[string]string) []string {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		va, ok := a[k]
		if !ok {
			va = "None"
		}
		vb, ok := b[k]
		if !ok {
			vb = "None"
		}
		if va != vb {
			out = append(out, prefix+k+": "+va+" -> "+vb)
		}
	}
	return out
}

func topRepr(d *Document) map[string]string {
	m := make(map[string]string)
	if d == nil {
		return m
	}
	m["version"] = reprStr(d.Version)
	m["name"] = reprStr(d.Name)
	if d.Description != "" {
		m["description"] = reprStr(d.Description)
	}
	if d.Strategy != "" {
		m["strategy"] = reprStr(string(d.Strategy))
	}
	if len(d.Policies) > 0 {
		m["policies"] = reprStrs(d.Policies)
	}
	return m
}

func defaultsRepr(d *Document) map[string]string {
	m := make(map[string]string)
	if d == nil {
		return m
	}
	if d.Defaults.Action != "" {
		m["action"] = reprStr(string(d.Defaults.Action))
	}
	m["max_tokens"] = strconv.FormatInt(d.Defaults.MaxTokens, 10)
	m["max_tool_calls"] = strconv.FormatInt(d.Defaults.MaxToolCalls, 10)
	m["confidence_threshold"] = reprFloat(d.Defaults.ConfidenceThreshold)
	return m
}

func ruleRepr(r *Rule) map[string]string {
	m := map[string]string{"name": reprStr(r.Name)}
	if r.Priority != 0 {
		m["priority"] = strconv.FormatInt(r.Priority, 10)
	}
	if r.Condition != nil {
		m["condition"] = conditionRepr(*r.Condition)
	}
	if len(r.Conditions) > 0 {
		parts := make([]string, len(r.Conditions))
		for i, c := range r.Conditions {
			parts[i] = conditionRepr(c)
		}
		m["conditions"] = "[" + strings.Join(parts, ", ") + "]"
	}
	if r.Match != nil {
		var parts []string
		for _, f := range []struct {
			key  string
			list []string
		}{{"tools", r.Match.Tools}, {"agents", r.Match.Agents}, {"syscalls", r.Match.Syscalls}} {
			if len(f.list) > 0 {
				parts = append(parts, reprStr(f.key)+": "+reprStrs(f.list))
			}
		}
		m["match"] = "{" + strings.Join(parts, ", ") + "}"
	}
	set := func(k, v string) {
		if v != "" {
			m[k] = reprStr(v)
		}
	}
	set("when", r.When)
	set("action", string(r.Action))
	set("message", r.Message)
	set("limit", r.Limit)
	set("on_violation", r.OnViolation)
	set("scope", string(r.Scope))
	if len(r.Approvers) > 0 {
		m["approvers"] = reprStrs(r.Approvers)
	}
	if r.Quorum != 0 {
		m["quorum"] = strconv.Itoa(r.Quorum)
	}
	if r.Timeout != 0 {
		m["timeout"] = reprStr(r.Timeout.String())
	}
	return m
}

func conditionRepr(c Condition) string {
	return "{'field': " + reprStr(c.Field) + ", 'operator': " + reprStr(string(c.Operator)) + ", 'value': " + reprValue(c.Value) + "}"
}

func reprStrs(l []string) string {
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = reprStr(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// reprValue formats a condition value as Python's repr() does.
func reprValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case *big.Int:
		return v.String()
	case float64:
		return reprFloat(v)
	case string:
		return reprStr(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = reprValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := sortedKeys(v)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = reprStr(k) + ": " + reprValue(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// reprStr formats s as Python's repr() of a str: single quotes unless s
// contains a single quote and no double quote; backslash escapes for the
// quote, backslash, \t \n \r and characters that are not printable.
func reprStr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}
