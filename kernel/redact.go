package kernel

import (
	"encoding/json"
	"strings"
)

// Redacted replaces the value of a secret-looking argument in audit events.
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

// redact returns v with the value of every secret-looking key replaced by
// Redacted. It copies only what it changes: v itself is returned when
// nothing is secret, so redaction of ordinary arguments does not allocate.
func redact(v any) any {
	out, _ := redactValue(v, 0)
	return out
}

func redactValue(v any, depth int) (any, bool) {
	if depth > maxRedactDepth {
		return "[TRUNCATED: nested too deep]", true
	}
	switch x := v.(type) {
	case map[string]any:
		var out map[string]any
		for key, e := range x {
			var nv any
			changed := false
			if secretKey(key) {
				nv, changed = Redacted, true
			} else {
				nv, changed = redactValue(e, depth+1)
			}
			if changed && out == nil {
				out = make(map[string]any, len(x))
				for k2, e2 := range x {
					out[k2] = e2
				}
			}
			if changed {
				out[key] = nv
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
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
	}
	return v, false
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
