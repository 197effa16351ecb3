package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Conn carries framed JSON-RPC messages to and from one peer. The core of
// the gateway sees only Conns, so any transport that can frame messages
// fits.
type Conn interface {
	// Read returns the next message. The caller owns the returned bytes.
	// It returns io.EOF when the peer closed the connection, and ctx's
	// error when ctx ends first.
	Read(ctx context.Context) ([]byte, error)
	// Write sends one message. It is safe for concurrent use; messages are
	// never interleaved.
	Write(ctx context.Context, msg []byte) error
	// Close releases the connection and unblocks Read. It is idempotent.
	Close() error
}

// DefaultMaxMessageBytes bounds one message of a StreamConn when
// StreamOptions.MaxMessageBytes is 0.
const DefaultMaxMessageBytes = 16 << 20

// StreamOptions configure a StreamConn.
type StreamOptions struct {
	// MaxMessageBytes bounds one message. A longer line is an error
	// wrapping ErrMessageTooLarge, after which the connection is unusable.
	// 0: DefaultMaxMessageBytes.
	MaxMessageBytes int
}

// StreamConn is a Conn speaking newline-delimited JSON-RPC (MCP's stdio
// framing) over a reader and a writer. A reader goroutine, owned by the
// StreamConn and started by the first Read or Receive, reads one message at
// a time so that Read and Receive can honour their context; it ends at EOF,
// on an error, or after Close when its pending read returns (Close closes
// the reader, which unblocks pipes and sockets; a read from a terminal or a
// blocking descriptor such as a process's standard input ends only when
// input arrives or ends).
type StreamConn struct {
	r   io.Reader
	w   io.Writer
	max int

	start sync.Once
	msgs  chan readResult // Read's mode: the reader goroutine's messages
	done  chan struct{}

	// Receive's mode: the reader goroutine calls the function itself,
	// holding pmu; stopped tells it that Receive has returned.
	pmu     sync.Mutex
	stopped bool // guarded by pmu

	wmu  sync.Mutex
	wbuf []byte // guarded by wmu

	closeOnce sync.Once
}

type readResult struct {
	msg []byte
	err error
}

// NewStreamConn returns a StreamConn reading messages from r and writing
// them to w. Close closes r and w when they implement io.Closer.
func NewStreamConn(r io.Reader, w io.Writer, opts StreamOptions) *StreamConn {
	c := &StreamConn{r: r, w: w, max: opts.MaxMessageBytes,
		msgs: make(chan readResult), done: make(chan struct{})}
	if c.max <= 0 {
		c.max = DefaultMaxMessageBytes
	}
	return c
}

func (c *StreamConn) readLoop() {
	defer close(c.msgs)
	fr := NewFramer(c.r, c.max)
	for {
		msg, err := fr.Next()
		select {
		case c.msgs <- readResult{msg, err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read implements Conn. It must not be used together with Receive.
func (c *StreamConn) Read(ctx context.Context) ([]byte, error) {
	c.start.Do(func() { go c.readLoop() })
	select {
	case r, ok := <-c.msgs:
		if !ok {
			return nil, io.EOF
		}
		return r.msg, r.err
	case <-c.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Receive calls fn with each message, in order, on the goroutine that read
// it, until the connection ends: it saves the hand-off from the reader
// goroutine to the caller's that Read costs, one per message. It returns
// io.EOF when the peer closed the connection, the read error, ErrClosed
// after Close, or ctx's error when ctx ends first. When Receive returns, fn
// is not running and will not be called again. Receive is called at most
// once, and fn must not call Receive or Read; a StreamConn already read
// with Read delivers through Read.
func (c *StreamConn) Receive(ctx context.Context, fn func(msg []byte)) error {
	first := false
	c.start.Do(func() { first = true })
	if !first {
		for {
			msg, err := c.Read(ctx)
			if err != nil {
				return err
			}
			fn(msg)
		}
	}
	errc := make(chan error, 1)
	go c.pushLoop(fn, errc)
	var err error
	select {
	case err = <-errc:
	case <-c.done:
		err = ErrClosed
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.pmu.Lock()
	c.stopped = true
	c.pmu.Unlock()
	return err
}

// pushLoop is Receive's reader goroutine.
func (c *StreamConn) pushLoop(fn func([]byte), errc chan<- error) {
	fr := NewFramer(c.r, c.max)
	for {
		msg, err := fr.Next()
		if err != nil {
			errc <- err
			return
		}
		c.pmu.Lock()
		if c.stopped {
			c.pmu.Unlock()
			return
		}
		fn(msg)
		c.pmu.Unlock()
	}
}

// Write implements Conn. A message holding a newline (pretty-printed JSON)
// is compacted first, as the framing requires.
func (c *StreamConn) Write(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	buf := c.wbuf[:0]
	if bytes.IndexByte(msg, '\n') >= 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, msg); err != nil {
			return fmt.Errorf("write message: %w", err)
		}
		buf = append(buf, b.Bytes()...)
	} else {
		buf = append(buf, msg...)
	}
	buf = append(buf, '\n')
	_, err := c.w.Write(buf)
	if cap(buf) <= 64<<10 {
		c.wbuf = buf
	}
	if err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}

// Close implements Conn.
func (c *StreamConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.done)
		if rc, ok := c.r.(io.Closer); ok {
			err = rc.Close()
		}
		if wc, ok := c.w.(io.Closer); ok {
			if werr := wc.Close(); err == nil {
				err = werr
			}
		}
	})
	return err
}

// Framer splits newline-delimited JSON-RPC into messages: each line is one
// message, a trailing carriage return is dropped and blank lines are
// skipped.
type Framer struct {
	r   *bufio.Reader
	max int
	err error
}

// NewFramer returns a Framer reading from r with messages of at most max
// bytes (max <= 0: DefaultMaxMessageBytes).
func NewFramer(r io.Reader, max int) *Framer {
	if max <= 0 {
		max = DefaultMaxMessageBytes
	}
	return &Framer{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next message, a fresh slice the caller owns. At the end
// of the input it returns io.EOF; a final line without a newline is still a
// message. After an error every later call returns the same error.
func (f *Framer) Next() ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	for {
		line, err := f.line()
		if err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)) {
			f.err = err
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				f.err = err
				return nil, err
			}
			continue
		}
		if len(line) > f.max {
			f.err = fmt.Errorf("%w: more than %d bytes", ErrMessageTooLarge, f.max)
			return nil, f.err
		}
		if err != nil {
			f.err = err // io.EOF after this last message
		}
		return bytes.Clone(line), nil
	}
}

// line reads one line including its newline, enforcing the size bound.
func (f *Framer) line() ([]byte, error) {
	var acc []byte
	for {
		frag, err := f.r.ReadSlice('\n')
		if len(acc)+len(frag) > f.max+2 { // +2: the line ending
			return nil, fmt.Errorf("%w: more than %d bytes", ErrMessageTooLarge, f.max)
		}
		if err == nil {
			if acc == nil {
				return frag, nil
			}
			return append(acc, frag...), nil
		}
		acc = append(acc, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return acc, err
		}
	}
}
