package policy

import (
	"math"
	"math/big"
	"strings"
	"testing"
)

// TestResolvePlain pins YAML 1.1 resolution of plain scalars to what
// PyYAML's SafeLoader produces (the reference's loader).
func TestResolvePlain(t *testing.T) {
	t.Parallel()
	big20, _ := new(big.Int).SetString("100000000000000000000", 10)
	tests := []struct {
		in   string
		want any
	}{
		{"yes", true}, {"Yes", true}, {"YES", true}, {"on", true}, {"On", true}, {"true", true}, {"TRUE", true},
		{"no", false}, {"No", false}, {"off", false}, {"Off", false}, {"OFF", false}, {"false", false},
		{"y", "y"}, {"n", "n"}, {"yES", "yES"}, {"tRUE", "tRUE"},
		{"~", nil}, {"null", nil}, {"Null", nil}, {"NULL", nil}, {"", nil}, {"nULL", "nULL"},
		{"0", int64(0)}, {"017", int64(15)}, {"-017", int64(-15)}, {"08", "08"}, {"0o17", "0o17"},
		{"1_000", int64(1000)}, {"+5", int64(5)}, {"-0", int64(0)}, {"0x1F", int64(31)}, {"0x_1f", int64(31)},
		{"0b101", int64(5)}, {"-0b11", int64(-3)}, {"1:30", int64(90)}, {"190:20:30", int64(685230)},
		{"1:60", "1:60"}, {"100000000000000000000", big20}, {"9223372036854775807", int64(math.MaxInt64)},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"1e3", "1e3"}, {"1.0e3", "1.0e3"}, {"1.0e+3", 1000.0}, {"1.", 1.0}, {".5", 0.5}, {"-.5", "-.5"},
		{"1.5", 1.5}, {"1_0.5", 10.5}, {"1:30.5", 90.5}, {".inf", math.Inf(1)}, {"-.Inf", math.Inf(-1)},
		{"+.INF", math.Inf(1)}, {"1.0e+400", math.Inf(1)},
		{"0.1", 0.1}, {"abc", "abc"}, {"1.2.3", "1.2.3"}, {"12:", "12:"}, {"-", "-"}, {".", "."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, _, err := resolvePlain(tt.in)
			if err != nil {
				t.Fatalf("resolvePlain(%q) error: %v", tt.in, err)
			}
			if valueCanon(got) != valueCanon(tt.want) {
				t.Errorf("resolvePlain(%q) = %s, want %s", tt.in, valueCanon(got), valueCanon(tt.want))
			}
		})
	}
}

func TestResolvePlainNaN(t *testing.T) {
	t.Parallel()
	for _, s := range []string{".nan", ".NaN", ".NAN"} {
		got, k, err := resolvePlain(s)
		f, ok := got.(float64)
		if err != nil || k != kindFloat || !ok || !math.IsNaN(f) {
			t.Errorf("resolvePlain(%q) = %v, %v, %v; want NaN", s, got, k, err)
		}
	}
}

// TestResolvePlainErrors: dates and timestamps (a named deviation: the
// reference reads date objects) and YAML 1.1's "=" are load errors.
func TestResolvePlainErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"2024-01-02", "date"},
		{"2001-12-14t21:59:43.10-05:00", "date"},
		{"2001-12-14 21:59:43.10 -5", "date"},
		{"2001-12-14T21:59:43Z", "date"},
		{"=", "value key"},
		{"0b_", "not a valid YAML 1.1 integer"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			_, _, err := resolvePlain(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("resolvePlain(%q) error = %v, want one mentioning %q", tt.in, err, tt.want)
			}
		})
	}
}

// TestYAMLTaggedScalars: explicit standard tags are honoured; others are
// errors, as in the reference's safe loader.
func TestYAMLTaggedScalars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		want    any
		wantErr string
	}{
		{`!!str 017`, "017", ""},
		{`!!int "017"`, int64(15), ""},
		{`!!float "1"`, 1.0, ""},
		{`!!bool "yes"`, true, ""},
		{`!!null ""`, nil, ""},
		{`!!int abc`, nil, "not a valid !!int"},
		{`!!binary aGVsbG8=`, nil, "unsupported YAML tag !!binary"},
		{`!custom x`, nil, "unsupported YAML tag !custom"},
		{`!!timestamp 2024-01-02`, nil, "unsupported YAML tag"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			src := "rules:\n  - name: r\n    condition: {field: f, operator: eq, value: " + tt.value + "}\n    action: deny\n"
			docs, err := Parse("t.yaml", []byte(src))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%s) error = %v, want %q", tt.value, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.value, err)
			}
			if got := docs[0].Rules[0].Condition.Value; valueCanon(got) != valueCanon(tt.want) {
				t.Errorf("Parse(%s) value = %s, want %s", tt.value, valueCanon(got), valueCanon(tt.want))
			}
		})
	}
}

// TestYAMLKeys: keys that YAML 1.1 reads as non-strings are errors, so a
// mapping means the same here and in the reference.
func TestYAMLKeys(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"on: 1\n", `key on is read as a boolean`},
		{"rules:\n  - name: r\n    action: deny\n    condition: {field: f, operator: in, value: {1: a}}\n", "key 1 is read as an integer"},
		{"? [a]\n: 1\n", "mapping keys must be strings"},
	}
	for _, tt := range tests {
		_, err := Parse("k.yaml", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want %q", tt.src, err, tt.want)
		}
	}
	docs, err := Parse("k.yaml", []byte("rules:\n  - name: r\n    action: deny\n    condition: {field: f, operator: in, value: {\"1\": a, 'on': b}}\n"))
	if err != nil {
		t.Fatalf("quoted keys: %v", err)
	}
	if got := valueCanon(docs[0].Rules[0].Condition.Value); got != `{"1":str:"a","on":str:"b"}` {
		t.Errorf("quoted keys value = %s", got)
	}
}
