// Package approval is the human-in-the-loop broker behind the policy action
// require_approval: it holds approval requests from creation to use.
//
// # Requests and binding
//
// A [Request] names the agent, the tool and the hex SHA-256 of the action's
// arguments (never the arguments themselves; for people to read, it may
// carry a redacted, bounded preview of them, which binds nothing), plus
// the rule that asked, the approvers allowed to vote, the quorum and a
// timeout. [Broker.Submit] registers it under an unguessable ID; the
// approval that may come out of it is bound to exactly that agent, tool
// and argument hash and is single-use: [Broker.Consume] uses it once, and
// a different agent, tool or argument hash never matches it. A
// caller-supplied "approved: true" means nothing: only votes cast through
// [Broker.Decide] count, and the requesting agent may never vote on its
// own request.
//
// # Votes and quorum
//
// Each vote comes from a named approver. When the request lists approvers,
// only they may vote; each approver counts once. The first deny of an
// eligible approver denies the request (a veto: one person seeing a problem
// is enough, the fail-closed choice); Quorum distinct approvals approve it.
// Refused votes are recorded too.
//
// # Expiry and fatigue
//
// A request not decided within its timeout expires, and so does an approval
// not used within it; expiry runs on the injected [Clock] (one timer per
// live request), so tests advance a fake clock instead of sleeping. With
// [Options].Fatigue set, an agent asking more than MaxRequests times within
// Window has its further requests denied on arrival ("approval fatigue"),
// so people are not worn down into approving by volume.
//
// # Waiting and polling
//
// [Broker.Wait] blocks on a channel until the request is decided, expires
// or the caller's context ends; [Broker.Get] and [Broker.List] serve
// callers and dashboards that poll. [Broker.Approve] is the kernel's flow in
// one call: use an approval granted in advance for this exact action, or
// submit, wait and use. A daemon satisfies the kernel's Approver interface
// with a few lines:
//
//	func (a adapter) Approve(ctx context.Context, req kernel.ApprovalRequest) (bool, string, error) {
//		r := approval.Request{AgentID: req.AgentID, Syscall: req.Syscall.String(), Tool: req.Tool,
//			ArgsHash: req.ArgsHash, ArgsPreview: req.ArgsPreview, Rule: req.Rule, Policy: req.Policy,
//			Reason: req.Reason}
//		if ap := req.Approval; ap != nil {
//			r.Approvers, r.Quorum, r.Timeout = ap.Approvers, ap.Quorum, ap.Timeout
//		}
//		t, err := a.broker.Approve(ctx, r)
//		if err != nil {
//			return false, "", err
//		}
//		return t.Status == approval.Approved, t.Reason, nil
//	}
//
// # Recording and notification
//
// Every step (submitted, auto-denied, voted, vote rejected, expired,
// consumed, cancelled) produces one [Event]. It goes first to the
// [Recorder] (the audit log): a step that would let an action through, or
// that someone asked for, happens only once recorded, and a Recorder error
// fails it closed with [ErrNotRecorded]. Expiry and cancellation at Close
// deny, so they happen even if recording fails, and the failure is logged.
// Then the event goes to the [Notifier]; [Webhook] posts it as signed JSON
// from one delivery goroutine with a bounded queue, and its failures never
// block or change a decision.
//
// # Bounds and concurrency
//
// All methods are safe for concurrent use. Live requests are bounded by
// MaxPending (Submit fails closed with [ErrFull] beyond it), ended ones by
// MaxHistory, fatigue tracking by Fatigue.MaxAgents, and request fields by
// the Max* constants. The broker starts no goroutine of its own besides
// its expiry timers, which [Broker.Close] stops.
package approval
