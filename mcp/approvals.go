package mcp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
)

// ApprovalDirName is the directory, in the data directory, through which
// a running gateway and `agentos mcp approve` exchange approvals.
const ApprovalDirName = "mcp-approvals"

// DefaultApprovalPoll is how often Approvals.Run looks for votes.
const DefaultApprovalPoll = 500 * time.Millisecond

// ApprovalsOptions configure Approvals.
type ApprovalsOptions struct {
	// Dir is the exchange directory (DATA_DIR/mcp-approvals). Required; it
	// is created with mode 0700.
	Dir string
	// Auditor records every approval step (kind approval); a step that
	// cannot be recorded fails closed. Required.
	Auditor kernel.Auditor
	// Webhook, if set, also receives every step (e.g. approval.Webhook, to
	// tell people an approval is waiting). nil: none.
	Webhook approval.Notifier
	// Timeout is how long a request waits for a vote. 0:
	// approval.DefaultTimeout.
	Timeout time.Duration
	// Clock drives expiry. nil: the wall clock.
	Clock approval.Clock
	// Logger receives logs. nil: discard.
	Logger *slog.Logger
	// ElicitOnly denies at once a request that cannot be put to the
	// client's user through elicitation (its session does not allow it, or
	// the client did not declare the capability) instead of waiting for a
	// vote in the exchange directory: for when nothing (no webhook) tells
	// anyone that a request waits. Requests that can be put to the user
	// are asked through elicitation whatever this field says.
	ElicitOnly bool
	// StateKey signs the request states of approval questions put to
	// stateless (2026-07-28) clients in input_required results, which the
	// client echoes with its answer: at least 32 bytes. nil: a random key,
	// so that states end with the process, as its pending requests do.
	StateKey []byte
}

// Approvals is the standalone approval flow of the gateway: a
// kernel.Approver on an approval.Broker whose pending requests are
// written to an exchange directory, where `agentos mcp approve ID` (or
// anything able to write a file there) leaves votes that Run picks up.
// The directory has mode 0700: whoever may write it may approve, which is
// the user running the gateway.
type Approvals struct {
	b          *approval.Broker
	dir        string
	hook       approval.Notifier
	log        *slog.Logger
	elicitOnly bool
	// stateKey signs request states; now reads the clock.
	stateKey []byte
	now      func() time.Time
}

// NewApprovals returns Approvals with a broker of its own. Close it.
func NewApprovals(opts ApprovalsOptions) (*Approvals, error) {
	switch {
	case opts.Dir == "":
		return nil, errors.New("mcp: ApprovalsOptions.Dir is required")
	case opts.Auditor == nil:
		return nil, errors.New("mcp: ApprovalsOptions.Auditor is required")
	case opts.StateKey != nil && len(opts.StateKey) < 32:
		return nil, errors.New("mcp: ApprovalsOptions.StateKey: want at least 32 bytes")
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("mcp: approvals directory: %w", err)
	}
	a := &Approvals{dir: opts.Dir, hook: opts.Webhook, log: opts.Logger, elicitOnly: opts.ElicitOnly,
		stateKey: bytes.Clone(opts.StateKey), now: time.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if opts.Clock != nil {
		a.now = opts.Clock.Now
	}
	if a.stateKey == nil {
		a.stateKey = make([]byte, 32)
		if _, err := rand.Read(a.stateKey); err != nil {
			return nil, fmt.Errorf("mcp: request state key: %w", err)
		}
	}
	b, err := approval.New(approval.Options{Clock: opts.Clock, Logger: opts.Logger, DefaultTimeout: opts.Timeout,
		Notifier: a, Recorder: approvalRecorder{opts.Auditor}})
	if err != nil {
		return nil, fmt.Errorf("mcp: approval broker: %w", err)
	}
	a.b = b
	return a, nil
}

// Broker returns the broker.
func (a *Approvals) Broker() *approval.Broker { return a.b }

// Close closes the broker (pending requests are cancelled, which denies
// them).
func (a *Approvals) Close() error { return a.b.Close() }

// Approve implements kernel.Approver: it submits the request and waits for
// a decision. A governed MCP call whose session allows approval
// elicitation, from a client that declared the capability, is also put to
// the client's user (see Session.AskApproval); the answer is cast as the
// vote of approver "elicitation:<client name>", beside any vote left in
// the exchange directory. A stateless (2026-07-28) client is asked with an
// input_required result instead: the call is denied for now, and its
// retry carrying the answer and the signed request state is decided here
// (see ApprovalInputKey).
func (a *Approvals) Approve(ctx context.Context, req kernel.ApprovalRequest) (bool, string, error) {
	r := approval.Request{AgentID: req.AgentID, Syscall: req.Syscall.String(), Tool: req.Tool,
		ArgsHash: req.ArgsHash, ArgsPreview: req.ArgsPreview, Rule: req.Rule, Policy: req.Policy, Reason: req.Reason}
	if ap := req.Approval; ap != nil {
		r.Approvers, r.Quorum, r.Timeout = ap.Approvers, ap.Quorum, ap.Timeout
	}
	whyNot := whyNoElicitation
	c, _ := ctx.Value(callKey{}).(*call)
	if c != nil && c.tool == req.Tool {
		if c.mrtr != nil {
			if ok, approved, reason, err := a.approveByInput(ctx, c, r); ok {
				return approved, reason, err
			}
		}
		var approver string
		if approver, whyNot = c.s.elicitor(c); approver != "" {
			return a.approveByElicitation(ctx, c, approver, r)
		}
	}
	if a.elicitOnly {
		return false, whyNot + " and no other approval channel is configured", nil
	}
	t, err := a.b.Approve(ctx, r)
	if err != nil {
		return false, "", err
	}
	return t.Status == approval.Approved, t.Reason, nil
}

// approveByElicitation submits r to the broker, asks the client's user
// meanwhile and waits for the decision: the user's answer, a vote in the
// exchange directory, or expiry. Anything but an approval denies.
func (a *Approvals) approveByElicitation(ctx context.Context, c *call, approver string, r approval.Request) (bool, string, error) {
	if t, err := a.b.Consume(ctx, r.AgentID, r.Tool, r.ArgsHash); err == nil {
		return true, t.Reason, nil
	} else if !errors.Is(err, approval.ErrNotApproved) {
		return false, "", err
	}
	t, err := a.b.Submit(ctx, r)
	if err != nil {
		return false, "", err
	}
	if t.Status != approval.Pending {
		return false, t.Reason, nil // auto-denied (approval fatigue)
	}
	ectx, cancel := context.WithDeadline(ctx, t.ExpiresAt)
	defer cancel()
	go func() {
		err := c.s.askApproval(ectx, &c.id, ElicitApproval{Tool: r.Tool, Rule: r.Rule, Reason: r.Reason, Args: c.args})
		if ectx.Err() != nil {
			return // decided another way, expired, or abandoned
		}
		v := approval.Vote{Approver: approver, Approve: err == nil, Comment: "answered through MCP elicitation"}
		if err != nil {
			v.Comment = "denied through MCP elicitation: " + bound(err.Error(), 200)
		}
		dctx := context.WithoutCancel(ectx)
		if _, derr := a.b.Decide(dctx, t.ID, v); derr != nil && !errors.Is(derr, approval.ErrNotPending) && !errors.Is(derr, approval.ErrExpired) {
			a.log.Warn("elicitation vote refused", slog.String("id", t.ID), slog.String("approver", approver), slog.String("error", derr.Error()))
			if !v.Approve {
				// The user said no but may not vote on this request: the
				// request is withdrawn all the same (fail closed).
				if _, cerr := a.b.Cancel(dctx, t.ID, "denied by the user through MCP elicitation"); cerr != nil {
					a.log.Warn("approval request not cancelled", slog.String("id", t.ID), slog.String("error", cerr.Error()))
				}
			}
		}
	}()
	id := t.ID
	t, err = a.b.Wait(ctx, id)
	if err != nil {
		if _, cerr := a.b.Cancel(context.WithoutCancel(ctx), id, "the waiting caller gave up"); cerr != nil {
			a.log.Debug("abandoned approval request not cancelled", slog.String("error", cerr.Error()))
		}
		return false, "", err
	}
	if t.Status != approval.Approved {
		return false, t.Reason, nil
	}
	t, err = a.b.Consume(ctx, r.AgentID, r.Tool, r.ArgsHash)
	if err != nil {
		return false, "", err
	}
	return true, t.Reason, nil
}

// PendingApproval is what the exchange directory holds for a request
// awaiting votes. ArgsPreview is the call's arguments, redacted and
// bounded (see audit.Preview), for the person deciding.
type PendingApproval struct {
	ID          string          `json:"id"`
	AgentID     string          `json:"agent_id"`
	Tool        string          `json:"tool"`
	ArgsHash    string          `json:"args_hash"`
	ArgsPreview json.RawMessage `json:"args_preview,omitempty"`
	Rule        string          `json:"rule,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Approvals   int             `json:"approvals"`
	Quorum      int             `json:"quorum"`
	ExpiresAt   time.Time       `json:"expires_at"`
}

// reApprovalID is the shape of a broker request ID (also a safe file
// name).
var reApprovalID = regexp.MustCompile(`^[A-Za-z0-9_-]{8,128}$`)

// Notify implements approval.Notifier: it keeps the exchange directory's
// pending files in step with the broker, then forwards to the webhook.
func (a *Approvals) Notify(e approval.Event) {
	if reApprovalID.MatchString(e.RequestID) {
		path := filepath.Join(a.dir, e.RequestID+".json")
		switch {
		case e.Status == approval.Pending:
			b, err := json.MarshalIndent(PendingApproval{ID: e.RequestID, AgentID: e.AgentID, Tool: e.Tool,
				ArgsHash: e.ArgsHash, ArgsPreview: e.ArgsPreview, Rule: e.Rule, Reason: e.Reason, Approvals: e.Approvals,
				Quorum: e.Quorum, ExpiresAt: e.ExpiresAt}, "", "  ")
			if err == nil {
				err = writeFileAtomic(path, b)
			}
			if err != nil {
				a.log.Warn("approval exchange file", slog.String("error", err.Error()))
			}
		default:
			_ = os.Remove(path)
			_ = os.Remove(filepath.Join(a.dir, e.RequestID+".vote"))
		}
	}
	if a.hook != nil {
		a.hook.Notify(e)
	}
}

// ApprovalVote is a vote file: what `agentos mcp approve` writes.
type ApprovalVote struct {
	Approver string `json:"approver"`
	Approve  bool   `json:"approve"`
	Comment  string `json:"comment,omitempty"`
}

// WriteVote leaves a vote for request id in the exchange directory dir.
// It fails with an error wrapping os.ErrNotExist when no such request is
// pending.
func WriteVote(dir, id string, v ApprovalVote) error {
	if !reApprovalID.MatchString(id) {
		return fmt.Errorf("mcp: approval ID %q: not an approval ID", id)
	}
	if v.Approver == "" {
		return errors.New("mcp: vote without an approver")
	}
	if _, err := os.Stat(filepath.Join(dir, id+".json")); err != nil {
		return fmt.Errorf("mcp: no pending approval %s: %w", id, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, id+".vote"), b)
}

// ListPending reads the pending approvals of an exchange directory.
func ListPending(dir string) ([]PendingApproval, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []PendingApproval
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		var p PendingApproval
		if json.Unmarshal(b, &p) == nil && p.ID != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// Poll applies the votes waiting in the exchange directory once. A vote
// the broker refuses (an approver not allowed, the requesting agent
// itself, an ended request) is dropped and logged.
func (a *Approvals) Poll(ctx context.Context) {
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".vote")
		if !ok || !reApprovalID.MatchString(id) {
			continue
		}
		path := filepath.Join(a.dir, e.Name())
		b, err := os.ReadFile(path)
		_ = os.Remove(path)
		if err != nil {
			continue
		}
		var v ApprovalVote
		if err := json.Unmarshal(b, &v); err != nil {
			a.log.Warn("unreadable vote file dropped", slog.String("id", id))
			continue
		}
		if _, err := a.b.Decide(ctx, id, approval.Vote{Approver: v.Approver, Approve: v.Approve, Comment: v.Comment}); err != nil {
			a.log.Warn("vote refused", slog.String("id", id), slog.String("approver", v.Approver), slog.String("error", err.Error()))
		}
	}
}

// Run polls for votes every interval (0: DefaultApprovalPoll) until ctx
// ends.
func (a *Approvals) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultApprovalPoll
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.Poll(ctx)
		}
	}
}

// approvalRecorder records approval steps in the audit log.
type approvalRecorder struct{ a kernel.Auditor }

func (r approvalRecorder) Record(ctx context.Context, e approval.Event) error {
	args, err := json.Marshal(map[string]any{"request_id": e.RequestID, "step": e.Kind, "args_hash": e.ArgsHash,
		"approver": e.Approver, "approve": e.Approve, "approvals": e.Approvals, "quorum": e.Quorum})
	if err != nil {
		return err
	}
	return r.a.Append(ctx, &audit.Event{Kind: audit.KindApproval, AgentID: e.AgentID, Tool: e.Tool, Args: args,
		Decision: audit.Decision{Action: "require_approval", Allowed: e.Status == approval.Approved,
			Rule: e.Rule, Reason: e.Reason, Policy: e.Policy}})
}

// writeFileAtomic writes b to path with mode 0600 through a temporary
// file and a rename.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
