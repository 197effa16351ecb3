package server

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// Event types on the hub and the SSE stream.
const (
	EventDecision     = "decision"      // a governed action was decided (an audit event of kind syscall or tool_call)
	EventSignal       = "signal"        // a signal was sent to an agent
	EventApproval     = "approval"      // an approval request changed
	EventPolicyReload = "policy_reload" // a policy reload succeeded or failed
	EventLifecycle    = "agent"         // an agent was spawned or removed
	EventDropped      = "dropped"       // the last event of a subscriber that fell behind
)

// Event is one item of the live stream.
type Event struct {
	// ID increases by one per published event.
	ID uint64 `json:"id"`
	// Type is one of the Event* constants.
	Type string `json:"type"`
	// Time is when it was published.
	Time time.Time `json:"time"`
	// Data is the event's JSON payload: an audit event for decisions and
	// signals, an approval event, a reload outcome.
	Data json.RawMessage `json:"data"`
}

// DefaultSubscriberQueue bounds each subscriber's queue when Subscribe is
// given 0.
const DefaultSubscriberQueue = 256

// Hub fans events out to subscribers: the SSE endpoint and, in process,
// the dashboard. Publishing never blocks: a subscriber whose queue is full
// is dropped, and its channel delivers one final EventDropped and closes.
// It is safe for concurrent use.
type Hub struct {
	clock Clock
	seq   atomic.Uint64
	n     atomic.Int32 // number of subscribers, read without the lock

	mu     sync.Mutex
	subs   map[*Subscription]struct{} // guarded by mu
	closed bool                       // guarded by mu
}

// NewHub returns an empty hub. nil clock: the wall clock.
func NewHub(clock Clock) *Hub {
	if clock == nil {
		clock = wallClock{}
	}
	return &Hub{clock: clock, subs: map[*Subscription]struct{}{}}
}

// Subscription is one subscriber's queue.
type Subscription struct {
	c       chan Event
	hub     *Hub
	dropped bool // guarded by hub.mu
	done    bool // guarded by hub.mu
}

// C delivers the events. It is closed after Cancel, after Hub.Close, and
// after the subscriber fell behind (then the last event is EventDropped).
func (s *Subscription) C() <-chan Event { return s.c }

// Cancel ends the subscription and closes C. It is idempotent.
func (s *Subscription) Cancel() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s)
}

// removeLocked ends s. h.mu must be held.
func (h *Hub) removeLocked(s *Subscription) {
	if s.done {
		return
	}
	s.done = true
	delete(h.subs, s)
	h.n.Add(-1)
	close(s.c)
}

// Subscribe adds a subscriber with a queue of size queue (0:
// DefaultSubscriberQueue). After Close it returns a closed subscription.
func (h *Hub) Subscribe(queue int) *Subscription {
	if queue <= 0 {
		queue = DefaultSubscriberQueue
	}
	// One slot is kept for the final EventDropped.
	s := &Subscription{c: make(chan Event, queue+1), hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.done = true
		close(s.c)
		return s
	}
	h.subs[s] = struct{}{}
	h.n.Add(1)
	return s
}

// Active reports whether anyone is subscribed, so publishers can skip
// building an event nobody reads.
func (h *Hub) Active() bool { return h.n.Load() > 0 }

// Publish sends an event of type typ with data (encoded as JSON) to every
// subscriber, without blocking.
func (h *Hub) Publish(typ string, data any) {
	if !h.Active() {
		return
	}
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	h.PublishRaw(typ, b)
}

// PublishRaw is Publish with data already encoded. The hub keeps data: the
// caller must not change it afterwards.
func (h *Hub) PublishRaw(typ string, data json.RawMessage) {
	if !h.Active() {
		return
	}
	ev := Event{ID: h.seq.Add(1), Type: typ, Time: h.clock.Now().UTC(), Data: data}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if len(s.c) >= cap(s.c)-1 {
			// Full: drop the subscriber, telling it so in the slot kept
			// for this.
			s.dropped = true
			s.c <- Event{ID: ev.ID, Type: EventDropped, Time: ev.Time,
				Data: json.RawMessage(`{"reason":"subscriber fell behind; reconnect"}`)}
			h.removeLocked(s)
			continue
		}
		s.c <- ev
	}
}

// Close ends every subscription and refuses new ones. It is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.removeLocked(s)
	}
}
