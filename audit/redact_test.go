package audit

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name, in, want string
		opts           RedactOptions
	}{
		{name: "empty", in: "  ", want: ""},
		{name: "plain kept", in: `{"path":"/mem/a","n":1.50,"ok":true,"x":null}`, want: `{"n":1.50,"ok":true,"path":"/mem/a","x":null}`},
		{name: "secret keys", in: `{"password":"hunter2","API-Key":"k","Authorization":"Basic abc","db":{"Session_ID":"s","user":"bob"},"access_token":"t","max_tokens":100}`,
			want: `{"API-Key":"[REDACTED]","Authorization":"[REDACTED]","access_token":"[REDACTED]","db":{"Session_ID":"[REDACTED]","user":"bob"},"max_tokens":100,"password":"[REDACTED]"}`},
		{name: "nested under secret key", in: `{"credentials":{"user":"u","list":["a",1]}}`, want: `{"credentials":{"list":["[REDACTED]",1],"user":"[REDACTED]"}}`},
		{name: "secret shapes", in: `["AKIAIOSFODNN7EXAMPLE","see ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 here","xoxb-1234567890-abcdef","-----BEGIN RSA PRIVATE KEY-----\nMII","eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U","Authorization: Bearer abcdefghijklmnop1234","AKIA too short"]`,
			want: `["[REDACTED]","[REDACTED]","[REDACTED]","[REDACTED]","[REDACTED]","[REDACTED]","AKIA too short"]`},
		{name: "secret-shaped keys renamed", in: `{"AKIAIOSFODNN7EXAMPLE":{"a":"b","n":1},"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789":"x","[REDACTED]":"kept"}`,
			want: `{"[REDACTED]":"kept","[REDACTED] 2":{"a":"[REDACTED]","n":1},"[REDACTED] 3":"[REDACTED]"}`},
		{name: "large string hashed", in: `{"body":"` + big + `"}`, want: `{"body":{"bytes":5000,"sha256":"` + sha256Hex(big) + `"}}`},
		{name: "large kept when unlimited", in: `["` + big + `"]`, opts: RedactOptions{MaxString: -1}, want: `["` + big + `"]`},
		{name: "custom detector", in: `{"a":"magic word","b":"plain"}`, opts: RedactOptions{Detector: wordDetector("magic")}, want: `{"a":"[REDACTED]","b":"plain"}`},
		{name: "invalid json", in: `{"password":"hunter2"`, want: `{"invalid_json":{"bytes":21,"sha256":"` + sha256Hex(`{"password":"hunter2"`) + `"}}`},
		{name: "trailing data", in: `{} {}`, want: `{"invalid_json":{"bytes":5,"sha256":"` + sha256Hex(`{} {}`) + `"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Redact(json.RawMessage(tt.in), tt.opts)
			if tt.want == "" {
				if got != nil {
					t.Fatalf("Redact(%q) = %s, want nil", tt.in, got)
				}
				return
			}
			c, err := CanonicalJSON(got)
			if err != nil {
				t.Fatalf("Redact(%q) = %s: not valid JSON: %v", tt.in, got, err)
			}
			want, err := CanonicalJSON([]byte(tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if string(c) != string(want) {
				t.Fatalf("Redact(%s)\n got %s\nwant %s", tt.in, c, want)
			}
		})
	}
}

type wordDetector string

func (w wordDetector) IsSecret(s string) bool { return strings.Contains(s, string(w)) }

func sha256Hex(s string) string {
	var h [32]byte
	copy(h[:], sha256Sum([]byte(s)))
	return encodeHash(h)
}

// FuzzRedact: the output is always valid JSON and never contains a value
// stored under a secret-looking key.
func FuzzRedact(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"password":"hunter2","nested":{"token":["sekrit"]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := Redact(in, RedactOptions{MaxString: 64})
		if len(out) == 0 {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Redact(%q) = %q: not JSON", in, out)
		}
		if strings.Contains(string(out), "hunter2") && strings.Contains(string(in), `"password":"hunter2"`) {
			t.Fatalf("secret survived: %q", out)
		}
	})
}
