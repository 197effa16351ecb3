package server

import (
	"net/http"
	"strings"
)

// access says who may call a route.
type access uint8

const (
	// accessPublic: no credentials needed.
	accessPublic access = iota
	// accessAny: any authenticated role.
	accessAny
	// accessAdmin: admins only.
	accessAdmin
	// accessReaders: admins and auditors.
	accessReaders
	// accessActors: admins and agent tokens (the handler checks the agent
	// named in the body).
	accessActors
	// accessSelf: admins, and the agent token bound to the {id} path
	// parameter.
	accessSelf
	// accessReadersOrSelf: admins, auditors, and the agent token bound to
	// {id}.
	accessReadersOrSelf
	// accessAnyFiltered: any role; the handler narrows what an agent
	// token sees to its own agent.
	accessAnyFiltered
)

// route is one entry of the route table: the single list from which the
// mux, the auth checks and the OpenAPI parity test are built.
type route struct {
	method, path string
	access       access
	h            http.HandlerFunc
}

// table returns every route the server serves.
func (s *Server) table() []route {
	return []route{
		{"GET", "/healthz", accessPublic, s.handleHealthz},
		{"GET", "/readyz", accessPublic, s.handleReadyz},
		{"GET", "/metrics", accessPublic, s.metricsHandler().ServeHTTP},

		{"POST", "/v1/agents", accessAdmin, s.handleSpawn},
		{"GET", "/v1/agents", accessReaders, s.handleListAgents},
		{"GET", "/v1/agents/{id}", accessReadersOrSelf, s.handleGetAgent},
		{"DELETE", "/v1/agents/{id}", accessAdmin, s.handleDestroy},
		{"POST", "/v1/agents/{id}/signal", accessSelf, s.handleSignal},
		{"POST", "/v1/agents/{id}/syscall", accessSelf, s.handleSyscall},
		{"POST", "/v1/agents/{id}/tools/{tool}", accessSelf, s.handleTool},
		{"POST", "/v1/check", accessActors, s.handleCheck},

		{"GET", "/v1/approvals", accessAnyFiltered, s.handleListApprovals},
		{"POST", "/v1/approvals", accessActors, s.handleSubmitApproval},
		{"GET", "/v1/approvals/{id}", accessAnyFiltered, s.handleGetApproval},
		{"POST", "/v1/approvals/{id}/consume", accessActors, s.handleConsumeApproval},
		{"POST", "/v1/approvals/{id}/cancel", accessActors, s.handleCancelApproval},
		{"POST", "/v1/approvals/{id}/approve", accessAdmin, s.handleVote(true)},
		{"POST", "/v1/approvals/{id}/deny", accessAdmin, s.handleVote(false)},

		{"GET", "/v1/audit", accessReaders, s.handleAuditQuery},
		{"GET", "/v1/audit/verify", accessReaders, s.handleAuditVerify},
		{"GET", "/v1/audit/proof/{seq}", accessReaders, s.handleAuditProof},
		{"GET", "/v1/events", accessReaders, s.handleEvents},

		{"GET", "/v1/policies", accessReaders, s.handleGetPolicies},
		{"POST", "/v1/policies/reload", accessAdmin, s.handleReloadPolicies},
		{"POST", "/v1/policies/eval", accessReaders, s.handleEvalPolicies},

		{"GET", "/health", accessAny, s.compat.handleHealth},
		{"GET", "/ready", accessAny, s.compat.handleReady},
		{"POST", "/api/v1/execute", accessActors, s.compat.handleExecute},
		{"POST", "/api/v1/detect/injection", accessActors, s.compat.handleDetect},
		{"POST", "/api/v1/detect/injection/batch", accessActors, s.compat.handleDetectBatch},
		{"GET", "/api/v1/audit/injections", accessReaders, s.compat.handleInjectionLog},
		{"GET", "/api/v1/metrics", accessReaders, s.compat.handleMetrics},

		{"GET", "/ui/login", accessPublic, s.handleLoginPage},
		{"POST", "/ui/login", accessPublic, s.handleLogin},
		{"POST", "/ui/logout", accessAny, s.handleLogout},
		{"GET", "/ui/", accessAny, s.handleUI},
		{"POST", "/ui/", accessAny, s.handleUI},
		{"GET", "/{$}", accessAny, s.handleRoot},
	}
}

// buildHandler registers the routes and stacks the middleware, in one
// place and in a fixed order: recover → request id → log → auth → body
// limit.
func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	s.routes = s.table()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.path, s.authorize(rt))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &APIError{Status: http.StatusNotFound, Code: "not_found",
			Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	var h http.Handler = mux
	h = s.bodyLimit(h)
	h = s.authenticate(h)
	h = s.logRequests(h)
	h = s.requestIDs(h)
	h = s.recoverPanics(h)
	return h
}

// authorize checks the route's access rule against the request's
// principal, then calls the handler.
func (s *Server) authorize(rt route) http.Handler {
	pattern := rt.method + " " + rt.path
	obs := s.m.newRouteObservers(pattern, rt.method)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r.Context())
		ri.route, ri.obs = pattern, obs
		if rt.access == accessPublic {
			rt.h(w, r)
			return
		}
		p, ok := principalOf(r.Context())
		if !ok {
			if strings.HasPrefix(rt.path, "/ui/") {
				http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
				return
			}
			s.writeError(w, r, ErrUnauthenticated)
			return
		}
		if !allowed(rt.access, p, r.PathValue("id")) {
			s.writeError(w, r, &APIError{Status: http.StatusForbidden, Code: "forbidden",
				Message: "role " + string(p.Role) + " may not " + pattern})
			return
		}
		rt.h(w, r)
	})
}

// allowed applies an access rule.
func allowed(a access, p Principal, id string) bool {
	switch a {
	case accessPublic, accessAny, accessAnyFiltered:
		return true
	case accessAdmin:
		return p.Role == RoleAdmin
	case accessReaders:
		return p.Role == RoleAdmin || p.Role == RoleAuditor
	case accessActors:
		return p.Role == RoleAdmin || p.Role == RoleAgent
	case accessSelf:
		return p.CanActAs(id)
	case accessReadersOrSelf:
		return p.Role == RoleAuditor || p.CanActAs(id)
	}
	return false
}

// actAs checks that p may act as agent id (for routes naming the agent in
// the body).
func actAs(p Principal, id string) error {
	if p.CanActAs(id) {
		return nil
	}
	return &APIError{Status: http.StatusForbidden, Code: "forbidden",
		Message: "this token acts as agent " + p.Agent + ", not " + id}
}
