package vfs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// StandardMount is one of the mounts every VFS starts with.
type StandardMount struct {
	// Path is the mount point.
	Path string
	// Description says what it holds.
	Description string
	// ReadOnly refuses writes from user space.
	ReadOnly bool
}

// StandardMounts returns the reference's eight mounts in its order.
func StandardMounts() []StandardMount {
	return []StandardMount{
		{Path: "/mem/working", Description: "Working memory (ephemeral)"},
		{Path: "/mem/episodic", Description: "Episodic memory (experiences)"},
		{Path: "/mem/semantic", Description: "Semantic memory (facts)"},
		{Path: "/mem/procedural", Description: "Procedural memory (skills)"},
		{Path: "/state", Description: "Agent state (checkpoints)"},
		{Path: "/tools", Description: "Tool interfaces"},
		{Path: "/policy", Description: "Policy files (read-only)", ReadOnly: true},
		{Path: "/ipc", Description: "Inter-process communication"},
	}
}

// DefaultMaxOpenFiles is the descriptor limit of a VFS whose MaxOpenFiles is
// zero.
const DefaultMaxOpenFiles = 64

// Options configures a VFS.
type Options struct {
	// AgentID is recorded in checkpoints.
	AgentID string
	// Backend serves every standard mount not named in Backends; nil means
	// one new MemBackend with default limits, shared by all of them.
	Backend Backend
	// Backends overrides the backend of individual standard mounts, keyed by
	// mount path (e.g. "/mem/episodic"); nil or missing entries use Backend.
	Backends map[string]Backend
	// MaxOpenFiles bounds open descriptors; zero or negative means
	// DefaultMaxOpenFiles.
	MaxOpenFiles int
	// Clock stamps checkpoints and episodic events; nil means the real
	// clock.
	Clock Clock
	// Logger receives mount changes at Debug; nil discards.
	Logger *slog.Logger
}

// MountOptions configures one mount point.
type MountOptions struct {
	// ReadOnly refuses write, append, delete, mkdir and open-for-write from
	// user space; the kernel can still write through Privileged.
	ReadOnly bool
	// Description says what the mount holds.
	Description string
}

type mount struct {
	path        string
	backend     Backend
	readOnly    bool
	description string
}

// MountInfo describes a mount point, with the reference's keys.
type MountInfo struct {
	Path        string `json:"path"`
	Backend     string `json:"backend"`
	Mode        string `json:"mode"`
	ReadOnly    bool   `json:"read_only"`
	Description string `json:"description"`
}

// VFS is one agent's virtual file system: a table of mount points, each
// served by a Backend. Paths are resolved on path components after
// validation (see ValidatePath), so nothing can name a file outside the
// mount that serves it. It is safe for concurrent use.
type VFS struct {
	agentID string
	clock   Clock
	log     *slog.Logger
	maxFDs  int

	mu     sync.RWMutex
	mounts []*mount // guarded by mu; sorted by depth, deepest first
	order  []*mount // guarded by mu; in mount order

	fdMu   sync.Mutex
	fds    map[int]*fileDesc // guarded by fdMu
	nextFD int               // guarded by fdMu
}

// New returns a VFS with the eight standard mounts, creating each mount
// directory in its backend.
func New(ctx context.Context, opts Options) (*VFS, error) {
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Backend == nil {
		opts.Backend = NewMemBackend(MemOptions{Clock: opts.Clock})
	}
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = DefaultMaxOpenFiles
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &VFS{
		agentID: opts.AgentID, clock: opts.Clock, maxFDs: opts.MaxOpenFiles,
		log:    log.With("component", "vfs", "agent_id", opts.AgentID),
		fds:    map[int]*fileDesc{},
		nextFD: 1,
	}
	for _, sm := range StandardMounts() {
		b := opts.Backends[sm.Path]
		if b == nil {
			b = opts.Backend
		}
		if err := v.Mount(ctx, sm.Path, b, MountOptions{ReadOnly: sm.ReadOnly, Description: sm.Description}); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Mount adds a mount point at p served by b and creates its directory in b.
// A mount may sit below another (the deeper one wins for its subtree) but
// not at a path already mounted.
func (v *VFS) Mount(ctx context.Context, p string, b Backend, opts MountOptions) error {
	if err := ValidatePath("mount", p); err != nil {
		return err
	}
	if b == nil {
		return newError("mount", p, ErrNoMount, "No backend for mount point: "+p)
	}
	if _, err := b.Mkdir(ctx, p); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, m := range v.mounts {
		if m.path == p {
			return newError("mount", p, ErrMountExists, "Mount point exists: "+p)
		}
	}
	// Insert keeping deepest-first order; equal depths keep mount order.
	nm := &mount{path: p, backend: b, readOnly: opts.ReadOnly, description: opts.Description}
	i := 0
	for i < len(v.mounts) && depth(v.mounts[i].path) >= depth(p) {
		i++
	}
	v.mounts = slices.Insert(v.mounts, i, nm)
	v.order = append(v.order, nm)
	v.log.Debug("mounted", "path", p, "read_only", opts.ReadOnly)
	return nil
}

// Unmount removes the mount point at p and reports whether there was one.
// Files stay in its backend.
func (v *VFS) Unmount(p string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	i := slices.IndexFunc(v.mounts, func(m *mount) bool { return m.path == p })
	if i < 0 {
		return false
	}
	v.mounts = slices.Delete(v.mounts, i, i+1)
	v.order = slices.DeleteFunc(v.order, func(m *mount) bool { return m.path == p })
	v.log.Debug("unmounted", "path", p)
	return true
}

// MountInfo lists the mount points in the order they were mounted (for a
// new VFS, the reference's standard order). Mode is "READ" for a read-only
// mount and "RW" otherwise.
func (v *VFS) MountInfo() []MountInfo {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]MountInfo, 0, len(v.order))
	for _, m := range v.order {
		mode := RW
		if m.readOnly {
			mode = READ
		}
		out = append(out, MountInfo{Path: m.path, Backend: backendName(m.backend), Mode: mode.String(),
			ReadOnly: m.readOnly, Description: m.description})
	}
	return out
}

func backendName(b Backend) string {
	t := reflect.TypeOf(b)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// resolve validates p and returns the mount serving it: the deepest mount
// point that is p or a component-wise ancestor of p.
func (v *VFS) resolve(op, p string) (*mount, error) {
	if err := ValidatePath(op, p); err != nil {
		return nil, err
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, m := range v.mounts {
		if within(p, m.path) {
			return m, nil
		}
	}
	return nil, newError(op, p, ErrNoMount, "No mount point for path: "+p)
}

// Resolve returns the mount point that serves p, or an error matching
// ErrInvalidPath or ErrNoMount.
func (v *VFS) Resolve(p string) (string, error) {
	m, err := v.resolve("resolve", p)
	if err != nil {
		return "", err
	}
	return m.path, nil
}

// writable resolves p for a modifying operation.
func (v *VFS) writable(op, p string, priv bool) (*mount, error) {
	m, err := v.resolve(op, p)
	if err != nil {
		return nil, err
	}
	if m.readOnly && !priv {
		return nil, newError(op, p, ErrReadOnly, "Mount point is read-only: "+m.path)
	}
	return m, nil
}

// Read returns the content of the file at p.
func (v *VFS) Read(ctx context.Context, p string) ([]byte, error) {
	m, err := v.resolve("read", p)
	if err != nil {
		return nil, err
	}
	return m.backend.Read(ctx, p)
}

// ReadText returns the content of the file at p as a string; it must be
// valid UTF-8.
func (v *VFS) ReadText(ctx context.Context, p string) (string, error) {
	data, err := v.Read(ctx, p)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(data) {
		return "", newError("read", p, ErrInvalidPath, "File is not valid UTF-8 text: "+p)
	}
	return string(data), nil
}

// ReadJSON decodes the JSON file at p into out.
func (v *VFS) ReadJSON(ctx context.Context, p string, out any) error {
	data, err := v.Read(ctx, p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode JSON file %s: %w", p, err)
	}
	return nil
}

// Write replaces the content of the file at p with data, creating it and
// its parent directories, and returns len(data).
func (v *VFS) Write(ctx context.Context, p string, data []byte) (int, error) {
	return v.write(ctx, "write", p, data, WRITE, false)
}

// WriteString is Write of s's UTF-8 bytes.
func (v *VFS) WriteString(ctx context.Context, p, s string) (int, error) {
	return v.Write(ctx, p, []byte(s))
}

// Append adds data to the end of the file at p, creating it if needed, and
// returns len(data).
func (v *VFS) Append(ctx context.Context, p string, data []byte) (int, error) {
	return v.write(ctx, "append", p, data, APPEND, false)
}

// WriteJSON writes value as JSON indented by two spaces and returns the
// bytes written. Unlike the reference, which stringified unknown types,
// a value that cannot be encoded is an error.
func (v *VFS) WriteJSON(ctx context.Context, p string, value any) (int, error) {
	data, err := marshalIndent(value)
	if err != nil {
		return 0, fmt.Errorf("encode JSON for %s: %w", p, err)
	}
	return v.Write(ctx, p, data)
}

func marshalIndent(value any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (v *VFS) write(ctx context.Context, op, p string, data []byte, mode FileMode, priv bool) (int, error) {
	m, err := v.writable(op, p, priv)
	if err != nil {
		return 0, err
	}
	if p == m.path {
		return 0, newError(op, p, ErrIsDir, "Is a directory: "+p)
	}
	return m.backend.Write(ctx, p, data, mode)
}

// Delete removes the file (or empty directory) at p and reports whether it
// existed. A mount point itself cannot be deleted.
func (v *VFS) Delete(ctx context.Context, p string) (bool, error) {
	return v.delete(ctx, p, false)
}

func (v *VFS) delete(ctx context.Context, p string, priv bool) (bool, error) {
	m, err := v.writable("delete", p, priv)
	if err != nil {
		return false, err
	}
	if p == m.path {
		return false, newError("delete", p, ErrReadOnly, "Cannot delete mount point: "+p)
	}
	return m.backend.Delete(ctx, p)
}

// Exists reports whether p names a file or directory. A path no mount
// covers does not exist (as in the reference); an invalid path is an error.
func (v *VFS) Exists(ctx context.Context, p string) (bool, error) {
	m, err := v.resolve("exists", p)
	if err != nil {
		if isNoMount(err) {
			return false, nil
		}
		return false, err
	}
	return m.backend.Exists(ctx, p)
}

func isNoMount(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Err == ErrNoMount
}

// Stat describes the file or directory at p.
func (v *VFS) Stat(ctx context.Context, p string) (INode, error) {
	m, err := v.resolve("stat", p)
	if err != nil {
		return INode{}, err
	}
	return m.backend.Stat(ctx, p)
}

// List returns the sorted names of the direct children of directory p.
// Mount points below p that its backend does not hold are included.
func (v *VFS) List(ctx context.Context, p string) ([]string, error) {
	m, err := v.resolve("list", p)
	if err != nil {
		return nil, err
	}
	names, err := m.backend.List(ctx, p)
	if err != nil {
		return nil, err
	}
	v.mu.RLock()
	for _, o := range v.mounts {
		if o.path != p && within(o.path, p) {
			child := o.path[len(p):]
			if p != "/" {
				child = child[1:] // drop the separator after p
			}
			if i := strings.IndexByte(child, '/'); i >= 0 {
				child = child[:i]
			}
			if !slices.Contains(names, child) {
				names = append(names, child)
			}
		}
	}
	v.mu.RUnlock()
	slices.Sort(names)
	return names, nil
}

// Mkdir creates directory p (and missing parents) and reports false if it
// already existed.
func (v *VFS) Mkdir(ctx context.Context, p string) (bool, error) {
	return v.mkdir(ctx, p, false)
}

func (v *VFS) mkdir(ctx context.Context, p string, priv bool) (bool, error) {
	m, err := v.writable("mkdir", p, priv)
	if err != nil {
		return false, err
	}
	return m.backend.Mkdir(ctx, p)
}

// Privileged is the kernel's writer: it writes through read-only mounts
// such as /policy. The VFS gives the hook; the kernel enforces who may use
// it and must never hand it to user space.
type Privileged struct {
	v *VFS
}

// Privileged returns the kernel's writer for v.
func (v *VFS) Privileged() Privileged { return Privileged{v: v} }

// Write is VFS.Write ignoring read-only mounts.
func (pw Privileged) Write(ctx context.Context, p string, data []byte) (int, error) {
	return pw.v.write(ctx, "write", p, data, WRITE, true)
}

// Append is VFS.Append ignoring read-only mounts.
func (pw Privileged) Append(ctx context.Context, p string, data []byte) (int, error) {
	return pw.v.write(ctx, "append", p, data, APPEND, true)
}

// WriteJSON is VFS.WriteJSON ignoring read-only mounts.
func (pw Privileged) WriteJSON(ctx context.Context, p string, value any) (int, error) {
	data, err := marshalIndent(value)
	if err != nil {
		return 0, fmt.Errorf("encode JSON for %s: %w", p, err)
	}
	return pw.Write(ctx, p, data)
}

// Delete is VFS.Delete ignoring read-only mounts.
func (pw Privileged) Delete(ctx context.Context, p string) (bool, error) {
	return pw.v.delete(ctx, p, true)
}

// Mkdir is VFS.Mkdir ignoring read-only mounts.
func (pw Privileged) Mkdir(ctx context.Context, p string) (bool, error) {
	return pw.v.mkdir(ctx, p, true)
}

// formatFD is the reference's invalid-descriptor message.
func errBadFD(op string, fd int) *Error {
	return newError(op, "", ErrBadFD, "Invalid file descriptor: "+strconv.Itoa(fd))
}
