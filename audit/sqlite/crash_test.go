package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/agentos/agentos/audit"
)

// crashDirEnv names the data directory of TestCrashChild; unset, that test
// does nothing.
const crashDirEnv = "AGENTOS_AUDIT_CRASH_DIR"

// TestCrashChild is the child of TestCrash: it appends from 8 goroutines
// as fast as it can and writes "seq hash" to stdout for each Append that
// returned, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestCrash")
	}
	st, err := Open(context.Background(), Options{Path: filepath.Join(dir, "audit.db")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	l, err := audit.Open(context.Background(), audit.Options{Store: st, Dir: dir, CheckpointEvery: 50})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				e := event(g*1_000_000 + i)
				if err := l.Append(context.Background(), e); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%d %s\n", e.Seq, e.Hash)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrash kills a child that is appending with SIGKILL at a random
// moment, many times; every event whose Append returned must be present
// afterwards, and the log must verify.
func TestCrash(t *testing.T) {
	t.Parallel()
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("inside the child")
	}
	dir := t.TempDir()
	acked := map[uint64]string{}
	const rounds = 20
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of acknowledgements: between the
		// first commit and several group commits in.
		killAt := 1 + rand.IntN(400)
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			seq, hash, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				t.Fatalf("round %d: child wrote %q", round, sc.Text())
			}
			s, err := strconv.ParseUint(seq, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			if old, dup := acked[s]; dup && old != hash {
				t.Fatalf("round %d: seq %d acknowledged twice with different hashes", round, s)
			}
			acked[s] = hash
			if n++; n == killAt {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		// Lines written before the kill are acknowledged too.
		for sc.Scan() {
			if seq, hash, ok := strings.Cut(sc.Text(), " "); ok {
				if s, err := strconv.ParseUint(seq, 10, 64); err == nil {
					acked[s] = hash
				}
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child ended with %v before the kill; stderr:\n%s", round, err, stderr.String())
		}
	}
	st, err := Open(t.Context(), Options{Path: filepath.Join(dir, "audit.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := audit.LoadVerifier(filepath.Join(dir, audit.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	res, err := audit.Verify(t.Context(), st, v, audit.VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify after %d kills: %v", rounds, err)
	}
	found := 0
	err = st.Scan(t.Context(), 0, res.Size, func(r *audit.Record) error {
		if h, ok := acked[r.Seq]; ok {
			e, err := audit.DecodeRecord(r)
			if err != nil {
				return err
			}
			if e.Hash != h {
				return fmt.Errorf("seq %d: stored hash %s, acknowledged %s", r.Seq, e.Hash, h)
			}
			found++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != len(acked) {
		t.Fatalf("%d of %d acknowledged events are present (log size %d)", found, len(acked), res.Size)
	}
	t.Logf("%d kills, %d events, %d acknowledged, all present; verify ok", rounds, res.Size, len(acked))
}
