package detect

import (
	"context"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
)

// PIIOptions configures a [PII] detector.
type PIIOptions struct {
	// MaxInput is the largest input, in bytes, that is scanned; a larger
	// input makes Scan return ErrInputTooLarge. 0 means DefaultMaxInput.
	MaxInput int
	// Kinds limits detection to these kinds ("email", "phone",
	// "credit_card", "ssn", "iban", "ip_address"); nil means all.
	Kinds []string
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// PII finds personal data: e-mail addresses, phone numbers (E.164 and
// common national formats), payment card numbers (Luhn-checked), US social
// security numbers (invalid areas, groups and serials excluded), IBANs
// (mod-97 checked) and IPv4/IPv6 addresses. It is safe for concurrent use
// and scans with hand-written byte scanners, without regular expressions,
// so it runs in one linear pass.
type PII struct {
	maxInput int
	kinds    map[string]bool
	log      *slog.Logger
	meter    *workMeter // nil except in tests
}

var _ Detector = (*PII)(nil)

// NewPII returns a PII detector.
func NewPII(opts PIIOptions) *PII {
	p := &PII{maxInput: opts.MaxInput, log: opts.Logger}
	if len(opts.Kinds) > 0 {
		p.kinds = map[string]bool{}
		for _, k := range opts.Kinds {
			p.kinds[k] = true
		}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// Name implements Detector.
func (p *PII) Name() string { return "pii" }

// Scan implements Detector.
func (p *PII) Scan(ctx context.Context, input string) ([]Finding, error) {
	if err := checkSize(len(input), p.maxInput); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return p.scan(input), nil
}

// RedactString returns input with personal data replaced by [REDACTED].
// An input larger than MaxInput is replaced whole (fail closed).
func (p *PII) RedactString(input string) (string, []Finding) {
	if checkSize(len(input), p.maxInput) != nil {
		return RedactedPlaceholder, []Finding{tooLargeFinding("pii", len(input))}
	}
	fs := p.scan(input)
	return redactSpans(input, fs), fs
}

// RedactJSON redacts personal data in every string value of the JSON
// document raw, keeping it valid JSON.
func (p *PII) RedactJSON(raw []byte) ([]byte, []Finding, error) {
	if err := checkSize(len(raw), p.maxInput); err != nil {
		return nil, nil, err
	}
	return redactJSON(raw, p.scan, nil, "pii")
}

func (p *PII) want(kind string) bool { return p.kinds == nil || p.kinds[kind] }

func (p *PII) scan(s string) []Finding {
	var out []Finding
	add := func(kind, rule string, sev Severity, conf float64, a, b int, expl string) {
		if !p.want(kind) {
			return
		}
		out = append(out, Finding{Detector: "pii", Rule: rule, Kind: kind, Severity: sev, Confidence: conf,
			Start: a, End: b, Explanation: expl, Suggestion: "remove or mask personal data before it leaves the system",
			Source: "rule"})
	}
	// E-mail addresses: around each '@'.
	if p.want("email") {
		for from := 0; ; {
			i := strings.IndexByte(s[from:], '@')
			if i < 0 {
				break
			}
			at := from + i
			from = at + 1
			p.meter.add(i + 1 + 64 + 254) // the search, then emailAt's bounded reach
			if a, b, ok := emailAt(s, at); ok {
				add("email", "email", SeverityMedium, 0.95, a, b, "e-mail address")
				from = b
			}
		}
	}
	// Numeric tokens: cards, SSNs, phones, IPv4; IBANs start two letters earlier.
	for i := 0; i < len(s); {
		c := s[i]
		p.meter.add(1)
		if !(isDigit(c) || (c == '+' && i+1 < len(s) && isDigit(s[i+1])) || (c == '(' && i+1 < len(s) && isDigit(s[i+1]))) {
			i++
			continue
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '.' || s[i-1] == '_' || s[i-1] == '/') {
			// Inside a word, number or path: IBAN check only.
			if i >= 2 && isUpper(s[i-1]) && isUpper(s[i-2]) && (i < 3 || !isAlnum(s[i-3])) {
				p.meter.add(2 * 34)
				if b, ok := ibanAt(s, i-2); ok {
					add("iban", "iban", SeverityHigh, 0.95, i-2, b, "IBAN (checksum valid)")
					i = b
					continue
				}
			}
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '.') {
				j++
			}
			p.meter.add(j - i + 1)
			i = max(j, i+1)
			continue
		}
		j := i
		digits := 0
		for j < len(s) && j-i < 64 {
			d := s[j]
			if isDigit(d) {
				digits++
				j++
				continue
			}
			if (d == ' ' || d == '-' || d == '.' || d == '(' || d == ')' || (d == '+' && j == i)) && j+1 < len(s) && (isDigit(s[j+1]) || (d == ')' && s[j+1] == ' ')) {
				j++
				continue
			}
			break
		}
		p.meter.add(j - i + 1)
		tok := s[i:j]
		if j < len(s) && (isAlpha(s[j]) || s[j] == '_') {
			i = j + 1
			continue // part of an identifier like 123abc
		}
		kind, a, b, ok := classifyNumber(tok, digits)
		if ok {
			switch kind {
			case "credit_card":
				add(kind, "credit-card", SeverityHigh, 0.9, i+a, i+b, "payment card number (Luhn-valid)")
			case "ssn":
				add(kind, "us-ssn", SeverityHigh, 0.85, i+a, i+b, "US social security number")
			case "phone":
				add(kind, "phone", SeverityMedium, 0.7, i+a, i+b, "phone number")
			case "ip_address":
				add(kind, "ipv4", SeverityLow, 0.8, i+a, i+b, "IPv4 address")
			}
		}
		i = max(j, i+1)
	}
	// IPv6: tokens around "::" or with several colons between hex groups.
	if p.want("ip_address") {
		for from := 0; ; {
			k := strings.IndexByte(s[from:], ':')
			if k < 0 {
				break
			}
			c := from + k
			a, b := c, c
			for a > 0 && isIPv6Byte(s[a-1]) && c-a < 45 {
				a--
			}
			for b < len(s) && isIPv6Byte(s[b]) && b-c < 45 {
				b++
			}
			from = max(b, c+1)
			p.meter.add(k + 1 + 2*(b-a)) // the search, the token, its trim and count
			tok := strings.TrimRight(s[a:b], ".:")
			b = a + len(tok)
			if strings.Count(tok, ":") < 2 || len(tok) < 6 || (a > 0 && (isAlnum(s[a-1]) || s[a-1] == '_')) ||
				(b < len(s) && (isAlnum(s[b]) || s[b] == '_')) {
				continue
			}
			if addr, err := netip.ParseAddr(tok); err == nil && addr.Is6() && hexGroups(tok) >= 3 {
				add("ip_address", "ipv6", SeverityLow, 0.8, a, b, "IPv6 address")
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return dedupeOverlaps(out)
}

func hexGroups(s string) int {
	n := 0
	for _, g := range strings.Split(s, ":") {
		if g != "" {
			n++
		}
	}
	return n
}

// classifyNumber classifies a numeric token (digits and separators) and
// returns the span within tok.
func classifyNumber(tok string, digits int) (string, int, int, bool) {
	ds := make([]byte, 0, digits)
	seps := map[byte]int{}
	for i := 0; i < len(tok); i++ {
		if isDigit(tok[i]) {
			ds = append(ds, tok[i])
		} else {
			seps[tok[i]]++
		}
	}
	// IPv4: four dot-separated octets.
	if seps['.'] == 3 && len(seps) == 1 {
		parts := strings.Split(tok, ".")
		ok := true
		for _, pt := range parts {
			if len(pt) == 0 || len(pt) > 3 || (len(pt) > 1 && pt[0] == '0') || atoi(pt) > 255 {
				ok = false
			}
		}
		if ok {
			return "ip_address", 0, len(tok), true
		}
		return "", 0, 0, false
	}
	if seps['.'] > 0 && tok[0] != '+' {
		// Dotted numbers are versions, dates or amounts, except NANP phones
		// written 555.123.4567.
		if !(seps['.'] == 2 && len(seps) == 1 && len(tok) == 12 && tok[3] == '.' && tok[7] == '.') {
			return "", 0, 0, false
		}
	}
	// Payment cards: 13-19 digits, only space or dash separators, Luhn.
	if digits >= 13 && digits <= 19 && seps['('] == 0 && seps['.'] == 0 && tok[0] != '+' && luhnValid(ds) && cardPrefix(ds) && cardGroupsOK(tok, ds) {
		return "credit_card", 0, len(tok), true
	}
	// SSN: ddd-dd-dddd (or with spaces), valid area, group and serial.
	if digits == 9 && len(tok) == 11 && (tok[3] == '-' && tok[6] == '-' || tok[3] == ' ' && tok[6] == ' ') {
		area, group, serial := atoi(tok[0:3]), atoi(tok[4:6]), atoi(tok[7:11])
		if area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 {
			return "ssn", 0, len(tok), true
		}
		return "", 0, 0, false
	}
	// Phones: E.164 (+ and 8-15 digits), or a 10-digit number written
	// with separators as (ddd) ddd-dddd / ddd-ddd-dddd / ddd ddd dddd,
	// optionally with a leading 1.
	if tok[0] == '+' {
		if digits >= 8 && digits <= 15 && tok[1] != '0' {
			return "phone", 0, len(tok), true
		}
		return "", 0, 0, false
	}
	if (digits == 10 || (digits == 11 && ds[0] == '1')) && len(seps) > 0 && nanpShaped(tok) {
		return "phone", 0, len(tok), true
	}
	return "", 0, 0, false
}

// nanpShaped reports whether tok is a North American number with
// separators in the usual places.
func nanpShaped(tok string) bool {
	t := tok
	if strings.HasPrefix(t, "1 ") || strings.HasPrefix(t, "1-") || strings.HasPrefix(t, "1.") {
		t = t[2:]
	}
	switch {
	case len(t) == 14 && t[0] == '(' && t[4] == ')' && t[5] == ' ' && t[9] == '-':
	case len(t) == 13 && t[0] == '(' && t[4] == ')' && t[8] == '-':
	case len(t) == 12 && (t[3] == '-' && t[7] == '-' || t[3] == ' ' && t[7] == ' ' || t[3] == '.' && t[7] == '.'):
	default:
		return false
	}
	// Area and exchange codes do not start with 0 or 1.
	d := make([]byte, 0, 10)
	for i := 0; i < len(t); i++ {
		if isDigit(t[i]) {
			d = append(d, t[i])
		}
	}
	return len(d) == 10 && d[0] >= '2' && d[3] >= '2'
}

// cardGroupsOK checks the length for the network and, when the number is
// written with separators, that the groups are the printed ones (4-4-4-4,
// 4-6-5 for American Express).
func cardGroupsOK(tok string, d []byte) bool {
	amex := d[0] == '3' && (d[1] == '4' || d[1] == '7')
	if amex && len(d) != 15 {
		return false
	}
	if !amex && len(d) < 14 && d[0] != '4' {
		return false
	}
	groups := strings.FieldsFunc(tok, func(r rune) bool { return r == ' ' || r == '-' })
	if len(groups) == 1 {
		return true
	}
	if amex {
		return len(groups) == 3 && len(groups[0]) == 4 && len(groups[1]) == 6 && len(groups[2]) == 5
	}
	for i, g := range groups {
		if i < len(groups)-1 && len(g) != 4 {
			return false
		}
	}
	last := len(groups[len(groups)-1])
	return last >= 3 && last <= 4
}

// cardPrefix accepts the issuer prefixes of the major card networks.
func cardPrefix(d []byte) bool {
	switch d[0] {
	case '4': // Visa
		return true
	case '5': // Mastercard 51-55
		return d[1] >= '1' && d[1] <= '5'
	case '2': // Mastercard 2221-2720
		v := atoi(string(d[:4]))
		return v >= 2221 && v <= 2720
	case '3': // Amex 34/37, Diners 36/38/300-305, JCB 35
		return d[1] == '4' || d[1] == '7' || d[1] == '6' || d[1] == '8' || d[1] == '5' || d[1] == '0'
	case '6': // Discover 6011/65/644-649, UnionPay 62
		return d[1] == '5' || d[1] == '2' || (d[1] == '0' && d[2] == '1' && d[3] == '1') || (d[1] == '4' && d[2] >= '4')
	}
	return false
}

// ibanAt matches an IBAN starting at s[a] (two letters, two digits, then
// groups of letters and digits, optionally separated by single spaces).
func ibanAt(s string, a int) (int, bool) {
	var buf [34]byte
	n := 0
	j := a
	lastGood := -1
	for j < len(s) && n < 34 {
		c := s[j]
		if isUpper(c) || isDigit(c) {
			buf[n] = c
			n++
			j++
			if n >= 15 && ibanValid(string(buf[:n])) {
				lastGood = j
			}
			continue
		}
		if c == ' ' && j+1 < len(s) && (isUpper(s[j+1]) || isDigit(s[j+1])) && n%4 == 0 {
			j++
			continue
		}
		break
	}
	if lastGood < 0 || (lastGood < len(s) && isAlnum(s[lastGood])) {
		return 0, false
	}
	return lastGood, true
}

// emailAt matches an e-mail address around the '@' at s[at].
func emailAt(s string, at int) (int, int, bool) {
	a := at
	for a > 0 && at-a < 64 && isLocalByte(s[a-1]) {
		a--
	}
	for a < at && s[a] == '.' {
		a++
	}
	if a == at {
		return 0, 0, false
	}
	b := at + 1
	lastDot := -1
	for b < len(s) && b-at < 254 && (isAlnum(s[b]) || s[b] == '-' || s[b] == '.') {
		if s[b] == '.' {
			lastDot = b
		}
		b++
	}
	for b > at+1 && (s[b-1] == '.' || s[b-1] == '-') {
		b--
	}
	if lastDot < 0 || lastDot >= b-2 || lastDot <= at+1 {
		return 0, 0, false
	}
	for k := lastDot + 1; k < b; k++ {
		if !isAlpha(s[k]) {
			return 0, 0, false
		}
	}
	return a, b, true
}

func isLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isIPv6Byte(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n = n*10 + int(s[i]-'0')
		}
	}
	return n
}
