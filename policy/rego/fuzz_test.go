package rego_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/agentos/agentos/policy/rego"
)

// FuzzRegoInput decodes arbitrary JSON as an input and decides it with
// the example policy. Properties: Decide never panics; an error never
// comes with allow; an allow comes only from a permitted tool; and the
// same input decides the same way twice.
func FuzzRegoInput(f *testing.F) {
	for _, seed := range []string{
		`{"tool_name": "file_read"}`,
		`{"tool_name": "refund_payment", "agent": {"labels": {"team": "payments"}}, "args": {"amount": 100}}`,
		`{"tool_name": "refund_payment", "agent": {"labels": {"team": "payments"}}, "args": {"amount": 1e400}}`,
		`{"tool_name": "delete_file", "agent_id": "bot"}`,
		`{"tool_name": 7, "agent": [1, 2, {"labels": null}]}`,
		`{"tool_name": "search", "args": {"q": "\u0000\ud800", "n": -0.0}}`,
		`{}`,
		`{"a": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(seed))
	}
	b, err := rego.New(rego.Options{Files: []string{examplePolicy}, Query: "data.agentos.decision", Timeout: testTimeout})
	if err != nil {
		f.Fatal(err)
	}
	permitted := map[string]bool{"file_read": true, "list_files": true, "search": true, "get_weather": true, "refund_payment": true}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var input map[string]any
		if dec.Decode(&input) != nil {
			return
		}
		allowed, reason, err := b.Decide(t.Context(), input)
		if err != nil {
			if allowed {
				t.Fatalf("Decide(%s) = allow with error %v", data, err)
			}
			if !errors.Is(err, rego.ErrInput) && !errors.Is(err, rego.ErrEval) && !errors.Is(err, rego.ErrResult) {
				t.Fatalf("Decide(%s) error %v wraps no sentinel", data, err)
			}
			return
		}
		if reason == "" {
			t.Fatalf("Decide(%s) gave no reason", data)
		}
		if tool, _ := input["tool_name"].(string); allowed && !permitted[tool] {
			t.Fatalf("Decide(%s) allowed tool %q", data, tool)
		}
		again, reason2, err := b.Decide(t.Context(), input)
		if err != nil || again != allowed || reason2 != reason {
			t.Fatalf("Decide(%s) not deterministic: %v %q then %v %q %v", data, allowed, reason, again, reason2, err)
		}
	})
}
