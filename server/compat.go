package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/policy"
)

// The reference-compatible endpoints: the paths and JSON shapes of the
// reference's HTTP API, so its clients work unchanged. Unlike the
// reference they need a token (any role for /health and /ready; see the
// route table for the others), reject unknown JSON fields, audit every
// execute decision, record every injection check, and report live
// numbers.

// maxInjectionRecords bounds the injection check log.
const maxInjectionRecords = 1000

// maxBatch bounds one batch detection request.
const maxBatch = 1000

// compat holds the state of the reference-compatible endpoints.
type compat struct {
	s *Server

	detOnce [3]sync.Once
	det     [3]*detect.Injection
	detErr  [3]error

	mu      sync.Mutex
	records []InjectionRecord // guarded by mu; ring of maxInjectionRecords
	next    int               // guarded by mu
	full    bool              // guarded by mu
}

func newCompat(s *Server) *compat { return &compat{s: s} }

// ExecuteRequest is the reference's execute request.
type ExecuteRequest struct {
	// Action is required but may be empty, as in the reference.
	Action   *string        `json:"action"`
	Params   map[string]any `json:"params,omitempty"`
	AgentID  string         `json:"agent_id"`
	Policies []string       `json:"policies,omitempty"`
}

// ExecuteResponse is the reference's ExecutionResult.
type ExecuteResponse struct {
	Success        bool              `json:"success"`
	Data           any               `json:"data"`
	Error          *string           `json:"error"`
	Signal         *string           `json:"signal"`
	Metadata       map[string]any    `json:"metadata"`
	UpdatedContext *ExecutionContext `json:"updated_context"`
}

// ExecutionContext is the reference's execution context after a call.
type ExecutionContext struct {
	AgentID  string           `json:"agent_id"`
	Policies []string         `json:"policies"`
	History  []map[string]any `json:"history"`
	StateRef *string          `json:"state_ref"`
	Metadata map[string]any   `json:"metadata"`
}

// validation is the reference's 422 for a missing required field.
func validation(field, msg string) error {
	return &APIError{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: field + ": " + msg,
		Details: map[string]any{"field": field}}
}

// referenceRequestID is the reference's request id: the first 16 hex
// digits of SHA-256("agent:action:time").
func referenceRequestID(agent, action, ts string) string {
	sum := sha256.Sum256([]byte(agent + ":" + action + ":" + ts))
	return hex.EncodeToString(sum[:8])
}

// handleExecute is the reference's stateless kernel: the named policies
// (read_only, no_pii, strict) decide the action; a violation answers
// success=false with signal SIGKILL, as the reference does. It decides
// only: data is the reference's acknowledgement of an admitted action.
// Deviations: an unknown policy name is an error (success=false), and a
// caller's own params.approved never satisfies require_approval.
func (c *compat) handleExecute(w http.ResponseWriter, r *http.Request) {
	s := c.s
	var req ExecuteRequest
	if err := s.decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case req.Action == nil:
		s.writeError(w, r, validation("action", "field required"))
		return
	case req.AgentID == "":
		s.writeError(w, r, validation("agent_id", "field required"))
		return
	}
	p, _ := principalOf(r.Context())
	if err := actAs(p, req.AgentID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.m.ops.WithLabelValues("execute").Inc()
	action := *req.Action
	start := time.Now()
	now := s.clock.Now().UTC()
	ts := now.Format("2006-01-02T15:04:05.000000+00:00")
	meta := map[string]any{"request_id": referenceRequestID(req.AgentID, action, ts), "timestamp": ts}
	policies := req.Policies
	if policies == nil {
		policies = []string{}
	}
	out := ExecuteResponse{Metadata: meta}
	v, err := policy.CheckNamed(policy.NamedCheck{Action: action, Params: req.Params, Policies: policies})
	dec := audit.Decision{Action: "allow", Allowed: true, Policy: "stateless", PolicyVersion: "named:" + joinNames(policies)}
	switch {
	case err != nil:
		msg := err.Error()
		out.Error = &msg
		dec = audit.Decision{Action: "deny", Reason: msg, Policy: "stateless", PolicyVersion: dec.PolicyVersion}
	case v != nil:
		msg, sig := v.Message, "SIGKILL"
		out.Error, out.Signal = &msg, &sig
		meta["violation"] = msg
		dec = audit.Decision{Action: "deny", Rule: string(v.Kind), Reason: msg, Policy: v.Policy, PolicyVersion: dec.PolicyVersion}
	default:
		out.Success = true
		out.Data = map[string]any{"status": "executed", "action": action,
			"result": "Action '" + action + "' executed successfully"}
		out.UpdatedContext = &ExecutionContext{AgentID: req.AgentID, Policies: policies,
			History: []map[string]any{{"action": action, "timestamp": ts, "success": true}}, Metadata: map[string]any{}}
		dec.Reason = "no named policy violated"
	}
	args, _ := json.Marshal(map[string]any{"params": req.Params, "policies": policies})
	ev := &audit.Event{Kind: audit.KindToolCall, AgentID: req.AgentID, Tool: action, TraceID: requestID(r.Context()),
		Args: audit.Redact(args, audit.RedactOptions{}), Decision: dec, LatencyUS: time.Since(start).Microseconds()}
	if !out.Success {
		ev.Outcome = audit.Outcome{Code: -2, Error: boundString(*out.Error, 1024)}
	}
	if err := s.tap.Append(r.Context(), ev); err != nil {
		// Fail closed: an unrecorded decision is a denial.
		s.writeError(w, r, &APIError{Status: http.StatusServiceUnavailable, Code: "audit_unavailable",
			Message: "the decision could not be recorded in the audit log and is denied"})
		return
	}
	s.writeJSON(w, http.StatusOK, out)
}

// joinNames joins policy names for the audit record.
func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ","
		}
		out += n
	}
	return out
}

// DetectRequest is the reference's injection detection request.
type DetectRequest struct {
	Text         *string  `json:"text"`
	Source       string   `json:"source,omitempty"`
	CanaryTokens []string `json:"canary_tokens,omitempty"`
	Sensitivity  string   `json:"sensitivity,omitempty"`
}

// DetectResponse is the reference's detection result.
type DetectResponse struct {
	IsInjection     bool     `json:"is_injection"`
	ThreatLevel     string   `json:"threat_level"`
	InjectionType   *string  `json:"injection_type"`
	Confidence      float64  `json:"confidence"`
	MatchedPatterns []string `json:"matched_patterns"`
	Explanation     string   `json:"explanation"`
}

// BatchItem is one input of a batch.
type BatchItem struct {
	Text   string `json:"text"`
	Source string `json:"source,omitempty"`
}

// BatchRequest is the reference's batch detection request.
type BatchRequest struct {
	Inputs       []BatchItem `json:"inputs"`
	CanaryTokens []string    `json:"canary_tokens,omitempty"`
	Sensitivity  string      `json:"sensitivity,omitempty"`
}

// BatchResponse is the reference's batch result.
type BatchResponse struct {
	Results         []DetectResponse `json:"results"`
	Total           int              `json:"total"`
	InjectionsFound int              `json:"injections_found"`
}

// InjectionRecord is one entry of GET /api/v1/audit/injections.
type InjectionRecord struct {
	Timestamp     string  `json:"timestamp"`
	InputHash     string  `json:"input_hash"`
	Source        string  `json:"source"`
	IsInjection   bool    `json:"is_injection"`
	ThreatLevel   string  `json:"threat_level"`
	InjectionType *string `json:"injection_type"`
	Explanation   string  `json:"explanation"`
}

// detector returns the shared detector of a sensitivity (unknown names
// mean balanced, as in the reference).
func (c *compat) detector(sens string) (*detect.Injection, error) {
	i, level := 1, detect.SensitivityBalanced
	switch detect.Sensitivity(sens) {
	case detect.SensitivityStrict:
		i, level = 0, detect.SensitivityStrict
	case detect.SensitivityPermissive:
		i, level = 2, detect.SensitivityPermissive
	}
	c.detOnce[i].Do(func() {
		c.det[i], c.detErr[i] = detect.NewInjection(detect.InjectionOptions{Sensitivity: level})
	})
	return c.det[i], c.detErr[i]
}

// detectOne checks one text and records it. Any internal error blocks
// the input (the reference's fail-closed result).
func (c *compat) detectOne(r *http.Request, text, source string, canaries []string, sens string) DetectResponse {
	var out DetectResponse
	d, err := c.detector(sens)
	var v detect.InjectionVerdict
	if err == nil {
		v, err = d.Check(r.Context(), text, canaries)
	}
	if err != nil {
		fc := detect.FailClosedResult()
		out = DetectResponse{IsInjection: true, ThreatLevel: fc.ThreatLevel(), Confidence: fc.Confidence,
			MatchedPatterns: fc.MatchedPatterns, Explanation: fc.Explanation}
	} else {
		out = fromVerdict(v)
	}
	if source == "" {
		source = "api"
	}
	c.record(text, source, out)
	verdict := "clean"
	if out.IsInjection {
		verdict = "injection"
		c.s.tap.live.blocked.Add(1)
	}
	c.s.m.injections.WithLabelValues(verdict).Inc()
	return out
}

// fromVerdict renders our verdict (rules on normalised text plus the
// model) in the reference's shape.
func fromVerdict(v detect.InjectionVerdict) DetectResponse {
	res := v.Rules
	out := DetectResponse{IsInjection: v.Injection, ThreatLevel: "none", Confidence: res.Confidence,
		MatchedPatterns: res.MatchedPatterns, Explanation: res.Explanation}
	if out.MatchedPatterns == nil {
		out.MatchedPatterns = []string{}
	}
	if res.IsInjection {
		out.ThreatLevel = res.ThreatLevel()
		t := string(res.Type)
		if t != "" {
			out.InjectionType = &t
		}
	}
	if v.Injection && !res.IsInjection {
		// The model alone fired.
		out.ThreatLevel = "medium"
		for _, f := range v.Findings {
			if f.Source == "model" || f.Rule == "model" {
				out.ThreatLevel = f.Severity.String()
				out.Explanation = f.Explanation
			}
		}
		out.Confidence = math.Round(v.ModelScore*1000) / 1000
		out.MatchedPatterns = append(out.MatchedPatterns, "model")
	}
	if !v.Injection {
		out.ThreatLevel = "none"
		out.InjectionType = nil
	}
	return out
}

// record appends to the bounded injection log.
func (c *compat) record(text, source string, res DetectResponse) {
	sum := sha256.Sum256([]byte(text))
	rec := InjectionRecord{Timestamp: c.s.clock.Now().UTC().Format(time.RFC3339Nano), InputHash: hex.EncodeToString(sum[:]),
		Source: boundString(source, 256), IsInjection: res.IsInjection, ThreatLevel: res.ThreatLevel,
		InjectionType: res.InjectionType, Explanation: res.Explanation}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.records) < maxInjectionRecords {
		c.records = append(c.records, rec)
		return
	}
	c.records[c.next] = rec
	c.next = (c.next + 1) % maxInjectionRecords
	c.full = true
}

// last returns the newest n records, oldest first.
func (c *compat) last(n int) []InjectionRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	ordered := make([]InjectionRecord, 0, len(c.records))
	if c.full {
		ordered = append(ordered, c.records[c.next:]...)
		ordered = append(ordered, c.records[:c.next]...)
	} else {
		ordered = append(ordered, c.records...)
	}
	if len(ordered) > n {
		ordered = ordered[len(ordered)-n:]
	}
	return ordered
}

func (c *compat) handleDetect(w http.ResponseWriter, r *http.Request) {
	var req DetectRequest
	if err := c.s.decodeJSON(r, &req, false); err != nil {
		c.s.writeError(w, r, err)
		return
	}
	if req.Text == nil {
		c.s.writeError(w, r, validation("text", "field required"))
		return
	}
	c.s.writeJSON(w, http.StatusOK, c.detectOne(r, *req.Text, req.Source, req.CanaryTokens, req.Sensitivity))
}

func (c *compat) handleDetectBatch(w http.ResponseWriter, r *http.Request) {
	var req BatchRequest
	if err := c.s.decodeJSON(r, &req, false); err != nil {
		c.s.writeError(w, r, err)
		return
	}
	if req.Inputs == nil {
		c.s.writeError(w, r, validation("inputs", "field required"))
		return
	}
	if len(req.Inputs) > maxBatch {
		c.s.writeError(w, r, validation("inputs", "at most "+strconv.Itoa(maxBatch)+" inputs per batch"))
		return
	}
	out := BatchResponse{Results: make([]DetectResponse, 0, len(req.Inputs)), Total: len(req.Inputs)}
	for _, in := range req.Inputs {
		res := c.detectOne(r, in.Text, in.Source, req.CanaryTokens, req.Sensitivity)
		if res.IsInjection {
			out.InjectionsFound++
		}
		out.Results = append(out.Results, res)
	}
	c.s.writeJSON(w, http.StatusOK, out)
}

func (c *compat) handleInjectionLog(w http.ResponseWriter, r *http.Request) {
	n := 50
	if x := r.URL.Query().Get("limit"); x != "" {
		v, err := strconv.Atoi(x)
		if err != nil || v < 1 || v > 1000 {
			c.s.writeError(w, r, validation("limit", "want an integer from 1 to 1000"))
			return
		}
		n = v
	}
	recs := c.last(n)
	c.s.writeJSON(w, http.StatusOK, map[string]any{"records": recs, "total": len(recs)})
}

func (c *compat) handleMetrics(w http.ResponseWriter, r *http.Request) {
	l := &c.s.tap.live
	checks := l.checks.Load()
	avg := 0.0
	if checks > 0 {
		avg = math.Round(float64(l.latencyUS.Load())/float64(checks)/1000*1000) / 1000
	}
	c.s.writeJSON(w, http.StatusOK, map[string]any{"total_checks": checks, "violations": l.violations.Load(),
		"approvals": l.approvals.Load(), "blocked": l.blocked.Load(), "avg_latency_ms": avg})
}

// health is the reference's health report, with a real timestamp.
func (c *compat) health() (string, map[string]map[string]string) {
	ok, checks := c.s.readiness()
	comps := map[string]map[string]string{}
	for name, v := range checks {
		st := "healthy"
		if v != "ok" {
			st = "unhealthy"
		}
		comps[name] = map[string]string{"status": st, "message": v}
	}
	status := "healthy"
	if !ok {
		status = "unhealthy"
		if c.s.k.State().String() == "DEGRADED" {
			status = "degraded"
		}
	}
	return status, comps
}

func (c *compat) handleHealth(w http.ResponseWriter, r *http.Request) {
	status, comps := c.health()
	c.s.writeJSON(w, http.StatusOK, map[string]any{"status": status, "components": comps,
		"timestamp": c.s.clock.Now().UTC().Format(time.RFC3339Nano)})
}

func (c *compat) handleReady(w http.ResponseWriter, r *http.Request) {
	status, _ := c.health()
	if status == "unhealthy" {
		c.s.writeJSON(w, http.StatusServiceUnavailable, map[string]any{"detail": "Not ready"})
		return
	}
	c.s.writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}
