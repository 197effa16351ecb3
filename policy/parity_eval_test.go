package policy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
)

// evalParityCase is one case of policy-evaluator.json.
type evalParityCase struct {
	ID             string           `json:"id"`
	Tags           []string         `json:"tags"`
	Documents      []map[string]any `json:"documents"`
	DocumentsYAML  []string         `json:"documents_yaml"`
	Context        map[string]any   `json:"context"`
	Backends       []evalStubSpec   `json:"backends"`
	Expected       map[string]any   `json:"expected"`
	Deviation      string           `json:"deviation"`
	DeviationKinds []string         `json:"deviation_kinds"`
	GoExpected     map[string]any   `json:"go_expected"`
	Quirk          string           `json:"quirk"`
}

type evalStubSpec struct {
	Name    string `json:"name"`
	Returns *struct {
		Allowed bool   `json:"allowed"`
		Action  string `json:"action"`
		Reason  string `json:"reason"`
		Error   string `json:"error"`
	} `json:"returns"`
	Raises string `json:"raises"`
}

// evalStubBackend answers as its vector declares: a decision, a decision
// carrying an error, or an exception. Both error forms are errors here.
type evalStubBackend struct{ spec evalStubSpec }

func (b evalStubBackend) Name() string { return b.spec.Name }

func (b evalStubBackend) Decide(ctx context.Context, in map[string]any) (bool, string, error) {
	allowed, _, reason, err := b.DecideAction(ctx, in)
	return allowed, reason, err
}

func (b evalStubBackend) DecideAction(_ context.Context, _ map[string]any) (bool, Action, string, error) {
	switch {
	case b.spec.Raises != "":
		return false, "", "", errors.New(b.spec.Raises)
	case b.spec.Returns == nil:
		return false, "", "", errors.New("stub backend declares no answer")
	case b.spec.Returns.Error != "":
		return false, "", "", errors.New(b.spec.Returns.Error)
	}
	r := b.spec.Returns
	return r.Allowed, Action(r.Action), r.Reason, nil
}

var _ ActionBackend = evalStubBackend{}

// evalFromJSON converts a value decoded with UseNumber to the loader's types:
// int-looking numbers become int64 (or *big.Int beyond int64), the rest
// float64.
func evalFromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		n, ok := parseNumber(string(x))
		if !ok {
			panic("bad number " + string(x))
		}
		switch n.tag {
		case numInt:
			return n.i
		case numBig:
			return n.b
		}
		return n.f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = evalFromJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = evalFromJSON(e)
		}
		return out
	}
	return v
}

// evalDocFromJSON builds a Document from a reference PolicyDocument object.
func evalDocFromJSON(tb testing.TB, m map[string]any) *Document {
	tb.Helper()
	str := func(v any) string {
		s, _ := v.(string)
		return s
	}
	d := &Document{Version: "1.0", Name: "unnamed"}
	if v, ok := m["version"]; ok {
		d.Version = str(v)
	}
	if v, ok := m["name"]; ok {
		d.Name = str(v)
	}
	d.Description = str(m["description"])
	if def, ok := m["defaults"].(map[string]any); ok {
		d.Defaults.Action = Action(str(def["action"]))
	}
	rules, _ := m["rules"].([]any)
	for _, rv := range rules {
		rm := rv.(map[string]any)
		r := Rule{Name: str(rm["name"]), Action: Action(str(rm["action"])), Message: str(rm["message"])}
		if p, ok := rm["priority"]; ok {
			switch n := evalFromJSON(p).(type) {
			case int64:
				r.Priority = n
			default:
				tb.Fatalf("priority %v does not fit int64", p)
			}
		}
		if cm, ok := rm["condition"].(map[string]any); ok {
			r.Condition = &Condition{Field: str(cm["field"]), Operator: Operator(str(cm["operator"])), Value: evalFromJSON(cm["value"])}
		}
		d.Rules = append(d.Rules, r)
	}
	return d
}

func evalHasKind(c evalParityCase, kind string) bool {
	for _, k := range c.DeviationKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// assertEvalDecision asserts the fields of want (the vector's decision shape)
// that are present.
func assertEvalDecision(t *testing.T, got Decision, want map[string]any) {
	t.Helper()
	if v, ok := want["allowed"]; ok && got.Allowed != v.(bool) {
		t.Errorf("Allowed = %v, want %v (decision %+v)", got.Allowed, v, got)
	}
	if v, ok := want["action"]; ok && string(got.Action) != v.(string) {
		t.Errorf("Action = %q, want %q", got.Action, v)
	}
	if v, ok := want["matched_rule"]; ok {
		w, _ := v.(string)
		if got.Rule != w {
			t.Errorf("Rule = %q, want %q", got.Rule, w)
		}
	}
	if v, ok := want["reason"]; ok && got.Reason != v.(string) {
		t.Errorf("Reason = %q, want %q", got.Reason, v)
	}
	if audit, ok := want["audit"].(map[string]any); ok {
		p, _ := audit["policy"].(string)
		if got.Policy != p {
			t.Errorf("Policy = %q, want %q", got.Policy, p)
		}
		e, _ := audit["error"].(bool)
		if got.Error != e {
			t.Errorf("Error = %v, want %v", got.Error, e)
		}
		b, _ := audit["backend"].(string)
		if got.Backend != b {
			t.Errorf("Backend = %q, want %q", got.Backend, b)
		}
	}
}

func TestParityEvaluator(t *testing.T) {
	t.Parallel()
	var file struct {
		Operators []evalParityCase `json:"operators"`
		Curated   []evalParityCase `json:"curated"`
		Random    []evalParityCase `json:"random"`
	}
	paritytest.Load(t, "policy-evaluator.json", &file)
	sections := []struct {
		name  string
		cases []evalParityCase
	}{{"operators", file.Operators}, {"curated", file.Curated}, {"random", file.Random}}
	for _, sec := range sections {
		t.Run(sec.name, func(t *testing.T) {
			t.Parallel()
			passed, skipped, failed := 0, 0, 0
			for _, c := range sec.cases {
				name := c.ID
				if c.Deviation != "" {
					name = "deviation=" + strings.Join(c.DeviationKinds, "+") + "/" + c.ID
				}
				skip := false
				ok := t.Run(name, func(t *testing.T) {
					if c.DocumentsYAML != nil {
						skip = true
						t.Skip("YAML documents are the loader's cases")
					}
					if c.ID == "priority/beyond-int64" {
						skip = true
						t.Skip("loader deviation: a priority must fit int64, so this document is rejected at load")
					}
					runEvalParityCase(t, c)
				})
				switch {
				case skip:
					skipped++
				case ok:
					passed++
				default:
					failed++
				}
			}
			t.Logf("%s: %d passed, %d skipped, %d failed of %d", sec.name, passed, skipped, failed, len(sec.cases))
		})
	}
}

func runEvalParityCase(t *testing.T, c evalParityCase) {
	docs := make([]*Document, len(c.Documents))
	for i, m := range c.Documents {
		docs[i] = evalDocFromJSON(t, m)
	}
	var backends []Backend
	for _, b := range c.Backends {
		backends = append(backends, evalStubBackend{b})
	}
	want := c.Expected
	if c.Deviation != "" {
		want = c.GoExpected
	}
	set, err := Compile(docs, CompileOptions{Backends: backends})
	if le, ok := want["load_error"]; ok {
		if le != true {
			t.Fatalf("unexpected load_error shape %v", le)
		}
		if err == nil {
			t.Fatalf("Compile succeeded, want a load error")
		}
		es := AsErrors(err)
		if len(es) == 0 || !strings.HasPrefix(es[0].Field, "rules.") {
			t.Fatalf("Compile error %v: want a located Errors naming the rule field", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	ctx := t.Context()
	if evalHasKind(c, "no-policy-fail-closed") {
		// Asserted where it is decided: an engine holding a set without
		// documents or backends has no policy and denies.
		e := NewEngine(EngineOptions{})
		e.Swap(set)
		got := e.Evaluate(ctx, evalFromJSON(c.Context).(map[string]any))
		assertEvalDecision(t, got, want)
		if len(c.Documents) == 0 && len(c.Backends) == 0 && got.Reason != NoPolicyReason {
			t.Errorf("Reason = %q, want %q", got.Reason, NoPolicyReason)
		}
		return
	}
	// The input as the kernel builds it (int64/float64) and as a JSON
	// decoder with UseNumber does (json.Number) must decide the same.
	got := set.Evaluate(ctx, evalFromJSON(c.Context).(map[string]any))
	assertEvalDecision(t, got, want)
	got2 := set.Evaluate(ctx, c.Context)
	if got2 != got {
		t.Errorf("json.Number input decided %+v, int64/float64 input %+v", got2, got)
	}
	// Explain (no index) must decide exactly as Evaluate does.
	got3, steps := set.Explain(ctx, evalFromJSON(c.Context).(map[string]any))
	if got3 != got {
		t.Errorf("Explain decided %+v, Evaluate %+v", got3, got)
	}
	if got.Rule != "" && (len(steps) == 0 || !steps[len(steps)-1].Matched) && set.Strategy() == StrategyPriorityFirstMatch {
		t.Errorf("Explain steps %+v do not end with the matching rule", steps)
	}
	if evalHasKind(c, "backend-error-fail-closed") && !got.Error {
		t.Errorf("backend error: Error = false, want a fail-closed decision")
	}
}
