package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// Code is the kernel's handler-level wire code for every VFS error.
const Code = 3

// Sentinel errors. Every error the package returns matches one of them with
// errors.Is, and is usually an *Error carrying the reference's message.
var (
	// ErrInvalidPath: the path is not absolute, is not in clean form (".",
	// "..", "//", a trailing "/"), contains control characters or invalid
	// UTF-8, or is too long.
	ErrInvalidPath = errors.New("invalid path")
	// ErrNoMount: no mount point covers the path.
	ErrNoMount = errors.New("no mount point")
	// ErrReadOnly: the mount point is read-only for user space.
	ErrReadOnly = errors.New("read-only mount point")
	// ErrNotFound: no such file or directory.
	ErrNotFound = errors.New("no such file")
	// ErrNotDir: a directory was needed.
	ErrNotDir = errors.New("not a directory")
	// ErrIsDir: a regular file was needed.
	ErrIsDir = errors.New("is a directory")
	// ErrNotEmpty: the directory has entries.
	ErrNotEmpty = errors.New("directory not empty")
	// ErrBadFD: the file descriptor is not open.
	ErrBadFD = errors.New("invalid file descriptor")
	// ErrNotWritable: the descriptor was not opened for writing, or the
	// mount refuses it.
	ErrNotWritable = errors.New("not opened for writing")
	// ErrNotReadable: the descriptor was not opened for reading.
	ErrNotReadable = errors.New("not opened for reading")
	// ErrTooManyFDs: the VFS's open-descriptor limit is reached.
	ErrTooManyFDs = errors.New("too many open files")
	// ErrNoSpace: a backend's byte or file-count limit would be exceeded.
	ErrNoSpace = errors.New("storage limit exceeded")
	// ErrInvalidID: a checkpoint or event id is not a single safe path
	// component.
	ErrInvalidID = errors.New("invalid id")
	// ErrMountExists: a mount point is already mounted at the path.
	ErrMountExists = errors.New("mount point exists")
	// ErrEscape: the path would leave the backend's root (for example
	// through a symbolic link).
	ErrEscape = errors.New("path escapes root")
)

// Error is a VFS failure. Its message is the reference's where one exists
// ("No such file: /mem/working/x", "Mount point is read-only: /policy",
// "No mount point for path: /foo/p", "Cannot open for writing: /policy/x",
// "Invalid file descriptor: 9"); Err is the sentinel it matches.
type Error struct {
	// Op is the operation, e.g. "write".
	Op string
	// Path is the VFS path involved ("" for descriptor errors).
	Path string
	// Err is the sentinel, or an underlying cause wrapped by a sentinel.
	Err error
	msg string
}

// Error implements error.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the sentinel (and any cause).
func (e *Error) Unwrap() error { return e.Err }

// Code returns the kernel's wire code for VFS errors (3).
func (e *Error) Code() int { return Code }

func newError(op, p string, sentinel error, msg string) *Error {
	return &Error{Op: op, Path: p, Err: sentinel, msg: msg}
}

func errInvalid(op, p, why string) *Error {
	return newError(op, p, ErrInvalidPath, fmt.Sprintf("Invalid path %q: %s", p, why))
}

func errNotFound(op, p string) *Error { return newError(op, p, ErrNotFound, "No such file: "+p) }

// fromOS maps an error from the operating system to a VFS *Error.
func fromOS(op, p string, err error) error {
	var sentinel error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return errNotFound(op, p)
	case errors.Is(err, fs.ErrExist):
		sentinel = fs.ErrExist
	case isNotDir(err):
		sentinel = ErrNotDir
	case isDirErr(err):
		sentinel = ErrIsDir
	case isEscape(err):
		sentinel = ErrEscape
	default:
		sentinel = fs.ErrPermission
		if !errors.Is(err, fs.ErrPermission) {
			return &Error{Op: op, Path: p, Err: err, msg: op + " " + p + ": " + err.Error()}
		}
	}
	return &Error{Op: op, Path: p, Err: errors.Join(sentinel, err), msg: op + " " + p + ": " + err.Error()}
}

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

func isDirErr(err error) bool { return errors.Is(err, syscall.EISDIR) }

// isEscape reports an os.Root refusal to leave its directory. The standard
// library does not export that error; it is the one *fs.PathError from a
// Root whose cause is not an operating-system errno.
func isEscape(err error) bool {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return false
	}
	var errno syscall.Errno
	return !errors.As(pe.Err, &errno)
}
