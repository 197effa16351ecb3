package cedar_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
	"github.com/agentos/agentos/policy/cedar"
)

// stubPolicies expresses a stub as real Cedar policies: a catch-all permit
// or forbid for a declared answer, and, for a stub that fails, a catch-all
// permit next to a policy that cannot be evaluated (it reads an attribute
// no input has).
func stubPolicies(s paritytest.BackendStub) string {
	switch {
	case s.Failure() != "":
		return "permit (principal, action, resource);\nforbid (principal, action, resource) when { context.stub_failure_attribute_absent };\n"
	case s.Returns.Allowed:
		return "permit (principal, action, resource);\n"
	default:
		return "forbid (principal, action, resource);\n"
	}
}

// TestParityBackends runs the policy-evaluator vectors that consult
// external backends ("curated" section, id prefix "backends/"), each stub
// expressed as real Cedar policies and the backends consulted in order as
// package policy does: the first backend decides, and an error is a deny
// (deviation backend-error-fail-closed). Cedar reasons name the deciding
// policies, so only the stubs' allow/deny and failures are asserted, not
// their reason text (the Rego backend asserts that).
func TestParityBackends(t *testing.T) {
	t.Parallel()
	var file struct {
		Curated []paritytest.BackendCase `json:"curated"`
	}
	paritytest.Load(t, "policy-evaluator.json", &file)
	var ran, skipped int
	t.Cleanup(func() { t.Logf("curated (backends/*): %d run, %d skipped", ran, skipped) })
	for _, c := range file.Curated {
		if len(c.Backends) == 0 {
			continue
		}
		if c.Expected.MatchedRule != nil {
			skipped++
			t.Run(c.ID, func(t *testing.T) {
				t.Skipf("rule %q matched before any backend was consulted: rule evaluation is package policy's", *c.Expected.MatchedRule)
			})
			continue
		}
		ran++
		name := c.ID
		if len(c.DeviationKinds) > 0 {
			name += "/deviation:" + strings.Join(c.DeviationKinds, "+")
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := c.Expected
			failClosed := false
			if c.Deviation != "" {
				if c.GoExpected == nil {
					t.Fatalf("deviation without go_expected: %s", c.Deviation)
				}
				want = *c.GoExpected
				failClosed = slices.Contains(c.DeviationKinds, "backend-error-fail-closed")
			}
			if want.Allowed == nil {
				t.Fatal("vector has no allowed to assert")
			}
			for _, s := range c.Backends {
				b := newBackend(t, cedar.Options{Name: s.Name, Policies: stubPolicies(s)})
				allowed, reason, err := b.Decide(t.Context(), c.Context)
				if s.Failure() != "" {
					if err == nil || allowed {
						t.Fatalf("backend %s (stub error %q): Decide = %v, %q, %v, want an error and deny", s.Name, s.Failure(), allowed, reason, err)
					}
					if *want.Allowed {
						t.Fatalf("backend %s failed, so the decision is deny, but the vector wants allow", s.Name)
					}
					return
				}
				if err != nil {
					t.Fatalf("backend %s: Decide error: %v", s.Name, err)
				}
				if failClosed {
					t.Fatalf("deviation %v: backend %s decided %v before any failing backend", c.DeviationKinds, s.Name, allowed)
				}
				if allowed != *want.Allowed || !strings.HasPrefix(reason, s.Name+": ") {
					t.Errorf("backend %s: Decide = %v, %q, want %v with a reason from %s", s.Name, allowed, reason, *want.Allowed, s.Name)
				}
				return
			}
			t.Fatal("no backend decided")
		})
	}
}
