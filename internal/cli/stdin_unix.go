//go:build unix

package cli

import (
	"io"
	"io/fs"
	"os"
	"syscall"
)

// pollableInput returns r read through the runtime's network poller when
// r is a pipe or a socket, as a process's standard input is under an MCP
// client, with a function that undoes it. A read then parks its goroutine
// until input arrives, instead of holding a thread in a blocking read(2)
// that the scheduler takes the processor from and hands to another thread
// while it waits: on a small virtual machine that churn of threads costs a
// relayed call more than the gateway's own work. Close of the result also
// ends a pending read. The input's open file is shared with the original
// descriptor, so undo restores its blocking mode for whoever reads it
// after this process. Anything else, or any error, leaves r as it is.
func pollableInput(r io.Reader) (io.Reader, func()) {
	f, ok := r.(*os.File)
	if !ok {
		return r, func() {}
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&(fs.ModeNamedPipe|fs.ModeSocket) == 0 {
		return r, func() {}
	}
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return r, func() {}
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return r, func() {}
	}
	pf := os.NewFile(uintptr(fd), f.Name())
	return pf, func() {
		pf.Close()
		syscall.SetNonblock(int(f.Fd()), false) //nolint:errcheck // best effort: the original is left as found
	}
}
