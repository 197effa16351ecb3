package audit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Clock tells the time. Memory reads it to stamp events that have none.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// DefaultMaxEvents is Memory's bound when MemoryOptions.MaxEvents is 0.
const DefaultMaxEvents = 1 << 16

// chunkSize is how many events one storage chunk holds.
const chunkSize = 1024

// MemoryOptions configure a Memory log.
type MemoryOptions struct {
	// Clock stamps events whose Time is zero. nil: the wall clock.
	Clock Clock
	// MaxEvents bounds the log. When it is full, Append fails with ErrFull
	// so that the action is denied (the log fails closed rather than
	// forgetting). 0: DefaultMaxEvents. Negative: an error.
	MaxEvents int
}

// Memory is a bounded, hash-chained audit log held in memory: the
// reference implementation of the chain, used by tests, examples and the
// library when no durable store is configured. Nothing survives the
// process. All methods are safe for concurrent use.
type Memory struct {
	clock Clock
	max   int

	mu sync.Mutex
	// chunks hold the appended events in order, chunkSize per chunk except
	// the last, so that appending never copies earlier events; an event
	// never changes once appended. Guarded by mu.
	chunks [][]Event
	// n is the number of events. Guarded by mu.
	n int
	// last is the raw hash of the last event (zero: genesis); lastHex its
	// hex form. Guarded by mu.
	last    [32]byte
	lastHex string
	// buf is scratch space for the hash input. Guarded by mu.
	buf []byte
}

// NewMemory returns an empty Memory log. A negative MaxEvents is an error.
func NewMemory(opts MemoryOptions) (*Memory, error) {
	if opts.MaxEvents < 0 {
		return nil, fmt.Errorf("audit memory log: MaxEvents %d: must be 0 (default) or positive", opts.MaxEvents)
	}
	m := &Memory{clock: opts.Clock, max: opts.MaxEvents, lastHex: GenesisHash, buf: make([]byte, 0, 1024)}
	if m.clock == nil {
		m.clock = realClock{}
	}
	if m.max == 0 {
		m.max = DefaultMaxEvents
	}
	return m, nil
}

// Append records e at the end of the log. Under one lock it assigns e.Seq
// (the next sequence number), e.Time (Clock().Now() if zero; always
// converted to UTC), e.PrevHash (the last event's hash, GenesisHash first)
// and e.Hash, overwriting whatever they held; the other fields are
// recorded as given, with Args in canonical form. On any error nothing is
// recorded and e is unchanged: ctx already done, an invalid Kind or field
// (ErrInvalidEvent), or a full log (ErrFull). The caller must deny the
// action on error.
func (m *Memory) Append(ctx context.Context, e *Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	if e == nil {
		return fmt.Errorf("%w: nil event", ErrInvalidEvent)
	}
	if !e.Kind.Valid() {
		return fmt.Errorf("%w: kind: unknown kind %q", ErrInvalidEvent, e.Kind)
	}
	ev := *e
	if ev.Time.IsZero() {
		ev.Time = m.clock.Now()
	}
	ev.Time = ev.Time.UTC()

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n >= m.max {
		return fmt.Errorf("audit append: %w (%d events)", ErrFull, m.max)
	}
	ev.Seq = uint64(m.n)
	ev.PrevHash = m.lastHex
	ev.Hash = ""
	buf := append(m.buf[:0], m.last[:]...)
	buf, args, err := appendEvent(buf, &ev, false)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	m.buf = buf
	sum := sha256.Sum256(buf)
	ev.Hash = encodeHash(sum)
	// Store the canonical args, a copy the caller cannot change.
	if len(ev.Args) > 0 {
		ev.Args = append([]byte(nil), buf[args.start:args.end]...)
	}
	if len(m.chunks) == 0 || len(m.chunks[len(m.chunks)-1]) == chunkSize {
		m.chunks = append(m.chunks, make([]Event, 0, min(chunkSize, m.max-m.n)))
	}
	last := &m.chunks[len(m.chunks)-1]
	*last = append(*last, ev)
	m.n++
	m.last, m.lastHex = sum, ev.Hash
	e.Seq, e.Time, e.PrevHash, e.Hash = ev.Seq, ev.Time, ev.PrevHash, ev.Hash
	return nil
}

// Len returns the number of events in the log.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// snapshot returns the chunks as they are now. Appended events never
// change, so the snapshot can be read without the lock.
func (m *Memory) snapshot() [][]Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.chunks)
}

// Events returns copies of the events with from ≤ Seq < to, in order; to
// beyond the end is clamped, and from ≥ to gives none.
func (m *Memory) Events(from, to uint64) []Event {
	if from >= to {
		return nil
	}
	var out []Event
	var seq uint64
	for _, c := range m.snapshot() {
		lo, hi := seq, seq+uint64(len(c))
		seq = hi
		if hi <= from || lo >= to {
			continue
		}
		for _, e := range c[max(from, lo)-lo : min(to, hi)-lo] {
			e.Args = append([]byte(nil), e.Args...)
			out = append(out, e)
		}
	}
	return out
}

// Verify recomputes the whole chain from GenesisHash and returns a
// *ChainError (matching ErrChainBroken) naming the first bad sequence
// number, or nil.
func (m *Memory) Verify() error {
	prev, seq := GenesisHash, uint64(0)
	for _, c := range m.snapshot() {
		if err := verifyFrom(c, prev, seq); err != nil {
			return err
		}
		if len(c) > 0 {
			prev, seq = c[len(c)-1].Hash, seq+uint64(len(c))
		}
	}
	return nil
}
