package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agentos/agentos/audit"
)

// clientInfo is what a client declared in its initialize request.
type clientInfo struct {
	name string
	// elicitForm: the client declared the elicitation capability with form
	// mode (an empty elicitation object, or one with a form member).
	elicitForm bool
}

// noteClient records the client's name and capabilities from its
// initialize params.
func (s *Session) noteClient(params json.RawMessage) {
	var p struct {
		Capabilities struct {
			Elicitation *map[string]json.RawMessage `json:"elicitation"`
		} `json:"capabilities"`
		ClientInfo struct {
			Name string `json:"name"`
		} `json:"clientInfo"`
	}
	if len(params) == 0 || json.Unmarshal(params, &p) != nil {
		return
	}
	ci := clientInfo{name: bound(p.ClientInfo.Name, 64)}
	if e := p.Capabilities.Elicitation; e != nil {
		_, form := (*e)["form"]
		_, url := (*e)["url"]
		ci.elicitForm = form || !url
	}
	s.mu.Lock()
	s.peer = ci
	s.mu.Unlock()
}

// relatedConn is a client Conn that carries messages on the channel of
// one client request: the HTTP proxy's hub, where a message the gateway
// sends about a call travels on that call's response stream.
type relatedConn interface {
	// WriteRelated sends b on the channel of the client request id; false
	// (nothing sent) when that request has no channel that can carry it.
	WriteRelated(ctx context.Context, id jsonrpc.ID, b []byte) (bool, error)
	// CanRelate reports whether messages about the client request id can
	// reach the client (its response is an open event stream).
	CanRelate(id jsonrpc.ID) bool
}

// Reasons a call's approval cannot be put to the client's user.
const (
	whyNoElicitation = "the client cannot be asked (it did not declare the elicitation capability)"
	whyNoStream      = "the client cannot be asked during this call (its request does not accept an event stream)"
)

// elicitor returns the approver name of this session's client when the
// session may ask the client's user about call c (a session-era client
// that declared the capability, on a channel that can carry the question);
// "" and why not when it may not.
func (s *Session) elicitor(c *call) (approver, whyNot string) {
	if !s.elicit || s.stateless {
		return "", whyNoElicitation
	}
	s.mu.Lock()
	ci := s.peer
	s.mu.Unlock()
	if !ci.elicitForm {
		return "", whyNoElicitation
	}
	if rc, ok := s.client.(relatedConn); ok && !rc.CanRelate(c.id) {
		return "", whyNoStream
	}
	return elicitationApprover(ci.name), ""
}

// elicitationApprover is the approver name of a client's user: its
// declared name without control characters.
func elicitationApprover(client string) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, client)
	if name == "" {
		name = "client"
	}
	return "elicitation:" + name
}

// ElicitApproval describes a call awaiting approval, for the question put
// to the client's user.
type ElicitApproval struct {
	Tool, Rule, Reason string
	// Args are the call's arguments as sent (JSON). They are shown as
	// audit.Preview gives them: redacted and bounded, as on the daemon's
	// approvals page.
	Args json.RawMessage
}

// approvalSchema is the requested schema of an approval question: one
// required boolean.
var approvalSchema = json.RawMessage(`{"type":"object","properties":{"approve":{"type":"boolean","title":"Approve this call",` +
	`"description":"true runs the call once with exactly these arguments; false denies it","default":false}},"required":["approve"]}`)

// approvalMessage is the question put to the user.
func (s *Session) approvalMessage(a ElicitApproval) string {
	var b strings.Builder
	b.WriteString("agentos: the MCP server ")
	b.WriteString(strconv.Quote(bound(s.server, 200)))
	b.WriteString(" is asked to run the tool ")
	b.WriteString(strconv.Quote(bound(a.Tool, 200)))
	b.WriteString(", which needs your approval")
	if a.Rule != "" {
		b.WriteString(" (rule ")
		b.WriteString(strconv.Quote(bound(a.Rule, 200)))
		b.WriteString(")")
	}
	b.WriteString(".\n")
	if a.Reason != "" {
		b.WriteString("Reason: ")
		b.WriteString(bound(a.Reason, 500))
		b.WriteString("\n")
	}
	args := "{}"
	if p := audit.Preview(a.Args, audit.PreviewOptions{}); p != nil {
		args = string(p)
	}
	b.WriteString("Arguments (secrets redacted): ")
	b.WriteString(args)
	b.WriteString("\nApprove this call?")
	return b.String()
}

// errNotApprovedByUser is the reason of a declined, cancelled or
// malformed elicitation answer.
var errNotApprovedByUser = errors.New("not approved")

// AskApproval asks the client's user, through elicitation/create, whether
// the call may run. It returns nil only for an accepted answer whose
// approve member is true; a decline, a cancel, any other answer, an error
// response or ctx ending is an error (deny).
func (s *Session) AskApproval(ctx context.Context, a ElicitApproval) error {
	return s.askApproval(ctx, nil, a)
}

// askApproval is AskApproval about the client request related (nil: none),
// whose channel carries the question when the client's Conn has one per
// request.
func (s *Session) askApproval(ctx context.Context, related *jsonrpc.ID, a ElicitApproval) error {
	params := map[string]any{"message": s.approvalMessage(a), "requestedSchema": approvalSchema}
	r, err := s.requestClient(ctx, related, methodElicit, params)
	if err != nil {
		return err
	}
	if r.Error != nil {
		return fmt.Errorf("the client answered with an error: %w", r.Error)
	}
	return approvalAnswer(r.Result)
}

// approvalAnswer reads the result of an approval question: nil only for
// {"action":"accept","content":{"approve":true}} (members read by exact
// name; a member twice or in another case is malformed).
func approvalAnswer(result json.RawMessage) error {
	pm, err := strictMembers(result, "action", "content")
	if err != nil {
		return fmt.Errorf("malformed answer: %w", err)
	}
	var action string
	if json.Unmarshal(pm["action"], &action) != nil {
		return errors.New("malformed answer: no action")
	}
	if action != "accept" {
		return fmt.Errorf("%w: the user chose %s", errNotApprovedByUser, strconv.Quote(bound(action, 40)))
	}
	content, err := strictMembers(pm["content"], "approve")
	if err != nil || string(content["approve"]) != "true" {
		return fmt.Errorf("%w: the user did not set approve to true", errNotApprovedByUser)
	}
	return nil
}

// requestClient sends a request of the gateway's own to the client and
// waits for its response. related, if set, names the client request the
// question is about: on a Conn with a channel per request it travels on
// that request's channel, and fails when that channel cannot carry it.
// When ctx ends first the request is cancelled.
func (s *Session) requestClient(ctx context.Context, related *jsonrpc.ID, method string, params any) (*jsonrpc.Response, error) {
	id, b, err := s.gatewayRequest(method, params)
	if err != nil {
		return nil, err
	}
	ch := make(chan *jsonrpc.Response, 1)
	s.mu.Lock()
	if len(s.clientWaiters) >= s.g.maxInFlight {
		s.mu.Unlock()
		return nil, errors.New("too many gateway requests to the client in flight")
	}
	s.clientWaiters[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.clientWaiters, id)
		s.mu.Unlock()
	}()
	if s.ctx == nil || s.ctx.Err() != nil {
		return nil, ErrClosed
	}
	if err := s.writeRelated(ctx, related, b); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		if s.ctx.Err() == nil {
			if rid, err := jsonrpc.MakeID(id); err == nil {
				// Best effort: the call's stream may have ended already.
				_ = s.writeRelated(s.ctx, related, cancelledNotification(rid, "the approval is no longer awaited"))
			}
		}
		return nil, ctx.Err()
	case <-s.ctx.Done():
		return nil, ErrClosed
	}
}

// errNoChannel is the error of a message about a client request whose
// channel cannot carry it.
var errNoChannel = errors.New("the client request's channel cannot carry a message to the client")

// writeRelated writes b to the client: on the channel of client request
// related when the client's Conn has one per request, else as any other
// message.
func (s *Session) writeRelated(ctx context.Context, related *jsonrpc.ID, b []byte) error {
	if rc, ok := s.client.(relatedConn); ok && related != nil {
		sent, err := rc.WriteRelated(ctx, *related, b)
		if err != nil {
			return fmt.Errorf("write to client: %w", err)
		}
		if !sent {
			return errNoChannel
		}
		return nil
	}
	if err := s.client.Write(ctx, b); err != nil {
		return fmt.Errorf("write to client: %w", err)
	}
	return nil
}
