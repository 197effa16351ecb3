package kernel

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeArgs(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001)
	tests := []struct {
		name, in string
		want     map[string]any
		errText  string // "": no error
	}{
		{"object", `{"q":"a","n":12345678901234567890,"f":-1.5e-3,"l":[true,null,{"x":"y"}]}`,
			map[string]any{"q": "a", "n": json.Number("12345678901234567890"), "f": json.Number("-1.5e-3"),
				"l": []any{true, nil, map[string]any{"x": "y"}}}, ""},
		{"spaces", " \n{ } \t", map[string]any{}, ""},
		{"duplicate keeps last", `{"a":1,"a":2}`, map[string]any{"a": json.Number("2")}, ""},
		{"escapes", `{"s":"\u00e9\ud83d\ude00\ud800\n"}`, map[string]any{"s": "é😀\ufffd\n"}, ""},
		{"bad utf8", "{\"s\":\"a\xffb\"}", map[string]any{"s": "a\ufffdb"}, ""},
		{"not an object", `[1]`, nil, "want a JSON object, got a list"},
		{"null", `null`, nil, "want a JSON object, got null"},
		{"bad json", `{"q":`, nil, "args: not valid JSON"},
		{"trailing", `{"q":"a"} x`, nil, "trailing data"},
		{"second value", `{} {}`, nil, "trailing data"},
		{"too deep", deep, nil, "args: not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeArgs(json.RawMessage(tt.in))
			if tt.errText != "" {
				if err == nil || !errors.Is(err, ErrBadArgs) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("error %v, want ErrBadArgs with %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// FuzzDecodeArgs checks decodeArgs against encoding/json's stream decoder
// alone: the same values, and an error exactly when it errs, with the
// same text.
func FuzzDecodeArgs(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2.5e10,"x",null,true,{"b":{}}]}`, `{"a":1,"a":"2"}`,
		`{"s":"\ud800\u00e9\\"}`, "{\"s\":\"\xff\"}", `[]`, `1`, `{"a":1} 2`, `{"a":-0.0E+1}`, ` {"a" : 1 } `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := decodeArgs(in)
		want, werr := decodeArgsStream(in)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, decoder %v", in, err, werr)
		}
		if err != nil {
			if err.Error() != werr.Error() {
				t.Fatalf("%q: error %q, decoder %q", in, err, werr)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, decoder %#v", in, got, want)
		}
	})
}

// BenchmarkDecodeArgs measures decoding a tool call's arguments, and the
// stream decoder it replaced for well-formed arguments.
func BenchmarkDecodeArgs(b *testing.B) {
	raw := json.RawMessage(`{"msg":"hello","n":3,"tags":["a","b"]}`)
	for _, bc := range []struct {
		name   string
		decode func(json.RawMessage) (map[string]any, error)
	}{{"one-pass", decodeArgs}, {"stream", decodeArgsStream}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
