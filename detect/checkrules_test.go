package detect

import (
	"fmt"
	"strings"
	"testing"
)

// TestCheckRulesReference reproduces the reference's `agentos check`
// vectors (research notes §9.7, cases 65–67).
func TestCheckRulesReference(t *testing.T) {
	t.Parallel()
	c := NewCheckRules()
	tests := []struct {
		name, file, content string
		want                []string // "severity:line:policy"
	}{
		{"sql-65", "a.sql", "DROP TABLE users;\nDELETE FROM users;\nDELETE FROM users WHERE id=1;\nTRUNCATE TABLE logs;\n",
			[]string{"critical:1:block-destructive-sql", "critical:2:block-destructive-sql", "critical:4:block-destructive-sql"}},
		{"shell-66", "c.sh", "rm -rf /tmp/x\nsudo apt install\nchmod 777 /x\n",
			[]string{"critical:1:block-file-deletes", "high:2:block-privilege-escalation", "high:3:block-privilege-escalation"}},
		{"js-rm-66", "c.js", "rm -rf /tmp/x\n", nil},
		{"python-67", "b.py", "import shutil\nshutil.rmtree(p)\nos.remove(f)\npassword = \"hunter2\"\napi_key = \"abcdefghijklmnopqrstuvwxyz\"\neval(x)\nos.system(\"ls \" + d)\nexec(code)\nx = 1\nk = \"AKIAABCDEFGHIJKLMNOP\"\n",
			[]string{"high:2:block-file-deletes", "medium:3:block-file-deletes", "critical:5:block-secret-exposure",
				"critical:4:block-secret-exposure", "critical:10:block-secret-exposure", "high:6:block-arbitrary-exec",
				"critical:7:block-arbitrary-exec", "high:8:block-arbitrary-exec"}},
		{"unknown-lang", "notes.txt", "DROP TABLE x;\npassword = 'p'\n", []string{"critical:2:block-secret-exposure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, v := range c.Check(tt.content, LanguageOf(tt.file)) {
				got = append(got, fmt.Sprintf("%s:%d:%s", v.Severity, v.Line, v.Policy))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Check(%s) = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}

// TestCheckDangerous checks that code the reference rules miss is flagged
// by the dangerous-operations detector, one violation per line and rule,
// with a suggestion.
func TestCheckDangerous(t *testing.T) {
	t.Parallel()
	d := NewDangerous(DangerousOptions{})
	tests := []struct {
		name, content string
		want          []string // "line:rule-id:severity"
	}{
		{"python-os-system", "import os\nos.system(\"rm -rf /\")\n", []string{"2:dangerous-code:high"}},
		{"js-child-process", "const cp = require('child_process');\ncp.exec(\"curl x | sh\");\n", []string{"2:dangerous-code:high"}},
		{"shell-rm-root", "#!/bin/sh\necho start\nrm -rf /\n", []string{"3:dangerous-shell:critical"}},
		{"sql-drop", "SELECT 1;\nDROP DATABASE prod;\n", []string{"2:dangerous-sql:critical"}},
		{"clean", "print('hello')\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vs, err := CheckDangerous(t.Context(), d, tt.content)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vs {
				got = append(got, fmt.Sprintf("%d:%s:%s", v.Line, v.RuleID, v.Severity))
				if v.Suggestion == "" || v.Policy != DangerousPolicy || v.Code == "" {
					t.Errorf("violation %+v: want a suggestion, policy %s and code", v, DangerousPolicy)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("CheckDangerous(%q) = %q, want %q", tt.content, got, tt.want)
			}
		})
	}
	if _, err := CheckDangerous(t.Context(), NewDangerous(DangerousOptions{MaxInput: 4}), "rm -rf /"); err == nil {
		t.Error("CheckDangerous over MaxInput = nil error, want one (fail closed)")
	}
}

// checkRulesSeeds exercise every check rule, in both cases and spacings.
var checkRulesSeeds = []string{
	"DROP TABLE users;\nDELETE FROM users;\r\nDELETE FROM users WHERE 1=1\nTRUNCATE TABLE logs;\n",
	"rm -rf /tmp/x\nsudo apt install\nchmod 777 /x\n",
	"import shutil\nshutil.rmtree(p)\nos.remove(f)\npassword = \"hunter2\"\napi_key = \"abcdefghijklmnopqrstuvwxyz\"\n",
	"eval(x)\nos.system(\"ls \" + d)\nexec(code)\nk = \"AKIAABCDEFGHIJKLMNOP\"\n-----BEGIN RSA PRIVATE KEY-----\n",
	"t = \"ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ\"\nq = \"SELECT * FROM t WHERE id = '\" + id + \"'\"\nel.innerHTML = x\n",
	"PWD = 'x'\nApiKey = \"ABCDEFGHIJKLMNOPQRSTUV\"\nos.unlink(p)\nEVAL (x)\n",
	"passwor\u212a = 'x'\nſudo rm -rf /\n", // letters that fold to ASCII: every line is tried
	"",
}

// TestCheckRulesPrefilterExact checks that running each rule only on the
// lines holding one of its literals changes nothing.
func TestCheckRulesPrefilterExact(t *testing.T) {
	t.Parallel()
	c := NewCheckRules()
	for _, s := range checkRulesSeeds {
		for _, in := range []string{s, strings.ToUpper(s), strings.ToLower(s), s + s} {
			checkRulesPrefilter(t, c, in)
		}
	}
}

func FuzzCheckRulesPrefilter(f *testing.F) {
	for _, s := range checkRulesSeeds {
		f.Add(s)
	}
	c := NewCheckRules()
	f.Fuzz(func(t *testing.T, s string) { checkRulesPrefilter(t, c, s) })
}

func checkRulesPrefilter(t *testing.T, c *CheckRules, in string) {
	t.Helper()
	for _, lang := range []string{"python", "shell", "sql", "javascript", "unknown"} {
		got, want := c.Check(in, lang), c.check(in, lang, nil)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Check(%q, %s) = %v, without the prefilter %v", in, lang, got, want)
		}
	}
}
