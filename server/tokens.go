package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Role is what a token may do.
type Role string

// The roles.
const (
	// RoleAdmin may do everything: spawn and destroy agents, signal any
	// agent, act as any agent, reload policy, approve, read the audit log.
	RoleAdmin Role = "admin"
	// RoleAgent acts as exactly one agent (Token.Agent): its syscalls,
	// tool calls and checks, and signals to itself.
	RoleAgent Role = "agent"
	// RoleAuditor reads: the audit log, events, agents, approvals,
	// policies and metrics.
	RoleAuditor Role = "auditor"
)

// ParseRole parses "admin", "agent" or "auditor".
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleAgent, RoleAuditor:
		return r, nil
	}
	return "", fmt.Errorf("%w %q (want admin, agent or auditor)", ErrUnknownRole, s)
}

// TokenPrefix starts every token, so secret scanners recognise them.
const TokenPrefix = "agentos_"

// TokensFile is the token file's name in the data directory.
const TokensFile = "tokens.json"

// Token describes an API token. The secret itself is never stored: only
// its SHA-256.
type Token struct {
	// ID identifies the token in listings and for revocation.
	ID string `json:"id"`
	// Name is a free label ("ci", "alice").
	Name string `json:"name,omitempty"`
	// Role is what the token may do.
	Role Role `json:"role"`
	// Agent is the agent an agent token acts as; "" for other roles.
	Agent string `json:"agent,omitempty"`
	// Created is when the token was made.
	Created time.Time `json:"created"`
	// Hash is the hex SHA-256 of the secret.
	Hash string `json:"hash"`
}

// Principal is the authenticated caller of a request.
type Principal struct {
	// TokenID is the authenticating token's ID ("session:" prefix for a
	// browser session is not used: the session carries the token's ID).
	TokenID string
	// Name is the token's name, or its ID when unnamed; approvals record
	// it as the approver.
	Name string
	// Role is the token's role.
	Role Role
	// Agent is the bound agent of an agent token.
	Agent string
}

// Approver returns the identity recorded when this principal votes on an
// approval: the token's name (its ID when unnamed). Policy rules list
// these names in approvers.
func (p Principal) Approver() string { return p.Name }

// CanActAs reports whether p may act as agent id.
func (p Principal) CanActAs(id string) bool {
	return p.Role == RoleAdmin || (p.Role == RoleAgent && p.Agent == id)
}

// TokenStoreOptions configure OpenTokenStore.
type TokenStoreOptions struct {
	// Path is the token file. Required.
	Path string
	// Clock stamps new tokens and paces re-reading the file. nil: the wall
	// clock.
	Clock Clock
	// RecheckInterval is how often, at most, Authenticate looks at the
	// file's modification time to pick up tokens created or revoked by
	// another process. 0: one second. Negative: never.
	RecheckInterval time.Duration
}

// TokenStore keeps API tokens, hashed, in one JSON file (mode 0600,
// replaced atomically). It is safe for concurrent use, and picks up
// changes another process (agentos token) makes to the file.
type TokenStore struct {
	path    string
	clock   Clock
	recheck time.Duration

	mu      sync.RWMutex
	tokens  []Token                      // guarded by mu
	byHash  map[[sha256.Size]byte]*Token // guarded by mu: tokens by the raw digest of their secret
	modTime time.Time                    // guarded by mu
	checked time.Time                    // guarded by mu
}

// tokenFile is the file's JSON form.
type tokenFile struct {
	Tokens []Token `json:"tokens"`
}

// OpenTokenStore reads the token file, or starts empty if it does not
// exist (it is created by the first Create).
func OpenTokenStore(opts TokenStoreOptions) (*TokenStore, error) {
	if opts.Path == "" {
		return nil, errors.New("token store: Path is required")
	}
	s := &TokenStore{path: opts.Path, clock: opts.Clock, recheck: opts.RecheckInterval}
	if s.clock == nil {
		s.clock = wallClock{}
	}
	if s.recheck == 0 {
		s.recheck = time.Second
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// load reads the file into memory.
func (s *TokenStore) load() error {
	st, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.mu.Lock()
		s.tokens, s.byHash, s.modTime = nil, map[[sha256.Size]byte]*Token{}, time.Time{}
		s.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("read tokens: %w", err)
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("read tokens: %w", err)
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("read tokens %s: %w", s.path, err)
	}
	by := make(map[[sha256.Size]byte]*Token, len(f.Tokens))
	for i := range f.Tokens {
		t := &f.Tokens[i]
		if _, err := ParseRole(string(t.Role)); err != nil {
			return fmt.Errorf("read tokens %s: token %s: %w", s.path, t.ID, err)
		}
		var sum [sha256.Size]byte
		if n, err := hex.Decode(sum[:], []byte(t.Hash)); err != nil || n != len(sum) || len(t.Hash) != 2*len(sum) {
			return fmt.Errorf("read tokens %s: token %s: hash is not a hex SHA-256", s.path, t.ID)
		}
		by[sum] = t
	}
	s.mu.Lock()
	s.tokens, s.byHash, s.modTime = f.Tokens, by, st.ModTime()
	s.mu.Unlock()
	return nil
}

// refresh re-reads the file if it changed, at most every recheck.
func (s *TokenStore) refresh() {
	if s.recheck < 0 {
		return
	}
	now := s.clock.Now()
	s.mu.RLock()
	due := now.Sub(s.checked) >= s.recheck
	mod := s.modTime
	s.mu.RUnlock()
	if !due {
		return
	}
	s.mu.Lock()
	s.checked = now
	s.mu.Unlock()
	st, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !mod.IsZero() {
			_ = s.load()
		}
	case err == nil && !st.ModTime().Equal(mod):
		// A file that does not parse keeps the tokens in memory: the
		// next successful write replaces it.
		_ = s.load()
	}
}

// hashSecret returns the hex SHA-256 of a token secret.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the principal of a token secret. Secrets are
// looked up by their SHA-256 digest, never compared themselves, so timing
// says nothing about a secret (learning a stored digest's prefix gives no
// secret). It does not allocate.
func (s *TokenStore) Authenticate(secret string) (Principal, bool) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 256 {
		return Principal{}, false
	}
	s.refresh()
	// The digest is computed from a copy on the stack (at most 256 bytes,
	// checked above) and the map is keyed by it: no allocation, and no
	// secret kept anywhere.
	var b [256]byte
	h := sha256.Sum256(b[:copy(b[:], secret)])
	s.mu.RLock()
	t := s.byHash[h]
	var p Principal
	ok := t != nil
	if ok {
		p = Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Agent: t.Agent}
		if p.Name == "" {
			p.Name = t.ID
		}
	}
	s.mu.RUnlock()
	return p, ok
}

// Create makes a token and returns it with its secret, which is shown
// once and never stored. An agent token needs an agent ID; other roles
// must not have one.
func (s *TokenStore) Create(role Role, agent, name string) (Token, string, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return Token{}, "", err
	}
	if role == RoleAgent && agent == "" {
		return Token{}, "", errors.New("an agent token needs --agent ID")
	}
	if role != RoleAgent && agent != "" {
		return Token{}, "", fmt.Errorf("--agent applies only to agent tokens, not %s", role)
	}
	if len(name) > 128 || len(agent) > 128 {
		return Token{}, "", errors.New("name and agent must be at most 128 bytes")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Token{}, "", fmt.Errorf("generate token: %w", err)
	}
	secret := TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))
	var idb [8]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return Token{}, "", fmt.Errorf("generate token id: %w", err)
	}
	t := Token{ID: "tok_" + hex.EncodeToString(idb[:]), Name: name, Role: role, Agent: agent,
		Created: s.clock.Now().UTC(), Hash: hashSecret(secret)}
	err := s.update(func(ts []Token) ([]Token, error) { return append(ts, t), nil })
	if err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

// Revoke deletes the token with the given ID (or unique ID prefix of at
// least 8 characters, or name). It fails with ErrTokenNotFound.
func (s *TokenStore) Revoke(id string) (Token, error) {
	var gone Token
	err := s.update(func(ts []Token) ([]Token, error) {
		idx := -1
		for i, t := range ts {
			if t.ID == id || (t.Name != "" && t.Name == id) || (len(id) >= 8 && strings.HasPrefix(t.ID, id)) {
				if idx >= 0 {
					return nil, fmt.Errorf("%q matches more than one token; give the full ID", id)
				}
				idx = i
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("%w: %q", ErrTokenNotFound, id)
		}
		gone = ts[idx]
		return slices.Delete(ts, idx, idx+1), nil
	})
	return gone, err
}

// List returns the tokens, oldest first (hashes included; never secrets).
func (s *TokenStore) List() []Token {
	s.refresh()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.tokens)
}

// Len returns the number of tokens.
func (s *TokenStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.tokens)
}

// update re-reads the file, applies fn and writes the result atomically.
func (s *TokenStore) update(fn func([]Token) ([]Token, error)) error {
	if err := s.load(); err != nil {
		return err
	}
	s.mu.RLock()
	cur := slices.Clone(s.tokens)
	s.mu.RUnlock()
	next, err := fn(cur)
	if err != nil {
		return err
	}
	if next == nil {
		next = []Token{}
	}
	b, err := json.MarshalIndent(tokenFile{Tokens: next}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	return s.load()
}

// writeFileAtomic writes data to a temporary file in path's directory,
// syncs it and renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tokens-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Clock tells the time. The server reads it for sessions, token file
// re-reads and uptime; tests pass a fake one.
type Clock interface {
	Now() time.Time
}

// wallClock is the real clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
