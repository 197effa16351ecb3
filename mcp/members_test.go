package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
)

// strictMembersDecoder is the former strictMembers, through encoding/json's
// stream decoder: the reference the one-pass version is checked against.
func strictMembersDecoder(raw json.RawMessage, governed ...string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	m := make(map[string]json.RawMessage, 4)
	seen := make(map[string]bool, len(governed))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		for _, g := range governed {
			if strings.EqualFold(key, g) {
				if seen[g] {
					return nil, errAmbiguousMember
				}
				seen[g] = true
			}
		}
		m[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	for _, g := range governed {
		if seen[g] && m[g] == nil {
			return nil, errAmbiguousMember
		}
	}
	return m, nil
}

func TestStrictMembers(t *testing.T) {
	gov := []string{"name", "arguments"}
	tests := []struct {
		name, in string
		want     map[string]string
		err      error // nil: no error; errAny: some error
	}{
		{"empty", `{}`, map[string]string{}, nil},
		{"spaced", " \t\n{ \"name\" : \"a\" ,\r\n \"arguments\":{\"x\":[1,{\"y\":\"}\"}]} } ", map[string]string{"name": `"a"`, "arguments": `{"x":[1,{"y":"}"}]}`}, nil},
		{"scalars", `{"a":1.5e3,"b":true,"c":null,"d":-0,"e":"q\"}"}`, map[string]string{"a": "1.5e3", "b": "true", "c": "null", "d": "-0", "e": `"q\"}"`}, nil},
		{"escaped name", `{"n\u0061me":"x"}`, map[string]string{"name": `"x"`}, nil},
		{"duplicate", `{"name":"a","name":"b"}`, nil, errAmbiguousMember},
		{"other case", `{"Name":"a","name":"b"}`, nil, errAmbiguousMember},
		{"only other case", `{"NAME":"a"}`, nil, errAmbiguousMember},
		{"kelvin fold", "{\"\u212aey\":1,\"arguments\":{},\"ARGUMENTS\":{}}", nil, errAmbiguousMember},
		{"ungoverned duplicate", `{"x":1,"x":2}`, map[string]string{"x": "2"}, nil},
		{"array", `[1]`, nil, errNotObject},
		{"empty input", ``, nil, errNotObject},
		{"unclosed", `{"name":"a"`, nil, errMalformedObject},
		{"missing colon", `{"name" "a"}`, nil, errMalformedObject},
		{"trailing comma", `{"name":"a",}`, nil, errMalformedObject},
		{"trailing data", `{"name":"a"} x`, nil, errMalformedObject},
		{"bad utf8 name", "{\"n\xffme\":1}", map[string]string{"n\ufffdme": "1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := strictMembers(json.RawMessage(tt.in), gov...)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			want := make(map[string]json.RawMessage, len(tt.want))
			for k, v := range tt.want {
				want[k] = json.RawMessage(v)
			}
			if !maps.EqualFunc(got, want, rawEqual) {
				t.Fatalf("members %q, want %q", got, want)
			}
		})
	}
}

// TestStrictMembersCapped checks that a member's value, a sub-slice of the
// params, cannot be appended into them.
func TestStrictMembersCapped(t *testing.T) {
	raw := json.RawMessage(`{"name":"a","arguments":{}}`)
	m, err := strictMembers(raw, "name")
	if err != nil {
		t.Fatal(err)
	}
	_ = append(m["name"], 'X')
	if string(raw) != `{"name":"a","arguments":{}}` {
		t.Fatalf("params changed to %s", raw)
	}
}

// FuzzStrictMembers checks the one-pass strictMembers against the stream
// decoder it replaced: on well-formed input both agree on the members and
// on refusals; on any input, what the one-pass version accepts the decoder
// accepts with the same members.
func FuzzStrictMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"name":"a","arguments":{"x":1}}`, `{"Name":"a","name":"b"}`,
		`{"n\u0061me":"a","x":[1,"]"]}`, `{"a":{"b":{"c":[]}}} `, `[]`, `{"a":1}x`, "{\"\u212a\":1}",
		`{"inputResponses":{},"requestState":"s","_meta":{}}`} {
		f.Add([]byte(s))
	}
	gov := []string{"name", "arguments", memberInputResponses, "k"}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := strictMembers(in, gov...)
		want, werr := strictMembersDecoder(in, gov...)
		if err == nil {
			if werr != nil {
				t.Fatalf("accepted %q the decoder refuses: %v", in, werr)
			}
			if !maps.EqualFunc(got, want, rawEqual) {
				t.Fatalf("%q: members %q, decoder %q", in, got, want)
			}
			return
		}
		if json.Valid(in) && werr == nil {
			t.Fatalf("refused well-formed %q the decoder accepts: %v", in, err)
		}
		if errors.Is(werr, errAmbiguousMember) != errors.Is(err, errAmbiguousMember) && json.Valid(in) {
			t.Fatalf("%q: error %v, decoder %v", in, err, werr)
		}
	})
}

func BenchmarkStrictMembers(b *testing.B) {
	raw := json.RawMessage(`{"name":"echo","arguments":{"msg":"hello"},"_meta":{"progressToken":1}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := strictMembers(raw, "name", "arguments"); err != nil {
			b.Fatal(err)
		}
	}
}

func rawEqual(a, b json.RawMessage) bool { return bytes.Equal(a, b) }

// FuzzDecodeNumbers checks decodeNumbers against the stream decoder alone:
// the same value, and an error exactly when it errs.
func FuzzDecodeNumbers(f *testing.F) {
	for _, s := range []string{`{"content":[{"type":"text","text":"hi"}]}`, `[1,2.5e10,"x",null,true,{"b":{}}]`,
		`{"a":1,"a":"2"}`, `"\ud800\u00e9\\"`, "\"\xff\"", `1 2`, `{"a":1} x`, `-0.0E+1`, ` {"a" : 1 } `, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := decodeNumbers(in)
		want, werr := decodeNumbersStream(in)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, decoder %v", in, err, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, decoder %#v", in, got, want)
		}
	})
}
