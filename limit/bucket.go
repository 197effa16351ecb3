package limit

import (
	"math"
	"sync"
	"time"
)

// bucket is the token-bucket arithmetic shared by TokenBucket, Limiter and
// Quota. Tokens are float64 (exact for whole numbers up to 2^53); the refill
// for an elapsed d nanoseconds is d*num/den, so whole-number rates such as
// 100 per 3.6e12 ns refill exactly one token after exactly 36 s. It is not
// safe for concurrent use; its owner locks.
type bucket struct {
	capacity float64
	num, den float64 // refill rate: num tokens per den nanoseconds
	tokens   float64
	last     time.Time // time of the last refill
}

// refill adds the tokens earned since the last refill. A clock that went
// backwards earns nothing and does not move last back.
func (b *bucket) refill(now time.Time) {
	d := now.Sub(b.last)
	if d <= 0 {
		return
	}
	b.last = now
	if b.num == 0 || b.tokens >= b.capacity {
		return
	}
	// Past the time to fill the bucket the exact amount does not matter;
	// clamping keeps the product finite and exact for realistic values.
	full := (b.capacity - b.tokens) * b.den / b.num
	if float64(d) >= full {
		b.tokens = b.capacity
		return
	}
	b.tokens = min(b.capacity, b.tokens+float64(d)*b.num/b.den)
}

// wait returns how long until n tokens are available, from the current
// (already refilled) level: 0 if they are, Never if the rate is zero. A
// deficit smaller than one nanosecond of refill counts as available, since
// no clock can resolve it; this keeps float rounding from denying a request
// made exactly when its token is due.
func (b *bucket) wait(n float64) time.Duration {
	if b.tokens >= n {
		return 0
	}
	if b.num == 0 {
		return Never
	}
	w := (n - b.tokens) * b.den / b.num
	if w < 1 {
		return 0
	}
	if w >= float64(Never) {
		return Never
	}
	return time.Duration(math.Ceil(w))
}

// take refills, then consumes n tokens if they are available (within the
// sub-nanosecond tolerance of wait). It reports whether it did and, if not,
// how long until it could; Never if n exceeds the capacity or nothing
// refills.
func (b *bucket) take(now time.Time, n float64) (bool, time.Duration) {
	b.refill(now)
	if n > b.capacity {
		return false, Never
	}
	w := b.wait(n)
	if w > 0 {
		return false, w
	}
	b.tokens = max(0, b.tokens-n)
	return true, 0
}

// BucketConfig configures a TokenBucket, as the reference's RateLimitConfig.
type BucketConfig struct {
	// Capacity is the most tokens the bucket holds; it must be positive.
	Capacity float64
	// RefillRate is tokens added per second; zero means the bucket never
	// refills (only Reset fills it). It must not be negative.
	RefillRate float64
	// InitialTokens is the starting level, from 0 to Capacity; nil means
	// full (the reference's None).
	InitialTokens *float64
	// Clock reads time; nil means the real clock.
	Clock Clock
}

// TokenBucket is a token bucket with the reference's TokenBucket semantics:
// refill min(capacity, tokens + elapsed*rate), consume(n), available,
// time-until-available and reset. It is safe for concurrent use.
type TokenBucket struct {
	clock Clock
	mu    sync.Mutex
	b     bucket // guarded by mu
}

// NewTokenBucket returns a bucket configured by cfg. Invalid settings give a
// *ConfigError with the reference's message: "capacity must be positive",
// "refill_rate must be non-negative" or "initial_tokens must be between 0
// and capacity".
func NewTokenBucket(cfg BucketConfig) (*TokenBucket, error) {
	if !(cfg.Capacity > 0) || math.IsInf(cfg.Capacity, 0) {
		return nil, &ConfigError{Field: "capacity", Msg: "capacity must be positive"}
	}
	if !(cfg.RefillRate >= 0) || math.IsInf(cfg.RefillRate, 0) {
		return nil, &ConfigError{Field: "refill_rate", Msg: "refill_rate must be non-negative"}
	}
	tokens := cfg.Capacity
	if cfg.InitialTokens != nil {
		tokens = *cfg.InitialTokens
		if !(tokens >= 0 && tokens <= cfg.Capacity) {
			return nil, &ConfigError{Field: "initial_tokens", Msg: "initial_tokens must be between 0 and capacity"}
		}
	}
	clock := clockOrSystem(cfg.Clock)
	return &TokenBucket{clock: clock, b: bucket{
		capacity: cfg.Capacity,
		num:      cfg.RefillRate,
		den:      float64(time.Second),
		tokens:   tokens,
		last:     clock.Now(),
	}}, nil
}

// Consume takes n tokens if that many are available and reports whether it
// did. n must be positive (ErrNonPositiveTokens otherwise). It does not
// allocate.
func (t *TokenBucket) Consume(n float64) (bool, error) {
	if !(n > 0) {
		return false, ErrNonPositiveTokens
	}
	now := t.clock.Now()
	t.mu.Lock()
	ok, _ := t.b.take(now, n)
	t.mu.Unlock()
	return ok, nil
}

// Available returns the current number of tokens.
func (t *TokenBucket) Available() float64 {
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.refill(now)
	return t.b.tokens
}

// TimeUntilAvailable returns how long until n tokens are available: 0 if
// they are now, Never (the reference's +Inf) if the refill rate is zero.
// As in the reference, an n above the capacity still gets deficit/rate,
// although Consume(n) can never succeed.
func (t *TokenBucket) TimeUntilAvailable(n float64) time.Duration {
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.refill(now)
	return t.b.wait(n)
}

// Reset fills the bucket to its capacity.
func (t *TokenBucket) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.tokens = t.b.capacity
	t.b.last = t.clock.Now()
}

// ResetTo sets the level to tokens, which must be from 0 to the capacity.
func (t *TokenBucket) ResetTo(tokens float64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !(tokens >= 0 && tokens <= t.b.capacity) {
		return &ConfigError{Field: "tokens", Msg: "tokens must be between 0 and capacity"}
	}
	t.b.tokens = tokens
	t.b.last = t.clock.Now()
	return nil
}

// Capacity returns the bucket's capacity.
func (t *TokenBucket) Capacity() float64 { return t.b.capacity }
