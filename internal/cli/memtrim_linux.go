//go:build linux

package cli

import (
	"fmt"
	"os"
	"syscall"
)

// madvPageout is Linux's MADV_PAGEOUT (5.4 and later): reclaim the range's
// pages now. It is advice only: clean file pages are dropped and read
// again on the next access, dirty ones are written to swap or kept, so no
// data is ever lost (unlike MADV_DONTNEED, which would discard a private
// mapping's changes). Pages other processes also map are left alone.
const madvPageout = 21

// pageOutExecutable advises the kernel to reclaim the pages of the
// executable's read-only mappings (code and read-only data) and returns
// the bytes advised. An older kernel without MADV_PAGEOUT returns an
// error and nothing changes.
func pageOutExecutable() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("find executable: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("read mappings: %w", err)
	}
	var n int64
	for _, r := range readOnlyMappingsOf(string(maps), exe) {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, r.start, r.end-r.start, madvPageout); errno != 0 {
			return n, fmt.Errorf("madvise(%#x, %d, MADV_PAGEOUT): %w", r.start, r.end-r.start, errno)
		}
		n += int64(r.end - r.start)
	}
	return n, nil
}
