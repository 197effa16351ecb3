package vfs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strings"
	"time"
)

// FileMode is a permission bit set, as the reference's FileMode.
type FileMode uint8

// File modes.
const (
	NONE    FileMode = 0
	READ    FileMode = 1
	WRITE   FileMode = 2
	EXECUTE FileMode = 4
	APPEND  FileMode = 8
	// RW is READ|WRITE.
	RW = READ | WRITE
	// RWX is READ|WRITE|EXECUTE.
	RWX = READ | WRITE | EXECUTE
)

// String returns the reference's name: "NONE", "READ", "RW", "RWX", or the
// set bits joined by "|" (e.g. "READ|APPEND").
func (m FileMode) String() string {
	switch m {
	case NONE:
		return "NONE"
	case RW:
		return "RW"
	case RWX:
		return "RWX"
	}
	var parts []string
	for _, b := range []struct {
		bit  FileMode
		name string
	}{{READ, "READ"}, {WRITE, "WRITE"}, {EXECUTE, "EXECUTE"}, {APPEND, "APPEND"}} {
		if m&b.bit != 0 {
			parts = append(parts, b.name)
		}
	}
	if rest := m &^ (READ | WRITE | EXECUTE | APPEND); rest != 0 || len(parts) == 0 {
		parts = append(parts, "0x"+hex.EncodeToString([]byte{byte(rest)}))
	}
	return strings.Join(parts, "|")
}

// writes reports whether m asks to modify a file.
func (m FileMode) writes() bool { return m&(WRITE|APPEND) != 0 }

// FileType is an inode's type, as the reference's FileType.
type FileType uint8

// File types.
const (
	REGULAR   FileType = 1
	DIRECTORY FileType = 2
	SYMLINK   FileType = 4
	DEVICE    FileType = 8
	SOCKET    FileType = 16
	FIFO      FileType = 32
)

// String returns the reference's name, e.g. "REGULAR".
func (t FileType) String() string {
	switch t {
	case REGULAR:
		return "REGULAR"
	case DIRECTORY:
		return "DIRECTORY"
	case SYMLINK:
		return "SYMLINK"
	case DEVICE:
		return "DEVICE"
	case SOCKET:
		return "SOCKET"
	case FIFO:
		return "FIFO"
	}
	return "UNKNOWN"
}

// INode describes a file or directory.
type INode struct {
	// Path is the VFS path.
	Path string
	// Type is REGULAR or DIRECTORY.
	Type FileType
	// Mode is the file's permission bits (RW for files, RWX for
	// directories, as in the reference).
	Mode FileMode
	// Size is the content length in bytes (0 for directories).
	Size int64
	// Created, Modified and Accessed are UTC. Reads do not update Accessed
	// (no atime): it is the time of the last write.
	Created, Modified, Accessed time.Time
	// Owner is "agent" and Group "agents", as in the reference.
	Owner, Group string
	// ContentHash is the first 16 hex characters of the SHA-256 of the full
	// content ("" for directories).
	ContentHash string
	// Metadata is free-form; nil when empty.
	Metadata map[string]any
}

// Owner and group of every inode, as in the reference.
const (
	DefaultOwner = "agent"
	DefaultGroup = "agents"
)

// ContentHash returns the first 16 hex characters of the SHA-256 of data.
func ContentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// inodeJSON is the reference's to_dict shape plus group, accessed and
// content_hash.
type inodeJSON struct {
	Path        string         `json:"path"`
	Type        string         `json:"type"`
	Mode        int            `json:"mode"`
	Size        int64          `json:"size"`
	Created     string         `json:"created"`
	Modified    string         `json:"modified"`
	Accessed    string         `json:"accessed"`
	Owner       string         `json:"owner"`
	Group       string         `json:"group"`
	ContentHash string         `json:"content_hash,omitempty"`
	Metadata    map[string]any `json:"metadata"`
}

const isoLayout = "2006-01-02T15:04:05.000000+00:00"

// MarshalJSON encodes the inode like the reference's to_dict: {path, type
// name, mode as an int, size, created, modified, owner, metadata}, plus
// accessed, group and content_hash. Times are ISO 8601 UTC with
// microseconds.
func (n INode) MarshalJSON() ([]byte, error) {
	md := n.Metadata
	if md == nil {
		md = map[string]any{}
	}
	return json.Marshal(inodeJSON{
		Path: n.Path, Type: n.Type.String(), Mode: int(n.Mode), Size: n.Size,
		Created: n.Created.UTC().Format(isoLayout), Modified: n.Modified.UTC().Format(isoLayout),
		Accessed: n.Accessed.UTC().Format(isoLayout), Owner: n.Owner, Group: n.Group,
		ContentHash: n.ContentHash, Metadata: md,
	})
}

// clone returns a deep-enough copy (the metadata map is copied).
func (n INode) clone() INode {
	if n.Metadata != nil {
		n.Metadata = maps.Clone(n.Metadata)
	}
	return n
}

// Clock tells the time for inode timestamps and ids.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
