package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the command line args and returns the exit code and output.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Version: "v0.0.0-test"})
	return code, out.String(), errb.String()
}

// writeFile writes content to name in dir and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const sqlPolicy = `version: "1.0"
name: sql
defaults:
  action: allow
rules:
  - name: block-drop
    priority: 10
    condition: {field: tool_name, operator: eq, value: database_query}
    when: 'args.query.matches("(?i)\\bdrop\\b")'
    action: deny
    message: no dropping
  - name: audit-all
    priority: 1
    condition: {field: tool_name, operator: ne, value: ""}
    action: audit
`

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	pol := writeFile(t, dir, "sql.yaml", sqlPolicy)
	pol2 := writeFile(t, dir, "sql2.yaml", strings.Replace(sqlPolicy, "priority: 10", "priority: 20", 1))
	bad := writeFile(t, dir, "bad.yaml", "version: 1.0\nname: bad\nrules:\n  - name: r\n    action: explode\n")
	scenarios := writeFile(t, dir, "scen.yaml", `scenarios:
  - name: drop is denied
    context: {tool_name: database_query, args: {query: DROP TABLE x}}
    expected_action: deny
    expected_allowed: false
  - name: select is audited and allowed
    context: {tool_name: database_query, args: {query: SELECT 1}}
    expected_action: audit
    expected_allowed: true
`)
	failing := writeFile(t, dir, "fail.yaml", `scenarios:
  - name: wrong expectation
    context: {tool_name: database_query, args: {query: DROP TABLE x}}
    expected_action: allow
`)
	empty := writeFile(t, dir, "empty.yaml", "scenarios: []\n")

	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantOut    []string
		wantErr    []string
		wantNotOut []string
	}{
		{name: "version", args: []string{"version"}, wantOut: []string{"agentos v0.0.0-test"}},
		{name: "version flag", args: []string{"--version"}, wantOut: []string{"agentos v0.0.0-test"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantErr: []string{"unknown command"}},
		{name: "eval default policy denies rm -rf", args: []string{"policy", "eval", "--input", `{"tool_name":"run_shell","args":{"command":"rm -rf /"}}`},
			wantCode: 1, wantOut: []string{"DENY (deny)", "deny-destructive-shell", "agentos-default"}},
		{name: "eval default policy rate-limits the rest", args: []string{"policy", "eval", "--input", `{"tool_name":"search","args":{"q":"go"}}`},
			wantOut: []string{"ALLOW (rate_limit)", "600/minute"}},
		{name: "eval file policy from stdin", args: []string{"policy", "eval", "-p", pol, "--input-file", "-"},
			stdin: `{"tool_name":"database_query","args":{"query":"drop table users"}}`, wantCode: 1, wantOut: []string{"block-drop", "no dropping"}},
		{name: "eval bad json", args: []string{"policy", "eval", "--input", `{"tool_name":`}, wantCode: 2, wantErr: []string{"input: not a JSON object"}},
		{name: "eval no input", args: []string{"policy", "eval"}, wantCode: 2, wantErr: []string{"--input"}},
		{name: "eval missing policy file", args: []string{"policy", "eval", "-p", filepath.Join(dir, "nope.yaml"), "--input", "{}"}, wantCode: 2, wantErr: []string{"file not found"}},
		{name: "eval rego backend allows payments team", args: []string{"policy", "eval", "--rego", filepath.Join("..", "..", "examples", "policies", "agents.rego"), "--input",
			`{"tool_name":"refund_payment","agent_id":"a1","agent":{"labels":{"team":"payments"}},"args":{"amount":20}}`}, wantOut: []string{"ALLOW (allow)", "external:rego"}},
		{name: "eval rego backend denies other teams", args: []string{"policy", "eval", "--rego", filepath.Join("..", "..", "examples", "policies", "agents.rego"), "--input",
			`{"tool_name":"refund_payment","agent_id":"a1","agent":{"labels":{"team":"sales"}},"args":{"amount":20}}`}, wantCode: 1, wantOut: []string{"DENY", "external:rego"}},
		{name: "eval cedar backend", args: []string{"policy", "eval", "--cedar", filepath.Join("..", "..", "examples", "policies", "agents.cedar"), "--input",
			`{"tool_name":"refund_payment","agent_id":"a1","agent":{"labels":{"team":"payments"}},"args":{"amount":20}}`}, wantOut: []string{"ALLOW", "external:cedar", "payments-refunds"}},
		{name: "eval broken rego module", args: []string{"policy", "eval", "--rego", bad, "--input", "{}"}, wantCode: 1, wantErr: []string{"rego:"}},
		{name: "rego-query without rego", args: []string{"policy", "eval", "--rego-query", "data.x", "--input", "{}"}, wantCode: 2, wantErr: []string{"--rego-query needs --rego"}},
		{name: "validate ok", args: []string{"policy", "validate", pol}, wantOut: []string{"OK"}},
		{name: "validate reports every problem with location", args: []string{"policy", "validate", bad}, wantCode: 1,
			wantErr: []string{"FAIL: " + bad + ":1:", "version", "FAIL: " + bad + ":5:", "action"}},
		{name: "validate missing file", args: []string{"policy", "validate", filepath.Join(dir, "nope.yaml")}, wantCode: 2, wantErr: []string{"file not found"}},
		{name: "test passes", args: []string{"policy", "test", pol, scenarios}, wantOut: []string{"2/2 scenarios passed"}},
		{name: "test fails", args: []string{"policy", "test", pol, failing}, wantCode: 1, wantOut: []string{"0/1 scenarios passed"}, wantErr: []string{"FAIL: wrong expectation: expected allow, got deny"}},
		{name: "test no scenarios", args: []string{"policy", "test", pol, empty}, wantCode: 2, wantErr: []string{"ERROR: No scenarios provided"}},
		{name: "test missing scenarios file", args: []string{"policy", "test", pol, filepath.Join(dir, "nope.yaml")}, wantCode: 2},
		{name: "diff equal", args: []string{"policy", "diff", pol, pol}, wantOut: []string{"No differences"}},
		{name: "diff differs", args: []string{"policy", "diff", pol, pol2}, wantCode: 1, wantOut: []string{"rule block-drop: priority: 10 -> 20"}},
		{name: "validate .agents style glob", args: []string{"validate", filepath.Join(dir, "sql*.yaml")}, wantOut: []string{"All 2 policy file(s) valid."}},
		{name: "validate invalid file", args: []string{"validate", bad}, wantCode: 1, wantOut: []string{"INVALID", "[x] " + bad + ":1:", "Validation failed. 0/1 file(s) valid."}},
		{name: "validate missing", args: []string{"validate", filepath.Join(dir, "none-*.yaml")}, wantCode: 1, wantOut: []string{"not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("agentos %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("agentos %v: stdout lacks %q:\n%s", tt.args, w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("agentos %v: stderr lacks %q:\n%s", tt.args, w, errOut)
				}
			}
		})
	}
}

func TestEvalJSONIsStable(t *testing.T) {
	code, out, _ := run(t, "", "policy", "eval", "--json", "--input", `{"tool_name":"database_query","args":{"query":"DELETE FROM users"}}`)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var d decisionJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if d.Allowed || d.Action != "deny" || d.Rule != "deny-destructive-sql" || len(d.PolicyVersion) != 64 || len(d.Trace) == 0 {
		t.Errorf("decision = %+v, want a deny by deny-destructive-sql with a version and a trace", d)
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	pol := writeFile(t, dir, "p.yaml", sqlPolicy)
	code, out, errOut := run(t, "", "policy", "fmt", pol)
	if code != 0 {
		t.Fatalf("fmt: exit %d: %s", code, errOut)
	}
	canonical := writeFile(t, dir, "canonical.yaml", out)
	if code, out, _ := run(t, "", "policy", "fmt", "--check", canonical); code != 0 || out != "" {
		t.Errorf("fmt --check of canonical output: exit %d, listed %q", code, out)
	}
	if sqlPolicy != out {
		if code, _, _ := run(t, "", "policy", "fmt", "--check", pol); code != 1 {
			t.Errorf("fmt --check of non-canonical file: exit %d, want 1", code)
		}
		if code, _, errOut := run(t, "", "policy", "fmt", "-w", pol); code != 0 {
			t.Fatalf("fmt -w: exit %d: %s", code, errOut)
		}
		got, _ := os.ReadFile(pol)
		if string(got) != out {
			t.Errorf("fmt -w wrote\n%s\nwant\n%s", got, out)
		}
	}
	// The formatted policy decides as the original.
	in := `{"tool_name":"database_query","args":{"query":"drop table t"}}`
	c1, o1, _ := run(t, "", "policy", "eval", "--json", "-p", canonical, "--input", in)
	c2, o2, _ := run(t, "", "policy", "eval", "--json", "-p", filepath.Join(dir, "p.yaml"), "--input", in)
	if c1 != c2 || c1 != 1 {
		t.Errorf("formatted policy decided differently: exit %d vs %d\n%s\n%s", c1, c2, o1, o2)
	}
}

// TestExamplePoliciesValidate keeps every example policy valid.
func TestExamplePoliciesValidate(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "policies", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no example policies found")
	}
	for _, f := range files {
		if code, _, errOut := run(t, "", "policy", "validate", f); code != 0 {
			t.Errorf("example %s does not validate:\n%s", f, errOut)
		}
	}
}

// TestDemo runs the demo and checks every step's outcome: the README's
// first command must keep working and keep showing what it claims.
func TestDemo(t *testing.T) {
	code, out, errOut := run(t, "", "demo", "--json")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errOut)
	}
	want := map[string]int{
		"search the docs":                   0,
		"echo through the shell":            0,
		"rm -rf / through the shell":        -2,
		"SELECT from the database":          0,
		"DROP TABLE through the database":   -2,
		"send an e-mail (needs approval)":   -2,
		"call a tool that does not exist":   -404,
		"write working memory":              0,
		"read working memory":               0,
		"write the read-only /policy mount": 3,
		"read outside every mount":          -2,
		"SIGCONT, then search":              0,
		"SIGKILL, then search":              -1,
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	seen := map[string]bool{}
	for _, l := range lines[:len(lines)-1] {
		var s demoStep
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("decode %q: %v", l, err)
		}
		if w, ok := want[s.Step]; ok {
			seen[s.Step] = true
			if s.Code != w {
				t.Errorf("step %q: code %d (%s), want %d", s.Step, s.Code, s.Error, w)
			}
		}
	}
	for step := range want {
		if !seen[step] {
			t.Errorf("step %q missing from the demo output", step)
		}
	}
	var summary struct {
		Events int  `json:"audit_events"`
		Valid  bool `json:"audit_chain_valid"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatal(err)
	}
	if !summary.Valid || summary.Events < len(want) {
		t.Errorf("summary = %+v, want a valid chain with at least %d events", summary, len(want))
	}
}

// TestDemoDurableLogVerifies follows the README: the demo writes a durable
// log, which the audit commands then verify, query and prove with only the
// public key.
func TestDemoDurableLogVerifies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := run(t, "", "demo", "--data-dir", dir); code != 0 {
		t.Fatalf("demo --data-dir: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "", "audit", "verify", "--data-dir", dir); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("audit verify: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := run(t, "", "audit", "query", "--data-dir", dir, "--decision", "deny", "--json")
	if code != 0 || !strings.Contains(out, "deny-destructive-shell") {
		t.Fatalf("audit query --decision deny: exit %d\n%s\n%s", code, out, errOut)
	}
	code, proof, errOut := run(t, "", "audit", "prove", "3", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("audit prove: exit %d\n%s", code, errOut)
	}
	pub := filepath.Join(dir, "audit-signing.pub")
	if code, out, errOut := run(t, proof, "audit", "verify-proof", "--key", pub, "-"); code != 0 {
		t.Fatalf("audit verify-proof: exit %d\n%s\n%s", code, out, errOut)
	}
	// A proof edited by one byte fails.
	bad := strings.Replace(proof, `"seq": 3`, `"seq": 4`, 1)
	if bad == proof {
		bad = strings.Replace(proof, `"seq":3`, `"seq":4`, 1)
	}
	if bad == proof {
		t.Fatalf("could not find the seq field to tamper with in the proof:\n%s", proof)
	}
	if code, _, _ := run(t, bad, "audit", "verify-proof", "--key", pub, "-"); code != 1 {
		t.Errorf("verify-proof of a tampered proof: exit %d, want 1", code)
	}
}

// TestVerifyProofFromDaemon checks a proof in the daemon's shape (with the
// key it names): accepted when that key is the trusted one, refused when the
// proof names another key.
func TestVerifyProofFromDaemon(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := run(t, "", "demo", "--data-dir", dir); code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errOut)
	}
	code, proof, errOut := run(t, "", "audit", "prove", "2", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("prove: exit %d: %s", code, errOut)
	}
	pubPath := filepath.Join(dir, "audit-signing.pub")
	pub, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(proof), &m); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		key  string
		want int
	}{
		{"the trusted key", strings.TrimSpace(string(pub)), 0},
		{"another key", "evil+00000000+AAAA", 1},
	} {
		m["verifier_key"] = tt.key
		b, _ := json.Marshal(m)
		if code, out, errOut := run(t, string(b), "audit", "verify-proof", "--key", pubPath, "-"); code != tt.want {
			t.Errorf("%s: exit %d, want %d\n%s%s", tt.name, code, tt.want, out, errOut)
		}
	}
}
