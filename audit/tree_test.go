package audit

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// memHashes is a tlog.HashReader over a map.
type memHashes map[int64]tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := m[x]
		if !ok {
			return nil, errors.New("missing hash")
		}
		out[i] = h
	}
	return out, nil
}

// TestFrontierMatchesTlog: the incremental tree stores the same hashes
// and has the same roots as tlog, and a frontier reloaded from stored
// hashes continues identically.
func TestFrontierMatchesTlog(t *testing.T) {
	t.Parallel()
	stored := memHashes{}
	var f frontier
	for n := int64(0); n < 300; n++ {
		leaf := LeafHash(sha256.Sum256([]byte{byte(n), byte(n >> 8)}))
		want, err := tlog.StoredHashesForRecordHash(n, leaf, stored)
		if err != nil {
			t.Fatal(err)
		}
		got := f.push(nil, leaf)
		if len(got) != 32*len(want) {
			t.Fatalf("leaf %d: %d stored hashes, want %d", n, len(got)/32, len(want))
		}
		for i, h := range want {
			if string(got[32*i:32*i+32]) != string(h[:]) {
				t.Fatalf("leaf %d: stored hash %d differs", n, i)
			}
			stored[tlog.StoredHashIndex(0, n)+int64(i)] = h
			seq, level := TreeHashLocation(tlog.StoredHashIndex(0, n) + int64(i))
			if seq != uint64(n) || level != i {
				t.Fatalf("TreeHashLocation of leaf %d hash %d = %d, %d", n, i, seq, level)
			}
		}
		root, err := tlog.TreeHash(n+1, stored)
		if err != nil {
			t.Fatal(err)
		}
		if f.root() != root {
			t.Fatalf("root of %d leaves differs from tlog", n+1)
		}
		g, err := loadFrontier(uint64(n+1), stored)
		if err != nil {
			t.Fatal(err)
		}
		if g.root() != root {
			t.Fatalf("reloaded frontier of %d leaves has another root", n+1)
		}
		a := Anchor{Size: uint64(n + 1), Frontier: g.indexed()}
		if h, err := frontierFromAnchor(&a); err != nil || h.root() != root {
			t.Fatalf("frontier from anchor of size %d: %v", n+1, err)
		}
	}
	if (&frontier{}).root() != sha256.Sum256(nil) {
		t.Fatal("empty tree root is not SHA-256 of nothing")
	}
}

func testKey(t testing.TB) Key {
	t.Helper()
	skey, _, err := note.GenerateKey(nil, "test-log")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCheckpointRoundTrip(t *testing.T) {
	t.Parallel()
	k := testKey(t)
	v, err := k.Verifier()
	if err != nil {
		t.Fatal(err)
	}
	c := Checkpoint{Size: 42, Root: tlog.RecordHash([]byte("r")), Chain: sha256.Sum256([]byte("c")), Time: time.Date(2025, 5, 6, 7, 8, 9, 10, time.UTC)}
	if err := signCheckpoint(k.Signer, &c); err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(c.Note, v)
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != c.Size || got.Root != c.Root || got.Chain != c.Chain || !got.Time.Equal(c.Time) {
		t.Fatalf("OpenCheckpoint = %+v, want %+v", got, c)
	}
	tests := []struct{ name, from, to, msg string }{
		{"size changed", "\n42\n", "\n43\n", "signature"},
		{"other origin", "test-log\n", "evil-log\n", "signature"},
	}
	for _, tt := range tests {
		bad := []byte(strings.Replace(string(c.Note), tt.from, tt.to, 1))
		if _, err := OpenCheckpoint(bad, v); !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: OpenCheckpoint = %v, want ErrCheckpoint about %s", tt.name, err, tt.msg)
		}
	}
	// A well-signed note with a malformed body is rejected by the parser.
	msg, err := note.Sign(&note.Note{Text: "test-log\n1\nnot-base64\nchain x\ntime y\n"}, k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(msg, v); !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("OpenCheckpoint(malformed) = %v, want an error naming line 3", err)
	}
}

// proofFixture builds a signed tree of n events in memory and returns the
// proof of event seq.
func proofFixture(t testing.TB, k Key, n, seq int) *Proof {
	t.Helper()
	stored := memHashes{}
	var f frontier
	prev := GenesisHash
	var events []Event
	for i := range n {
		e := Event{Seq: uint64(i), Time: time.Unix(int64(i), 0).UTC(), AgentID: "a", Kind: KindToolCall, Tool: "t",
			Args: json.RawMessage(`{"i":1}`), PrevHash: prev}
		h, err := Hash(&e)
		if err != nil {
			t.Fatal(err)
		}
		e.Hash = h
		raw, _ := decodeHash(h)
		hs := f.push(nil, LeafHash(raw))
		for j := 0; j < len(hs)/32; j++ {
			var x tlog.Hash
			copy(x[:], hs[32*j:])
			stored[tlog.StoredHashIndex(0, int64(i))+int64(j)] = x
		}
		events = append(events, e)
		prev = h
	}
	chain, _ := decodeHash(prev)
	c := Checkpoint{Size: uint64(n), Root: f.root(), Chain: chain, Time: time.Unix(0, 0)}
	if err := signCheckpoint(k.Signer, &c); err != nil {
		t.Fatal(err)
	}
	path, err := tlog.ProveRecord(int64(n), int64(seq), stored)
	if err != nil {
		t.Fatal(err)
	}
	return &Proof{Event: events[seq], TreeSize: uint64(n), Path: path, Checkpoint: string(c.Note)}
}

func TestVerifyProof(t *testing.T) {
	t.Parallel()
	k := testKey(t)
	v, _ := k.Verifier()
	for _, n := range []int{1, 2, 7, 64} {
		for _, seq := range []int{0, n / 2, n - 1} {
			p := proofFixture(t, k, n, seq)
			if err := VerifyProof(p, v); err != nil {
				t.Fatalf("VerifyProof(n=%d, seq=%d): %v", n, seq, err)
			}
		}
	}
	p := proofFixture(t, k, 9, 4)
	tests := []struct {
		name   string
		change func(p *Proof)
	}{
		{"event edited", func(p *Proof) { p.Event.AgentID = "b" }},
		{"event edited and rehashed", func(p *Proof) { p.Event.AgentID = "b"; p.Event.Hash, _ = Hash(&p.Event) }},
		{"other position", func(p *Proof) { p.Event.Seq = 5 }},
		{"tree size", func(p *Proof) { p.TreeSize = 10 }},
		{"path hash", func(p *Proof) { p.Path[0][0] ^= 1 }},
		{"short path", func(p *Proof) { p.Path = p.Path[1:] }},
		{"checkpoint", func(p *Proof) { p.Checkpoint = strings.Replace(p.Checkpoint, "\n9\n", "\n8\n", 1) }},
	}
	for _, tt := range tests {
		q := *p
		q.Path = append([]tlog.Hash(nil), p.Path...)
		tt.change(&q)
		if err := VerifyProof(&q, v); !errors.Is(err, ErrProof) {
			t.Errorf("%s: VerifyProof = %v, want ErrProof", tt.name, err)
		}
	}
	other := testKey(t)
	ov, _ := other.Verifier()
	if err := VerifyProof(p, ov); !errors.Is(err, ErrProof) {
		t.Fatalf("VerifyProof with another key = %v", err)
	}
}

// FuzzVerifyProof: decoding and checking arbitrary proof JSON never
// panics, and only the genuine proof verifies.
func FuzzVerifyProof(f *testing.F) {
	k := testKey(f)
	v, _ := k.Verifier()
	good, err := json.Marshal(proofFixture(f, k, 11, 6))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"event":{},"tree_size":1,"path":[],"checkpoint":""}`))
	f.Add([]byte(strings.Replace(string(good), `"tree_size":11`, `"tree_size":12`, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Proof
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		err := VerifyProof(&p, v)
		if err == nil {
			// Whatever verifies must be the genuine event at its place.
			var g Proof
			if jerr := json.Unmarshal(good, &g); jerr != nil {
				t.Fatal(jerr)
			}
			if p.Event.Hash != g.Event.Hash || p.Event.Seq != g.Event.Seq {
				t.Fatalf("a different proof verified: %s", data)
			}
		} else if !errors.Is(err, ErrProof) {
			t.Fatalf("VerifyProof error %v does not wrap ErrProof", err)
		}
	})
}

// FuzzDecodeRecord: decoding stored event data never panics, and what
// decodes re-encodes to the same canonical bytes.
func FuzzDecodeRecord(f *testing.F) {
	for i := range 3 {
		e := Event{Seq: uint64(i), Time: time.Unix(int64(i), 5).UTC(), AgentID: "a\n", Kind: KindSignal, Args: json.RawMessage(jsonSeeds[i]), PrevHash: GenesisHash}
		if c, err := Canonical(&e); err == nil {
			f.Add(uint64(i), c)
		}
	}
	f.Add(uint64(0), []byte(`{"seq":0}`))
	f.Fuzz(func(t *testing.T, seq uint64, data []byte) {
		r := Record{Seq: seq, Data: data}
		e, err := DecodeRecord(&r)
		if err != nil {
			return
		}
		if e.Seq != seq || len(e.Hash) != 64 {
			t.Fatalf("decoded seq %d hash %q from record %d", e.Seq, e.Hash, seq)
		}
		if _, err := Canonical(&e); err != nil && !errors.Is(err, ErrInvalidEvent) {
			t.Fatalf("Canonical(decoded) = %v", err)
		}
	})
}
