package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
)

// statelessCase is one case of stateless-kernel.json. Only the policy
// check is asserted here: data and updated_context come from the
// reference's executor stub, not from the checker.
type statelessCase struct {
	ID             string                    `json:"id"`
	Action         string                    `json:"action"`
	Params         map[string]any            `json:"params"`
	Policies       []string                  `json:"policies"`
	CustomPolicies map[string]map[string]any `json:"custom_policies"`
	Expected       struct {
		Success bool    `json:"success"`
		Error   *string `json:"error"`
		Signal  *string `json:"signal"`
	} `json:"expected"`
	Deviation      string   `json:"deviation"`
	DeviationKinds []string `json:"deviation_kinds"`
	GoExpected     *struct {
		Success bool `json:"success"`
	} `json:"go_expected"`
}

func statelessCustom(tb testing.TB, in map[string]map[string]any) map[string]Named {
	tb.Helper()
	if in == nil {
		return nil
	}
	strs := func(v any) []string {
		var out []string
		l, _ := v.([]any)
		for _, e := range l {
			out = append(out, e.(string))
		}
		return out
	}
	out := map[string]Named{}
	for name, p := range in {
		for k := range p {
			switch k {
			case "blocked_actions", "blocked_patterns", "require_approval", "constraints":
			default:
				tb.Fatalf("custom policy %q: unknown key %q", name, k)
			}
		}
		out[name] = Named{
			BlockedActions:  strs(p["blocked_actions"]),
			BlockedPatterns: strs(p["blocked_patterns"]),
			RequireApproval: strs(p["require_approval"]),
		}
	}
	return out
}

func TestParityStatelessKernel(t *testing.T) {
	t.Parallel()
	var file struct {
		Matrix  []statelessCase `json:"matrix"`
		Params  []statelessCase `json:"params"`
		Custom  []statelessCase `json:"custom"`
		Context []statelessCase `json:"context"`
	}
	paritytest.Load(t, "stateless-kernel.json", &file)
	for _, sec := range []struct {
		name  string
		cases []statelessCase
	}{{"matrix", file.Matrix}, {"params", file.Params}, {"custom", file.Custom}, {"context", file.Context}} {
		t.Run(sec.name, func(t *testing.T) {
			t.Parallel()
			passed, failed := 0, 0
			for _, c := range sec.cases {
				name := c.ID
				if c.Deviation != "" {
					name = "deviation=" + strings.Join(c.DeviationKinds, "+") + "/" + c.ID
				}
				if t.Run(name, func(t *testing.T) { runStatelessCase(t, c) }) {
					passed++
				} else {
					failed++
				}
			}
			t.Logf("%s: %d passed, %d failed of %d", sec.name, passed, failed, len(sec.cases))
		})
	}
}

// pyTruthy is Python truthiness of a decoded JSON value.
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	n, ok := toNum(v)
	if !ok {
		return true
	}
	c, ordered := cmpNum(n, pyNum{tag: numInt})
	return !ordered || c != 0
}

func runStatelessCase(t *testing.T, c statelessCase) {
	check := NamedCheck{Action: c.Action, Params: c.Params, Policies: c.Policies, Custom: statelessCustom(t, c.CustomPolicies)}
	v, err := CheckNamed(check)
	kinds := strings.Join(c.DeviationKinds, "+")
	switch kinds {
	case "unknown-policy-name":
		if c.GoExpected == nil || c.GoExpected.Success {
			t.Fatalf("go_expected = %+v, want success false", c.GoExpected)
		}
		if !errors.Is(err, ErrUnknownPolicy) {
			t.Fatalf("CheckNamed = %v, %v; want ErrUnknownPolicy", v, err)
		}
		return
	case "self-approval":
		if c.GoExpected == nil || c.GoExpected.Success {
			t.Fatalf("go_expected = %+v, want success false", c.GoExpected)
		}
		if err != nil || v == nil || v.Kind != ViolationRequireApproval {
			t.Fatalf("CheckNamed = %+v, %v; want a require_approval violation despite params.approved", v, err)
		}
	case "":
	default:
		t.Fatalf("unhandled deviation %q", kinds)
	}
	if err != nil {
		t.Fatalf("CheckNamed: %v", err)
	}
	if v == nil && !c.Expected.Success {
		t.Fatalf("CheckNamed found no violation; the reference refused with %v", *c.Expected.Error)
	}
	// The reference let a truthy params.approved satisfy require_approval;
	// agentos lets only the broker do so. With the broker's approval
	// standing in for that flag, the outcome must be the reference's.
	check.Approved = pyTruthy(c.Params["approved"])
	if v, err = CheckNamed(check); err != nil {
		t.Fatalf("CheckNamed (approved=%v): %v", check.Approved, err)
	}
	violated := v != nil
	if violated == c.Expected.Success {
		t.Fatalf("CheckNamed violation = %+v, want success %v (error %v)", v, c.Expected.Success, c.Expected.Error)
	}
	signal := ""
	if violated {
		signal = "SIGKILL" // the compatibility surface kills on every violation
		if c.Expected.Error == nil || v.Message != *c.Expected.Error {
			t.Errorf("Message = %q, want %v", v.Message, *c.Expected.Error)
		}
	}
	wantSignal := ""
	if c.Expected.Signal != nil {
		wantSignal = *c.Expected.Signal
	}
	if signal != wantSignal {
		t.Errorf("signal = %q, want %q", signal, wantSignal)
	}
}
