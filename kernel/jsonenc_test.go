package kernel

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// checkSameAsMarshal fails unless appendJSON(v) is exactly json.Marshal(v),
// or appendJSON declines a value json.Marshal rejects.
func checkSameAsMarshal(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, ok := appendJSON([]byte("prefix"), v)
	if !ok {
		if !bytes.Equal(got, []byte("prefix")) {
			t.Errorf("appendJSON(%#v) declined but changed dst to %q", v, got)
		}
		if werr == nil && encodable(v) {
			t.Errorf("appendJSON(%#v) declined a value json.Marshal encodes as %s", v, want)
		}
		return
	}
	if werr != nil {
		t.Errorf("appendJSON(%#v) = %s, json.Marshal fails: %v", v, got, werr)
		return
	}
	if got := got[len("prefix"):]; !bytes.Equal(got, want) {
		t.Errorf("appendJSON(%#v)\n got %s\nwant %s", v, got, want)
	}
}

// encodable reports whether v holds only types appendJSON handles.
func encodable(v any) bool {
	switch x := v.(type) {
	case nil, string, bool, json.Number, float64, int, int64, int32, uint64:
		return true
	case json.RawMessage:
		return !htmlEscaped(x)
	case map[string]any:
		for _, e := range x {
			if !encodable(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !encodable(e) {
				return false
			}
		}
		return true
	}
	return false
}

func TestAppendJSONMatchesMarshal(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"check answer", map[string]any{"action": "search", "agent_id": "a1", "allowed": true, "reason": "ok",
			"rule": "allow-all", "policy": "bench"}},
		{"check args", map[string]any{"action": "search", "target": ""}},
		{"escapes", "a\"b\\c\n\r\t\b\f\x00\x1f<script>&</script>"},
		{"unicode", "héllo 世界 \u2028 \u2029 \U0001F600"},
		{"invalid utf-8", "a\xffb\xc0\xafc\xed\xa0\x80"},
		{"html in keys", map[string]any{"<k>": "&", "a&b": 1}},
		{"empty map", map[string]any{}},
		{"nil map", map[string]any(nil)},
		{"nil slice", []any(nil)},
		{"empty slice", []any{}},
		{"nested", map[string]any{"z": []any{1, "x", nil, true, map[string]any{"b": 2.5, "a": []any{}}}, "a": false}},
		{"numbers", []any{json.Number("12"), json.Number("-0.5e+10"), json.Number(""), 0.0, -0.0, 1.0, 1e20, 1e21,
			1e-6, 1e-7, 123456789.125, -3.4e-9, math.MaxFloat64, math.SmallestNonzeroFloat64, int(-7), int64(1 << 62),
			int32(-9), uint64(math.MaxUint64)}},
		{"invalid number", json.Number("1.")},
		{"invalid number in map", map[string]any{"n": json.Number("0x1")}},
		{"NaN", math.NaN()},
		{"Inf in slice", []any{math.Inf(1)}},
		{"other types", map[string]any{"s": []string{"a"}, "m": map[string]string{"k": "v"}}},
		{"struct", struct{ A int }{1}},
		{"raw result", json.RawMessage(`{"content": [ {"type":"text", "text":"hello"} ],
			"isError" :false}`)},
		{"raw nil", json.RawMessage(nil)},
		{"raw empty", json.RawMessage{}},
		{"raw invalid", json.RawMessage(`{"a":`)},
		{"raw two values", json.RawMessage(`1 2`)},
		{"raw html", json.RawMessage(`{"t":"<b>&amp;</b>"}`)},
		{"raw line separator", json.RawMessage("[\"a\u2028b\"]")},
		{"raw invalid utf-8", json.RawMessage("[\"a\xffb\"]")},
		{"raw in map", map[string]any{"r": json.RawMessage(` [1, 2] `)}},
		{"many keys", func() any {
			m := map[string]any{}
			for i := range 40 {
				m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune('A'+i/26))] = i
			}
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSameAsMarshal(t, tt.v) })
	}
}

func TestAppendJSONDeepDeclines(t *testing.T) {
	var v any = "leaf"
	for range maxEncodeDepth + 2 {
		v = []any{v}
	}
	if _, ok := appendJSON(nil, v); ok {
		t.Error("appendJSON encoded a value nested beyond maxEncodeDepth")
	}
	// summarize falls back to json.Marshal for it.
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if hash, _ := summarize(v); hash != hex.EncodeToString(func() []byte { s := sha256.Sum256(b); return s[:] }()) {
		t.Errorf("summarize of a deep value: hash %s, want the SHA-256 of %s", hash, b)
	}
}

func TestSummarizeAndArgsUseSameBytes(t *testing.T) {
	v := map[string]any{"allowed": false, "reason": "<denied> & logged", "n": json.Number("3")}
	b, _ := json.Marshal(v)
	hash, summary := summarize(v)
	if want := sha256.Sum256(b); hash != hex.EncodeToString(want[:]) {
		t.Errorf("summarize hash %s, want the SHA-256 of json.Marshal's bytes %x", hash, want)
	}
	if summary != "json: "+strconv.Itoa(len(b))+" bytes" {
		t.Errorf("summary %q", summary)
	}
}

func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{
		`{"action":"search","target":""}`, `{"a":[1,2.5,-3e-9,"x\u2028y",null,true,{"<":">"}]}`,
		`"\ud800"`, `[1e21,1e-7,0.000001,-0]`, `{"k":{"k":{"k":[[[]]]}}}`, `123456789012345678901234567890`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) == nil {
			checkSameAsMarshal(t, v) // numbers as float64
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var n any
		if dec.Decode(&n) == nil {
			checkSameAsMarshal(t, n) // numbers as json.Number, as the daemon decodes them
		}
		checkSameAsMarshal(t, string(data))          // any bytes as a string
		checkSameAsMarshal(t, json.RawMessage(data)) // any bytes as a result
		checkSameAsMarshal(t, map[string]any{string(data): json.Number(data)})
	})
}

func BenchmarkSummarize(b *testing.B) {
	v := map[string]any{"action": "search", "agent_id": "a1", "allowed": true, "reason": "ok",
		"rule": "allow-all", "policy": "bench"}
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			summarize(v)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, _ := json.Marshal(v)
			sum := sha256.Sum256(data)
			_ = hex.EncodeToString(sum[:])
		}
	})
}
