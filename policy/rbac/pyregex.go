package rbac

import (
	"regexp"
	"strings"
)

// Python's str patterns treat \s, \w and \d as Unicode classes; RE2's are
// ASCII. These replacements give RE2 the Python meaning, so that, for
// example, "rm\u00a0-rf" still matches \brm\s+-rf\b. They are written
// without brackets so they can be spliced into a bracket expression too.
const (
	pySpace = `\t\n\v\f\r \x{1c}-\x{1f}\x{85}\p{Z}`
	pyWord  = `\p{L}\p{N}_`
	pyDigit = `\p{Nd}`
)

// translatePython rewrites the escapes \s \S \w \W \d \D of a Python
// pattern into RE2 classes with Python's Unicode meaning. Inside a bracket
// expression only the positive escapes are rewritten (RE2 cannot subtract a
// class there); the negated ones keep their ASCII RE2 meaning.
//
// \b keeps RE2's ASCII meaning. Next to an ASCII letter of the pattern, as
// in every built-in rule, RE2 sees a boundary wherever Python does (and also
// next to non-ASCII letters), so the built-in rules match a superset of what
// the reference matches: never less.
func translatePython(src string) string {
	var b strings.Builder
	b.Grow(len(src) + 32)
	inClass := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src):
			n := src[i+1]
			i++
			var pos, neg string
			switch n {
			case 's', 'S':
				pos = pySpace
			case 'w', 'W':
				pos = pyWord
			case 'd', 'D':
				pos = pyDigit
			}
			switch {
			case pos == "":
				b.WriteByte('\\')
				b.WriteByte(n)
			case n >= 'a' && n <= 'z' && inClass:
				b.WriteString(pos)
			case n >= 'a' && n <= 'z':
				b.WriteString("[" + pos + "]")
			case inClass:
				b.WriteByte('\\')
				b.WriteByte(n)
			default:
				neg = "[^" + pos + "]"
				b.WriteString(neg)
			}
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal member.
			if i+1 < len(src) && src[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(src) && src[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case c == ']' && inClass:
			inClass = false
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// compilePython compiles a Python-dialect pattern for RE2, optionally
// case-insensitive.
func compilePython(src string, foldCase bool) (*regexp.Regexp, error) {
	t := translatePython(src)
	if foldCase {
		t = "(?i)" + t
	}
	return regexp.Compile(t)
}
