package mcp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	id, event string
	data      []byte
}

// SSEReader reads server-sent events (the text/event-stream format) from
// a stream, one event at a time, with a bound on the size of one event.
type SSEReader struct {
	r      *bufio.Reader
	max    int
	lastID string
}

// LastID returns the last event ID the stream set (the id field of the
// latest event that had one, with or without data), as an EventSource
// keeps it for reconnecting.
func (s *SSEReader) LastID() string { return s.lastID }

// NewSSEReader returns a reader of events of at most max bytes of data
// (max <= 0: DefaultMaxMessageBytes).
func NewSSEReader(r io.Reader, max int) *SSEReader {
	if max <= 0 {
		max = DefaultMaxMessageBytes
	}
	return &SSEReader{r: bufio.NewReaderSize(r, 32<<10), max: max}
}

// Next returns the data, type and ID of the next event that carries data;
// events without data (keep-alives, bare IDs) are skipped. At the end of
// the stream it returns io.EOF; an event cut off by the end is dropped. An
// event larger than the bound is an error wrapping ErrMessageTooLarge.
func (s *SSEReader) Next() (data []byte, event, id string, err error) {
	var ev sseEvent
	var has bool
	for {
		line, err := s.line()
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) == 0 {
				return nil, "", "", io.EOF
			}
			if !errors.Is(err, io.EOF) {
				return nil, "", "", err
			}
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if err != nil {
				return nil, "", "", io.EOF
			}
			if has {
				return ev.data, ev.event, ev.id, nil
			}
			ev = sseEvent{}
			continue
		}
		if line[0] == ':' {
			continue // a comment
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if has {
				ev.data = append(ev.data, '\n')
			}
			ev.data = append(ev.data, value...)
			has = true
			if len(ev.data) > s.max {
				return nil, "", "", fmt.Errorf("%w: event of more than %d bytes", ErrMessageTooLarge, s.max)
			}
		case "event":
			ev.event = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				ev.id = string(value)
				s.lastID = ev.id
			}
		}
		if err != nil {
			return nil, "", "", io.EOF // the stream ended inside an event
		}
	}
}

// line reads one line, bounded.
func (s *SSEReader) line() ([]byte, error) {
	var acc []byte
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(acc)+len(frag) > s.max+64 {
			return nil, fmt.Errorf("%w: line of more than %d bytes", ErrMessageTooLarge, s.max)
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

// writeSSE writes one message event: each line of data (ended by CR LF,
// LF or CR, the line ends of the event-stream format) becomes a data
// field, so that a message holding line breaks survives, and a peer can
// never read a line break in data as the start of another field. An id
// holding a line break or NUL is refused.
func writeSSE(w io.Writer, id string, data []byte) error {
	if strings.ContainsAny(id, "\r\n\x00") {
		return errors.New("sse: event id holds a line break or NUL")
	}
	var b bytes.Buffer
	b.Grow(len(data) + 32)
	b.WriteString("event: message\n")
	if id != "" {
		b.WriteString("id: ")
		b.WriteString(id)
		b.WriteByte('\n')
	}
	for len(data) > 0 {
		i := bytes.IndexAny(data, "\r\n")
		line, rest := data, []byte(nil)
		if i >= 0 {
			line, rest = data[:i], data[i+1:]
			if data[i] == '\r' && len(rest) > 0 && rest[0] == '\n' {
				rest = rest[1:]
			}
		}
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
		data = rest
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
