package vfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/agentos/agentos/vfs"
)

// dirFixture returns a VFS whose /ipc and /mem/working mounts live in a
// DirBackend rooted in a temporary directory, plus a directory outside the
// root holding secret.txt, and symbolic links inside the root that point
// out of it.
func dirFixture(t *testing.T) (v *vfs.VFS, root, outside string) {
	t.Helper()
	tmp := t.TempDir()
	root, outside = filepath.Join(tmp, "root"), filepath.Join(tmp, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "ipc")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"dirlink":   outside,                                 // absolute, to a directory outside
		"filelink":  filepath.Join(outside, "secret.txt"),    // absolute, to a file outside
		"rellink":   "../../outside/secret.txt",              // relative, climbing out
		"dangling":  filepath.Join(outside, "new.txt"),       // to a file that does not exist yet
		"innerlink": "inner.txt",                             // relative, inside the root
		"absinner":  filepath.Join(root, "ipc", "inner.txt"), // absolute: refused even though it points inside
	} {
		if err := os.Symlink(target, filepath.Join(root, "ipc", name)); err != nil {
			t.Fatal(err)
		}
	}
	db, err := vfs.NewDirBackend(root, vfs.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
		if err := db.Close(); err != nil {
			t.Error("second Close:", err)
		}
	})
	v, err = vfs.New(t.Context(), vfs.Options{Backends: map[string]vfs.Backend{"/ipc": db, "/mem/working": db}})
	if err != nil {
		t.Fatal(err)
	}
	return v, root, outside
}

func TestDirBackendBasics(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	v, root, _ := dirFixture(t)
	if n, err := v.WriteString(ctx, "/mem/working/a/b/c.txt", "héllo"); n != 6 || err != nil {
		t.Fatal(n, err)
	}
	if _, err := v.Append(ctx, "/mem/working/a/b/c.txt", []byte("!!")); err != nil {
		t.Fatal(err)
	}
	st, err := v.Stat(ctx, "/mem/working/a/b/c.txt")
	if err != nil || st.Size != 8 || st.ContentHash != "d36d7e03819b7ac3" || st.Type != vfs.REGULAR {
		t.Fatalf("stat = %+v, %v", st, err)
	}
	info, err := os.Stat(filepath.Join(root, "mem", "working", "a", "b", "c.txt"))
	if err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Fatalf("file mode = %v, %v; want no group/other bits", info.Mode(), err)
	}
	dinfo, err := os.Stat(filepath.Join(root, "mem", "working", "a"))
	if err != nil || dinfo.Mode().Perm()&0o077 != 0 {
		t.Fatalf("dir mode = %v, %v; want no group/other bits", dinfo.Mode(), err)
	}
	if names, _ := v.List(ctx, "/mem/working"); !slices.Equal(names, []string{"a"}) {
		t.Fatalf("ls = %v", names)
	}
	if st, err := v.Stat(ctx, "/mem/working/a"); err != nil || st.Type != vfs.DIRECTORY {
		t.Fatalf("stat dir = %+v, %v", st, err)
	}
	_, err = v.Read(ctx, "/mem/working/nope")
	wantErr(t, err, vfs.ErrNotFound, "No such file: /mem/working/nope")
	if ok, err := v.Delete(ctx, "/mem/working/nope"); ok || err != nil {
		t.Fatalf("delete missing = %v, %v", ok, err)
	}
	_, err = v.Delete(ctx, "/mem/working/a")
	wantErr(t, err, vfs.ErrNotEmpty, "")
	if ok, _ := v.Mkdir(ctx, "/mem/working/a"); ok {
		t.Fatal("mkdir of an existing dir reported true")
	}
	if ok, err := v.Exists(ctx, "/mem/working/a/b/c.txt"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	fd, _ := v.Open(ctx, "/mem/working/a/b/c.txt", vfs.RW)
	_ = v.Seek(fd, 1)
	_, _ = v.FDWrite(ctx, fd, []byte("E"))
	if b, _ := v.Read(ctx, "/mem/working/a/b/c.txt"); string(b) != "hE\xa9llo!!" {
		t.Fatalf("positional write = %q", b)
	}
	_, err = v.Read(ctx, "/mem/working/a")
	wantErr(t, err, vfs.ErrIsDir, "")
	_, err = v.List(ctx, "/mem/working/a/b/c.txt")
	wantErr(t, err, vfs.ErrNotDir, "")
}

// Symbolic links pointing outside the root cannot be read, written,
// listed or stat'ed through, and nothing outside changes.
func TestDirBackendSymlinkEscape(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	v, _, outside := dirFixture(t)
	for _, p := range []string{"/ipc/filelink", "/ipc/rellink", "/ipc/dirlink/secret.txt", "/ipc/absinner"} {
		if data, err := v.Read(ctx, p); err == nil {
			t.Errorf("Read(%q) = %q through an escaping link", p, data)
		}
		if _, err := v.Stat(ctx, p); err == nil {
			t.Errorf("Stat(%q) succeeded through an escaping link", p)
		}
		if ok, err := v.Exists(ctx, p); ok || err != nil {
			t.Errorf("Exists(%q) = %v, %v; want false, nil", p, ok, err)
		}
		if _, err := v.WriteString(ctx, p, "pwned"); err == nil {
			t.Errorf("Write(%q) succeeded through an escaping link", p)
		}
		if _, err := v.Append(ctx, p, []byte("pwned")); err == nil {
			t.Errorf("Append(%q) succeeded through an escaping link", p)
		}
	}
	if _, err := v.WriteString(ctx, "/ipc/dangling", "pwned"); err == nil {
		t.Error("Write through a dangling escaping link succeeded")
	}
	if _, err := v.WriteString(ctx, "/ipc/dirlink/new/x", "pwned"); err == nil {
		t.Error("Write creating directories through an escaping link succeeded")
	}
	if _, err := v.Mkdir(ctx, "/ipc/dirlink/sub"); err == nil {
		t.Error("Mkdir through an escaping link succeeded")
	}
	if _, err := v.List(ctx, "/ipc/dirlink"); err == nil {
		t.Error("List through an escaping link succeeded")
	}
	_, err := v.Read(ctx, "/ipc/filelink")
	if !errors.Is(err, vfs.ErrEscape) {
		t.Errorf("Read through escaping link = %v, want ErrEscape", err)
	}
	// A link within the root still works.
	if _, err := v.WriteString(ctx, "/ipc/innerlink", "ok"); err != nil {
		t.Errorf("write through an inside link: %v", err)
	}
	// Deleting a link removes the link, never its target.
	if ok, err := v.Delete(ctx, "/ipc/filelink"); !ok || err != nil {
		t.Errorf("Delete(link) = %v, %v", ok, err)
	}
	data, err := os.ReadFile(filepath.Join(outside, "secret.txt"))
	if err != nil || string(data) != "secret" {
		t.Fatalf("outside file = %q, %v; want it untouched", data, err)
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Fatalf("outside directory has %d entries, want 1", len(entries))
	}
}

func TestNewDirBackendMissing(t *testing.T) {
	t.Parallel()
	if _, err := vfs.NewDirBackend(filepath.Join(t.TempDir(), "missing"), vfs.DirOptions{}); err == nil {
		t.Fatal("NewDirBackend of a missing directory succeeded")
	}
}
