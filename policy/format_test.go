package policy

import (
	"bytes"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFormatCanonical(t *testing.T) {
	t.Parallel()
	src := `rules:
  - action: deny
    name: r1
    priority: 10
    message: "no"
    condition: {value: [yes, "yes", 1:30, 1.5, 1e3, .inf, ~, {b: 1, a: "2024-01-02"}], operator: in, field: f}
  - {name: r2, action: rate_limit, limit: 5/minute}
name: demo
defaults: {confidence_threshold: 0.5, action: deny}
version: "1.0"
`
	docs, err := Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var buf bytes.Buffer
	if err := Format(&buf, docs); err != nil {
		t.Fatalf("Format: %v", err)
	}
	want := `version: "1.0"
name: demo
defaults:
  action: deny
  confidence_threshold: 0.5
rules:
  - name: r1
    priority: 10
    condition:
      field: f
      operator: in
      value: [true, "yes", 90, 1.5, "1e3", .inf, null, {a: "2024-01-02", b: 1}]
    action: deny
    message: "no"
  - name: r2
    action: rate_limit
    limit: 5/minute
`
	if got := buf.String(); got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	// Formatting is idempotent.
	again, err := Parse("c2.yaml", buf.Bytes())
	if err != nil {
		t.Fatalf("Parse(Format): %v", err)
	}
	var buf2 bytes.Buffer
	if err := Format(&buf2, again); err != nil {
		t.Fatal(err)
	}
	if buf2.String() != buf.String() {
		t.Errorf("Format is not idempotent:\n%s\nvs\n%s", buf2.String(), buf.String())
	}
}

// TestFormatRoundTrip: Parse(Format(d)) == d for documents built in Go
// with every field and every value type.
func TestFormatRoundTrip(t *testing.T) {
	t.Parallel()
	b, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	docs := []*Document{
		{
			Version: "1.0", Name: "all", Description: "multi\nline: text", Strategy: StrategyMostSpecificWins,
			Defaults: Defaults{Action: ActionBlock, MaxTokens: 1, MaxToolCalls: 0, ConfidenceThreshold: 0},
			Policies: []string{"no_pii", "strict"},
			Rules: []Rule{{
				Name: "yes", Priority: math.MinInt64,
				Condition: &Condition{Field: "on", Operator: OpMatches, Value: "1:30"},
				Conditions: []Condition{
					{Field: "a", Operator: OpEq, Value: []any{nil, true, int64(-1), b, 1e16, math.Copysign(0, -1), math.Inf(-1), 1e-7, "", "~", "<<", "=", "null", "0x1F", "2024-01-02", " lead", "tab\there", "it's \"q\""}},
					{Field: "m", Operator: OpIn, Value: map[string]any{"yes": map[string]any{}, "": []any{}, "1": "x"}},
				},
				Match:  &Match{Tools: []string{"*", "a/b*"}, Agents: []string{"no"}, Syscalls: []string{"file_read"}},
				When:   `args.x == "y" && true`,
				Action: ActionRequireApproval, Message: "#not a comment", OnViolation: "kill",
				Approvers: []string{"a", "b"}, Quorum: 2, Timeout: 90 * time.Second, Scope: ScopeTenant,
			}, {
				Name: "catch-all", Priority: math.MaxInt64, Action: ActionRateLimit, Limit: "1/s", Match: &Match{},
			}},
		},
		{Version: "", Name: "", Defaults: Defaults{MaxTokens: defaultMaxTokens, MaxToolCalls: defaultMaxToolCalls, ConfidenceThreshold: defaultConfidenceThreshold}},
	}
	var buf bytes.Buffer
	if err := Format(&buf, docs); err != nil {
		t.Fatalf("Format: %v", err)
	}
	got, err := Parse("rt.yaml", buf.Bytes())
	if err != nil {
		t.Fatalf("Parse(Format(docs)): %v\n%s", err, buf.String())
	}
	if d := docsDifference(got, docs); d != "" {
		t.Errorf("round trip differs: %s\n%s", d, buf.String())
	}
}

func TestFormatErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		docs []*Document
		want string
	}{
		{"nil document", []*Document{nil}, "document is nil"},
		{"bad utf-8", []*Document{{Name: "\xff"}}, "not valid UTF-8"},
		{"unsupported value", []*Document{{Rules: []Rule{{Name: "r", Action: ActionDeny, Condition: &Condition{Value: struct{}{}}}}}}, "cannot be written"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := Format(&buf, tt.docs); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Format error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestFormatExamples: the shipped policies survive fmt unchanged in meaning.
func TestFormatExamples(t *testing.T) {
	t.Parallel()
	paths, _ := filepath.Glob(filepath.Join("..", "examples", "policies", "*.yaml"))
	paths = append(paths, "default.yaml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := Parse(p, data)
		if err != nil {
			t.Fatalf("Parse(%s): %v", p, err)
		}
		var buf bytes.Buffer
		if err := Format(&buf, docs); err != nil {
			t.Fatalf("Format(%s): %v", p, err)
		}
		again, err := Parse(p, buf.Bytes())
		if err != nil {
			t.Fatalf("Parse(Format(%s)): %v", p, err)
		}
		if d := docsDifference(again, docs); d != "" {
			t.Errorf("%s: round trip differs: %s", p, d)
		}
	}
}
