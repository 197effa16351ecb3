package signals

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time. A Dispatcher reads it only to stamp signals.
type Clock interface {
	Now() time.Time
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Defaults for zero Options fields.
const (
	// DefaultHistorySize is the history ring's length when
	// Options.HistorySize is 0.
	DefaultHistorySize = 128
	// DefaultQueueSize is the pending queue's bound when Options.QueueSize
	// is 0.
	DefaultQueueSize = 64
)

// DefaultSource is the Source recorded for a signal sent with an empty one.
const DefaultSource = "kernel"

// Info is one signal as sent to an agent, as recorded in its history and as
// passed to notifications.
type Info struct {
	// Signal is the signal sent.
	Signal Signal `json:"signal"`
	// Time is when it was sent (from Options.Clock).
	Time time.Time `json:"time"`
	// Source names the sender, e.g. "kernel", "policy", "operator".
	Source string `json:"source"`
	// Reason says why, e.g. the violated rule for SIGPOLICY.
	Reason string `json:"reason,omitempty"`
	// Context holds extra fields supplied by the sender. The map is kept as
	// given; the sender must not change it afterwards.
	Context map[string]any `json:"context,omitempty"`
	// Outcome is what became of the signal. Set by the Dispatcher.
	Outcome Outcome `json:"outcome"`
	// State is the agent's state after the signal was handled. Set by the
	// Dispatcher.
	State State `json:"state"`
}

// Options configure a Dispatcher.
type Options struct {
	// AgentID names the agent in logs and errors. "" is allowed but makes
	// both harder to read.
	AgentID string
	// Parent is the context the agent's context derives its values from.
	// When Parent ends, the agent is terminated (as by SIGTERM from
	// "kernel", even if SIGTERM is blocked), so the agent's context is
	// cancelled exactly when the agent is terminated. nil: no parent
	// (context.Background()).
	Parent context.Context
	// Clock stamps signals. nil: the wall clock.
	Clock Clock
	// Logger receives terminations, ignored signals and recovered
	// notification panics. nil: discard logs.
	Logger *slog.Logger
	// HistorySize bounds the history ring (the oldest entries are
	// overwritten). 0: DefaultHistorySize. Negative: no history.
	HistorySize int
	// QueueSize bounds the queue of blocked signals waiting for Unblock;
	// beyond it Send refuses with ErrQueueFull. 0: DefaultQueueSize.
	// Negative: blocked signals are always refused.
	QueueSize int
}

// handler is one registered notification.
type handler struct {
	id uint64
	fn func(Info)
}

// delivery is a notification to run once the lock is released.
type delivery struct {
	info     Info
	handlers []handler
}

// Dispatcher is one agent's signal state machine. All methods are safe for
// concurrent use. Build it with New.
type Dispatcher struct {
	agentID string
	clock   Clock
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelCauseFunc

	// state mirrors st for lock-free reads by State and Wait.
	state atomic.Uint32
	// term is set, before state becomes Terminated, to the error that
	// describes the termination.
	term atomic.Pointer[TerminationError]

	// stopParent stops the callback watching Options.Parent. Set once in
	// New, before the Dispatcher is shared.
	stopParent func() bool

	mu sync.Mutex
	// st is the agent state; guarded by mu.
	st State
	// changed is closed (and replaced, unless terminal) on every state
	// change; guarded by mu.
	changed chan struct{}
	// mask has bit s set when signal s is blocked; guarded by mu.
	mask uint16
	// pending is the FIFO of blocked signals; guarded by mu.
	pending   []Info
	queueSize int
	// history is a ring of hcount entries ending before hnext; guarded by
	// mu.
	history []Info
	hnext   int
	hcount  int
	// handlers[s] is copied on write, so a snapshot taken under mu stays
	// valid after it is released; guarded by mu.
	handlers [maxSignal + 1][]handler
	nextID   uint64
}

// New returns a running agent's Dispatcher.
func New(opts Options) *Dispatcher {
	d := &Dispatcher{
		agentID: opts.AgentID,
		clock:   opts.Clock,
		log:     opts.Logger,
		changed: make(chan struct{}),
	}
	if d.clock == nil {
		d.clock = realClock{}
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With(slog.String("component", "signals"), slog.String("agent_id", opts.AgentID))
	switch n := opts.HistorySize; {
	case n == 0:
		d.history = make([]Info, DefaultHistorySize)
	case n > 0:
		d.history = make([]Info, n)
	}
	switch n := opts.QueueSize; {
	case n == 0:
		d.queueSize = DefaultQueueSize
	case n > 0:
		d.queueSize = n
	}
	parent := opts.Parent
	if parent == nil {
		parent = context.Background()
	}
	// The agent context keeps Parent's values but is cancelled only by
	// termination; Parent's end is turned into a termination below, so the
	// context is cancelled if and only if the agent is terminated.
	d.ctx, d.cancel = context.WithCancelCause(context.WithoutCancel(parent))
	// The callback may run at once if parent is already done; it takes
	// d.mu, so it waits until stopParent is set.
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopParent = context.AfterFunc(parent, func() {
		reason := "parent context done"
		if cause := context.Cause(parent); cause != nil {
			reason += ": " + cause.Error()
		}
		d.terminateFromParent(reason)
	})
	return d
}

// AgentID returns Options.AgentID.
func (d *Dispatcher) AgentID() string { return d.agentID }

// State returns the agent's current state without locking.
func (d *Dispatcher) State() State { return State(d.state.Load()) }

// Context returns the agent's context. It carries Options.Parent's values
// and is cancelled when, and only when, the agent is terminated; its cause
// (context.Cause) is a *TerminationError matching ErrKilled for forced
// terminations and ErrTerminated for all. Run the agent's work under it so
// that SIGKILL interrupts the work.
func (d *Dispatcher) Context() context.Context { return d.ctx }

// Done is Context().Done(): closed when the agent is terminated.
func (d *Dispatcher) Done() <-chan struct{} { return d.ctx.Done() }

// Err returns the *TerminationError of a terminated agent, or nil while it
// is running or stopped.
func (d *Dispatcher) Err() error {
	if t := d.term.Load(); t != nil {
		return t
	}
	return nil
}

// Wait returns nil at once when the agent is running, blocks while it is
// stopped, and returns a *TerminationError (matching ErrTerminated) once it
// is terminated. If ctx ends while the agent is stopped, Wait returns
// ctx.Err(). It does not poll, and on a running agent it neither locks nor
// allocates; the kernel calls it at the start of every syscall.
func (d *Dispatcher) Wait(ctx context.Context) error {
	for {
		switch State(d.state.Load()) {
		case Running:
			return nil
		case Terminated:
			return d.term.Load()
		}
		d.mu.Lock()
		st, ch := d.st, d.changed
		d.mu.Unlock()
		if st != Stopped {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			// A transition and ctx's end may race; the transition wins so
			// that a resumed or terminated agent is reported as such.
			switch State(d.state.Load()) {
			case Running:
				return nil
			case Terminated:
				return d.term.Load()
			}
			return ctx.Err()
		}
	}
}

// Send sends sig from source (empty: DefaultSource) for reason and returns
// the recorded Info. See SendInfo.
func (d *Dispatcher) Send(sig Signal, source, reason string) (Info, error) {
	return d.SendInfo(Info{Signal: sig, Source: source, Reason: reason})
}

// SendInfo sends info.Signal with info's source, reason and context; a zero
// info.Time is set from the Clock, an empty Source to DefaultSource, and
// Outcome and State are set by the Dispatcher.
//
// The state transition happens first and always: notifications (see
// Notify) run afterwards and cannot prevent or undo it. A signal to a
// terminated agent is recorded as Ignored and returns no error. A blocked
// signal is queued (Queued) for Unblock, or refused with ErrQueueFull when
// the queue is full. An invalid signal returns an error wrapping
// ErrInvalidSignal and is not recorded.
//
// Notifications run on the calling goroutine after the lock is released,
// in registration order; they may call the Dispatcher. Notifications for
// signals sent concurrently from several goroutines may interleave; the
// history has the authoritative order.
func (d *Dispatcher) SendInfo(info Info) (Info, error) {
	if !info.Signal.Valid() {
		return info, fmt.Errorf("send to agent %s: %w: %d", d.agentID, ErrInvalidSignal, uint8(info.Signal))
	}
	if info.Time.IsZero() {
		info.Time = d.clock.Now()
	}
	if info.Source == "" {
		info.Source = DefaultSource
	}
	d.mu.Lock()
	switch {
	case d.st == Terminated:
		info.Outcome, info.State = Ignored, Terminated
		d.recordLocked(info)
		d.mu.Unlock()
		d.logIgnored(info)
		return info, nil
	case d.mask&(1<<info.Signal) != 0:
		info.State = d.st
		if len(d.pending) >= d.queueSize {
			info.Outcome = Refused
			d.recordLocked(info)
			d.mu.Unlock()
			return info, fmt.Errorf("send %s to agent %s: %w (%d signals)", info.Signal, d.agentID, ErrQueueFull, d.queueSize)
		}
		info.Outcome = Queued
		d.pending = append(d.pending, info)
		d.recordLocked(info)
		d.mu.Unlock()
		return info, nil
	}
	dl := d.deliverLocked(info)
	d.mu.Unlock()
	d.notify(dl)
	return dl.info, nil
}

// Block blocks the given maskable signals: until Unblock, sending one
// queues it instead of delivering it. SIGKILL, SIGPOLICY and SIGTRUST cannot
// be blocked: if any is listed, Block returns an error wrapping
// ErrUnmaskable and blocks nothing. An invalid signal likewise blocks
// nothing and returns an error wrapping ErrInvalidSignal.
func (d *Dispatcher) Block(sigs ...Signal) error {
	var bits uint16
	for _, s := range sigs {
		if !s.Valid() {
			return fmt.Errorf("block on agent %s: %w: %d", d.agentID, ErrInvalidSignal, uint8(s))
		}
		if s.Unmaskable() {
			return fmt.Errorf("block %s on agent %s: %w", s, d.agentID, ErrUnmaskable)
		}
		bits |= 1 << s
	}
	d.mu.Lock()
	d.mask |= bits
	d.mu.Unlock()
	return nil
}

// Unblock unblocks the given signals and then delivers, in the order they
// were sent, every queued signal that is no longer blocked; signals still
// blocked stay queued. Each delivery is recorded in the history as
// Delivered (after its earlier Queued entry). If a delivered signal
// terminates the agent, the rest of the queue is discarded. Unblocking an
// unmaskable signal is a no-op; an invalid signal unblocks nothing and
// returns an error wrapping ErrInvalidSignal.
func (d *Dispatcher) Unblock(sigs ...Signal) error {
	var bits uint16
	for _, s := range sigs {
		if !s.Valid() {
			return fmt.Errorf("unblock on agent %s: %w: %d", d.agentID, ErrInvalidSignal, uint8(s))
		}
		bits |= 1 << s
	}
	d.mu.Lock()
	d.mask &^= bits
	queue := d.pending
	d.pending = make([]Info, 0, len(queue))
	var out []delivery
	for _, info := range queue {
		switch {
		case d.st == Terminated:
			d.discardLocked(info)
		case d.mask&(1<<info.Signal) != 0:
			d.pending = append(d.pending, info)
		default:
			out = append(out, d.deliverLocked(info))
		}
	}
	d.mu.Unlock()
	for _, dl := range out {
		d.notify(dl)
	}
	return nil
}

// Blocked reports whether sig is currently blocked.
func (d *Dispatcher) Blocked(sig Signal) bool {
	if !sig.Valid() {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mask&(1<<sig) != 0
}

// Pending returns a copy of the queued (blocked) signals, oldest first.
func (d *Dispatcher) Pending() []Info {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Info(nil), d.pending...)
}

// Notify registers h to be called with the Info of every delivered sig,
// after its state transition. A notification observes; it cannot prevent,
// replace or undo the transition, so registering one for an unmaskable
// signal is allowed. A panic in h is recovered and logged, and the agent's
// state is unaffected. Queued, ignored and refused signals are not
// notified. Registering on a terminated agent is allowed but the handler
// is never called. cancel removes the registration; it is idempotent. An invalid
// signal or a nil h returns an error wrapping ErrInvalidSignal or a plain
// error.
func (d *Dispatcher) Notify(sig Signal, h func(Info)) (cancel func(), err error) {
	if !sig.Valid() {
		return nil, fmt.Errorf("notify on agent %s: %w: %d", d.agentID, ErrInvalidSignal, uint8(sig))
	}
	if h == nil {
		return nil, fmt.Errorf("notify %s on agent %s: nil handler", sig, d.agentID)
	}
	d.mu.Lock()
	d.nextID++
	id := d.nextID
	old := d.handlers[sig]
	hs := make([]handler, len(old), len(old)+1)
	copy(hs, old)
	d.handlers[sig] = append(hs, handler{id: id, fn: h})
	d.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			old := d.handlers[sig]
			hs := make([]handler, 0, len(old))
			for _, x := range old {
				if x.id != id {
					hs = append(hs, x)
				}
			}
			d.handlers[sig] = hs
		})
	}, nil
}

// History returns the recorded signals, oldest first: at most
// Options.HistorySize entries, the oldest overwritten first. A signal that
// was queued appears twice: as Queued when sent, then as Delivered when
// Unblock delivered it or as Ignored when termination discarded it.
func (d *Dispatcher) History() []Info {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Info, 0, d.hcount)
	start := d.hnext - d.hcount
	if start < 0 {
		start += len(d.history)
	}
	for i := range d.hcount {
		out = append(out, d.history[(start+i)%len(d.history)])
	}
	return out
}

// recordLocked appends info to the history ring. d.mu must be held.
func (d *Dispatcher) recordLocked(info Info) {
	if len(d.history) == 0 {
		return
	}
	d.history[d.hnext] = info
	d.hnext = (d.hnext + 1) % len(d.history)
	if d.hcount < len(d.history) {
		d.hcount++
	}
}

// setStateLocked changes the state and wakes every Wait. d.mu must be held.
func (d *Dispatcher) setStateLocked(st State) {
	if st == d.st {
		return
	}
	d.st = st
	d.state.Store(uint32(st))
	close(d.changed)
	if st != Terminated {
		d.changed = make(chan struct{})
	}
}

// deliverLocked applies info's transition, records it and returns the
// notification to run once d.mu is released. d.mu must be held and the
// agent must not be terminated.
func (d *Dispatcher) deliverLocked(info Info) delivery {
	switch table[info.Signal].effect {
	case effectStop:
		d.setStateLocked(Stopped)
	case effectCont:
		d.setStateLocked(Running)
	case effectTerminate, effectKill:
		d.terminateLocked(info)
	}
	info.Outcome, info.State = Delivered, d.st
	d.recordLocked(info)
	return delivery{info: info, handlers: d.handlers[info.Signal]}
}

// terminateLocked ends the agent: it records the cause, cancels the
// context, wakes waiters and discards the pending queue. d.mu must be held.
func (d *Dispatcher) terminateLocked(info Info) {
	info.Outcome, info.State = Delivered, Terminated
	te := &TerminationError{AgentID: d.agentID, Info: info}
	d.term.Store(te)
	d.setStateLocked(Terminated)
	d.cancel(te)
	if d.stopParent != nil {
		d.stopParent()
	}
	for _, p := range d.pending {
		d.discardLocked(p)
	}
	d.pending = nil
	if d.log.Enabled(context.Background(), slog.LevelInfo) {
		d.log.LogAttrs(context.Background(), slog.LevelInfo, "agent terminated",
			slog.String("signal", info.Signal.String()),
			slog.String("source", info.Source),
			slog.String("reason", info.Reason))
	}
}

// discardLocked records a queued signal dropped because the agent was
// terminated before it could be delivered. d.mu must be held.
func (d *Dispatcher) discardLocked(info Info) {
	info.Outcome, info.State = Ignored, Terminated
	d.recordLocked(info)
}

// terminateFromParent terminates the agent because Options.Parent ended.
// It bypasses the mask: a blocked SIGTERM must not keep the context alive.
func (d *Dispatcher) terminateFromParent(reason string) {
	info := Info{Signal: SIGTERM, Time: d.clock.Now(), Source: DefaultSource, Reason: reason}
	d.mu.Lock()
	if d.st == Terminated {
		d.mu.Unlock()
		return
	}
	dl := d.deliverLocked(info)
	d.mu.Unlock()
	d.notify(dl)
}

// notify runs dl's handlers in order, recovering and logging panics.
func (d *Dispatcher) notify(dl delivery) {
	for _, h := range dl.handlers {
		d.call(h.fn, dl.info)
	}
}

// call runs one handler, recovering a panic.
func (d *Dispatcher) call(fn func(Info), info Info) {
	defer func() {
		if r := recover(); r != nil {
			d.log.LogAttrs(context.Background(), slog.LevelError, "signal notification panicked",
				slog.String("signal", info.Signal.String()),
				slog.Any("panic", r))
		}
	}()
	fn(info)
}

// logIgnored logs a signal sent to a terminated agent.
func (d *Dispatcher) logIgnored(info Info) {
	if d.log.Enabled(context.Background(), slog.LevelDebug) {
		d.log.LogAttrs(context.Background(), slog.LevelDebug, "signal ignored: agent terminated",
			slog.String("signal", info.Signal.String()),
			slog.String("source", info.Source))
	}
}
