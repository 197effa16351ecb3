package policy

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
)

func TestParityConflictResolution(t *testing.T) {
	t.Parallel()
	type result struct {
		WinnerIndex         *int     `json:"winner_index"`
		WinnerRule          string   `json:"winner_rule"`
		WinnerAction        string   `json:"winner_action"`
		ConflictDetected    bool     `json:"conflict_detected"`
		CandidatesEvaluated int      `json:"candidates_evaluated"`
		StrategyUsed        string   `json:"strategy_used"`
		Trace               []string `json:"trace"`
		Error               string   `json:"error"`
	}
	var file struct {
		Strategies []string `json:"strategies"`
		Cases      []struct {
			ID         string `json:"id"`
			Candidates []struct {
				Action     string      `json:"action"`
				Priority   json.Number `json:"priority"`
				Scope      string      `json:"scope"`
				PolicyName string      `json:"policy_name"`
				RuleName   string      `json:"rule_name"`
				Reason     string      `json:"reason"`
				Approvers  []string    `json:"approvers"`
			} `json:"candidates"`
			Results map[string]result `json:"results"`
			Quirk   string            `json:"quirk"`
		} `json:"cases"`
	}
	paritytest.Load(t, "conflict-resolution.json", &file)
	if len(file.Strategies) != 4 {
		t.Fatalf("strategies = %v, want 4", file.Strategies)
	}
	passed, total := 0, 0
	for _, c := range file.Cases {
		cands := make([]Candidate, len(c.Candidates))
		for i, x := range c.Candidates {
			var prio int64
			if x.Priority != "" {
				var err error
				if prio, err = x.Priority.Int64(); err != nil {
					t.Fatalf("%s: priority %v: %v", c.ID, x.Priority, err)
				}
			}
			cands[i] = Candidate{Action: x.Action, Priority: prio, Scope: Scope(x.Scope), PolicyName: x.PolicyName,
				RuleName: x.RuleName, Reason: x.Reason, Approvers: x.Approvers}
		}
		for _, strategy := range file.Strategies {
			want, ok := c.Results[strategy]
			if !ok {
				t.Fatalf("%s: no result for %s", c.ID, strategy)
			}
			total++
			if t.Run(c.ID+"/"+strategy, func(t *testing.T) {
				got, err := Resolve(Strategy(strategy), cands)
				if want.Error != "" {
					if !errors.Is(err, ErrNoCandidates) || err.Error() != want.Error {
						t.Fatalf("Resolve error = %v, want %q", err, want.Error)
					}
					return
				}
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				if want.WinnerIndex == nil || got.WinnerIndex != *want.WinnerIndex {
					t.Errorf("WinnerIndex = %d, want %v", got.WinnerIndex, *want.WinnerIndex)
				}
				if got.Winner.RuleName != want.WinnerRule || got.Winner.Action != want.WinnerAction {
					t.Errorf("Winner = %q/%q, want %q/%q", got.Winner.RuleName, got.Winner.Action, want.WinnerRule, want.WinnerAction)
				}
				if got.ConflictDetected != want.ConflictDetected {
					t.Errorf("ConflictDetected = %v, want %v", got.ConflictDetected, want.ConflictDetected)
				}
				if got.CandidatesEvaluated != want.CandidatesEvaluated {
					t.Errorf("CandidatesEvaluated = %d, want %d", got.CandidatesEvaluated, want.CandidatesEvaluated)
				}
				if string(got.Strategy) != want.StrategyUsed {
					t.Errorf("Strategy = %q, want %q", got.Strategy, want.StrategyUsed)
				}
				if !slices.Equal(got.Trace, want.Trace) {
					t.Errorf("Trace = %q\nwant    %q", got.Trace, want.Trace)
				}
			}) {
				passed++
			}
		}
	}
	t.Logf("conflict-resolution: %d of %d resolutions passed (%d sets x 4 strategies)", passed, total, len(file.Cases))
}
