package rbac

import "testing"

func BenchmarkCheckViolation(b *testing.B) {
	s := fuzzSnapshot(b)
	cases := []struct {
		name, tool string
		args       map[string]any
	}{
		{"allow/search", "search", map[string]any{"q": "x"}},
		{"allow/abac", "refund_user", map[string]any{"amount": 500.0}},
		{"allow/path", "read_file", map[string]any{"path": "/data/reports/q1.csv"}},
		{"allow/code", "execute_code", map[string]any{"code": "print('hello world')"}},
		{"allow/sql", "database_query", map[string]any{"query": "SELECT * FROM t WHERE id = 1"}},
		{"deny/allow-list", "shell", map[string]any{}},
		{"deny/path", "read_file", map[string]any{"path": "/data/../etc/passwd"}},
		{"deny/code", "run_command", map[string]any{"command": "sudo rm -rf /"}},
		{"deny/abac", "refund_user", map[string]any{"amount": 5000.0}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Check("r", c.tool, c.args)
			}
		})
	}
}

func BenchmarkFallbackSQL(b *testing.B) {
	c, err := NewSQLChecker(DefaultSQLPolicyConfig())
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"SELECT * FROM t WHERE id = 1", "UPDATE t SET a=1 /* x */ WHERE id=2 -- c"} {
		b.Run(q[:6], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Allowed(q)
			}
		})
	}
}
