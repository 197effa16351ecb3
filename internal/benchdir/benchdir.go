// Package benchdir gives benchmarks a data directory that can be put on
// another file system.
package benchdir

import (
	"os"
	"path/filepath"
	"testing"
)

// Env names the directory under which Dir makes benchmark data
// directories, when set: on tmpfs, for instance, where a flush to disk
// costs nothing, which separates the disk's latency from the code's.
const Env = "AGENTOS_BENCH_DATA_DIR"

// Dir returns a new data directory for tb, removed when tb ends: under
// $AGENTOS_BENCH_DATA_DIR when that is set, else tb.TempDir().
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if d := os.Getenv(Env); d != "" {
		dir = filepath.Join(d, filepath.Base(dir))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
	}
	return dir
}
