package mcp

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Replay buffer defaults for zero ProxyOptions fields.
const (
	DefaultReplayEvents = 256
	DefaultReplayBytes  = 4 << 20
)

// replayEvent is one event the proxy sent a client on an event stream,
// after screening.
type replayEvent struct {
	stream, seq uint64
	b           []byte
}

// replayLog is the bounded per-session buffer of the events sent on the
// session's event streams, kept so that a client that lost a stream can
// resume it (GET with Last-Event-ID). When a bound is passed the oldest
// events are evicted; a resumption asking for an evicted event gets the
// events still held.
type replayLog struct {
	maxEvents int
	maxBytes  int64

	mu      sync.Mutex
	evs     []replayEvent // oldest first; guarded by mu
	bytes   int64         // guarded by mu
	evicted uint64        // events evicted so far; guarded by mu
}

func newReplayLog(maxEvents int, maxBytes int64) *replayLog {
	return &replayLog{maxEvents: maxEvents, maxBytes: maxBytes}
}

// add records an event, evicting the oldest beyond the bounds.
func (l *replayLog) add(stream, seq uint64, b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, replayEvent{stream: stream, seq: seq, b: b})
	l.bytes += int64(len(b))
	n := 0
	for len(l.evs)-n > l.maxEvents || (l.bytes > l.maxBytes && n < len(l.evs)) {
		l.bytes -= int64(len(l.evs[n].b))
		n++
	}
	if n > 0 {
		l.evicted += uint64(n)
		l.evs = slices.Delete(l.evs, 0, n)
	}
}

// after returns the events of stream whose sequence number is above seq,
// oldest first, and whether some of them were evicted (upTo is the last
// sequence number the stream issued).
func (l *replayLog) after(stream, seq, upTo uint64) (out []item, gap bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.evs {
		if ev.stream == stream && ev.seq > seq {
			out = append(out, item{b: ev.b, id: eventID(ev.stream, ev.seq), final: false})
		}
	}
	return out, uint64(len(out)) < upTo-min(seq, upTo)
}

// len returns the number of events and bytes held.
func (l *replayLog) len() (int, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.evs), l.bytes
}

// eventID is the SSE event ID of the seq-th event of a stream. IDs are
// unique within a session; stream 0 is the standalone (GET) stream.
func eventID(stream, seq uint64) string {
	return strconv.FormatUint(stream, 10) + "-" + strconv.FormatUint(seq, 10)
}

// errEventID is the error of an event ID the proxy did not issue.
var errEventID = errors.New("Last-Event-ID was not issued by this proxy")

// parseEventID parses an ID made by eventID.
func parseEventID(id string) (stream, seq uint64, err error) {
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, errEventID
	}
	if stream, err = strconv.ParseUint(a, 10, 64); err != nil {
		return 0, 0, errEventID
	}
	if seq, err = strconv.ParseUint(b, 10, 64); err != nil {
		return 0, 0, errEventID
	}
	return stream, seq, nil
}
