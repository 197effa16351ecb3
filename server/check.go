package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/policy"
)

// CheckRequest is the body of POST /v1/check.
type CheckRequest struct {
	// AgentID is the asking agent. Required; an agent token may only
	// name its own agent.
	AgentID string `json:"agent_id"`
	// Action is the tool the agent wants to run. Required.
	Action string `json:"action"`
	// Target is the object acted on (a path, an URL), if any.
	Target string `json:"target,omitempty"`
	// Args are the tool's arguments.
	Args map[string]any `json:"args,omitempty"`
	// ApprovalID names an approval request an earlier check created, to
	// ask about it (and use it once approved). Optional: a retry of the
	// same action finds its approval without it.
	ApprovalID string `json:"approval_id,omitempty"`
}

// CheckApproval describes the approval request behind a require_approval
// decision.
type CheckApproval struct {
	ID        string          `json:"id"`
	Status    approval.Status `json:"status"`
	ExpiresAt time.Time       `json:"expires_at"`
	Approvals int             `json:"approvals"`
	Quorum    int             `json:"quorum"`
}

// CheckResponse is the answer of POST /v1/check.
type CheckResponse struct {
	// Allowed says whether the agent may run the action now.
	Allowed bool `json:"allowed"`
	// AgentID and Action echo the request.
	AgentID string `json:"agent_id"`
	Action  string `json:"action"`
	// Decision is the deciding rule's action (allow, deny, audit, block,
	// require_approval, rate_limit), "" when the kernel decided.
	Decision string `json:"decision,omitempty"`
	// Rule, Policy and Reason say why.
	Rule   string `json:"rule,omitempty"`
	Policy string `json:"policy,omitempty"`
	Reason string `json:"reason,omitempty"`
	// PolicyVersion is the policy set in force.
	PolicyVersion string `json:"policy_version,omitempty"`
	// Approval is set for require_approval: the pending (or used) request.
	Approval *CheckApproval `json:"approval,omitempty"`
	// RetryAfterSeconds is set when a rate limit refused the action.
	RetryAfterSeconds float64 `json:"retry_after_seconds,omitempty"`
}

// handleCheck answers "may this agent do this?" without doing it.
//
// The check is itself a governed action (SYS_CHECKPOLICY through the
// kernel): it is audited, the agent must be running, and policy on the
// check syscall applies (with the default policy, the catch-all rate
// limit counts checks). The asked action's own decision is then
// completed here:
//
//   - rate_limit: the check consumes one unit of the rule's allowance,
//     from the same per-agent bucket that governed tool calls use, so an
//     agent that runs its own tools after asking is held to the rule. A
//     check whose allowance was already charged by the check syscall's
//     own decision (same rule) is not charged twice.
//   - require_approval: the check uses an approved, unused approval bound
//     to this agent, action and argument hash if there is one (then it
//     allows, once); otherwise it finds the pending request for this
//     exact action or submits one, and answers allowed=false with the
//     request in "approval". The caller polls GET /v1/approvals/{id}, and
//     once approved repeats the check (with or without approval_id),
//     which uses the approval.
func (s *Server) handleCheck(w http.ResponseWriter, r *http.Request) {
	var req CheckRequest
	if err := s.decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case req.AgentID == "":
		s.writeError(w, r, fieldErr("agent_id", "required"))
		return
	case req.Action == "":
		s.writeError(w, r, fieldErr("action", "required"))
		return
	}
	p, _ := principalOf(r.Context())
	if err := actAs(p, req.AgentID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.m.opCheck.Inc()
	ctx := r.Context()
	var end func(int, error)
	if s.opts.Tracer != nil {
		ctx, end = s.opts.Tracer.Start(ctx, "agentos.check", req.AgentID, req.Action)
	}
	res, err := s.k.Syscall(ctx, req.AgentID, kernel.CheckPolicy{Action: req.Action, Target: req.Target, Args: req.Args})
	if end != nil {
		end(res.Code, err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	set := s.pol.engine.Current()
	out := CheckResponse{AgentID: req.AgentID, Action: req.Action}
	if set != nil {
		out.PolicyVersion = set.Version()
	}
	v, _ := res.Value.(map[string]any)
	out.Allowed, _ = v["allowed"].(bool)
	out.Reason, _ = v["reason"].(string)
	out.Rule, _ = v["rule"].(string)
	out.Policy, _ = v["policy"].(string)
	if v == nil {
		s.writeError(w, r, errors.New("check: kernel returned no decision"))
		return
	}
	ri, known := policyRule(s, out.Policy, out.Rule)
	if known {
		out.Decision = string(ri.action)
	}
	switch {
	case out.Allowed && known && ri.action == policy.ActionRateLimit:
		if !(res.Decision.Rule == out.Rule && res.Decision.Policy == out.Policy) {
			ok, retry := s.limiter.Allow(req.AgentID+"\x00"+out.Policy+"\x00"+out.Rule, ri.rate)
			if !ok {
				out.Allowed = false
				out.Reason = "rate limit exceeded (" + ri.rate.String() + "); retry in " + limit.FormatRetry(retry)
				out.RetryAfterSeconds = retry.Seconds()
			}
		}
		if out.Reason == "" {
			out.Reason = "allowed within rate limit " + ri.rate.String()
		}
	case !out.Allowed && known && ri.action == policy.ActionRequireApproval:
		if err := s.checkApproval(r, &req, ri, &out); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.writeCheck(w, &out)
}

// writeCheck writes a 200 answer of /v1/check, encoding the usual answer
// without reflection.
func (s *Server) writeCheck(w http.ResponseWriter, out *CheckResponse) {
	buf := s.bufs.get()
	defer s.bufs.put(buf)
	buf.Grow(512)
	b, ok := out.appendJSON(buf.AvailableBuffer())
	if !ok {
		s.writeJSON(w, http.StatusOK, out)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// policyRule looks up a rule of the current set.
func policyRule(s *Server, pol, rule string) (ruleInfo, bool) {
	if rule == "" {
		return ruleInfo{}, false
	}
	return s.pol.rule(pol, rule)
}

// checkArgs returns the JSON (object keys sorted) of a check's action's
// target and arguments, and its hex SHA-256, to which the check's approval
// is bound.
func checkArgs(req *CheckRequest) (json.RawMessage, string, error) {
	args := req.Args
	if req.Target != "" {
		m := make(map[string]any, len(args)+1)
		for k, v := range args {
			m[k] = v
		}
		m["target"] = req.Target
		args = m
	}
	if args == nil {
		args = map[string]any{}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return nil, "", fieldErr("args", "not encodable: "+err.Error())
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

// checkApproval completes a require_approval decision of /v1/check.
func (s *Server) checkApproval(r *http.Request, req *CheckRequest, ri ruleInfo, out *CheckResponse) error {
	ctx := r.Context()
	args, hash, err := checkArgs(req)
	if err != nil {
		return err
	}
	setTicket := func(t approval.Ticket) {
		out.Approval = &CheckApproval{ID: t.ID, Status: t.Status, ExpiresAt: t.ExpiresAt, Approvals: t.Approvals(),
			Quorum: t.Request.Quorum}
	}
	use := func() (bool, error) {
		t, err := s.broker.Consume(ctx, req.AgentID, req.Action, hash)
		if errors.Is(err, approval.ErrNotApproved) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		setTicket(t)
		out.Allowed = true
		out.Reason = "approved by " + approvers(t) + "; approval " + t.ID + " used"
		return true, nil
	}
	if req.ApprovalID != "" {
		t, err := s.broker.Get(req.ApprovalID)
		if err != nil {
			return err
		}
		if t.Request.AgentID != req.AgentID || t.Request.Tool != req.Action || t.Request.ArgsHash != hash {
			return &APIError{Status: http.StatusConflict, Code: "approval_mismatch",
				Message: "approval " + t.ID + " is bound to another agent, action or arguments",
				Details: map[string]any{"field": "approval_id"}}
		}
		if t.Status == approval.Approved && !t.Consumed() {
			if ok, err := use(); ok || err != nil {
				return err
			}
		}
		setTicket(t)
		if t.Status != approval.Pending {
			out.Reason = "approval " + t.ID + " is " + string(t.Status)
			if t.Reason != "" {
				out.Reason += ": " + t.Reason
			}
			return nil
		}
		out.Reason = "approval required: waiting for approval " + t.ID
		return nil
	}
	if ok, err := use(); ok || err != nil {
		return err
	}
	for _, t := range s.broker.List(approval.Filter{AgentID: req.AgentID, Tool: req.Action, Status: approval.Pending}) {
		if t.Request.ArgsHash == hash {
			setTicket(t)
			out.Reason = "approval required: waiting for approval " + t.ID
			return nil
		}
	}
	ar := approval.Request{AgentID: req.AgentID, Syscall: kernel.SysCheckPolicy.String(), Tool: req.Action,
		ArgsHash: hash, ArgsPreview: audit.Preview(args, audit.PreviewOptions{}), Rule: out.Rule, Policy: out.Policy,
		Reason: out.Reason}
	if ri.approval != nil {
		ar.Approvers, ar.Quorum, ar.Timeout = ri.approval.Approvers, ri.approval.Quorum, ri.approval.Timeout
	}
	t, err := s.broker.Submit(ctx, ar)
	if err != nil {
		return err
	}
	setTicket(t)
	if t.Status == approval.Pending {
		out.Reason = "approval required: waiting for approval " + t.ID
	} else {
		out.Reason = "approval " + string(t.Status) + ": " + t.Reason
	}
	return nil
}

// approvers lists who approved a ticket.
func approvers(t approval.Ticket) string {
	out := ""
	for _, v := range t.Votes {
		if !v.Approve {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += v.Approver
	}
	if out == "" {
		return "nobody"
	}
	return out
}
