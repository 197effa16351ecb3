//go:build !unix

package mcp

// lockFile does nothing where advisory file locks are unavailable: the
// in-process mutex still serializes a single process's changes.
func lockFile(string) (func(), error) { return func() {}, nil }
