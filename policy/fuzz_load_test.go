package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
)

// FuzzParse checks the loader's contract on arbitrary input, as YAML and as
// JSON: it never panics; a failure is located Errors with messages and no
// documents; a success formats, and the formatted text parses back to equal
// documents that format identically.
func FuzzParse(f *testing.F) {
	seeds := [][]byte{
		benchPolicy(),
		[]byte("version: 1.0\n"),
		[]byte("rules:\n  - &a {name: r, action: deny, condition: {field: f, operator: eq, value: [yes, 017, 1:30, 1e3, .inf, ~]}}\n  - <<: *a\n    name: s\n"),
		[]byte("---\nname: a\n---\nname: b\n"),
		[]byte(`{"rules": [{"name": "r", "action": "rate_limit", "limit": "5/s", "priority": 100000000000000000000}]}`),
		[]byte("rules: [{name: r, action: require_approval, approvers: [a], quorum: 1, timeout: 1m, match: {tools: ['*']}, when: 'true'}]\n"),
	}
	for _, p := range []string{"default.yaml", filepath.Join("..", "examples", "policies", "production.yaml")} {
		if data, err := os.ReadFile(p); err == nil {
			seeds = append(seeds, data)
		}
	}
	var pf loadParityFile
	paritytest.Load(f, "policy-evaluator.json", &pf)
	for _, c := range append(pf.YAML, pf.Load...) {
		for _, y := range c.DocumentsYAML {
			seeds = append(seeds, []byte(y))
		}
		for _, j := range c.Documents {
			seeds = append(seeds, j)
		}
	}
	for i, c := range pf.Curated {
		if i%4 == 0 {
			for _, j := range c.Documents {
				seeds = append(seeds, j)
			}
		}
	}
	for _, s := range seeds {
		f.Add(s, false)
		if json.Valid(s) {
			f.Add(s, true)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		name := "fuzz.yaml"
		if asJSON {
			name = "fuzz.json"
		}
		docs, err := Parse(name, data)
		if err != nil {
			if docs != nil {
				t.Fatalf("Parse returned documents with an error")
			}
			es := AsErrors(err)
			if len(es) == 0 {
				t.Fatalf("Parse error %T is not located: %v", err, err)
			}
			for _, e := range es {
				if e == nil || e.Msg == "" || e.Loc.File != name {
					t.Fatalf("bad error %#v", e)
				}
			}
			return
		}
		var out bytes.Buffer
		if err := Format(&out, docs); err != nil {
			t.Fatalf("Format of parsed documents: %v", err)
		}
		again, err := Parse("formatted.yaml", out.Bytes())
		if err != nil {
			t.Fatalf("Parse(Format(docs)): %v\n%s", err, out.String())
		}
		if d := docsDifference(again, docs); d != "" {
			t.Fatalf("round trip differs: %s\n%s", d, out.String())
		}
		var out2 bytes.Buffer
		if err := Format(&out2, again); err != nil || out2.String() != out.String() {
			t.Fatalf("Format is not stable: %v\n%s\nvs\n%s", err, out.String(), out2.String())
		}
		if len(Diff(docs, again)) != 0 {
			t.Fatalf("Diff of round-tripped documents = %q", Diff(docs, again))
		}
	})
}
