package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// exchange writes each message and reads one response for each.
func exchange(t *testing.T, c Conn, msgs ...string) []map[string]any {
	t.Helper()
	ctx := t.Context()
	var out []map[string]any
	for _, m := range msgs {
		if err := c.Write(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
		b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("response %s: %v", b, err)
		}
		out = append(out, v)
	}
	return out
}

const initMsg = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

func TestProtocolViolations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{skipClient: true})
	res := exchange(t, e.raw, initMsg)
	if res[0]["result"] == nil {
		t.Fatalf("initialize = %v", res[0])
	}
	if err := e.raw.Write(t.Context(), []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		msg  string
		code float64
	}{
		{"not json", `{"jsonrpc":`, -32700},
		{"batch", `[{"jsonrpc":"2.0","id":5,"method":"ping"}]`, -32700},
		{"reserved id", `{"jsonrpc":"2.0","id":"agentos-gw-1","method":"ping"}`, CodeDenied},
		{"call without name", `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{}}`, -32602},
		{"unlisted tool", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add_numbers"}}`, CodeDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, e.raw, tt.msg)[0]
			errObj, _ := r["error"].(map[string]any)
			if errObj == nil || errObj["code"] != tt.code {
				t.Errorf("response to %s = %v, want error code %v", tt.msg, r, tt.code)
			}
		})
	}
	// A ping passes through and keeps its ID, byte for byte.
	r := exchange(t, e.raw, `{"jsonrpc":"2.0","id":"p-1","method":"ping"}`)[0]
	if r["id"] != "p-1" || r["result"] == nil {
		t.Errorf("ping = %v", r)
	}
}

func TestServerCloseFailsPending(t *testing.T) {
	t.Parallel()
	// A server that answers nothing and then hangs up.
	sR, sW, gR, gW := pipePair()
	cR, cW, hR, hW := pipePair()
	e := newEnv(t, envConfig{skipClient: true})
	s, err := e.g.NewSession(SessionOptions{Server: "mute"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.Run(t.Context(), NewStreamConn(hR, hW, StreamOptions{}), NewStreamConn(gR, gW, StreamOptions{}))
	}()
	client := NewStreamConn(cR, cW, StreamOptions{})
	defer client.Close()
	if err := client.Write(t.Context(), []byte(`{"jsonrpc":"2.0","id":9,"method":"resources/list"}`)); err != nil {
		t.Fatal(err)
	}
	fr := NewFramer(sR, 0)
	if _, err := fr.Next(); err != nil { // the server saw the request
		t.Fatal(err)
	}
	sW.Close()
	sR.Close()
	b, err := client.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"id":9`)) || !bytes.Contains(b, []byte(`"stage":"upstream"`)) {
		t.Errorf("pending request answer = %s, want an upstream denial for id 9", b)
	}
	var end *EndError
	if err := <-done; !errors.As(err, &end) || end.Side != SideServer {
		t.Errorf("Run = %v, want the server side to have ended it", err)
	}
}

func TestFramer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		want []string
		err  error
	}{
		{"lines", "a\nb\n", 0, []string{"a", "b"}, io.EOF},
		{"crlf and blanks", "a\r\n\n  \r\nb", 0, []string{"a", "b"}, io.EOF},
		{"too large", "abcdef\n", 3, nil, ErrMessageTooLarge},
		{"exact limit", "abc\n", 3, []string{"abc"}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fr := NewFramer(strings.NewReader(tt.in), tt.max)
			var got []string
			var err error
			for {
				var b []byte
				if b, err = fr.Next(); err != nil {
					break
				}
				got = append(got, string(b))
			}
			if !errors.Is(err, tt.err) || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("frames = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestStreamConnCompactsNewlines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	c := NewStreamConn(strings.NewReader(""), &buf, StreamOptions{})
	defer c.Close()
	if err := c.Write(context.Background(), []byte("{\n \"a\": 1\n}")); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "{\"a\":1}\n" {
		t.Errorf("wrote %q", buf.String())
	}
}
