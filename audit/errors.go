package audit

import (
	"errors"
	"strconv"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrFull is returned by Memory.Append when the log holds
	// MemoryOptions.MaxEvents events. The action being recorded must be
	// denied: the log fails closed.
	ErrFull = errors.New("audit log full")

	// ErrInvalidEvent is wrapped by every error about an event that cannot
	// be recorded (an unknown kind, a string that is not UTF-8, args that
	// are not I-JSON, a number outside ±2^53, a time outside years 0–9999).
	// The message names the field.
	ErrInvalidEvent = errors.New("invalid audit event")

	// ErrInvalidJSON is wrapped by every error CanonicalJSON returns, and by
	// ErrInvalidEvent errors about args.
	ErrInvalidJSON = errors.New("invalid JSON for canonicalization")

	// ErrChainBroken is matched by every *ChainError.
	ErrChainBroken = errors.New("audit chain broken")

	// ErrCheckpoint is matched by every *CheckpointError and by every
	// error about a checkpoint note that is malformed or whose signature
	// does not verify.
	ErrCheckpoint = errors.New("audit checkpoint invalid")

	// ErrProof is wrapped by every error VerifyProof returns.
	ErrProof = errors.New("audit proof invalid")

	// ErrClosed is returned by a Log's methods after Close.
	ErrClosed = errors.New("audit log closed")
)

// ChainError reports the first event at which a chain fails to verify.
type ChainError struct {
	// Seq is the sequence number of the first bad event (for a gap, the
	// sequence number that was expected there).
	Seq uint64
	// Reason says what is wrong, e.g. "hash mismatch".
	Reason string
}

// Error implements error: "audit chain broken at seq 5: hash mismatch".
func (e *ChainError) Error() string {
	return "audit chain broken at seq " + strconv.FormatUint(e.Seq, 10) + ": " + e.Reason
}

// Unwrap returns ErrChainBroken.
func (e *ChainError) Unwrap() error { return ErrChainBroken }

// CheckpointError reports a signed checkpoint that the stored log does not
// match: a bad signature, a root or chain hash that differs from the
// recomputed one (a rewrite), a size beyond the log's end (a truncation),
// or two checkpoints that are not consistent.
type CheckpointError struct {
	// Size is the checkpoint's tree size.
	Size uint64
	// Seq is the first sequence number the failure puts in doubt: for a
	// rewrite, the size of the last checkpoint that matched (the rewrite
	// lies in [Seq, Size)); for a truncation, the first missing event.
	Seq uint64
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *CheckpointError) Error() string {
	return "audit checkpoint at size " + strconv.FormatUint(e.Size, 10) + " fails from seq " +
		strconv.FormatUint(e.Seq, 10) + ": " + e.Reason
}

// Unwrap returns ErrCheckpoint.
func (e *CheckpointError) Unwrap() error { return ErrCheckpoint }
