package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Redacted replaces a secret value in redacted arguments.
const Redacted = "[REDACTED]"

// DefaultMaxString is RedactOptions.MaxString when 0.
const DefaultMaxString = 4096

// SecretDetector reports whether a string value is or holds a secret. The
// built-in one is SecretShapes; the content detectors plug in here.
type SecretDetector interface {
	IsSecret(value string) bool
}

// RedactOptions tune Redact.
type RedactOptions struct {
	// Detector finds secrets in string values. nil: SecretShapes.
	Detector SecretDetector
	// MaxString is the longest string kept as is; a longer one becomes
	// {"sha256": hex, "bytes": n}. 0: DefaultMaxString; negative: keep
	// every string.
	MaxString int
}

// Redact returns args with secrets removed and large values hashed, as
// valid JSON:
//
//   - under a key that looks secret (its lower-cased name, without "-",
//     "_" and ".", contains password, passwd, secret, apikey,
//     authorization, privatekey, credential, cookie or session, or ends
//     in token), every string, however deeply nested, becomes
//     "[REDACTED]" (numbers and booleans stay: "max_tokens": 100 is no
//     secret);
//   - any string the detector flags becomes "[REDACTED]", and so does a
//     key it flags (renamed "[REDACTED]", "[REDACTED] 2", …, with
//     everything under it redacted as under a secret-looking key);
//   - any other string longer than MaxString bytes becomes
//     {"sha256": "<hex>", "bytes": n}.
//
// Empty args give nil. Args that are not JSON are never passed through:
// they become {"invalid_json": {"sha256": ..., "bytes": n}}.
func Redact(args json.RawMessage, opts RedactOptions) json.RawMessage {
	if len(bytes.TrimSpace(args)) == 0 {
		return nil
	}
	if opts.MaxString == 0 {
		opts.MaxString = DefaultMaxString
	}
	v, ok := redactJSON(args, opts)
	if !ok {
		return mustJSON(map[string]any{"invalid_json": digest(args)})
	}
	return mustJSON(v)
}

// redactJSON decodes args (numbers as json.Number) and redacts the value
// in place; ok is false when args is not one JSON value.
func redactJSON(args json.RawMessage, opts RedactOptions) (v any, ok bool) {
	if opts.Detector == nil {
		opts.Detector = SecretShapes{}
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	r := redactor{opts: opts}
	return r.value(v, false, 0), true
}

// redactor walks a decoded JSON value.
type redactor struct{ opts RedactOptions }

// maxRedactDepth bounds the walk; deeper values are replaced.
const maxRedactDepth = 64

func (r *redactor) value(v any, secret bool, depth int) any {
	if depth > maxRedactDepth {
		return Redacted
	}
	switch x := v.(type) {
	case string:
		switch {
		case secret || r.opts.Detector.IsSecret(x):
			return Redacted
		case r.opts.MaxString > 0 && len(x) > r.opts.MaxString:
			return digest([]byte(x))
		}
		return x
	case map[string]any:
		var shaped []string
		for k, e := range x {
			if r.opts.Detector.IsSecret(k) {
				shaped = append(shaped, k)
				continue
			}
			x[k] = r.value(e, secret || SecretKey(k), depth+1)
		}
		// A key that itself holds a secret is renamed, and everything
		// under it is treated as secret.
		slices.Sort(shaped)
		for _, k := range shaped {
			e := x[k]
			delete(x, k)
			name := Redacted
			for n := 2; ; n++ {
				if _, taken := x[name]; !taken {
					break
				}
				name = Redacted + " " + strconv.Itoa(n)
			}
			x[name] = r.value(e, true, depth+1)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = r.value(e, secret, depth+1)
		}
		return x
	}
	return v // json.Number, bool, nil
}

func digest(b []byte) map[string]any {
	sum := sha256.Sum256(b)
	return map[string]any{"sha256": hex.EncodeToString(sum[:]), "bytes": len(b)}
}

func mustJSON(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only values decoded from JSON reach here; they always encode.
		return json.RawMessage(`"` + Redacted + `"`)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// secretKeyParts are fragments of normalized key names that mark secrets.
var secretKeyParts = [...]string{
	"password", "passwd", "secret", "apikey", "authorization", "privatekey", "credential", "cookie", "session",
}

// SecretKey reports whether an argument named key holds a secret (see
// Redact).
func SecretKey(key string) bool {
	k := strings.Map(dropKeySeparator, strings.ToLower(key))
	if strings.HasSuffix(k, "token") || strings.HasSuffix(k, "tokens") {
		return true
	}
	for _, p := range secretKeyParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// dropKeySeparator drops the characters SecretKey ignores in key names.
func dropKeySeparator(r rune) rune {
	if r == '-' || r == '_' || r == '.' {
		return -1
	}
	return r
}

// secretShapes matches high-signal secret formats: AWS access key ids,
// GitHub tokens, Slack tokens, PEM private keys, JWTs and bearer tokens.
var secretShapes = regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b` +
	`|\bgh[pousr]_[A-Za-z0-9]{36,}` +
	`|\bgithub_pat_[A-Za-z0-9_]{22,}` +
	`|\bxox[abposr]-[A-Za-z0-9-]{10,}` +
	`|-----BEGIN[A-Z ]* PRIVATE KEY-----` +
	`|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}` +
	`|(?i:\bbearer\s+[A-Za-z0-9._~+/=-]{16,})`)

// SecretShapes is the built-in SecretDetector: it flags strings holding
// an AWS access key id (AKIA…/ASIA…), a GitHub token (ghp_…, gho_…,
// github_pat_…), a Slack token (xox…-), a PEM private key, a JWT or a
// bearer token.
type SecretShapes struct{}

// IsSecret implements SecretDetector.
func (SecretShapes) IsSecret(s string) bool { return secretShapes.MatchString(s) }
