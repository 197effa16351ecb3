package server

import (
	"net/http"
	"strconv"

	"github.com/agentos/agentos/approval"
)

// VoteRequest is the optional body of POST /v1/approvals/{id}/approve and
// /deny. The approver is the token's name, never a body field.
type VoteRequest struct {
	Comment string `json:"comment,omitempty"`
}

// handleListApprovals lists approval requests; ?status=, ?agent=, ?tool=,
// ?mine=true (pending requests the caller may still vote on), ?limit=. An
// agent token sees only its own agent's requests.
func (s *Server) handleListApprovals(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := approval.Filter{AgentID: q.Get("agent"), Tool: q.Get("tool"), Status: approval.Status(q.Get("status"))}
	switch f.Status {
	case "", approval.Pending, approval.Approved, approval.Denied, approval.Expired, approval.Cancelled:
	default:
		s.writeError(w, r, fieldErr("status", "want pending, approved, denied, expired or cancelled"))
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			s.writeError(w, r, fieldErr("limit", "want an integer from 1 to 10000"))
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

// handleGetApproval returns one request, for callers polling it.
func (s *Server) handleGetApproval(w http.ResponseWriter, r *http.Request) {
	t, err := s.broker.Get(r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r.Context())
	if p.Role == RoleAgent && t.Request.AgentID != p.Agent {
		// Do not confirm that another agent's request exists.
		s.writeError(w, r, approval.ErrNotFound)
		return
	}
	s.writeJSON(w, http.StatusOK, t)
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
