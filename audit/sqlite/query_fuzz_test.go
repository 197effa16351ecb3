package sqlite

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/agentos/agentos/audit"
)

// FuzzMemberText: the text a query looks for is always in the canonical
// form of an event whose field has the queried value, so the text search
// never loses a matching event.
func FuzzMemberText(f *testing.F) {
	for _, s := range []string{"web_fetch", `r<"é\>`, "\u2028\u2029", "\x00\x1f\x7f", "😀", "a/b&c=d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		e := audit.Event{Kind: audit.KindToolCall, Tool: v, TraceID: v, Decision: audit.Decision{Action: v, Rule: v},
			Args: json.RawMessage(`{"tool":"x"}`)}
		canon, err := audit.Canonical(&e)
		if err != nil {
			return // not recordable (invalid UTF-8)
		}
		for _, name := range []string{"tool", "trace_id", "action", "rule"} {
			m, err := memberText(name, v)
			if err != nil {
				t.Fatalf("memberText(%q, %q): %v", name, v, err)
			}
			if !bytes.Contains(canon, m) {
				t.Fatalf("canonical event %s does not contain %s", canon, m)
			}
		}
	})
}
