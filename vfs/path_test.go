package vfs_test

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/agentos/agentos/vfs"
)

func TestValidatePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p  string
		ok bool
	}{
		{"/", true}, {"/mem/working/x.txt", true}, {"/a b/ü/日本", true}, {"/a\\b", true}, {"/..a", true}, {"/a..", true},
		{"", false}, {"mem/working", false}, {"./x", false},
		{"/mem/working/", false}, {"//etc", false}, {"/a//b", false}, {"/a/./b", false}, {"/a/../b", false}, {"/..", false}, {"/.", false},
		{"/a\x00b", false}, {"/a\nb", false}, {"/a\rb", false}, {"/a\x7fb", false}, {"/a\u0085b", false}, {"/a\xffb", false},
		{"/" + strings.Repeat("a", 255), true}, {"/" + strings.Repeat("a", 256), false},
		{strings.Repeat("/abcdefgh", 455), true}, {strings.Repeat("/abcdefgh", 455) + "/x", false},
	}
	for _, tt := range tests {
		err := vfs.ValidatePath("test", tt.p)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePath(%q) = %v, want ok=%v", tt.p, err, tt.ok)
		}
		if err != nil && !errors.Is(err, vfs.ErrInvalidPath) {
			t.Errorf("ValidatePath(%q) = %v, not ErrInvalidPath", tt.p, err)
		}
	}
}

func TestResolveByComponents(t *testing.T) {
	t.Parallel()
	v := newVFS(t)
	tests := []struct{ p, mount string }{
		{"/state", "/state"}, {"/state/x", "/state"}, {"/statex/y", ""}, {"/stat", ""},
		{"/mem/working/a/b", "/mem/working"}, {"/mem/workingx", ""}, {"/mem", ""}, {"/policy/p.yaml", "/policy"}, {"/", ""},
	}
	for _, tt := range tests {
		got, err := v.Resolve(tt.p)
		if tt.mount == "" {
			if !errors.Is(err, vfs.ErrNoMount) {
				t.Errorf("Resolve(%q) = %q, %v; want ErrNoMount", tt.p, got, err)
			}
			continue
		}
		if got != tt.mount || err != nil {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.p, got, err, tt.mount)
		}
	}
}

func FuzzPath(f *testing.F) {
	for _, s := range []string{"/mem/working/x", "/mem/working/../../policy/evil", "//etc/passwd", "/state/", "/statex/y",
		"/a\x00b", "/mem/working/\u202e", "/ipc/" + strings.Repeat("x", 300), "relative", "/policy/./p", "/tools/ü", "/mem/working/\xff"} {
		f.Add(s)
	}
	v := newVFS(f)
	f.Fuzz(func(t *testing.T, p string) {
		err := vfs.ValidatePath("fuzz", p)
		if err == nil {
			// An accepted path is clean, absolute, bounded and printable.
			if path.Clean(p) != p || !strings.HasPrefix(p, "/") || len(p) > vfs.MaxPathLen || !utf8.ValidString(p) {
				t.Fatalf("accepted unclean path %q", p)
			}
			for _, r := range p {
				if unicode.IsControl(r) {
					t.Fatalf("accepted control character in %q", p)
				}
			}
			for _, c := range strings.Split(p, "/") {
				if c == ".." || c == "." {
					t.Fatalf("accepted %q component in %q", c, p)
				}
			}
		} else if !errors.Is(err, vfs.ErrInvalidPath) {
			t.Fatalf("ValidatePath(%q) = %v, not ErrInvalidPath", p, err)
		}
		mount, rerr := v.Resolve(p)
		if rerr != nil {
			if err != nil && !errors.Is(rerr, vfs.ErrInvalidPath) {
				t.Fatalf("Resolve(%q) = %v for an invalid path", p, rerr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Resolve accepted invalid path %q", p)
		}
		// A resolved path is inside its mount by components.
		if p != mount && !strings.HasPrefix(p, mount+"/") {
			t.Fatalf("Resolve(%q) = %q: not inside the mount", p, mount)
		}
		ctx := context.Background()
		if _, werr := v.Write(ctx, p, []byte("x")); werr == nil {
			if mount == "/policy" {
				t.Fatalf("user-space write to %q succeeded", p)
			}
			if data, rerr := v.Read(ctx, p); rerr != nil || string(data) != "x" {
				t.Fatalf("read back %q = %q, %v", p, data, rerr)
			}
			if _, derr := v.Delete(ctx, p); derr != nil {
				t.Fatalf("delete %q: %v", p, derr)
			}
		}
	})
}

// FuzzDirBackendPath writes through a DirBackend-served mount and checks
// nothing appears outside its root.
func FuzzDirBackendPath(f *testing.F) {
	for _, s := range []string{"/ipc/x", "/ipc/../x", "/ipc/link/x", "/ipc/link", "/ipc/a/b/c", "/ipc/\u00e9"} {
		f.Add(s)
	}
	parentDir := f.TempDir()
	root := filepath.Join(parentDir, "root")
	outside := filepath.Join(parentDir, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o700); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "ipc"), 0o700); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "ipc", "link")); err != nil {
		f.Fatal(err)
	}
	db, err := vfs.NewDirBackend(root, vfs.DirOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	v, err := vfs.New(context.Background(), vfs.Options{Backends: map[string]vfs.Backend{"/ipc": db}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		_, _ = v.Write(context.Background(), p, []byte("x"))
		entries, err := os.ReadDir(outside)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Fatalf("writing %q created %s outside the root", p, entries[0].Name())
		}
	})
}
