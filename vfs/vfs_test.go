package vfs_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/vfs"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)

func newVFS(t testing.TB) *vfs.VFS {
	t.Helper()
	v, err := vfs.New(context.Background(), vfs.Options{AgentID: "a1", Clock: fixedClock{epoch}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantErr(t *testing.T, err, sentinel error, msg string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error = %v, want one matching %v", err, sentinel)
	}
	if msg != "" && err.Error() != msg {
		t.Fatalf("error = %q, want %q", err.Error(), msg)
	}
	var e *vfs.Error
	if errors.As(err, &e) && e.Code() != 3 {
		t.Fatalf("Code() = %d, want 3", e.Code())
	}
}

// Reference vector 35: the mount table.
func TestMountTable(t *testing.T) {
	t.Parallel()
	v := newVFS(t)
	info := v.MountInfo()
	var paths []string
	for _, m := range info {
		paths = append(paths, m.Path)
		wantMode, wantRO := "RW", false
		if m.Path == "/policy" {
			wantMode, wantRO = "READ", true
		}
		if m.Mode != wantMode || m.ReadOnly != wantRO || m.Backend != "MemBackend" || m.Description == "" {
			t.Errorf("mount %+v: want mode %s, read_only %v, MemBackend, a description", m, wantMode, wantRO)
		}
	}
	want := []string{"/mem/working", "/mem/episodic", "/mem/semantic", "/mem/procedural", "/state", "/tools", "/policy", "/ipc"}
	if !slices.Equal(paths, want) {
		t.Fatalf("mounts = %v, want %v", paths, want)
	}
	_, err := v.List(t.Context(), "/")
	wantErr(t, err, vfs.ErrNoMount, "No mount point for path: /")
}

// Reference vectors 36-37 and kernel vectors 1-10.
func TestReferenceFileOps(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	v := newVFS(t)
	p := "/mem/working/a/b/c.txt"
	if n, err := v.WriteString(ctx, p, "héllo"); n != 6 || err != nil {
		t.Fatalf("write = %d, %v; want 6", n, err)
	}
	if n, err := v.Append(ctx, p, []byte("!!")); n != 2 || err != nil {
		t.Fatalf("append = %d, %v; want 2", n, err)
	}
	if s, err := v.ReadText(ctx, p); s != "héllo!!" || err != nil {
		t.Fatalf("read = %q, %v", s, err)
	}
	st, err := v.Stat(ctx, p)
	if err != nil || st.Size != 8 || st.ContentHash != "d36d7e03819b7ac3" || st.Type != vfs.REGULAR || st.Mode != vfs.RW ||
		st.Owner != "agent" || st.Group != "agents" {
		t.Fatalf("stat = %+v, %v", st, err)
	}
	if names, err := v.List(ctx, "/mem/working"); !slices.Equal(names, []string{"a"}) || err != nil {
		t.Fatalf("ls = %v, %v; want [a]", names, err)
	}
	if st, err := v.Stat(ctx, "/mem/working/a"); err != nil || st.Type != vfs.DIRECTORY || st.Mode != vfs.RWX {
		t.Fatalf("stat dir = %+v, %v", st, err)
	}

	fd, err := v.Open(ctx, p, vfs.READ)
	if err != nil || fd != 1 {
		t.Fatalf("open = %d, %v; want fd 1", fd, err)
	}
	for _, want := range []string{"h\xc3\xa9", "llo", "!!"} {
		size := 3
		if want == "!!" {
			size = -1
		}
		if got, err := v.FDRead(ctx, fd, size); string(got) != want || err != nil {
			t.Fatalf("fd_read(%d) = %q, %v; want %q", size, got, err, want)
		}
	}
	_, err = v.FDWrite(ctx, fd, []byte("x"))
	wantErr(t, err, vfs.ErrNotWritable, "File not opened for writing")
	_, err = v.FDRead(ctx, 999, 1)
	wantErr(t, err, vfs.ErrBadFD, "Invalid file descriptor: 999")

	_, err = v.Read(ctx, "/mem/working/nope")
	wantErr(t, err, vfs.ErrNotFound, "No such file: /mem/working/nope")
	_, err = v.WriteString(ctx, "/policy/p.yaml", "x")
	wantErr(t, err, vfs.ErrReadOnly, "Mount point is read-only: /policy")
	_, err = v.WriteString(ctx, "/foo/p", "x")
	wantErr(t, err, vfs.ErrNoMount, "No mount point for path: /foo/p")
	_, err = v.Open(ctx, "/policy/x", vfs.WRITE)
	wantErr(t, err, vfs.ErrReadOnly, "Cannot open for writing: /policy/x")
	if fd2, err := v.Open(ctx, "/policy/x", vfs.READ); fd2 != 2 || err != nil {
		t.Fatalf("open /policy for READ = %d, %v; want 2 (existence not checked)", fd2, err)
	}
	ji, _ := json.Marshal(st)
	var m map[string]any
	if err := json.Unmarshal(ji, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"path", "type", "mode", "size", "created", "modified", "owner", "metadata", "content_hash", "group"} {
		if _, ok := m[k]; !ok {
			t.Errorf("INode JSON %s lacks %q", ji, k)
		}
	}
	if m["type"] != "REGULAR" || m["mode"] != 3.0 || m["created"] != "2025-01-02T03:04:05.123456+00:00" {
		t.Errorf("INode JSON = %s", ji)
	}
}

// Reference vectors 38-39 and the helpers.
func TestReferenceHelpers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	v := newVFS(t)
	_, err := v.Delete(ctx, "/policy/x")
	wantErr(t, err, vfs.ErrReadOnly, "Mount point is read-only: /policy")
	if ok, err := v.Delete(ctx, "/mem/working/missing"); ok || err != nil {
		t.Fatalf("delete missing = %v, %v; want false", ok, err)
	}
	if ok, err := v.Mkdir(ctx, "/mem/working"); ok || err != nil {
		t.Fatalf("mkdir existing = %v, %v; want false", ok, err)
	}
	if ok, err := v.Mkdir(ctx, "/mem/working/d"); !ok || err != nil {
		t.Fatalf("mkdir new = %v, %v; want true", ok, err)
	}
	_, err = v.Mkdir(ctx, "/policy/d")
	wantErr(t, err, vfs.ErrReadOnly, "Mount point is read-only: /policy")
	if ok, err := v.Exists(ctx, "/nowhere/x"); ok || err != nil {
		t.Fatalf("exists with no mount = %v, %v; want false, nil", ok, err)
	}

	p, err := v.SaveCheckpoint(ctx, "c1", map[string]int{"x": 1})
	if p != "/state/checkpoints/c1.json" || err != nil {
		t.Fatalf("save_checkpoint = %q, %v", p, err)
	}
	var state map[string]int
	if err := v.LoadCheckpoint(ctx, "c1", &state); err != nil || state["x"] != 1 {
		t.Fatalf("load_checkpoint = %v, %v", state, err)
	}
	var doc map[string]any
	if err := v.ReadJSON(ctx, p, &doc); err != nil || doc["agent_id"] != "a1" || doc["checkpoint_id"] != "c1" || doc["timestamp"] == nil {
		t.Fatalf("checkpoint file = %v, %v", doc, err)
	}
	raw, _ := v.ReadText(ctx, p)
	if !strings.Contains(raw, "\n  \"checkpoint_id\": \"c1\"") {
		t.Fatalf("checkpoint not indented by 2: %s", raw)
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden", "..", "a\x00", strings.Repeat("a", 129), "é"} {
		_, err := v.SaveCheckpoint(ctx, bad, 1)
		wantErr(t, err, vfs.ErrInvalidID, "")
		wantErr(t, v.LoadCheckpoint(ctx, bad, new(any)), vfs.ErrInvalidID, "")
	}

	if p, err := v.LogEpisodic(ctx, map[string]int{"e": 1}, "ev1"); p != "/mem/episodic/ev1.json" || err != nil {
		t.Fatalf("log_episodic = %q, %v", p, err)
	}
	p1, err1 := v.LogEpisodic(ctx, "first", "")
	p2, err2 := v.LogEpisodic(ctx, "second", "")
	if err1 != nil || err2 != nil || p1 != "/mem/episodic/20250102-030405-123456.json" || p2 != "/mem/episodic/20250102-030405-123456-2.json" {
		t.Fatalf("generated ids = %q, %q (%v, %v)", p1, p2, err1, err2)
	}

	_, _ = v.WriteString(ctx, "/mem/working/notes.json", `{"k": [1, 2]}`)
	_, _ = v.WriteString(ctx, "/mem/working/text.txt", "plain")
	_, _ = v.WriteString(ctx, "/mem/working/bad.json", "{not json")
	_, _ = v.Write(ctx, "/mem/working/bin", []byte{0xff, 0xfe, 0})
	wm, err := v.WorkingMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(wm)
	if want := `{"bad.json":"{not json","bin":"\u003cbinary: 3 bytes\u003e","d":"\u003cdirectory\u003e","notes.json":{"k":[1,2]},"text.txt":"plain"}`; string(got) != want {
		t.Fatalf("working memory = %s\nwant %s", got, want)
	}
	if n, err := v.ClearWorkingMemory(ctx); n != 4 || err != nil {
		t.Fatalf("clear = %d, %v; want 4 (the directory stays)", n, err)
	}
	if names, _ := v.List(ctx, "/mem/working"); !slices.Equal(names, []string{"d"}) {
		t.Fatalf("after clear: %v", names)
	}
}

// Deliberate deviations from the reference, one named case each.
func TestDeviations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("statex-is-not-state", func(t *testing.T) {
		v := newVFS(t)
		_, err := v.WriteString(ctx, "/statex/y", "1")
		wantErr(t, err, vfs.ErrNoMount, "No mount point for path: /statex/y")
	})
	t.Run("dotdot-rejected-not-stored", func(t *testing.T) {
		v := newVFS(t)
		_, err := v.WriteString(ctx, "/mem/working/../../policy/evil", "x")
		wantErr(t, err, vfs.ErrInvalidPath, "")
		if names, _ := v.List(ctx, "/mem/working"); len(names) != 0 {
			t.Fatalf("ls after rejected write = %v", names)
		}
	})
	t.Run("close-unknown-fd-is-error", func(t *testing.T) {
		v := newVFS(t)
		wantErr(t, v.Close(99), vfs.ErrBadFD, "Invalid file descriptor: 99")
		fd, _ := v.Open(ctx, "/mem/working/x", vfs.READ)
		if err := v.Close(fd); err != nil {
			t.Fatal(err)
		}
		wantErr(t, v.Close(fd), vfs.ErrBadFD, "")
	})
	t.Run("fd-read-rest-advances", func(t *testing.T) {
		v := newVFS(t)
		_, _ = v.WriteString(ctx, "/mem/working/x", "abc")
		fd, _ := v.Open(ctx, "/mem/working/x", vfs.READ)
		a, _ := v.FDRead(ctx, fd, -1)
		b, err := v.FDRead(ctx, fd, -1)
		if string(a) != "abc" || len(b) != 0 || err != nil {
			t.Fatalf("fd_read(-1) twice = %q, %q, %v; want abc then empty", a, b, err)
		}
	})
	t.Run("fd-write-honours-position", func(t *testing.T) {
		v := newVFS(t)
		_, _ = v.WriteString(ctx, "/mem/working/x", "hello world")
		fd, _ := v.Open(ctx, "/mem/working/x", vfs.RW)
		if err := v.Seek(fd, 6); err != nil {
			t.Fatal(err)
		}
		if n, err := v.FDWrite(ctx, fd, []byte("WORLD!")); n != 6 || err != nil {
			t.Fatal(n, err)
		}
		_, _ = v.FDWrite(ctx, fd, []byte("?"))
		if s, _ := v.ReadText(ctx, "/mem/working/x"); s != "hello WORLD!?" {
			t.Fatalf("content = %q, want %q", s, "hello WORLD!?")
		}
		fd2, _ := v.Open(ctx, "/mem/working/y", vfs.WRITE)
		_ = v.Seek(fd2, 2)
		_, _ = v.FDWrite(ctx, fd2, []byte("z"))
		if b, _ := v.Read(ctx, "/mem/working/y"); string(b) != "\x00\x00z" {
			t.Fatalf("write past end = %q, want zero-filled gap", b)
		}
		fd3, _ := v.Open(ctx, "/mem/working/y", vfs.APPEND)
		_, _ = v.FDWrite(ctx, fd3, []byte("!"))
		if b, _ := v.Read(ctx, "/mem/working/y"); string(b) != "\x00\x00z!" {
			t.Fatalf("append fd = %q", b)
		}
	})
	t.Run("fd-read-needs-read-mode", func(t *testing.T) {
		v := newVFS(t)
		fd, _ := v.Open(ctx, "/mem/working/x", vfs.WRITE)
		_, err := v.FDRead(ctx, fd, 1)
		wantErr(t, err, vfs.ErrNotReadable, "File not opened for reading")
	})
	t.Run("fd-limit", func(t *testing.T) {
		v, _ := vfs.New(ctx, vfs.Options{MaxOpenFiles: 2})
		_, _ = v.Open(ctx, "/ipc/a", vfs.READ)
		_, _ = v.Open(ctx, "/ipc/a", vfs.READ)
		_, err := v.Open(ctx, "/ipc/a", vfs.READ)
		wantErr(t, err, vfs.ErrTooManyFDs, "")
		if v.OpenFDs() != 2 {
			t.Fatalf("OpenFDs = %d", v.OpenFDs())
		}
	})
	t.Run("privileged-writes-policy", func(t *testing.T) {
		v := newVFS(t)
		pw := v.Privileged()
		if _, err := pw.Write(ctx, "/policy/p.yaml", []byte("rules: []")); err != nil {
			t.Fatal(err)
		}
		if _, err := pw.WriteJSON(ctx, "/policy/p.json", map[string]int{"a": 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Append(ctx, "/policy/p.yaml", []byte("\n")); err != nil {
			t.Fatal(err)
		}
		if ok, err := pw.Mkdir(ctx, "/policy/sub"); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if s, _ := v.ReadText(ctx, "/policy/p.yaml"); s != "rules: []\n" {
			t.Fatalf("read back %q", s)
		}
		_, err := v.WriteString(ctx, "/policy/p.yaml", "evil")
		wantErr(t, err, vfs.ErrReadOnly, "")
		if ok, err := pw.Delete(ctx, "/policy/p.json"); !ok || err != nil {
			t.Fatal(ok, err)
		}
		// Even privileged paths are validated.
		_, err = pw.Write(ctx, "/policy/../state/x", nil)
		wantErr(t, err, vfs.ErrInvalidPath, "")
	})
	t.Run("write-json-unencodable-is-error", func(t *testing.T) {
		v := newVFS(t)
		if _, err := v.WriteJSON(ctx, "/state/x.json", map[string]any{"f": func() {}}); err == nil {
			t.Fatal("WriteJSON of a func succeeded")
		}
	})
	t.Run("mount-point-not-deletable", func(t *testing.T) {
		v := newVFS(t)
		_, err := v.Delete(ctx, "/state")
		wantErr(t, err, vfs.ErrReadOnly, "Cannot delete mount point: /state")
		_, err = v.Write(ctx, "/state", []byte("x"))
		wantErr(t, err, vfs.ErrIsDir, "")
	})
}

func TestMountUnmount(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	v := newVFS(t)
	other := vfs.NewMemBackend(vfs.MemOptions{})
	if err := v.Mount(ctx, "/mem/working/deep", other, vfs.MountOptions{ReadOnly: true, Description: "d"}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, v.Mount(ctx, "/state", other, vfs.MountOptions{}), vfs.ErrMountExists, "Mount point exists: /state")
	wantErr(t, v.Mount(ctx, "/x/../y", other, vfs.MountOptions{}), vfs.ErrInvalidPath, "")
	if m, _ := v.Resolve("/mem/working/deep/f"); m != "/mem/working/deep" {
		t.Fatalf("deepest mount not chosen: %q", m)
	}
	if m, _ := v.Resolve("/mem/working/deeper"); m != "/mem/working" {
		t.Fatalf("/mem/working/deeper resolved to %q", m)
	}
	_, err := v.WriteString(ctx, "/mem/working/deep/f", "x")
	wantErr(t, err, vfs.ErrReadOnly, "Mount point is read-only: /mem/working/deep")
	if names, _ := v.List(ctx, "/mem/working"); !slices.Equal(names, []string{"deep"}) {
		t.Fatalf("ls shows %v, want the nested mount", names)
	}
	if !v.Unmount("/mem/working/deep") || v.Unmount("/mem/working/deep") {
		t.Fatal("Unmount should succeed once")
	}
	if _, err := v.WriteString(ctx, "/mem/working/deep/f", "x"); err != nil {
		t.Fatalf("after unmount the parent mount serves the path: %v", err)
	}
	if len(v.MountInfo()) != 8 {
		t.Fatalf("MountInfo has %d entries", len(v.MountInfo()))
	}
	// A backend per standard mount.
	ep := vfs.NewMemBackend(vfs.MemOptions{})
	v2, err := vfs.New(ctx, vfs.Options{Backends: map[string]vfs.Backend{"/mem/episodic": ep}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = v2.LogEpisodic(ctx, 1, "e")
	if ok, _ := ep.Exists(ctx, "/mem/episodic/e.json"); !ok {
		t.Fatal("episodic backend override not used")
	}
}

func TestMemBackendLimits(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := vfs.NewMemBackend(vfs.MemOptions{MaxBytes: 10, MaxFiles: 3})
	v, err := vfs.New(ctx, vfs.Options{Backends: map[string]vfs.Backend{"/ipc": b}})
	if err != nil {
		t.Fatal(err)
	}
	// /ipc itself is one entry.
	if _, err := v.WriteString(ctx, "/ipc/a", "12345"); err != nil {
		t.Fatal(err)
	}
	_, err = v.WriteString(ctx, "/ipc/b", "123456")
	wantErr(t, err, vfs.ErrNoSpace, "Storage limit exceeded: more than 10 bytes")
	if _, err := v.WriteString(ctx, "/ipc/a", "1234567890"); err != nil {
		t.Fatalf("replacing within the limit: %v", err)
	}
	_, err = v.Append(ctx, "/ipc/a", []byte("x"))
	wantErr(t, err, vfs.ErrNoSpace, "")
	if _, err := v.WriteString(ctx, "/ipc/b", ""); err != nil {
		t.Fatal(err)
	}
	_, err = v.WriteString(ctx, "/ipc/c", "")
	wantErr(t, err, vfs.ErrNoSpace, "Storage limit exceeded: more than 3 files and directories")
	_, err = v.Mkdir(ctx, "/ipc/d")
	wantErr(t, err, vfs.ErrNoSpace, "")
	if bytes, entries := b.Usage(); bytes != 10 || entries != 3 {
		t.Fatalf("Usage = %d bytes, %d entries", bytes, entries)
	}
	if ok, _ := v.Delete(ctx, "/ipc/a"); !ok {
		t.Fatal("delete failed")
	}
	if bytes, entries := b.Usage(); bytes != 0 || entries != 2 {
		t.Fatalf("Usage after delete = %d bytes, %d entries", bytes, entries)
	}
	// Type conflicts.
	_, _ = v.WriteString(ctx, "/ipc/b", "")
	_, err = v.WriteString(ctx, "/ipc/b/c", "x")
	wantErr(t, err, vfs.ErrNotDir, "")
	_, err = v.List(ctx, "/ipc/b")
	wantErr(t, err, vfs.ErrNotDir, "")
	_, err = v.Read(ctx, "/ipc")
	wantErr(t, err, vfs.ErrIsDir, "")
	// A cancelled context stops I/O.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := v.Read(cctx, "/ipc/b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with cancelled ctx = %v", err)
	}
}

func TestMemBackendDeleteDir(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	v := newVFS(t)
	_, _ = v.WriteString(ctx, "/tools/d/f", "x")
	_, err := v.Delete(ctx, "/tools/d")
	wantErr(t, err, vfs.ErrNotEmpty, "Directory not empty: /tools/d")
	_, _ = v.Delete(ctx, "/tools/d/f")
	if ok, err := v.Delete(ctx, "/tools/d"); !ok || err != nil {
		t.Fatalf("delete empty dir = %v, %v", ok, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	v := newVFS(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			p := "/mem/working/f" + string(rune('a'+g))
			for i := range 50 {
				if _, err := v.Append(ctx, p, []byte{byte(i)}); err != nil {
					t.Error(err)
					return
				}
				_, _ = v.List(ctx, "/mem/working")
				_, _ = v.Stat(ctx, p)
				fd, err := v.Open(ctx, p, vfs.READ)
				if err == nil {
					_, _ = v.FDRead(ctx, fd, 4)
					_ = v.Close(fd)
				}
			}
		})
	}
	wg.Wait()
	names, _ := v.List(ctx, "/mem/working")
	if len(names) != 8 {
		t.Fatalf("%d files, want 8", len(names))
	}
	for _, n := range names {
		if st, _ := v.Stat(ctx, "/mem/working/"+n); st.Size != 50 {
			t.Errorf("%s has %d bytes, want 50", n, st.Size)
		}
	}
}

func TestModeStrings(t *testing.T) {
	t.Parallel()
	tests := map[vfs.FileMode]string{vfs.NONE: "NONE", vfs.READ: "READ", vfs.WRITE: "WRITE", vfs.RW: "RW", vfs.RWX: "RWX",
		vfs.READ | vfs.APPEND: "READ|APPEND", vfs.EXECUTE: "EXECUTE", 0x10: "0x10"}
	for m, want := range tests {
		if m.String() != want {
			t.Errorf("FileMode(%d).String() = %q, want %q", m, m.String(), want)
		}
	}
	for ft, want := range map[vfs.FileType]string{vfs.REGULAR: "REGULAR", vfs.DIRECTORY: "DIRECTORY", vfs.SYMLINK: "SYMLINK",
		vfs.DEVICE: "DEVICE", vfs.SOCKET: "SOCKET", vfs.FIFO: "FIFO", 3: "UNKNOWN"} {
		if ft.String() != want {
			t.Errorf("FileType(%d).String() = %q, want %q", ft, ft.String(), want)
		}
	}
}

func BenchmarkMemReadSmall(b *testing.B) {
	ctx := context.Background()
	v := newVFS(b)
	_, _ = v.WriteString(ctx, "/mem/working/x.txt", "hello world")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Read(ctx, "/mem/working/x.txt"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemWriteSmall(b *testing.B) {
	ctx := context.Background()
	v := newVFS(b)
	data := []byte("hello world")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Write(ctx, "/mem/working/x.txt", data); err != nil {
			b.Fatal(err)
		}
	}
}
