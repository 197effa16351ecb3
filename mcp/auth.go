package mcp

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Authenticator tells who sent an HTTP request. It returns the principal's
// name, or an error (wrapping ErrUnauthenticated when the request carries
// no acceptable credential) which the proxy answers with 401.
type Authenticator interface {
	Authenticate(r *http.Request) (principal string, err error)
}

// MinTokenLength is the shortest bearer token TokenAuth accepts.
const MinTokenLength = 16

// TokenAuth authenticates bearer tokens against a fixed set. It keeps the
// SHA-256 of each token only, and compares digests in constant time.
type TokenAuth struct {
	hashes [][32]byte
	names  []string
}

// NewTokenAuth returns a TokenAuth for tokens, a map from token to the
// principal it authenticates. It fails for an empty set, a token shorter
// than MinTokenLength or an empty principal.
func NewTokenAuth(tokens map[string]string) (*TokenAuth, error) {
	if len(tokens) == 0 {
		return nil, errors.New("mcp: no bearer tokens")
	}
	a := &TokenAuth{}
	for tok, name := range tokens {
		if len(tok) < MinTokenLength {
			return nil, fmt.Errorf("mcp: bearer token for %q: shorter than %d characters", name, MinTokenLength)
		}
		if name == "" {
			return nil, errors.New("mcp: bearer token without a principal name")
		}
		a.hashes = append(a.hashes, sha256.Sum256([]byte(tok)))
		a.names = append(a.names, name)
	}
	return a, nil
}

// LoadTokenFile reads a token file: one "PRINCIPAL TOKEN" pair a line
// (separated by blanks), blank lines and lines starting with # ignored. A
// malformed line is an error naming file and line.
func LoadTokenFile(path string) (*TokenAuth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mcp: token file: %w", err)
	}
	tokens := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("mcp: %s:%d: want \"PRINCIPAL TOKEN\"", path, n)
		}
		if len(f[1]) < MinTokenLength {
			return nil, fmt.Errorf("mcp: %s:%d: token shorter than %d characters", path, n, MinTokenLength)
		}
		if _, dup := tokens[f[1]]; dup {
			return nil, fmt.Errorf("mcp: %s:%d: duplicate token", path, n)
		}
		tokens[f[1]] = f[0]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mcp: %s:%d: %w", path, n, err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("mcp: %s:%d: no tokens in the file", path, n)
	}
	return NewTokenAuth(tokens)
}

// Authenticate implements Authenticator: it accepts "Authorization: Bearer
// TOKEN" for a known token.
func (a *TokenAuth) Authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", fmt.Errorf("%w: no bearer token", ErrUnauthenticated)
	}
	d := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	found := -1
	for i := range a.hashes {
		if subtle.ConstantTimeCompare(d[:], a.hashes[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", fmt.Errorf("%w: unknown bearer token", ErrUnauthenticated)
	}
	return a.names[found], nil
}
