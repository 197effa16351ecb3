package detect

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPIIScan(t *testing.T) {
	t.Parallel()
	p := NewPII(PIIOptions{})
	tests := []struct {
		name  string
		in    string
		kinds []string // kinds found, in order
		spans []string // the matched text, in order
	}{
		{"email", "write to jane.doe+x@mail.example.co.uk today", []string{"email"}, []string{"jane.doe+x@mail.example.co.uk"}},
		{"email-no-tld", "user@localhost is not routable", nil, nil},
		{"at-handle", "ping @alice on chat", nil, nil},
		{"visa", "card 4111 1111 1111 1111 exp", []string{"credit_card"}, []string{"4111 1111 1111 1111"}},
		{"visa-dashes", "4012-8888-8888-1881", []string{"credit_card"}, []string{"4012-8888-8888-1881"}},
		{"amex", "3782 822463 10005", []string{"credit_card"}, []string{"3782 822463 10005"}},
		{"luhn-fail", "4111 1111 1111 1112", nil, nil},
		{"ssn", "SSN 123-45-6789.", []string{"ssn"}, []string{"123-45-6789"}},
		{"ssn-area-000", "000-12-3456", nil, nil},
		{"ssn-area-666", "666-12-3456", nil, nil},
		{"ssn-area-9xx", "912-12-3456", nil, nil},
		{"ssn-group-00", "123-00-4567", nil, nil},
		{"ssn-serial-0000", "123-45-0000", nil, nil},
		{"e164", "call +44 20 7946 0958 now", []string{"phone"}, []string{"+44 20 7946 0958"}},
		{"nanp", "call (415) 555-2671 now", []string{"phone"}, []string{"(415) 555-2671"}},
		{"nanp-dashes", "415-555-2671", []string{"phone"}, []string{"415-555-2671"}},
		{"version", "upgrade to 1.22.4 or 10.2.3", nil, nil},
		{"date", "on 2024-01-15 at 10:30", nil, nil},
		{"plain-id", "order 12345678901 shipped", nil, nil},
		{"iban", "IBAN DE89 3704 0044 0532 0130 00 ok", []string{"iban"}, []string{"DE89 3704 0044 0532 0130 00"}},
		{"iban-compact", "GB82WEST12345698765432", []string{"iban"}, []string{"GB82WEST12345698765432"}},
		{"iban-bad-check", "DE89 3704 0044 0532 0130 01", nil, nil},
		{"ipv4", "host 192.168.1.20:8080", []string{"ip_address"}, []string{"192.168.1.20"}},
		{"ipv4-invalid", "256.1.1.1", nil, nil},
		{"ipv6", "addr 2001:db8::8a2e:370:7334 up", []string{"ip_address"}, []string{"2001:db8::8a2e:370:7334"}},
		{"cpp-scope", "std::string and a::b::c", nil, nil},
		{"time", "at 12:30:45 today", nil, nil},
		{"mac", "aa:bb:cc:dd:ee:ff", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, err := p.Scan(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var kinds, spans []string
			for _, f := range fs {
				kinds = append(kinds, f.Kind)
				spans = append(spans, tt.in[f.Start:f.End])
			}
			if strings.Join(kinds, ",") != strings.Join(tt.kinds, ",") || strings.Join(spans, "|") != strings.Join(tt.spans, "|") {
				t.Errorf("Scan(%q) = %q %q, want %q %q", tt.in, kinds, spans, tt.kinds, tt.spans)
			}
		})
	}
}

func TestPIIRedactJSON(t *testing.T) {
	t.Parallel()
	p := NewPII(PIIOptions{})
	in := `{"user": {"email": "a.b@example.com", "cards": ["4111111111111111", 3]}, "note": "call 415-555-2671"}`
	out, fs, err := p.RedactJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out) {
		t.Fatalf("RedactJSON output is not valid JSON: %s", out)
	}
	want := `{"user": {"email": "[REDACTED]", "cards": ["[REDACTED]", 3]}, "note": "call [REDACTED]"}`
	if string(out) != want {
		t.Errorf("RedactJSON = %s, want %s", out, want)
	}
	if len(fs) != 3 {
		t.Errorf("RedactJSON findings = %d, want 3", len(fs))
	}
}

func TestPIIKindsOption(t *testing.T) {
	t.Parallel()
	p := NewPII(PIIOptions{Kinds: []string{"email"}})
	got, _ := p.RedactString("a@b.io 4111111111111111")
	if got != "[REDACTED] 4111111111111111" {
		t.Errorf("RedactString with Kinds=[email] = %q", got)
	}
}
