package kernel

import (
	"context"
	"log/slog"

	"github.com/agentos/agentos/vfs"
)

// FileSystem is an agent's virtual file system as the kernel uses it;
// *vfs.VFS implements it. Errors reach the agent as ErrVFS (3) with the
// error's message.
type FileSystem interface {
	// Read returns a file's content.
	Read(ctx context.Context, path string) ([]byte, error)
	// Write replaces a file's content and returns the bytes written;
	// read-only mounts (/policy) refuse.
	Write(ctx context.Context, path string, data []byte) (int, error)
	// Open opens a file and returns a descriptor.
	Open(ctx context.Context, path string, mode vfs.FileMode) (int, error)
	// Close closes a descriptor.
	Close(fd int) error
	// Stat describes a file or directory.
	Stat(ctx context.Context, path string) (vfs.INode, error)
	// Privileged returns the writer the kernel uses for ring 0 and 1
	// callers: it may also write read-only mounts such as /policy.
	Privileged() vfs.Privileged
}

// FileSystemFactory builds the VFS of each spawned agent.
type FileSystemFactory interface {
	NewFileSystem(ctx context.Context, agentID string) (FileSystem, error)
}

// FileSystemFunc adapts a function to FileSystemFactory.
type FileSystemFunc func(ctx context.Context, agentID string) (FileSystem, error)

// NewFileSystem calls f.
func (f FileSystemFunc) NewFileSystem(ctx context.Context, agentID string) (FileSystem, error) {
	return f(ctx, agentID)
}

// defaultFileSystems gives each agent the standard in-memory VFS.
type defaultFileSystems struct {
	clock Clock
	log   *slog.Logger
}

// NewFileSystem implements FileSystemFactory.
func (d defaultFileSystems) NewFileSystem(ctx context.Context, agentID string) (FileSystem, error) {
	return vfs.New(ctx, vfs.Options{AgentID: agentID, Clock: d.clock, Logger: d.log})
}

// Interface guards.
var (
	_ FileSystem        = (*vfs.VFS)(nil)
	_ FileSystemFactory = defaultFileSystems{}
	_ FileSystemFactory = FileSystemFunc(nil)
)
