package ui

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestMember(t *testing.T) {
	tests := []struct {
		data string
		want string // "" when not found
	}{
		{`{"agent_id":"a","args":{"decision":"x","q":[1,{"a":"}"}]},"decision":{"action":"allow","allowed":true,"rule":"r"},"seq":3}`,
			`{"action":"allow","allowed":true,"rule":"r"}`},
		{` { "decision" : null } `, `null`},
		{`{"a":"\"decision\":1","decision":[1,2]}`, `[1,2]`},
		{`{"a":-1.5e3,"b":true,"c":null,"decision":{}}`, `{}`},
		{`{"decision":1,"decision":2}`, ``}, // repeated: decode in full
		{`{"decis\u0069on":1}`, ``},         // escaped name: decode in full
		{`{"other":1}`, ``},                 // absent
		{`{}`, ``},                          // absent
		{`{"decision":{"a":1}`, ``},         // truncated
		{`{"decision":{"a":1}} x`, ``},      // trailing data
		{`{"decision":{"a":1},}`, ``},       // trailing comma
		{`[{"decision":1}]`, ``},            // not an object
		{"{\"decision\":\"a\x01\"}", ``},    // control character
		{`{"decision":"unterminated}`, ``},  // unterminated string
		{`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"decision":1}`, ``},
	}
	for _, tt := range tests {
		got, ok := member([]byte(tt.data), "decision")
		if ok != (tt.want != "") || string(got) != tt.want {
			t.Errorf("member(%s) = %s, %v; want %s", tt.data, got, ok, tt.want)
		}
	}
}

func FuzzMember(f *testing.F) {
	f.Add([]byte(`{"args":{"decision":"x"},"decision":{"allowed":false,"rule":"r","policy":"p"},"seq":1}`))
	f.Add([]byte(`{"a":"\"","decision":[1,{"b":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		val, ok := member(data, "decision")
		if !ok || !json.Valid(data) {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("valid object %q does not decode: %v", data, err)
		}
		want, found := m["decision"]
		if !found {
			t.Fatalf("member(%q) = %q, but the object has no decision member", data, val)
		}
		if !bytes.Equal(val, want) {
			t.Fatalf("member(%q) = %q, want %q", data, val, want)
		}
	})
}

// fullDecision decodes the counted fields as encoding/json does.
func fullDecision(data []byte) (allowed bool, rule, policy string, err error) {
	var we struct {
		Decision struct {
			Allowed bool   `json:"allowed"`
			Rule    string `json:"rule"`
			Policy  string `json:"policy"`
		} `json:"decision"`
	}
	err = json.Unmarshal(data, &we)
	return we.Decision.Allowed, we.Decision.Rule, we.Decision.Policy, err
}

func TestDecisionFields(t *testing.T) {
	tests := []struct {
		data    string
		ok      bool
		allowed bool
		rule    string
		policy  string
	}{
		{`{"args":{"decision":{"allowed":true}},"decision":{"action":"deny","allowed":false,"policy":"p","policy_version":"v","reason":"no \"way\"","rule":"r"},"seq":1}`,
			true, false, "r", "p"},
		{`{"decision":{"action":"allow","allowed":true}}`, true, true, "", ""},
		{`{"decision":{"allowed":true,"rule":"héllo"}}`, true, true, "héllo", ""},
		{`{"decision":{"allowed":true,"rule":"a\"b"}}`, false, false, "", ""}, // escaped: decoded in full
		{`{"decision":{"allowed":1}}`, false, false, "", ""},
		{`{"decision":{"rule":5}}`, false, false, "", ""},
		{`{"decision":null}`, false, false, "", ""},
		{`{"decision":{"allowed":true,"allowed":false}}`, false, false, "", ""},
		{"{\"decision\":{\"rule\":\"\xff\"}}", false, false, "", ""},
	}
	for _, tt := range tests {
		allowed, rule, policy, ok := decisionFields([]byte(tt.data))
		if ok != tt.ok || allowed != tt.allowed || rule != tt.rule || policy != tt.policy {
			t.Errorf("decisionFields(%s) = %v %q %q %v, want %v %q %q %v", tt.data, allowed, rule, policy, ok,
				tt.allowed, tt.rule, tt.policy, tt.ok)
		}
		if ok {
			fa, fr, fp, err := fullDecision([]byte(tt.data))
			if err != nil || fa != allowed || fr != rule || fp != policy {
				t.Errorf("decisionFields(%s) disagrees with encoding/json: %v %q %q (%v)", tt.data, fa, fr, fp, err)
			}
		}
	}
}

func FuzzDecisionFields(f *testing.F) {
	f.Add([]byte(`{"decision":{"action":"deny","allowed":false,"policy":"p","reason":"x","rule":"r"},"seq":1}`))
	f.Add([]byte(`{"args":{"q":[1,"]"]},"decision":{"allowed":true,"rule":"a"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		allowed, rule, policy, ok := decisionFields(data)
		if !ok || !json.Valid(data) {
			return
		}
		fa, fr, fp, err := fullDecision(data)
		if err != nil {
			return // e.g. a member of another type elsewhere; the dashboard skips such events either way
		}
		if fa != allowed || fr != rule || fp != policy {
			t.Fatalf("decisionFields(%q) = %v %q %q, encoding/json %v %q %q", data, allowed, rule, policy, fa, fr, fp)
		}
	})
}
