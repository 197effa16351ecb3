package rbac

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
)

// Vectors of control-plane-policy.json used here. The rate_limit section
// belongs to package limit and is not decoded.
type cpVectors struct {
	CheckViolation []cvCase     `json:"check_violation"`
	Conditions     []condCase   `json:"conditions"`
	Freeze         []freezeCase `json:"freeze"`
	Risk           []riskCase   `json:"risk"`
	FallbackSQL    []sqlCase    `json:"fallback_sql"`
	DeviationKinds map[string]string
}

type caseMeta struct {
	ID             string   `json:"id"`
	Deviation      string   `json:"deviation"`
	DeviationKinds []string `json:"deviation_kinds"`
	GoExpected     any      `json:"go_expected"`
	Quirk          string   `json:"quirk"`
}

type cvCase struct {
	caseMeta
	Setup    []map[string]any `json:"setup"`
	Role     string           `json:"role"`
	Tool     string           `json:"tool"`
	Args     map[string]any   `json:"args"`
	Expected map[string]any   `json:"expected"`
}

type condCase struct {
	caseMeta
	Condition  map[string]any `json:"condition"`
	Permission map[string]any `json:"permission"`
	Context    map[string]any `json:"context"`
	Expected   map[string]any `json:"expected"`
}

type freezeCase struct {
	caseMeta
	Setup    []map[string]any `json:"setup"`
	Expected struct {
		SetupResults []*string       `json:"setup_results"`
		IsFrozen     bool            `json:"is_frozen"`
		MutationLog  json.RawMessage `json:"mutation_log"`
		ChecksAfter  []struct {
			Role      string  `json:"role"`
			Tool      string  `json:"tool"`
			Violation *string `json:"violation"`
		} `json:"checks_after"`
	} `json:"expected"`
}

type riskCase struct {
	caseMeta
	RiskPolicies []map[string]any `json:"risk_policies"`
	Parameters   map[string]any   `json:"parameters"`
	RiskScore    json.Number      `json:"risk_score"`
	Expected     bool             `json:"expected"`
}

type sqlCase struct {
	caseMeta
	Config   map[string]any `json:"config"`
	Query    string         `json:"query"`
	Expected map[string]any `json:"expected"`
}

func loadVectors(t *testing.T) *cpVectors {
	t.Helper()
	var v struct {
		cpVectors
		DeviationKinds map[string]string `json:"deviation_kinds"`
	}
	paritytest.Load(t, "control-plane-policy.json", &v)
	v.cpVectors.DeviationKinds = v.DeviationKinds
	return &v.cpVectors
}

// goMap returns go_expected when it is an object, else nil.
func (m caseMeta) goMap() map[string]any {
	g, _ := m.GoExpected.(map[string]any)
	return g
}

// group names the subtest a case runs under, so that every deviation kind
// is a visible, named subtest.
func (m caseMeta) group() string {
	switch {
	case len(m.DeviationKinds) > 0:
		return "deviation=" + strings.Join(m.DeviationKinds, "+")
	case m.Quirk != "":
		return "quirk"
	}
	return "reference"
}

// tally counts passes per section and reports them at the end.
type tally struct {
	section      string
	passed, skip int
}

func (c *tally) report(t *testing.T) {
	t.Helper()
	t.Logf("parity %s: %d passed, %d skipped", c.section, c.passed, c.skip)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strList(t *testing.T, v any) []string {
	t.Helper()
	raw, ok := v.([]any)
	if !ok && v != nil {
		t.Fatalf("expected a list, got %T", v)
	}
	out := make([]string, len(raw))
	for i, e := range raw {
		out[i] = str(e)
	}
	return out
}

func permissionFrom(t *testing.T, m map[string]any) Permission {
	t.Helper()
	p := Permission{ToolName: str(m["tool_name"])}
	if ra, ok := m["require_all"]; ok && ra == false {
		p.Any = true
	}
	for _, c := range m["conditions"].([]any) {
		cm := c.(map[string]any)
		p.Conditions = append(p.Conditions, Condition{
			AttributePath: str(cm["attribute_path"]),
			Operator:      Operator(str(cm["operator"])),
			Value:         cm["value"],
		})
	}
	return p
}

// applyOp runs one setup op of the vectors against b and returns the
// outcome in the reference's "ExcType: message" form ("" on success).
func applyOp(t *testing.T, b *Builder, op map[string]any) string {
	t.Helper()
	role := str(op["role"])
	var err error
	switch op["op"] {
	case "add_constraint":
		err = b.AddConstraint(role, strList(t, op["tools"]))
	case "add_conditional_permission":
		err = b.AddConditionalPermission(role, permissionFrom(t, op["permission"].(map[string]any)))
	case "set_agent_context":
		err = b.SetAgentContext(role, op["context"].(map[string]any))
	case "update_agent_context":
		err = b.UpdateAgentContext(role, op["updates"].(map[string]any))
	case "freeze":
		b.Freeze()
	case "direct_write_state_permissions":
		// The reference writes into its dict (a TypeError once frozen). In Go
		// the state lives in the builder; writing it directly, as in-process
		// code could, must never reach a frozen snapshot (checked by the
		// checks_after of the freeze vectors).
		b.mu.Lock()
		set := map[string]struct{}{}
		for _, tool := range strList(t, op["tools"]) {
			set[tool] = struct{}{}
		}
		b.allow[role] = set
		b.mu.Unlock()
	case "direct_write_agent_context":
		b.mu.Lock()
		if b.contexts[role] == nil {
			b.contexts[role] = map[string]any{}
		}
		b.contexts[role][str(op["key"])] = op["value"]
		b.mu.Unlock()
	default:
		t.Fatalf("unknown setup op %v", op["op"])
	}
	var fe *FrozenError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &fe):
		if !errors.Is(err, ErrFrozen) {
			t.Errorf("FrozenError does not match ErrFrozen")
		}
		return "RuntimeError: " + err.Error()
	}
	return "Error: " + err.Error()
}

// Relative-path vectors carry a quirk: the reference resolves them against
// its working directory. Go resolves them against the base directory
// (default "/"), and matches Windows protected paths case-insensitively.
// These are our results with the default options.
var relativePathGo = map[string]*string{
	`c:\windows\system32\x`:     ptr(`Path Violation: Cannot access protected directory C:\Windows\System32`),
	"etc/passwd":                ptr("Path Violation: Cannot access protected directory /etc/"),
	"../../../../../etc/passwd": ptr("Path Violation: Cannot access protected directory /etc/"),
	"./data":                    nil,
}

// Cases where the reference raises out of check_violation with no
// deviation recorded: Go fails closed with a violation.
var raisesGo = map[string]string{
	"path/non-string-path":        msgPathInvalid,
	"path/null-path":              msgPathInvalid,
	"code/execute_code/null-code": msgCodeType,
}

// vectorGaps are cases whose reference result the vectors do not mark as a
// deviation although a listed deviation kind applies to them. Each entry
// names the kind and Go's result.
var vectorGaps = map[string]struct {
	kinds     string
	violation *string
}{
	// file_read/file_write are path-checked (path-tools) and "//etc" is /etc
	// (double-slash); the vectors mark only the first kind on other paths.
	"path/file_read/16":  {"path-tools+double-slash", ptr("Path Violation: Cannot access protected directory /etc/")},
	"path/file_write/16": {"path-tools+double-slash", ptr("Path Violation: Cannot access protected directory /etc/")},
	// amount=true: a boolean never orders against a number, so "lt 1000" /
	// "lte 500" is false (the reference has True < 1000).
	"abac/refund-lt-1000/7":         {"bool-number", ptr(abacDenied)},
	"abac/verified-and/7":           {"bool-number", ptr(abacDenied)},
	"abac/verified-or-unverified/7": {"bool-number", ptr(abacDenied)},
	"abac/verified-frozen/7":        {"bool-number", ptr(abacDenied)},
	"abac/spoof-args/7":             {"bool-number", ptr(abacDenied)},
	"abac/perm-after-constraint/7":  {"bool-number", ptr(abacDenied)},
	"abac/update-context/7":         {"bool-number", ptr(abacDenied)},
}

const abacDenied = "Conditional permission denied for refund_user: Conditions not met"

func ptr(s string) *string { return &s }

func isPathTool(tool string) bool {
	switch tool {
	case toolReadFile, toolWriteFile, toolDeleteFile, toolFileRead, toolFileWrite:
		return true
	}
	return false
}

func TestParityCheckViolation(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	tl := &tally{section: "check_violation"}
	defer tl.report(t)
	for _, c := range v.CheckViolation {
		group := c.group()
		if g, ok := vectorGaps[c.ID]; ok {
			group = "vector-gap=" + g.kinds
		}
		t.Run(group+"/"+c.ID, func(t *testing.T) {
			b := NewBuilder(Options{})
			for i, op := range c.Setup {
				if got := applyOp(t, b, op); got != "" {
					t.Fatalf("setup[%d] %v: %s", i, op["op"], got)
				}
			}
			snap := b.Build()
			got := snap.Check(c.Role, c.Tool, c.Args)
			if got.Allowed != (got.Reason == "") || got.Allowed != (got.Stage == StageNone) {
				t.Fatalf("inconsistent decision %+v", got)
			}
			var want *string
			switch {
			case c.goMap() != nil:
				if s, ok := c.goMap()["violation"].(string); ok {
					want = &s
				}
			case vectorGaps[c.ID].kinds != "":
				want = vectorGaps[c.ID].violation
			case c.Expected["raises"] != nil:
				m, ok := raisesGo[c.ID]
				if !ok {
					t.Fatalf("reference raises %v; no Go expectation recorded", c.Expected["raises"])
				}
				want = &m
			case c.Quirk != "":
				p, _ := c.Args["path"].(string)
				w, ok := relativePathGo[p]
				if !ok {
					t.Fatalf("quirk case with unknown path %q", p)
				}
				if isPathTool(c.Tool) {
					want = w
				}
			default:
				if s, ok := c.Expected["violation"].(string); ok {
					want = &s
				}
			}
			if want == nil && !got.Allowed {
				t.Fatalf("Check(%q, %q, %v) = %q, want allowed", c.Role, c.Tool, c.Args, got.Reason)
			}
			if want != nil && got.Reason != *want {
				t.Fatalf("Check(%q, %q, %v) = %q, want %q", c.Role, c.Tool, c.Args, got.Reason, *want)
			}
			tl.passed++
		})
	}
}

func TestParityConditions(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	tl := &tally{section: "conditions"}
	defer tl.report(t)
	for _, c := range v.Conditions {
		t.Run(c.group()+"/"+c.ID, func(t *testing.T) {
			exp := c.Expected
			if c.goMap() != nil {
				exp = c.goMap()
			}
			want, ok := exp["result"].(bool)
			if !ok {
				t.Fatalf("no boolean result to assert: expected %v go_expected %v", c.Expected, c.GoExpected)
			}
			if c.Permission != nil {
				p := permissionFrom(t, c.Permission)
				got, errs := p.Allowed(c.Context)
				if got != want {
					t.Fatalf("Permission.Allowed(%v) = %v, want %v", c.Context, got, want)
				}
				if c.Expected["raises"] != nil && len(errs) == 0 {
					t.Fatalf("reference raises %v; Go reported no evaluation error", c.Expected["raises"])
				}
				tl.passed++
				return
			}
			cond := Condition{
				AttributePath: str(c.Condition["attribute_path"]),
				Operator:      Operator(str(c.Condition["operator"])),
				Value:         c.Condition["value"],
			}
			got, err := cond.Evaluate(c.Context)
			if got != want {
				t.Fatalf("%+v.Evaluate(%v) = %v (err %v), want %v", cond, c.Context, got, err, want)
			}
			if c.Expected["raises"] != nil && !errors.Is(err, ErrTypeMismatch) {
				t.Fatalf("reference raises %v; Go error = %v, want ErrTypeMismatch", c.Expected["raises"], err)
			}
			if !cond.Operator.Known() && !errors.Is(err, ErrUnknownOperator) {
				t.Fatalf("unknown operator %q: error = %v, want ErrUnknownOperator", cond.Operator, err)
			}
			if got && err != nil {
				t.Fatalf("true result with error %v", err)
			}
			tl.passed++
		})
	}
}

func TestParityFreeze(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	tl := &tally{section: "freeze"}
	defer tl.report(t)
	for _, c := range v.Freeze {
		t.Run(c.ID, func(t *testing.T) {
			b := NewBuilder(Options{})
			var frozenBefore *Snapshot
			for i, op := range c.Setup {
				got := applyOp(t, b, op)
				want := c.Expected.SetupResults[i]
				direct := strings.HasPrefix(str(op["op"]), "direct_write")
				switch {
				case want == nil && got != "":
					t.Fatalf("setup[%d] %v = %q, want success", i, op["op"], got)
				case want != nil && direct:
					// Frozen direct writes: Go has no shared mutable state to
					// write into; asserted through checks_after below.
					if !b.Frozen() {
						t.Fatalf("setup[%d]: reference refused a direct write on an unfrozen engine", i)
					}
				case want != nil && got != *want:
					t.Fatalf("setup[%d] %v = %q, want %q", i, op["op"], got, *want)
				}
				if op["op"] == "freeze" && frozenBefore == nil {
					frozenBefore = b.Build()
				}
			}
			if b.Frozen() != c.Expected.IsFrozen {
				t.Fatalf("Frozen() = %v, want %v", b.Frozen(), c.Expected.IsFrozen)
			}
			if frozenBefore != nil && b.Build() != frozenBefore {
				t.Fatalf("frozen builder returned a different snapshot")
			}
			// Mutation log, without timestamps.
			var gotLog []map[string]any
			for _, e := range b.MutationLog() {
				if e.Time.IsZero() {
					t.Fatalf("log entry %q has no time", e.Operation)
				}
				m := map[string]any{"operation": e.Operation, "blocked": e.Blocked}
				if !e.Blocked {
					m["details"] = e.Details
				}
				gotLog = append(gotLog, m)
			}
			gotJSON, _ := json.Marshal(gotLog)
			var wantLog any
			if err := json.Unmarshal(c.Expected.MutationLog, &wantLog); err != nil {
				t.Fatal(err)
			}
			wantJSON, _ := json.Marshal(wantLog)
			if string(gotJSON) != string(wantJSON) {
				t.Fatalf("mutation log\n got %s\nwant %s", gotJSON, wantJSON)
			}
			snap := b.Build()
			for _, ch := range c.Expected.ChecksAfter {
				got, violated := snap.CheckViolation(ch.Role, ch.Tool, map[string]any{})
				switch {
				case ch.Violation == nil && violated:
					t.Errorf("after setup: Check(%q, %q) = %q, want allowed", ch.Role, ch.Tool, got)
				case ch.Violation != nil && got != *ch.Violation:
					t.Errorf("after setup: Check(%q, %q) = %q, want %q", ch.Role, ch.Tool, got, *ch.Violation)
				}
			}
			tl.passed++
		})
	}
}

func riskPolicyFrom(t *testing.T, m map[string]any) RiskPolicy {
	t.Helper()
	p := RiskPolicy{}
	for k, val := range m {
		switch k {
		case "deny_above":
			f, err := val.(json.Number).Float64()
			if err != nil {
				t.Fatal(err)
			}
			p.DenyAbove = f
		case "high_risk_patterns":
			p.HighRiskPatterns = strList(t, val)
		case "allowed_domains":
			p.AllowedDomains = strList(t, val)
		case "blocked_domains":
			p.BlockedDomains = strList(t, val)
		default:
			t.Fatalf("unknown RiskPolicy field %q", k)
		}
	}
	return p
}

func TestParityRisk(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	tl := &tally{section: "risk"}
	defer tl.report(t)
	for _, c := range v.Risk {
		t.Run(c.group()+"/"+c.ID, func(t *testing.T) {
			b := NewBuilder(Options{})
			for i, m := range c.RiskPolicies {
				if err := b.SetRiskPolicy(fmt.Sprintf("p%d", i), riskPolicyFrom(t, m)); err != nil {
					t.Fatal(err)
				}
			}
			score, err := c.RiskScore.Float64()
			if err != nil {
				t.Fatal(err)
			}
			want := c.Expected
			if c.GoExpected != nil {
				g, ok := c.GoExpected.(bool)
				if !ok {
					t.Fatalf("go_expected is %T, want bool", c.GoExpected)
				}
				want = g
			}
			got := b.Freeze().ValidateRisk(c.Parameters, score)
			if got.Allowed != want {
				t.Fatalf("ValidateRisk(%v, %v) = %+v, want allowed=%v", c.Parameters, score, got, want)
			}
			tl.passed++
		})
	}
}

func sqlConfigFrom(t *testing.T, m map[string]any) SQLPolicyConfig {
	t.Helper()
	cfg := DefaultSQLPolicyConfig()
	for k, val := range m {
		switch k {
		case "blocked_statements":
			cfg.BlockedStatements = strList(t, val)
		case "require_where_clause":
			cfg.RequireWhereClause = strList(t, val)
		case "blocked_create_types":
			cfg.BlockedCreateTypes = strList(t, val)
		case "blocked_patterns":
			cfg.BlockedPatterns = strList(t, val)
		case "disclaimer":
			cfg.Disclaimer = str(val)
		default:
			t.Fatalf("unknown SQLPolicyConfig field %q", k)
		}
	}
	return cfg
}

func TestParityFallbackSQL(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	tl := &tally{section: "fallback_sql"}
	defer tl.report(t)
	for _, c := range v.FallbackSQL {
		t.Run(c.group()+"/"+c.ID, func(t *testing.T) {
			cfg := DefaultSQLPolicyConfig()
			if c.Config != nil {
				cfg = sqlConfigFrom(t, c.Config)
			}
			chk, err := NewSQLChecker(cfg)
			if err != nil {
				t.Fatal(err)
			}
			exp := c.Expected
			if c.goMap() != nil {
				exp = c.goMap()
			}
			want, ok := exp["allowed"].(bool)
			if !ok {
				t.Fatalf("no allowed result to assert: %v", exp)
			}
			if got := chk.Allowed(c.Query); got != want {
				t.Fatalf("Allowed(%q) = %v, want %v", c.Query, got, want)
			}
			if got := FallbackSQLCheck(c.Query, cfg); got != want {
				t.Fatalf("FallbackSQLCheck(%q) = %v, want %v", c.Query, got, want)
			}
			tl.passed++
		})
	}
}

// TestParityDeviationKinds checks that every deviation kind this package
// owns occurs in the vectors (so none goes untested) and that the vectors
// name no kind we do not know.
func TestParityDeviationKinds(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	owned := []string{"abac-reserved", "frozen-context", "typed-compare", "bool-number", "ordering-types",
		"path-tools", "path-components", "double-slash", "code-and-command", "domain-host-match"}
	limitKinds := []string{"quota-charged-on-deny", "rate-limit-token-bucket"}
	seen := map[string]int{}
	count := func(m caseMeta) {
		for _, k := range m.DeviationKinds {
			seen[k]++
		}
	}
	for _, c := range v.CheckViolation {
		count(c.caseMeta)
	}
	for _, c := range v.Conditions {
		count(c.caseMeta)
	}
	for _, c := range v.Risk {
		count(c.caseMeta)
	}
	for _, c := range v.FallbackSQL {
		count(c.caseMeta)
	}
	for _, k := range owned {
		t.Run(k, func(t *testing.T) {
			if _, ok := v.DeviationKinds[k]; !ok {
				t.Fatalf("deviation kind %q is not declared in the vectors", k)
			}
			if seen[k] == 0 {
				t.Fatalf("no case exercises deviation kind %q", k)
			}
			t.Logf("%s: %d cases", k, seen[k])
		})
	}
	var declared []string
	for k := range v.DeviationKinds {
		declared = append(declared, k)
	}
	all := append(append([]string{}, owned...), limitKinds...)
	for _, k := range declared {
		if !reflect.ValueOf(all).IsValid() || !contains(all, k) {
			t.Errorf("vectors declare deviation kind %q that no package claims", k)
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
