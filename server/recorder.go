package server

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

// AuditLog is what the server needs of the durable audit log; *audit.Log
// implements it.
type AuditLog interface {
	Append(ctx context.Context, e *audit.Event) error
	Query(ctx context.Context, q audit.Query, fn func(*audit.Event) error) error
	Verify(ctx context.Context, opts audit.VerifyOptions) (audit.VerifyResult, error)
	Prove(ctx context.Context, seq uint64) (*audit.Proof, error)
	VerifierKey() string
}

var _ AuditLog = (*audit.Log)(nil)

// tap is the kernel's Auditor: it appends to the log, then feeds the
// metrics and the live event hub. Only what the log accepted is
// published.
type tap struct {
	log   AuditLog
	m     *metrics
	hub   *Hub
	clock Clock
	live  liveStats
}

// liveStats are the running totals GET /api/v1/metrics reports.
type liveStats struct {
	checks     atomic.Int64 // decided governed actions
	violations atomic.Int64 // denied ones
	latencyUS  atomic.Int64 // sum of their latencies
	approvals  atomic.Int64 // approval requests approved
	blocked    atomic.Int64 // inputs the injection endpoints blocked
}

var _ kernel.Auditor = (*tap)(nil)

// Append implements kernel.Auditor. It does not keep e: the hub gets a
// copy encoded before Append returns.
func (t *tap) Append(ctx context.Context, e *audit.Event) error {
	start := time.Now()
	err := t.log.Append(ctx, e)
	took := time.Since(start)
	if err != nil {
		t.m.auditFail.Inc()
		return err
	}
	t.m.observeEvent(e, took)
	if (e.Kind == audit.KindSyscall || e.Kind == audit.KindToolCall) && e.Decision.Action != "" {
		t.live.checks.Add(1)
		t.live.latencyUS.Add(e.LatencyUS)
		if !e.Decision.Allowed {
			t.live.violations.Add(1)
		}
	}
	// Approval steps reach the hub from the broker's Notifier, with the
	// request's status and deadline.
	if e.Kind != audit.KindApproval && t.hub.Active() {
		// The event's canonical JSON is compact and valid by
		// construction: json.Marshal would only validate and copy it.
		if b, err := e.MarshalJSON(); err == nil {
			t.hub.PublishRaw(eventType(e.Kind), b)
		}
	}
	return nil
}

// eventType maps an audit kind to a hub event type.
func eventType(k audit.Kind) string {
	switch k {
	case audit.KindSignal:
		return EventSignal
	case audit.KindPolicyReload:
		return EventPolicyReload
	case audit.KindAgentLifecycle:
		return EventLifecycle
	}
	return EventDecision
}

// approver plugs the approval broker into the kernel: a require_approval
// decision of a governed call submits a request and waits for people
// (bounded by the rule's timeout and the caller's context).
type approver struct{ b *approval.Broker }

var _ kernel.Approver = approver{}

// Approve implements kernel.Approver.
func (a approver) Approve(ctx context.Context, req kernel.ApprovalRequest) (bool, string, error) {
	r := approval.Request{AgentID: req.AgentID, Syscall: req.Syscall.String(), Tool: req.Tool,
		ArgsHash: req.ArgsHash, ArgsPreview: req.ArgsPreview, Rule: req.Rule, Policy: req.Policy, Reason: req.Reason}
	if ap := req.Approval; ap != nil {
		r.Approvers, r.Quorum, r.Timeout = ap.Approvers, ap.Quorum, ap.Timeout
	}
	t, err := a.b.Approve(ctx, r)
	if err != nil {
		return false, "", err
	}
	return t.Status == approval.Approved, t.Reason, nil
}

// approvalRecorder records every broker step in the audit log (kind
// approval) before it takes effect.
type approvalRecorder struct {
	t *tap
}

var _ approval.Recorder = approvalRecorder{}

// Record implements approval.Recorder.
func (r approvalRecorder) Record(ctx context.Context, e approval.Event) error {
	args, err := json.Marshal(map[string]any{"request_id": e.RequestID, "step": e.Kind, "args_hash": e.ArgsHash,
		"approver": e.Approver, "approve": e.Approve, "approvals": e.Approvals, "quorum": e.Quorum,
		"status": e.Status, "source": e.Source})
	if err != nil {
		return err
	}
	r.t.m.approvals.WithLabelValues(string(e.Kind)).Inc()
	if e.Kind == approval.EventVoted && e.Status == approval.Approved {
		r.t.live.approvals.Add(1)
	}
	return r.t.Append(ctx, &audit.Event{Kind: audit.KindApproval, AgentID: e.AgentID, Tool: e.Tool, Args: args,
		Decision: audit.Decision{Action: string(policy.ActionRequireApproval), Allowed: e.Status == approval.Approved,
			Rule: e.Rule, Reason: e.Reason, Policy: e.Policy}})
}

// hubNotifier publishes broker steps on the hub and passes them on.
type hubNotifier struct {
	hub  *Hub
	next approval.Notifier
}

// Notify implements approval.Notifier; it never blocks.
func (n hubNotifier) Notify(e approval.Event) {
	n.hub.Publish(EventApproval, e)
	if n.next != nil {
		n.next.Notify(e)
	}
}
