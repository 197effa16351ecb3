package approval

import (
	"errors"
	"strconv"
)

// Sentinel errors. Callers branch on them with errors.Is; the broker wraps
// them with the request ID and details.
var (
	// ErrNotFound: no request has this ID (never existed, or was dropped
	// from the history after it ended).
	ErrNotFound = errors.New("approval request not found")
	// ErrNotPending: the request has already been decided, has expired or
	// was cancelled, so it takes no more votes.
	ErrNotPending = errors.New("approval request is not pending")
	// ErrExpired: the request's deadline passed before it was decided (or,
	// once approved, before it was used).
	ErrExpired = errors.New("approval request expired")
	// ErrNotApproved: there is no approved, unused request bound to this
	// agent, tool and argument hash.
	ErrNotApproved = errors.New("no approved request for this action")
	// ErrConsumed: the approval has already been used; approvals are
	// single-use.
	ErrConsumed = errors.New("approval already used")
	// ErrNotEligible: the request lists its approvers and the voter is not
	// one of them.
	ErrNotEligible = errors.New("approver is not eligible for this request")
	// ErrSelfApproval: the requesting agent tried to vote on its own
	// request.
	ErrSelfApproval = errors.New("an agent cannot vote on its own approval request")
	// ErrDuplicateVote: this approver has already voted on the request; each
	// approver counts once.
	ErrDuplicateVote = errors.New("approver has already voted")
	// ErrFull: the broker holds Options.MaxPending live requests (or the
	// fatigue tracker is full) and refuses more (fail closed).
	ErrFull = errors.New("approval broker full")
	// ErrClosed: the broker has been closed.
	ErrClosed = errors.New("approval broker closed")
	// ErrNotRecorded: the Recorder failed, so the step did not happen (fail
	// closed). The Recorder's error is wrapped too.
	ErrNotRecorded = errors.New("approval step not recorded")
	// ErrBadSignature: VerifyWebhook found the signature missing or wrong.
	ErrBadSignature = errors.New("approval webhook: bad signature")
	// ErrInvalid is the cause of every *FieldError: a Request, Vote or
	// Options field is malformed.
	ErrInvalid = errors.New("invalid approval input")
)

// FieldError names a malformed field of a Request, Vote, Options or
// WebhookOptions value. It matches ErrInvalid with errors.Is.
type FieldError struct {
	// Field is the field path, for example "Request.Approvers[2]".
	Field string
	// Msg says what is wrong with it.
	Msg string
}

// Error returns "approval: <field>: <msg>".
func (e *FieldError) Error() string { return "approval: " + e.Field + ": " + e.Msg }

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, msg string) *FieldError { return &FieldError{Field: field, Msg: msg} }

func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }
