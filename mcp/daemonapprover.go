package mcp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
)

// Defaults for zero DaemonApproverOptions fields.
const (
	// DefaultDaemonPollWait is the long poll of one GET
	// /v1/approvals/{id}?wait= (the daemon allows at most 60s).
	DefaultDaemonPollWait = 25 * time.Second
	// DefaultDaemonRequestTimeout bounds one exchange with the daemon
	// beyond its long poll.
	DefaultDaemonRequestTimeout = 10 * time.Second
	// maxDaemonResponse bounds a daemon answer read into memory.
	maxDaemonResponse = 1 << 20
)

// DaemonApproverOptions configure NewDaemonApprover.
type DaemonApproverOptions struct {
	// URL is the daemon's base URL (`agentos serve`): https, or http to a
	// loopback address only, since the token travels with every request.
	// Required; see ValidateDaemonURL.
	URL string
	// Token is the bearer token the gateway presents: an agent token bound
	// to the gateway's agent ID (or an admin token). Required. Take it
	// from the environment, never from a command-line flag (it would show
	// in the process list).
	Token string
	// Source names the gateway to approvers, for example
	// "mcp:filesystem". Required.
	Source string
	// Client sends the requests. nil: a client that follows no redirects
	// (a redirect fails closed). Its Timeout, if any, must exceed PollWait.
	Client *http.Client
	// PollWait is how long one long-poll waits for a decision.
	// 0: DefaultDaemonPollWait. At most 60s (the daemon's bound).
	PollWait time.Duration
	// RequestTimeout bounds one exchange with the daemon beyond PollWait.
	// 0: DefaultDaemonRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives logs. nil: discard.
	Logger *slog.Logger
}

// DaemonApprover is a kernel.Approver that asks the daemon's approval
// broker: each require_approval call of the gateway is submitted with
// POST /v1/approvals (the hash of its arguments and, for the person
// deciding, their redacted and bounded preview; never the arguments), so
// that a person decides it on the daemon's dashboard or through its API;
// the gateway long-polls the request and, once it is approved, uses the
// approval once with POST /v1/approvals/{id}/consume, bound to the same
// agent, tool and argument hash. Every failure (daemon down, refused
// token, timeout, malformed answer) denies the call with a reason saying
// so. It is safe for concurrent use.
type DaemonApprover struct {
	base    *url.URL
	token   string
	source  string
	client  *http.Client
	wait    time.Duration
	timeout time.Duration
	log     *slog.Logger
}

var _ kernel.Approver = (*DaemonApprover)(nil)

// NewDaemonApprover validates opts and returns a DaemonApprover. It does
// not contact the daemon.
func NewDaemonApprover(opts DaemonApproverOptions) (*DaemonApprover, error) {
	u, err := ValidateDaemonURL(opts.URL)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Token == "":
		return nil, errors.New("mcp: DaemonApproverOptions.Token is required")
	case strings.ContainsAny(opts.Token, "\r\n \t"):
		return nil, errors.New("mcp: DaemonApproverOptions.Token contains white space")
	case opts.Source == "":
		return nil, errors.New("mcp: DaemonApproverOptions.Source is required")
	case opts.PollWait < 0 || opts.PollWait > 60*time.Second:
		return nil, errors.New("mcp: DaemonApproverOptions.PollWait must be from 0 to 60s")
	case opts.RequestTimeout < 0:
		return nil, errors.New("mcp: DaemonApproverOptions.RequestTimeout is negative")
	}
	d := &DaemonApprover{base: u, token: opts.Token, source: opts.Source, client: opts.Client,
		wait: cmp.Or(opts.PollWait, DefaultDaemonPollWait), timeout: cmp.Or(opts.RequestTimeout, DefaultDaemonRequestTimeout),
		log: opts.Logger}
	if d.client == nil {
		d.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// ValidateDaemonURL checks a daemon base URL: an absolute https URL, or an
// http URL whose host is a loopback address (127.0.0.0/8, ::1,
// localhost), without user information, query or fragment.
func ValidateDaemonURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("mcp: the daemon URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mcp: daemon URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("mcp: daemon URL %q: want http or https", raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("mcp: daemon URL %q: no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("mcp: daemon URL %q: user information is not allowed (the token comes from the environment)", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("mcp: daemon URL %q: no query or fragment allowed", raw)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return nil, fmt.Errorf("mcp: daemon URL %q: plain http only to a loopback address; use https", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// loopbackHost reports whether host names the local machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// daemonSubmit is the body of POST /v1/approvals.
type daemonSubmit struct {
	AgentID     string          `json:"agent_id"`
	Tool        string          `json:"tool"`
	ArgsHash    string          `json:"args_hash"`
	ArgsPreview json.RawMessage `json:"args_preview,omitempty"`
	Rule        string          `json:"rule,omitempty"`
	Policy      string          `json:"policy,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Approvers   []string        `json:"approvers,omitempty"`
	Quorum      int             `json:"quorum,omitempty"`
	Timeout     string          `json:"timeout,omitempty"`
	Source      string          `json:"source"`
}

// Approve implements kernel.Approver: submit, long-poll until decided,
// then use the approval once. Any error denies.
func (d *DaemonApprover) Approve(ctx context.Context, req kernel.ApprovalRequest) (bool, string, error) {
	body := daemonSubmit{AgentID: req.AgentID, Tool: req.Tool, ArgsHash: req.ArgsHash, Rule: req.Rule,
		Policy: req.Policy, Reason: bound(req.Reason, approval.MaxReasonBytes), Source: d.source,
		// The kernel's preview, bounded to what the daemon accepts (a
		// preview of a preview is the same preview). The daemon redacts
		// it again on its side.
		ArgsPreview: audit.Preview(req.ArgsPreview, audit.PreviewOptions{MaxBytes: approval.MaxArgsPreviewBytes})}
	if ap := req.Approval; ap != nil {
		body.Approvers, body.Quorum = ap.Approvers, ap.Quorum
		if ap.Timeout > 0 {
			body.Timeout = ap.Timeout.String()
		}
	}
	// The submission is not abandoned half-way when ctx ends: a request
	// the daemon created must be known by its ID to be withdrawn, or it
	// would wait for a person until it expires. It is bounded by d.timeout.
	var t approval.Ticket
	if err := d.do(context.WithoutCancel(ctx), http.MethodPost, "/v1/approvals", nil, body, http.StatusCreated, d.timeout, &t); err != nil {
		return false, "", err
	}
	if err := d.checkTicket(&t, req); err != nil {
		return false, "", err
	}
	if err := ctx.Err(); err != nil {
		d.cancel(ctx, t.ID, err)
		return false, "", err
	}
	d.log.LogAttrs(ctx, slog.LevelInfo, "approval requested from the daemon", slog.String("id", t.ID),
		slog.String("tool", req.Tool), slog.String("rule", req.Rule))
	for t.Status == approval.Pending {
		path := "/v1/approvals/" + t.ID
		q := url.Values{"wait": {d.wait.String()}}
		id := t.ID
		if err := d.do(ctx, http.MethodGet, path, q, nil, http.StatusOK, d.wait+d.timeout, &t); err != nil {
			d.cancel(ctx, id, err)
			return false, "", err
		}
		if err := d.checkTicket(&t, req); err != nil {
			d.cancel(ctx, id, err)
			return false, "", err
		}
		if t.ID != id {
			err := fmt.Errorf("approval daemon answered request %q for %q (malformed answer)", bound(t.ID, 40), id)
			d.cancel(ctx, id, err)
			return false, "", err
		}
	}
	if t.Status != approval.Approved {
		return false, cmp.Or(t.Reason, "request "+string(t.Status)+" on the approval daemon"), nil
	}
	id := t.ID
	consume := map[string]string{"tool": req.Tool, "args_hash": req.ArgsHash}
	if err := d.do(ctx, http.MethodPost, "/v1/approvals/"+id+"/consume", nil, consume, http.StatusOK, d.timeout, &t); err != nil {
		return false, "", err
	}
	if err := d.checkTicket(&t, req); err != nil {
		return false, "", err
	}
	if t.ID != id || t.Status != approval.Approved || !t.Consumed() {
		return false, "", fmt.Errorf("approval daemon did not confirm the use of request %s (malformed answer)", id)
	}
	return true, t.Reason, nil
}

// checkTicket rejects an answer that is not a ticket for req.
func (d *DaemonApprover) checkTicket(t *approval.Ticket, req kernel.ApprovalRequest) error {
	switch {
	case !reApprovalID.MatchString(t.ID):
		return fmt.Errorf("approval daemon answered a ticket without a valid ID (malformed answer)")
	case t.Request.AgentID != req.AgentID || t.Request.Tool != req.Tool || !strings.EqualFold(t.Request.ArgsHash, req.ArgsHash):
		return fmt.Errorf("approval daemon answered request %s for another agent, tool or arguments (malformed answer)", t.ID)
	}
	switch t.Status {
	case approval.Pending, approval.Approved, approval.Denied, approval.Expired, approval.Cancelled:
		return nil
	}
	return fmt.Errorf("approval daemon answered request %s with unknown status %q (malformed answer)", t.ID, bound(string(t.Status), 40))
}

// cancel withdraws request id after the gateway stopped waiting (best
// effort, detached from ctx's cancellation), so that no one is asked to
// decide a call that is no longer waiting.
func (d *DaemonApprover) cancel(ctx context.Context, id string, why error) {
	reason := "the gateway stopped waiting: " + bound(why.Error(), 200)
	err := d.do(context.WithoutCancel(ctx), http.MethodPost, "/v1/approvals/"+id+"/cancel", nil,
		map[string]string{"reason": reason}, http.StatusOK, d.timeout, nil)
	if err != nil {
		d.log.LogAttrs(ctx, slog.LevelDebug, "approval request not withdrawn", slog.String("id", id), slog.String("error", err.Error()))
	}
}

// daemonError is the daemon's error envelope.
type daemonError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// do sends one request to the daemon and decodes a want-status answer
// into out (if not nil). Every other outcome is an error naming the
// daemon's URL (never the token) and what went wrong.
func (d *DaemonApprover) do(parent context.Context, method, path string, q url.Values, in any, want int, timeout time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	u := *d.base
	u.Path += path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("approval daemon request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("approval daemon request: %w", err)
	}
	r.Header.Set("Authorization", "Bearer "+d.token)
	r.Header.Set("Accept", "application/json")
	if in != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	where := method + " " + d.base.Redacted() + path
	resp, err := d.client.Do(r)
	if err != nil {
		if perr := parent.Err(); perr != nil {
			return fmt.Errorf("stopped waiting for the approval daemon (%s): %w", where, perr)
		}
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("approval daemon did not answer %s within %s: %w", where, timeout, err)
		}
		return fmt.Errorf("approval daemon unreachable (%s): %w", where, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDaemonResponse+1))
	if err != nil {
		return fmt.Errorf("approval daemon answer to %s unreadable: %w", where, err)
	}
	if len(b) > maxDaemonResponse {
		return fmt.Errorf("approval daemon answer to %s exceeds %d bytes (malformed answer)", where, maxDaemonResponse)
	}
	if resp.StatusCode != want {
		var de daemonError
		msg := ""
		if json.Unmarshal(b, &de) == nil && de.Error.Code != "" {
			msg = ": " + bound(de.Error.Code, 64) + ": " + bound(de.Error.Message, 300)
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("approval daemon refused the token (%s: 401)%s; check $AGENTOS_DAEMON_TOKEN", where, msg)
		case http.StatusForbidden:
			return fmt.Errorf("approval daemon forbids this token to ask for this agent (%s: 403)%s", where, msg)
		}
		return fmt.Errorf("approval daemon answered %s with status %d%s", where, resp.StatusCode, msg)
	}
	if out == nil {
		return nil
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return fmt.Errorf("approval daemon answered %s with %q, not JSON (malformed answer)", where, bound(resp.Header.Get("Content-Type"), 60))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("approval daemon answer to %s is malformed: %w", where, err)
	}
	return nil
}

// String describes the approver for logs.
func (d *DaemonApprover) String() string {
	return "daemon approvals at " + d.base.Redacted() + " (source " + strconv.Quote(d.source) + ")"
}
