package policy

import (
	"fmt"
	"regexp"
	"strings"
)

// glob is a compiled fnmatch pattern: '*' matches any run of characters
// (including '/'), '?' one character, "[seq]" and "[!seq]" a set. Matching
// is case-sensitive and covers the whole name.
type globPattern struct {
	literal string         // the pattern when it has no metacharacters
	re      *regexp.Regexp // otherwise, the anchored translation
}

// isLiteralGlob reports whether p has no fnmatch metacharacters.
func isLiteralGlob(p string) bool {
	return !strings.ContainsAny(p, "*?[")
}

// compileGlob translates p once; matching never recompiles.
func compileGlob(p string) (globPattern, error) {
	if isLiteralGlob(p) {
		return globPattern{literal: p}, nil
	}
	re, err := regexp.Compile(translateGlob(p))
	if err != nil {
		return globPattern{}, fmt.Errorf("invalid glob %q: %v", p, err)
	}
	return globPattern{re: re}, nil
}

// match reports whether name matches the glob.
func (g *globPattern) match(name string) bool {
	if g.re == nil {
		return name == g.literal
	}
	return g.re.MatchString(name)
}

// translateGlob turns an fnmatch pattern into an anchored RE2 expression,
// following Python's fnmatch.translate: an unclosed '[' is a literal.
func translateGlob(p string) string {
	var b strings.Builder
	b.WriteString(`\A(?s:`)
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			// Collapse runs of '*'.
			for i+1 < len(rs) && rs[i+1] == '*' {
				i++
			}
			b.WriteString(".*")
		case '?':
			b.WriteByte('.')
		case '[':
			j := i + 1
			if j < len(rs) && rs[j] == '!' {
				j++
			}
			if j < len(rs) && rs[j] == ']' {
				j++
			}
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			if j >= len(rs) {
				b.WriteString(`\[`)
				continue
			}
			body := rs[i+1 : j]
			i = j
			b.WriteByte('[')
			if len(body) > 0 && body[0] == '!' {
				b.WriteByte('^')
				body = body[1:]
			}
			for k, r := range body {
				switch {
				case r == '-' && k > 0 && k < len(body)-1:
					b.WriteByte('-') // a range
				case r < 0x80 && strings.ContainsRune(`\-^[]`, r):
					b.WriteByte('\\')
					b.WriteRune(r)
				default:
					b.WriteRune(r)
				}
			}
			b.WriteByte(']')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`)\z`)
	return b.String()
}
