package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/agentos/agentos/audit"
)

// tamperLog writes a 50-event log with checkpoints every 10 events (and
// published copies), closes it, and returns its directory.
func tamperLog(t *testing.T) (dir, pub string) {
	t.Helper()
	dir, pub = t.TempDir(), t.TempDir()
	e := openEnv(t, dir, audit.Options{CheckpointEvery: 10, Publishers: []audit.Publisher{audit.FilePublisher{Dir: pub}}})
	appendN(t, e.log, 0, 50)
	e.close(t)
	return dir, pub
}

func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func execSQL(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func readData(t *testing.T, db *sql.DB, seq int) []byte {
	t.Helper()
	var data []byte
	if err := db.QueryRow(`SELECT data FROM events WHERE seq = ?`, seq).Scan(&data); err != nil {
		t.Fatal(err)
	}
	return data
}

// rewrite replaces every event from seq from on with its agent_id changed,
// recomputing the chain and all stored tree hashes consistently: what an
// attacker with write access to the database but not the key can do.
func rewrite(t *testing.T, db *sql.DB, from int) {
	t.Helper()
	rows, err := db.Query(`SELECT seq, data FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var evs []audit.Event
	for rows.Next() {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			t.Fatal(err)
		}
		var e audit.Event
		if err := e.UnmarshalJSON(data); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	rows.Close()
	stored := map[int64]tlog.Hash{}
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	prev := audit.GenesisHash
	for i := range evs {
		e := &evs[i]
		if i >= from {
			e.AgentID = "mallory"
		}
		e.PrevHash = prev
		data, err := audit.Canonical(e)
		if err != nil {
			t.Fatal(err)
		}
		h, err := audit.Hash(e)
		if err != nil {
			t.Fatal(err)
		}
		raw := sha256.Sum256(append(mustHex(t, prev), data...))
		hs, err := tlog.StoredHashesForRecordHash(int64(i), audit.LeafHash(raw), reader)
		if err != nil {
			t.Fatal(err)
		}
		var tree []byte
		for k, x := range hs {
			stored[tlog.StoredHashIndex(0, int64(i))+int64(k)] = x
			tree = append(tree, x[:]...)
		}
		execSQL(t, db, `UPDATE events SET data = ?, hash = ?, tree = ?, agent_id = ? WHERE seq = ?`, data, raw[:], tree, e.AgentID, i)
		prev = h
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for i := 0; i < len(s); i += 2 {
		var b byte
		for _, c := range s[i : i+2] {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= byte(c - '0')
			default:
				b |= byte(c-'a') + 10
			}
		}
		out = append(out, b)
	}
	return out
}

func TestTamper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		tamper     func(t *testing.T, db *sql.DB)
		published  bool // also check the published checkpoints
		wantSeq    uint64
		checkpoint bool // a *CheckpointError, else a *ChainError
		reason     string
	}{
		{name: "edit a field", tamper: func(t *testing.T, db *sql.DB) {
			data := bytes.Replace(readData(t, db, 17), []byte(`"agent-2"`), []byte(`"agent-9"`), 1)
			execSQL(t, db, `UPDATE events SET data = ? WHERE seq = 17`, data)
		}, wantSeq: 17, reason: "hash mismatch"},
		{name: "edit a field and its hash", tamper: func(t *testing.T, db *sql.DB) {
			var prev []byte
			if err := db.QueryRow(`SELECT hash FROM events WHERE seq = 16`).Scan(&prev); err != nil {
				t.Fatal(err)
			}
			data := bytes.Replace(readData(t, db, 17), []byte(`"deny"`), []byte(`"allow"`), 1)
			h := sha256.Sum256(append(prev, data...))
			execSQL(t, db, `UPDATE events SET data = ?, hash = ? WHERE seq = 17`, data, h[:])
		}, wantSeq: 17, reason: "Merkle tree hashes"},
		{name: "delete a row", tamper: func(t *testing.T, db *sql.DB) {
			execSQL(t, db, `DELETE FROM events WHERE seq = 20`)
		}, wantSeq: 20, reason: "missing"},
		{name: "insert a row", tamper: func(t *testing.T, db *sql.DB) {
			execSQL(t, db, `UPDATE events SET seq = seq + 1000 WHERE seq >= 30`)
			execSQL(t, db, `UPDATE events SET seq = seq - 999 WHERE seq >= 1000`)
			execSQL(t, db, `INSERT INTO events (seq, time_ns, agent_id, session_id, data, hash, tree) SELECT 30, time_ns, agent_id, session_id, data, hash, tree FROM events WHERE seq = 29`)
		}, wantSeq: 30, reason: "hash mismatch"},
		{name: "swap two rows", tamper: func(t *testing.T, db *sql.DB) {
			execSQL(t, db, `UPDATE events SET seq = -1 WHERE seq = 12`)
			execSQL(t, db, `UPDATE events SET seq = 12 WHERE seq = 13`)
			execSQL(t, db, `UPDATE events SET seq = 13 WHERE seq = -1`)
		}, wantSeq: 12, reason: "hash mismatch"},
		{name: "truncate the tail", tamper: func(t *testing.T, db *sql.DB) {
			execSQL(t, db, `DELETE FROM events WHERE seq >= 45`)
		}, wantSeq: 45, checkpoint: true, reason: "truncated"},
		{name: "rewrite the whole chain consistently", tamper: func(t *testing.T, db *sql.DB) {
			rewrite(t, db, 25)
		}, wantSeq: 20, checkpoint: true, reason: "rewritten"},
		{name: "rewrite consistently and drop the stored checkpoints", tamper: func(t *testing.T, db *sql.DB) {
			rewrite(t, db, 25)
			execSQL(t, db, `DELETE FROM checkpoints`)
		}, published: true, wantSeq: 20, checkpoint: true, reason: "published"},
		{name: "truncate and drop the stored checkpoints", tamper: func(t *testing.T, db *sql.DB) {
			execSQL(t, db, `DELETE FROM events WHERE seq >= 33`)
			execSQL(t, db, `DELETE FROM checkpoints WHERE size > 30`)
		}, published: true, wantSeq: 33, checkpoint: true, reason: "truncated"},
		{name: "forge a checkpoint signature", tamper: func(t *testing.T, db *sql.DB) {
			var note []byte
			if err := db.QueryRow(`SELECT note FROM checkpoints WHERE size = 30`).Scan(&note); err != nil {
				t.Fatal(err)
			}
			note = bytes.Replace(note, []byte("\n30\n"), []byte("\n31\n"), 1)
			execSQL(t, db, `UPDATE checkpoints SET note = ? WHERE size = 30`, note)
		}, wantSeq: 20, checkpoint: true, reason: "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, pub := tamperLog(t)
			v, err := audit.LoadVerifier(filepath.Join(dir, audit.PublicKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			st, err := Open(t.Context(), Options{Path: filepath.Join(dir, "audit.db"), ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := audit.Verify(t.Context(), st, v, audit.VerifyOptions{}); err != nil {
				t.Fatalf("Verify before tampering: %v", err)
			}
			tt.tamper(t, rawDB(t, dir))
			var opts audit.VerifyOptions
			if tt.published {
				opts.Published = readNotes(t, pub)
			}
			_, err = audit.Verify(context.Background(), st, v, opts)
			var seq uint64
			var ce *audit.ChainError
			var ke *audit.CheckpointError
			switch {
			case errors.As(err, &ce) && !tt.checkpoint:
				seq = ce.Seq
			case errors.As(err, &ke) && tt.checkpoint:
				seq = ke.Seq
			default:
				t.Fatalf("Verify after %s = %v; want a %s error", tt.name, err, map[bool]string{true: "checkpoint", false: "chain"}[tt.checkpoint])
			}
			if seq != tt.wantSeq || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Verify after %s = %v; want seq %d and %q", tt.name, err, tt.wantSeq, tt.reason)
			}
		})
	}
}

func readNotes(t *testing.T, dir string) [][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "checkpoint-*.note"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no published checkpoints: %v", err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestTamperAcrossChunks: verification reads the log in chunks of 4096
// events on several goroutines; tampering at a chunk's first or last
// event, or deleting one there, is reported at the right sequence number.
func TestTamperAcrossChunks(t *testing.T) {
	t.Parallel()
	const n, chunk = 4096 + 100, 4096
	src := t.TempDir()
	e := openEnv(t, src, audit.Options{CheckpointEvery: 1000})
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
				if err := e.log.Append(context.Background(), event(int(i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	e.close(t)
	editAt := func(seq int) func(t *testing.T, db *sql.DB) {
		return func(t *testing.T, db *sql.DB) {
			data := bytes.Replace(readData(t, db, seq), []byte(`"ok"`), []byte(`"ko"`), 1)
			execSQL(t, db, `UPDATE events SET data = ? WHERE seq = ?`, data, seq)
		}
	}
	deleteAt := func(seq int) func(t *testing.T, db *sql.DB) {
		return func(t *testing.T, db *sql.DB) { execSQL(t, db, `DELETE FROM events WHERE seq = ?`, seq) }
	}
	tests := []struct {
		name    string
		tamper  func(t *testing.T, db *sql.DB)
		wantSeq uint64
		reason  string
	}{
		{"untouched", nil, 0, ""},
		{"edit the last event of a chunk", editAt(chunk - 1), chunk - 1, "hash mismatch"},
		{"edit the first event of a chunk", editAt(chunk), chunk, "hash mismatch"},
		{"edit the last event", editAt(n - 1), n - 1, "hash mismatch"},
		{"delete the last event of a chunk", deleteAt(chunk - 1), chunk - 1, "missing"},
		{"delete the first event of a chunk", deleteAt(chunk), chunk, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyFiles(t, src, dir)
			if tt.tamper != nil {
				tt.tamper(t, rawDB(t, dir))
			}
			v, err := audit.LoadVerifier(filepath.Join(dir, audit.PublicKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			st, err := Open(t.Context(), Options{Path: filepath.Join(dir, "audit.db"), ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			res, err := audit.Verify(t.Context(), st, v, audit.VerifyOptions{})
			if tt.tamper == nil {
				if err != nil || res.Size != n || res.Checkpoints == 0 {
					t.Fatalf("Verify = %+v, %v; want %d events and checkpoints", res, err, n)
				}
				return
			}
			var ce *audit.ChainError
			if !errors.As(err, &ce) || ce.Seq != tt.wantSeq || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Verify after %s = %v; want a chain error at seq %d: %q", tt.name, err, tt.wantSeq, tt.reason)
			}
		})
	}
}

// copyFiles copies the regular files of dir src into dst.
func copyFiles(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		if !de.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, err := de.Info()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, de.Name()), b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}
