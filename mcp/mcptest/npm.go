package mcptest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NPMPrefix installs the pinned npm packages pkgs (name@version) once into
// a cache directory keyed by their list, $XDG_CACHE_HOME/agentos-mcp-e2e/
// <hash> (npm install --prefix), and returns it; later calls, in this or
// any other test process, reuse it. It skips the test when node or npm is
// missing, or in -short mode, and fails it when the install fails.
func NPMPrefix(t testing.TB, pkgs ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests with npm packages skipped in -short mode")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("end-to-end tests need %s on PATH: %v", tool, err)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	h := sha256.Sum256([]byte(strings.Join(pkgs, "\n")))
	dir := filepath.Join(cache, "agentos-mcp-e2e", hex.EncodeToString(h[:8]))
	marker := filepath.Join(dir, ".complete")
	if _, err := os.Stat(marker); err == nil {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"install", "--no-audit", "--no-fund", "--prefix", tmp}, pkgs...)
	out, err := exec.CommandContext(ctx, "npm", args...).CombinedOutput()
	if err != nil {
		os.RemoveAll(tmp)
		t.Fatalf("npm install: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp) // another run installed it first
		if _, serr := os.Stat(marker); serr != nil {
			t.Fatalf("install: %v", err)
		}
	}
	return dir
}
