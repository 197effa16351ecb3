// Package benchdir gives benchmarks a data directory that can be put on
// another file system.
package benchdir

import (
	"os"
	"path/filepath"
	"testing"
)

// Env names the environment variable benchmarks read for the root
// argument of Dir: a directory on tmpfs, for instance, where a flush to
// disk costs nothing, which separates the disk's latency from the code's.
const Env = "AGENTOS_BENCH_DATA_DIR"

// Dir returns a new data directory for tb, removed when tb ends: under
// root when it is not empty (the benchmark's $AGENTOS_BENCH_DATA_DIR),
// else tb.TempDir().
func Dir(tb testing.TB, root string) string {
	tb.Helper()
	dir := tb.TempDir()
	if root != "" {
		dir = filepath.Join(root, filepath.Base(dir))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
	}
	return dir
}
