package detect

// luhnValid reports whether the digits pass the Luhn checksum.
func luhnValid(digits []byte) bool {
	if len(digits) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ibanValid reports whether s (upper-case letters and digits, no spaces)
// passes the ISO 13616 mod-97 check.
func ibanValid(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	rem := 0
	feed := func(c byte) bool {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			v := int(c-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return false
		}
		return true
	}
	for i := 4; i < len(s); i++ {
		if !feed(s[i]) {
			return false
		}
	}
	for i := 0; i < 4; i++ {
		if !feed(s[i]) {
			return false
		}
	}
	return rem == 1
}
