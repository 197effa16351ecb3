//go:build linux

package cli

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// rssFileKiB reads RssFile (file-backed resident pages, KiB) from
// /proc/self/status.
func rssFileKiB(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("RssFile %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestPageOutExecutable pages out this test binary's code and read-only
// data and checks that the file-backed resident size fell while the
// process keeps running (the pages fault back in as used). Not parallel:
// other tests running would fault pages back in meanwhile.
func TestPageOutExecutable(t *testing.T) {
	before := rssFileKiB(t)
	n, err := pageOutExecutable()
	if errors.Is(err, syscall.EINVAL) {
		t.Skipf("this kernel has no MADV_PAGEOUT (Linux 5.4+): %v", err)
	}
	if err != nil {
		t.Fatalf("pageOutExecutable() = %d, %v", n, err)
	}
	after := rssFileKiB(t)
	exe, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 || n > exe.Size()+1<<20 {
		t.Errorf("pageOutExecutable() advised %d bytes of a %d-byte executable", n, exe.Size())
	}
	if after >= before {
		t.Errorf("RssFile = %d KiB after paging out, %d KiB before: want it lower", after, before)
	}
	t.Logf("RssFile %d KiB → %d KiB (%d bytes advised)", before, after, n)
}
