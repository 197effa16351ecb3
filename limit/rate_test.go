package limit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/agentos/agentos/limit"
)

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    limit.Rate
		wantErr bool
	}{
		{in: "100/hour", want: limit.Rate{N: 100, Per: time.Hour}},
		{in: "5/s", want: limit.Rate{N: 5, Per: time.Second}},
		{in: "10/minute", want: limit.Rate{N: 10, Per: time.Minute}},
		{in: " 7 / Days ", want: limit.Rate{N: 7, Per: 24 * time.Hour}},
		{in: "1/HR", want: limit.Rate{N: 1, Per: time.Hour}},
		{in: "3/min", want: limit.Rate{N: 3, Per: time.Minute}},
		{in: "1099511627776/s", want: limit.Rate{N: 1 << 40, Per: time.Second}},
		{in: "1099511627777/s", wantErr: true},
		{in: "0/hour", wantErr: true},
		{in: "-1/hour", wantErr: true},
		{in: "+5/hour", wantErr: true},
		{in: "1.5/hour", wantErr: true},
		{in: "100", wantErr: true},
		{in: "100/fortnight", wantErr: true},
		{in: "/hour", wantErr: true},
		{in: "", wantErr: true},
		{in: "100/hour/extra", wantErr: true},
		{in: "99999999999999999999999/s", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := limit.ParseRate(tt.in)
			if tt.wantErr {
				if !errors.Is(err, limit.ErrBadRate) {
					t.Fatalf("ParseRate(%q) = %v, %v; want ErrBadRate", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRateString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    limit.Rate
		want string
	}{
		{limit.Rate{N: 100, Per: time.Hour}, "100/hour"},
		{limit.Rate{N: 5, Per: time.Second}, "5/second"},
		{limit.Rate{N: 2, Per: time.Minute}, "2/minute"},
		{limit.Rate{N: 9, Per: 24 * time.Hour}, "9/day"},
		{limit.Rate{N: 3, Per: 90 * time.Second}, "3/1m30s"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"100/hour", "5/s", "10/minute", "1/d", " 7 / Days ", "0/s", "-1/m", "+1/m",
		"1/", "/", "1//s", "1e3/s", "1099511627776/s", "１/s", "1/ｓ", "1\x00/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := limit.ParseRate(s)
		if err != nil {
			if !errors.Is(err, limit.ErrBadRate) {
				t.Fatalf("ParseRate(%q) error %v does not match ErrBadRate", s, err)
			}
			if r != (limit.Rate{}) {
				t.Fatalf("ParseRate(%q) returned %v with an error", s, r)
			}
			return
		}
		if r.N <= 0 || r.Per <= 0 || !r.Valid() {
			t.Fatalf("ParseRate(%q) = %v: accepted a rate that admits nothing", s, r)
		}
		back, err := limit.ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("round trip of %q: String %q parsed as %v, %v", s, r.String(), back, err)
		}
	})
}
