package detect

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file reproduces the few Python behaviours the reference's results
// depend on: str.lower(), str.isspace(), repr() of a string, non-strict
// base64 decoding and UTF-8 decoding that ignores errors.

// injPyLowerRune is str.lower() for one rune other than İ.
func injPyLowerRune(r rune) rune { return unicode.ToLower(r) }

// injPyLower is Python's str.lower(): full lower-case mapping, in which İ
// becomes "i̇" (i and a combining dot above).
func injPyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		if r == 'İ' {
			sb.WriteString("i\u0307")
			continue
		}
		sb.WriteRune(injPyLowerRune(r))
	}
	return sb.String()
}

// injPyIsSpace is str.isspace() for one rune.
func injPyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (0x1c <= r && r <= 0x1f) || unicode.Is(unicode.Zs, r)
}

// injPyRepr is repr() of a str.
func injPyRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var sb strings.Builder
	sb.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			sb.WriteString(`\x`)
			sb.WriteString(injHex2(int(r)))
		case r > 0x7f && !unicode.IsPrint(r) && r != ' ':
			switch {
			case r <= 0xff:
				sb.WriteString(`\x` + injHex2(int(r)))
			case r <= 0xffff:
				sb.WriteString(`\u` + injPadHex(int(r), 4))
			default:
				sb.WriteString(`\U` + injPadHex(int(r), 8))
			}
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte(quote)
	return sb.String()
}

func injHex2(v int) string { return injPadHex(v, 2) }

func injPadHex(v, n int) string {
	h := strconv.FormatInt(int64(v), 16)
	for len(h) < n {
		h = "0" + h
	}
	return h
}

// injB64Decode decodes a run of base64 alphabet characters followed by up
// to two '=' the way Python's non-strict base64.b64decode does: with n data
// characters, n%4 == 1 is an error, n%4 == 2 needs two '=', n%4 == 3 needs
// one, and padding after a complete group is ignored.
func injB64Decode(run string) ([]byte, bool) {
	data := strings.TrimRight(run, "=")
	pads := len(run) - len(data)
	switch len(data) % 4 {
	case 1:
		return nil, false
	case 2:
		if pads < 2 {
			return nil, false
		}
		data += "=="
	case 3:
		if pads < 1 {
			return nil, false
		}
		data += "="
	}
	// Like Python, Go's non-strict decoder ignores non-zero trailing bits.
	out, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, false
	}
	return out, true
}

// injUTF8Ignore is bytes.decode("utf-8", errors="ignore"): invalid sequences
// are dropped.
func injUTF8Ignore(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			sb.WriteRune(r)
		}
		b = b[n:]
	}
	return sb.String()
}
