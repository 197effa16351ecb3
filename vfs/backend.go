package vfs

import "context"

// Backend stores files for one or more mount points. Paths it receives are
// full VFS paths, already validated by ValidatePath and inside the mount
// being served. Implementations must be safe for concurrent use.
type Backend interface {
	// Read returns a copy of the file's content.
	Read(ctx context.Context, p string) ([]byte, error)
	// Write stores data at p, creating missing parent directories. With
	// the APPEND bit in mode it appends; otherwise it replaces the content.
	// It returns the number of bytes written by this call.
	Write(ctx context.Context, p string, data []byte, mode FileMode) (int, error)
	// Delete removes a file or an empty directory and reports whether
	// anything was there.
	Delete(ctx context.Context, p string) (bool, error)
	// Exists reports whether p is a file or directory.
	Exists(ctx context.Context, p string) (bool, error)
	// List returns the sorted names of p's direct children.
	List(ctx context.Context, p string) ([]string, error)
	// Stat describes p.
	Stat(ctx context.Context, p string) (INode, error)
	// Mkdir creates directory p and any missing parents, reporting false if
	// it already existed.
	Mkdir(ctx context.Context, p string) (bool, error)
}
