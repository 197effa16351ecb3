package audit

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// TestCanonicalJSONRFC8785 runs the examples of RFC 8785 §3.2.2 and §3.2.3
// and the cases from its companion test data.
func TestCanonicalJSONRFC8785(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{
			name: "3.2.2 primitives",
			in: `{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			want: `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			name: "3.2.3 sorting",
			in: `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\"," +
				"\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{
			name: "weird",
			in: `{
  "\u20ac": "Euro Sign",
  "1": "One",
  "\u0080": "Control\u007f",
  "\ud83d\ude02": "Smiley",
  "\u00f6": "Latin Small Letter O With Diaeresis",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "</script>": "Browser Challenge"
}`,
			want: "{\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\u0080\":\"Control\u007f\",\"ö\":\"Latin Small Letter O With Diaeresis\"," +
				"\"€\":\"Euro Sign\",\"😂\":\"Smiley\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{
			name: "structures",
			in:   `{"1":{"f":{"f":"hi","F":5},"\n":56.0},"10":{},"":"empty","a":{},"111":[{"e":"yes","E":"no"}],"A":{}}`,
			want: `{"":"empty","1":{"\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{"E":"no","e":"yes"}],"A":{},"a":{}}`,
		},
		{
			name: "arrays",
			in:   `[56,{"d":true,"10":null,"1":[]}]`,
			want: `[56,{"1":[],"10":null,"d":true}]`,
		},
		{
			name: "nested sort and whitespace",
			in:   " \t\r\n{ \"b\" : [ 1 , { \"z\" : 0 , \"y\" : -0 } ] , \"a\" : \"x\" } \n",
			want: `{"a":"x","b":[1,{"y":0,"z":0}]}`,
		},
		{
			// UTF-16 order puts surrogates (U+D800–DFFF) before U+E000;
			// code-point order would not.
			name: "surrogate pair sorts before U+E000",
			in:   `{"\ue000":2,"\ud83d\ude00":1}`,
			want: "{\"😀\":1,\"\ue000\":2}",
		},
		{name: "scalar string", in: `"a\u2028b"`, want: "\"a\u2028b\""},
		{name: "scalar number", in: `1.0e0`, want: `1`},
		{name: "empty object", in: `{ }`, want: `{}`},
		{name: "empty array", in: `[ ]`, want: `[]`},
		{name: "controls", in: `"\u0000\u0001\b\f\t\n\r\u001f\u007f"`, want: "\"\\u0000\\u0001\\b\\f\\t\\n\\r\\u001f\u007f\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := CanonicalJSON([]byte(tt.in))
			if err != nil {
				t.Fatalf("CanonicalJSON error: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("CanonicalJSON(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			again, err := CanonicalJSON(got)
			if err != nil || string(again) != string(got) {
				t.Fatalf("not idempotent: %s, %v", again, err)
			}
		})
	}
}

// TestAppendNumberAppendixB checks the IEEE 754 samples of RFC 8785
// Appendix B.
func TestAppendNumberAppendixB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bits uint64
		want string
	}{
		{0x0000000000000000, "0"},
		{0x8000000000000000, "0"},
		{0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"},
		{0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"},
		{0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"},
		{0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"},
		{0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"},
		{0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"},
	}
	for _, tt := range tests {
		f := math.Float64frombits(tt.bits)
		got, err := AppendNumber(nil, f)
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendNumber(%#016x) = %s, %v; want %s", tt.bits, got, err, tt.want)
		}
		// The same value given as JSON text canonicalizes identically.
		text, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := CanonicalJSON(text); err != nil || string(c) != tt.want {
			t.Errorf("CanonicalJSON(%s) = %s, %v; want %s", text, c, err, tt.want)
		}
	}
	for _, bad := range []uint64{0x7fffffffffffffff, 0x7ff0000000000000, 0xfff0000000000000} {
		if _, err := AppendNumber(nil, math.Float64frombits(bad)); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("AppendNumber(%#016x) error = %v, want ErrInvalidJSON", bad, err)
		}
	}
}

func TestCanonicalJSONNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"1e-7", "1e-7"},
		{"1E+2", "100"},
		{"-0.0", "0"},
		{"1e-400", "0"},
		{"123456789012345678901234567890", "1.2345678901234568e+29"},
		{"0.1", "0.1"},
		{"100e-2", "1"},
		{"-1.5e300", "-1.5e+300"},
	}
	for _, tt := range tests {
		got, err := CanonicalJSON([]byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("CanonicalJSON(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestCanonicalJSONRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, msg string
	}{
		{"empty", ``, "unexpected end"},
		{"duplicate names", `{"a":1,"a":2}`, "duplicate member name"},
		{"duplicate names unsorted", `{"b":1,"a":1,"b":2}`, "duplicate member name"},
		{"duplicate via escape", `{"a":1,"\u0061":2}`, "duplicate member name"},
		{"lone high surrogate", `"\ud800"`, "lone high surrogate"},
		{"lone high surrogate then char", `"\ud800x"`, "lone high surrogate"},
		{"lone low surrogate", `"\udc00"`, "lone low surrogate"},
		{"high then high", `"\ud800\ud800"`, "not followed by a low surrogate"},
		{"invalid utf8", "\"\xff\"", "invalid UTF-8"},
		{"invalid utf8 after escape", "\"\\n\xff\"", "invalid UTF-8"},
		{"encoded surrogate", "\"\xed\xa0\x80\"", "invalid UTF-8"},
		{"raw control", "\"a\x01\"", "control character"},
		{"overflow", `1e400`, "overflows"},
		{"negative overflow", `-1e400`, "overflows"},
		{"leading zero", `01`, "data after"},
		{"bare minus", `-`, "invalid number"},
		{"trailing dot", `1.`, "digit expected"},
		{"leading dot", `.5`, "unexpected character"},
		{"plus", `+1`, "unexpected character"},
		{"empty exponent", `1e`, "exponent"},
		{"NaN", `NaN`, "unexpected character"},
		{"bad literal", `tru`, "invalid literal"},
		{"trailing data", `{} {}`, "data after"},
		{"trailing comma array", `[1,]`, "unexpected character"},
		{"trailing comma object", `{"a":1,}`, "member name"},
		{"missing colon", `{"a" 1}`, "':'"},
		{"unterminated string", `"abc`, "unterminated string"},
		{"unterminated array", `[1`, "unterminated array"},
		{"unterminated object", `{"a":1`, "unterminated object"},
		{"bad escape", `"\x"`, "invalid escape"},
		{"short unicode escape", `"\u12"`, "escape"},
		{"non-string key", `{1:2}`, "member name"},
		{"too deep", strings.Repeat("[", 1001) + strings.Repeat("]", 1001), "nesting deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := CanonicalJSON([]byte(tt.in))
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("CanonicalJSON(%q) = %s, %v; want ErrInvalidJSON", tt.in, got, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
	// 1000 levels are fine.
	deep := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	if _, err := CanonicalJSON([]byte(deep)); err != nil {
		t.Fatalf("1000 levels: %v", err)
	}
}
