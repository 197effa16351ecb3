package mcp

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/internal/jsonw"
)

// PinFileName is the pin file's name in the data directory.
const PinFileName = "mcp-pins.json"

// pinFileVersion is the format version written to pin files.
const pinFileVersion = 1

// pinnedFields are the members of a tool definition a pin covers.
var pinnedFields = [...]string{"name", "title", "description", "inputSchema", "outputSchema", "annotations"}

// Pin is what the store remembers of one tool of one server.
type Pin struct {
	// Server and Tool identify the tool.
	Server string `json:"server"`
	Tool   string `json:"tool"`
	// Hash is the hex SHA-256 of the approved definition's canonical JSON;
	// "" when no definition of this tool was ever approved.
	Hash string `json:"hash,omitempty"`
	// Definition is the approved definition in canonical JSON.
	Definition json.RawMessage `json:"definition,omitempty"`
	// PendingHash and PendingDefinition hold the last definition seen that
	// differs from the approved one (a new tool awaiting approval, or a
	// changed one); empty when there is none.
	PendingHash       string          `json:"pending_hash,omitempty"`
	PendingDefinition json.RawMessage `json:"pending_definition,omitempty"`
	// FirstSeen is when the tool was first listed; Updated when the pin
	// last changed.
	FirstSeen time.Time `json:"first_seen"`
	Updated   time.Time `json:"updated"`
}

// Approved reports whether a definition of the tool was approved.
func (p *Pin) Approved() bool { return p.Hash != "" }

// PinState is the verdict of checking a listed definition against its pin.
type PinState uint8

// Pin states.
const (
	// PinMatch: the definition is the approved one.
	PinMatch PinState = iota
	// PinTrusted: the tool was new and has just been pinned on first use.
	PinTrusted
	// PinNew: the tool is new and awaits approval.
	PinNew
	// PinChanged: the definition differs from the approved one (rug pull);
	// it awaits approval.
	PinChanged
)

// String returns the state's name.
func (s PinState) String() string {
	switch s {
	case PinMatch:
		return "match"
	case PinTrusted:
		return "trusted"
	case PinNew:
		return "new"
	case PinChanged:
		return "changed"
	}
	return "unknown"
}

// Visible reports whether a tool in this state may be listed and called.
func (s PinState) Visible() bool { return s == PinMatch || s == PinTrusted }

// Definition is a tool (or prompt) definition reduced to what a pin
// covers.
type Definition struct {
	// Tool is the pin name: the tool's name, or PromptPinPrefix and the
	// prompt's name.
	Tool string
	// Canonical is the RFC 8785 canonical JSON of the pinned members.
	Canonical []byte
	// Hash is the hex SHA-256 of Canonical.
	Hash string
}

// NewDefinition reduces a tools/list entry to what a pin covers: the
// members name, title, description, inputSchema, outputSchema and
// annotations (those present), in RFC 8785 canonical form, and its hash.
// It fails for a definition that is not a JSON object, has no string name,
// or cannot be canonicalized.
func NewDefinition(raw json.RawMessage) (Definition, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Definition{}, fmt.Errorf("tool definition: %w", err)
	}
	return definitionOf(m)
}

func definitionOf(m map[string]json.RawMessage) (Definition, error) {
	return pinDefinition(m, "tool", "", pinnedFields[:])
}

// promptDefinitionOf reduces a prompts/list entry to what a pin covers:
// name, title, description and arguments. Its Tool is the pin name,
// PromptPinPrefix followed by the prompt's name.
func promptDefinitionOf(m map[string]json.RawMessage) (Definition, error) {
	return pinDefinition(m, "prompt", PromptPinPrefix, pinnedPromptFields[:])
}

// pinnedPromptFields are the members of a prompt definition a pin covers.
var pinnedPromptFields = [...]string{"name", "title", "description", "arguments"}

func pinDefinition(m map[string]json.RawMessage, noun, prefix string, fields []string) (Definition, error) {
	var name string
	if err := json.Unmarshal(m["name"], &name); err != nil || name == "" {
		return Definition{}, errors.New(noun + " definition: field name: want a non-empty string")
	}
	buf := make([]byte, 0, 256)
	buf = append(buf, '{')
	first := true
	for _, f := range fields {
		v, ok := m[f]
		if !ok {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, '"')
		buf = append(buf, f...)
		buf = append(buf, '"', ':')
		buf = append(buf, v...)
	}
	buf = append(buf, '}')
	canon, err := audit.CanonicalJSON(buf)
	if err != nil {
		return Definition{}, fmt.Errorf("%s definition %q: %w", noun, name, err)
	}
	sum := sha256.Sum256(canon)
	return Definition{Tool: prefix + name, Canonical: canon, Hash: hex.EncodeToString(sum[:])}, nil
}

// PinOptions configure a PinStore.
type PinOptions struct {
	// Path is the pin file, read if it exists and written atomically
	// (mode 0600) on every change; its directory is created (0700) when
	// missing. "": pins live in memory only.
	Path string
	// Clock stamps pins. nil: the wall clock.
	Clock Clock
}

// PinStore keeps tool-definition pins, keyed by server and tool. It is safe
// for concurrent use, and cooperates with other processes using the same
// file (the wrapper and the pins command): changes happen under an
// exclusive file lock, and a file changed by another process is re-read
// before it is used.
type PinStore struct {
	path  string
	clock Clock

	mu   sync.Mutex
	pins map[pinKey]*Pin // guarded by mu
	// stamp identifies the file version pins were read from. Guarded by mu.
	stamp fileStamp
}

type pinKey struct{ server, tool string }

type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

type pinFile struct {
	Version int    `json:"version"`
	Pins    []*Pin `json:"pins"`
}

// OpenPins returns a PinStore, reading opts.Path if it exists. A file that
// is not a pin file is an error wrapping ErrInvalidPins naming the file.
func OpenPins(opts PinOptions) (*PinStore, error) {
	s := &PinStore{path: opts.Path, clock: opts.Clock, pins: make(map[pinKey]*Pin)}
	if s.clock == nil {
		s.clock = wallClock{}
	}
	if s.path == "" {
		return s, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path returns the pin file's path ("" for a store in memory).
func (s *PinStore) Path() string { return s.path }

// refreshLocked re-reads the file if it changed since it was read.
func (s *PinStore) refreshLocked() error {
	if s.path == "" {
		return nil
	}
	st, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		if s.stamp.ok {
			s.pins = make(map[pinKey]*Pin)
			s.stamp = fileStamp{}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read pins %s: %w", s.path, err)
	}
	stamp := fileStamp{mod: st.ModTime(), size: st.Size(), ok: true}
	if stamp == s.stamp {
		return nil
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("read pins %s: %w", s.path, err)
	}
	pins, err := decodePins(s.path, data)
	if err != nil {
		return err
	}
	s.pins = pins
	s.stamp = stamp
	return nil
}

func decodePins(path string, data []byte) (map[pinKey]*Pin, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f pinFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPins, path, err)
	}
	if f.Version != pinFileVersion {
		return nil, fmt.Errorf("%w: %s: field version: %d, want %d", ErrInvalidPins, path, f.Version, pinFileVersion)
	}
	pins := make(map[pinKey]*Pin, len(f.Pins))
	for i, p := range f.Pins {
		if p == nil || p.Server == "" || p.Tool == "" {
			return nil, fmt.Errorf("%w: %s: pins[%d]: server and tool are required", ErrInvalidPins, path, i)
		}
		if (p.Hash == "") != (len(p.Definition) == 0) || (p.PendingHash == "") != (len(p.PendingDefinition) == 0) {
			return nil, fmt.Errorf("%w: %s: pins[%d]: a hash needs its definition", ErrInvalidPins, path, i)
		}
		if p.Hash == "" && p.PendingHash == "" {
			return nil, fmt.Errorf("%w: %s: pins[%d]: neither hash nor pending_hash", ErrInvalidPins, path, i)
		}
		k := pinKey{p.Server, p.Tool}
		if _, dup := pins[k]; dup {
			return nil, fmt.Errorf("%w: %s: pins[%d]: duplicate pin for %s/%s", ErrInvalidPins, path, i, p.Server, p.Tool)
		}
		pins[k] = p
	}
	return pins, nil
}

// saveLocked writes the pins to the file atomically.
func (s *PinStore) saveLocked() error {
	if s.path == "" {
		return nil
	}
	data, err := encodePins(s.sortedLocked())
	if err != nil {
		return fmt.Errorf("write pins %s: %w", s.path, err)
	}
	if err := writeAtomic(s.path, data); err != nil {
		return err
	}
	if st, err := os.Stat(s.path); err == nil {
		s.stamp = fileStamp{mod: st.ModTime(), size: st.Size(), ok: true}
	}
	return nil
}

// encodePins encodes a pin file holding pins, one pin a line. The
// definitions are copied as they are kept: canonical JSON made by
// canonicalDefinition, or read from a pin file that decoded. (Marshalling
// the file as a whole re-compacts and re-indents every definition, which
// cost more than scanning and pinning 500 new tools.)
func encodePins(pins []*Pin) ([]byte, error) {
	size := 32
	for _, p := range pins {
		size += 256 + len(p.Server) + len(p.Tool) + len(p.Definition) + len(p.PendingDefinition)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, pinFileVersion, 10)
	b = append(b, `,"pins":[`...)
	for i, p := range pins {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n"...)
		b = append(b, `{"server":`...)
		b = jsonw.AppendString(b, p.Server)
		b = append(b, `,"tool":`...)
		b = jsonw.AppendString(b, p.Tool)
		if p.Hash != "" {
			b = append(b, `,"hash":`...)
			b = jsonw.AppendString(b, p.Hash)
		}
		if len(p.Definition) > 0 {
			b = append(b, `,"definition":`...)
			b = append(b, p.Definition...)
		}
		if p.PendingHash != "" {
			b = append(b, `,"pending_hash":`...)
			b = jsonw.AppendString(b, p.PendingHash)
		}
		if len(p.PendingDefinition) > 0 {
			b = append(b, `,"pending_definition":`...)
			b = append(b, p.PendingDefinition...)
		}
		for _, t := range [...]struct {
			name string
			t    time.Time
		}{{`,"first_seen":`, p.FirstSeen}, {`,"updated":`, p.Updated}} {
			q, err := t.t.MarshalJSON()
			if err != nil {
				return nil, fmt.Errorf("pin %s/%s: %w", p.Server, p.Tool, err)
			}
			b = append(append(b, t.name...), q...)
		}
		b = append(b, '}')
	}
	return append(b, "\n]}\n"...), nil
}

func (s *PinStore) sortedLocked() []*Pin {
	out := make([]*Pin, 0, len(s.pins))
	for _, p := range s.pins {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Pin) int {
		return cmp.Or(cmp.Compare(a.Server, b.Server), cmp.Compare(a.Tool, b.Tool))
	})
	return out
}

// update runs fn on the pins under the file lock, after re-reading the
// file, and saves them if fn reports a change.
func (s *PinStore) update(fn func() (changed bool, err error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path != "" {
		if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
			return fmt.Errorf("pins directory: %w", err)
		}
		unlock, err := lockFile(s.path + ".lock")
		if err != nil {
			return fmt.Errorf("lock pins %s: %w", s.path, err)
		}
		defer unlock()
	}
	if err := s.refreshLocked(); err != nil {
		return err
	}
	changed, err := fn()
	if err != nil {
		return err
	}
	if changed {
		return s.saveLocked()
	}
	return nil
}

// Check compares the definitions one server listed with their pins and
// returns a state for each, in order. A tool seen for the first time is
// pinned at once (trust on first use) unless approveNew is set or
// untrusted[i] is true (e.g. the scanner flagged it); then it is recorded
// as pending and reported PinNew. A definition that differs from the
// approved one is recorded as pending and reported PinChanged. The file is
// written only when something changed.
func (s *PinStore) Check(server string, defs []Definition, approveNew bool, untrusted []bool) ([]PinState, error) {
	states := make([]PinState, len(defs))
	// Fast path: nothing new or changed needs no lock on the file.
	s.mu.Lock()
	err := s.refreshLocked()
	clean := err == nil
	if clean {
		for i := range defs {
			p := s.pins[pinKey{server, defs[i].Tool}]
			if p == nil || p.Hash != defs[i].Hash || p.PendingHash != "" {
				clean = false
				break
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if clean {
		return states, nil // all PinMatch
	}
	err = s.update(func() (bool, error) {
		now := s.clock.Now().UTC()
		changed := false
		for i := range defs {
			d := &defs[i]
			k := pinKey{server, d.Tool}
			p := s.pins[k]
			switch {
			case p != nil && p.Hash == d.Hash:
				states[i] = PinMatch
				if p.PendingHash != "" {
					// The server went back to the approved definition.
					p.PendingHash, p.PendingDefinition, p.Updated = "", nil, now
					changed = true
				}
				continue
			case p == nil && !approveNew && (untrusted == nil || !untrusted[i]):
				s.pins[k] = &Pin{Server: server, Tool: d.Tool, Hash: d.Hash, Definition: d.Canonical, FirstSeen: now, Updated: now}
				states[i] = PinTrusted
				changed = true
				continue
			case p == nil:
				p = &Pin{Server: server, Tool: d.Tool, FirstSeen: now}
				s.pins[k] = p
				states[i] = PinNew
			case p.Hash == "":
				states[i] = PinNew
			default:
				states[i] = PinChanged
			}
			if p.PendingHash != d.Hash {
				p.PendingHash, p.PendingDefinition, p.Updated = d.Hash, d.Canonical, now
				changed = true
			}
		}
		return changed, nil
	})
	if err != nil {
		return nil, err
	}
	return states, nil
}

// List returns every pin, ordered by server and tool.
func (s *PinStore) List() ([]Pin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(); err != nil {
		return nil, err
	}
	ps := s.sortedLocked()
	out := make([]Pin, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out, nil
}

// Get returns the pin of one tool, or an error wrapping ErrPinNotFound.
func (s *PinStore) Get(server, tool string) (Pin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(); err != nil {
		return Pin{}, err
	}
	p := s.pins[pinKey{server, tool}]
	if p == nil {
		return Pin{}, fmt.Errorf("%w: server %q, tool %q", ErrPinNotFound, server, tool)
	}
	return *p, nil
}

// Approve makes the pending definition of a tool its approved one. With a
// non-empty hash, the pending definition must have that hash (so that what
// is approved is what was reviewed). It returns the updated pin.
func (s *PinStore) Approve(server, tool, hash string) (Pin, error) {
	var out Pin
	err := s.update(func() (bool, error) {
		p := s.pins[pinKey{server, tool}]
		switch {
		case p == nil:
			return false, fmt.Errorf("%w: server %q, tool %q", ErrPinNotFound, server, tool)
		case p.PendingHash == "":
			return false, fmt.Errorf("%w: server %q, tool %q", ErrNothingToApprove, server, tool)
		case hash != "" && hash != p.PendingHash:
			return false, fmt.Errorf("approve %s/%s: pending definition has hash %s, not %s (it changed since it was reviewed)",
				server, tool, p.PendingHash, hash)
		}
		p.Hash, p.Definition = p.PendingHash, p.PendingDefinition
		p.PendingHash, p.PendingDefinition = "", nil
		p.Updated = s.clock.Now().UTC()
		out = *p
		return true, nil
	})
	return out, err
}

// Reset removes pins: of one tool, of every tool of a server (tool ""), or
// all of them (server and tool ""). It returns how many were removed.
func (s *PinStore) Reset(server, tool string) (int, error) {
	n := 0
	err := s.update(func() (bool, error) {
		for k := range s.pins {
			if (server == "" || k.server == server) && (tool == "" || k.tool == tool) {
				delete(s.pins, k)
				n++
			}
		}
		return n > 0, nil
	})
	return n, err
}

// writeAtomic replaces path with data (mode 0600) through a temporary file
// in the same directory, synced, then renamed.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
