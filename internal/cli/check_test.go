package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const checkSQL = "DROP TABLE users;\nDELETE FROM users;\nDELETE FROM users WHERE id=1;\nTRUNCATE TABLE logs;\n"

func TestCheckText(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := writeFile(t, dir, "a.sql", checkSQL)
	clean := writeFile(t, dir, "ok.py", "print('hello')\n")
	code, out, errOut := run(t, "", "check", a, clean)
	if code != ExitFailure {
		t.Fatalf("check exit = %d, want %d; stderr %s", code, ExitFailure, errOut)
	}
	want := "Found 3 violations in " + a + ":\n\n" +
		"  [CRITICAL] Line 1: Destructive SQL: DROP operation detected\n" +
		"    Code: DROP TABLE users;\n" +
		"    Suggestion: -- Consider using soft delete or archiving instead\n\n" +
		"  [CRITICAL] Line 2: Destructive SQL: DELETE without WHERE clause detected\n" +
		"    Code: DELETE FROM users;\n" +
		"    Suggestion: -- Add a WHERE clause to limit the rows deleted\n\n" +
		"  [CRITICAL] Line 4: Destructive SQL: TRUNCATE operation detected\n" +
		"    Code: TRUNCATE TABLE logs;\n" +
		"    Suggestion: -- Consider deleting specific rows or archiving the table instead\n" +
		"No policy violations found in " + clean + "\n"
	if out != want {
		t.Errorf("check output:\n%s\nwant:\n%s", out, want)
	}
}

func TestCheckExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clean := writeFile(t, dir, "ok.sh", "echo hi\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"clean", []string{"check", clean}, ExitOK, "No policy violations found in " + clean, ""},
		{"missing", []string{"check", filepath.Join(dir, "nope.py")}, ExitFailure, "", "Error: File not found: "},
		{"no-args", []string{"check"}, ExitUsage, "", "Usage: agentos check <file> [<file> ...] | --staged"},
		{"bad-format", []string{"check", "--format", "xml", clean}, ExitUsage, "", "unknown --format"},
		{"staged-and-files", []string{"check", "--staged", clean}, ExitUsage, "", "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := run(t, "", tt.args...)
			if code != tt.code || !strings.Contains(out, tt.inStdout) || !strings.Contains(errOut, tt.inStderr) {
				t.Errorf("%v: exit %d stdout %q stderr %q; want exit %d, stdout with %q, stderr with %q",
					tt.args, code, out, errOut, tt.code, tt.inStdout, tt.inStderr)
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := writeFile(t, dir, "c.sh", "rm -rf /tmp/x\nsudo apt install\nchmod 777 /x\n")
	code, out, _ := run(t, "", "check", "--format", "json", f)
	if code != ExitFailure {
		t.Fatalf("exit = %d, want 1", code)
	}
	var got struct {
		Violations []struct {
			File, Code, Violation, Policy, Severity string
			Line                                    int
			Suggestion                              *string
		}
		Summary struct{ Total int }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Summary.Total != 3 || len(got.Violations) != 3 {
		t.Fatalf("violations = %d (summary %d), want 3", len(got.Violations), got.Summary.Total)
	}
	wantSev := []string{"critical", "high", "high"}
	for i, v := range got.Violations {
		if v.Line != i+1 || v.Severity != wantSev[i] || v.File != f {
			t.Errorf("violation %d = %+v, want line %d severity %s", i, v, i+1, wantSev[i])
		}
	}
}

// compileSARIFSchema compiles the SARIF 2.1.0 JSON schema kept in testdata.
func compileSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sarif-schema-2.1.0-rtm.5.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://json.schemastore.org/sarif-2.1.0.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile SARIF schema: %v", err)
	}
	return s
}

func TestCheckSARIFValidates(t *testing.T) {
	t.Parallel()
	schema := compileSARIFSchema(t)
	dir := t.TempDir()
	files := []string{
		writeFile(t, dir, "a.sql", checkSQL),
		writeFile(t, dir, "b c.py", "import shutil\nshutil.rmtree(p)\nos.remove(f)\npassword = \"hunter2\"\neval(x)\n"),
		writeFile(t, dir, "clean.go", "package main\n"),
	}
	code, out, errOut := run(t, "", append([]string{"check", "--format", "sarif"}, files...)...)
	if code != ExitFailure {
		t.Fatalf("exit = %d, want 1; stderr %s", code, errOut)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("SARIF output is not JSON: %v", err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("SARIF output does not validate against the SARIF 2.1.0 schema: %v\n%s", err, out)
	}
	// What GitHub code scanning needs beyond the schema: rule ids that
	// resolve, relative URIs, 1-based lines.
	var log struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string
					Rules []struct{ ID string }
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "agentos" {
		t.Fatalf("SARIF header = %+v", log)
	}
	r := log.Runs[0]
	if len(r.Results) != 3+4 {
		t.Errorf("results = %d, want 7", len(r.Results))
	}
	for _, res := range r.Results {
		if res.RuleIndex < 0 || res.RuleIndex >= len(r.Tool.Driver.Rules) || r.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result rule %s index %d does not resolve", res.RuleID, res.RuleIndex)
		}
		loc := res.Locations[0].PhysicalLocation
		if loc.Region.StartLine < 1 || filepath.IsAbs(loc.ArtifactLocation.URI) && !strings.HasPrefix(loc.ArtifactLocation.URI, "/") {
			t.Errorf("bad location %+v", loc)
		}
		if strings.Contains(loc.ArtifactLocation.URI, " ") {
			t.Errorf("URI %q is not encoded", loc.ArtifactLocation.URI)
		}
	}
}

// gitRepo makes a git repository in a temporary directory, changes into
// it for the test, and returns its path.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	t.Chdir(dir)
	for _, args := range [][]string{{"init", "-q", "."}, {"config", "user.email", "t@example.com"}, {"config", "user.name", "t"}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func gitRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestCheckStagedReadsIndexNotWorkingTree(t *testing.T) {
	dir := gitRepo(t)
	// Staged: a destructive statement. Working tree: fixed but not staged.
	writeFile(t, dir, "m.sql", "DROP TABLE users;\n")
	gitRun(t, "add", "m.sql")
	writeFile(t, dir, "m.sql", "SELECT 1;\n")
	code, out, errOut := run(t, "", "check", "--staged")
	if code != ExitFailure || !strings.Contains(out, "Found 1 violations in m.sql") {
		t.Fatalf("check --staged: exit %d, stdout %q, stderr %q; want the staged DROP reported", code, out, errOut)
	}
	// The reverse: staged content clean, working tree dirty.
	writeFile(t, dir, "m.sql", "SELECT 1;\n")
	gitRun(t, "add", "m.sql")
	writeFile(t, dir, "m.sql", "DROP TABLE users;\n")
	code, out, _ = run(t, "", "check", "--staged")
	if code != ExitOK || !strings.Contains(out, "No policy violations found in m.sql") {
		t.Fatalf("check --staged: exit %d, stdout %q; want clean", code, out)
	}
}

func TestCheckStagedNothingStaged(t *testing.T) {
	gitRepo(t)
	code, out, _ := run(t, "", "check", "--staged")
	if code != ExitOK || !strings.Contains(out, "No staged files") {
		t.Fatalf("exit %d stdout %q", code, out)
	}
}

// TestCheckDangerousOperations checks that `check` also runs the
// dangerous-operations detector: code the reference's rules miss is
// flagged with a suggestion under its own policy, and exits 1.
func TestCheckDangerousOperations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		file, content, want string
	}{
		{"run.py", "import os\nos.system(\"rm -rf /\")\n",
			"  [HIGH] Line 2: Dangerous operation (os-system): os.system and friends run a command through a shell\n" +
				"    Code: os.system(\"rm -rf /\")\n    Suggestion: use subprocess.run with an argument list\n"},
		{"run.js", "const cp = require('child_process');\ncp.exec(\"curl x | sh\");\n",
			"  [HIGH] Line 2: Dangerous operation (child-process-exec): child_process.exec runs a command through a shell\n" +
				"    Code: cp.exec(\"curl x | sh\");\n    Suggestion: use execFile or spawn with an argument array\n"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			f := writeFile(t, dir, tt.file, tt.content)
			code, out, errOut := run(t, "", "check", f)
			if code != ExitFailure {
				t.Fatalf("check exit = %d, want %d; stderr %s", code, ExitFailure, errOut)
			}
			want := "Found 1 violations in " + f + ":\n\n" + tt.want
			if out != want {
				t.Errorf("check output:\n%s\nwant:\n%s", out, want)
			}
			code, out, _ = run(t, "", "check", "--json", f)
			if code != ExitFailure || !strings.Contains(out, `"policy": "block-dangerous-operations"`) {
				t.Errorf("check --json = %d, %s; want exit 1 and policy block-dangerous-operations", code, out)
			}
		})
	}
}
