package audit

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// Secrets planted in preview tests.
const (
	testAWSKey      = "AKIAIOSFODNN7EXAMPLE"
	testGitHubToken = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
	testPassword    = "hunter2-correct-horse"
)

func TestPreview(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	many := make([]string, 100)
	for i := range many {
		many[i] = strconv.Itoa(i)
	}
	wide := map[string]any{}
	for i := range 100 {
		wide["k"+strconv.Itoa(1000+i)] = i
	}
	deep := `"bottom"`
	for range 40 {
		deep = `{"d":` + deep + `}`
	}
	tests := []struct {
		name string
		in   string
		max  int
		// want, if set, is the exact (canonical) preview.
		want string
		// has and hasNot are substrings the preview must and must not
		// contain.
		has, hasNot []string
	}{
		{name: "empty", in: " ", want: ""},
		{name: "plain kept as is", in: `{"path":"/srv/app","n":1.50,"ok":true,"x":null,"l":[1,"a"]}`,
			want: `{"l":[1,"a"],"n":1.50,"ok":true,"path":"/srv/app","x":null}`},
		{name: "aws key", in: `{"cmd":"aws s3 ls","env":["AWS_ACCESS_KEY_ID=` + testAWSKey + `"]}`,
			want: `{"cmd":"aws s3 ls","env":["[REDACTED]"]}`},
		{name: "github token in text", in: `{"body":"push with ` + testGitHubToken + ` please"}`,
			want: `{"body":"[REDACTED]"}`},
		{name: "password key", in: `{"user":"bob","password":"` + testPassword + `","db":{"Passwd":["a","b"]}}`,
			want: `{"db":{"Passwd":["[REDACTED]","[REDACTED]"]},"password":"[REDACTED]","user":"bob"}`},
		{name: "secret-shaped key", in: `{"` + testAWSKey + `":"v","[REDACTED]":1}`,
			want: `{"[REDACTED]":1,"[REDACTED] 2":"[REDACTED]"}`},
		{name: "secret far into a long string", in: `{"text":"` + long + " " + testAWSKey + `"}`,
			want: `{"text":"[REDACTED]"}`},
		{name: "long string cut", in: `{"text":"` + long + `"}`,
			has: []string{`"xxxxxxxx`, `…[5000 bytes]"`}},
		{name: "long top-level string", in: `"` + long + `"`, has: []string{`…[5000 bytes]"`}},
		{name: "long array cut", in: `["` + strings.Join(many, `","`) + `"]`, has: []string{`"0","1"`, `more items]"`}},
		{name: "wide object cut", in: string(mustMarshal(wide)), has: []string{`"k1000":0`, `"…":"[`, ` more keys]"`},
			hasNot: []string{`"k1099"`}},
		{name: "deep object cut", in: deep, has: []string{`"[object with 1 keys]"`}, hasNot: []string{"bottom"}},
		{name: "long number", in: `[` + strings.Repeat("9", 400) + `]`, want: `["[number of 400 digits]"]`},
		{name: "long key", in: `{"` + long + `":1}`, has: []string{`…[5000 bytes]":1`}},
		{name: "invalid json", in: `{"password":"` + testPassword + `"`, want: `{"invalid_json":{"bytes":35}}`},
		{name: "small bound", in: `{"a":"` + long + `","b":[` + strings.Repeat(`{"c":"dddddddddddddddddddddddddddddddddddddddd"},`, 50) + `1]}`,
			max: 200, has: []string{`"a":"xx`}},
		{name: "bound below minimum", in: `{"a":"` + long + `"}`, max: 1, has: []string{`"a":"xx`}},
		{name: "markup kept as text", in: `{"q":"<script>alert(1)</script>"}`, want: `{"q":"<script>alert(1)</script>"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Preview(json.RawMessage(tt.in), PreviewOptions{MaxBytes: tt.max})
			if tt.want == "" && len(tt.has) == 0 {
				if got != nil {
					t.Fatalf("Preview(%q) = %s, want nil", tt.in, got)
				}
				return
			}
			limit := max(tt.max, MinPreviewBytes)
			if tt.max == 0 {
				limit = DefaultPreviewBytes
			}
			if !json.Valid(got) || len(got) > limit {
				t.Fatalf("Preview(%.80q) = %s (%d bytes): want valid JSON of at most %d bytes", tt.in, got, len(got), limit)
			}
			for _, s := range []string{testAWSKey, testGitHubToken, testPassword} {
				if bytes.Contains(got, []byte(s)) {
					t.Errorf("Preview(%.80q) = %s: shows the secret %q", tt.in, got, s)
				}
			}
			if tt.want != "" {
				c, err := CanonicalJSON(got)
				if err != nil {
					t.Fatal(err)
				}
				want, err := CanonicalJSON([]byte(tt.want))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(c, want) {
					t.Errorf("Preview(%.80q)\n got %s\nwant %s", tt.in, c, want)
				}
			}
			for _, s := range tt.has {
				if !bytes.Contains(got, []byte(s)) {
					t.Errorf("Preview(%.80q) = %s: want it to contain %q", tt.in, got, s)
				}
			}
			for _, s := range tt.hasNot {
				if bytes.Contains(got, []byte(s)) {
					t.Errorf("Preview(%.80q) = %s: want it not to contain %q", tt.in, got, s)
				}
			}
			if again := Preview(got, PreviewOptions{MaxBytes: tt.max}); !bytes.Equal(again, got) {
				t.Errorf("Preview(Preview(%.80q)) = %s, want it unchanged: %s", tt.in, again, got)
			}
		})
	}
}

// TestPreviewCutSecret: a string whose cut beginning looks like a secret
// is redacted (AKIA and 16 more capitals followed by a word boundary only
// once cut after them).
func TestPreviewCutSecret(t *testing.T) {
	t.Parallel()
	s := strings.Repeat(" ", previewSteps[0].str-len(testAWSKey)) + testAWSKey + strings.Repeat("X", 600)
	if (SecretShapes{}).IsSecret(s) {
		t.Fatal("the uncut string already looks like a secret: the test proves nothing")
	}
	in := `{"id":"` + s + `"}`
	got := Preview(json.RawMessage(in), PreviewOptions{})
	if bytes.Contains(got, []byte(testAWSKey)) || !json.Valid(got) {
		t.Fatalf("Preview = %s: want the cut secret-shaped beginning redacted", got)
	}
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzPreview: the preview is always valid JSON of at most the bound,
// never shows a secret planted anywhere in the arguments, and is a fixed
// point of Preview.
func FuzzPreview(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s), uint8(0), uint16(0))
	}
	f.Add([]byte(`{"password":"x","nested":{"token":["sekrit"]},"list":[1,2,3]}`), uint8(1), uint16(300))
	f.Add([]byte(`[[[[[[[[[["deep"]]]]]]]]]]`), uint8(2), uint16(128))
	f.Add([]byte(`{"a":"`+strings.Repeat("é", 3000)+`"}`), uint8(3), uint16(2048))
	f.Fuzz(func(t *testing.T, in []byte, where uint8, bound uint16) {
		limit := int(bound)
		opts := PreviewOptions{MaxBytes: limit}
		switch {
		case limit == 0:
			limit = DefaultPreviewBytes
		case limit < MinPreviewBytes:
			limit = MinPreviewBytes
		}
		check := func(what string, out []byte) {
			t.Helper()
			if len(out) == 0 {
				return
			}
			if !json.Valid(out) || len(out) > limit {
				t.Fatalf("%s: Preview = %q (%d bytes): want valid JSON of at most %d bytes", what, out, len(out), limit)
			}
			if again := Preview(out, opts); !bytes.Equal(again, out) {
				t.Fatalf("%s: Preview(Preview) = %q, want %q", what, again, out)
			}
		}
		check("input", Preview(in, opts))

		// Plant secrets in the input (when it is JSON) and check they do
		// not show, unless the input shows them without the plant.
		var v any
		if json.Unmarshal(in, &v) != nil {
			return
		}
		plants := []any{testAWSKey, "token " + testGitHubToken, map[string]any{"password": testPassword},
			map[string]any{testAWSKey: "v"}}
		p := plants[int(where)%len(plants)]
		planted := plant(v, p, int(where/4))
		b, err := json.Marshal(planted)
		if err != nil {
			return
		}
		before := Preview(in, opts)
		out := Preview(b, opts)
		check("planted", out)
		for _, s := range []string{testAWSKey, testGitHubToken, testPassword} {
			if bytes.Contains(out, []byte(s)) && !bytes.Contains(before, []byte(s)) {
				t.Fatalf("Preview(%q) = %q: shows the planted secret %q", b, out, s)
			}
		}
	})
}

// plant puts p into v: as an item of the first array or a member of the
// first object found descending n levels, or beside v at the top.
func plant(v, p any, n int) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if n > 0 {
				x[k] = plant(e, p, n-1)
				return x
			}
			break
		}
		x["planted"] = p
		return x
	case []any:
		if n > 0 && len(x) > 0 {
			x[0] = plant(x[0], p, n-1)
			return x
		}
		return append(x, p)
	}
	return []any{v, p}
}

func BenchmarkPreview(b *testing.B) {
	small := json.RawMessage(`{"path":"/srv/app/config.yaml","content":"listen: 8080\nlog: info\n","mode":"0644","password":"hunter2"}`)
	big := json.RawMessage(`{"rows":[` + strings.Repeat(`{"id":12345,"name":"some name here","tags":["a","b","c"]},`, 500) + `{}]}`)
	for _, bc := range []struct {
		name string
		in   json.RawMessage
	}{{"small", small}, {"large", big}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			for b.Loop() {
				if Preview(bc.in, PreviewOptions{}) == nil {
					b.Fatal("no preview")
				}
			}
		})
	}
}
