package rbac

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultProtectedPaths are the reference's protected directories, in its
// order.
var DefaultProtectedPaths = []string{"/etc/", "/sys/", "/proc/", "/dev/", `C:\Windows\System32`}

// Messages of the path stage, kept from the reference.
const (
	msgPathControl = "Path Validation Error: Control characters in path"
	msgPathInvalid = "Path Validation Error: Invalid path format"
	msgPathPrefix  = "Path Violation: Cannot access protected directory "
)

// protectedPath is one compiled protected directory.
type protectedPath struct {
	raw     string // as configured, quoted in the message
	windows bool   // a drive-letter or backslash path, matched case-insensitively
	prefix  string // raw without trailing separators (windows: lower-cased, '/' separators)
	clean   string // normalized form compared with the normalized input
	reason  string // precomputed violation message
}

// pathRules is the compiled path stage.
type pathRules struct {
	base    string // absolute, clean directory relative paths resolve against
	entries []protectedPath
	windows bool // any entry is a Windows path
}

func isWindowsPath(p string) bool {
	return strings.ContainsRune(p, '\\') ||
		len(p) >= 2 && p[1] == ':' && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z')
}

// windowsForm lower-cases p and turns backslashes into slashes.
func windowsForm(p string) string {
	return strings.ToLower(strings.ReplaceAll(p, `\`, "/"))
}

func compileProtected(raw string) (protectedPath, bool) {
	pp := protectedPath{raw: raw, reason: msgPathPrefix + raw}
	if isWindowsPath(raw) {
		pp.windows = true
		w := windowsForm(raw)
		pp.prefix = strings.TrimRight(w, "/")
		pp.clean = path.Clean(w)
	} else {
		if !strings.HasPrefix(raw, "/") {
			return pp, false
		}
		pp.prefix = strings.TrimRight(raw, "/")
		pp.clean = path.Clean(raw)
	}
	return pp, true
}

// under reports whether p is dir or lies below it, comparing whole path
// components (so "/etcetera" is not under "/etc").
func under(p, dir string) bool {
	switch {
	case dir == "":
		return true // the root entry "/" trims to ""
	case dir == "/":
		return strings.HasPrefix(p, "/")
	case len(p) == len(dir):
		return p == dir
	case len(p) > len(dir):
		return p[len(dir)] == '/' && p[:len(dir)] == dir
	}
	return false
}

// check validates a path argument and returns the violation, if any.
//
// The order is the reference's: control characters, then every entry
// against the raw path, then every entry against the normalized path.
// Deliberate deviations: all control characters (and invalid UTF-8) are
// rejected, not just \n \r \x00; paths are compared by component after
// path.Clean, so "//etc/passwd" is under /etc and "/etcetera" is not; a
// relative path resolves against the configured base directory, never the
// process's working directory; Windows entries match case-insensitively and
// with either separator.
func (r *pathRules) check(v any) (string, bool) {
	p, ok := v.(string)
	if !ok || !utf8.ValidString(p) {
		return msgPathInvalid, true
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return msgPathControl, true
		}
		if p[i] >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(p[i:])
			if unicode.IsControl(r) {
				return msgPathControl, true
			}
			i += size - 1
		}
	}
	var win string
	if r.windows {
		win = windowsForm(p)
	}
	// Raw pass.
	for i := range r.entries {
		e := &r.entries[i]
		if e.windows {
			if under(win, e.prefix) {
				return e.reason, true
			}
		} else if under(p, e.prefix) {
			return e.reason, true
		}
	}
	// Normalized pass.
	abs := p
	if !strings.HasPrefix(p, "/") {
		abs = r.base + "/" + p
	}
	clean := path.Clean(abs)
	var cleanWin string
	if r.windows {
		cleanWin = path.Clean(win)
	}
	for i := range r.entries {
		e := &r.entries[i]
		if e.windows {
			if under(cleanWin, e.clean) {
				return e.reason, true
			}
		} else if under(clean, e.clean) {
			return e.reason, true
		}
	}
	return "", false
}
