package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// maxPooledBuffer is the largest buffer returned to a pool: a rare large
// body or response does not stay in memory for later requests.
const maxPooledBuffer = 64 << 10

// buffers are reusable buffers for request bodies and responses, bounded
// by maxPooledBuffer.
type buffers struct{ p sync.Pool }

// get returns an empty buffer.
func (b *buffers) get() *bytes.Buffer {
	if buf, ok := b.p.Get().(*bytes.Buffer); ok {
		return buf
	}
	return new(bytes.Buffer)
}

// put returns buf to the pool unless it grew beyond maxPooledBuffer.
func (b *buffers) put(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledBuffer {
		return
	}
	buf.Reset()
	b.p.Put(buf)
}

// decodeJSON reads the request body into v: one JSON value, unknown
// fields rejected, numbers kept as json.Number. Errors name the field.
// An empty body is an error unless allowEmpty. v keeps nothing of the
// body's bytes (the decoder copies strings), so the buffer is reused.
func (s *Server) decodeJSON(r *http.Request, v any, allowEmpty bool) error {
	buf := s.bufs.get()
	defer s.bufs.put(buf)
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return ErrTooLarge
		}
		return fieldErr("", "reading the body: "+err.Error())
	}
	return decodeBytes(buf.Bytes(), v, allowEmpty)
}

// decodeBytes is decodeJSON on a buffer.
func decodeBytes(body []byte, v any, allowEmpty bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return fieldErr("", "request body is empty; want a JSON object")
	}
	if fd, ok := v.(fastDecoder); ok && fd.decodeFast(body) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonFieldError(err)
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) != 0 {
		return fieldErr("", "trailing data after the JSON value")
	}
	return nil
}

// jsonFieldError turns a decoding error into a *FieldError naming the
// field.
func jsonFieldError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fieldErr("", "invalid JSON at byte "+itoa(se.Offset)+": "+se.Error())
	case errors.As(err, &te):
		f := te.Field
		if f == "" {
			f = "(body)"
		}
		return fieldErr(f, "want "+te.Type.String()+", got JSON "+te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fieldErr("", "truncated JSON")
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fieldErr(strings.Trim(rest, `"`), "unknown field")
	}
	return fieldErr("", strings.TrimPrefix(msg, "json: "))
}

// itoa formats an int64.
func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
