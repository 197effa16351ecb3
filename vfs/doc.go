// Package vfs is the per-agent virtual file system: a table of mount points
// (working, episodic, semantic and procedural memory, state, tools, policy,
// IPC), each served by a [Backend], with file descriptors and helpers for
// checkpoints and memory.
//
// # Paths
//
// A VFS path is absolute and already clean: [ValidatePath] rejects, rather
// than silently cleaning, anything path.Clean would change ("..", ".",
// "//", a trailing "/"), as well as control characters, invalid UTF-8 and
// over-long paths. Mount points are matched on whole path components, so
// "/statex/y" is not under "/state", and the deepest matching mount wins.
// A path therefore always names a file inside the mount that serves it.
//
// # Backends
//
// [MemBackend] keeps files in memory within byte and file-count limits.
// [DirBackend] stores them under an operating-system directory through an
// os.Root, so neither ".." nor a symbolic link can reach outside it; files
// are created 0600 and directories 0700. Backends receive full VFS paths.
//
// # Read-only mounts and the kernel
//
// /policy is read-only: user-space writes, deletes, mkdirs and
// opens-for-writing fail with the reference's messages. The kernel writes
// it through [VFS.Privileged]; enforcing who may do so is the kernel's job.
//
// # Deviations from the reference
//
//   - Paths are validated and resolved by component (the reference used
//     string prefixes and stored ".." literally).
//   - Closing an unknown descriptor is [ErrBadFD] (the reference ignored
//     it); the number of open descriptors is bounded.
//   - [VFS.FDRead] with a negative size advances to the end; [VFS.FDWrite]
//     honours the position (the reference replaced the whole file); reading
//     needs a descriptor opened with READ.
//   - [VFS.WriteJSON] fails on values JSON cannot encode instead of
//     stringifying them.
//   - Checkpoint and event ids must be one safe path component.
//
// # Errors
//
// Errors are [*Error] values matching a sentinel in errors.go with
// errors.Is; [Error.Code] is the kernel's wire code 3. Every method is safe
// for concurrent use, and every method doing I/O takes a context first.
package vfs
