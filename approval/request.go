package approval

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on request and vote fields. They keep every request small, so
// MaxPending bounds the broker's memory.
const (
	// MaxNameBytes bounds AgentID, Tool, Syscall, Source, Rule, Policy and each
	// approver's name.
	MaxNameBytes = 256
	// MaxReasonBytes bounds Request.Reason (longer reasons are cut at a
	// character boundary) and Vote.Comment (longer comments are refused).
	MaxReasonBytes = 1024
	// MaxApprovers bounds Request.Approvers.
	MaxApprovers = 256
	// MaxOpenQuorum bounds Request.Quorum when Request.Approvers is empty
	// (anyone but the agent may vote).
	MaxOpenQuorum = 64
	// MaxArgsPreviewBytes bounds Request.ArgsPreview (the default bound of
	// audit.Preview).
	MaxArgsPreviewBytes = 2048
)

// Request asks people to approve one action. It carries the hash of the
// action's arguments and, for people to read, a redacted and bounded
// preview of them; never the arguments themselves. The broker binds the
// resulting approval to AgentID, Tool and ArgsHash: it can be used once, by
// that agent, for that tool with exactly those arguments.
type Request struct {
	// AgentID is the agent asking. Required. The agent itself may never
	// vote on the request.
	AgentID string `json:"agent_id"`
	// Syscall names the system call (for example "SYS_EXEC"); shown to
	// approvers, not part of the binding. Optional.
	Syscall string `json:"syscall,omitempty"`
	// Source names where the request comes from when it is not the
	// broker's own kernel, for example "mcp:filesystem" for a gateway
	// asking through the daemon's API; shown to approvers and recorded,
	// not part of the binding. Optional.
	Source string `json:"source,omitempty"`
	// Tool is the tool (or the syscall's tool name). Required.
	Tool string `json:"tool"`
	// ArgsHash is the hex SHA-256 of the action's arguments: 64 hex
	// digits. Required.
	ArgsHash string `json:"args_hash"`
	// ArgsPreview shows approvers what the action would do: its arguments
	// as JSON with secrets redacted and long values cut, as audit.Preview
	// returns them. The broker checks that it is valid JSON of at most
	// MaxArgsPreviewBytes but does not redact it: pass only what
	// audit.Preview returned (run it again on a preview received from
	// elsewhere). Display only, not part of the binding. Optional.
	ArgsPreview json.RawMessage `json:"args_preview,omitempty"`
	// Rule, Policy and Reason come from the policy rule that asked for
	// approval; shown to approvers and recorded. Optional. Reason is cut
	// to MaxReasonBytes.
	Rule   string `json:"rule,omitempty"`
	Policy string `json:"policy,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Approvers may vote. Empty: anyone except the agent may vote.
	Approvers []string `json:"approvers,omitempty"`
	// Quorum is how many distinct approvers must approve. 0: 1. At most
	// len(Approvers) when Approvers is set, else at most MaxOpenQuorum.
	Quorum int `json:"quorum"`
	// Timeout is how long the request may wait for a decision and, once
	// approved, for its use. 0: Options.DefaultTimeout. At most
	// Options.MaxTimeout.
	Timeout time.Duration `json:"timeout"`
}

// Vote is one approver's answer to a request.
type Vote struct {
	// Approver names who votes. Required; must be listed in the request's
	// Approvers when it has any, and must not be the requesting agent.
	Approver string `json:"approver"`
	// Approve is true to approve, false to deny. One eligible deny denies
	// the request.
	Approve bool `json:"approve"`
	// Comment is free text kept with the vote, at most MaxReasonBytes.
	Comment string `json:"comment,omitempty"`
	// Time is when the broker counted the vote; set by the broker.
	Time time.Time `json:"time"`
}

// Status is a request's state.
type Status string

// Request states. A request starts Pending and ends in exactly one of the
// others. Approved is the only one that lets the action through, and only
// once: Ticket.ConsumedAt records the use.
const (
	// Pending: waiting for votes.
	Pending Status = "pending"
	// Approved: a quorum of distinct eligible approvers approved.
	Approved Status = "approved"
	// Denied: an eligible approver denied, or the broker auto-denied the
	// request (approval fatigue).
	Denied Status = "denied"
	// Expired: the deadline passed before a decision, or an approval was
	// not used before the deadline.
	Expired Status = "expired"
	// Cancelled: the request was withdrawn (Cancel, the waiting caller gave
	// up, or the broker closed).
	Cancelled Status = "cancelled"
)

// Ticket is a snapshot of one request and its state. The broker hands out
// copies; changing one changes nothing in the broker.
type Ticket struct {
	// ID is the request's unguessable identifier (26 characters of
	// base32 from crypto/rand, 128 bits or more of entropy).
	ID string `json:"id"`
	// Request is the request as submitted, normalized (Quorum and Timeout
	// defaults applied).
	Request Request `json:"request"`
	// Status is the request's state.
	Status Status `json:"status"`
	// Reason explains the status in words a person can act on; empty while
	// pending.
	Reason string `json:"reason,omitempty"`
	// Votes are the counted votes in the order they were cast.
	Votes []Vote `json:"votes"`
	// CreatedAt, ExpiresAt and DecidedAt are when the request was
	// submitted, when it expires, and when it left Pending (zero while
	// pending).
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	DecidedAt time.Time `json:"decided_at"`
	// ConsumedAt is when an approved request was used; zero if unused.
	ConsumedAt time.Time `json:"consumed_at"`
}

// Approvals counts the approving votes.
func (t *Ticket) Approvals() int {
	n := 0
	for _, v := range t.Votes {
		if v.Approve {
			n++
		}
	}
	return n
}

// Consumed reports whether an approved request has been used.
func (t *Ticket) Consumed() bool { return !t.ConsumedAt.IsZero() }

// clone returns a deep copy of t.
func (t *Ticket) clone() Ticket {
	c := *t
	c.Votes = slices.Clone(t.Votes)
	c.Request.Approvers = slices.Clone(t.Request.Approvers)
	c.Request.ArgsPreview = slices.Clone(t.Request.ArgsPreview)
	return c
}

// Filter selects tickets for List. Zero fields match everything.
type Filter struct {
	// AgentID, Tool and Status, when set, must equal the ticket's.
	AgentID string
	Tool    string
	Status  Status
	// Approver, when set, keeps only pending requests this approver may
	// still vote on: a dashboard's "waiting for me".
	Approver string
	// Limit caps the number of tickets returned. 0: no cap.
	Limit int
}

func (f *Filter) match(t *Ticket) bool {
	switch {
	case f.AgentID != "" && t.Request.AgentID != f.AgentID,
		f.Tool != "" && t.Request.Tool != f.Tool,
		f.Status != "" && t.Status != f.Status:
		return false
	case f.Approver != "":
		return t.Status == Pending && eligible(&t.Request, f.Approver) == nil && !voted(t, f.Approver)
	}
	return true
}

// normalize validates r and applies defaults. It returns a copy that
// shares nothing with r.
func (r Request) normalize(defTimeout, maxTimeout time.Duration) (Request, error) {
	if err := checkName("Request.AgentID", r.AgentID, true); err != nil {
		return r, err
	}
	if err := checkName("Request.Tool", r.Tool, true); err != nil {
		return r, err
	}
	for _, f := range [...]struct{ name, v string }{{"Request.Syscall", r.Syscall}, {"Request.Source", r.Source}, {"Request.Rule", r.Rule}, {"Request.Policy", r.Policy}} {
		if err := checkName(f.name, f.v, false); err != nil {
			return r, err
		}
	}
	if !IsSHA256Hex(r.ArgsHash) {
		return r, fieldErr("Request.ArgsHash", "want the 64 hex digits of a SHA-256, got "+strconv.Quote(truncate(r.ArgsHash, 80)))
	}
	r.ArgsHash = strings.ToLower(r.ArgsHash)
	switch {
	case len(r.ArgsPreview) > MaxArgsPreviewBytes:
		return r, fieldErr("Request.ArgsPreview", strconv.Itoa(len(r.ArgsPreview))+" bytes, at most "+strconv.Itoa(MaxArgsPreviewBytes))
	case len(r.ArgsPreview) > 0 && !json.Valid(r.ArgsPreview):
		return r, fieldErr("Request.ArgsPreview", "not valid JSON")
	}
	r.ArgsPreview = slices.Clone(r.ArgsPreview)
	if !utf8.ValidString(r.Reason) {
		return r, fieldErr("Request.Reason", "not valid UTF-8")
	}
	r.Reason = truncate(r.Reason, MaxReasonBytes)
	if len(r.Approvers) > MaxApprovers {
		return r, fieldErr("Request.Approvers", strconv.Itoa(len(r.Approvers))+" approvers, at most "+strconv.Itoa(MaxApprovers))
	}
	r.Approvers = slices.Clone(r.Approvers)
	for i, a := range r.Approvers {
		if err := checkName(indexed("Request.Approvers", i), a, true); err != nil {
			return r, err
		}
		if a == r.AgentID {
			return r, fieldErr(indexed("Request.Approvers", i), "the requesting agent "+strconv.Quote(a)+" cannot approve its own request")
		}
		if slices.Contains(r.Approvers[:i], a) {
			return r, fieldErr(indexed("Request.Approvers", i), "duplicate approver "+strconv.Quote(a))
		}
	}
	switch {
	case r.Quorum < 0:
		return r, fieldErr("Request.Quorum", "negative")
	case r.Quorum == 0:
		r.Quorum = 1
	}
	if n := len(r.Approvers); n > 0 && r.Quorum > n {
		return r, fieldErr("Request.Quorum", strconv.Itoa(r.Quorum)+" exceeds the "+strconv.Itoa(n)+" listed approvers: it could never be met")
	}
	if len(r.Approvers) == 0 && r.Quorum > MaxOpenQuorum {
		return r, fieldErr("Request.Quorum", strconv.Itoa(r.Quorum)+" exceeds "+strconv.Itoa(MaxOpenQuorum)+" for a request open to any approver")
	}
	switch {
	case r.Timeout < 0:
		return r, fieldErr("Request.Timeout", "negative")
	case r.Timeout == 0:
		r.Timeout = defTimeout
	case r.Timeout > maxTimeout:
		return r, fieldErr("Request.Timeout", r.Timeout.String()+" exceeds the broker's maximum "+maxTimeout.String())
	}
	return r, nil
}

func (v Vote) check() error {
	if err := checkName("Vote.Approver", v.Approver, true); err != nil {
		return err
	}
	if !utf8.ValidString(v.Comment) {
		return fieldErr("Vote.Comment", "not valid UTF-8")
	}
	if len(v.Comment) > MaxReasonBytes {
		return fieldErr("Vote.Comment", strconv.Itoa(len(v.Comment))+" bytes, at most "+strconv.Itoa(MaxReasonBytes))
	}
	return nil
}

// eligible says whether approver may vote on r.
func eligible(r *Request, approver string) error {
	if approver == r.AgentID {
		return ErrSelfApproval
	}
	if len(r.Approvers) > 0 && !slices.Contains(r.Approvers, approver) {
		return ErrNotEligible
	}
	return nil
}

func voted(t *Ticket, approver string) bool {
	for _, v := range t.Votes {
		if v.Approver == approver {
			return true
		}
	}
	return false
}

func checkName(field, v string, required bool) error {
	if problem := NameProblem(v, required); problem != "" {
		return fieldErr(field, problem)
	}
	return nil
}

// NameProblem says what is wrong with a name field of a request (an agent,
// tool, rule, policy, source or approver): "" when v is fine, else the
// problem, such as "required" or "contains a control character". Names
// are at most MaxNameBytes of valid UTF-8 without control characters.
func NameProblem(v string, required bool) string {
	switch {
	case v == "" && required:
		return "required"
	case len(v) > MaxNameBytes:
		return strconv.Itoa(len(v)) + " bytes, at most " + strconv.Itoa(MaxNameBytes)
	case !utf8.ValidString(v):
		return "not valid UTF-8"
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}

// IsSHA256Hex reports whether s is the 64 hex digits of a SHA-256, the
// form of Request.ArgsHash.
func IsSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n bytes at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
