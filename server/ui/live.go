package ui

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// statsWindow is the overview's rate window in seconds.
const statsWindow = 60

// maxRules bounds the rules the overview counts; decisions of further
// rules are counted in the totals only.
const maxRules = 1024

// stats counts decisions for the overview: per-second buckets over the
// last minute, totals since the handler started, and per-rule counts.
type stats struct {
	mu     sync.Mutex
	sec    [statsWindow]int64     // unix second each bucket holds; guarded by mu
	dec    [statsWindow]int64     // guarded by mu
	den    [statsWindow]int64     // guarded by mu
	total  int64                  // guarded by mu
	denied int64                  // guarded by mu
	byRule map[ruleKey]*ruleCount // guarded by mu
}

type ruleKey struct{ rule, policy string }

// ruleCount is one rule's counts.
type ruleCount struct {
	Rule    string
	Policy  string
	Matched int64
	Denied  int64
}

func newStats() *stats { return &stats{byRule: map[ruleKey]*ruleCount{}} }

// add counts one decision at now.
func (s *stats) add(now time.Time, rule, pol string, denied bool) {
	sec := now.Unix()
	i := int(((sec % statsWindow) + statsWindow) % statsWindow)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sec[i] != sec {
		s.sec[i], s.dec[i], s.den[i] = sec, 0, 0
	}
	s.dec[i]++
	s.total++
	if denied {
		s.den[i]++
		s.denied++
	}
	if rule == "" {
		return
	}
	k := ruleKey{rule, pol}
	rc := s.byRule[k]
	if rc == nil {
		if len(s.byRule) >= maxRules {
			return
		}
		rc = &ruleCount{Rule: rule, Policy: pol}
		s.byRule[k] = rc
	}
	rc.Matched++
	if denied {
		rc.Denied++
	}
}

// statsView is a snapshot for the overview.
type statsView struct {
	// PerSecond is the mean decision rate over the last minute.
	PerSecond float64
	// LastMinute and DeniedLastMinute count the last minute's decisions.
	LastMinute, DeniedLastMinute int64
	// Total and Denied count decisions since the dashboard started.
	Total, Denied int64
	// Top are the ten rules that decided most often.
	Top []ruleCount
	// TopMax is the largest count in Top, for the bars.
	TopMax int64
}

// snapshot returns the counts as of now.
func (s *stats) snapshot(now time.Time) statsView {
	cur := now.Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	v := statsView{Total: s.total, Denied: s.denied}
	for i := range statsWindow {
		if age := cur - s.sec[i]; age >= 0 && age < statsWindow {
			v.LastMinute += s.dec[i]
			v.DeniedLastMinute += s.den[i]
		}
	}
	v.PerSecond = float64(v.LastMinute) / statsWindow
	for _, rc := range s.byRule {
		v.Top = append(v.Top, *rc)
	}
	slices.SortFunc(v.Top, func(a, b ruleCount) int {
		return cmp.Or(cmp.Compare(b.Matched, a.Matched), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Policy, b.Policy))
	})
	if len(v.Top) > 10 {
		v.Top = v.Top[:10]
	}
	if len(v.Top) > 0 {
		v.TopMax = v.Top[0].Matched
	}
	return v
}

// wireEvent is the part of an audit event (the payload of decision,
// signal and agent events) the dashboard reads.
type wireEvent struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	AgentID  string    `json:"agent_id"`
	Kind     string    `json:"kind"`
	Tool     string    `json:"tool"`
	Decision struct {
		Action  string `json:"action"`
		Allowed bool   `json:"allowed"`
		Rule    string `json:"rule"`
		Reason  string `json:"reason"`
		Policy  string `json:"policy"`
	} `json:"decision"`
	Outcome struct {
		Code  int    `json:"code"`
		Error string `json:"error"`
	} `json:"outcome"`
}

// wireApproval is the part of an approval event the dashboard reads.
type wireApproval struct {
	Kind      string `json:"kind"`
	RequestID string `json:"request_id"`
	AgentID   string `json:"agent_id"`
	Tool      string `json:"tool"`
	Rule      string `json:"rule"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
}

// wireReload is the reload outcome the daemon publishes.
type wireReload struct {
	Trigger    *string `json:"trigger"`
	NewVersion string  `json:"new_version"`
	Error      string  `json:"error"`
}

// liveEvent is what the browser receives: a short summary, never the
// arguments of an action.
type liveEvent struct {
	Type      string `json:"type"`
	Seq       uint64 `json:"seq,omitempty"`
	Time      string `json:"time"`
	AgentID   string `json:"agent_id,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Tool      string `json:"tool,omitempty"`
	Action    string `json:"action,omitempty"`
	Allowed   bool   `json:"allowed"`
	Rule      string `json:"rule,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Policy    string `json:"policy,omitempty"`
	Code      int    `json:"code"`
	RequestID string `json:"request_id,omitempty"`
	Status    string `json:"status,omitempty"`
}

// rowTime is how the tables show times.
const rowTime = "2006-01-02 15:04:05Z"

// summarize turns a daemon event into what the browser gets; ok=false
// for events the dashboard does not show.
func summarize(ev Event) (liveEvent, bool) {
	le := liveEvent{Type: ev.Type, Time: ev.Time.UTC().Format(rowTime)}
	switch ev.Type {
	case EventDecision, EventSignal, EventLifecycle:
		var we wireEvent
		if err := json.Unmarshal(ev.Data, &we); err != nil {
			return le, false
		}
		if !we.Time.IsZero() {
			le.Time = we.Time.UTC().Format(rowTime)
		}
		le.Seq, le.AgentID, le.Kind, le.Tool = we.Seq, cut(we.AgentID, 128), cut(we.Kind, 32), cut(we.Tool, 128)
		d := &we.Decision
		le.Action, le.Allowed, le.Rule, le.Reason, le.Policy = cut(d.Action, 32), d.Allowed, cut(d.Rule, 128),
			cut(d.Reason, 512), cut(d.Policy, 128)
		le.Code = we.Outcome.Code
	case EventApproval:
		var wa wireApproval
		if err := json.Unmarshal(ev.Data, &wa); err != nil {
			return le, false
		}
		le.Kind, le.RequestID, le.AgentID, le.Tool, le.Rule = cut(wa.Kind, 32), cut(wa.RequestID, 64),
			cut(wa.AgentID, 128), cut(wa.Tool, 128), cut(wa.Rule, 128)
		le.Status, le.Reason = cut(wa.Status, 16), cut(wa.Reason, 512)
	case EventPolicyReload:
		// The page refetches the reload status; nothing to summarize.
	default:
		return le, false
	}
	return le, true
}

// consume feeds the overview's counters and the reload status from the
// event stream until ctx ends or the source closes. A subscription that
// fell behind is renewed.
func (h *Handler) consume(ctx context.Context) {
	for ctx.Err() == nil {
		events, cancel := h.opts.Events.Subscribe(4 * DefaultSubscriberQueue)
		dropped := h.drain(ctx, events)
		cancel()
		if !dropped {
			return
		}
	}
}

// drain handles events until ctx ends or the channel closes; it reports
// whether the subscription was dropped for falling behind.
func (h *Handler) drain(ctx context.Context, events <-chan Event) (dropped bool) {
	for {
		select {
		case <-ctx.Done():
			return false
		case ev, ok := <-events:
			if !ok {
				return dropped
			}
			h.observe(ev)
			dropped = ev.Type == EventDropped
		}
	}
}

// observe updates the counters and reload status from one event.
func (h *Handler) observe(ev Event) {
	switch ev.Type {
	case EventDecision:
		// This runs for every decision the daemon makes: read the three
		// fields counted without decoding the event, unless it is in an
		// unusual form.
		allowed, rule, pol, ok := decisionFields(ev.Data)
		if !ok {
			var we struct {
				Decision struct {
					Allowed bool   `json:"allowed"`
					Rule    string `json:"rule"`
					Policy  string `json:"policy"`
				} `json:"decision"`
			}
			if json.Unmarshal(ev.Data, &we) != nil {
				return
			}
			allowed, rule, pol = we.Decision.Allowed, we.Decision.Rule, we.Decision.Policy
		}
		h.stats.add(h.clock.Now(), rule, pol, !allowed)
	case EventPolicyReload:
		var wr wireReload
		if json.Unmarshal(ev.Data, &wr) != nil || wr.Trigger == nil {
			return // the reload's audit event; the outcome event follows
		}
		st := reloadStatus{Known: true, At: ev.Time, Trigger: *wr.Trigger, OK: wr.Error == "", Version: wr.NewVersion,
			Error: wr.Error}
		if st.At.IsZero() {
			st.At = h.clock.Now()
		}
		h.mu.Lock()
		h.reload = st
		h.mu.Unlock()
	}
}

// events streams summaries of the daemon's events to a page
// (text/event-stream). It ends when the client goes, the subscription
// falls behind (the browser reconnects), or the handler closes.
func (h *Handler) events(w http.ResponseWriter, r *http.Request, _ principal) error {
	if h.opts.Events == nil {
		// 204 tells EventSource not to reconnect.
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no")
	events, cancel := h.opts.Events.Subscribe(DefaultSubscriberQueue)
	defer cancel()
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 3000\n\n")); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}
	tick := time.NewTicker(h.opts.Heartbeat)
	defer tick.Stop()
	var buf bytes.Buffer
	for {
		buf.Reset()
		select {
		case <-r.Context().Done():
			return nil
		case <-h.ctx.Done():
			return nil
		case <-tick.C:
			buf.WriteString(": keep-alive\n\n")
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if ev.Type == EventDropped {
				_, _ = w.Write([]byte("event: dropped\ndata: {}\n\n"))
				_ = rc.Flush()
				return nil
			}
			le, show := summarize(ev)
			if !show {
				continue
			}
			data, err := json.Marshal(le)
			if err != nil {
				continue
			}
			buf.WriteString("id: ")
			buf.WriteString(strconv.FormatUint(ev.ID, 10))
			buf.WriteString("\nevent: ")
			buf.WriteString(le.Type)
			buf.WriteString("\ndata: ")
			buf.Write(data) // JSON has no raw newlines
			buf.WriteString("\n\n")
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return nil
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}
