package approval

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// EventKind names one step of a request's life.
type EventKind string

// Event kinds. Every step the broker takes produces exactly one Event,
// which goes to the Recorder (before the step takes effect) and then to the
// Notifier.
const (
	// EventSubmitted: a request was accepted and is pending.
	EventSubmitted EventKind = "submitted"
	// EventAutoDenied: a request was denied on arrival because its agent
	// asked too often (approval fatigue).
	EventAutoDenied EventKind = "auto_denied"
	// EventVoted: a vote was counted; Status says whether it decided the
	// request.
	EventVoted EventKind = "voted"
	// EventVoteRejected: a vote was refused (not eligible, self-approval,
	// duplicate, request not pending); Reason says why.
	EventVoteRejected EventKind = "vote_rejected"
	// EventExpired: the deadline passed before a decision or before an
	// approval was used.
	EventExpired EventKind = "expired"
	// EventConsumed: an approval was used by the action it is bound to.
	EventConsumed EventKind = "consumed"
	// EventCancelled: a request was withdrawn.
	EventCancelled EventKind = "cancelled"
)

// Event describes one step. It never carries the action's arguments, only
// their hash and the request's redacted preview. Its JSON form is what the
// webhook posts.
type Event struct {
	// Kind is the step.
	Kind EventKind `json:"kind"`
	// Time is when the step happened (the broker's Clock).
	Time time.Time `json:"time"`
	// RequestID identifies the request.
	RequestID string `json:"request_id"`
	// AgentID, Syscall, Source, Tool, ArgsHash, ArgsPreview, Rule and
	// Policy are the request's.
	AgentID     string          `json:"agent_id"`
	Syscall     string          `json:"syscall,omitempty"`
	Source      string          `json:"source,omitempty"`
	Tool        string          `json:"tool"`
	ArgsHash    string          `json:"args_hash"`
	ArgsPreview json.RawMessage `json:"args_preview,omitempty"`
	Rule        string          `json:"rule,omitempty"`
	Policy      string          `json:"policy,omitempty"`
	// Status is the request's status after the step.
	Status Status `json:"status"`
	// Reason explains the status (or, for EventVoteRejected, the refusal).
	Reason string `json:"reason,omitempty"`
	// Approver, Approve and Comment describe the vote of an EventVoted or
	// EventVoteRejected; empty otherwise.
	Approver string `json:"approver,omitempty"`
	Approve  bool   `json:"approve,omitempty"`
	Comment  string `json:"comment,omitempty"`
	// Approvals and Quorum are the approving votes counted so far and the
	// number needed.
	Approvals int `json:"approvals"`
	Quorum    int `json:"quorum"`
	// ExpiresAt is the request's deadline.
	ExpiresAt time.Time `json:"expires_at"`
}

// Recorder records every step before it takes effect; the daemon plugs the
// audit log in. Record runs detached from the caller's cancellation, under
// Options.RecordTimeout. An error fails the step closed: a submission,
// vote, use or cancellation that cannot be recorded does not happen.
// Steps that deny on the broker's own account (expiry, cancellation at
// Close) take effect anyway and the error is logged. Record must be safe
// for concurrent use; calls for one request are never concurrent and come
// in the order the steps happen.
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// Notifier tells people about steps, for example by webhook. Notify is
// called after each step, in order per request, and must not block: queue
// the event or drop it. It has no error result; a Notifier logs its own
// failures, which never affect decisions. *Webhook implements it.
type Notifier interface {
	Notify(e Event)
}

func (t *Ticket) event(kind EventKind, now time.Time) Event {
	r := &t.Request
	return Event{
		Kind: kind, Time: now, RequestID: t.ID,
		AgentID: r.AgentID, Syscall: r.Syscall, Source: r.Source, Tool: r.Tool, ArgsHash: r.ArgsHash, ArgsPreview: slices.Clone(r.ArgsPreview),
		Rule: r.Rule, Policy: r.Policy,
		Status: t.Status, Reason: t.Reason, Approvals: t.Approvals(), Quorum: r.Quorum, ExpiresAt: t.ExpiresAt,
	}
}
