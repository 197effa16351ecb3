package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// DefaultKeyName is the name of the checkpoint signing key, and the origin
// line of every checkpoint it signs.
const DefaultKeyName = "agentos-audit"

// Key file names in the data directory.
const (
	// KeyFile holds the private signing key (sumdb/note "PRIVATE+KEY+..."
	// form), mode 0600.
	KeyFile = "audit-signing.key"
	// PublicKeyFile holds the verifier key (sumdb/note "name+hash+key"
	// form), which is all a third party needs to check checkpoints and
	// proofs.
	PublicKeyFile = "audit-signing.pub"
)

// Checkpoint is a signed statement of the log's state: its first Size
// events form a Merkle tree with root Root, and event Size-1 has hash
// Chain. The signed text is a sumdb/note (the C2SP checkpoint layout):
//
//	<origin: the key name>
//	<size>
//	<root, base64>
//	chain <hash of event size-1, hex>
//	time <RFC 3339 UTC>
type Checkpoint struct {
	// Size is the tree size: the number of events covered.
	Size uint64
	// Root is the RFC 6962 tree hash of events [0, Size).
	Root tlog.Hash
	// Chain is the hash of event Size-1 (GenesisHash's bytes when Size is
	// 0), so a checkpoint also pins the hash chain.
	Chain [32]byte
	// Time is when the checkpoint was made.
	Time time.Time
	// Note is the signed note: the text above and its signature lines.
	Note []byte
}

// checkpointText formats the signed body of a checkpoint.
func checkpointText(origin string, c *Checkpoint) string {
	return origin + "\n" + strconv.FormatUint(c.Size, 10) + "\n" +
		base64.StdEncoding.EncodeToString(c.Root[:]) + "\n" +
		"chain " + encodeHash(c.Chain) + "\n" +
		"time " + c.Time.UTC().Format(TimeLayout) + "\n"
}

// signCheckpoint fills c.Note with c's text signed by s.
func signCheckpoint(s note.Signer, c *Checkpoint) error {
	msg, err := note.Sign(&note.Note{Text: checkpointText(s.Name(), c)}, s)
	if err != nil {
		return fmt.Errorf("sign checkpoint: %w", err)
	}
	c.Note = msg
	return nil
}

// OpenCheckpoint checks a signed checkpoint note against v and returns
// the checkpoint it states. Its origin line must be v's name. Errors wrap
// ErrCheckpoint.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: signature: %w", ErrCheckpoint, err)
	}
	c, err := parseCheckpointText(n.Text, v.Name())
	if err != nil {
		return Checkpoint{}, err
	}
	c.Note = msg
	return c, nil
}

// parseCheckpointText parses the body of a checkpoint note.
func parseCheckpointText(text, origin string) (Checkpoint, error) {
	bad := func(line int, msg string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: line %d: %s", ErrCheckpoint, line, msg)
	}
	lines := strings.Split(text, "\n")
	if len(lines) < 6 || lines[len(lines)-1] != "" {
		return bad(1, "want 5 lines: origin, size, root, chain, time")
	}
	if lines[0] != origin {
		return bad(1, fmt.Sprintf("origin %q, want %q", lines[0], origin))
	}
	var c Checkpoint
	size, err := strconv.ParseUint(lines[1], 10, 63)
	if err != nil || lines[1] != strconv.FormatUint(size, 10) {
		return bad(2, fmt.Sprintf("size %q is not a decimal number", lines[1]))
	}
	c.Size = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return bad(3, "root is not a base64 SHA-256 hash")
	}
	copy(c.Root[:], root)
	chain, ok := strings.CutPrefix(lines[3], "chain ")
	if !ok {
		return bad(4, "want \"chain <hex>\"")
	}
	if c.Chain, err = decodeHash(chain); err != nil {
		return bad(4, "chain: "+err.Error())
	}
	ts, ok := strings.CutPrefix(lines[4], "time ")
	if !ok {
		return bad(5, "want \"time <RFC 3339>\"")
	}
	if c.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return bad(5, "time: "+err.Error())
	}
	return c, nil
}

// Key is a checkpoint signing key.
type Key struct {
	// Signer signs checkpoint notes.
	Signer note.Signer
	// VerifierKey is the public verifier key, "name+hash+base64", which
	// note.NewVerifier accepts.
	VerifierKey string
}

// Verifier returns the verifier of k's signatures.
func (k Key) Verifier() (note.Verifier, error) { return note.NewVerifier(k.VerifierKey) }

// LoadOrCreateKey returns the key whose private half is in dir/KeyFile,
// creating it (mode 0600, with dir/PublicKeyFile beside it) on first use.
// A key file open to group or others is refused. name is the name of a
// new key ("" means DefaultKeyName); an existing key keeps its own.
func LoadOrCreateKey(dir, name string) (Key, error) {
	if name == "" {
		name = DefaultKeyName
	}
	path := filepath.Join(dir, KeyFile)
	k, err := loadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Key{}, fmt.Errorf("create data directory: %w", err)
	}
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return Key{}, fmt.Errorf("generate signing key: %w", err)
	}
	// Write the private key to a temporary file and link it into place:
	// a crash never leaves a torn key, and of two processes starting at
	// once the second loads the first one's key.
	tmp := fmt.Sprintf("%s.%d.new", path, os.Getpid())
	if err := writeFileSync(tmp, []byte(skey+"\n"), 0o600); err != nil {
		return Key{}, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadKey(path)
		}
		return Key{}, fmt.Errorf("create signing key: %w", err)
	}
	return loadKey(path)
}

func loadKey(path string) (Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Key{}, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return Key{}, fmt.Errorf("signing key %s: mode %04o is open to other users; want 0600", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("read signing key: %w", err)
	}
	k, err := ParseKey(string(bytes.TrimSpace(b)))
	if err != nil {
		return Key{}, fmt.Errorf("signing key %s: %w", path, err)
	}
	// The public key file is derived from the private key; (re)write it
	// when it is missing or differs.
	pub := filepath.Join(filepath.Dir(path), PublicKeyFile)
	if old, err := os.ReadFile(pub); err != nil || string(bytes.TrimSpace(old)) != k.VerifierKey {
		if err := writeFileSync(pub, []byte(k.VerifierKey+"\n"), 0o644); err != nil {
			return Key{}, err
		}
	}
	return k, nil
}

// ParseKey parses a private key in sumdb/note form
// ("PRIVATE+KEY+name+hash+base64") and derives its verifier key. Only
// Ed25519 keys are accepted.
func ParseKey(skey string) (Key, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return Key{}, err
	}
	// PRIVATE+KEY+<name>+<hash>+<base64(alg || seed)>
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return Key{}, errors.New("malformed note key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return Key{}, errors.New("not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return Key{}, err
	}
	return Key{Signer: s, VerifierKey: vkey}, nil
}

// LoadVerifier reads a verifier key ("name+hash+key", as in PublicKeyFile)
// from path.
func LoadVerifier(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	v, err := note.NewVerifier(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return v, nil
}

// writeFileSync writes data to path through a temporary file, fsync and
// rename, so a reader sees the old or the new file, never a torn one.
func writeFileSync(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Publisher sends checkpoints somewhere outside the log's database (a
// file, a webhook, object storage), so that a rewrite of the whole
// database is detectable against them.
type Publisher interface {
	// Publish stores or sends one checkpoint.
	Publish(ctx context.Context, c Checkpoint) error
}

// FilePublisher writes each checkpoint's signed note to Dir as
// checkpoint-<size>.note (zero-padded so names sort by size) and to
// latest.note, each replaced atomically.
type FilePublisher struct {
	// Dir is the directory the notes go to; it is created if missing.
	Dir string
}

// Publish implements Publisher.
func (p FilePublisher) Publish(_ context.Context, c Checkpoint) error {
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return fmt.Errorf("publish checkpoint: %w", err)
	}
	name := fmt.Sprintf("checkpoint-%020d.note", c.Size)
	if err := writeFileSync(filepath.Join(p.Dir, name), c.Note, 0o644); err != nil {
		return fmt.Errorf("publish checkpoint: %w", err)
	}
	if err := writeFileSync(filepath.Join(p.Dir, "latest.note"), c.Note, 0o644); err != nil {
		return fmt.Errorf("publish checkpoint: %w", err)
	}
	return nil
}
