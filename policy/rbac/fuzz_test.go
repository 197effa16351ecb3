package rbac

import (
	"path"
	"strings"
	"testing"
)

func fuzzSnapshot(tb testing.TB) *Snapshot {
	tb.Helper()
	b := NewBuilder(Options{})
	if err := b.AddConstraint("r", allTools()); err != nil {
		tb.Fatal(err)
	}
	if err := b.AddConditionalPermission("r", Permission{ToolName: "refund_user", Conditions: []Condition{{AttributePath: "args.amount", Operator: OpLt, Value: 1000}}}); err != nil {
		tb.Fatal(err)
	}
	return b.Freeze()
}

// protectedUnder reports whether p, resolved against "/" and cleaned,
// is one of the default POSIX protected directories or below one.
func protectedUnder(p string) bool {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	c := path.Clean(p)
	for _, d := range []string{"/etc", "/sys", "/proc", "/dev"} {
		if c == d || strings.HasPrefix(c, d+"/") {
			return true
		}
	}
	return false
}

func FuzzCheckViolation(f *testing.F) {
	f.Add("r", "read_file", "path", "/etc/passwd")
	f.Add("r", "file_write", "path", "//etc/../etc/shadow")
	f.Add("r", "execute_code", "code", "rm -rf /")
	f.Add("r", "run_command", "command", "DrOp TaBlE x")
	f.Add("r", "database_query", "query", "UPDATE t SET a=1 WHERE 1=1")
	f.Add("r", "api_call", "endpoint", "internal://admin")
	f.Add("r", "refund_user", "amount", "5")
	f.Add("nobody", "read_file", "path", "/data/x")
	f.Add("", "", "", "")
	s := fuzzSnapshot(f)
	f.Fuzz(func(t *testing.T, role, tool, key, value string) {
		args := map[string]any{key: value}
		d := s.Check(role, tool, args)
		if d.Allowed != (d.Reason == "") || d.Allowed != (d.Stage == StageNone) {
			t.Fatalf("inconsistent decision %+v", d)
		}
		if role == "r" && key == "path" && isPathTool(tool) && protectedUnder(value) && d.Allowed {
			t.Fatalf("Check(%q, path=%q) allowed a protected path", tool, value)
		}
		// Non-string arguments never panic and never allow a checked key.
		for _, v := range []any{nil, 5, []any{value}, map[string]any{"x": value}, true} {
			d := s.Check(role, tool, map[string]any{key: v, "amount": v})
			if role == "r" && d.Allowed {
				switch {
				case key == "path" && isPathTool(tool),
					(key == "code" || key == "command") && (tool == "execute_code" || tool == "run_command"),
					key == "query" && (tool == "database_query" || tool == "database_write"),
					key == "endpoint" && tool == "api_call":
					t.Fatalf("Check(%q, %s=%v) allowed a non-string argument", tool, key, v)
				}
			}
		}
	})
}

func FuzzPathRule(f *testing.F) {
	for _, p := range []string{"/etc/passwd", "//etc/passwd", "/data/../etc/x", "../../etc/x", "/etcetera/x",
		"/data/x\x00", "/dev", "C:\\Windows\\System32\\x", "c:/WINDOWS/system32", "/é/../etc/x", "/data/\u2028x", ""} {
		f.Add(p)
	}
	r := pathRules{}
	for _, p := range DefaultProtectedPaths {
		pp, _ := compileProtected(p)
		r.entries = append(r.entries, pp)
		r.windows = r.windows || pp.windows
	}
	f.Fuzz(func(t *testing.T, p string) {
		reason, bad := r.check(p)
		if bad != (reason != "") {
			t.Fatalf("check(%q) = %q, %v", p, reason, bad)
		}
		if protectedUnder(p) && !bad {
			t.Fatalf("check(%q) allowed a protected path", p)
		}
		if strings.ContainsAny(p, "\x00\n\r") && reason != msgPathControl && reason != msgPathInvalid {
			t.Fatalf("check(%q) = %q, want a validation error", p, reason)
		}
		// Windows spellings of System32 are always caught.
		w := strings.ToLower(strings.ReplaceAll(p, `\`, "/"))
		if c := path.Clean(w); (c == "c:/windows/system32" || strings.HasPrefix(c, "c:/windows/system32/")) && !bad {
			t.Fatalf("check(%q) allowed System32", p)
		}
	})
}

func FuzzFallbackSQL(f *testing.F) {
	for _, q := range []string{"DROP TABLE t", "UPDATE t SET a=1", "UPDATE t SET a=1 WHERE id=2", "UPDATE t\nSET a=1\nWHERE id=2",
		"/* DROP TABLE x */ SELECT 1", "SELECT 1 -- DROP TABLE x", "DELETE FROM t;", "EXEC xp_cmdshell 'dir'", "straße", ""} {
		f.Add(q)
	}
	c, err := NewSQLChecker(DefaultSQLPolicyConfig())
	if err != nil {
		f.Fatal(err)
	}
	empty, err := NewSQLChecker(SQLPolicyConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		rule, blocked := c.Match(q)
		if blocked != (rule != "") || c.Allowed(q) == blocked {
			t.Fatalf("Match(%q) = %q, %v inconsistent with Allowed", q, rule, blocked)
		}
		if !empty.Allowed(q) {
			t.Fatalf("empty config blocked %q", q)
		}
		// Appending a DROP TABLE statement on its own line always blocks.
		if c.Allowed(q + "\n; DROP TABLE x") {
			t.Fatalf("%q followed by DROP TABLE allowed", q)
		}
	})
}
