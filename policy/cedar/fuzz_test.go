package cedar_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentos/agentos/policy/cedar"
)

// FuzzPascalCase checks the action-name mapping: no underscore survives,
// the mapping is idempotent, valid UTF-8 stays valid, and only the first
// rune of each part can change.
func FuzzPascalCase(f *testing.F) {
	for _, s := range []string{"file_read", "a__b", "_x", "x_", "2fa_check", "get_HTTP", "émettre_reçu", "ǆ_x", "ß", "\xff_a", "", "___", "github.create_issue"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cedar.PascalCase(s)
		if strings.Contains(got, "_") {
			t.Fatalf("PascalCase(%q) = %q contains '_'", s, got)
		}
		if again := cedar.PascalCase(got); again != got {
			t.Fatalf("PascalCase not idempotent: %q -> %q -> %q", s, got, again)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("PascalCase(%q) = %q is not valid UTF-8", s, got)
		}
		if strings.ReplaceAll(s, "_", "") == "" && got != "" {
			t.Fatalf("PascalCase(%q) = %q, want empty", s, got)
		}
		runes := 0
		for _, part := range strings.Split(s, "_") {
			runes += utf8.RuneCountInString(part)
		}
		if utf8.RuneCountInString(got) != runes {
			t.Fatalf("PascalCase(%q) = %q changed the number of runes", s, got)
		}
	})
}

// FuzzCedarContext decodes arbitrary JSON as an input and decides it with
// the example policy. Properties: Decide never panics; a mapping error is
// an ErrInput error and never an allow; an error never comes with allow;
// an allow comes only from a tool some permit names.
func FuzzCedarContext(f *testing.F) {
	for _, seed := range []string{
		`{"tool_name": "file_read"}`,
		`{"tool_name": "refund_payment", "agent": {"labels": {"team": "payments"}}, "args": {"amount": 100}}`,
		`{"tool_name": "refund_payment", "agent": {"labels": {"team": "payments"}}, "args": {"amount": 100.5}}`,
		`{"tool_name": "refund_payment", "agent": {"labels": {"team": "payments"}}, "args": {"amount": 1e400}}`,
		`{"tool_name": "delete_file", "agent_id": "User::\"x\""}`,
		`{"tool_name": "file_read", "agent_id": "a::b"}`,
		`{"tool_name": 7, "agent": [1, 2, {"labels": null}]}`,
		`{"agent_id": "quarantined", "tool_name": "search", "args": {"q": "\u0000\ud800", "n": -0.0, "l": [null]}}`,
		`{"x": 0.00001, "y": 123456789012345678901234567890}`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	b, err := cedar.New(cedar.Options{Files: []string{examplePolicy}})
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
		_, mapErr := cedar.MapRequest(input)
		if mapErr != nil && !errors.Is(mapErr, cedar.ErrInput) {
			t.Fatalf("MapRequest(%s) error %v is not ErrInput", data, mapErr)
		}
		allowed, reason, err := b.Decide(t.Context(), input)
		if mapErr != nil && (err == nil || allowed) {
			t.Fatalf("Decide(%s) = %v, %v after mapping error %v", data, allowed, err, mapErr)
		}
		if err != nil {
			if allowed {
				t.Fatalf("Decide(%s) = allow with error %v", data, err)
			}
			return
		}
		if reason == "" {
			t.Fatalf("Decide(%s) gave no reason", data)
		}
		if tool, _ := input["tool_name"].(string); allowed && !permitted[tool] {
			t.Fatalf("Decide(%s) allowed tool %q", data, tool)
		}
	})
}
