package ui

import (
	"encoding/json"
	"sync"
	"time"
)

// Event types the dashboard understands. They are the daemon's live event
// types (server.EventDecision and the others); events of other types are
// ignored.
const (
	// EventDecision: a governed action was decided; Data is its audit event.
	EventDecision = "decision"
	// EventSignal: a signal was sent to an agent; Data is its audit event.
	EventSignal = "signal"
	// EventApproval: an approval request changed; Data is an approval.Event.
	EventApproval = "approval"
	// EventPolicyReload: a policy reload succeeded or failed; Data is the
	// reload outcome ({trigger, old_version, new_version, error}) or the
	// reload's audit event.
	EventPolicyReload = "policy_reload"
	// EventLifecycle: an agent was spawned or removed; Data is its audit
	// event.
	EventLifecycle = "agent"
	// EventDropped: the subscriber fell behind and its stream ends.
	EventDropped = "dropped"
)

// Event is one item of the daemon's live stream.
type Event struct {
	// ID increases by one per published event.
	ID uint64
	// Type is one of the Event* constants (others are ignored).
	Type string
	// Time is when the event was published.
	Time time.Time
	// Data is the event's JSON payload.
	Data json.RawMessage
}

// EventSource is the daemon's live event stream (server.Hub through
// [Relay]). Subscribe returns a channel delivering every event published
// from now on and a function ending the subscription; the channel is
// closed after cancel, when the source closes, and after the subscriber
// fell behind (then its last event is of type EventDropped). queue bounds
// the subscriber's backlog; 0 means the source's default.
type EventSource interface {
	Subscribe(queue int) (events <-chan Event, cancel func())
}

// Relay adapts a source whose events are of another type T to an
// EventSource: subscribe is the source's own subscription, convert maps one
// of its events to an Event. Each subscription runs one goroutine copying
// events; it ends when the source's channel closes or the subscription is
// cancelled, so a cancelled subscriber never leaks it.
func Relay[T any](subscribe func(queue int) (<-chan T, func()), convert func(T) Event) EventSource {
	return relay[T]{subscribe: subscribe, convert: convert}
}

type relay[T any] struct {
	subscribe func(queue int) (<-chan T, func())
	convert   func(T) Event
}

// Subscribe implements EventSource.
func (r relay[T]) Subscribe(queue int) (<-chan Event, func()) {
	in, cancelIn := r.subscribe(queue)
	if queue <= 0 {
		queue = 64
	}
	out := make(chan Event, queue)
	done := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-done:
				return
			case ev, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- r.convert(ev):
				case <-done:
					return
				}
			}
		}
	}()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			close(done)
			cancelIn()
		})
	}
}
