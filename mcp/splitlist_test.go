package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"testing"
)

// splitListDecoder is splitList as it was, on encoding/json's stream
// decoder: the oracle splitList is compared with.
func splitListDecoder(result json.RawMessage, member string) (map[string]json.RawMessage, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(result))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("not a JSON object")
	}
	top := make(map[string]json.RawMessage, 4)
	var items []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string)
		if key != member {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, nil, err
			}
			top[key] = raw
			continue
		}
		if items != nil {
			return nil, nil, errors.New("duplicate member " + member)
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, nil, errors.New("member " + member + " is not an array")
		}
		items = make([]json.RawMessage, 0, 64)
		for dec.More() {
			var it json.RawMessage
			if err := dec.Decode(&it); err != nil {
				return nil, nil, err
			}
			items = append(items, it)
		}
		if _, err := dec.Token(); err != nil {
			return nil, nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("data after the result")
	}
	return top, items, nil
}

var splitListSeeds = []string{
	`{"tools":[]}`,
	`{"tools":[{"name":"a","inputSchema":{"type":"object"}},{"name":"b"}],"nextCursor":"c2"}`,
	" \n{ \"nextCursor\" : null ,\t\"tools\" : [ {\"name\":\"x\\\"]\"} , 1, \"s\", [2,[3]] ] , \"_meta\":{\"k\":[{}]} } \r\n",
	`{"t\u006fols":[{"name":"escaped member name"}]}`,
	`{"tools":[{"name":"a"}],"tools":[]}`,
	`{"tools":{"name":"a"}}`,
	`{"x":1,"x":2,"tools":[]}`,
	`{"tools":[1,]}`,
	`{"tools":[1]} x`,
	`{"tools":[1]`,
	`[{"tools":[]}]`,
	``,
	`{}`,
	"{\"n\xffme\":1,\"tools\":[\"\xfe\"]}",
	`{"Tools":[1],"tools":[2]}`,
}

// TestSplitListMatchesDecoder: splitList cuts out the same members and
// items as the stream decoder did, byte for byte, and fails where it
// failed.
func TestSplitListMatchesDecoder(t *testing.T) {
	for _, in := range splitListSeeds {
		checkSplitList(t, []byte(in))
	}
	big := []byte(`{"tools":[`)
	for i := range 500 {
		if i > 0 {
			big = append(big, ',')
		}
		big = append(big, toolsResultItem(i)...)
	}
	big = append(big, `],"nextCursor":"n"}`...)
	checkSplitList(t, big)
}

func toolsResultItem(i int) []byte {
	b, _ := json.Marshal(map[string]any{"name": "tool_" + string(rune('a'+i%26)) + string(rune('0'+i%10)), "description": "Does thing \"x\" \u2028 #" + string(rune('0'+i%10)),
		"inputSchema": map[string]any{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}}})
	return b
}

func checkSplitList(t *testing.T, in []byte) {
	t.Helper()
	top, items, err := splitList(in, "tools")
	wtop, witems, werr := splitListDecoder(in, "tools")
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: error %v, decoder's %v", in, err, werr)
	}
	if err != nil {
		return
	}
	if !maps.EqualFunc(top, wtop, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
		t.Fatalf("%q: members %q, decoder's %q", in, top, wtop)
	}
	if !slices.EqualFunc(items, witems, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) || (items == nil) != (witems == nil) {
		t.Fatalf("%q: items %q, decoder's %q", in, items, witems)
	}
	// Neither the members nor the items alias the input.
	flip := func() {
		for i := range in {
			in[i] ^= 0xff
		}
	}
	flip()
	defer flip()
	for i := range items {
		if !bytes.Equal(items[i], witems[i]) {
			t.Fatalf("item %d changed with the input", i)
		}
	}
	for k, v := range top {
		if !bytes.Equal(v, wtop[k]) {
			t.Fatalf("member %q changed with the input", k)
		}
	}
}

func FuzzSplitList(f *testing.F) {
	for _, s := range splitListSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkSplitList(t, in)
	})
}
