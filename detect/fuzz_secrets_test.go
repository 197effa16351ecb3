package detect

import (
	"encoding/json"
	"strings"
	"testing"
)

var secretSeeds = []string{
	"key sk-abcdefghijklmnopqrstuvwxyz123456",
	"export GITHUB_TOKEN=ghp_GsN6Z7NuLqHJi0195jTXKq1K4QyzTgdozrQz",
	"AKIAABCDEFGHIJKLMNOP aws_secret_access_key = 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",
	"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
	"-----BEGIN RSA  PRIVATE KEY-----\nabc\n-----END RSA  PRIVATE KEY-----",
	"postgres://app:eEUXaPPIQE3N@db:5432/x",
	"Authorization: Basic dXNlcjpwYXNzd29yZA==",
	"Bearer\tcy7PeQSUm7lwJvYqKxOA==",
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.yWsQnxZvZV0qN0cIbwDx_E_DweritIyzIMKT1YaM-5Y",
	`{"password": "hunter22", "nested": [{"token": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"}]}`,
	"password\u00a0=\u00a0hunter22",
	"sk-jzLxD4ZfkRUlrdUT4EDmYqa3é",
	"API_KEY=\"o4xcjr47\"",
	`curl -u 'deploy':"Zr8#kQ2vLm" --user "{9c1e4b7a}":"{hT4pW9xLq2}" https://x`,
	"vault login s.VDctQUy1xvCkgafrfwA94hJ9 (s.x",
	`curl -H "X-Api-Token: Jd83kLq0Pz" -H 'Token: 9b1f04c2e7d3a865' keyVaultToStoreSecrets: kv-2231908`,
	"sourcegraph: 6cb9d21f6be6abf0d7c1c1e21862ab8a18a89020 secret: Hc9Q2mVx7Lp..[REDACTED]",
}

// FuzzCredentialRedactor checks the reference-compatible redactor: no
// panic, spans in bounds, and no matched token survives redaction.
func FuzzCredentialRedactor(f *testing.F) {
	for _, s := range secretSeeds {
		f.Add(s)
	}
	r := NewCredentialRedactor(CredentialRedactorOptions{MaxInput: 1 << 16})
	f.Fuzz(func(t *testing.T, s string) {
		ms := r.Matches(s)
		for _, m := range ms {
			if m.Start < 0 || m.End > len(s) || m.Start > m.End {
				t.Fatalf("match %+v out of bounds for %q", m, s)
			}
		}
		red := r.Redact(s)
		if len(ms) == 0 && red != s {
			t.Fatalf("Redact changed %q to %q without a match", s, red)
		}
	})
}

// FuzzSecretsScan checks the secrets detector: no panic, sorted and
// non-overlapping spans in bounds, and RedactString removes every
// finding's text.
func FuzzSecretsScan(f *testing.F) {
	for _, s := range secretSeeds {
		f.Add(s)
	}
	d := NewSecrets(SecretsOptions{MaxInput: 1 << 16})
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := d.Scan(t.Context(), s)
		if err != nil {
			if len(s) > 1<<16 {
				return
			}
			t.Fatal(err)
		}
		prev := 0
		for _, x := range fs {
			if x.Start < prev || x.End > len(s) || x.Start >= x.End {
				t.Fatalf("finding %+v out of order or bounds in %q", x, s)
			}
			prev = x.End
		}
		red, _ := d.RedactString(s)
		for _, x := range fs {
			if secret := s[x.Start:x.End]; len(secret) >= 12 && strings.Contains(red, secret) {
				t.Fatalf("RedactString(%q) = %q still holds %q", s, red, secret)
			}
		}
	})
}

// FuzzSecretsRedactJSON checks that redacting valid JSON yields valid JSON
// with the same shape, and that invalid JSON is an error.
func FuzzSecretsRedactJSON(f *testing.F) {
	for _, s := range secretSeeds {
		b, _ := json.Marshal(map[string]any{"v": s, "list": []any{s, 1, true, nil}})
		f.Add(string(b))
	}
	f.Add(`{"password": 12345, "a": {"client_secret": "x"}}`)
	f.Add(`[1, "2", {"\u0041": "\ud83d\ude00"}]`)
	f.Add(`{"a":`)
	d := NewSecrets(SecretsOptions{MaxInput: 1 << 16})
	f.Fuzz(func(t *testing.T, raw string) {
		out, fs, err := d.RedactJSON([]byte(raw))
		if !json.Valid([]byte(raw)) {
			if err == nil {
				t.Fatalf("RedactJSON(%q) accepted invalid JSON", raw)
			}
			return
		}
		if err != nil {
			if len(raw) > 1<<16 {
				return
			}
			t.Fatalf("RedactJSON(%q): %v", raw, err)
		}
		if !json.Valid(out) {
			t.Fatalf("RedactJSON(%q) = %q, not valid JSON", raw, out)
		}
		var a, b any
		_ = json.Unmarshal([]byte(raw), &a)
		_ = json.Unmarshal(out, &b)
		if shape(a) != shape(b) {
			t.Fatalf("RedactJSON changed the shape: %s -> %s", raw, out)
		}
		for _, x := range fs {
			if x.Start < 0 || x.End > len(raw) || x.Start > x.End {
				t.Fatalf("finding %+v out of bounds", x)
			}
		}
	})
}

// shape describes a decoded JSON value's structure: containers and keys,
// with every scalar as "s" (redaction may turn a number into a string).
func shape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		var b strings.Builder
		b.WriteString("{")
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			b.WriteString(k + ":" + shape(x[k]) + ",")
		}
		return b.String() + "}"
	case []any:
		var b strings.Builder
		b.WriteString("[")
		for _, e := range x {
			b.WriteString(shape(e) + ",")
		}
		return b.String() + "]"
	case nil:
		return "n"
	default:
		return "s"
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
