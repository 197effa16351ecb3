package approval

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for zero Options fields.
const (
	DefaultTimeout       = 10 * time.Minute
	DefaultMaxTimeout    = 24 * time.Hour
	DefaultMaxPending    = 10_000
	DefaultMaxHistory    = 10_000
	DefaultRecordTimeout = 5 * time.Second
)

// Options configure a Broker. The zero value is a usable broker on the
// wall clock that records nothing, notifies no one and never auto-denies.
type Options struct {
	// Clock stamps requests and votes and schedules expiry. nil: the wall
	// clock.
	Clock Clock
	// Logger receives the broker's logs. nil: discard.
	Logger *slog.Logger
	// DefaultTimeout is the life of a request whose Timeout is 0.
	// 0: DefaultTimeout (10m).
	DefaultTimeout time.Duration
	// MaxTimeout is the longest Request.Timeout accepted; longer ones are
	// refused with a *FieldError. 0: DefaultMaxTimeout (24h).
	MaxTimeout time.Duration
	// MaxPending bounds the live requests (pending, or approved and not yet
	// used); Submit fails with ErrFull beyond it (fail closed).
	// 0: DefaultMaxPending.
	MaxPending int
	// MaxHistory bounds the ended requests kept for Get, List and Wait;
	// the oldest is forgotten first. 0: DefaultMaxHistory.
	MaxHistory int
	// Fatigue configures approval-fatigue auto-deny. Zero: off.
	Fatigue Fatigue
	// Notifier is told of every step after it happens. nil: no one is
	// notified.
	Notifier Notifier
	// Recorder records every step before it takes effect; an error fails
	// the step closed. nil: steps are only logged.
	Recorder Recorder
	// RecordTimeout bounds one Recorder call, which runs detached from the
	// caller's cancellation. 0: DefaultRecordTimeout (5s).
	RecordTimeout time.Duration
}

// Broker holds approval requests from creation to use: it binds each to an
// agent, tool and argument hash, counts the votes of distinct eligible
// approvers, expires what is not decided or used in time, auto-denies
// agents that ask too often, wakes the callers waiting on a request, and
// records and announces every step. Build it with New; all methods are safe
// for concurrent use.
type Broker struct {
	clock         Clock
	log           *slog.Logger
	recorder      Recorder
	notifier      Notifier
	defTimeout    time.Duration
	maxTimeout    time.Duration
	recordTimeout time.Duration
	maxPending    int
	maxHistory    int

	// mu guards the fields below. Lock order: an entry's mu, then mu;
	// never the other way round.
	mu       sync.Mutex
	closed   bool
	reqs     map[string]*entry
	live     int                  // pending, or approved and unused
	bound    map[binding][]*entry // approved and unused, oldest first
	hist     []string             // IDs of ended requests, a ring once full
	histNext int                  // the oldest slot of hist once it is full
	fatigue  *fatigue             // nil: off
}

// binding is what an approval is bound to.
type binding struct{ agent, tool, hash string }

// entry is one request. Its ticket is guarded by mu; done is closed when
// the request leaves Pending.
type entry struct {
	mu    sync.Mutex
	t     Ticket
	timer Timer
	done  chan struct{}
}

func (e *entry) binding() binding {
	return binding{e.t.Request.AgentID, e.t.Request.Tool, e.t.Request.ArgsHash}
}

// live reports whether the request still counts against MaxPending.
func (e *entry) liveLocked() bool {
	return e.t.Status == Pending || e.t.Status == Approved && !e.t.Consumed()
}

// New returns a Broker, or a *FieldError naming a bad option.
func New(opts Options) (*Broker, error) {
	for _, d := range [...]struct {
		name string
		v    time.Duration
	}{{"Options.DefaultTimeout", opts.DefaultTimeout}, {"Options.MaxTimeout", opts.MaxTimeout}, {"Options.RecordTimeout", opts.RecordTimeout}} {
		if d.v < 0 {
			return nil, fieldErr(d.name, "negative")
		}
	}
	if opts.MaxPending < 0 {
		return nil, fieldErr("Options.MaxPending", "negative")
	}
	if opts.MaxHistory < 0 {
		return nil, fieldErr("Options.MaxHistory", "negative")
	}
	f, err := newFatigue(opts.Fatigue)
	if err != nil {
		return nil, err
	}
	b := &Broker{
		clock: opts.Clock, log: opts.Logger, recorder: opts.Recorder, notifier: opts.Notifier,
		defTimeout: cmp.Or(opts.DefaultTimeout, DefaultTimeout), maxTimeout: cmp.Or(opts.MaxTimeout, DefaultMaxTimeout),
		recordTimeout: cmp.Or(opts.RecordTimeout, DefaultRecordTimeout),
		maxPending:    cmp.Or(opts.MaxPending, DefaultMaxPending), maxHistory: cmp.Or(opts.MaxHistory, DefaultMaxHistory),
		reqs: make(map[string]*entry), bound: make(map[binding][]*entry), fatigue: f,
	}
	if b.defTimeout > b.maxTimeout {
		return nil, fieldErr("Options.DefaultTimeout", b.defTimeout.String()+" exceeds MaxTimeout "+b.maxTimeout.String())
	}
	if b.clock == nil {
		b.clock = wallClock{}
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.log = b.log.With(slog.String("component", "approval"))
	return b, nil
}

// Close cancels every live request (reason "approval broker closed"),
// which wakes their waiters with a Cancelled ticket, and refuses further
// submissions, votes and uses. Get, List and Wait keep working on what is
// left. Close does not close the Notifier or the Recorder. It is
// idempotent and returns nil.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	entries := make([]*entry, 0, b.live)
	for _, e := range b.reqs {
		entries = append(entries, e)
	}
	b.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		if e.liveLocked() {
			now := b.clock.Now()
			ev := b.endLocked(e, Cancelled, "cancelled: approval broker closed", EventCancelled, now)
			if err := b.record(context.Background(), ev); err != nil {
				b.log.LogAttrs(context.Background(), slog.LevelError, "approval cancellation not recorded",
					slog.String("request_id", ev.RequestID), slog.String("error", err.Error()))
			}
			b.notify(ev)
		}
		e.mu.Unlock()
	}
	return nil
}

// Submit registers a request and returns its ticket, pending until it is
// decided, expires or is cancelled. If the agent is over its fatigue
// allowance the ticket comes back already Denied (EventAutoDenied) and no
// one is asked. Submit fails with a *FieldError for a malformed request,
// ErrFull when MaxPending requests are live, ErrClosed after Close, and
// ErrNotRecorded when the Recorder fails (the request then does not
// exist).
func (b *Broker) Submit(ctx context.Context, r Request) (Ticket, error) {
	e, err := b.submit(ctx, r)
	if err != nil {
		return Ticket{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.t.clone(), nil
}

func (b *Broker) submit(ctx context.Context, r Request) (*entry, error) {
	r, err := r.normalize(b.defTimeout, b.maxTimeout)
	if err != nil {
		return nil, err
	}
	now := b.clock.Now()
	e := &entry{done: make(chan struct{}), t: Ticket{Request: r, Status: Pending, CreatedAt: now, ExpiresAt: now.Add(r.Timeout)}}
	e.mu.Lock()
	defer e.mu.Unlock()

	kind := EventSubmitted
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, fmt.Errorf("approval: submit for agent %q: %w", r.AgentID, ErrClosed)
	}
	if b.fatigue != nil {
		reason, err := b.fatigue.admitLocked(r.AgentID, now)
		if err != nil {
			b.mu.Unlock()
			return nil, fmt.Errorf("approval: submit for agent %q: fatigue tracker holds %d agents: %w", r.AgentID, b.fatigue.maxAgents, err)
		}
		if reason != "" {
			kind = EventAutoDenied
			e.t.Status, e.t.Reason, e.t.DecidedAt = Denied, reason, now
			close(e.done)
		}
	}
	if kind == EventSubmitted {
		if b.live >= b.maxPending {
			b.mu.Unlock()
			return nil, fmt.Errorf("approval: submit for agent %q: %d requests are live: %w", r.AgentID, b.live, ErrFull)
		}
		b.live++
	}
	for {
		e.t.ID = rand.Text()
		if _, dup := b.reqs[e.t.ID]; !dup {
			break
		}
	}
	b.reqs[e.t.ID] = e
	b.mu.Unlock()

	ev := e.t.event(kind, now)
	if err := b.record(ctx, ev); err != nil {
		b.mu.Lock()
		delete(b.reqs, e.t.ID)
		if kind == EventSubmitted {
			b.live--
		}
		b.mu.Unlock()
		// Nobody has the ID; mark the entry ended so that a concurrent
		// Close that already saw it leaves it alone.
		e.t.Status, e.t.Reason = Cancelled, "cancelled: not recorded"
		return nil, err
	}
	if kind == EventSubmitted {
		e.timer = b.clock.AfterFunc(r.Timeout, func() { b.expire(e) })
	} else {
		b.mu.Lock()
		b.retireLocked(e.t.ID)
		b.mu.Unlock()
	}
	b.logStep(ctx, ev)
	b.notify(ev)
	return e, nil
}

// Decide casts v on request id and returns the ticket after it. The
// request is Denied by the first deny of an eligible approver, and Approved
// once Quorum distinct eligible approvers have approved; otherwise it stays
// Pending. A refused vote is recorded (EventVoteRejected) and returned as
// an error matching ErrNotEligible, ErrSelfApproval, ErrDuplicateVote,
// ErrNotPending or ErrExpired; a malformed vote is a *FieldError; an
// unknown ID is ErrNotFound. If the Recorder fails the vote is not counted
// (ErrNotRecorded) and the approver may vote again.
func (b *Broker) Decide(ctx context.Context, id string, v Vote) (Ticket, error) {
	if err := v.check(); err != nil {
		return Ticket{}, err
	}
	e, err := b.lookup(id, true)
	if err != nil {
		return Ticket{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := b.clock.Now()
	v.Time = now
	if e.t.Status == Pending && !now.Before(e.t.ExpiresAt) {
		b.expireLocked(e, now)
	}
	var refusal error
	switch {
	case e.t.Status == Expired:
		refusal = fmt.Errorf("%w at %s", ErrExpired, e.t.ExpiresAt.Format(time.RFC3339))
	case e.t.Status != Pending:
		refusal = fmt.Errorf("%w: it is %s", ErrNotPending, e.t.Status)
	case voted(&e.t, v.Approver):
		refusal = ErrDuplicateVote
	default:
		refusal = eligible(&e.t.Request, v.Approver)
	}
	if refusal != nil {
		ev := e.t.event(EventVoteRejected, now)
		ev.Approver, ev.Approve, ev.Comment, ev.Reason = v.Approver, v.Approve, v.Comment, refusal.Error()
		rerr := b.record(ctx, ev)
		b.logStep(ctx, ev)
		b.notify(ev)
		return Ticket{}, errors.Join(fmt.Errorf("approval: vote by %q on request %s: %w", v.Approver, id, refusal), rerr)
	}

	next := e.t
	next.Votes = append(slices.Clip(e.t.Votes), v)
	switch approvals := next.Approvals(); {
	case !v.Approve:
		next.Status, next.Reason = Denied, "denied by "+strconv.Quote(v.Approver)
		if v.Comment != "" {
			next.Reason += ": " + v.Comment
		}
	case approvals >= next.Request.Quorum:
		names := make([]string, 0, approvals)
		for _, w := range next.Votes {
			names = append(names, strconv.Quote(w.Approver))
		}
		next.Status, next.Reason = Approved, "approved by "+strings.Join(names, ", ")+
			" ("+strconv.Itoa(approvals)+" of "+strconv.Itoa(next.Request.Quorum)+" required)"
	}
	if next.Status != Pending {
		next.DecidedAt = now
	}
	ev := next.event(EventVoted, now)
	ev.Approver, ev.Approve, ev.Comment = v.Approver, v.Approve, v.Comment
	if err := b.record(ctx, ev); err != nil {
		return Ticket{}, err
	}
	e.t = next
	switch next.Status {
	case Approved:
		close(e.done)
		b.mu.Lock()
		k := e.binding()
		b.bound[k] = append(b.bound[k], e)
		b.mu.Unlock()
	case Denied:
		close(e.done)
		e.timer.Stop()
		b.mu.Lock()
		b.live--
		b.retireLocked(id)
		b.mu.Unlock()
	}
	b.logStep(ctx, ev)
	b.notify(ev)
	return e.t.clone(), nil
}

// Wait blocks until request id leaves Pending or ctx ends, and returns the
// ticket (Approved, Denied, Expired or Cancelled). It does not use an
// approval; see Consume and Approve. Wait fails with ErrNotFound for an
// unknown ID and with ctx's error (wrapped) when ctx ends first.
func (b *Broker) Wait(ctx context.Context, id string) (Ticket, error) {
	e, err := b.lookup(id, false)
	if err != nil {
		return Ticket{}, err
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return Ticket{}, fmt.Errorf("approval: wait for request %s: %w", id, ctx.Err())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.t.clone(), nil
}

// Get returns the ticket of request id, or ErrNotFound. Callers can poll it
// instead of waiting.
func (b *Broker) Get(id string) (Ticket, error) {
	e, err := b.lookup(id, false)
	if err != nil {
		return Ticket{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.t.clone(), nil
}

// List returns the tickets f selects, oldest first (ties by ID): the live
// requests and the most recent MaxHistory ended ones. With f.Limit set it
// copies only the tickets it returns.
func (b *Broker) List(f Filter) []Ticket {
	sel := b.selectEntries(f, func(t *Ticket) time.Time { return t.CreatedAt })
	slices.SortFunc(sel, func(x, y selected) int {
		return cmp.Or(x.at.Compare(y.at), strings.Compare(x.id, y.id))
	})
	return cloneSelected(sel, f)
}

// Recent returns up to n ended requests (not pending), the most recently
// decided first (ties by ID), copying only those it returns.
func (b *Broker) Recent(n int) []Ticket {
	f := Filter{Limit: n}
	sel := b.selectEntries(f, func(t *Ticket) time.Time {
		if t.Status == Pending {
			return time.Time{}
		}
		return t.DecidedAt
	})
	sel = slices.DeleteFunc(sel, func(s selected) bool { return s.at.IsZero() })
	slices.SortFunc(sel, func(x, y selected) int {
		return cmp.Or(y.at.Compare(x.at), strings.Compare(x.id, y.id))
	})
	return cloneSelected(sel, f)
}

// Count returns how many tickets f selects, ignoring f.Limit, without
// copying any.
func (b *Broker) Count(f Filter) int {
	f.Limit = 0
	return len(b.selectEntries(f, nil))
}

// selected is a ticket f matched, with its sort key read under its lock.
type selected struct {
	at time.Time
	id string
	e  *entry
}

// selectEntries returns the entries whose tickets f matches, each with
// the time key gives (none when key is nil).
func (b *Broker) selectEntries(f Filter, key func(*Ticket) time.Time) []selected {
	b.mu.Lock()
	entries := make([]*entry, 0, len(b.reqs))
	for _, e := range b.reqs {
		entries = append(entries, e)
	}
	b.mu.Unlock()
	var sel []selected
	for _, e := range entries {
		e.mu.Lock()
		if e.t.ID != "" && f.match(&e.t) {
			s := selected{id: e.t.ID, e: e}
			if key != nil {
				s.at = key(&e.t)
			}
			sel = append(sel, s)
		}
		e.mu.Unlock()
	}
	return sel
}

// cloneSelected copies the tickets of the first f.Limit (all when 0)
// entries of sel. A ticket that changed meanwhile is copied as it is
// now, provided f still selects it.
func cloneSelected(sel []selected, f Filter) []Ticket {
	if f.Limit > 0 && len(sel) > f.Limit {
		sel = sel[:f.Limit]
	}
	var out []Ticket
	for _, s := range sel {
		s.e.mu.Lock()
		if f.match(&s.e.t) {
			out = append(out, s.e.t.clone())
		}
		s.e.mu.Unlock()
	}
	return out
}

// Consume uses the oldest approved, unused, unexpired request bound to
// exactly this agent, tool and argument hash, and returns its ticket with
// ConsumedAt set. Each approval is used at most once. It fails with
// ErrNotApproved when there is none (another agent's approval, or one for
// other arguments, never counts), ErrClosed after Close, and
// ErrNotRecorded when the Recorder fails (the approval then stays unused).
func (b *Broker) Consume(ctx context.Context, agentID, tool, argsHash string) (Ticket, error) {
	k := binding{agentID, tool, strings.ToLower(argsHash)}
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return Ticket{}, fmt.Errorf("approval: use by agent %q: %w", agentID, ErrClosed)
		}
		var e *entry
		if l := b.bound[k]; len(l) > 0 {
			e = l[0]
		}
		b.mu.Unlock()
		if e == nil {
			return Ticket{}, fmt.Errorf("approval: agent %q, tool %q, args %s: %w", agentID, tool, truncate(argsHash, 80), ErrNotApproved)
		}
		t, err := b.consumeEntry(ctx, e)
		if errors.Is(err, ErrConsumed) || errors.Is(err, ErrExpired) || errors.Is(err, ErrNotApproved) {
			// Lost a race with another use, an expiry or a cancellation,
			// which took e out of b.bound: try the next one.
			continue
		}
		return t, err
	}
}

// ConsumeID uses the approval of request id, which must be approved,
// unused, unexpired and bound to exactly this agent, tool and argument
// hash; it returns the ticket with ConsumedAt set. It is Consume for a
// caller that submitted the request itself and knows its ID. It fails with
// ErrNotFound for an unknown ID, ErrNotApproved when the request is not
// approved or is bound to another agent, tool or argument hash (nothing is
// used then), ErrConsumed when it was used already, ErrExpired, ErrClosed
// after Close and ErrNotRecorded when the Recorder fails (the approval
// then stays unused).
func (b *Broker) ConsumeID(ctx context.Context, id, agentID, tool, argsHash string) (Ticket, error) {
	e, err := b.lookup(id, true)
	if err != nil {
		return Ticket{}, err
	}
	e.mu.Lock()
	k := e.binding()
	e.mu.Unlock()
	if k != (binding{agentID, tool, strings.ToLower(argsHash)}) {
		return Ticket{}, fmt.Errorf("approval: request %s is bound to another agent, tool or argument hash: %w", id, ErrNotApproved)
	}
	return b.consumeEntry(ctx, e)
}

// consumeEntry uses e's approval.
func (b *Broker) consumeEntry(ctx context.Context, e *entry) (Ticket, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := b.clock.Now()
	if e.liveLocked() && !now.Before(e.t.ExpiresAt) {
		b.expireLocked(e, now)
	}
	switch {
	case e.t.Status == Approved && e.t.Consumed():
		return Ticket{}, fmt.Errorf("approval: request %s: %w at %s", e.t.ID, ErrConsumed, e.t.ConsumedAt.Format(time.RFC3339Nano))
	case e.t.Status == Expired:
		return Ticket{}, fmt.Errorf("approval: request %s: %w", e.t.ID, ErrExpired)
	case e.t.Status != Approved:
		return Ticket{}, fmt.Errorf("approval: request %s is %s: %w", e.t.ID, e.t.Status, ErrNotApproved)
	}
	next := e.t
	next.ConsumedAt = now
	ev := next.event(EventConsumed, now)
	if err := b.record(ctx, ev); err != nil {
		return Ticket{}, err
	}
	e.t = next
	e.timer.Stop()
	b.mu.Lock()
	b.unbindLocked(e)
	b.live--
	b.retireLocked(e.t.ID)
	b.mu.Unlock()
	b.logStep(ctx, ev)
	b.notify(ev)
	return e.t.clone(), nil
}

// Cancel withdraws request id, pending or approved but unused, with the
// given reason, waking its waiters with a Cancelled ticket. It fails with
// ErrNotFound, ErrNotPending (already ended or used), ErrClosed, or
// ErrNotRecorded (the request is then unchanged).
func (b *Broker) Cancel(ctx context.Context, id, reason string) (Ticket, error) {
	e, err := b.lookup(id, true)
	if err != nil {
		return Ticket{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return b.cancelLocked(ctx, e, reason)
}

func (b *Broker) cancelLocked(ctx context.Context, e *entry, reason string) (Ticket, error) {
	if !e.liveLocked() {
		return Ticket{}, fmt.Errorf("approval: cancel request %s: %w: it is %s", e.t.ID, ErrNotPending, e.t.Status)
	}
	now := b.clock.Now()
	reason = "cancelled: " + truncate(strings.ToValidUTF8(reason, "\uFFFD"), MaxReasonBytes)
	// Record first: build the event from what the ticket will be.
	next := e.t
	next.Status, next.Reason = Cancelled, reason
	if e.t.Status == Pending {
		next.DecidedAt = now
	}
	if err := b.record(ctx, next.event(EventCancelled, now)); err != nil {
		return Ticket{}, err
	}
	ev := b.endLocked(e, Cancelled, reason, EventCancelled, now)
	b.logStep(ctx, ev)
	b.notify(ev)
	return e.t.clone(), nil
}

// Approve is the kernel's flow in one call. It first uses an approval
// granted in advance for exactly this action (see Consume); otherwise it
// submits r, waits until the request is decided or expires, and uses the
// approval if there is one. The returned ticket's Status is Approved (and
// ConsumedAt set) exactly when the action may proceed; for any other
// status, Reason says why not. If ctx ends first, the request is cancelled
// and ctx's error is returned. Every error means the action must be denied.
func (b *Broker) Approve(ctx context.Context, r Request) (Ticket, error) {
	t, err := b.Consume(ctx, r.AgentID, r.Tool, r.ArgsHash)
	if err == nil || !errors.Is(err, ErrNotApproved) {
		return t, err
	}
	e, err := b.submit(ctx, r)
	if err != nil {
		return Ticket{}, err
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		e.mu.Lock()
		_, cerr := b.cancelLocked(context.WithoutCancel(ctx), e, "the waiting caller gave up ("+ctx.Err().Error()+")")
		id := e.t.ID
		e.mu.Unlock()
		if cerr != nil {
			b.log.LogAttrs(ctx, slog.LevelWarn, "abandoned approval request not cancelled",
				slog.String("request_id", id), slog.String("error", cerr.Error()))
		}
		return Ticket{}, fmt.Errorf("approval: wait for request %s: %w", id, ctx.Err())
	}
	e.mu.Lock()
	t = e.t.clone()
	e.mu.Unlock()
	if t.Status != Approved {
		return t, nil
	}
	return b.consumeEntry(ctx, e)
}

// expire is the timer callback of e.
func (b *Broker) expire(e *entry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b.expireLocked(e, b.clock.Now())
}

// expireLocked ends e as Expired if it is live. Expiry denies, so it takes
// effect even if the Recorder fails; the failure is logged.
func (b *Broker) expireLocked(e *entry, now time.Time) {
	var reason string
	switch {
	case e.t.Status == Pending:
		reason = "no decision within " + e.t.Request.Timeout.String() + " (" + strconv.Itoa(e.t.Approvals()) +
			" of " + strconv.Itoa(e.t.Request.Quorum) + " approvals)"
	case e.t.Status == Approved && !e.t.Consumed():
		reason = "approved but not used within " + e.t.Request.Timeout.String()
	default:
		return
	}
	ev := b.endLocked(e, Expired, "expired: "+reason, EventExpired, now)
	if err := b.record(context.Background(), ev); err != nil {
		b.log.LogAttrs(context.Background(), slog.LevelError, "approval expiry not recorded",
			slog.String("request_id", ev.RequestID), slog.String("error", err.Error()))
	}
	b.logStep(context.Background(), ev)
	b.notify(ev)
}

// endLocked moves live entry e to an ended status and updates the
// broker's books. It returns the step's event.
func (b *Broker) endLocked(e *entry, s Status, reason string, kind EventKind, now time.Time) Event {
	wasPending := e.t.Status == Pending
	e.t.Status, e.t.Reason = s, reason
	if wasPending {
		e.t.DecidedAt = now
		close(e.done)
	}
	if e.timer != nil {
		e.timer.Stop()
	}
	b.mu.Lock()
	if !wasPending {
		b.unbindLocked(e)
	}
	b.live--
	b.retireLocked(e.t.ID)
	b.mu.Unlock()
	return e.t.event(kind, now)
}

// unbindLocked removes e from b.bound if it is there.
func (b *Broker) unbindLocked(e *entry) {
	k := e.binding()
	l := b.bound[k]
	if i := slices.Index(l, e); i >= 0 {
		l = slices.Delete(l, i, i+1)
	}
	if len(l) == 0 {
		delete(b.bound, k)
	} else {
		b.bound[k] = l
	}
}

// retireLocked remembers an ended request, forgetting the oldest ended one
// beyond MaxHistory.
func (b *Broker) retireLocked(id string) {
	if len(b.hist) < b.maxHistory {
		b.hist = append(b.hist, id)
		return
	}
	delete(b.reqs, b.hist[b.histNext])
	b.hist[b.histNext] = id
	b.histNext = (b.histNext + 1) % b.maxHistory
}

// lookup finds request id; mutating calls (write) fail after Close.
func (b *Broker) lookup(id string, write bool) (*entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if write && b.closed {
		return nil, fmt.Errorf("approval: request %s: %w", truncate(id, 80), ErrClosed)
	}
	e, ok := b.reqs[id]
	if !ok {
		return nil, fmt.Errorf("approval: request %q: %w", truncate(id, 80), ErrNotFound)
	}
	return e, nil
}

// record hands ev to the Recorder, detached from ctx's cancellation and
// under RecordTimeout.
func (b *Broker) record(ctx context.Context, ev Event) error {
	if b.recorder == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.recordTimeout)
	defer cancel()
	if err := b.recorder.Record(rctx, ev); err != nil {
		return fmt.Errorf("approval: record %s step of request %s: %w: %w", ev.Kind, ev.RequestID, ErrNotRecorded, err)
	}
	return nil
}

func (b *Broker) notify(ev Event) {
	if b.notifier != nil {
		b.notifier.Notify(ev)
	}
}

func (b *Broker) logStep(ctx context.Context, ev Event) {
	level := slog.LevelInfo
	if ev.Kind == EventVoteRejected || ev.Kind == EventAutoDenied {
		level = slog.LevelWarn
	}
	if !b.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("kind", string(ev.Kind)), slog.String("request_id", ev.RequestID),
		slog.String("agent_id", ev.AgentID), slog.String("tool", ev.Tool), slog.String("rule", ev.Rule),
		slog.String("status", string(ev.Status)),
	}
	if ev.Approver != "" {
		attrs = append(attrs, slog.String("approver", ev.Approver), slog.Bool("approve", ev.Approve))
	}
	if ev.Reason != "" {
		attrs = append(attrs, slog.String("reason", ev.Reason))
	}
	b.log.LogAttrs(ctx, level, "approval step", attrs...)
}
