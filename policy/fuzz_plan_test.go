package policy

import (
	"encoding/json"
	"math"
	"testing"
)

// planValue makes a value of the kind k picks from the fuzzed scalars, so
// that subjects and targets cover the inline fast paths of firstMatch and
// the mixed pairings that leave them.
func planValue(k uint8, s string, i int64, f float64) any {
	switch k % 8 {
	case 0:
		return s
	case 1:
		return i
	case 2:
		return f
	case 3:
		return int(i)
	case 4:
		return json.Number(s)
	case 5:
		return i%2 == 0
	case 6:
		return math.NaN()
	}
	return nil
}

// FuzzFirstMatch checks the flattened first-match plan against the full
// scan of Explain on condition-only rules over a flat context, with
// fuzzed operators, targets and subjects: the same decision, always.
func FuzzFirstMatch(f *testing.F) {
	f.Add("agent-1", int64(100000), 0.8, uint8(0), uint8(1), uint8(2), uint8(3), uint8(0x21))
	f.Add("x", int64(-5), math.Inf(1), uint8(2), uint8(2), uint8(1), uint8(6), uint8(0x43))
	f.Add("12", int64(12), 12.0, uint8(4), uint8(1), uint8(3), uint8(4), uint8(0x10))
	ops := []Operator{OpEq, OpNe, OpGt, OpLt, OpGte, OpLte, OpIn, OpContains}
	f.Fuzz(func(t *testing.T, s string, i int64, fl float64, tk1, tk2, sk1, sk2, opsel uint8) {
		targets := []any{planValue(tk1, s, i, fl), planValue(tk2, s, i+1, fl/2)}
		doc := &Document{Name: "plan", Defaults: Defaults{Action: ActionAllow}}
		for r := range 6 {
			op := ops[(int(opsel)+r*int(opsel>>3|1))%len(ops)]
			field := []string{"a", "b", "c"}[r%3]
			rule := Rule{Name: "r" + string(rune('0'+r)), Priority: int64(10 - r%4), Action: ActionDeny,
				Condition: &Condition{Field: field, Operator: op, Value: targets[r%2]}}
			if r == 4 {
				rule.Conditions = []Condition{{Field: "c", Operator: ops[int(opsel>>4)%len(ops)], Value: targets[1]}}
			}
			doc.Rules = append(doc.Rules, rule)
		}
		set, err := Compile([]*Document{doc}, CompileOptions{})
		if err != nil {
			return
		}
		in := map[string]any{"a": planValue(sk1, s, i, fl), "b": planValue(sk2, s, i-1, -fl), "c": planValue(sk1+sk2, s, i, fl)}
		ctx := t.Context()
		d := set.Evaluate(ctx, in)
		if d2, _ := set.Explain(ctx, in); d2 != d {
			t.Fatalf("Evaluate = %+v, Explain = %+v", d, d2)
		}
		if d.Error && d.Allowed {
			t.Fatalf("error decision %+v allows", d)
		}
	})
}
