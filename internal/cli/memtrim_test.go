package cli

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestReadOnlyMappingsOf(t *testing.T) {
	t.Parallel()
	const maps = `00400000-01723000 r-xp 00000000 fe:00 9978264                            /opt/agentos/bin/agentos
01723000-030c7000 r--p 01323000 fe:00 9978264                            /opt/agentos/bin/agentos
030c7000-03295000 rw-p 02cc7000 fe:00 9978264                            /opt/agentos/bin/agentos
03295000-052eb000 rw-p 00000000 00:00 0 
c000000000-c004000000 rw-p 00000000 00:00 0
7f7ab4479000-7f7ab449f000 r--p 00000000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000001000-7f0000002000 r-xp 00000000 fe:00 1                          /opt/agentos/bin/agentos-old
7f0000003000-7f0000004000 r-xp 00000000 fe:00 7                          /opt/agentos/bin/agentos (deleted)
7f0000005000-7f0000006000 r-xp 00000000 fe:00 8                          /opt/my tools/agentos
not a mapping at all
7f0000009000-7f0000008000 r-xp 00000000 fe:00 9978264                    /opt/agentos/bin/agentos
7f000000a000-7f000000b000 r 00000000 fe:00 9978264                       /opt/agentos/bin/agentos
zz-7f000000c000 r-xp 00000000 fe:00 9978264                              /opt/agentos/bin/agentos
7ffd1c0e5000-7ffd1c106000 rw-p 00000000 00:00 0                          [stack]`
	tests := []struct {
		name, file string
		want       []memRegion
	}{
		{"code and read-only data, not the data segment", "/opt/agentos/bin/agentos",
			[]memRegion{{0x400000, 0x1723000}, {0x1723000, 0x30c7000}}},
		{"a replaced executable", "/opt/agentos/bin/agentos (deleted)", []memRegion{{0x7f0000003000, 0x7f0000004000}}},
		{"a path with a space", "/opt/my tools/agentos", []memRegion{{0x7f0000005000, 0x7f0000006000}}},
		{"a file not mapped", "/opt/agentos/bin/other", nil},
		{"anonymous mappings never match", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := readOnlyMappingsOf(maps, tt.file); !slices.Equal(got, tt.want) {
				t.Errorf("readOnlyMappingsOf(maps, %q) = %#v, want %#v", tt.file, got, tt.want)
			}
		})
	}
}

func TestParseMapsLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line        string
		want        memRegion
		perms, path string
		ok          bool
	}{
		{"00400000-01723000 r-xp 00000000 fe:00 9978264     /usr/bin/agentos", memRegion{0x400000, 0x1723000}, "r-xp", "/usr/bin/agentos", true},
		{"7ffd1c0e5000-7ffd1c106000 rw-p 00000000 00:00 0   [stack]", memRegion{0x7ffd1c0e5000, 0x7ffd1c106000}, "rw-p", "[stack]", true},
		{"03295000-052eb000 rw-p 00000000 00:00 0 ", memRegion{0x3295000, 0x52eb000}, "rw-p", "", true},
		{"", memRegion{}, "", "", false},
		{"00400000 r-xp 00000000 fe:00 1 /x", memRegion{}, "", "", false},
		{"2000-1000 r-xp 00000000 fe:00 1 /x", memRegion{}, "", "", false},
		{"1000-1000 r-xp 00000000 fe:00 1 /x", memRegion{}, "", "", false},
		{"1000-2000 rx 00000000 fe:00 1 /x", memRegion{}, "", "", false},
		{"1000-1ffffffffffffffff r-xp 0 fe:00 1 /x", memRegion{}, "", "", false},
	}
	for _, tt := range tests {
		r, perms, path, ok := parseMapsLine(tt.line)
		if r != tt.want || perms != tt.perms || path != tt.path || ok != tt.ok {
			t.Errorf("parseMapsLine(%q) = %#v, %q, %q, %v; want %#v, %q, %q, %v",
				tt.line, r, perms, path, ok, tt.want, tt.perms, tt.path, tt.ok)
		}
	}
}

// FuzzParseMapsLine: parseMapsLine never panics, and a line it accepts
// has a non-empty range and four permission letters; the mappings
// readOnlyMappingsOf selects are never writable.
func FuzzParseMapsLine(f *testing.F) {
	for _, s := range []string{
		"00400000-01723000 r-xp 00000000 fe:00 9978264     /usr/bin/agentos",
		"030c7000-03295000 rw-p 02cc7000 fe:00 9978264     /usr/bin/agentos",
		"03295000-052eb000 rw-p 00000000 00:00 0 ",
		"7ffd1c0e5000-7ffd1c106000 rw-p 00000000 00:00 0   [stack]",
		"2000-1000 r-xp 0 0 0 /x", "-", "  ", "1-2 r--p",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, perms, path, ok := parseMapsLine(line)
		if !ok {
			return
		}
		if r.start >= r.end || len(perms) != 4 {
			t.Fatalf("parseMapsLine(%q) accepted %#v, perms %q", line, r, perms)
		}
		if got := readOnlyMappingsOf(line, path); perms[1] != '-' && len(got) != 0 {
			t.Fatalf("readOnlyMappingsOf(%q) selected a writable mapping: %#v", line, got)
		}
	})
}

// TestReleaseStartupMemoryLogs: the release runs on every platform and
// reports what it did at debug level; it never fails the daemon.
func TestReleaseStartupMemoryLogs(t *testing.T) {
	var buf bytes.Buffer
	releaseStartupMemory(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if !strings.Contains(buf.String(), "msg=\"released start-up memory\"") {
		t.Errorf("log = %q, want the release logged", buf.String())
	}
}
