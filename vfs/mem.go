package vfs

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Defaults for MemOptions.
const (
	DefaultMaxBytes = 64 << 20
	DefaultMaxFiles = 10_000
)

// MemOptions configures a MemBackend.
type MemOptions struct {
	// MaxBytes bounds the total size of all file contents; zero or negative
	// means DefaultMaxBytes (64 MiB).
	MaxBytes int64
	// MaxFiles bounds the number of files and directories; zero or
	// negative means DefaultMaxFiles (10,000).
	MaxFiles int
	// Clock stamps inodes; nil means the real clock.
	Clock Clock
}

// MemBackend keeps files in memory, bounded in total bytes and entries. It is
// safe for concurrent use.
type MemBackend struct {
	maxBytes int64
	maxFiles int
	clock    Clock

	mu    sync.RWMutex
	files map[string]*memFile // guarded by mu
	dirs  map[string]*memDir  // guarded by mu
	bytes int64               // guarded by mu
}

type memFile struct {
	data  []byte
	inode INode
}

type memDir struct {
	created  time.Time
	children map[string]struct{}
}

// NewMemBackend returns an empty backend holding only "/".
func NewMemBackend(opts MemOptions) *MemBackend {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	m := &MemBackend{
		maxBytes: opts.MaxBytes, maxFiles: opts.MaxFiles, clock: opts.Clock,
		files: map[string]*memFile{},
		dirs:  map[string]*memDir{},
	}
	m.dirs["/"] = &memDir{created: opts.Clock.Now().UTC(), children: map[string]struct{}{}}
	return m
}

// Read implements Backend.
func (m *MemBackend) Read(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	f := m.files[p]
	if f == nil {
		if m.dirs[p] != nil {
			return nil, newError("read", p, ErrIsDir, "Is a directory: "+p)
		}
		return nil, errNotFound("read", p)
	}
	return slices.Clone(f.data), nil
}

// Write implements Backend. It fails with ErrNoSpace, changing nothing, if
// the result would exceed MaxBytes or MaxFiles.
func (m *MemBackend) Write(ctx context.Context, p string, data []byte, mode FileMode) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := m.clock.Now().UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[p] != nil {
		return 0, newError("write", p, ErrIsDir, "Is a directory: "+p)
	}
	missing, err := m.missingDirsLocked("write", parent(p))
	if err != nil {
		return 0, err
	}
	f := m.files[p]
	newEntries := len(missing)
	oldSize := 0
	if f == nil {
		newEntries++
	} else {
		oldSize = len(f.data)
	}
	newSize := len(data)
	if mode&APPEND != 0 {
		newSize += oldSize
	}
	if m.entriesLocked()+newEntries > m.maxFiles {
		return 0, newError("write", p, ErrNoSpace, "Storage limit exceeded: more than "+strconv.Itoa(m.maxFiles)+" files and directories")
	}
	if m.bytes-int64(oldSize)+int64(newSize) > m.maxBytes {
		return 0, newError("write", p, ErrNoSpace, "Storage limit exceeded: more than "+strconv.FormatInt(m.maxBytes, 10)+" bytes")
	}
	m.mkdirsLocked(missing, now)
	if f == nil {
		f = &memFile{inode: INode{Path: p, Type: REGULAR, Mode: RW, Created: now, Owner: DefaultOwner, Group: DefaultGroup}}
		m.files[p] = f
		m.dirs[parent(p)].children[base(p)] = struct{}{}
	}
	var content []byte
	if mode&APPEND != 0 {
		content = make([]byte, 0, newSize)
		content = append(append(content, f.data...), data...)
	} else {
		content = slices.Clone(data)
	}
	m.bytes += int64(newSize - oldSize)
	f.data = content
	f.inode.Size = int64(len(content))
	f.inode.Modified, f.inode.Accessed = now, now
	f.inode.ContentHash = ContentHash(content)
	return len(data), nil
}

func (m *MemBackend) entriesLocked() int { return len(m.files) + len(m.dirs) - 1 }

// missingDirsLocked returns the directories to create, outermost first, for
// dir to exist; ErrNotDir if a file is in the way.
func (m *MemBackend) missingDirsLocked(op, dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = parent(d) {
		if m.dirs[d] != nil {
			break
		}
		if m.files[d] != nil {
			return nil, newError(op, d, ErrNotDir, "Not a directory: "+d)
		}
		missing = append(missing, d)
	}
	slices.Reverse(missing)
	return missing, nil
}

func (m *MemBackend) mkdirsLocked(dirs []string, now time.Time) {
	for _, d := range dirs {
		m.dirs[d] = &memDir{created: now, children: map[string]struct{}{}}
		m.dirs[parent(d)].children[base(d)] = struct{}{}
	}
}

// Delete implements Backend.
func (m *MemBackend) Delete(ctx context.Context, p string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.files[p]; f != nil {
		m.bytes -= int64(len(f.data))
		delete(m.files, p)
		delete(m.dirs[parent(p)].children, base(p))
		return true, nil
	}
	d := m.dirs[p]
	if d == nil || p == "/" {
		return false, nil
	}
	if len(d.children) > 0 {
		return false, newError("delete", p, ErrNotEmpty, "Directory not empty: "+p)
	}
	delete(m.dirs, p)
	delete(m.dirs[parent(p)].children, base(p))
	return true, nil
}

// Exists implements Backend.
func (m *MemBackend) Exists(ctx context.Context, p string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.files[p] != nil || m.dirs[p] != nil, nil
}

// List implements Backend.
func (m *MemBackend) List(ctx context.Context, p string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	d := m.dirs[p]
	if d == nil {
		if m.files[p] != nil {
			return nil, newError("list", p, ErrNotDir, "Not a directory: "+p)
		}
		return nil, errNotFound("list", p)
	}
	names := make([]string, 0, len(d.children))
	for n := range d.children {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// Stat implements Backend. A directory gets a fresh DIRECTORY inode with
// mode RWX, as in the reference.
func (m *MemBackend) Stat(ctx context.Context, p string) (INode, error) {
	if err := ctx.Err(); err != nil {
		return INode{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if f := m.files[p]; f != nil {
		return f.inode.clone(), nil
	}
	if d := m.dirs[p]; d != nil {
		return INode{Path: p, Type: DIRECTORY, Mode: RWX, Created: d.created, Modified: d.created, Accessed: d.created,
			Owner: DefaultOwner, Group: DefaultGroup}, nil
	}
	return INode{}, errNotFound("stat", p)
}

// Mkdir implements Backend.
func (m *MemBackend) Mkdir(ctx context.Context, p string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := m.clock.Now().UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[p] != nil {
		return false, nil
	}
	missing, err := m.missingDirsLocked("mkdir", p)
	if err != nil {
		return false, err
	}
	if m.entriesLocked()+len(missing) > m.maxFiles {
		return false, newError("mkdir", p, ErrNoSpace, "Storage limit exceeded: more than "+strconv.Itoa(m.maxFiles)+" files and directories")
	}
	m.mkdirsLocked(missing, now)
	return true, nil
}

// Usage returns the bytes and entries (files and directories, not counting
// "/") in use.
func (m *MemBackend) Usage() (bytes int64, entries int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.bytes, m.entriesLocked()
}

var _ Backend = (*MemBackend)(nil)
