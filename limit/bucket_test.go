package limit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/limit/limittest"
)

func f64(v float64) *float64 { return &v }

func TestTokenBucketConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  limit.BucketConfig
		want string // the reference's message; "" means valid
	}{
		{"valid", limit.BucketConfig{Capacity: 3, RefillRate: 1}, ""},
		{"zero rate", limit.BucketConfig{Capacity: 3}, ""},
		{"initial zero", limit.BucketConfig{Capacity: 3, InitialTokens: f64(0)}, ""},
		{"initial capacity", limit.BucketConfig{Capacity: 3, InitialTokens: f64(3)}, ""},
		{"zero capacity", limit.BucketConfig{Capacity: 0, RefillRate: 1}, "capacity must be positive"},
		{"negative capacity", limit.BucketConfig{Capacity: -1}, "capacity must be positive"},
		{"NaN capacity", limit.BucketConfig{Capacity: nan()}, "capacity must be positive"},
		{"negative rate", limit.BucketConfig{Capacity: 1, RefillRate: -0.5}, "refill_rate must be non-negative"},
		{"NaN rate", limit.BucketConfig{Capacity: 1, RefillRate: nan()}, "refill_rate must be non-negative"},
		{"initial above", limit.BucketConfig{Capacity: 3, InitialTokens: f64(3.5)}, "initial_tokens must be between 0 and capacity"},
		{"initial negative", limit.BucketConfig{Capacity: 3, InitialTokens: f64(-1)}, "initial_tokens must be between 0 and capacity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := limit.NewTokenBucket(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewTokenBucket(%+v) = %v, want nil", tt.cfg, err)
				}
				return
			}
			if err == nil || err.Error() != tt.want || !errors.Is(err, limit.ErrInvalidConfig) {
				t.Fatalf("NewTokenBucket(%+v) = %v, want %q matching ErrInvalidConfig", tt.cfg, err, tt.want)
			}
			var ce *limit.ConfigError
			if !errors.As(err, &ce) || ce.Field == "" {
				t.Fatalf("error %v is not a *ConfigError naming its field", err)
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

// Reference vector 74: TokenBucket(cap 3, rate 1/s): consume×4 → [T,T,T,F];
// time_until_available ≈ 1.0; rate 0 and empty → +Inf.
func TestTokenBucketReference(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	b, err := limit.NewTokenBucket(limit.BucketConfig{Capacity: 3, RefillRate: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for range 4 {
		ok, err := b.Consume(1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ok)
	}
	if want := []bool{true, true, true, false}; !equalBools(got, want) {
		t.Fatalf("Consume×4 = %v, want %v", got, want)
	}
	if d := b.TimeUntilAvailable(1); d != time.Second {
		t.Fatalf("TimeUntilAvailable(1) = %v, want 1s", d)
	}
	clk.Advance(500 * time.Millisecond)
	if a := b.Available(); a != 0.5 {
		t.Fatalf("Available after 0.5s = %v, want 0.5", a)
	}
	clk.Advance(500 * time.Millisecond)
	if ok, _ := b.Consume(1); !ok {
		t.Fatal("Consume after exactly 1s refill was denied")
	}
	clk.Advance(time.Hour)
	if a := b.Available(); a != 3 {
		t.Fatalf("Available after an hour = %v, want capacity 3", a)
	}
	if ok, _ := b.Consume(4); ok {
		t.Fatal("Consume(4) above capacity 3 succeeded")
	}
	if _, err := b.Consume(0); !errors.Is(err, limit.ErrNonPositiveTokens) || err.Error() != "tokens must be positive" {
		t.Fatalf("Consume(0) error = %v, want \"tokens must be positive\"", err)
	}
	if _, err := b.Consume(-1); !errors.Is(err, limit.ErrNonPositiveTokens) {
		t.Fatalf("Consume(-1) error = %v", err)
	}

	zero, err := limit.NewTokenBucket(limit.BucketConfig{Capacity: 2, InitialTokens: f64(0), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if d := zero.TimeUntilAvailable(1); d != limit.Never {
		t.Fatalf("zero-rate empty bucket TimeUntilAvailable = %v, want Never (+Inf)", d)
	}
	if d := zero.TimeUntilAvailable(0); d != 0 {
		t.Fatalf("TimeUntilAvailable(0) = %v, want 0", d)
	}
	zero.Reset()
	if a := zero.Available(); a != 2 {
		t.Fatalf("Available after Reset = %v, want 2", a)
	}
	if err := zero.ResetTo(1.5); err != nil || zero.Available() != 1.5 {
		t.Fatalf("ResetTo(1.5) = %v, Available %v", err, zero.Available())
	}
	if err := zero.ResetTo(3); !errors.Is(err, limit.ErrInvalidConfig) {
		t.Fatalf("ResetTo above capacity = %v, want ErrInvalidConfig", err)
	}
}

func TestTokenBucketClockBackwards(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	b, _ := limit.NewTokenBucket(limit.BucketConfig{Capacity: 1, RefillRate: 1, Clock: clk})
	if ok, _ := b.Consume(1); !ok {
		t.Fatal("first Consume denied")
	}
	clk.Advance(-time.Hour)
	if ok, _ := b.Consume(1); ok {
		t.Fatal("a clock stepping back refilled the bucket")
	}
	clk.Advance(time.Hour + time.Second)
	if ok, _ := b.Consume(1); !ok {
		t.Fatal("Consume one second after the original time was denied")
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTokenBucketConsumeAllocs(t *testing.T) {
	b, _ := limit.NewTokenBucket(limit.BucketConfig{Capacity: 1e9, RefillRate: 1e9, Clock: limittest.NewClock(limittest.Epoch())})
	if n := testing.AllocsPerRun(1000, func() { _, _ = b.Consume(1) }); n != 0 {
		t.Fatalf("Consume allocates %v times per call, want 0", n)
	}
}
