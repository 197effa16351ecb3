package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/agentos/agentos/audit"
)

// Audit query bounds.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// AuditPage is one page of GET /v1/audit.
type AuditPage struct {
	// Events are newest first.
	Events []audit.Event `json:"events"`
	// NextCursor continues the listing with older events; "" at the end.
	NextCursor string `json:"next_cursor,omitempty"`
}

// errPageFull stops a query once a page is full.
var errPageFull = errors.New("page full")

// handleAuditQuery lists audit events, newest first, filtered by ?agent=,
// ?tool=, ?decision= (the decision action), ?rule=, ?kind=, ?since= and
// ?until= (RFC 3339), in pages of ?limit= (default 100, at most 1000);
// ?cursor= (from next_cursor) continues with older events.
func (s *Server) handleAuditQuery(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := audit.Query{AgentID: v.Get("agent"), Tool: v.Get("tool"), Action: v.Get("decision"), Rule: v.Get("rule")}
	kind := audit.Kind(v.Get("kind"))
	if kind != "" && !kind.Valid() {
		s.writeError(w, r, fieldErr("kind", "unknown event kind"))
		return
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if x := v.Get(f.name); x != "" {
			t, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				s.writeError(w, r, fieldErr(f.name, "want an RFC 3339 time such as 2026-01-02T15:04:05Z"))
				return
			}
			*f.dst = t
		}
	}
	limit := defaultAuditLimit
	if x := v.Get("limit"); x != "" {
		n, err := strconv.Atoi(x)
		if err != nil || n < 1 || n > maxAuditLimit {
			s.writeError(w, r, fieldErr("limit", "want an integer from 1 to 1000"))
			return
		}
		limit = n
	}
	var before uint64
	hasCursor := false
	if x := v.Get("cursor"); x != "" {
		n, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			s.writeError(w, r, fieldErr("cursor", "not a cursor from next_cursor"))
			return
		}
		before, hasCursor = n, true
	}
	page := AuditPage{Events: []audit.Event{}}
	more := false
	err := s.opts.AuditLog.Query(r.Context(), q, func(e *audit.Event) error {
		if hasCursor && e.Seq >= before {
			return nil
		}
		if kind != "" && e.Kind != kind {
			return nil
		}
		if len(page.Events) == limit {
			more = true
			return errPageFull
		}
		page.Events = append(page.Events, *e)
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		s.writeError(w, r, err)
		return
	}
	if more && len(page.Events) > 0 {
		page.NextCursor = strconv.FormatUint(page.Events[len(page.Events)-1].Seq, 10)
	}
	s.writeJSON(w, http.StatusOK, page)
}

// VerifyResponse is the answer of GET /v1/audit/verify.
type VerifyResponse struct {
	OK          bool              `json:"ok"`
	Start       uint64            `json:"start"`
	Size        uint64            `json:"size"`
	Checkpoints int               `json:"checkpoints"`
	Latest      *audit.Checkpoint `json:"latest,omitempty"`
	Error       string            `json:"error,omitempty"`
	VerifierKey string            `json:"verifier_key"`
}

// handleAuditVerify checks the whole log: chain, tree hashes, signed
// checkpoints. A failed verification is a 200 with ok=false and the
// first problem.
func (s *Server) handleAuditVerify(w http.ResponseWriter, r *http.Request) {
	res, err := s.opts.AuditLog.Verify(r.Context(), audit.VerifyOptions{})
	out := VerifyResponse{OK: err == nil, Start: res.Start, Size: res.Size, Checkpoints: res.Checkpoints,
		Latest: res.Latest, VerifierKey: s.opts.AuditLog.VerifierKey()}
	if err != nil {
		if r.Context().Err() != nil {
			s.writeError(w, r, r.Context().Err())
			return
		}
		out.Error = err.Error()
	}
	s.writeJSON(w, http.StatusOK, out)
}

// ProofResponse is the answer of GET /v1/audit/proof/{seq}.
type ProofResponse struct {
	*audit.Proof
	// VerifierKey is the log's public key, to check the proof with.
	VerifierKey string `json:"verifier_key"`
}

// handleAuditProof returns an inclusion proof of event {seq} against a
// signed checkpoint (writing one first if none covers it yet).
func (s *Server) handleAuditProof(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		s.writeError(w, r, fieldErr("seq", "want a sequence number"))
		return
	}
	found := false
	err = s.opts.AuditLog.Query(r.Context(), audit.Query{FromSeq: seq, Ascending: true, Limit: 1}, func(e *audit.Event) error {
		found = e.Seq == seq
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !found {
		s.writeError(w, r, &APIError{Status: http.StatusNotFound, Code: "not_found",
			Message: "no audit event with seq " + strconv.FormatUint(seq, 10)})
		return
	}
	p, err := s.opts.AuditLog.Prove(r.Context(), seq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ProofResponse{Proof: p, VerifierKey: s.opts.AuditLog.VerifierKey()})
}
