package server

import (
	"bytes"
	"net/http"
	"time"

	"github.com/agentos/agentos/policy"
)

// PolicyInfo is the answer of GET /v1/policies.
type PolicyInfo struct {
	Source      string        `json:"source"`
	Version     string        `json:"version"`
	Strategy    string        `json:"strategy"`
	Rules       int           `json:"rules"`
	LoadedAt    time.Time     `json:"loaded_at"`
	Documents   []PolicyDoc   `json:"documents"`
	Text        string        `json:"text"`
	LastError   string        `json:"last_error,omitempty"`
	LastErrorAt *time.Time    `json:"last_error_at,omitempty"`
	Watching    []string      `json:"watching,omitempty"`
	Errors      []PolicyIssue `json:"errors,omitempty"`
}

// PolicyDoc summarises one loaded document.
type PolicyDoc struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Description string   `json:"description,omitempty"`
	File        string   `json:"file,omitempty"`
	Rules       []string `json:"rules"`
	Policies    []string `json:"policies,omitempty"`
}

// PolicyIssue is one problem of a rejected policy file.
type PolicyIssue struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (s *Server) handleGetPolicies(w http.ResponseWriter, r *http.Request) {
	st, lastErr, errAt := s.pol.snapshot()
	out := PolicyInfo{Source: s.pol.source, Version: st.version, Rules: st.rules, LoadedAt: st.loadedAt,
		Documents: []PolicyDoc{}, LastError: lastErr, Watching: s.opts.WatchPaths}
	if set := s.pol.engine.Current(); set != nil {
		out.Strategy = string(set.Strategy())
	}
	if !errAt.IsZero() {
		out.LastErrorAt = &errAt
	}
	for _, d := range st.docs {
		pd := PolicyDoc{Name: d.Name, Version: d.Version, Description: d.Description, File: d.Loc.File,
			Rules: []string{}, Policies: d.Policies}
		for _, ru := range d.Rules {
			pd.Rules = append(pd.Rules, ru.Name)
		}
		out.Documents = append(out.Documents, pd)
	}
	var buf bytes.Buffer
	if err := policy.Format(&buf, st.docs); err == nil {
		out.Text = buf.String()
	}
	s.writeJSON(w, http.StatusOK, out)
}

// issues lists the located problems of a policy error.
func issues(err error) []PolicyIssue {
	var out []PolicyIssue
	for _, e := range policy.AsErrors(err) {
		out = append(out, PolicyIssue{File: e.Loc.File, Line: e.Loc.Line, Column: e.Loc.Col, Field: e.Field, Message: e.Msg})
	}
	return out
}

func (s *Server) handleReloadPolicies(w http.ResponseWriter, r *http.Request) {
	if err := s.decodeJSON(r, &struct{}{}, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	old := s.PolicyVersion()
	if err := s.Reload(r.Context(), "api"); err != nil {
		d := map[string]any{"version": old}
		if is := issues(err); len(is) > 0 {
			d["errors"] = is
		}
		s.writeError(w, r, &APIError{Status: http.StatusUnprocessableEntity, Code: "policy_invalid",
			Message: "policy rejected; the last good set keeps serving: " + err.Error(), Details: d})
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"old_version": old, "version": s.PolicyVersion()})
}

// EvalRequest is the body of POST /v1/policies/eval: a policy input as the
// kernel builds it (tool_name, agent_id, args, ...).
type EvalRequest struct {
	Input map[string]any `json:"input"`
}

// EvalResponse is the decision and the trace of every rule tried.
type EvalResponse struct {
	Decision Decision   `json:"decision"`
	Trace    []EvalStep `json:"trace"`
}

// EvalStep is one rule's part in an evaluation.
type EvalStep struct {
	Rule     string `json:"rule"`
	Policy   string `json:"policy"`
	Priority int64  `json:"priority"`
	Action   string `json:"action"`
	Matched  bool   `json:"matched"`
	Error    bool   `json:"error,omitempty"`
	Why      string `json:"why"`
}

// handleEvalPolicies evaluates an input against the policy in force
// without any action, audit or side effect: a playground.
func (s *Server) handleEvalPolicies(w http.ResponseWriter, r *http.Request) {
	var req EvalRequest
	if err := s.decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Input == nil {
		s.writeError(w, r, fieldErr("input", "required: a JSON object"))
		return
	}
	set := s.pol.engine.Current()
	if set == nil {
		s.writeError(w, r, ErrNotReady)
		return
	}
	d, steps := set.Explain(r.Context(), req.Input)
	trace := make([]EvalStep, 0, len(steps))
	for _, st := range steps {
		trace = append(trace, EvalStep{Rule: st.Rule, Policy: st.Policy, Priority: st.Priority, Action: string(st.Action),
			Matched: st.Matched, Error: st.Error, Why: st.Why})
	}
	s.writeJSON(w, http.StatusOK, EvalResponse{Decision: wireDecision(d), Trace: trace})
}
