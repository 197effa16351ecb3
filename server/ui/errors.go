package ui

import (
	"errors"
	"net/http"
)

// Sentinel errors of the dashboard's requests. Handlers map them to an
// HTTP status with statusOf.
var (
	// ErrUnauthenticated: the request carries no valid session.
	ErrUnauthenticated = errors.New("not signed in")
	// ErrForbidden: the caller's role may not do this.
	ErrForbidden = errors.New("forbidden for this role")
	// ErrCSRF: a state-changing request without the session's CSRF token,
	// or one the browser marked cross-site.
	ErrCSRF = errors.New("missing or invalid CSRF token")
	// ErrNotFound: no such page, agent or request.
	ErrNotFound = errors.New("not found")
	// ErrRefused: the approval broker refused a vote (the request is not
	// pending, expired, the approver already voted, is not eligible, or is
	// the requesting agent).
	ErrRefused = errors.New("vote refused")
	// ErrInvalid is the cause of every *InputError.
	ErrInvalid = errors.New("invalid input")
	// ErrUnavailable: a part the page needs was not configured (for
	// example reloading policy without Options.Reload).
	ErrUnavailable = errors.New("not available in this daemon")
)

// InputError names a form or query field that is malformed. It matches
// ErrInvalid with errors.Is.
type InputError struct {
	// Field is the form or query field, for example "since".
	Field string
	// Msg says what is wrong with it.
	Msg string
}

// Error returns "<field>: <msg>".
func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap returns ErrInvalid.
func (e *InputError) Unwrap() error { return ErrInvalid }

func inputErr(field, msg string) *InputError { return &InputError{Field: field, Msg: msg} }

// statusOf maps an error to the HTTP status of the page showing it: the
// one place the dashboard decides what an error means on the wire.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrCSRF):
		return http.StatusForbidden
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrRefused):
		return http.StatusConflict
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnavailable):
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}
