package vfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"sync"
)

// DirOptions configures a DirBackend.
type DirOptions struct {
	// MaxFileSize bounds how large a file Read, Stat or an appending Write
	// will handle; zero or negative means DefaultMaxBytes (64 MiB).
	MaxFileSize int64
}

// DirBackend stores files under an operating-system directory. Every
// operation goes through an os.Root, so no path, "..", or symbolic link can
// reach outside that directory. Files are created with mode 0600 and
// directories with 0700. It is safe for concurrent use.
type DirBackend struct {
	root    *os.Root
	maxSize int64

	closeOnce sync.Once
	closeErr  error
}

// NewDirBackend opens dir, which must exist, as a backend root.
func NewDirBackend(dir string, opts DirOptions) (*DirBackend, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open vfs directory %s: %w", dir, err)
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxBytes
	}
	return &DirBackend{root: root, maxSize: opts.MaxFileSize}, nil
}

// Close releases the directory. It is safe to call more than once.
func (d *DirBackend) Close() error {
	d.closeOnce.Do(func() { d.closeErr = d.root.Close() })
	return d.closeErr
}

// rel turns a VFS path into a path relative to the root ("." for "/").
func rel(p string) string {
	if p == "/" {
		return "."
	}
	return p[1:]
}

// Read implements Backend.
func (d *DirBackend) Read(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := d.root.Open(rel(p))
	if err != nil {
		return nil, fromOS("read", p, err)
	}
	defer f.Close()
	return d.readAll("read", p, f)
}

func (d *DirBackend) readAll(op, p string, f *os.File) ([]byte, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, fromOS(op, p, err)
	}
	if info.IsDir() {
		return nil, newError(op, p, ErrIsDir, "Is a directory: "+p)
	}
	if !info.Mode().IsRegular() {
		return nil, newError(op, p, ErrNotFound, "Not a regular file: "+p)
	}
	data, err := io.ReadAll(io.LimitReader(f, d.maxSize+1))
	if err != nil {
		return nil, fromOS(op, p, err)
	}
	if int64(len(data)) > d.maxSize {
		return nil, newError(op, p, ErrNoSpace, "File larger than "+strconv.FormatInt(d.maxSize, 10)+" bytes: "+p)
	}
	return data, nil
}

// Write implements Backend.
func (d *DirBackend) Write(ctx context.Context, p string, data []byte, mode FileMode) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p == "/" {
		return 0, newError("write", p, ErrIsDir, "Is a directory: "+p)
	}
	if dir := parent(p); dir != "/" {
		if err := d.root.MkdirAll(rel(dir), 0o700); err != nil {
			return 0, fromOS("write", p, err)
		}
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if mode&APPEND != 0 {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := d.root.OpenFile(rel(p), flag, 0o600)
	if err != nil {
		return 0, fromOS("write", p, err)
	}
	if mode&APPEND != 0 {
		if info, err := f.Stat(); err == nil && info.Size()+int64(len(data)) > d.maxSize {
			f.Close()
			return 0, newError("write", p, ErrNoSpace, "File larger than "+strconv.FormatInt(d.maxSize, 10)+" bytes: "+p)
		}
	}
	n, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return n, fromOS("write", p, err)
	}
	return n, nil
}

// Delete implements Backend.
func (d *DirBackend) Delete(ctx context.Context, p string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if p == "/" {
		return false, nil
	}
	err := d.root.Remove(rel(p))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	if info, serr := d.root.Lstat(rel(p)); serr == nil && info.IsDir() {
		return false, newError("delete", p, errors.Join(ErrNotEmpty, err), "Directory not empty: "+p)
	}
	return false, fromOS("delete", p, err)
}

// Exists implements Backend. A symbolic link that leads outside the root
// does not exist.
func (d *DirBackend) Exists(ctx context.Context, p string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	_, err := d.root.Stat(rel(p))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist) || isEscape(err) || isNotDir(err):
		return false, nil
	}
	return false, fromOS("exists", p, err)
}

// List implements Backend.
func (d *DirBackend) List(ctx context.Context, p string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := d.root.Open(rel(p))
	if err != nil {
		return nil, fromOS("list", p, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fromOS("list", p, err)
	}
	if !info.IsDir() {
		return nil, newError("list", p, ErrNotDir, "Not a directory: "+p)
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fromOS("list", p, err)
	}
	slices.Sort(names)
	return names, nil
}

// Stat implements Backend. The content hash of a regular file is computed by
// reading it; the creation time is its modification time (portable file
// systems do not record creation).
func (d *DirBackend) Stat(ctx context.Context, p string) (INode, error) {
	if err := ctx.Err(); err != nil {
		return INode{}, err
	}
	f, err := d.root.Open(rel(p))
	if err != nil {
		return INode{}, fromOS("stat", p, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return INode{}, fromOS("stat", p, err)
	}
	mt := info.ModTime().UTC()
	n := INode{Path: p, Created: mt, Modified: mt, Accessed: mt, Owner: DefaultOwner, Group: DefaultGroup}
	if info.IsDir() {
		n.Type, n.Mode = DIRECTORY, RWX
		return n, nil
	}
	data, err := d.readAll("stat", p, f)
	if err != nil {
		return INode{}, err
	}
	n.Type, n.Mode, n.Size, n.ContentHash = REGULAR, RW, int64(len(data)), ContentHash(data)
	return n, nil
}

// Mkdir implements Backend.
func (d *DirBackend) Mkdir(ctx context.Context, p string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if info, err := d.root.Stat(rel(p)); err == nil {
		if info.IsDir() {
			return false, nil
		}
		return false, newError("mkdir", p, ErrNotDir, "Not a directory: "+p)
	}
	if err := d.root.MkdirAll(rel(p), 0o700); err != nil {
		return false, fromOS("mkdir", p, err)
	}
	return true, nil
}

var _ Backend = (*DirBackend)(nil)
