package vfs

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Path bounds. Longer paths or components are ErrInvalidPath.
const (
	MaxPathLen      = 4096
	MaxComponentLen = 255
)

// ValidatePath checks that p is a VFS path: absolute, in clean form (path.Clean
// would not change it, so no ".", "..", "//" or trailing "/"), valid UTF-8
// without control characters, at most MaxPathLen bytes with components of
// at most MaxComponentLen bytes. Nothing is silently cleaned: a path that
// needs cleaning is rejected with an *Error matching ErrInvalidPath.
func ValidatePath(op, p string) error {
	switch {
	case p == "":
		return errInvalid(op, p, "empty")
	case len(p) > MaxPathLen:
		return errInvalid(op, p[:64]+"...", "longer than 4096 bytes")
	case p[0] != '/':
		return errInvalid(op, p, "not absolute")
	case !utf8.ValidString(p):
		return errInvalid(op, p, "not valid UTF-8")
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return errInvalid(op, p, "control character")
		}
	}
	if path.Clean(p) != p {
		return errInvalid(op, p, `not in clean form (".", "..", "//" or a trailing "/")`)
	}
	for c := range strings.SplitSeq(p[1:], "/") {
		if len(c) > MaxComponentLen {
			return errInvalid(op, p, "component longer than 255 bytes")
		}
	}
	return nil
}

// within reports whether p is mount point m or below it, by path
// components: "/statex/y" is not within "/state".
func within(p, m string) bool {
	if m == "/" {
		return true
	}
	return p == m || (len(p) > len(m) && p[len(m)] == '/' && p[:len(m)] == m)
}

// depth is the number of components of a clean absolute path.
func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// parent returns the directory holding p ("/" for "/").
func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// base returns the last component of p.
func base(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// validID checks a checkpoint or event id: one path component of 1 to 128
// bytes from [A-Za-z0-9._-], starting with a letter or digit.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}
