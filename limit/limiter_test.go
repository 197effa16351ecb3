package limit_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/limit/limittest"
)

func TestLimiterAllow(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration
		ok      bool
		retry   time.Duration
	}
	tests := []struct {
		name  string
		rate  limit.Rate
		steps []step
	}{
		{"100/hour burst then one per 36s", limit.Rate{N: 100, Per: time.Hour}, append(
			repeat(step{ok: true}, 100),
			step{ok: false, retry: 36 * time.Second},
			step{advance: 35 * time.Second, ok: false, retry: time.Second},
			step{advance: time.Second, ok: true},
			step{ok: false, retry: 36 * time.Second},
		)},
		{"2/second", limit.Rate{N: 2, Per: time.Second}, []step{
			{ok: true}, {ok: true}, {ok: false, retry: 500 * time.Millisecond},
			{advance: 499 * time.Millisecond, ok: false, retry: time.Millisecond},
			{advance: time.Millisecond, ok: true},
			{advance: time.Hour, ok: true}, {ok: true}, {ok: false, retry: 500 * time.Millisecond},
		}},
		{"3/7s uneven interval", limit.Rate{N: 3, Per: 7 * time.Second}, []step{
			{ok: true}, {ok: true}, {ok: true}, {ok: false, retry: 2333333334},
			{advance: 2333333334, ok: true},
		}},
		{"zero rate admits nothing", limit.Rate{}, []step{{ok: false, retry: limit.Never}}},
		{"negative period admits nothing", limit.Rate{N: 5, Per: -time.Second}, []step{{ok: false, retry: limit.Never}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := limittest.NewClock(limittest.Epoch())
			l := limit.NewLimiter(limit.LimiterOptions{Clock: clk})
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				ok, retry := l.Allow("agent\x00rule", tt.rate)
				if ok != s.ok || retry != s.retry {
					t.Fatalf("step %d: Allow = %v, %v; want %v, %v", i, ok, retry, s.ok, s.retry)
				}
			}
		})
	}
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestLimiterCheckReason(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	l := limit.NewLimiter(limit.LimiterOptions{Clock: clk})
	r := limit.Rate{N: 100, Per: time.Hour}
	for range 100 {
		if err := l.Check("k", r); err != nil {
			t.Fatal(err)
		}
	}
	err := l.Check("k", r)
	if got, want := errorString(err), "rate limit 100/hour exceeded; retry in 36s"; got != want {
		t.Fatalf("Check = %q, want %q", got, want)
	}
	var rle *limit.RateLimitError
	if !errors.Is(err, limit.ErrRateLimited) || !errors.As(err, &rle) || rle.RetryAfter != 36*time.Second {
		t.Fatalf("Check error %v: want *RateLimitError matching ErrRateLimited, RetryAfter 36s", err)
	}
	clk.Advance(35*time.Second + 500*time.Millisecond)
	if got, want := errorString(l.Check("k", r)), "rate limit 100/hour exceeded; retry in 500ms"; got != want {
		t.Fatalf("Check = %q, want %q", got, want)
	}
	clk.Advance(100 * time.Millisecond)
	if got, want := errorString(l.Check("k", r)), "rate limit 100/hour exceeded; retry in 400ms"; got != want {
		t.Fatalf("Check = %q, want %q", got, want)
	}
	if err := l.Check("k", limit.Rate{}); !errors.Is(err, limit.ErrBadRate) {
		t.Fatalf("Check with the zero Rate = %v, want ErrBadRate", err)
	}
	// Other keys are independent.
	if err := l.Check("other", r); err != nil {
		t.Fatalf("a fresh key was limited: %v", err)
	}
}

func errorString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestFormatRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {-time.Second, "0s"}, {time.Nanosecond, "1ms"}, {250 * time.Millisecond, "250ms"},
		{time.Second, "1s"}, {time.Second + 1, "2s"}, {90 * time.Second, "1m30s"}, {limit.Never, "never"},
		{limit.Never - 1, (limit.Never - 1 - (limit.Never-1)%time.Second).String()},
	}
	for _, tt := range tests {
		if got := limit.FormatRetry(tt.d); got != tt.want {
			t.Errorf("FormatRetry(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestLimiterRateChange(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	l := limit.NewLimiter(limit.LimiterOptions{Clock: clk})
	for range 10 {
		l.Allow("k", limit.Rate{N: 10, Per: time.Minute})
	}
	// Raising the limit keeps what was used: 10 of the new 100, so 90 more
	// are admitted, not a fresh burst of 100.
	admitted := 0
	for range 200 {
		if ok, _ := l.Allow("k", limit.Rate{N: 100, Per: time.Minute}); ok {
			admitted++
		}
	}
	if admitted != 90 {
		t.Fatalf("after raising 10/minute to 100/minute: admitted %d, want 90", admitted)
	}
	clk.Advance(time.Minute)
	// Lowering it clamps the level to the new capacity.
	ok1, _ := l.Allow("k", limit.Rate{N: 1, Per: time.Minute})
	ok2, _ := l.Allow("k", limit.Rate{N: 1, Per: time.Minute})
	if !ok1 || ok2 {
		t.Fatalf("after lowering to 1/minute: Allow = %v, %v; want true, false", ok1, ok2)
	}
}

func TestLimiterMaxKeys(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	l := limit.NewLimiter(limit.LimiterOptions{Clock: clk, MaxKeys: 4})
	r := limit.Rate{N: 1, Per: time.Minute}
	for i := range 4 {
		if ok, _ := l.Allow("k"+strconv.Itoa(i), r); !ok {
			t.Fatalf("key %d denied", i)
		}
	}
	// All four buckets are empty, so a fifth key is refused (fail closed)
	// rather than forgetting a limit.
	ok, retry := l.Allow("k4", r)
	if ok || retry != time.Minute {
		t.Fatalf("fifth key: Allow = %v, %v; want false, 1m0s", ok, retry)
	}
	if err := l.Check("k4", r); !errors.Is(err, limit.ErrTooManyKeys) {
		t.Fatalf("fifth key: Check = %v, want ErrTooManyKeys", err)
	}
	// The existing keys are still limited.
	if ok, _ := l.Allow("k0", r); ok {
		t.Fatal("k0 admitted while its bucket is empty")
	}
	if l.Len() != 4 {
		t.Fatalf("Len = %d, want 4", l.Len())
	}
	// Once a bucket has refilled completely it is indistinguishable from a
	// new one and is dropped to make room.
	clk.Advance(time.Minute)
	if ok, _ := l.Allow("k4", r); !ok {
		t.Fatal("new key refused after old buckets refilled")
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("Len after sweep = %d, want 1", n)
	}
	l.Forget("k4")
	if n := l.Len(); n != 0 {
		t.Fatalf("Len after Forget = %d, want 0", n)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	t.Parallel()
	clk := limittest.NewClock(limittest.Epoch())
	l := limit.NewLimiter(limit.LimiterOptions{Clock: clk})
	r := limit.Rate{N: 1000, Per: time.Hour}
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := map[string]int{}
	for g := range 8 {
		wg.Go(func() {
			local := map[string]int{}
			for i := range 600 {
				key := "k" + strconv.Itoa((g+i)%3)
				if ok, _ := l.Allow(key, r); ok {
					local[key]++
				}
			}
			mu.Lock()
			for k, v := range local {
				admitted[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	// 4800 attempts spread over 3 keys of capacity 1000 at a frozen clock:
	// exactly 1000 each.
	for _, k := range []string{"k0", "k1", "k2"} {
		if admitted[k] != 1000 {
			t.Errorf("key %s admitted %d, want exactly 1000", k, admitted[k])
		}
	}
}

func TestLimiterAllowAllocs(t *testing.T) {
	clk := limittest.NewClock(limittest.Epoch())
	l := limit.NewLimiter(limit.LimiterOptions{Clock: clk})
	r := limit.Rate{N: 5, Per: time.Second}
	l.Allow("agent-1\x00rule", r)
	for name, fn := range map[string]func(){
		"admit": func() { clk.Advance(time.Second); l.Allow("agent-1\x00rule", r) },
		"deny":  func() { l.Allow("agent-1\x00rule", limit.Rate{N: 1, Per: time.Hour}) },
	} {
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Errorf("Allow (%s) on an existing key allocates %v times, want 0", name, n)
		}
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			l := limit.NewLimiter(limit.LimiterOptions{Clock: limittest.NewClock(limittest.Epoch())})
			keys := make([]string, n)
			for i := range keys {
				keys[i] = "agent-" + strconv.Itoa(i) + "\x00rule"
			}
			r := limit.Rate{N: 1 << 30, Per: time.Second}
			i := 0
			for b.Loop() {
				l.Allow(keys[i%n], r)
				i++
			}
		})
	}
	b.Run("keys=10000/parallel", func(b *testing.B) {
		b.ReportAllocs()
		l := limit.NewLimiter(limit.LimiterOptions{})
		keys := make([]string, 10_000)
		for i := range keys {
			keys[i] = "agent-" + strconv.Itoa(i) + "\x00rule"
		}
		r := limit.Rate{N: 1 << 30, Per: time.Second}
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				l.Allow(keys[i%len(keys)], r)
				i++
			}
		})
	})
}
