package cli

import (
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// releaseStartupMemory returns to the operating system memory the daemon
// used only while starting, and logs what it released.
//
// Two kinds of memory qualify. The heap garbage of package initialisation
// and set-up (policy compile, audit open, dashboard templates): a forced
// collection returns the freed spans (debug.FreeOSMemory). And, on Linux,
// the pages of the executable that start-up faulted in: initialising
// some 300 packages touches code and read-only data spread over most of
// the binary, and the kernel maps whole page-cache folios (up to 2 MiB)
// at a time, so right after start-up nearly all of the binary's text and
// much of its read-only data count as resident although an idle daemon
// runs a small part of them. Those pages are clean: they are advised out
// (MADV_PAGEOUT), which never discards data, and fault back in from the
// file when used again, so the resident size then tracks what the daemon
// actually runs.
func releaseStartupMemory(logger *slog.Logger) {
	start := time.Now()
	debug.FreeOSMemory()
	n, err := pageOutExecutable()
	if err != nil {
		// Only an advice: the daemon runs the same without it.
		logger.Debug("start-up pages of the executable not released", "error", err)
	}
	logger.Debug("released start-up memory", "executable_bytes_advised", n, "took", time.Since(start))
}

// memRegion is an address range of the process.
type memRegion struct {
	start, end uintptr
}

// readOnlyMappingsOf returns the mappings of file that are not writable,
// read from a /proc/PID/maps listing. file is matched against the
// pathname column exactly (the kernel writes it as readlink of
// /proc/self/exe does, " (deleted)" included). Writable mappings (the
// data segment) are never returned: their pages may hold the process's
// own changes.
func readOnlyMappingsOf(maps, file string) []memRegion {
	var out []memRegion
	for line := range strings.Lines(maps) {
		r, perms, path, ok := parseMapsLine(strings.TrimSuffix(line, "\n"))
		if !ok || path != file || len(perms) < 2 || perms[1] != '-' {
			continue
		}
		out = append(out, r)
	}
	return out
}

// parseMapsLine splits one line of /proc/PID/maps,
// "start-end perms offset dev inode [pathname]", into its range,
// permissions and pathname. ok is false when the line has not that shape
// or its range is empty or reversed.
func parseMapsLine(line string) (r memRegion, perms, path string, ok bool) {
	rest := line
	field := func() string {
		rest = strings.TrimLeft(rest, " ")
		f, tail, _ := strings.Cut(rest, " ")
		rest = tail
		return f
	}
	rng, perms := field(), field()
	_, _, _ = field(), field(), field() // offset, dev, inode
	lo, hi, found := strings.Cut(rng, "-")
	if !found {
		return memRegion{}, "", "", false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || start >= end || uint64(uintptr(end)) != end || len(perms) != 4 {
		return memRegion{}, "", "", false
	}
	return memRegion{start: uintptr(start), end: uintptr(end)}, perms, strings.TrimLeft(rest, " "), true
}
