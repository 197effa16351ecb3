package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
)

// VoteRequest is the optional body of POST /v1/approvals/{id}/approve and
// /deny. The approver is the token's name, never a body field.
type VoteRequest struct {
	Comment string `json:"comment,omitempty"`
}

// DefaultApprovalsLimit is how many requests GET /v1/approvals returns
// (oldest first) when ?limit is not given; ?limit goes up to
// MaxApprovalsLimit.
const (
	DefaultApprovalsLimit = 1000
	MaxApprovalsLimit     = 10000
)

// handleListApprovals lists approval requests; ?status=, ?agent=, ?tool=,
// ?mine=true (pending requests the caller may still vote on), ?limit=. An
// agent token sees only its own agent's requests.
func (s *Server) handleListApprovals(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := approval.Filter{AgentID: q.Get("agent"), Tool: q.Get("tool"), Status: approval.Status(q.Get("status")),
		Limit: DefaultApprovalsLimit}
	switch f.Status {
	case "", approval.Pending, approval.Approved, approval.Denied, approval.Expired, approval.Cancelled:
	default:
		s.writeError(w, r, fieldErr("status", "want pending, approved, denied, expired or cancelled"))
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxApprovalsLimit {
			s.writeError(w, r, fieldErr("limit", "want an integer from 1 to "+strconv.Itoa(MaxApprovalsLimit)))
			return
		}
		f.Limit = n
	}
	p, _ := principalOf(r.Context())
	if q.Get("mine") == "true" {
		f.Approver = p.Approver()
	}
	if p.Role == RoleAgent {
		f.AgentID = p.Agent
	}
	list := s.broker.List(f)
	if list == nil {
		list = []approval.Ticket{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"approvals": list})
}

// handleVote casts the caller's vote; the broker counts distinct
// approvers towards the quorum.
func (s *Server) handleVote(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req VoteRequest
		if err := s.decodeJSON(r, &req, true); err != nil {
			s.writeError(w, r, err)
			return
		}
		p, _ := principalOf(r.Context())
		s.m.ops.WithLabelValues("approval_vote").Inc()
		t, err := s.broker.Decide(r.Context(), r.PathValue("id"), approval.Vote{Approver: p.Approver(), Approve: approve,
			Comment: req.Comment})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeJSON(w, http.StatusOK, t)
	}
}

// MaxApprovalWait bounds the long poll of GET /v1/approvals/{id}?wait=.
const MaxApprovalWait = 60 * time.Second

// SubmitApprovalRequest is the body of POST /v1/approvals: a pending
// request submitted by a governed component running outside the daemon
// (an MCP gateway), which the daemon's broker holds, shows on the
// dashboard, records in the audit log and subjects to its fatigue limit
// like the requests of its own kernel. It carries the hash of the action's
// arguments and, for approvers to read, a redacted preview of them; never
// the arguments.
type SubmitApprovalRequest struct {
	// AgentID is the agent asking. Required; an agent token may only name
	// its own agent.
	AgentID string `json:"agent_id"`
	// Tool is the action's tool. Required.
	Tool string `json:"tool"`
	// ArgsHash is the hex SHA-256 of the action's arguments (64 hex
	// digits). Required.
	ArgsHash string `json:"args_hash"`
	// ArgsPreview shows approvers what the action would do: its arguments
	// as JSON with secrets redacted and long values cut (audit.Preview),
	// at most approval.MaxArgsPreviewBytes as sent. The daemon redacts and
	// bounds it again: it never trusts the submitter to have done so.
	// Display only, not part of the binding. Optional.
	ArgsPreview json.RawMessage `json:"args_preview,omitempty"`
	// Rule, Policy and Reason come from the rule that asked for approval.
	// Optional.
	Rule   string `json:"rule,omitempty"`
	Policy string `json:"policy,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Approvers may vote (token names). Empty: any admin.
	Approvers []string `json:"approvers,omitempty"`
	// Quorum is how many distinct approvers must approve. 0: 1.
	Quorum int `json:"quorum,omitempty"`
	// Timeout is a Go duration ("5m") within the daemon's maximum. "":
	// the daemon's default.
	Timeout string `json:"timeout,omitempty"`
	// Source says where the request comes from, for example
	// "mcp:filesystem". Required.
	Source string `json:"source"`
}

// ConsumeApprovalRequest is the body of POST /v1/approvals/{id}/consume.
type ConsumeApprovalRequest struct {
	// Tool and ArgsHash must be those the request is bound to. Required.
	Tool     string `json:"tool"`
	ArgsHash string `json:"args_hash"`
}

// CancelApprovalRequest is the optional body of POST
// /v1/approvals/{id}/cancel.
type CancelApprovalRequest struct {
	// Reason says why the request is withdrawn.
	Reason string `json:"reason,omitempty"`
}

// toBroker validates req field by field (errors name the JSON field) and
// returns the broker request.
func (req *SubmitApprovalRequest) toBroker(maxTimeout time.Duration) (approval.Request, error) {
	for _, f := range [...]struct {
		name, v  string
		required bool
	}{{"agent_id", req.AgentID, true}, {"tool", req.Tool, true}, {"source", req.Source, true},
		{"rule", req.Rule, false}, {"policy", req.Policy, false}} {
		if err := checkApprovalName(f.name, f.v, f.required); err != nil {
			return approval.Request{}, err
		}
	}
	if !approval.IsSHA256Hex(req.ArgsHash) {
		return approval.Request{}, fieldErr("args_hash", "want the 64 hex digits of a SHA-256")
	}
	if !utf8.ValidString(req.Reason) || len(req.Reason) > approval.MaxReasonBytes {
		return approval.Request{}, fieldErr("reason", "want valid UTF-8 of at most "+strconv.Itoa(approval.MaxReasonBytes)+" bytes")
	}
	if len(req.Approvers) > approval.MaxApprovers {
		return approval.Request{}, fieldErr("approvers", strconv.Itoa(len(req.Approvers))+" approvers, at most "+strconv.Itoa(approval.MaxApprovers))
	}
	for i, a := range req.Approvers {
		if err := checkApprovalName("approvers["+strconv.Itoa(i)+"]", a, true); err != nil {
			return approval.Request{}, err
		}
	}
	if req.Quorum < 0 || req.Quorum > approval.MaxOpenQuorum {
		return approval.Request{}, fieldErr("quorum", "want an integer from 0 (meaning 1) to "+strconv.Itoa(approval.MaxOpenQuorum))
	}
	preview, err := submittedPreview(req.ArgsPreview)
	if err != nil {
		return approval.Request{}, err
	}
	r := approval.Request{AgentID: req.AgentID, Tool: req.Tool, ArgsHash: req.ArgsHash, ArgsPreview: preview, Rule: req.Rule,
		Policy: req.Policy, Reason: req.Reason, Approvers: req.Approvers, Quorum: req.Quorum, Source: req.Source}
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 || d > maxTimeout {
			return approval.Request{}, fieldErr("timeout", "want a duration such as \"5m\", above 0 and at most "+maxTimeout.String())
		}
		r.Timeout = d
	}
	return r, nil
}

// submittedPreview checks a submitted args_preview (JSON of at most
// approval.MaxArgsPreviewBytes) and redacts and bounds it again with
// audit.Preview, whatever the submitter did. Absent (or null): nil.
func submittedPreview(p json.RawMessage) (json.RawMessage, error) {
	p = bytes.TrimSpace(p)
	switch {
	case len(p) == 0 || string(p) == "null":
		return nil, nil
	case len(p) > approval.MaxArgsPreviewBytes:
		return nil, fieldErr("args_preview", strconv.Itoa(len(p))+" bytes, at most "+strconv.Itoa(approval.MaxArgsPreviewBytes))
	case !json.Valid(p):
		return nil, fieldErr("args_preview", "not valid JSON")
	}
	return audit.Preview(p, audit.PreviewOptions{MaxBytes: approval.MaxArgsPreviewBytes}), nil
}

// checkApprovalName checks a name field of an approval request.
func checkApprovalName(field, v string, required bool) error {
	if problem := approval.NameProblem(v, required); problem != "" {
		return fieldErr(field, problem)
	}
	return nil
}

// handleSubmitApproval registers a pending request from outside the
// daemon's kernel. 201 with the ticket; the ticket is already denied when
// the broker's fatigue limit auto-denied it.
func (s *Server) handleSubmitApproval(w http.ResponseWriter, r *http.Request) {
	var req SubmitApprovalRequest
	if err := s.decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r.Context())
	if req.AgentID != "" {
		if err := actAs(p, req.AgentID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	br, err := req.toBroker(cmp.Or(s.opts.Approval.MaxTimeout, approval.DefaultMaxTimeout))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.m.ops.WithLabelValues("approval_submit").Inc()
	t, err := s.broker.Submit(r.Context(), br)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, t)
}

// ownApproval returns request id if the caller may see it: admins and
// auditors see every request, an agent token only its own agent's (any
// other is reported as not found, so as not to confirm it exists).
func (s *Server) ownApproval(r *http.Request) (approval.Ticket, Principal, error) {
	p, _ := principalOf(r.Context())
	t, err := s.broker.Get(r.PathValue("id"))
	if err != nil {
		return approval.Ticket{}, p, err
	}
	if p.Role == RoleAgent && t.Request.AgentID != p.Agent {
		return approval.Ticket{}, p, approval.ErrNotFound
	}
	return t, p, nil
}

// handleGetApproval returns one request. With ?wait=D (a Go duration of
// at most MaxApprovalWait) it long-polls: it answers once the request has
// left pending, or after D with the request still pending.
func (s *Server) handleGetApproval(w http.ResponseWriter, r *http.Request) {
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > MaxApprovalWait {
			s.writeError(w, r, fieldErr("wait", "want a duration from 0s to "+MaxApprovalWait.String()))
			return
		}
		wait = d
	}
	t, _, err := s.ownApproval(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if t.Status == approval.Pending && wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		stop := context.AfterFunc(s.waits, cancel) // the daemon is shutting down
		waited, err := s.broker.Wait(ctx, t.ID)
		stop()
		cancel()
		switch {
		case err == nil:
			t = waited
		case r.Context().Err() != nil:
			return // the client went away
		default:
			// The wait ran out with the request still pending (or it was
			// dropped from the history meanwhile): answer what is known.
			if t, err = s.broker.Get(t.ID); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	}
	s.writeJSON(w, http.StatusOK, t)
}

// handleConsumeApproval uses an approved request once: it must be bound to
// the caller's agent (an admin consumes as the request's agent), the tool
// and the argument hash of the body. A second use fails with 409.
func (s *Server) handleConsumeApproval(w http.ResponseWriter, r *http.Request) {
	var req ConsumeApprovalRequest
	if err := s.decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkApprovalName("tool", req.Tool, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !approval.IsSHA256Hex(req.ArgsHash) {
		s.writeError(w, r, fieldErr("args_hash", "want the 64 hex digits of a SHA-256"))
		return
	}
	t, p, err := s.ownApproval(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	agent := t.Request.AgentID
	if p.Role == RoleAgent {
		agent = p.Agent
	}
	s.m.ops.WithLabelValues("approval_consume").Inc()
	t, err = s.broker.ConsumeID(r.Context(), t.ID, agent, req.Tool, req.ArgsHash)
	if err != nil {
		if errorsIs(err, approval.ErrNotApproved) {
			s.writeError(w, r, &APIError{Status: http.StatusConflict, Code: "not_approved", Message: err.Error()})
			return
		}
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, t)
}

// handleCancelApproval withdraws a live request: the submitting agent (or
// an admin) gives up waiting, so that no one is asked any longer.
func (s *Server) handleCancelApproval(w http.ResponseWriter, r *http.Request) {
	var req CancelApprovalRequest
	if err := s.decodeJSON(r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !utf8.ValidString(req.Reason) || len(req.Reason) > approval.MaxReasonBytes {
		s.writeError(w, r, fieldErr("reason", "want valid UTF-8 of at most "+strconv.Itoa(approval.MaxReasonBytes)+" bytes"))
		return
	}
	t, p, err := s.ownApproval(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reason := cmp.Or(req.Reason, "withdrawn by "+p.Approver())
	t, err = s.broker.Cancel(r.Context(), t.ID, reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, t)
}
