package kernel

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/agentos/agentos/audit"
)

// Redacted replaces a secret in audit events: the value of a secret-looking
// argument, a secret of a recognised shape inside a string, or a key
// holding one.
const Redacted = "[REDACTED]"

// maxRedactDepth bounds how deep redaction walks nested arguments; deeper
// values are replaced wholesale.
const maxRedactDepth = 32

// secretKeyParts are key fragments that mark a value as secret.
var secretKeyParts = [...]string{
	"password", "passwd", "passphrase", "secret", "api_key", "apikey",
	"authorization", "credential", "private_key", "access_key", "session_key", "cookie",
}

// secretKey reports whether an argument named key holds a secret: its
// lower-cased name contains password, secret, api_key, authorization, …, or
// ends in "token" (token, access_token, refreshToken; not token_count).
func secretKey(key string) bool {
	if len(key) < len("token") {
		// Shorter than every fragment and the suffix, even lower-cased
		// (no shorter text lower-cases to one of them).
		return false
	}
	k := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	if strings.HasSuffix(k, "token") {
		return true
	}
	for _, p := range secretKeyParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// redact returns v with secrets replaced for an audit event:
//
//   - the value of every secret-looking key (secretKey) becomes Redacted;
//   - in every string, each secret of a recognised shape (an AWS access
//     key id, a GitHub or Slack token, a JWT, a bearer token, a PEM
//     private key, a URL's password, a named AWS secret access key:
//     audit.SecretShapes) is replaced by
//     Redacted, keeping the rest: "Authorization: Bearer [REDACTED]",
//     "postgres://app:[REDACTED]@db";
//   - a key holding such a secret is renamed Redacted ("[REDACTED] 2", …
//     when taken), and its value becomes Redacted, as audit.Redact does.
//
// It copies only what it changes: v itself is returned when nothing is
// secret, so redaction of ordinary arguments does not allocate.
func redact(v any) any {
	out, _ := redactValue(v, 0)
	return out
}

func redactValue(v any, depth int) (any, bool) {
	if depth > maxRedactDepth {
		return "[TRUNCATED: nested too deep]", true
	}
	switch x := v.(type) {
	case string:
		if s, changed := (audit.SecretShapes{}).RedactString(x); changed {
			return s, true
		}
		return v, false
	case map[string]any:
		return redactMap(x, any(Redacted), func(e any) (any, bool) { return redactValue(e, depth+1) })
	case []any:
		var out []any
		for i, e := range x {
			nv, changed := redactValue(e, depth+1)
			if changed && out == nil {
				out = append([]any(nil), x...)
			}
			if changed {
				out[i] = nv
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case map[string]string: // agent labels
		return redactMap(x, Redacted, (audit.SecretShapes{}).RedactString)
	}
	return v, false
}

// redactMap redacts the map x: the value of a secret-looking key becomes
// redacted, a key holding a secret is renamed (renameShaped), and every
// other value goes through value. It returns x itself, and false, when
// nothing changed.
func redactMap[V any](x map[string]V, redacted V, value func(V) (V, bool)) (map[string]V, bool) {
	var out map[string]V
	var shaped []string
	for key, e := range x {
		var nv V
		changed := false
		switch {
		case (audit.SecretShapes{}).IsSecret(key):
			shaped = append(shaped, key)
			continue
		case secretKey(key):
			nv, changed = redacted, true
		default:
			nv, changed = value(e)
		}
		if changed && out == nil {
			out = maps.Clone(x)
		}
		if changed {
			out[key] = nv
		}
	}
	if shaped != nil {
		if out == nil {
			out = maps.Clone(x)
		}
		renameShaped(out, shaped, redacted)
	}
	if out == nil {
		return x, false
	}
	return out, true
}

// renameShaped renames each key of m in shaped (keys holding a secret) to
// Redacted, or "[REDACTED] 2", "[REDACTED] 3", … when that is taken, in
// sorted order so that the event is the same however the map iterates,
// with the value redacted.
func renameShaped[V any](m map[string]V, shaped []string, redacted V) {
	slices.Sort(shaped)
	for _, k := range shaped {
		delete(m, k)
	}
	for range shaped {
		name := Redacted
		for n := 2; ; n++ {
			if _, taken := m[name]; !taken {
				break
			}
			name = Redacted + " " + strconv.Itoa(n)
		}
		m[name] = redacted
	}
}

// redactText returns s with each secret of a recognised shape replaced
// by Redacted (see redact), for the free text of an audit event: error
// messages, reasons, unknown agent IDs and tool names.
func redactText(s string) string {
	s, _ = audit.SecretShapes{}.RedactString(s)
	return s
}

// argsJSON returns the arguments as given (raw), or their JSON encoding
// (map keys sorted) when there is no raw form; ok is false when they
// cannot be encoded.
func argsJSON(raw json.RawMessage, args any) (b json.RawMessage, ok bool) {
	switch {
	case len(raw) > 0:
		return raw, true
	case args == nil:
		return json.RawMessage("{}"), true
	}
	b, err := json.Marshal(args)
	return b, err == nil
}
