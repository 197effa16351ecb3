package detect

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzPII checks the PII detector: no panic, ordered spans in bounds,
// redaction removes the found text, JSON stays valid.
func FuzzPII(f *testing.F) {
	for _, s := range []string{"jane.doe@example.com", "4111 1111 1111 1111", "123-45-6789", "+44 20 7946 0958",
		"(415) 555-2671", "DE89 3704 0044 0532 0130 00", "192.168.1.20", "2001:db8::8a2e:370:7334", "v1.2.3.4 on 2024-01-15"} {
		f.Add(s)
	}
	p := NewPII(PIIOptions{MaxInput: 1 << 16})
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := p.Scan(t.Context(), s)
		if err != nil {
			return
		}
		prev := 0
		for _, x := range fs {
			if x.Start < prev || x.End > len(s) || x.Start >= x.End {
				t.Fatalf("finding %+v out of order or bounds in %q", x, s)
			}
			prev = x.End
		}
		red, _ := p.RedactString(s)
		for _, x := range fs {
			if v := s[x.Start:x.End]; len(v) >= 8 && strings.Contains(red, v) {
				t.Fatalf("RedactString(%q) = %q still holds %q", s, red, v)
			}
		}
		raw, _ := json.Marshal([]string{s})
		out, _, err := p.RedactJSON(raw)
		if err != nil || !json.Valid(out) {
			t.Fatalf("RedactJSON(%s) = %s, %v", raw, out, err)
		}
	})
}
