package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/kernel"
)

// Sentinel errors. Handlers return them (wrapped) and the one error mapper,
// writeError, turns them into a status and a wire code.
var (
	// ErrUnauthenticated means the request carries no valid credentials.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrForbidden means the credentials are valid but their role may not
	// do this.
	ErrForbidden = errors.New("forbidden")
	// ErrCSRF means a cookie-authenticated request changing state lacked a
	// matching CSRF token or came from another origin.
	ErrCSRF = errors.New("CSRF check failed")
	// ErrNotFound means the addressed resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrBadRequest is the cause of every *FieldError.
	ErrBadRequest = errors.New("bad request")
	// ErrTooLarge means the request body exceeds Options.MaxBodyBytes.
	ErrTooLarge = errors.New("request body too large")
	// ErrNoReload means policy reload is not configured.
	ErrNoReload = errors.New("policy reload is not configured")
	// ErrNotReady means the daemon cannot serve governed actions.
	ErrNotReady = errors.New("not ready")
	// ErrUnknownRole is returned for a role other than admin, agent or
	// auditor.
	ErrUnknownRole = errors.New("unknown role")
	// ErrTokenNotFound is returned by TokenStore.Revoke for an unknown ID.
	ErrTokenNotFound = errors.New("token not found")
)

// FieldError is a request that is malformed in one field. It matches
// ErrBadRequest.
type FieldError struct {
	// Field is the JSON field path ("args.path"), query parameter or path
	// parameter at fault; "" for the body as a whole.
	Field string
	// Msg says what is wrong, in lower case.
	Msg string
}

// Error returns "field: message", or the message alone without a field.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Unwrap returns ErrBadRequest.
func (e *FieldError) Unwrap() error { return ErrBadRequest }

// fieldErr builds a *FieldError.
func fieldErr(field, msg string) error { return &FieldError{Field: field, Msg: msg} }

// APIError is the wire form of every error: {"error": {code, message,
// details}}.
type APIError struct {
	// Status is the HTTP status; not sent in the body.
	Status int `json:"-"`
	// Code is a stable, machine-readable identifier ("policy_denied").
	Code string `json:"code"`
	// Message says what went wrong in words a person can act on.
	Message string `json:"message"`
	// Details carries structured facts (rule, policy, field, request_id).
	Details map[string]any `json:"details,omitempty"`
}

// Error implements error.
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// errorBody is the JSON envelope of an APIError.
type errorBody struct {
	Error *APIError `json:"error"`
}

// toAPIError maps any error to its wire form. It is the only place that
// decides what an error looks like to a client; internal failures become a
// generic message (the caller adds the request ID and logs the cause).
func toAPIError(err error) (ae *APIError, internal bool) {
	if errors.As(err, &ae) {
		return ae, false
	}
	var fe *FieldError
	var pe *kernel.PolicyError
	var aue *kernel.AuditError
	var te *kernel.ToolError
	var afe *approval.FieldError
	switch {
	case errors.As(err, &fe):
		d := map[string]any{}
		if fe.Field != "" {
			d["field"] = fe.Field
		}
		return &APIError{Status: http.StatusBadRequest, Code: "bad_request", Message: fe.Error(), Details: d}, false
	case errors.Is(err, ErrTooLarge):
		return &APIError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: err.Error()}, false
	case errors.Is(err, ErrUnauthenticated):
		return &APIError{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: err.Error()}, false
	case errors.Is(err, ErrCSRF):
		return &APIError{Status: http.StatusForbidden, Code: "csrf", Message: err.Error()}, false
	case errors.Is(err, ErrForbidden):
		return &APIError{Status: http.StatusForbidden, Code: "forbidden", Message: err.Error()}, false
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrTokenNotFound):
		return &APIError{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}, false
	case errors.Is(err, ErrNoReload):
		return &APIError{Status: http.StatusConflict, Code: "reload_unavailable", Message: err.Error()}, false
	case errors.Is(err, ErrNotReady):
		return &APIError{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: err.Error()}, false
	case errors.As(err, &aue):
		return &APIError{Status: http.StatusServiceUnavailable, Code: "audit_unavailable",
			Message: "the action could not be recorded in the audit log and is denied",
			Details: map[string]any{"executed": aue.Executed}}, false
	case errors.As(err, &pe) && errors.Is(pe.Err, kernel.ErrRateLimited):
		return &APIError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: pe.Error(),
			Details: map[string]any{"rule": pe.Rule, "policy": pe.Policy, "reason": pe.Reason}}, false
	case errors.As(err, &pe):
		return &APIError{Status: http.StatusForbidden, Code: "policy_denied", Message: pe.Error(),
			Details: map[string]any{"rule": pe.Rule, "policy": pe.Policy, "reason": pe.Reason}}, false
	case errors.Is(err, kernel.ErrAgentExists):
		return &APIError{Status: http.StatusConflict, Code: "agent_exists", Message: err.Error()}, false
	case errors.Is(err, kernel.ErrTooManyAgents):
		return &APIError{Status: http.StatusServiceUnavailable, Code: "agent_table_full", Message: err.Error()}, false
	case errors.Is(err, kernel.ErrClosed):
		return &APIError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: err.Error()}, false
	case errors.Is(err, kernel.ErrInboxFull):
		return &APIError{Status: http.StatusTooManyRequests, Code: "inbox_full", Message: err.Error()}, false
	case errors.As(err, &te):
		return &APIError{Status: http.StatusBadGateway, Code: "tool_failed", Message: te.Error(),
			Details: map[string]any{"tool": te.Tool, "panicked": te.Panicked}}, false
	case errors.As(err, &afe):
		return &APIError{Status: http.StatusBadRequest, Code: "bad_request", Message: afe.Error(),
			Details: map[string]any{"field": afe.Field}}, false
	case errors.Is(err, approval.ErrNotFound):
		return &APIError{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}, false
	case errors.Is(err, approval.ErrNotEligible), errors.Is(err, approval.ErrSelfApproval):
		return &APIError{Status: http.StatusForbidden, Code: "not_eligible", Message: err.Error()}, false
	case errors.Is(err, approval.ErrNotPending), errors.Is(err, approval.ErrExpired),
		errors.Is(err, approval.ErrConsumed), errors.Is(err, approval.ErrDuplicateVote):
		return &APIError{Status: http.StatusConflict, Code: "approval_conflict", Message: err.Error()}, false
	case errors.Is(err, approval.ErrFull), errors.Is(err, approval.ErrClosed), errors.Is(err, approval.ErrNotRecorded):
		return &APIError{Status: http.StatusServiceUnavailable, Code: "approval_unavailable", Message: err.Error()}, false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &APIError{Status: http.StatusServiceUnavailable, Code: "timeout",
			Message: "the request ended before the action completed (agent stopped, approval pending or client gone)"}, false
	}
	switch kernel.CodeOf(err) {
	case kernel.CodeTerminated:
		if errors.Is(err, kernel.ErrAgentNotFound) {
			return &APIError{Status: http.StatusNotFound, Code: "agent_not_found", Message: err.Error()}, false
		}
		return &APIError{Status: http.StatusGone, Code: "agent_terminated", Message: err.Error()}, false
	case kernel.CodePolicy:
		return &APIError{Status: http.StatusForbidden, Code: "policy_denied", Message: err.Error()}, false
	case kernel.CodeUnknown:
		return &APIError{Status: http.StatusBadRequest, Code: "unknown_syscall", Message: err.Error()}, false
	case kernel.CodeToolNotFound:
		return &APIError{Status: http.StatusNotFound, Code: "tool_not_found", Message: err.Error()}, false
	case kernel.CodeUnavailable:
		return &APIError{Status: http.StatusServiceUnavailable, Code: "kernel_unavailable", Message: err.Error()}, false
	case kernel.CodeBadArgs:
		return &APIError{Status: http.StatusBadRequest, Code: "bad_args", Message: err.Error()}, false
	case kernel.CodeNoVFS:
		return &APIError{Status: http.StatusConflict, Code: "no_vfs", Message: err.Error()}, false
	case kernel.CodeVFS:
		return &APIError{Status: http.StatusUnprocessableEntity, Code: "vfs_error", Message: err.Error()}, false
	}
	return &APIError{Status: http.StatusInternalServerError, Code: "internal",
		Message: "internal error; quote the request id when reporting it"}, true
}

// writeError writes err in the one wire shape and logs internal failures
// with their cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, internal := toAPIError(err)
	out := *ae
	id := requestID(r.Context())
	if internal {
		s.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", id), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	if id != "" {
		d := make(map[string]any, len(out.Details)+1)
		for k, v := range out.Details {
			d[k] = v
		}
		d["request_id"] = id
		out.Details = d
	}
	if out.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="agentos"`)
	}
	s.writeJSON(w, out.Status, errorBody{Error: &out})
}

// writeJSON writes v as JSON, followed by a newline, with status. The
// encoding goes through a pooled buffer.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	buf := s.bufs.get()
	defer s.bufs.put(buf)
	// Encode escapes HTML as Marshal does and ends with a newline.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"response could not be encoded"}}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorsIs is errors.Is, named for use where a parameter shadows the
// package.
func errorsIs(err, target error) bool { return errors.Is(err, target) }
