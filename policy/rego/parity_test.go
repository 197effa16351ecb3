package rego_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
	"github.com/agentos/agentos/policy/rego"
)

// stubModule expresses a stub as a real Rego policy answering through
// data.agentos.decision: the declared answer and reason, or, for a stub
// that fails, a policy whose evaluation fails (a strict built-in error)
// while claiming to allow.
func stubModule(s paritytest.BackendStub) string {
	if msg := s.Failure(); msg != "" {
		quoted, _ := json.Marshal(msg)
		return fmt.Sprintf("package agentos\n\ndecision := {\"allow\": true, \"reason\": \"unreachable\"} if to_number(%s) > 0\n", quoted)
	}
	quoted, _ := json.Marshal(s.Returns.Reason)
	return fmt.Sprintf("package agentos\n\ndecision := {\"allow\": %t, \"reason\": %s}\n", s.Returns.Allowed, quoted)
}

// TestParityBackends runs the policy-evaluator vectors that consult
// external backends ("curated" section, id prefix "backends/"), with each
// stub expressed as a real Rego policy and the backends consulted in order
// as package policy does: the first backend decides, and an error is a
// deny (deviation backend-error-fail-closed).
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
			// A rule decided before any backend ran; rule matching
			// belongs to package policy.
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
				b := newBackend(t, rego.Options{Name: s.Name, Query: "data.agentos.decision", Modules: module(stubModule(s))})
				allowed, reason, err := b.Decide(t.Context(), c.Context)
				if s.Failure() != "" {
					// The failing backend denies; the chain stops here.
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
					t.Fatalf("deviation %v: backend %s decided %v before any failing backend; the vector wants the failure to deny", c.DeviationKinds, s.Name, allowed)
				}
				if allowed != *want.Allowed || reason != want.Reason {
					t.Errorf("backend %s: Decide = %v, %q, want %v, %q", s.Name, allowed, reason, *want.Allowed, want.Reason)
				}
				return
			}
			t.Fatal("no backend decided")
		})
	}
}
