package detect

import (
	"context"
	"strings"
	"testing"
)

// cleanText is mostly clean prose and code, the common case.
func cleanText(n int) string {
	const para = "The agent reads the configuration file, checks the user's request against the policy, " +
		"and calls the tool with the key arguments. func handle(ctx context.Context, req *Request) error {\n" +
		"\tif err := validate(req); err != nil { return fmt.Errorf(\"validate: %w\", err) }\n" +
		"\treturn store.Put(ctx, req.ID, req.Body) // token bucket refills at 10/s\n}\n"
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(para)
	}
	return b.String()[:n]
}

func benchDetector(b *testing.B, d Detector, input string) {
	b.Helper()
	ctx := context.Background()
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Scan(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSecretsScan(b *testing.B) {
	s := NewSecrets(SecretsOptions{})
	for _, size := range []int{1 << 10, 1 << 20} {
		input := cleanText(size)
		b.Run(byteSize(size)+"/clean", func(b *testing.B) { benchDetector(b, s, input) })
	}
	withSecrets := cleanText(1<<20-200) + "\nexport GITHUB_TOKEN=ghp_GsN6Z7NuLqHJi0195jTXKq1K4QyzTgdozrQz\nAKIAABCDEFGHIJKLMNOP\n"
	b.Run("1MiB/with-secrets", func(b *testing.B) { benchDetector(b, s, withSecrets) })
}

func BenchmarkCredentialRedactor(b *testing.B) {
	r := NewCredentialRedactor(CredentialRedactorOptions{})
	input := cleanText(1 << 20)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Redact(input)
	}
}

func BenchmarkSecretsRedactJSON(b *testing.B) {
	s := NewSecrets(SecretsOptions{})
	raw := []byte(`{"headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz0123", "X-Trace": "t-1"}, "body": {"password": "hunter22", "items": [1, 2, "plain text value"]}}`)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.RedactJSON(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func byteSize(n int) string {
	if n >= 1<<20 {
		return "1MiB"
	}
	return "1KiB"
}
