package mcp

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestStreamConnReceive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  []string
		err   error
	}{
		{"messages then EOF", "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}", []string{`{"a":1}`, `{"b":2}`, `{"c":3}`}, io.EOF},
		{"empty", "", nil, io.EOF},
		{"too large", "{\"a\":1}\n" + strings.Repeat("x", 100) + "\n", []string{`{"a":1}`}, ErrMessageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewStreamConn(strings.NewReader(tt.input), io.Discard, StreamOptions{MaxMessageBytes: 50})
			defer c.Close()
			var got []string
			err := c.Receive(t.Context(), func(msg []byte) { got = append(got, string(msg)) })
			if !errors.Is(err, tt.err) {
				t.Errorf("Receive = %v, want %v", err, tt.err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("messages %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStreamConnReceiveStops checks that once Receive returns, on the
// context's end or on Close, fn is not running and is never called again,
// although the reader goroutine is still blocked in a read.
func TestStreamConnReceiveStops(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"context", "close"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			pr, pw := io.Pipe()
			c := NewStreamConn(pr, io.Discard, StreamOptions{})
			defer c.Close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var calls, after atomic.Int32
			var returned atomic.Bool
			first := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- c.Receive(ctx, func([]byte) {
					if returned.Load() {
						after.Add(1)
					}
					if calls.Add(1) == 1 {
						close(first)
						time.Sleep(20 * time.Millisecond) // still running when Receive is told to stop
					}
				})
			}()
			if _, err := pw.Write([]byte("{\"a\":1}\n")); err != nil {
				t.Fatal(err)
			}
			<-first
			want := context.Canceled
			if how == "context" {
				cancel()
			} else {
				want = ErrClosed
				go c.Close()
			}
			err := <-done
			returned.Store(true)
			if !errors.Is(err, want) {
				t.Errorf("Receive = %v, want %v", err, want)
			}
			if calls.Load() != 1 {
				t.Errorf("fn ran %d times before Receive returned, want 1", calls.Load())
			}
			// A message that arrives now is read but not delivered.
			go pw.Write([]byte("{\"b\":2}\n"))
			time.Sleep(20 * time.Millisecond)
			if n := after.Load(); n != 0 {
				t.Errorf("fn called %d times after Receive returned", n)
			}
			pw.Close()
		})
	}
}

// TestStreamConnReceiveAfterRead checks that a StreamConn already read
// with Read delivers through Read, so no message is lost or reordered.
func TestStreamConnReceiveAfterRead(t *testing.T) {
	t.Parallel()
	c := NewStreamConn(strings.NewReader("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"), io.Discard, StreamOptions{})
	defer c.Close()
	first, err := c.Read(t.Context())
	if err != nil || string(first) != `{"a":1}` {
		t.Fatalf("Read = %s, %v", first, err)
	}
	var got []string
	err = c.Receive(t.Context(), func(msg []byte) { got = append(got, string(msg)) })
	if !errors.Is(err, io.EOF) || strings.Join(got, "|") != `{"b":2}|{"c":3}` {
		t.Errorf("Receive = %v, messages %q", err, got)
	}
}

func TestWorkersReuse(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := newWorkers()
	for range 10 {
		done := make(chan struct{})
		w.run(ctx, func() { close(done) })
		<-done
		time.Sleep(10 * time.Millisecond) // the worker parks, idle
	}
	if n := w.started.Load(); n > 3 {
		t.Errorf("10 jobs one after another started %d workers, want them reused", n)
	}
	// Jobs that overlap each get a worker.
	release := make(chan struct{})
	var started atomic.Int32
	for range 3 {
		w.run(ctx, func() { started.Add(1); <-release })
	}
	deadline := time.Now().Add(10 * time.Second)
	for started.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if started.Load() != 3 {
		t.Errorf("%d of 3 overlapping jobs started", started.Load())
	}
	close(release)
}
