package vfs

import (
	"context"
	"strconv"
	"sync"
)

// fileDesc is an open file: a path, the mode it was opened with and a
// position.
type fileDesc struct {
	path string
	mode FileMode
	mu   sync.Mutex
	pos  int64 // guarded by mu
}

// Open returns a new descriptor for p. Descriptors count up from 1 per VFS
// and are never reused. As in the reference the file need not exist yet;
// opening with WRITE or APPEND on a read-only mount fails with "Cannot open
// for writing: <p>". Unlike the reference, the number of open descriptors is
// bounded (ErrTooManyFDs).
func (v *VFS) Open(ctx context.Context, p string, mode FileMode) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m, err := v.resolve("open", p)
	if err != nil {
		return 0, err
	}
	if mode.writes() && m.readOnly {
		return 0, newError("open", p, ErrReadOnly, "Cannot open for writing: "+p)
	}
	v.fdMu.Lock()
	defer v.fdMu.Unlock()
	if len(v.fds) >= v.maxFDs {
		return 0, newError("open", p, ErrTooManyFDs, "Too many open files: limit "+strconv.Itoa(v.maxFDs))
	}
	fd := v.nextFD
	v.nextFD++
	v.fds[fd] = &fileDesc{path: p, mode: mode}
	return fd, nil
}

// Close releases fd. Unlike the reference, which ignored unknown
// descriptors, closing one that is not open fails with ErrBadFD, so a
// double close is visible.
func (v *VFS) Close(fd int) error {
	v.fdMu.Lock()
	defer v.fdMu.Unlock()
	if _, ok := v.fds[fd]; !ok {
		return errBadFD("close", fd)
	}
	delete(v.fds, fd)
	return nil
}

func (v *VFS) lookupFD(op string, fd int) (*fileDesc, error) {
	v.fdMu.Lock()
	defer v.fdMu.Unlock()
	d := v.fds[fd]
	if d == nil {
		return nil, errBadFD(op, fd)
	}
	return d, nil
}

// FDRead reads up to size bytes from fd's position and advances it. A
// negative size reads the rest of the file and, unlike the reference (which
// left the position alone), also advances to the end, so a second read
// returns nothing, as a POSIX read would. The descriptor must have been
// opened with READ (the reference did not check).
func (v *VFS) FDRead(ctx context.Context, fd int, size int) ([]byte, error) {
	d, err := v.lookupFD("read", fd)
	if err != nil {
		return nil, err
	}
	if d.mode&READ == 0 {
		return nil, newError("read", d.path, ErrNotReadable, "File not opened for reading")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	data, err := v.Read(ctx, d.path)
	if err != nil {
		return nil, err
	}
	start := min(d.pos, int64(len(data)))
	end := int64(len(data))
	if size >= 0 && start+int64(size) < end {
		end = start + int64(size)
	}
	d.pos = end
	return data[start:end:end], nil
}

// FDWrite writes data to fd and returns len(data). With APPEND it adds to
// the end; with WRITE it writes at the descriptor's position (overwriting
// what is there and extending the file, zero-filling any gap) and advances
// it. The reference ignored the position and replaced the whole file.
// The write is a read-modify-write of the file; concurrent writers to the
// same path through other descriptors may interleave whole writes.
func (v *VFS) FDWrite(ctx context.Context, fd int, data []byte) (int, error) {
	d, err := v.lookupFD("write", fd)
	if err != nil {
		return 0, err
	}
	if !d.mode.writes() {
		return 0, newError("write", d.path, ErrNotWritable, "File not opened for writing")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m, err := v.writable("write", d.path, false)
	if err != nil {
		return 0, err
	}
	if d.mode&APPEND != 0 {
		n, err := v.write(ctx, "write", d.path, data, APPEND, false)
		if err == nil {
			if st, serr := m.backend.Stat(ctx, d.path); serr == nil {
				d.pos = st.Size
			}
		}
		return n, err
	}
	old, err := m.backend.Read(ctx, d.path)
	if err != nil && !isNotFound(err) {
		return 0, err
	}
	end := d.pos + int64(len(data))
	buf := make([]byte, max(int64(len(old)), end))
	copy(buf, old)
	copy(buf[d.pos:], data)
	if _, err := v.write(ctx, "write", d.path, buf, WRITE, false); err != nil {
		return 0, err
	}
	d.pos = end
	return len(data), nil
}

// Seek sets fd's position to offset bytes from the start of the file.
func (v *VFS) Seek(fd int, offset int64) error {
	d, err := v.lookupFD("seek", fd)
	if err != nil {
		return err
	}
	if offset < 0 || offset > DefaultMaxBytes {
		return newError("seek", d.path, ErrInvalidPath, "Invalid offset: "+strconv.FormatInt(offset, 10))
	}
	d.mu.Lock()
	d.pos = offset
	d.mu.Unlock()
	return nil
}

// OpenFDs returns how many descriptors are open.
func (v *VFS) OpenFDs() int {
	v.fdMu.Lock()
	defer v.fdMu.Unlock()
	return len(v.fds)
}

func isNotFound(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Err == ErrNotFound
}
