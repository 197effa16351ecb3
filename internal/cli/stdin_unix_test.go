//go:build unix

package cli

import (
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nonblocking reports whether f's open file is in non-blocking mode.
func nonblocking(t *testing.T, f *os.File) bool {
	t.Helper()
	raw, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	if err := raw.Control(func(fd uintptr) {
		flags, ferr = fcntlGetFlags(int(fd))
	}); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
	return flags&syscall.O_NONBLOCK != 0
}

func fcntlGetFlags(fd int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(syscall.F_GETFL), 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

func TestPollableInput(t *testing.T) {
	t.Parallel()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	// A blocking pipe, as a process's standard input is.
	if err := syscall.SetNonblock(int(pr.Fd()), false); err != nil {
		t.Fatal(err)
	}
	in, restore := pollableInput(pr)
	if in == io.Reader(pr) {
		t.Fatal("a pipe was left as it was")
	}
	if _, err := pw.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := in.Read(buf)
	if err != nil || string(buf[:n]) != "hello\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	// Close ends a read that waits for input.
	done := make(chan error, 1)
	go func() {
		_, err := in.Read(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	in.(io.Closer).Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("pending Read after Close = %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the pending read")
	}
	restore()
	if nonblocking(t, pr) {
		t.Error("the original input was left non-blocking")
	}
}

func TestPollableInputLeavesOthers(t *testing.T) {
	t.Parallel()
	r := strings.NewReader("x")
	if in, restore := pollableInput(r); in != io.Reader(r) {
		t.Error("a strings.Reader was replaced")
	} else {
		restore()
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if in, restore := pollableInput(f); in != io.Reader(f) {
		t.Error("a character device was replaced")
	} else {
		restore()
	}
}
