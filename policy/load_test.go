package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestParseErrors: every problem is reported, located at file:line:col with
// the field path, and nothing is returned.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, src string
		want            []string // each must appear among the error lines
	}{
		{"version float", "p.yaml", "version: 1.0\n", []string{`p.yaml:1:10: version: must be a string; quote it: "1.0"`}},
		{"version int", "p.yaml", "version: 1\n", []string{`p.yaml:1:10: version: must be a string; quote it: "1"`}},
		{"version json", "p.json", `{"version": 1.0}`, []string{`p.json:1:13: version: must be a string, not a number`}},
		{"name bool", "p.yaml", "name: yes\n", []string{`p.yaml:1:7: name: must be a string; quote it: "yes"`}},
		{"unknown top key", "p.yaml", "name: x\nrulez: []\n", []string{`p.yaml:2:1: rulez: unknown field "rulez"; did you mean "rules"?`}},
		{"unknown rule key", "p.yaml", "rules:\n  - name: r\n    condtion: {field: f, operator: eq, value: 1}\n    action: deny\n",
			[]string{`p.yaml:3:5: rules.0.condtion: unknown field "condtion"; did you mean "condition"?`}},
		{"missing name and action", "p.yaml", "rules:\n  - priority: 1\n",
			[]string{`p.yaml:2:5: rules.0.action: required field is missing`, `p.yaml:2:5: rules.0.name: required field is missing`}},
		{"bad operator and action", "p.yaml", "rules:\n  - name: r\n    condition: {field: f, operator: equals, value: 1}\n    action: DENY\n",
			[]string{`p.yaml:3:37: rules.0.condition.operator: must be one of eq, ne, gt, lt, gte, lte, in, contains, matches; got "equals"`,
				`p.yaml:4:13: rules.0.action: must be one of allow, deny, audit, block, require_approval, rate_limit; got "DENY"`}},
		{"missing value", "p.yaml", "rules:\n  - name: r\n    condition: {field: f, operator: eq}\n    action: deny\n",
			[]string{`p.yaml:3:16: rules.0.condition.value: required field is missing`}},
		{"priority float", "p.yaml", "rules:\n  - name: r\n    priority: 7.0\n    action: deny\n", []string{`p.yaml:3:15: rules.0.priority: must be an integer, not 7.0`}},
		{"priority string", "p.yaml", "rules:\n  - name: r\n    priority: \"7\"\n    action: deny\n", []string{`p.yaml:3:15: rules.0.priority: must be an integer, not a string`}},
		{"priority beyond int64", "p.json", `{"rules": [{"name": "r", "action": "deny", "priority": 100000000000000000000}]}`,
			[]string{`p.json:1:56: rules.0.priority: 100000000000000000000 does not fit in a 64-bit integer`}},
		{"confidence range", "p.yaml", "defaults: {confidence_threshold: 7}\n", []string{`p.yaml:1:34: defaults.confidence_threshold: must be at most 1, not 7`}},
		{"confidence nan", "p.yaml", "defaults: {confidence_threshold: .nan}\n", []string{`defaults.confidence_threshold: must be a number from 0 to 1, not nan`}},
		{"defaults action", "p.yaml", "defaults: {action: rate_limit}\n", []string{`defaults.action: must be one of allow, deny, audit, block; got "rate_limit"`}},
		{"rate_limit without limit", "p.yaml", "rules:\n  - name: r\n    action: rate_limit\n", []string{`p.yaml:3:13: rules.0.limit: a rate_limit rule needs a limit such as "100/hour"`}},
		{"bad limit", "p.yaml", "rules:\n  - name: r\n    action: rate_limit\n    limit: 100/fortnight\n", []string{`p.yaml:4:12: rules.0.limit: bad rate "100/fortnight"`}},
		{"limit without rate_limit", "p.yaml", "rules:\n  - name: r\n    action: deny\n    limit: 5/s\n", []string{`rules.0.limit: limit only applies to rate_limit rules, not deny`}},
		{"quorum above approvers", "p.yaml", "rules:\n  - name: r\n    action: require_approval\n    approvers: [a]\n    quorum: 2\n",
			[]string{`p.yaml:5:13: rules.0.quorum: quorum 2 is more than the 1 approvers listed`}},
		{"approvers on deny", "p.yaml", "rules:\n  - name: r\n    action: deny\n    approvers: [a]\n", []string{`rules.0.approvers: approvers only applies to require_approval rules, not deny`}},
		{"bad timeout", "p.yaml", "rules:\n  - name: r\n    action: require_approval\n    timeout: 10 minutes\n", []string{`rules.0.timeout: "10 minutes" is not a duration`}},
		{"negative timeout", "p.yaml", "rules:\n  - name: r\n    action: require_approval\n    timeout: -1m\n", []string{`rules.0.timeout: must be positive, not -1m`}},
		{"on_violation on allow", "p.yaml", "rules:\n  - name: r\n    action: allow\n    on_violation: kill\n", []string{`rules.0.on_violation: on_violation only applies to rules that deny, not allow`}},
		{"duplicate key", "p.yaml", "name: a\nname: b\n", []string{`p.yaml:2:1: name: duplicate key "name" (first written at line 1)`}},
		{"duplicate key json", "p.json", "{\"name\": \"a\",\n \"name\": \"b\"}", []string{`p.json:2:2: name: duplicate key "name" (first written at line 1)`}},
		{"date value", "p.yaml", "rules:\n  - name: r\n    condition: {field: f, operator: eq, value: 2024-01-02}\n    action: deny\n",
			[]string{`p.yaml:3:48: rules.0.condition.value: 2024-01-02 is a YAML 1.1 date`}},
		{"document not a mapping", "p.yaml", "- a\n", []string{`p.yaml:1:1: a policy document must be a mapping, not a list`}},
		{"rules null", "p.yaml", "rules:\n", []string{`p.yaml:1:7: rules: must be a list, not null`}},
		{"yaml syntax", "p.yaml", "name: x\nrules:\n\t- name: r\n", []string{`p.yaml:3: invalid YAML: found character that cannot start any token`}},
		{"json syntax", "p.json", "{\"name\": \"x\",\n}", []string{`p.json:2:1: invalid JSON: invalid character '}' looking for beginning of object key string`}},
		{"json trailing data", "p.json", `{"name": "x"} {}`, []string{`p.json:1:15: invalid JSON: unexpected data after the document`}},
		{"json empty", "p.json", "", []string{`p.json:1:1: invalid JSON: empty file`}},
		{"json array", "p.json", `[{"name": "x"}]`, []string{`p.json:1:1: a policy document must be a mapping, not a list`}},
		{"alias cycle", "p.yaml", "a: &a\n  b: *a\n", []string{`p.yaml:2:6: a.b.b: alias *a refers to a node that contains it`}},
		{"merge non-mapping", "p.yaml", "x: &x [1]\nrules:\n  - <<: *x\n    name: r\n    action: deny\n", []string{`a merge key (<<) must refer to a mapping`}},
		{"second document", "p.yaml", "name: ok\n---\nname: [x]\n", []string{`p.yaml:3:7: name: must be a string, not a list`}},
		{"empty when", "p.yaml", "rules:\n  - name: r\n    when: \"\"\n    action: deny\n", []string{`rules.0.when: must not be empty`}},
		{"duplicate approvers", "p.yaml", "rules:\n  - name: r\n    action: require_approval\n    approvers: [a, a]\n", []string{`rules.0.approvers: items 0 and 1 are the same`}},
		{"bad strategy", "p.yaml", "strategy: first_match\n", []string{`strategy: must be one of priority_first_match, deny_overrides, allow_overrides, most_specific_wins; got "first_match"`}},
		{"plain equals", "p.yaml", "name: =\n", []string{`name: a plain = is YAML 1.1's value key`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			docs, err := Parse(tt.file, []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse(%q) = %d docs, want an error", tt.src, len(docs))
			}
			if docs != nil {
				t.Errorf("Parse returned documents with an error")
			}
			es := AsErrors(err)
			if len(es) == 0 {
				t.Fatalf("Parse error %T %v is not located", err, err)
			}
			for _, e := range es {
				if e.Msg == "" || e.Loc.File != tt.file {
					t.Errorf("error %#v lacks a message or the file name", e)
				}
			}
			got := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Parse(%q) errors:\n%s\nwant a line containing:\n%s", tt.src, got, w)
				}
			}
		})
	}
}

// TestParseReportsEveryProblem: problems in several rules and documents are
// all reported, sorted by position.
func TestParseReportsEveryProblem(t *testing.T) {
	t.Parallel()
	src := "version: 1.0\nrules:\n  - name: a\n    action: nope\n  - name: b\n    priority: x\n    action: deny\n---\nname: 3\n"
	_, err := Parse("m.yaml", []byte(src))
	es := AsErrors(err)
	want := []string{"version", "rules.0.action", "rules.1.priority", "name"}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, e := range es {
		if e.Field != want[i] {
			t.Errorf("error %d field = %q, want %q (errors must be sorted by position)", i, e.Field, want[i])
		}
	}
}

func TestParseDocument(t *testing.T) {
	t.Parallel()
	src := `version: "2.0"
name: full
description: every field
strategy: deny_overrides
defaults:
  action: deny
  max_tokens: 100
  max_tool_calls: 3
  confidence_threshold: 1
policies: [read_only]
rules:
  - name: r1
    priority: -5
    condition: {field: tool_name, operator: in, value: [a, 1, 1.5, true, null, {k: v}]}
    conditions:
      - {field: x, operator: gt, value: 99999999999999999999}
    match: {tools: ["t*"], agents: [a], syscalls: [file_read]}
    when: 'args.x == 1'
    action: require_approval
    message: m
    on_violation: stop
    approvers: [alice, bob]
    quorum: 2
    timeout: 1h30m
    scope: agent
  - name: r2
    action: rate_limit
    limit: 10/minute
`
	docs, err := Parse("full.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	d := docs[0]
	if d.Version != "2.0" || d.Name != "full" || d.Description != "every field" || d.Strategy != StrategyDenyOverrides ||
		d.Defaults != (Defaults{Action: ActionDeny, MaxTokens: 100, MaxToolCalls: 3, ConfidenceThreshold: 1}) ||
		fmt.Sprint(d.Policies) != "[read_only]" {
		t.Errorf("document fields = %+v", d)
	}
	if d.Loc != (Location{File: "full.yaml", Line: 1, Col: 1}) {
		t.Errorf("Loc = %+v", d.Loc)
	}
	r := d.Rules[0]
	big20, _ := new(big.Int).SetString("99999999999999999999", 10)
	wantValue := []any{"a", int64(1), 1.5, true, nil, map[string]any{"k": "v"}}
	if r.Name != "r1" || r.Priority != -5 || r.When != "args.x == 1" || r.Action != ActionRequireApproval || r.Message != "m" ||
		r.OnViolation != "stop" || fmt.Sprint(r.Approvers) != "[alice bob]" || r.Quorum != 2 || r.Timeout != 90*time.Minute ||
		r.Scope != ScopeAgent || r.Loc != (Location{File: "full.yaml", Line: 12, Col: 5}) {
		t.Errorf("rule = %+v", r)
	}
	if valueCanon(r.Condition.Value) != valueCanon(wantValue) || r.Condition.Field != "tool_name" || r.Condition.Operator != OpIn {
		t.Errorf("condition = %+v", r.Condition)
	}
	if len(r.Conditions) != 1 || valueCanon(r.Conditions[0].Value) != valueCanon(big20) {
		t.Errorf("conditions = %+v", r.Conditions)
	}
	if r.Match == nil || fmt.Sprint(r.Match.Tools, r.Match.Agents, r.Match.Syscalls) != "[t*] [a] [file_read]" {
		t.Errorf("match = %+v", r.Match)
	}
	if d.Rules[1].Limit != "10/minute" {
		t.Errorf("limit = %q", d.Rules[1].Limit)
	}
	if got := d.Fields["rules.0.condition.value"]; got != (Location{File: "full.yaml", Line: 14, Col: 56}) {
		t.Errorf(`Fields["rules.0.condition.value"] = %+v`, got)
	}
	if got := d.Fields["rules.1.limit"]; got.Line != 28 {
		t.Errorf(`Fields["rules.1.limit"] = %+v`, got)
	}
}

func TestParseDefaultsFilled(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"{}", "rules: []\n"} {
		docs, err := Parse("d.yaml", []byte(src))
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		d := docs[0]
		if d.Version != "1.0" || d.Name != "unnamed" || d.Defaults != (Defaults{MaxTokens: 4096, MaxToolCalls: 10, ConfidenceThreshold: 0.8}) {
			t.Errorf("Parse(%q) = %+v, want reference defaults", src, d)
		}
	}
}

func TestParseEmptyAndMultiDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src   string
		names []string
	}{
		{"", nil},
		{"# only a comment\n", nil},
		{"---\n", nil},
		{"name: a\n---\nname: b\n", []string{"a", "b"}},
		{"---\nname: a\n---\n---\nname: c\n...\n", []string{"a", "c"}},
	}
	for _, tt := range tests {
		docs, err := Parse("s.yaml", []byte(tt.src))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		var names []string
		for _, d := range docs {
			names = append(names, d.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(tt.names) {
			t.Errorf("Parse(%q) names = %v, want %v", tt.src, names, tt.names)
		}
	}
}

// TestParseMergeKeys: YAML merge keys work as in PyYAML; explicit keys win.
func TestParseMergeKeys(t *testing.T) {
	t.Parallel()
	src := `rules:
  - &base
    name: r1
    condition: {field: f, operator: eq, value: x}
    action: deny
    priority: 5
  - <<: [*base, {message: merged, priority: 7}]
    name: r2
    action: audit
`
	docs, err := Parse("m.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r2 := docs[0].Rules[1]
	if r2.Name != "r2" || r2.Action != ActionAudit || r2.Priority != 5 || r2.Message != "merged" || r2.Condition == nil || r2.Condition.Value != "x" {
		t.Errorf("merged rule = %+v", r2)
	}
}

// TestParseAliasBomb: aliases cannot expand a small file exponentially.
func TestParseAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("rules:\n  - name: r\n    action: deny\n    condition:\n      field: f\n      operator: in\n      value:\n        a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "        a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "aliases expand to more than") {
		t.Fatalf("Parse(alias bomb) error = %v, want the alias expansion limit", err)
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("#"), MaxFileSize+1)
	if _, err := Parse("big.yaml", big); err == nil || !strings.Contains(err.Error(), "limited to") {
		t.Errorf("Parse(oversized) error = %v", err)
	}
	deep := strings.Repeat("[", maxDepth+5) + strings.Repeat("]", maxDepth+5)
	if _, err := Parse("deep.yaml", []byte("name: "+deep+"\n")); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("Parse(deep yaml) error = %v", err)
	}
	if _, err := Parse("deep.json", []byte(`{"name": `+deep+`}`)); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("Parse(deep json) error = %v", err)
	}
}

// TestParseJSONNumbers: JSON numbers keep Python's int/float distinction.
func TestParseJSONNumbers(t *testing.T) {
	t.Parallel()
	src := `{"rules": [{"name": "r", "action": "deny", "condition": {"field": "f", "operator": "in", "value": [1, 1.0, 1e3, -0, 123456789012345678901234567890, 1e400]}}]}`
	docs, err := Parse("n.json", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := valueCanon(docs[0].Rules[0].Condition.Value)
	want := "[int:1,float:1.0,float:1000.0,int:0,big:123456789012345678901234567890,float:inf]"
	if got != want {
		t.Errorf("values = %s, want %s", got, want)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.yaml"), "name: b\n---\nname: b2\n")
	writeFile(t, filepath.Join(dir, "a.json"), `{"name": "a"}`)
	writeFile(t, filepath.Join(dir, "c.yml"), "name: c\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "name: ignored\n")
	writeFile(t, filepath.Join(dir, "sub", "d.yaml"), "name: nested\n")
	writeFile(t, filepath.Join(dir, "empty.yaml"), "")
	extra := filepath.Join(t.TempDir(), "z.yaml")
	writeFile(t, extra, "name: z\n")

	docs, err := LoadFiles(extra, dir, filepath.Join(dir, "c.yml"))
	if err != nil {
		t.Fatalf("LoadFiles: %v", err)
	}
	var names []string
	for _, d := range docs {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, ","); got != "z,a,b,b2,c" {
		t.Errorf("LoadFiles names = %s, want z,a,b,b2,c (argument order, lexical in a directory, not recursive, each file once)", got)
	}
	if docs[1].Loc.File != filepath.Join(dir, "a.json") {
		t.Errorf("document file = %q", docs[1].Loc.File)
	}
}

func TestLoadFilesErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad1.yaml"), "version: 1.0\n")
	writeFile(t, filepath.Join(dir, "bad2.json"), `{"rules": 1}`)
	writeFile(t, filepath.Join(dir, "good.yaml"), "name: good\n")
	missing := filepath.Join(dir, "missing.yaml")
	docs, err := LoadFiles(dir, missing)
	if docs != nil || err == nil {
		t.Fatalf("LoadFiles = %v, %v; want an error and no documents", docs, err)
	}
	es := AsErrors(err)
	var files []string
	for _, e := range es {
		files = append(files, filepath.Base(e.Loc.File))
	}
	if got := strings.Join(files, ","); got != "bad1.yaml,bad2.json,missing.yaml" {
		t.Errorf("error files = %s; errors:\n%v", got, err)
	}
	if !strings.Contains(err.Error(), "missing.yaml: no such file or directory") {
		t.Errorf("missing path error = %v", err)
	}
}

func TestLoadFilesTooLarge(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = LoadFiles(path)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("LoadFiles(oversized) error = %v", err)
	}
}

func TestLoadFilesTooMany(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := range MaxFiles + 1 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("p%04d.yaml", i)), "")
	}
	_, err := LoadFiles(dir)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at most %d", MaxFiles)) {
		t.Errorf("LoadFiles(too many) error = %v", err)
	}
}

func TestLoadFilesNotRegular(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/null character device on windows")
	}
	_, err := LoadFiles(os.DevNull)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("LoadFiles(%s) error = %v", os.DevNull, err)
	}
}

// TestExamplePolicies: the shipped example and built-in policies load and
// compile.
func TestExamplePolicies(t *testing.T) {
	t.Parallel()
	docs, err := LoadFiles(filepath.Join("..", "examples", "policies"))
	if err != nil {
		t.Fatalf("LoadFiles(examples/policies): %v", err)
	}
	found := false
	for _, d := range docs {
		if d.Name == "production" {
			found = true
			if len(d.Rules) < 8 {
				t.Errorf("production policy has %d rules", len(d.Rules))
			}
			if _, err := Compile([]*Document{d}, CompileOptions{}); err != nil {
				t.Errorf("Compile(production.yaml): %v", err)
			}
		}
	}
	if !found {
		t.Error("examples/policies/production.yaml not loaded")
	}
}

func TestSchemaEmbedded(t *testing.T) {
	t.Parallel()
	if _, err := compiledSchema(); err != nil {
		t.Fatalf("embedded schema does not compile: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal(Schema(), &v); err != nil || v["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("Schema() = %v, %v", v["$schema"], err)
	}
	s := Schema()
	s[0] = 'x'
	if Schema()[0] != '{' {
		t.Error("Schema() returns the embedded bytes, not a copy")
	}
}

// TestParseErrorType: errors are Errors, usable with errors.As.
func TestParseErrorType(t *testing.T) {
	t.Parallel()
	_, err := Parse("e.yaml", []byte("name: [\n"))
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Loc.File != "e.yaml" {
		t.Errorf("Parse error = %#v, want Errors", err)
	}
}

// benchPolicy is a realistic 10-rule document.
func benchPolicy() []byte {
	var b strings.Builder
	b.WriteString("version: \"1.0\"\nname: bench\ndefaults:\n  action: deny\nrules:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  - name: rule-%d\n    priority: %d\n    condition:\n      field: tool_name\n      operator: in\n      value: [tool_%d, other_%d]\n    action: allow\n    message: rule %d matched\n", i, 100-i, i, i, i)
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	data := benchPolicy()
	if _, err := Parse("bench.yaml", data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("bench.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSON(b *testing.B) {
	docs, err := Parse("bench.yaml", benchPolicy())
	if err != nil {
		b.Fatal(err)
	}
	data, err := json.Marshal(docToJSON(docs[0]))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("bench.json", data); err != nil {
			b.Fatal(err)
		}
	}
}

// docToJSON renders the parts of a document the benchmark uses as JSON.
func docToJSON(d *Document) map[string]any {
	rules := make([]any, len(d.Rules))
	for i, r := range d.Rules {
		rules[i] = map[string]any{
			"name": r.Name, "priority": r.Priority, "action": r.Action, "message": r.Message,
			"condition": map[string]any{"field": r.Condition.Field, "operator": r.Condition.Operator, "value": r.Condition.Value},
		}
	}
	return map[string]any{"version": d.Version, "name": d.Name, "defaults": map[string]any{"action": d.Defaults.Action}, "rules": rules}
}

// BenchmarkLoad10Rules is loading a 10-rule YAML document from bytes:
// parse, validate and compile, as a reload does.
func BenchmarkLoad10Rules(b *testing.B) {
	data := benchPolicy()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		docs, err := Parse("bench.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(docs, CompileOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
