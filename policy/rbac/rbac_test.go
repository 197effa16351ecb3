package rbac

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/policy"
)

func allTools() []string {
	return []string{"read_file", "write_file", "delete_file", "file_read", "file_write", "execute_code",
		"run_command", "database_query", "database_write", "api_call", "search", "refund_user"}
}

func TestRelativePathBaseDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, base, path, want string
	}{
		{"default base resolves under root", "", "etc/passwd", "Path Violation: Cannot access protected directory /etc/"},
		{"default base dot", "", "./data", ""},
		{"default base climbs to root", "", "../../../../../etc/passwd", "Path Violation: Cannot access protected directory /etc/"},
		{"reference-like base keeps relative path inside", "/home/gen/work", "etc/passwd", ""},
		{"reference-like base climbs out", "/home/gen/work", "../../../../../etc/passwd", "Path Violation: Cannot access protected directory /etc/"},
		{"base under protected dir", "/proc/1", "x", "Path Violation: Cannot access protected directory /proc/"},
		{"empty path is the base", "/home/gen", "", ""},
		{"windows path case-folded", "", `c:\windows\system32\x`, `Path Violation: Cannot access protected directory C:\Windows\System32`},
		{"windows forward slashes", "", `C:/Windows/System32/drivers`, `Path Violation: Cannot access protected directory C:\Windows\System32`},
		{"windows sibling", "", `C:\Windows\System32x\y`, ""},
		{"tab rejected", "", "/data/a\tb", msgPathControl},
		{"C1 control rejected", "", "/data/a\u0085b", msgPathControl},
		{"invalid utf-8", "", "/data/\xff", msgPathInvalid},
		{"raw prefix blocks dot-dot escape", "", "/etc/../tmp/x", "Path Violation: Cannot access protected directory /etc/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := NewBuilder(Options{})
			if err := b.AddConstraint("r", allTools()); err != nil {
				t.Fatal(err)
			}
			if tt.base != "" {
				if err := b.SetBaseDir(tt.base); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := b.Freeze().CheckViolation("r", "file_read", map[string]any{"path": tt.path})
			if got != tt.want {
				t.Errorf("CheckViolation(file_read %q) with base %q = %q, want %q", tt.path, tt.base, got, tt.want)
			}
		})
	}
}

func TestBuilderValidation(t *testing.T) {
	t.Parallel()
	b := NewBuilder(Options{})
	tests := []struct {
		name string
		err  error
	}{
		{"relative base", b.SetBaseDir("work")},
		{"relative protected path", b.SetProtectedPaths([]string{"etc/"})},
		{"bad code pattern", b.AddCodePattern(`(`)},
		{"unknown operator", b.AddConditionalPermission("r", Permission{ToolName: "t", Conditions: []Condition{{AttributePath: "a", Operator: "matches", Value: "x"}}})},
		{"unsupported value", b.AddConditionalPermission("r", Permission{ToolName: "t", Conditions: []Condition{{AttributePath: "a", Operator: OpEq, Value: struct{}{}}}})},
		{"NaN deny_above", b.SetRiskPolicy("p", RiskPolicy{DenyAbove: math.NaN()})},
		{"domain with scheme", b.SetRiskPolicy("p", RiskPolicy{AllowedDomains: []string{"https://x.com"}})},
		{"bad sql pattern", b.SetSQLPolicy(&SQLPolicyConfig{BlockedPatterns: []string{`(?!x)`}})},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, ErrInvalidArgument) {
			t.Errorf("%s: error = %v, want ErrInvalidArgument", tt.name, tt.err)
		}
	}
	if log := b.MutationLog(); len(log) != 0 {
		t.Errorf("rejected mutations were logged: %+v", log)
	}
	if _, bad := b.Build().CheckViolation("r", "t", nil); !bad {
		t.Errorf("rejected permission granted its tool")
	}
}

func TestFreezeCoversGoMutators(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	b := NewBuilder(Options{Now: func() time.Time { return now }})
	if err := b.AddConstraint("r", []string{"read_file"}); err != nil {
		t.Fatal(err)
	}
	snap := b.Freeze()
	muts := map[string]error{
		"set_protected_paths": b.SetProtectedPaths(nil),
		"set_base_dir":        b.SetBaseDir("/x"),
		"add_code_pattern":    b.AddCodePattern("x"),
		"set_risk_policy":     b.SetRiskPolicy("p", RiskPolicy{}),
		"set_sql_policy":      b.SetSQLPolicy(nil),
	}
	for op, err := range muts {
		var fe *FrozenError
		if !errors.As(err, &fe) || fe.Op != op || !errors.Is(err, ErrFrozen) {
			t.Errorf("%s after freeze: error = %v, want FrozenError{%s}", op, err, op)
		}
	}
	log := b.MutationLog()
	if len(log) != 2+len(muts) {
		t.Fatalf("mutation log has %d entries, want %d", len(log), 2+len(muts))
	}
	for _, e := range log[2:] {
		if !e.Blocked || e.Details != nil || !e.Time.Equal(now) {
			t.Errorf("blocked entry %+v: want Blocked, no details, injected time", e)
		}
	}
	if got, _ := snap.CheckViolation("r", "read_file", map[string]any{"path": "/etc/x"}); got == "" {
		t.Errorf("protected paths changed after freeze")
	}
	if !snap.Frozen() || b.Build() != snap {
		t.Errorf("Build after Freeze did not return the frozen snapshot")
	}
}

func TestSnapshotIsolation(t *testing.T) {
	t.Parallel()
	b := NewBuilder(Options{})
	ctx := map[string]any{"tier": "gold", "nested": map[string]any{"ok": true}}
	tools := []string{"refund_user"}
	if err := b.AddConditionalPermission("a", Permission{ToolName: "refund_user", Conditions: []Condition{
		{AttributePath: "context.nested.ok", Operator: OpEq, Value: true},
		{AttributePath: "tier", Operator: OpIn, Value: []any{"gold"}},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetAgentContext("a", ctx); err != nil {
		t.Fatal(err)
	}
	snap := b.Build()
	// Caller and builder changes after Build must not reach the snapshot.
	ctx["tier"] = "bronze"
	ctx["nested"].(map[string]any)["ok"] = false
	tools[0] = "x"
	if err := b.UpdateAgentContext("a", map[string]any{"tier": "bronze"}); err != nil {
		t.Fatal(err)
	}
	if got, bad := snap.CheckViolation("a", "refund_user", map[string]any{}); bad {
		t.Errorf("snapshot changed under its caller: %q", got)
	}
	if _, bad := b.Build().CheckViolation("a", "refund_user", map[string]any{}); !bad {
		t.Errorf("new snapshot ignores the update")
	}
}

func TestConditionNumbers(t *testing.T) {
	t.Parallel()
	big := json.Number("123456789012345678901234567890")
	tests := []struct {
		name    string
		op      Operator
		subject any
		target  any
		want    bool
		wantErr error
	}{
		{"int equals float", OpEq, 1, 1.0, true, nil},
		{"json int equals int", OpEq, json.Number("5"), int64(5), true, nil},
		{"big ints exact", OpGt, big, json.Number("123456789012345678901234567889"), true, nil},
		{"big int vs float", OpLt, big, 1e30, true, nil},
		{"2^53+1 vs float 2^53", OpGt, int64(1<<53 + 1), float64(1 << 53), true, nil},
		{"uint64 max", OpGt, uint64(math.MaxUint64), int64(math.MaxInt64), true, nil},
		{"NaN never ordered", OpGte, math.NaN(), 1.0, false, nil},
		{"NaN not equal", OpEq, math.NaN(), math.NaN(), false, nil},
		{"bool vs int", OpEq, true, 1, false, nil},
		{"bool in list of ints", OpIn, true, []any{1}, false, nil},
		{"bool ordering", OpGt, true, 0, false, ErrTypeMismatch},
		{"list ordering", OpLt, []any{1}, []any{2}, false, ErrTypeMismatch},
		{"string vs int", OpLt, "5", 10, false, ErrTypeMismatch},
		{"in string needs string", OpIn, 1, "abc", false, ErrTypeMismatch},
		{"in number", OpIn, 1, 5, false, ErrTypeMismatch},
		{"list key of map", OpIn, []any{1}, map[string]any{"a": 1}, false, ErrTypeMismatch},
		{"int key of map", OpIn, 1, map[string]any{"1": 1}, false, nil},
		{"contains substring", OpContains, "xyz", "y", true, nil},
		{"not_in type error is false", OpNotIn, 1, 5, false, ErrTypeMismatch},
		{"nested equality", OpEq, map[string]any{"a": []any{1, "b"}}, map[string]any{"a": []any{1.0, "b"}}, true, nil},
		{"nested bool-number", OpEq, []any{true}, []any{1}, false, nil},
		{"unicode strings ordered by code point", OpLt, "z", "é", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Condition{AttributePath: "a", Operator: tt.op, Value: tt.target}
			got, err := c.Evaluate(map[string]any{"a": tt.subject})
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Evaluate(%v %s %v) = %v, %v; want %v, %v", tt.subject, tt.op, tt.target, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestEvalErrorsCounted(t *testing.T) {
	t.Parallel()
	b := NewBuilder(Options{})
	if err := b.AddConditionalPermission("a", Permission{ToolName: "t", Conditions: []Condition{{AttributePath: "args.n", Operator: OpLt, Value: 10}}}); err != nil {
		t.Fatal(err)
	}
	s := b.Freeze()
	if _, bad := s.CheckViolation("a", "t", map[string]any{"n": "5"}); !bad {
		t.Fatal("type error allowed the call")
	}
	if s.EvalErrors() != 1 {
		t.Errorf("EvalErrors() = %d, want 1", s.EvalErrors())
	}
}

func TestSQLNoWhereLookahead(t *testing.T) {
	t.Parallel()
	c, err := NewSQLChecker(SQLPolicyConfig{RequireWhereClause: []string{"UPDATE"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		q    string
		want bool
	}{
		{"UPDATE t SET a=1", false},
		{"UPDATE t SET a=1 WHERE id=2", true},
		{"UPDATE t SET a=1\nWHERE id=2", false}, // reference: WHERE on a later line is not seen
		{"UPDATE t SET a=1 WHERE id=2; UPDATE u SET b=2", false},
		{"UPDATE t SET a=1; UPDATE u SET b=2 WHERE x=1", true}, // same line: the WHERE follows both
		{"UPDATE t SET a=1\nUPDATE u SET b=2 WHERE x=1", false},
		{"UPDATE UPDATE SET SET WHERE x", true},
		{"UPDATE t SET a=1 -- WHERE x", false},
		{"UPDATE t SET a='NOWHERE'", false},
		{"UPDATE ÉTÉ SET a=1", false}, // Unicode \w, as in Python
	}
	for _, tt := range tests {
		if got := c.Allowed(tt.q); got != tt.want {
			t.Errorf("Allowed(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestSQLPolicyStage(t *testing.T) {
	t.Parallel()
	b := NewBuilder(Options{})
	if err := b.AddConstraint("r", []string{"database_query"}); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultSQLPolicyConfig()
	if err := b.SetSQLPolicy(&cfg); err != nil {
		t.Fatal(err)
	}
	s := b.Freeze()
	got := s.Check("r", "database_query", map[string]any{"query": "UPDATE t SET a=1"})
	if got.Allowed || got.Stage != StageSQL || got.Reason != "SQL policy blocked: "+sqlUpdateNoWhere {
		t.Errorf("Check(UPDATE without WHERE) = %+v", got)
	}
	if got := s.Check("r", "database_query", map[string]any{"query": 5}); got.Reason != msgSQLType {
		t.Errorf("Check(non-string query) = %+v", got)
	}
}

func TestTranslatePython(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`\brm\s+-rf\b`, `\brm[` + pySpace + `]+-rf\b`},
		{`[\s,]`, `[` + pySpace + `,]`},
		{`\\s`, `\\s`},
		{`\S\W`, `[^` + pySpace + `][^` + pyWord + `]`},
		{`[]\s]`, `[]` + pySpace + `]`},
		{`[^\d]`, `[^` + pyDigit + `]`},
	}
	for _, tt := range tests {
		if got := translatePython(tt.in); got != tt.want {
			t.Errorf("translatePython(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRiskEdges(t *testing.T) {
	t.Parallel()
	b := NewBuilder(Options{})
	if err := b.SetRiskPolicy("p", RiskPolicy{BlockedDomains: []string{"Evil.COM."}, HighRiskPatterns: []string{"True"}}); err != nil {
		t.Fatal(err)
	}
	s := b.Freeze()
	tests := []struct {
		name   string
		params map[string]any
		score  float64
		want   bool
	}{
		{"NaN score denied", map[string]any{}, math.NaN(), false},
		{"subdomain of blocked", map[string]any{"url": "http://a.EVIL.com:8080/x"}, 0, false},
		{"bare domain blocked", map[string]any{"domain": "evil.com"}, 0, false},
		{"non-string url denied", map[string]any{"url": 5}, 0, false},
		{"empty url allowed by block-list", map[string]any{"url": ""}, 0, true},
		{"pattern matches Python bool text", map[string]any{"flag": true}, 0, false},
		{"pattern in nested key", map[string]any{"x": map[string]any{"is_true_x": 1}}, 0, false},
		{"clean", map[string]any{"url": "https://good.org"}, 0.1, true},
	}
	for _, tt := range tests {
		if got := s.ValidateRisk(tt.params, tt.score); got.Allowed != tt.want || (!got.Allowed && got.Stage != StageRisk) {
			t.Errorf("%s: ValidateRisk(%v, %v) = %+v, want allowed=%v", tt.name, tt.params, tt.score, got, tt.want)
		}
	}
}

func TestEngineSwapConcurrent(t *testing.T) {
	t.Parallel()
	mk := func(tools ...string) *Snapshot {
		b := NewBuilder(Options{})
		if err := b.AddConstraint("r", tools); err != nil {
			t.Fatal(err)
		}
		return b.Freeze()
	}
	a, c := mk("search"), mk("search", "read_file")
	e, err := NewEngine(EngineOptions{Snapshot: a})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewEngine(EngineOptions{}); err == nil {
		t.Error("NewEngine with nil snapshot succeeded")
	}
	if _, err := e.Swap(nil); err == nil || e.Snapshot() != a {
		t.Error("Swap(nil) replaced the snapshot")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, bad := e.CheckViolation("r", "search", nil); bad {
					t.Error("search denied during swaps")
					return
				}
			}
		})
	}
	for range 50 {
		if _, err := e.Swap(c); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Swap(a); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if prev, _ := e.Swap(c); prev != a {
		t.Error("Swap did not return the previous snapshot")
	}
	if _, bad := e.CheckViolation("r", "read_file", map[string]any{"path": "/data/x"}); bad {
		t.Error("new snapshot not served")
	}
}

func TestCheckAllowPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool (used by regexp) drop items at random, so allocation counts mean nothing")
	}
	b := NewBuilder(Options{})
	if err := b.AddConstraint("r", allTools()); err != nil {
		t.Fatal(err)
	}
	if err := b.AddConditionalPermission("r", Permission{ToolName: "refund_user", Conditions: []Condition{{AttributePath: "args.amount", Operator: OpLt, Value: 1000}}}); err != nil {
		t.Fatal(err)
	}
	s := b.Freeze()
	calls := []struct {
		tool string
		args map[string]any
	}{
		{"refund_user", map[string]any{"amount": 500.0}},
		{"execute_code", map[string]any{"code": "print(1)"}},
		{"database_query", map[string]any{"query": "SELECT 1"}},
		{"api_call", map[string]any{"endpoint": "https://x"}},
	}
	for _, c := range calls {
		if n := testing.AllocsPerRun(100, func() { s.Check("r", c.tool, c.args) }); n != 0 {
			t.Errorf("Check(%s) allocates %v times per call, want 0", c.tool, n)
		}
	}
}

func TestLoadSQLPolicyConfig(t *testing.T) {
	t.Parallel()
	good := "disclaimer: sample\nsql_policy:\n  blocked_statements: [drop, grant]\n  blocked_patterns:\n    - '\\bSLEEP\\s*\\('\n"
	cfg, err := LoadSQLPolicyConfig(strings.NewReader(good), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.BlockedStatements, ",") != "DROP,GRANT" || len(cfg.RequireWhereClause) != 0 ||
		cfg.Disclaimer != "sample" || len(cfg.BlockedPatterns) != 1 {
		t.Errorf("loaded %+v", cfg)
	}
	c, err := NewSQLChecker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Allowed("select sleep(5)") || !c.Allowed("delete from t") {
		t.Errorf("loaded config does not drive the checker")
	}
	bad := []struct{ name, doc, want string }{
		{"no section", "other: 1\n", "p.yaml:1:1: file must contain a 'sql_policy' section"},
		{"empty", "", "p.yaml: file must contain a 'sql_policy' section"},
		{"unknown field", "sql_policy:\n  blocked: [x]\n", "p.yaml:2:3: sql_policy.blocked: unknown field"},
		{"not a list", "sql_policy:\n  blocked_statements: DROP\n", "p.yaml:2:23: sql_policy.blocked_statements: must be a list of strings"},
		{"non-string entry", "sql_policy:\n  blocked_statements: [1]\n", "p.yaml:2:24: sql_policy.blocked_statements.0: must be a string"},
		{"bad pattern", "sql_policy:\n  blocked_patterns: ['ok', '(?=x)']\n", "p.yaml:2:28: sql_policy.blocked_patterns.1: pattern does not compile"},
		{"syntax", "sql_policy: [\n", "p.yaml: invalid YAML"},
	}
	for _, tt := range bad {
		_, err := LoadSQLPolicyConfig(strings.NewReader(tt.doc), "p.yaml")
		var pe *policy.Error
		if !errors.As(err, &pe) || len(policy.AsErrors(err)) != 1 || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want prefix %q", tt.name, err, tt.want)
		}
	}
}
