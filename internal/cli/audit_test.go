package cli

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/audit"
	auditsqlite "github.com/agentos/agentos/audit/sqlite"
)

// auditFixture writes a data directory with n events and returns it.
func auditFixture(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: filepath.Join(dir, auditDBFile)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(ctx, audit.Options{Store: st, Dir: dir, CheckpointEvery: 10,
		Publishers: []audit.Publisher{audit.FilePublisher{Dir: filepath.Join(dir, "checkpoints")}}})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		e := &audit.Event{
			Time: base.Add(time.Duration(i) * time.Minute), AgentID: fmt.Sprintf("agent-%d", i%2), Kind: audit.KindToolCall,
			SessionID: "s1", TraceID: fmt.Sprintf("trace-%d", i), Tool: []string{"file_read", "run_shell"}[i%2],
			Args:     audit.Redact(json.RawMessage(fmt.Sprintf(`{"i":%d,"password":"hunter2"}`, i)), audit.RedactOptions{}),
			Decision: audit.Decision{Action: []string{"allow", "deny"}[i%2], Allowed: i%2 == 0, Rule: "r" + fmt.Sprint(i%3), Reason: "=cmd|' /C calc'!A0"},
			Outcome:  audit.Outcome{Code: -2 * (i % 2)},
		}
		if err := l.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAuditCommands(t *testing.T) {
	t.Parallel()
	dir := auditFixture(t, 25)
	dd := "--data-dir=" + dir
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
		absent   []string
	}{
		{"query table", []string{"audit", "query", dd, "--agent", "agent-1", "-n", "2"}, ExitOK,
			[]string{"SEQ", "23 ", "21 ", "run_shell", "deny"}, []string{"19 "}},
		{"query filters", []string{"audit", "query", dd, "--decision", "allow", "--rule", "r0", "--json"}, ExitOK,
			[]string{`"seq": 24`, `"seq": 18`, `"[REDACTED]"`}, []string{"hunter2", `"seq": 3,`}},
		{"query time range", []string{"audit", "query", dd, "--since", "2025-03-01T12:05:00Z", "--until", "2025-03-01T12:07:00Z"}, ExitOK,
			[]string{"\n5 ", "\n6 "}, []string{"\n7 ", "\n4 "}},
		{"query session and trace", []string{"audit", "query", dd, "--session", "s1", "--trace", "trace-9", "--json"}, ExitOK,
			[]string{`"seq": 9`}, []string{`"seq": 8`}},
		{"tail", []string{"audit", "tail", dd, "-n", "3"}, ExitOK, []string{"22 ", "23 ", "24 "}, []string{"21 "}},
		{"export jsonl", []string{"audit", "export", dd, "--format", "jsonl", "--tool", "file_read"}, ExitOK,
			[]string{`"seq":0,`, `"seq":24,`, `"hash":"`}, []string{`"seq":1,`}},
		{"verify", []string{"audit", "verify", dd}, ExitOK, []string{"OK: 25 events", "checkpoints verified"}, nil},
		{"verify json", []string{"audit", "verify", dd, "--json"}, ExitOK, []string{`"ok": true`, `"size": 25`}, nil},
		{"checkpoint", []string{"audit", "checkpoint", dd}, ExitOK, []string{"agentos-audit\n25\n", "— agentos-audit "}, nil},
		{"bad format", []string{"audit", "export", dd, "--format", "xml"}, ExitUsage, nil, nil},
		{"bad since", []string{"audit", "query", dd, "--since", "yesterday"}, ExitUsage, nil, nil},
		{"no log", []string{"audit", "query", "--data-dir", filepath.Join(dir, "none")}, ExitUsage, nil, nil},
		{"prove bad seq", []string{"audit", "prove", dd, "x"}, ExitUsage, nil, nil},
		{"prove beyond", []string{"audit", "prove", dd, "99"}, ExitFailure, nil, nil},
		{"verify-proof without key", []string{"audit", "verify-proof", "p.json"}, ExitUsage, nil, nil},
		{"prune without before", []string{"audit", "prune", dd}, ExitUsage, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, "", tt.args...)
			if code != tt.code {
				t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, out, errOut)
			}
			for _, s := range tt.contains {
				if !strings.Contains(out, s) {
					t.Errorf("%v: output lacks %q:\n%s", tt.args, s, out)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(out, s) {
					t.Errorf("%v: output has %q:\n%s", tt.args, s, out)
				}
			}
		})
	}
}

func TestAuditExportCSV(t *testing.T) {
	t.Parallel()
	dir := auditFixture(t, 4)
	code, out, errOut := run(t, "", "audit", "export", "--data-dir", dir, "--format", "csv")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || strings.Join(recs[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("csv has %d rows, header %v", len(recs), recs[0])
	}
	if recs[2][0] != "1" || recs[2][6] != "run_shell" || recs[2][8] != "deny" || !strings.HasPrefix(recs[2][11], "'=") {
		t.Fatalf("row for seq 1 = %v", recs[2])
	}
}

func TestAuditProveAndVerifyProof(t *testing.T) {
	t.Parallel()
	dir := auditFixture(t, 13)
	proofFile := filepath.Join(t.TempDir(), "proof.json")
	if code, _, errOut := run(t, "", "audit", "prove", "--data-dir", dir, "7", "-o", proofFile); code != ExitOK {
		t.Fatalf("prove: exit %d: %s", code, errOut)
	}
	key := filepath.Join(dir, audit.PublicKeyFile)
	code, out, errOut := run(t, "", "audit", "verify-proof", "--key", key, proofFile)
	if code != ExitOK || !strings.Contains(out, "OK: event 7") {
		t.Fatalf("verify-proof: exit %d\n%s%s", code, out, errOut)
	}
	// From standard input, after tampering with the event.
	code, proof, _ := run(t, "", "audit", "prove", "--data-dir", dir, "7")
	if code != ExitOK {
		t.Fatal("prove to stdout failed")
	}
	bad := strings.Replace(proof, `"tool": "run_shell"`, `"tool": "file_read"`, 1)
	if bad == proof {
		t.Fatalf("proof does not contain the tool:\n%s", proof)
	}
	code, _, errOut = run(t, bad, "audit", "verify-proof", "--key", key, "-")
	if code != ExitFailure || !strings.Contains(errOut, "FAIL") {
		t.Fatalf("verify-proof of a tampered proof: exit %d, stderr %s", code, errOut)
	}
	// A key that did not sign the checkpoint.
	other := auditFixture(t, 1)
	code, _, _ = run(t, "", "audit", "verify-proof", "--key", filepath.Join(other, audit.PublicKeyFile), proofFile)
	if code != ExitFailure {
		t.Fatalf("verify-proof with another key: exit %d, want %d", code, ExitFailure)
	}
}

func TestAuditVerifyTamperedAndPrune(t *testing.T) {
	t.Parallel()
	dir := auditFixture(t, 30)
	if code, out, errOut := run(t, "", "audit", "prune", "--data-dir", dir, "--before", "12"); code != ExitOK || !strings.Contains(out, "pruned events [0, 12)") {
		t.Fatalf("prune: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "", "audit", "verify", "--data-dir", dir); code != ExitOK || !strings.Contains(out, "[12, 30)") {
		t.Fatalf("verify after prune: exit %d\n%s%s", code, out, errOut)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, auditDBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM events WHERE seq = 17`); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "", "audit", "verify", "--data-dir", dir)
	if code != ExitFailure || !strings.Contains(errOut, "first bad sequence number 17") {
		t.Fatalf("verify after deleting seq 17: exit %d, stderr %s", code, errOut)
	}
	code, out, _ := run(t, "", "audit", "verify", "--data-dir", dir, "--json")
	if code != ExitFailure || !strings.Contains(out, `"first_bad_seq": 17`) {
		t.Fatalf("verify --json: exit %d\n%s", code, out)
	}
	// A tampered log is not pruned.
	if code, _, errOut := run(t, "", "audit", "prune", "--data-dir", dir, "--before", "20"); code != ExitFailure || !strings.Contains(errOut, "refusing") {
		t.Fatalf("prune of a tampered log: exit %d, stderr %s", code, errOut)
	}
}

func TestAuditTailFollow(t *testing.T) {
	t.Parallel()
	dir := auditFixture(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &auditOutput{notify: make(chan struct{}, 100)}
	done := make(chan int)
	go func() {
		done <- Main(ctx, Env{Args: []string{"audit", "tail", "--data-dir", dir, "-f", "--json", "--interval", "10ms"},
			Stdin: strings.NewReader(""), Stdout: out, Stderr: out})
	}()
	waitFor(t, out, `"seq":1,`)
	st, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: filepath.Join(dir, auditDBFile)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, err := audit.Open(ctx, audit.Options{Store: st, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, &audit.Event{Kind: audit.KindSignal, AgentID: "late"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, `"agent_id":"late"`)
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("tail -f exit %d", code)
	}
}

// auditOutput is a goroutine-safe writer that signals each write.
type auditOutput struct {
	mu     sync.Mutex
	b      strings.Builder
	notify chan struct{}
}

func (s *auditOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *auditOutput) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the buffer holds want.
func waitFor(t *testing.T, s *auditOutput, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(s.String(), want) {
		select {
		case <-s.notify:
		case <-deadline:
			t.Fatalf("output never contained %q:\n%s", want, s.String())
		}
	}
}
