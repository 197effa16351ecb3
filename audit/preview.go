package audit

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Preview bounds.
const (
	// DefaultPreviewBytes is PreviewOptions.MaxBytes when 0.
	DefaultPreviewBytes = 2048
	// MinPreviewBytes is the smallest bound Preview honours; a smaller
	// PreviewOptions.MaxBytes counts as MinPreviewBytes.
	MinPreviewBytes = 128
)

// PreviewOptions tune Preview.
type PreviewOptions struct {
	// Detector finds secrets in string values and keys. nil: SecretShapes.
	Detector SecretDetector
	// MaxBytes bounds the preview's size in bytes. 0: DefaultPreviewBytes;
	// below MinPreviewBytes (or negative): MinPreviewBytes.
	MaxBytes int
}

// Preview returns a redacted, size-bounded rendering of args (JSON) for
// people to read, for example the arguments of a call shown to those who
// must approve it. It is display-only: nothing should be bound to it.
//
// Secrets go exactly as in Redact (by key name, by value shape, and keys
// of a secret shape), on the whole value before anything is cut, so a
// secret is never shown in part. Then the value is cut until its compact
// JSON fits in MaxBytes: object keys are kept in sorted order, and long
// strings, long keys, long arrays, large objects, deep nesting and very
// long numbers are shortened, each cut marked in the value itself:
//
//   - a long string keeps its beginning: "abc…[5000 bytes]";
//   - an array keeps its first items, then "…[12 more items]";
//   - an object keeps its first keys, then the member "…": "[7 more keys]";
//   - a container nested too deep becomes "[object with 3 keys]" or
//     "[array of 9 items]";
//   - a number of more than 32 characters becomes "[number of 400 digits]".
//
// The result is always valid JSON of at most MaxBytes; args that are not
// one JSON value give {"invalid_json": {"bytes": n}} (no hash: a hash of a
// short secret could be guessed). Empty args give nil. Preview of a
// preview returns it unchanged, so a receiver can apply Preview again to
// what it is sent without trusting the sender to have done so.
func Preview(args json.RawMessage, opts PreviewOptions) json.RawMessage {
	if len(bytes.TrimSpace(args)) == 0 {
		return nil
	}
	limit := opts.MaxBytes
	switch {
	case limit == 0:
		limit = DefaultPreviewBytes
	case limit < MinPreviewBytes:
		limit = MinPreviewBytes
	}
	if opts.Detector == nil {
		opts.Detector = SecretShapes{}
	}
	v, ok := redactJSON(args, RedactOptions{Detector: opts.Detector, MaxString: -1})
	if !ok {
		v = map[string]any{"invalid_json": map[string]any{"bytes": len(args)}}
	}
	for _, l := range previewSteps {
		p := previewer{previewLimits: l, det: opts.Detector}
		if b := mustJSON(p.prune(v, 0)); len(b) <= limit {
			return b
		}
	}
	return json.RawMessage(`"[preview too large]"`)
}

// previewLimits bound one pruning pass. Limits are soft by previewSlack
// (and by one item), so that a value already cut with some limits is left
// as it is by the same or larger ones: that makes Preview idempotent.
type previewLimits struct {
	depth, items, str, key int
}

// previewSteps are tried in order until the result fits.
var previewSteps = [...]previewLimits{
	{depth: 8, items: 64, str: 512, key: 128},
	{depth: 6, items: 32, str: 256, key: 64},
	{depth: 5, items: 16, str: 128, key: 48},
	{depth: 4, items: 8, str: 64, key: 32},
	{depth: 3, items: 4, str: 32, key: 24},
	{depth: 2, items: 2, str: 24, key: 16},
	{depth: 1, items: 1, str: 16, key: 16},
	{depth: 0, items: 0, str: 16, key: 16},
}

// previewer prunes with one set of limits. A cut string or key that the
// detector flags (its beginning alone can look like a secret once cut)
// is redacted.
type previewer struct {
	previewLimits
	det SecretDetector
}

// previewSlack is the room a cut string's marker takes ("…[N bytes]").
const previewSlack = 32

// maxPreviewNumber is the longest number kept as is.
const maxPreviewNumber = 32

// prune returns a copy of v cut to p's limits; v is not changed.
func (p *previewer) prune(v any, depth int) any {
	l := &p.previewLimits
	switch x := v.(type) {
	case string:
		return p.cut(x, l.str)
	case json.Number:
		if len(x) > maxPreviewNumber {
			return "[number of " + strconv.Itoa(len(x)) + " digits]"
		}
		return x
	case map[string]any:
		if len(x) == 0 {
			return map[string]any{}
		}
		if depth >= l.depth {
			return "[object with " + strconv.Itoa(len(x)) + " keys]"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		keep := len(keys)
		if keep > l.items+1 {
			keep = l.items
		}
		out := make(map[string]any, keep+1)
		for _, k := range keys[:keep] {
			name := p.cut(k, l.key)
			if _, dup := out[name]; dup {
				// Two long keys cut to the same beginning: the first
				// is kept, the other counted as left out.
				continue
			}
			out[name] = p.prune(x[k], depth+1)
		}
		if n := len(x) - len(out); n > 0 {
			marker := "…"
			for {
				if _, taken := out[marker]; !taken {
					break
				}
				marker += "…"
			}
			out[marker] = "[" + strconv.Itoa(n) + " more keys]"
		}
		return out
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		if depth >= l.depth {
			return "[array of " + strconv.Itoa(len(x)) + " items]"
		}
		keep := len(x)
		if keep > l.items+1 {
			keep = l.items
		}
		out := make([]any, 0, keep+1)
		for _, e := range x[:keep] {
			out = append(out, p.prune(e, depth+1))
		}
		if n := len(x) - keep; n > 0 {
			out = append(out, "…["+strconv.Itoa(n)+" more items]")
		}
		return out
	}
	return v // bool, nil
}

// cut keeps s when it is at most n bytes plus previewSlack, else its
// first n bytes (at a character boundary) and a marker with its length,
// or Redacted when that beginning looks like a secret.
func (p *previewer) cut(s string, n int) string {
	if len(s) <= n+previewSlack {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	c := s[:i] + "…[" + strconv.Itoa(len(s)) + " bytes]"
	if p.det.IsSecret(c) {
		return Redacted
	}
	return c
}
