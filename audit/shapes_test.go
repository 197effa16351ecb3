package audit

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unsafe"
)

// Secrets of the other shapes SecretShapes knows (testAWSKey and
// testGitHubToken are beside the preview tests), for tests and as fuzz
// seeds.
const (
	testPAT     = "github_pat_11ABCDEFG0123456789_abcdefghijklmnop"
	testSlack   = "xoxb-1234567890-abcdef"
	testJWT     = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	testBearer  = "abcdefghijklmnop1234"
	testPEMBody = "MIIEowIBAAKCAQEAsecretkeymaterial"
	testPEM     = "-----BEGIN RSA PRIVATE KEY-----\n" + testPEMBody + "\n-----END RSA PRIVATE KEY-----"
)

func TestSecretShapesRedactString(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"ordinary", "select name from users where id = 42", "select name from users where id = 42"},
		{"markers without a secret", "AKIA ghp_ xox eyJ -----BEGIN bearer of news github_pat_", "AKIA ghp_ xox eyJ -----BEGIN bearer of news github_pat_"},
		{"aws key id", "AWS_ACCESS_KEY_ID=" + testAWSKey + " aws s3 ls", "AWS_ACCESS_KEY_ID=[REDACTED] aws s3 ls"},
		{"aws session key id", "ASIAIOSFODNN7EXAMPLE", "[REDACTED]"},
		{"github token in url", "https://" + testGitHubToken + "@github.com/o/r.git", "https://[REDACTED]@github.com/o/r.git"},
		{"github pat", "token " + testPAT, "token [REDACTED]"},
		{"slack token", "post with " + testSlack + " now", "post with [REDACTED] now"},
		{"jwt", "cookie: s=" + testJWT + "; path=/", "cookie: s=[REDACTED]; path=/"},
		{"bearer keeps its word", "curl -H 'Authorization: Bearer " + testBearer + "' https://x", "curl -H 'Authorization: Bearer [REDACTED]' https://x"},
		{"bearer any case and spacing", "BEARER\t\t" + testBearer, "BEARER\t\t[REDACTED]"},
		{"pem whole block", "key:\n" + testPEM + "\nend", "key:\n[REDACTED]\nend"},
		{"pem without end", "-----BEGIN PRIVATE KEY-----\n" + testPEMBody, "[REDACTED]"},
		{"pem end without dashes", "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIV", "[REDACTED]"},
		{"pem holding another shape", "-----BEGIN PRIVATE KEY-----\n" + testAWSKey + "\n-----END PRIVATE KEY----- after", "[REDACTED] after"},
		{"two secrets", testAWSKey + " and " + testSlack, "[REDACTED] and [REDACTED]"},
		{"key id inside a word is not one", "x" + testAWSKey, "x" + testAWSKey},
		{"database url password", "psql postgres://app:s3cr%40t!@db.internal:5432/app?sslmode=require",
			"psql postgres://app:[REDACTED]@db.internal:5432/app?sslmode=require"},
		{"url password without a user", "redis://:hunter2@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"},
		{"url token as password", "git clone https://x-access-token:" + testGitHubToken + "@github.com/o/r.git",
			"git clone https://x-access-token:[REDACTED]@github.com/o/r.git"},
		{"url password in json", `{"dsn":"mysql://root:pw@tcp(127.0.0.1:3306)/db"}`, `{"dsn":"mysql://root:[REDACTED]@tcp(127.0.0.1:3306)/db"}`},
		{"two url passwords", "a://u:p@h b://v:q@i", "a://u:[REDACTED]@h b://v:[REDACTED]@i"},
		{"url without a password", "https://user@example.com/a:b@c https://example.com:8080/x", "https://user@example.com/a:b@c https://example.com:8080/x"},
		{"url port is not a password", "see http://host:80/@me", "see http://host:80/@me"},
		{"named aws secret", "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz1234567890 && aws s3 ls",
			"export AWS_SECRET_ACCESS_KEY=[REDACTED] && aws s3 ls"},
		{"named aws secret in json", `{"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz1234567890"}`,
			`{"aws_secret_access_key": "[REDACTED]"}`},
		{"named aws secret beside its key id", "AWS_ACCESS_KEY_ID=" + testAWSKey + "\nAWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz1234567890'",
			"AWS_ACCESS_KEY_ID=[REDACTED]\nAWS_SECRET_ACCESS_KEY = '[REDACTED]'"},
		{"aws secret name without a key", "set AWS_SECRET_ACCESS_KEY=short and aws-secret-access-key: $FROM_ENV",
			"set AWS_SECRET_ACCESS_KEY=short and aws-secret-access-key: $FROM_ENV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, changed := SecretShapes{}.RedactString(tt.in)
			if got != tt.want || changed != (tt.in != tt.want) {
				t.Errorf("RedactString(%q) = %q, %v; want %q, %v", tt.in, got, changed, tt.want, tt.in != tt.want)
			}
			if (SecretShapes{}).IsSecret(got) {
				t.Errorf("RedactString(%q) = %q still holds a secret", tt.in, got)
			}
		})
	}
}

// TestSecretShapesRedactStringNoCopy: a string without a secret comes
// back as it is; without allocating when it holds none of the literals
// that start one (the regular expression is not run).
func TestSecretShapesRedactStringNoCopy(t *testing.T) {
	plain := strings.Repeat("an ordinary value, light and high, with no key; ", 8)
	if n := testing.AllocsPerRun(100, func() { _, _ = SecretShapes{}.RedactString(plain) }); n != 0 {
		t.Errorf("RedactString of an ordinary string allocates %v times, want 0", n)
	}
	for _, s := range []string{plain, "the bearer of bad news, eyJ, AKIA, ghp_, xoxb-, -----BEGIN"} {
		got, changed := SecretShapes{}.RedactString(s)
		if changed || unsafe.StringData(got) != unsafe.StringData(s) || len(got) != len(s) {
			t.Errorf("RedactString(%q) = %q, %v; want the same string", s, got, changed)
		}
	}
}

// TestBearerFolding: (?i) lets "bearer" match only ASCII letters, so the
// ASCII case-insensitive markerAt misses no match.
func TestBearerFolding(t *testing.T) {
	t.Parallel()
	for _, c := range "bearer" {
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			if f > unicode.MaxASCII {
				t.Errorf("%q folds to %q, which markerAt does not look for", c, f)
			}
		}
	}
}

// shapeSpans returns the matches a shapeScanner finds in s, as
// FindAllStringIndex does.
func shapeSpans(s string) [][]int {
	sc := shapeScanner{s: s}
	var out [][]int
	for from := 0; ; {
		start, end := sc.next(from)
		if start < 0 {
			return out
		}
		out = append(out, []int{start, end})
		from = end
	}
}

// TestShapeScannerFallback: past maxShapeTries near-misses the scanner
// searches the whole string and still finds what the expression finds.
func TestShapeScannerFallback(t *testing.T) {
	t.Parallel()
	miss := strings.Repeat("eyJ ", maxShapeTries) + "Bearer of news, "
	tests := []string{
		miss + testAWSKey + " and " + testSlack,
		miss + strings.Repeat("x", 10),
		strings.Repeat("eyJ", 10*maxShapeTries) + "." + testJWT,
		miss + "x" + testAWSKey + " " + testJWT,
	}
	for _, s := range tests {
		if got, want := shapeSpans(s), secretShapes.FindAllStringIndex(s, -1); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("shapeSpans(%q) = %v, FindAllStringIndex = %v", s, got, want)
		}
	}
}

// FuzzSecretShapes: the marker-driven scan finds exactly the matches the
// regular expression finds anywhere; RedactString never panics, leaves
// strings without a secret unchanged, and leaves no secret in its result.
func FuzzSecretShapes(f *testing.F) {
	for _, s := range []string{"", "plain text", testAWSKey, testGitHubToken, testPAT, testSlack, testJWT, testPEM,
		"Authorization: Bearer " + testBearer, "bEaReR\n" + testBearer + testAWSKey, "-----BEGIN PRIVATE KEY-----",
		"ghp_" + testGitHubToken, "x" + testAWSKey + "_" + testAWSKey, testJWT + "." + testJWT,
		"é" + testAWSKey, "--" + testPEM, "xoxb-" + testSlack, "postgres://app:pw@db/app", "a://:p@h://u:[x]@",
		"https://x:" + testGitHubToken + "@github.com", "://://u:p@",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz1234567890", "aws-secret-access-key:\t\"" + strings.Repeat("A", 80) + "\"",
		"awsSecretAccessKey=" + strings.Repeat("b/", 30)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := secretShapes.FindAllStringIndex(s, -1)
		if got := shapeSpans(s); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("shapeSpans(%q) = %v, FindAllStringIndex = %v", s, got, want)
		}
		matched := want != nil
		if got := (SecretShapes{}).IsSecret(s); got != matched {
			t.Fatalf("IsSecret(%q) = %v, want %v", s, got, matched)
		}
		got, changed := SecretShapes{}.RedactString(s)
		if changed != matched {
			t.Fatalf("RedactString(%q) changed = %v, secretShapes matches = %v", s, changed, matched)
		}
		if !matched {
			if got != s {
				t.Fatalf("RedactString(%q) = %q, want it unchanged", s, got)
			}
			return
		}
		// No secret is left, neither one of the input's nor one made by
		// the replacing. (The text of a secret may remain where it is
		// not one: "AKIA…0" is no key id.)
		if secretShapes.MatchString(got) {
			t.Fatalf("RedactString(%q) = %q still holds %q", s, got, secretShapes.FindString(got))
		}
	})
}
