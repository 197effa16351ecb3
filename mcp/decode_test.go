package mcp

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

var decodeSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"msg":"hi"}}}`,
	`{"jsonrpc":"2.0","id":"a-1","method":"tools/list"}`,
	`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`,
	`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"ok"}]}}`,
	`{"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"denied","data":{"stage":"policy"}}}`,
	`{"jsonrpc":"2.0","id":7.5,"method":"x"}`,
	`{"jsonrpc":"2.0","id":null,"method":"x"}`,
	`{"jsonrpc":"2.0","id":true,"method":"x"}`,
	`{"jsonrpc":"2.0","method":""}`,
	`{"jsonrpc":"2.0","Method":"tools/call","id":1}`,
	`{"JSONRPC":"2.0","method":"tools/call","id":1}`,
	`{"jsonrpc":"2.0","method":"a","method":"b","id":1}`,
	`{"jsonrpc":"1.0","method":"x","id":1}`,
	`{"jsonrpc":"2.0","result":{}}`,
	`{"jsonrpc":"2.0","id":1,"method":"x"} `,
	`{"jsonrpc":"2.0","id":1,"method":"x"}{"jsonrpc":"2.0","id":2,"method":"y"}`,
	`{"jsonrpc":"2.0","id":1,"method":"\u0074ools/call"}`,
	`[{"jsonrpc":"2.0","id":1,"method":"x"}]`,
	`{"jsonrpc":"2.0","id":1,"method":"x","params":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `}`,
	`not json`, ``, `{}`,
}

// sameMessage reports whether two decoded messages are equal.
func sameMessage(a, b jsonrpc.Message) bool {
	switch x := a.(type) {
	case *jsonrpc.Request:
		y, ok := b.(*jsonrpc.Request)
		return ok && x.Method == y.Method && reflect.DeepEqual(x.ID, y.ID) && bytes.Equal(x.Params, y.Params)
	case *jsonrpc.Response:
		y, ok := b.(*jsonrpc.Response)
		return ok && reflect.DeepEqual(x.ID, y.ID) && bytes.Equal(x.Result, y.Result) && reflect.DeepEqual(x.Error, y.Error)
	}
	return false
}

// checkDecodeLikeSDK compares decodeMessage with the SDK's decoder: the
// same message or both an error — except that bytes after the value are
// refused here and ignored there.
func checkDecodeLikeSDK(t *testing.T, in string) {
	t.Helper()
	got, err := decodeMessage([]byte(in))
	want, wantErr := jsonrpc.DecodeMessage([]byte(in))
	switch {
	case errors.Is(err, errTrailingData):
		// Stricter than the SDK on purpose.
	case (err != nil) != (wantErr != nil):
		t.Fatalf("decodeMessage(%q) error %v, SDK error %v", in, err, wantErr)
	case err == nil && !sameMessage(got, want):
		t.Fatalf("decodeMessage(%q) = %#v, SDK %#v", in, got, want)
	}
	// The in-place variant decodes the same message, and an append to its
	// members leaves the bytes alone.
	data := []byte(in)
	owned, oerr := decodeOwnedMessage(data)
	switch {
	case (oerr != nil) != (err != nil):
		t.Fatalf("decodeOwnedMessage(%q) error %v, decodeMessage error %v", in, oerr, err)
	case err == nil && !sameMessage(owned, got):
		t.Fatalf("decodeOwnedMessage(%q) = %#v, decodeMessage %#v", in, owned, got)
	case err == nil:
		switch m := owned.(type) {
		case *jsonrpc.Request:
			_ = append(m.Params, 'X')
		case *jsonrpc.Response:
			_ = append(m.Result, 'X')
		}
		if string(data) != in {
			t.Fatalf("decodeOwnedMessage(%q): an append changed the bytes to %q", in, data)
		}
	}
}

func TestDecodeMessageLikeSDK(t *testing.T) {
	for _, in := range decodeSeeds {
		checkDecodeLikeSDK(t, in)
	}
	trailing := `{"jsonrpc":"2.0","id":1,"method":"x"}{"jsonrpc":"2.0","id":2,"method":"y"}`
	if _, err := decodeMessage([]byte(trailing)); !errors.Is(err, errTrailingData) {
		t.Errorf("two values in one message: %v, want errTrailingData", err)
	}
	if m, err := decodeMessage([]byte(`{"jsonrpc":"2.0","Method":"tools/call","id":1}`)); err == nil {
		if r, ok := m.(*jsonrpc.Request); ok {
			t.Errorf(`"Method" read as "method" (%q): names must match exactly`, r.Method)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkDecodeLikeSDK(t, in)
	})
}

func BenchmarkDecodeMessage(b *testing.B) {
	msg := []byte(`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo","arguments":{"msg":"hello"}}}`)
	b.Run("gateway", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeMessage(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonrpc.DecodeMessage(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
