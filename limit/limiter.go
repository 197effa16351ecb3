package limit

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxKeys is the key-table bound of a Limiter whose MaxKeys is zero.
const DefaultMaxKeys = 100_000

// shardCount is the number of independently locked parts of a Limiter's key
// table; a power of two.
const shardCount = 32

// LimiterOptions configures a Limiter.
type LimiterOptions struct {
	// Clock reads time; nil means the real clock.
	Clock Clock
	// MaxKeys bounds how many keys hold a bucket at once; zero or negative
	// means DefaultMaxKeys. When the table is full, buckets that have
	// refilled completely are dropped (a full bucket is the same as a new
	// one, so nothing is forgotten); if none has, the new key is refused
	// (Allow denies, Check returns ErrTooManyKeys).
	MaxKeys int
	// Logger receives a warning when a new key is refused; nil discards.
	Logger *slog.Logger
}

// Limiter holds one token bucket per key, e.g. per agent and rule. A bucket
// for Rate{N, Per} holds up to N tokens and refills N per Per, so an idle
// key may burst N events and is held to N per Per on average. It is safe for
// concurrent use, and Allow for an existing key does not allocate.
type Limiter struct {
	clock   Clock
	log     *slog.Logger
	maxKeys int64
	seed    maphash.Seed
	base    time.Time    // gcra times are nanoseconds since base
	keys    atomic.Int64 // buckets held across all shards
	// nextSweep is the time (nanoseconds since base) before which a sweep of a full
	// table cannot free anything; 0 means sweep when needed.
	nextSweep atomic.Int64
	shards    [shardCount]limShard
}

type limShard struct {
	mu sync.Mutex
	m  map[string]*keyBucket // guarded by mu
}

type keyBucket struct {
	rate Rate
	g    gcra
}

// NewLimiter returns an empty Limiter configured by opts.
func NewLimiter(opts LimiterOptions) *Limiter {
	maxKeys := opts.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := clockOrSystem(opts.Clock)
	l := &Limiter{
		clock:   clock,
		base:    clock.Now(),
		log:     log.With("component", "limit"),
		maxKeys: int64(maxKeys),
		seed:    maphash.MakeSeed(),
	}
	for i := range l.shards {
		l.shards[i].m = make(map[string]*keyBucket)
	}
	return l
}

// allowStatus says why allow decided as it did.
type allowStatus uint8

const (
	statusOK allowStatus = iota
	statusLimited
	statusBadRate
	statusTooManyKeys
)

// Allow takes one event from key's bucket for rate r and reports whether it
// was admitted. On a denial retryAfter is how long until the key admits
// again (Never for an invalid Rate, which admits nothing); when the key
// table is full it is how long until room may appear. Allow does not
// allocate for a key that already has a bucket.
func (l *Limiter) Allow(key string, r Rate) (ok bool, retryAfter time.Duration) {
	st, wait := l.allow(key, r)
	return st == statusOK, wait
}

// Check is Allow returning the denial as an error: nil when admitted, a
// *RateLimitError ("rate limit 100/hour exceeded; retry in 36s") when the
// bucket is empty, an error matching ErrBadRate for an invalid Rate, and
// ErrTooManyKeys when a new key cannot be tracked. Only a denial allocates.
func (l *Limiter) Check(key string, r Rate) error {
	st, wait := l.allow(key, r)
	switch st {
	case statusOK:
		return nil
	case statusLimited:
		return &RateLimitError{Rate: r, RetryAfter: wait}
	case statusBadRate:
		return fmt.Errorf("%w: %d per %v: count must be 1 to %d and period positive and at most %v", ErrBadRate, r.N, r.Per, maxRateN, maxPer)
	case statusTooManyKeys:
		return fmt.Errorf("%w: %d keys are limiting; retry in %s", ErrTooManyKeys, l.maxKeys, FormatRetry(wait))
	default:
		return ErrRateLimited
	}
}

func (l *Limiter) shard(key string) *limShard {
	return &l.shards[maphash.String(l.seed, key)&(shardCount-1)]
}

func (l *Limiter) allow(key string, r Rate) (allowStatus, time.Duration) {
	if !validRate(r) {
		return statusBadRate, Never
	}
	now := int64(l.clock.Now().Sub(l.base))
	s := l.shard(key)
	s.mu.Lock()
	kb := s.m[key]
	if kb == nil {
		if !l.reserveKey() {
			s.mu.Unlock()
			wait := l.sweep(now)
			s.mu.Lock()
			if kb = s.m[key]; kb == nil && !l.reserveKey() {
				s.mu.Unlock()
				l.log.Warn("rate limiter key refused", "key", key, "max_keys", l.maxKeys)
				return statusTooManyKeys, wait
			}
		}
		if kb == nil {
			kb = &keyBucket{rate: r, g: newGCRA(r, now)}
			s.m[key] = kb
		}
	}
	if kb.rate != r {
		kb.g.resize(r, now)
		kb.rate = r
	}
	ok, wait := kb.g.take(now)
	s.mu.Unlock()
	if ok {
		return statusOK, 0
	}
	return statusLimited, wait
}

// reserveKey counts one more key if the table has room.
func (l *Limiter) reserveKey() bool {
	for {
		n := l.keys.Load()
		if n >= l.maxKeys {
			return false
		}
		if l.keys.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// sweep drops every bucket that has refilled completely and returns how
// long until the soonest remaining bucket will have (0 if it freed room).
// A sweep that frees nothing is not repeated before that time.
func (l *Limiter) sweep(now int64) time.Duration {
	if next := l.nextSweep.Load(); next != 0 && now < next {
		return time.Duration(next - now)
	}
	freed := 0
	soonest := Never
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for k, kb := range s.m {
			d := kb.g.untilFull(now)
			if d == 0 {
				delete(s.m, k)
				freed++
				continue
			}
			soonest = min(soonest, d)
		}
		s.mu.Unlock()
	}
	l.keys.Add(int64(-freed))
	if freed > 0 {
		l.nextSweep.Store(0)
		return 0
	}
	soonest = max(soonest, time.Millisecond)
	if soonest < Never && now < (1<<63-1)-int64(soonest) {
		l.nextSweep.Store(now + int64(soonest))
	}
	return soonest
}

// Len returns the number of keys holding a bucket.
func (l *Limiter) Len() int { return int(l.keys.Load()) }

// Forget drops key's bucket, so its next event starts a full bucket.
func (l *Limiter) Forget(key string) {
	s := l.shard(key)
	s.mu.Lock()
	if _, ok := s.m[key]; ok {
		delete(s.m, key)
		l.keys.Add(-1)
	}
	s.mu.Unlock()
}
