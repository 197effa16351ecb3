package server

import (
	"encoding/json"
	"net/http"

	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/signals"
)

// Decision is a policy decision on the wire.
type Decision struct {
	Allowed       bool   `json:"allowed"`
	Action        string `json:"action"`
	Rule          string `json:"rule"`
	Reason        string `json:"reason"`
	Policy        string `json:"policy"`
	PolicyVersion string `json:"policy_version"`
}

// wireDecision converts a policy decision.
func wireDecision(d policy.Decision) Decision {
	return Decision{Allowed: d.Allowed, Action: string(d.Action), Rule: d.Rule, Reason: d.Reason,
		Policy: d.Policy, PolicyVersion: d.Version}
}

// SyscallResult is the answer to a syscall or governed tool call that
// succeeded.
type SyscallResult struct {
	// Code is 0.
	Code int `json:"code"`
	// Value is the syscall's or tool's return value.
	Value any `json:"value"`
	// Decision is the policy decision that let it through.
	Decision Decision `json:"decision"`
}

// SpawnRequest is the body of POST /v1/agents.
type SpawnRequest struct {
	ID           string            `json:"id"`
	Role         string            `json:"role,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Ring         *int              `json:"ring,omitempty"`
	MaxTokens    int64             `json:"max_tokens,omitempty"`
	MaxToolCalls int64             `json:"max_tool_calls,omitempty"`
}

// SignalRequest is the body of POST /v1/agents/{id}/signal.
type SignalRequest struct {
	Signal string `json:"signal"`
	Reason string `json:"reason,omitempty"`
}

// SyscallRequest is the body of POST /v1/agents/{id}/syscall.
type SyscallRequest struct {
	// Syscall is a name or number: "SYS_READ", "read", "7".
	Syscall string `json:"syscall"`
	// Args are the reference's argument names ({"path": ...}).
	Args map[string]any `json:"args,omitempty"`
}

// ToolRequest is the body of POST /v1/agents/{id}/tools/{tool}.
type ToolRequest struct {
	Args       json.RawMessage `json:"args,omitempty"`
	Tokens     int64           `json:"tokens,omitempty"`
	Confidence float64         `json:"confidence,omitempty"`
	Content    string          `json:"content,omitempty"`
	Context    map[string]any  `json:"context,omitempty"`
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]any{"name": "agentos", "version": s.opts.Version,
		"api": "/v1", "dashboard": "/ui/", "openapi": "docs/openapi.yaml"})
}

func (s *Server) handleSpawn(w http.ResponseWriter, r *http.Request) {
	var req SpawnRequest
	if err := s.decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.ID == "" {
		s.writeError(w, r, fieldErr("id", "required"))
		return
	}
	spec := kernel.AgentSpec{ID: req.ID, Role: req.Role, Labels: req.Labels, MaxTokens: req.MaxTokens,
		MaxToolCalls: req.MaxToolCalls}
	if req.Ring != nil {
		ring, err := kernel.RingOf(*req.Ring)
		if err != nil {
			s.writeError(w, r, fieldErr("ring", err.Error()))
			return
		}
		spec.Ring = ring
	}
	if req.MaxTokens < 0 || req.MaxToolCalls < 0 {
		s.writeError(w, r, fieldErr("max_tokens", "budgets must not be negative"))
		return
	}
	s.m.ops.WithLabelValues("spawn").Inc()
	a, err := s.k.Spawn(r.Context(), spec)
	if err != nil {
		if kernel.CodeOf(err) == kernel.CodeBadArgs || isSpawnValidation(err) {
			s.writeError(w, r, fieldErr("id", err.Error()))
			return
		}
		s.writeError(w, r, err)
		return
	}
	s.hub.Publish(EventLifecycle, map[string]any{"event": "spawned", "agent": a.Info()})
	s.writeJSON(w, http.StatusCreated, a.Info())
}

// isSpawnValidation reports whether a Spawn error is about the spec
// rather than the kernel's state.
func isSpawnValidation(err error) bool {
	switch kernel.CodeOf(err) {
	case kernel.CodeHandler:
		// Spawn's own errors carry no code; the sentinels below are state.
		return !isAny(err, kernel.ErrAgentExists, kernel.ErrTooManyAgents, kernel.ErrClosed)
	}
	return false
}

func (s *Server) handleListAgents(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]any{"agents": s.k.List()})
}

func (s *Server) handleGetAgent(w http.ResponseWriter, r *http.Request) {
	a := s.k.Agent(r.PathValue("id"))
	if a == nil {
		s.writeError(w, r, kernel.ErrAgentNotFound)
		return
	}
	s.writeJSON(w, http.StatusOK, a.Info())
}

func (s *Server) handleDestroy(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.m.ops.WithLabelValues("destroy").Inc()
	if !s.k.Destroy(id) {
		s.writeError(w, r, kernel.ErrAgentNotFound)
		return
	}
	s.hub.Publish(EventLifecycle, map[string]any{"event": "destroyed", "agent_id": id})
	s.writeJSON(w, http.StatusOK, map[string]any{"destroyed": id})
}

// handleSignal sends a signal. An admin signals as the operator (ring 0,
// no policy check, audited); an agent token signals itself through
// SYS_SIGNAL, which policy governs.
func (s *Server) handleSignal(w http.ResponseWriter, r *http.Request) {
	var req SignalRequest
	if err := s.decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	sig, err := signals.Parse(req.Signal)
	if err != nil {
		s.writeError(w, r, fieldErr("signal", err.Error()))
		return
	}
	if len(req.Reason) > 1024 {
		s.writeError(w, r, fieldErr("reason", "longer than 1024 bytes"))
		return
	}
	id := r.PathValue("id")
	p, _ := principalOf(r.Context())
	s.m.ops.WithLabelValues("signal").Inc()
	if p.Role == RoleAdmin {
		in, err := s.k.Signal(id, sig, "operator:"+p.Name, req.Reason)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeJSON(w, http.StatusOK, in)
		return
	}
	s.governed(w, r, id, "SYS_SIGNAL", kernel.Signal{Signal: sig, Reason: req.Reason})
}

func (s *Server) handleSyscall(w http.ResponseWriter, r *http.Request) {
	var req SyscallRequest
	if err := s.decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Syscall == "" {
		s.writeError(w, r, fieldErr("syscall", "required"))
		return
	}
	kreq, err := kernel.DecodeRequest(req.Syscall, req.Args)
	if err != nil {
		if kernel.CodeOf(err) == kernel.CodeUnknown {
			s.writeError(w, r, fieldErr("syscall", err.Error()))
			return
		}
		s.writeError(w, r, fieldErr("args", err.Error()))
		return
	}
	s.governed(w, r, r.PathValue("id"), kreq.Syscall().String(), kreq)
}

func (s *Server) handleTool(w http.ResponseWriter, r *http.Request) {
	var req ToolRequest
	if err := s.decodeJSON(r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	tool := r.PathValue("tool")
	s.governed(w, r, r.PathValue("id"), "SYS_EXEC", kernel.Exec{Tool: tool, Args: req.Args, Tokens: req.Tokens,
		Confidence: req.Confidence, Content: req.Content, Context: req.Context})
}

// governed runs one syscall through the kernel and writes its result.
func (s *Server) governed(w http.ResponseWriter, r *http.Request, agentID, op string, req kernel.Request) {
	s.m.ops.WithLabelValues(op).Inc()
	ctx := r.Context()
	var end func(int, error)
	if s.opts.Tracer != nil {
		tool := op
		if e, ok := req.(kernel.Exec); ok {
			tool = e.Tool
		}
		ctx, end = s.opts.Tracer.Start(ctx, "agentos."+op, agentID, tool)
	}
	res, err := s.k.Syscall(ctx, agentID, req)
	if end != nil {
		end(res.Code, err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, SyscallResult{Code: res.Code, Value: res.Value, Decision: wireDecision(res.Decision)})
}

// isAny reports whether err matches any of targets.
func isAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errorsIs(err, t) {
			return true
		}
	}
	return false
}

// handleHealthz answers liveness: the process serves HTTP.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readiness checks what governed actions need: a running kernel, a
// writable audit log and a loaded policy.
func (s *Server) readiness() (bool, map[string]string) {
	checks := map[string]string{}
	ok := true
	switch st := s.k.State(); st {
	case kernel.Running, kernel.Degraded:
		checks["kernel"] = "ok"
	default:
		checks["kernel"] = st.String()
		ok = false
	}
	if s.pol.engine.Current() != nil {
		checks["policy"] = "ok"
	} else {
		checks["policy"] = "no policy loaded"
		ok = false
	}
	// Degraded means the last audit append failed.
	if s.k.State() == kernel.Degraded {
		checks["audit"] = "last append failed"
		ok = false
	} else {
		checks["audit"] = "ok"
	}
	return ok, checks
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ok, checks := s.readiness()
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	s.writeJSON(w, status, map[string]any{"ready": ok, "checks": checks})
}
