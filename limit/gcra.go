package limit

import "time"

// maxPer bounds a Rate's period so that the integer arithmetic below cannot
// overflow (about 146 years).
const maxPer = time.Duration(1 << 62)

// gcra is an exact integer token bucket for a Rate{N, Per} (the generic
// cell rate algorithm): one event costs an interval T = ceil(Per/N)
// nanoseconds, and the bucket admits an event while the theoretical arrival
// time tat, advanced by T, stays within tau = N*T of now. That is a bucket
// of capacity N refilling one token every T. Times are nanoseconds since an
// owner-chosen base. Rounding T up makes an uneven rate (3 per 7s) very
// slightly stricter, never looser; a rate above one event per nanosecond is
// held to one per nanosecond. It is not safe for concurrent use.
type gcra struct {
	interval int64 // T, at least 1
	tau      int64 // N*T
	tat      int64
}

// validRate reports whether r can drive a gcra.
func validRate(r Rate) bool { return r.N > 0 && r.Per > 0 && r.Per <= maxPer && r.N <= maxRateN }

// newGCRA returns a full bucket for a valid r at time now.
func newGCRA(r Rate, now int64) gcra {
	n, per := int64(r.N), int64(r.Per)
	t := per / n
	if per%n != 0 || t == 0 {
		t++
	}
	return gcra{interval: t, tau: t * n, tat: now}
}

// take admits one event at now if the bucket allows, else reports how long
// until it will.
func (g *gcra) take(now int64) (bool, time.Duration) {
	tat := max(g.tat, now)
	next := tat + g.interval
	if next-now > g.tau {
		return false, time.Duration(next - g.tau - now)
	}
	g.tat = next
	return true, 0
}

// wait returns how long until one event is admitted, without taking it.
func (g *gcra) wait(now int64) time.Duration {
	next := max(g.tat, now) + g.interval
	if next-now > g.tau {
		return time.Duration(next - g.tau - now)
	}
	return 0
}

// used returns the tokens not yet refilled at now (0 for a full bucket).
func (g *gcra) used(now int64) int64 {
	debt := g.tat - now
	if debt <= 0 {
		return 0
	}
	return (debt + g.interval - 1) / g.interval
}

// untilFull returns how long until the bucket is full again.
func (g *gcra) untilFull(now int64) time.Duration { return time.Duration(max(0, g.tat-now)) }

// resize keeps the tokens used so far when the rate changes, clamped to the
// new capacity.
func (g *gcra) resize(r Rate, now int64) {
	used := g.used(now)
	ng := newGCRA(r, now)
	if n := int64(r.N); used > n {
		used = n
	}
	ng.tat = now + used*ng.interval
	*g = ng
}
