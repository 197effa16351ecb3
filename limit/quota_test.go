package limit_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/paritytest"
	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/limit/limittest"
)

type rateStep struct {
	T               json.Number       `json:"t"`
	ActionType      string            `json:"action_type"`
	Allowed         *bool             `json:"allowed"`
	ValidateRequest []json.RawMessage `json:"validate_request"`
	Comparable      bool              `json:"comparable"`
}

type rateCase struct {
	ID             string          `json:"id"`
	Quota          json.RawMessage `json:"quota"`
	CustomRule     *string         `json:"custom_rule"`
	AgentID        string          `json:"agent_id"`
	Steps          []rateStep      `json:"steps"`
	ExpectedStatus json.RawMessage `json:"expected_final_status"`
	Deviation      string          `json:"deviation"`
	DeviationKinds []string        `json:"deviation_kinds"`
	Quirk          string          `json:"quirk"`
}

// validateRequest is the reference's validate_request pipeline as the kernel
// runs it in Go: the quota is checked (not charged), then the custom rule
// decides, and only an admitted request is charged (Acquire).
func validateRequest(qs *limit.Quotas, agent, action string, customRule *string) (bool, string) {
	if err := qs.Check(agent, action); err != nil {
		return false, "rate_limit_exceeded"
	}
	if customRule != nil && *customRule == "deny_file_read" && action == "file_read" {
		return false, "policy_violation: deny_file_read"
	}
	release, err := qs.Acquire(agent, action)
	if err != nil {
		return false, "rate_limit_exceeded"
	}
	release()
	return true, ""
}

// TestParityRateLimit runs the control-plane rate_limit vectors. Steps
// marked comparable must match the reference; the others fall under the
// rate-limit-token-bucket deviation (fixed windows replaced by token
// buckets) and are skipped with that reason. The quota-charged-on-deny
// deviation asserts its property: denied requests are never charged.
func TestParityRateLimit(t *testing.T) {
	t.Parallel()
	var file struct {
		RateLimit []rateCase `json:"rate_limit"`
	}
	paritytest.Load(t, "control-plane-policy.json", &file)
	if len(file.RateLimit) == 0 {
		t.Fatal("no rate_limit vectors loaded")
	}
	for _, c := range file.RateLimit {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			clk := limittest.NewClock(limittest.Epoch())
			qs := limit.NewQuotas(limit.QuotaOptions{Clock: clk})
			hasQuota := string(c.Quota) != "null"
			if hasQuota {
				cfg := limit.DefaultQuota()
				if err := json.Unmarshal(c.Quota, &cfg); err != nil {
					t.Fatalf("decode quota: %v", err)
				}
				if err := qs.Set(c.AgentID, cfg); err != nil {
					t.Fatal(err)
				}
			}
			chargedOnDeny := slices.Contains(c.DeviationKinds, "quota-charged-on-deny")
			tokenBucket := slices.Contains(c.DeviationKinds, "rate-limit-token-bucket")
			for i, s := range c.Steps {
				secs, err := s.T.Float64()
				if err != nil {
					t.Fatal(err)
				}
				clk.Set(limittest.Epoch().Add(time.Duration(math.Round(secs * 1e9))))
				ok, reason := validateRequest(qs, c.AgentID, s.ActionType, c.CustomRule)
				t.Run(fmt.Sprintf("step%02d_t%s_%s", i, s.T, s.ActionType), func(t *testing.T) {
					if !s.Comparable {
						t.Skip("deviation rate-limit-token-bucket: step after the first instant is not comparable")
					}
					if s.Allowed != nil {
						if ok != *s.Allowed {
							t.Fatalf("allowed = %v (%s), want %v", ok, reason, *s.Allowed)
						}
						return
					}
					var wantOK bool
					var wantReason string
					if err := json.Unmarshal(s.ValidateRequest[0], &wantOK); err != nil {
						t.Fatal(err)
					}
					if err := json.Unmarshal(s.ValidateRequest[1], &wantReason); err != nil {
						t.Fatal(err)
					}
					if chargedOnDeny {
						// Go charges admitted requests only: the custom rule
						// keeps denying and the quota is never exhausted.
						if ok || reason != "policy_violation: deny_file_read" {
							t.Fatalf("validate_request = %v, %q; want false, policy_violation: deny_file_read (quota-charged-on-deny)", ok, reason)
						}
						return
					}
					if ok != wantOK || reason != wantReason {
						t.Fatalf("validate_request = %v, %q; want %v, %q", ok, reason, wantOK, wantReason)
					}
				})
			}
			t.Run("final_status", func(t *testing.T) {
				st, err := qs.Status(c.AgentID)
				if !hasQuota {
					var want struct{ Error string }
					if err := json.Unmarshal(c.ExpectedStatus, &want); err != nil {
						t.Fatal(err)
					}
					if want.Error != "No quota set for agent" || !errors.Is(err, limit.ErrNoQuota) {
						t.Fatalf("Status = %+v, %v; want ErrNoQuota (reference %q)", st, err, want.Error)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if tokenBucket {
					t.Skip("deviation rate-limit-token-bucket: counters after later steps are not comparable")
				}
				var want limit.QuotaStatus
				if err := json.Unmarshal(c.ExpectedStatus, &want); err != nil {
					t.Fatal(err)
				}
				if chargedOnDeny {
					want.RequestsThisMinute, want.RequestsThisHour = 0, 0
				}
				if st != want {
					t.Fatalf("Status = %+v, want %+v", st, want)
				}
			})
		})
	}
}

// Control-plane vector 49, in token-bucket terms: quota 2/min, 3/hour,
// allowed [file_read].
func TestQuotaReferenceVector49(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	q, err := limit.NewQuota("a1", limit.QuotaConfig{RequestsPerMinute: 2, RequestsPerHour: 3, MaxConcurrent: 5, AllowedActions: []string{"file_read"}}, clk)
	if err != nil {
		t.Fatal(err)
	}
	admit := func(action string) error {
		release, err := q.Acquire(action)
		release()
		return err
	}
	for i, want := range []bool{true, true, false} {
		if err := admit("file_read"); (err == nil) != want {
			t.Fatalf("call %d: %v, want admitted=%v", i, err, want)
		}
	}
	err = admit("file_read")
	var qe *limit.QuotaError
	if !errors.As(err, &qe) || !errors.Is(err, limit.ErrQuotaExceeded) || qe.RetryAfter != 30*time.Second {
		t.Fatalf("third call: %v; want *QuotaError retry 30s", err)
	}
	if got, want := err.Error(), `quota for agent "a1": requests per minute limit 2 reached; retry in 30s`; got != want {
		t.Fatalf("error = %q, want %q", got, want)
	}
	clk.Advance(time.Minute)
	if err := admit("file_read"); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	clk.Advance(time.Minute)
	err = admit("file_read")
	if got, want := errorString(err), `quota for agent "a1": requests per hour limit 3 reached; retry in 18m0s`; got != want {
		t.Fatalf("hour cap: %q, want %q", got, want)
	}
	clk.Advance(time.Hour)
	if got, want := errorString(admit("file_write")), `quota for agent "a1": action type "file_write" not allowed`; got != want {
		t.Fatalf("file_write: %q, want %q", got, want)
	}
}

// Deviation from the reference (whose current_executions was never
// incremented): the concurrency counter is real.
func TestQuotaConcurrencyIsReal(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	cfg := limit.DefaultQuota()
	cfg.MaxConcurrent = 2
	q, err := limit.NewQuota("a1", cfg, clk)
	if err != nil {
		t.Fatal(err)
	}
	r1, err1 := q.Acquire("x")
	r2, err2 := q.Acquire("x")
	_, err3 := q.Acquire("x")
	if err1 != nil || err2 != nil || !errors.Is(err3, limit.ErrQuotaExceeded) {
		t.Fatalf("Acquire×3 = %v, %v, %v; want nil, nil, ErrQuotaExceeded", err1, err2, err3)
	}
	if got := errorString(err3); got != `quota for agent "a1": max concurrent executions 2 reached` {
		t.Fatalf("error = %q", got)
	}
	if st := q.Status(); st.CurrentExecutions != 2 || st.RequestsThisMinute != 2 {
		t.Fatalf("Status = %+v, want 2 executions and 2 requests (the refused one not charged)", st)
	}
	r1()
	r1() // idempotent
	if st := q.Status(); st.CurrentExecutions != 1 {
		t.Fatalf("after release: %d executions, want 1", st.CurrentExecutions)
	}
	r2()
	// Concurrent acquire/release never goes negative or above the cap.
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := 0
	for range 8 {
		wg.Go(func() {
			for range 50 {
				rel, err := q.Acquire("x")
				if err == nil {
					st := q.Status()
					mu.Lock()
					peak = max(peak, st.CurrentExecutions)
					mu.Unlock()
					rel()
				}
			}
		})
	}
	wg.Wait()
	if st := q.Status(); st.CurrentExecutions != 0 || peak > 2 {
		t.Fatalf("after concurrent use: %d executions (peak %d), want 0 and peak ≤ 2", st.CurrentExecutions, peak)
	}
}

func TestQuotaZeroValueAdmitsNothing(t *testing.T) {
	t.Parallel()
	q, err := limit.NewQuota("a1", limit.QuotaConfig{}, limittest.NewClock(limittest.Epoch()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Acquire("x"); !errors.Is(err, limit.ErrQuotaExceeded) {
		t.Fatalf("zero QuotaConfig admitted: %v", err)
	}
	for _, cfg := range []limit.QuotaConfig{{RequestsPerMinute: -1}, {RequestsPerHour: -1}, {MaxConcurrent: -1}} {
		if _, err := limit.NewQuota("a1", cfg, nil); !errors.Is(err, limit.ErrInvalidConfig) {
			t.Errorf("NewQuota(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
	qs := limit.NewQuotas(limit.QuotaOptions{MaxAgents: 1})
	if err := qs.Set("a", limit.DefaultQuota()); err != nil {
		t.Fatal(err)
	}
	if err := qs.Set("b", limit.DefaultQuota()); !errors.Is(err, limit.ErrInvalidConfig) {
		t.Fatalf("Set beyond MaxAgents = %v, want an error", err)
	}
	qs.Remove("a")
	if _, err := qs.Status("a"); !errors.Is(err, limit.ErrNoQuota) {
		t.Fatalf("Status after Remove = %v, want ErrNoQuota", err)
	}
}
