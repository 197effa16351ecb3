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

// Secret shapes: high-signal secret formats, each starting with its own
// literal ("bearer" in any case), which markerAt looks for; the two must
// be kept in step.
const (
	shapeAWS       = `\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`
	shapeGitHub    = `\bgh[pousr]_[A-Za-z0-9]{36,}`
	shapeGitHubPAT = `\bgithub_pat_[A-Za-z0-9_]{22,}`
	shapeSlack     = `\bxox[abposr]-[A-Za-z0-9-]{10,}`
	shapePEM       = `-----BEGIN[A-Z ]* PRIVATE KEY-----`
	shapeJWT       = `\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`
	shapeBearer    = `(?i:\bbearer\s+[A-Za-z0-9._~+/=-]{16,})`
	// shapeURLPassword is a URL's user information with a password
	// ("postgres://app:pw@db", "https://:token@host"): from the "://", a
	// user name (possibly empty), a colon and a password of the characters
	// RFC 3986 allows there, up to the "@". "[" and "]" are not among them,
	// so "[REDACTED]" in its place does not match again.
	shapeURLPassword = `://[^\s/?#@:\[\]]*:[^\s/?#@\[\]]+@`
	// shapeAWSSecret is an AWS secret access key given by name
	// ("AWS_SECRET_ACCESS_KEY=…", "aws_secret_access_key": "…"), which has
	// no shape of its own. The name is spelt out in ASCII classes, not
	// (?i), which would also let "ſ" and the Kelvin sign stand for s and k.
	shapeAWSSecret = `\b[Aa][Ww][Ss][_-]?[Ss][Ee][Cc][Rr][Ee][Tt][_-]?[Aa][Cc][Cc][Ee][Ss][Ss][_-]?[Kk][Ee][Yy]` +
		`["']?[ \t]*[:=][ \t]*["']?[A-Za-z0-9/+=]{40,}`
)

// secretShapesPattern matches any secret shape: AWS access key ids,
// GitHub tokens, Slack tokens, PEM private keys, JWTs, bearer tokens,
// passwords in URLs and AWS secret access keys given by name.
const secretShapesPattern = shapeAWS + "|" + shapeGitHub + "|" + shapeGitHubPAT + "|" + shapeSlack + "|" +
	shapePEM + "|" + shapeJWT + "|" + shapeBearer + "|" + shapeURLPassword + "|" + shapeAWSSecret

// secretShapes finds secret shapes anywhere in a string, in linear time.
// It is the fallback of shapeScanner for strings with many candidates.
var secretShapes = regexp.MustCompile(secretShapesPattern)

// shapesAt match one secret shape at the start of a string, indexed by
// what markerAt returns. Since no two shapes start with the same literal,
// where one of them matches is where secretShapes would. One is tried only
// where markerAt finds its literal, and only up to the first byte no shape
// can hold (shapeStop), so its cost is that of the candidate match, not of
// the whole string.
var shapesAt = func() (rs [9]*regexp.Regexp) {
	for i, p := range [...]string{shapeAWS, shapeGitHub, shapeGitHubPAT, shapeSlack, shapePEM, shapeJWT, shapeBearer, shapeURLPassword, shapeAWSSecret} {
		rs[i] = regexp.MustCompile(`^(?:` + p + `)`)
	}
	return rs
}()

// markerAt reports which secret shape's literal s[i:] starts with, as an
// index into shapesAt, or -1: "AKIA" or "ASIA", "gh" then one of "pousr"
// then "_", "github_pat_", "xox", "-----BEGIN", "eyJ", "bearer" in any
// ASCII case (the only case folding (?i) allows for its letters), "://",
// or "aws" in any ASCII case (an AWS secret access key's name).
func markerAt(s string, i int) int {
	t := s[i+1:]
	switch s[i] {
	case 'A', 'a':
		if s[i] == 'A' && (strings.HasPrefix(t, "KIA") || strings.HasPrefix(t, "SIA")) {
			return 0
		}
		if len(t) >= 2 && (t[0] == 'w' || t[0] == 'W') && (t[1] == 's' || t[1] == 'S') {
			return shapeIndexAWSSecret
		}
	case 'g':
		if len(t) >= 3 && t[0] == 'h' && strings.IndexByte("pousr", t[1]) >= 0 && t[2] == '_' {
			return 1
		}
		if strings.HasPrefix(t, "ithub_pat_") {
			return 2
		}
	case 'x':
		if strings.HasPrefix(t, "ox") {
			return 3
		}
	case '-':
		if strings.HasPrefix(t, "----BEGIN") {
			return 4
		}
	case 'e':
		if strings.HasPrefix(t, "yJ") {
			return 5
		}
	case 'b', 'B':
		if len(t) >= 5 && strings.EqualFold(t[:5], "earer") {
			return 6
		}
	case ':':
		if strings.HasPrefix(t, "//") {
			return shapeIndexURL
		}
	}
	return -1
}

// Indexes into shapesAt of the shapes that do not start with \b.
const (
	shapeIndexPEM = 4
	shapeIndexURL = 7
)

// shapeIndexAWSSecret is the index into shapesAt of shapeAWSSecret.
const shapeIndexAWSSecret = 8

// markerStart and markerSecond mark the first and second bytes of the
// literals markerAt looks for.
var (
	markerStart  = [256]bool{'A': true, 'a': true, 'g': true, 'x': true, '-': true, 'e': true, 'b': true, 'B': true, ':': true}
	markerSecond = [256]bool{'K': true, 'S': true, 'h': true, 'i': true, 'o': true, '-': true, 'y': true, 'e': true, 'E': true, '/': true,
		'w': true, 'W': true}
)

// isWordByte reports whether c is an ASCII word character (\w).
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// shapeByte marks the bytes a secret shape may hold after its first:
// ASCII letters and digits, "_.~+/=-", the spaces \s matches, and every
// byte of a multi-byte character (under (?i) the bearer token's class
// also matches "ſ" and the Kelvin sign, which fold to s and k).
var shapeByte = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.~+/=- \t\n\f\r") {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// shapeStop returns the end of the window shapesAt need for a
// candidate of shape at s[i]: through the first byte no shape can hold
// (which a trailing \b looks at), or to the end of s; for a password in a
// URL, up to the first space \s matches. No match can reach past it.
func shapeStop(s string, i, shape int) int {
	if shape == shapeIndexAWSSecret {
		// The name, blanks, quotes, a colon or equals sign and the key: no
		// part of it holds a line break.
		if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
			return i + j
		}
		return len(s)
	}
	if shape == shapeIndexURL {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case ' ', '\t', '\n', '\f', '\r':
				return j
			}
		}
		return len(s)
	}
	for j := i + 1; j < len(s); j++ {
		if !shapeByte[s[j]] {
			return j + 1
		}
	}
	return len(s)
}

// maxShapeTries bounds the candidates shapeScanner tries one by one in a
// string; past it, one linear search of the whole string takes over, so
// a string full of near-misses ("eyJeyJeyJ…") costs linear time.
const maxShapeTries = 32

// shapeScanner finds the secret shapes in one string, leftmost first and
// without overlap, exactly as secretShapes.FindAllStringIndex does.
type shapeScanner struct {
	s     string
	tries int     // candidates tried one by one so far
	all   [][]int // every match, once tries reached maxShapeTries
}

// next returns the first match starting at or after from, as s[start:end],
// where from is 0 or the end of the previous match; start is -1 when there
// is none. Only positions where markerAt finds a literal are tried, with
// the \b that starts every shape but the PEM one checked here, since
// shapesAt see the string only from the candidate on.
func (sc *shapeScanner) next(from int) (start, end int) {
	s := sc.s
	t := s[from:]
	for j := 0; j < len(t); j++ {
		// Most bytes are passed over here, without a call.
		if !markerStart[t[j]] || j+1 == len(t) || !markerSecond[t[j+1]] {
			continue
		}
		i := from + j
		shape := markerAt(s, i)
		if shape < 0 || shape != shapeIndexPEM && shape != shapeIndexURL && i > 0 && isWordByte(s[i-1]) {
			continue
		}
		if sc.tries == maxShapeTries {
			if sc.all == nil {
				sc.all = secretShapes.FindAllStringIndex(s, -1)
			}
			for _, m := range sc.all {
				if m[0] >= from {
					return m[0], m[1]
				}
			}
			return -1, -1
		}
		sc.tries++
		if m := shapesAt[shape].FindStringIndex(s[i:shapeStop(s, i, shape)]); m != nil {
			return i, i + m[1]
		}
	}
	return -1, -1
}

// SecretShapes is the built-in SecretDetector: it flags strings holding
// an AWS access key id (AKIA…/ASIA…), a GitHub token (ghp_…, gho_…,
// github_pat_…), a Slack token (xox…-), a PEM private key, a JWT, a
// bearer token, a URL with a password (postgres://user:pw@host) or an AWS
// secret access key given by name (AWS_SECRET_ACCESS_KEY=…). The regular expression runs only where one of the
// literals these start with ("AKIA", "ghp_", "xox", "-----BEGIN", "eyJ",
// "bearer", "://", …) is found, so a string holding none costs one pass over its
// bytes.
type SecretShapes struct{}

// IsSecret implements SecretDetector.
func (SecretShapes) IsSecret(s string) bool {
	sc := shapeScanner{s: s}
	start, _ := sc.next(0)
	return start >= 0
}

// maxRedactPasses bounds RedactString's passes; each pass shortens the
// string, and one pass is all the shapes need in practice.
const maxRedactPasses = 8

// RedactString returns s with each secret it holds replaced by Redacted,
// keeping the text around it, and whether it changed anything; s itself
// (not a copy) is returned when it holds no secret. The span replaced is
// the match, except that a bearer token keeps its "Bearer " (so
// "Authorization: Bearer abc…" becomes "Authorization: Bearer [REDACTED]")
// a PEM private key is replaced from its BEGIN line through its END line,
// or to the end of s when that is missing, a URL keeps all but its
// password ("postgres://app:[REDACTED]@db/app"), and a named AWS secret
// access key keeps its name ("AWS_SECRET_ACCESS_KEY=[REDACTED]"). The result holds nothing
// IsSecret flags.
func (SecretShapes) RedactString(s string) (string, bool) {
	sc := shapeScanner{s: s}
	start, end := sc.next(0)
	if start < 0 {
		return s, false
	}
	for range maxRedactPasses {
		s = redactSpans(&sc, start, end)
		sc = shapeScanner{s: s}
		if start, end = sc.next(0); start < 0 {
			return s, true
		}
	}
	return Redacted, true
}

// redactSpans replaces the secrets in sc's string (see RedactString),
// the first of which is s[start:end].
func redactSpans(sc *shapeScanner, start, end int) string {
	s := sc.s
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for start >= 0 {
		switch {
		case s[start] == '-':
			end = pemEnd(s, end)
		case s[start] == 'b' || s[start] == 'B':
			start += len("bearer")
			for start < end && !isTokenByte(s[start]) {
				start++
			}
		case s[start] == ':':
			// "://" user ":" password "@": the user has no colon.
			start += len("://") + strings.IndexByte(s[start+len("://"):end], ':') + 1
			end--
		case s[start+1] == 'w' || s[start+1] == 'W':
			// A named AWS secret keeps its name: the key follows the colon
			// or equals sign and any blanks and quote.
			start += strings.IndexAny(s[start:end], ":=") + 1
			for start < end && strings.IndexByte(" \t\"'", s[start]) >= 0 {
				start++
			}
		}
		b.WriteString(s[last:start])
		b.WriteString(Redacted)
		last = end
		start, end = sc.next(last)
	}
	b.WriteString(s[last:])
	return b.String()
}

// pemEnd returns the end of the PEM block whose BEGIN line ends at from:
// after the "-----" that closes its "-----END" line, or len(s).
func pemEnd(s string, from int) int {
	i := strings.Index(s[from:], "-----END")
	if i < 0 {
		return len(s)
	}
	from += i + len("-----END")
	j := strings.Index(s[from:], "-----")
	if j < 0 {
		return len(s)
	}
	return from + j + len("-----")
}

// isTokenByte reports whether c may be part of a bearer token.
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("._~+/=-", c) >= 0
}
