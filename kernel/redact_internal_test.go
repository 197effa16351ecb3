package kernel

import (
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/agentos/agentos/audit"
)

// Secrets of each shape audit.SecretShapes knows.
const (
	testAWSKey  = "AKIAIOSFODNN7EXAMPLE"
	testGitHub  = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
	testSlack   = "xoxb-1234567890-abcdef"
	testJWT     = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	testBearer  = "abcdefghijklmnop1234"
	testPEMBody = "MIIEowIBAAKCAQEAsecretkeymaterial"
	testPEM     = "-----BEGIN RSA PRIVATE KEY-----\n" + testPEMBody + "\n-----END RSA PRIVATE KEY-----"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	deep := func(leaf any, n int) any {
		v := leaf
		for range n {
			v = []any{map[string]any{"a": v}}
		}
		return v
	}
	tests := []struct {
		name    string
		in, out any
	}{
		// Key names: unchanged behaviour.
		{"secret key names", map[string]any{"password": "hunter2", "API-Key": 7, "refreshToken": map[string]any{"x": "y"}, "token_count": 3, "q": "a"},
			map[string]any{"password": Redacted, "API-Key": Redacted, "refreshToken": Redacted, "token_count": 3, "q": "a"}},
		{"secret key nested", map[string]any{"db": []any{map[string]any{"user": "bob", "passwd": "x"}}},
			map[string]any{"db": []any{map[string]any{"user": "bob", "passwd": Redacted}}}},
		// Each shape under an ordinary key, the rest of the string kept.
		{"aws key in body", map[string]any{"body": "AWS_ACCESS_KEY_ID=" + testAWSKey + " aws s3 ls"},
			map[string]any{"body": "AWS_ACCESS_KEY_ID=[REDACTED] aws s3 ls"}},
		{"bearer in command", map[string]any{"cmd": "curl -H 'Authorization: Bearer " + testBearer + "' https://api.example.com"},
			map[string]any{"cmd": "curl -H 'Authorization: Bearer [REDACTED]' https://api.example.com"}},
		{"github token in url", map[string]any{"url": "https://" + testGitHub + "@github.com/o/r.git"},
			map[string]any{"url": "https://[REDACTED]@github.com/o/r.git"}},
		{"slack token", map[string]any{"text": testSlack}, map[string]any{"text": Redacted}},
		{"jwt", map[string]any{"header": "Cookie: s=" + testJWT}, map[string]any{"header": "Cookie: s=[REDACTED]"}},
		{"pem in content", map[string]any{"path": "/srv/key.pem", "content": testPEM + "\n"},
			map[string]any{"path": "/srv/key.pem", "content": "[REDACTED]\n"}},
		// Nested in arrays and maps.
		{"in an array", map[string]any{"env": []any{"A=1", "KEY=" + testAWSKey, json.Number("3")}},
			map[string]any{"env": []any{"A=1", "KEY=[REDACTED]", json.Number("3")}}},
		{"in a nested map", map[string]any{"req": map[string]any{"headers": map[string]any{"X-Slack": testSlack}, "n": true}},
			map[string]any{"req": map[string]any{"headers": map[string]any{"X-Slack": Redacted}, "n": true}}},
		{"deeply nested", map[string]any{"v": deep("t="+testGitHub, 12)}, map[string]any{"v": deep("t=[REDACTED]", 12)}},
		{"too deep", map[string]any{"v": deep("x", 20)}, map[string]any{"v": deep("[TRUNCATED: nested too deep]", 16)}},
		// Keys holding a secret are renamed, as audit.Redact does.
		{"secret-shaped keys", map[string]any{testAWSKey: "v", testGitHub: map[string]any{"a": "b"}, "[REDACTED]": "kept", "q": 1},
			map[string]any{"[REDACTED]": "kept", "[REDACTED] 2": Redacted, "[REDACTED] 3": Redacted, "q": 1}},
		{"secret-shaped and secret-named key", map[string]any{"Bearer " + testBearer + " token": "x"},
			map[string]any{"[REDACTED]": Redacted}},
		{"labels", map[string]any{"labels": map[string]string{"team": "a", "ci": "key " + testAWSKey, "secret": "s", testSlack: "x"}},
			map[string]any{"labels": map[string]string{"team": "a", "ci": "key [REDACTED]", "secret": Redacted, "[REDACTED]": Redacted}}},
		{"top-level string", "Bearer " + testBearer, "Bearer [REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := deepCopy(tt.in)
			got := redact(tt.in)
			if !reflect.DeepEqual(got, tt.out) {
				t.Errorf("redact(%v)\n got %#v\nwant %#v", tt.in, got, tt.out)
			}
			if !reflect.DeepEqual(tt.in, in) {
				t.Errorf("redact changed its input: %v, was %v", tt.in, in)
			}
		})
	}
}

// deepCopy copies the maps and slices of a decoded value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]string:
		return maps.Clone(x)
	}
	return v
}

// TestRedactOrdinaryNoCopy: arguments without a secret come back as they
// are, the same map, without allocating.
func TestRedactOrdinaryNoCopy(t *testing.T) {
	var got any
	if n := testing.AllocsPerRun(100, func() { got = redact(benchOrdinaryArgs) }); n != 0 {
		t.Errorf("redact of ordinary arguments allocates %v times, want 0", n)
	}
	if reflect.ValueOf(got).UnsafePointer() != reflect.ValueOf(benchOrdinaryArgs).UnsafePointer() {
		t.Errorf("redact of ordinary arguments returned a copy")
	}
	labels := map[string]string{"team": "billing", "env": "prod"}
	if got := redact(labels); reflect.ValueOf(got).UnsafePointer() != reflect.ValueOf(labels).UnsafePointer() {
		t.Errorf("redact of ordinary labels returned a copy")
	}
}

// FuzzRedactArgs: redaction of decoded arguments never panics, leaves no
// string or key a secret shape flags (or a secret-named key's value), and
// returns arguments holding neither as they are.
func FuzzRedactArgs(f *testing.F) {
	for _, s := range []string{`{}`, `{"q":"select 1","n":[1,{"a":null}]}`, `{"password":"hunter2"}`,
		`{"cmd":"curl -H 'Authorization: Bearer ` + testBearer + `'"}`, `{"body":{"env":["K=` + testAWSKey + `"]}}`,
		`{"` + testGitHub + `":1,"[REDACTED]":2}`, `{"c":"` + strings.ReplaceAll(testPEM, "\n", `\n`) + `"}`,
		`{"a":["` + testJWT + `","` + testSlack + `"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		args, err := decodeArgs(raw)
		if err != nil {
			return
		}
		in := deepCopy(args)
		got := redact(args)
		if !reflect.DeepEqual(args, in) {
			t.Fatalf("redact changed its input %s", raw)
		}
		if leak := secretLeft(got); leak != "" {
			t.Fatalf("redact(%s) = %v leaves %q", raw, got, leak)
		}
		if secretLeft(args) == "" && !hasSecretKey(args) &&
			reflect.ValueOf(got).UnsafePointer() != reflect.ValueOf(args).UnsafePointer() {
			t.Fatalf("redact(%s) copied arguments holding no secret", raw)
		}
	})
}

// secretLeft returns a string or key of v that a secret shape flags, or a
// string under a secret-named key, or "".
func secretLeft(v any) string {
	switch x := v.(type) {
	case string:
		if (audit.SecretShapes{}).IsSecret(x) {
			return x
		}
	case map[string]any:
		for k, e := range x {
			if (audit.SecretShapes{}).IsSecret(k) {
				return k
			}
			if secretKey(k) && e != Redacted {
				return k + ": " + jsonText(e)
			}
			if s := secretLeft(e); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range x {
			if s := secretLeft(e); s != "" {
				return s
			}
		}
	}
	return ""
}

// hasSecretKey reports whether v has a secret-named key at any depth.
func hasSecretKey(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if secretKey(k) || hasSecretKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasSecretKey(e) {
				return true
			}
		}
	}
	return false
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Arguments for the redaction benchmarks: typical tool-call arguments with
// no secret, and the same carrying secret-shaped values under ordinary keys.
var (
	benchOrdinaryArgs = map[string]any{
		"query": "select name, email from users where id = 42", "limit": 10,
		"tags": []any{"billing", "eu-west-1"},
		"opts": map[string]any{"path": "/srv/app/config.yaml", "verbose": true, "note": "retry after the rebase"},
	}
	benchSecretArgs = map[string]any{
		"command": "curl -H 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345' https://api.example.com/v1/items",
		"limit":   10,
		"env":     []any{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "REGION=eu-west-1"},
		"opts":    map[string]any{"path": "/srv/app/config.yaml", "verbose": true},
	}
)

// BenchmarkRedact measures redacting an audit event's arguments: ordinary
// ones (returned as they are) and ones holding secret-shaped values.
func BenchmarkRedact(b *testing.B) {
	for _, bc := range []struct {
		name string
		args map[string]any
	}{{"ordinary", benchOrdinaryArgs}, {"secret", benchSecretArgs}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = redact(bc.args)
			}
		})
	}
}
