package mcp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agentos/agentos/approval"
)

// Approvals asked of stateless (2026-07-28) clients. The stateless
// protocol has no server-to-client requests: a call held for approval is
// answered with an input_required result whose inputRequests hold the
// question (an embedded elicitation/create) under ApprovalInputKey, and
// whose requestState is a state the gateway signed. The client retries the
// call with the answer in inputResponses and the state echoed; the gateway
// checks the state, casts the answer as a vote and, once approved, sends
// the call on without its own members.

// Members and keys of multi round-trip requests.
const (
	memberInputResponses = "inputResponses"
	memberRequestState   = "requestState"
	memberMeta           = "_meta"
	metaCapabilities     = "io.modelcontextprotocol/clientCapabilities"
	metaClientInfo       = "io.modelcontextprotocol/clientInfo"

	// ApprovalInputKey is the key of the gateway's approval question in
	// an input_required result's inputRequests, and of the answer in the
	// retry's inputResponses.
	ApprovalInputKey = "agentos_approval"

	// stateTag starts every request state the gateway issues; a state
	// without it belongs to the server and passes through.
	stateTag = "agentos-gw.1."
	// maxStateBytes bounds a request state the gateway issues or reads. A
	// state carries the server's own requestState and inputResponses of
	// the call it held, if any.
	maxStateBytes = 64 << 10
)

// Why a retry's request state is refused.
var (
	errStateMalformed = errors.New("malformed request state")
	errStateForged    = errors.New("request state not issued by this gateway (bad signature)")
	errStateExpired   = errors.New("request state expired")
)

// mrtrCall is what a stateless client's tools/call carries for approvals
// asked with input_required results.
type mrtrCall struct {
	// meta is the request's _meta, read (metaElicitation) only when the
	// call is held.
	meta json.RawMessage
	// state is the gateway's request state the retry echoes; "" on a call
	// that is no retry of the gateway's question. answer is the retry's
	// inputResponses entry for the question (nil: none).
	state  string
	answer json.RawMessage
	// upState and upResponses are the call's requestState and
	// inputResponses meant for the server (the gateway's own removed); nil
	// when absent. When the gateway asks, they travel in its state and are
	// restored on the retry.
	upState     json.RawMessage
	upResponses map[string]json.RawMessage
	// id and params are the request's ID and params without the gateway's
	// members, to rebuild the request sent upstream.
	id     jsonrpc.ID
	method string
	params json.RawMessage
}

// parseMRTR reads the multi round-trip members of a stateless client's
// tools/call (pm: its params by member). When the call is a retry of the
// gateway's question it also returns the request to send upstream: the
// call without the gateway's requestState and answer (nil: the call as
// it came). A requestState
// that is not a string or inputResponses that are not an object are
// refused.
func parseMRTR(m *jsonrpc.Request, pm map[string]json.RawMessage) (*mrtrCall, []byte, error) {
	mc := &mrtrCall{id: m.ID, method: m.Method, params: m.Params, meta: pm[memberMeta]}
	var ours bool
	if rs, ok := pm[memberRequestState]; ok {
		var s string
		if err := json.Unmarshal(rs, &s); err != nil {
			return nil, nil, errors.New("requestState must be a string")
		}
		if ours = strings.HasPrefix(s, stateTag); ours {
			mc.state = s
		} else {
			mc.upState = rs
		}
	}
	if ir, ok := pm[memberInputResponses]; ok {
		resp, err := uniqueMembers(ir)
		if err != nil {
			return nil, nil, errors.New("inputResponses must be an object")
		}
		if ours {
			mc.answer = resp[ApprovalInputKey]
			delete(resp, ApprovalInputKey)
		}
		if len(resp) > 0 {
			mc.upResponses = resp
		}
	}
	if !ours {
		return mc, nil, nil
	}
	params, err := mc.upstreamParams(nil, nil)
	if err != nil {
		return nil, nil, err
	}
	mc.params = params
	b, err := jsonrpc.EncodeMessage(&jsonrpc.Request{ID: m.ID, Method: m.Method, Params: params})
	if err != nil {
		return nil, nil, err
	}
	return mc, b, nil
}

// upstreamParams returns the request's params with the server's own
// members: requestState upState (removed when nil) and inputResponses
// upResponses merged with those the request carries (removed when none).
func (mc *mrtrCall) upstreamParams(upState json.RawMessage, upResponses map[string]json.RawMessage) (json.RawMessage, error) {
	merged := make(map[string]json.RawMessage, len(upResponses)+len(mc.upResponses))
	for k, v := range upResponses {
		merged[k] = v
	}
	for k, v := range mc.upResponses {
		merged[k] = v
	}
	set := map[string]json.RawMessage{}
	var drop []string
	if upState != nil {
		set[memberRequestState] = upState
	} else {
		drop = append(drop, memberRequestState)
	}
	if len(merged) > 0 {
		b, err := json.Marshal(merged)
		if err != nil {
			return nil, err
		}
		set[memberInputResponses] = b
	} else {
		drop = append(drop, memberInputResponses)
	}
	return editObject(mc.params, set, drop...)
}

// statelessMeta reports whether a request's _meta names the stateless
// protocol (2026-07-28 or later): a client of that era over a transport
// the gateway did not mark stateless (stdio).
func statelessMeta(meta json.RawMessage) bool {
	v, ok := memberString(meta, metaProtocol)
	return ok && v >= ProtocolStateless
}

// metaElicitation reads a stateless request's _meta: whether its client
// capabilities declare form elicitation (an elicitation object with a form
// member, or without a url member), and the client's name.
func metaElicitation(meta json.RawMessage) (form bool, client string) {
	var m struct {
		Capabilities struct {
			Elicitation *map[string]json.RawMessage `json:"elicitation"`
		} `json:"io.modelcontextprotocol/clientCapabilities"`
		ClientInfo struct {
			Name string `json:"name"`
		} `json:"io.modelcontextprotocol/clientInfo"`
	}
	if len(meta) == 0 || json.Unmarshal(meta, &m) != nil {
		return false, ""
	}
	if e := m.Capabilities.Elicitation; e != nil {
		_, f := (*e)["form"]
		_, u := (*e)["url"]
		form = f || !u
	}
	return form, bound(m.ClientInfo.Name, 64)
}

// uniqueMembers returns the members of a JSON object; a member twice is an
// error (the peers could read either).
func uniqueMembers(raw json.RawMessage) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage)
	err := eachMember(raw, func(k string, v json.RawMessage) error {
		if _, dup := out[k]; dup {
			return fmt.Errorf("member %q twice", bound(k, 64))
		}
		out[k] = v
		return nil
	})
	return out, err
}

// eachMember calls f with each member of a JSON object, in order.
func eachMember(raw json.RawMessage, f func(string, json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := f(key, v); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("data after the object")
	}
	return nil
}

// editObject returns the JSON object raw with the members named in set
// given those values (replaced in place, or appended) and the members
// named in drop removed; other members are kept in order, byte for byte.
func editObject(raw json.RawMessage, set map[string]json.RawMessage, drop ...string) (json.RawMessage, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	done := make(map[string]bool, len(set))
	n := 0
	add := func(k string, v json.RawMessage) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(v)
	}
	err := eachMember(raw, func(k string, v json.RawMessage) error {
		switch nv, ok := set[k]; {
		case ok && done[k]:
			// A second occurrence: dropped (the params were checked for
			// duplicates of these members before).
		case ok:
			done[k] = true
			add(k, nv)
		case !slices.Contains(drop, k):
			add(k, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if !done[k] {
			add(k, set[k])
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// stateClaims is what a request state the gateway issues binds: the
// approval request, the client (principal), the server, agent, tool and
// the SHA-256 of the arguments of the call asked about, and an expiry;
// plus the call's own requestState and inputResponses for the server. It
// is signed, not encrypted: the client can read it (it holds nothing the
// client did not send or may not know).
type stateClaims struct {
	ID          string                     `json:"id"`
	Principal   string                     `json:"p"`
	Server      string                     `json:"s"`
	Agent       string                     `json:"a"`
	Tool        string                     `json:"t"`
	ArgsHash    string                     `json:"h"`
	Expires     int64                      `json:"exp"`
	UpState     json.RawMessage            `json:"us,omitempty"`
	UpResponses map[string]json.RawMessage `json:"ur,omitempty"`
}

// stateMAC is the HMAC-SHA256, under key, of a state's signed part.
func stateMAC(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// sealState encodes and signs c: stateTag, the claims in base64url, a dot
// and the base64url HMAC-SHA256 of what precedes it.
func sealState(key []byte, c stateClaims) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signed := stateTag + base64.RawURLEncoding.EncodeToString(b)
	s := signed + "." + base64.RawURLEncoding.EncodeToString(stateMAC(key, signed))
	if len(s) > maxStateBytes {
		return "", fmt.Errorf("request state of %d bytes exceeds %d", len(s), maxStateBytes)
	}
	return s, nil
}

// openState checks a request state's signature under key and its expiry
// at now, and returns its claims.
func openState(key []byte, s string, now time.Time) (stateClaims, error) {
	var c stateClaims
	if len(s) > maxStateBytes || !strings.HasPrefix(s, stateTag) {
		return c, errStateMalformed
	}
	dot := strings.LastIndexByte(s, '.')
	if dot < len(stateTag) {
		return c, errStateMalformed
	}
	signed := s[:dot]
	mac, err := base64.RawURLEncoding.Strict().DecodeString(s[dot+1:])
	if err != nil {
		return c, errStateMalformed
	}
	if !hmac.Equal(mac, stateMAC(key, signed)) {
		return c, errStateForged
	}
	body, err := base64.RawURLEncoding.Strict().DecodeString(signed[len(stateTag):])
	if err != nil {
		return c, errStateMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.ID == "" {
		return stateClaims{}, errStateMalformed
	}
	if c.UpState != nil {
		var us string
		if json.Unmarshal(c.UpState, &us) != nil {
			return stateClaims{}, errStateMalformed
		}
	}
	if !now.Before(time.Unix(c.Expires, 0)) {
		return stateClaims{}, errStateExpired
	}
	return c, nil
}

// inputRequiredResult is the answer to call id asking the client's user
// the approval question message, with request state state.
func inputRequiredResult(id jsonrpc.ID, message, state string) ([]byte, error) {
	res, err := json.Marshal(map[string]any{
		"resultType": "input_required",
		"inputRequests": map[string]any{ApprovalInputKey: map[string]any{
			"method": methodElicit,
			"params": map[string]any{"mode": "form", "message": message, "requestedSchema": approvalSchema},
		}},
		"requestState": state,
	})
	if err != nil {
		return nil, err
	}
	return jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Result: res})
}

// whyAwaitingInput is the denial reason the kernel records for a call
// answered with the approval question (the client's retry carries the
// answer).
const whyAwaitingInput = "awaiting the user's answer through the client (input_required)"

// approveByInput decides a stateless client's call that a rule holds for
// approval. handled is false when the call is no retry of the gateway's
// question and its client cannot be asked: the other channels decide it.
func (a *Approvals) approveByInput(ctx context.Context, c *call, r approval.Request) (handled, approved bool, reason string, err error) {
	mc := c.mrtr
	if mc.state != "" {
		approved, reason, err = a.answerByInput(ctx, c, r)
		return true, approved, reason, err
	}
	if canAsk, _ := metaElicitation(mc.meta); !canAsk || !c.s.elicit {
		return false, false, "", nil
	}
	approved, reason, err = a.askByInput(ctx, c, r)
	return true, approved, reason, err
}

// askByInput submits r and makes the call's answer the approval question
// (an input_required result); the call itself is denied for now. Unlike
// the other channels it does not first use an approval already given for
// the same agent, tool and arguments: that may be another client's, which
// its own retry is about to use. The retry answering the question uses its
// approval by request ID.
func (a *Approvals) askByInput(ctx context.Context, c *call, r approval.Request) (bool, string, error) {
	t, err := a.b.Submit(ctx, r)
	if err != nil {
		return false, "", err
	}
	if t.Status != approval.Pending {
		return false, t.Reason, nil // auto-denied (approval fatigue)
	}
	mc := c.mrtr
	exp := t.ExpiresAt.Unix()
	if t.ExpiresAt.After(time.Unix(exp, 0)) {
		exp++
	}
	state, err := sealState(a.stateKey, stateClaims{ID: t.ID, Principal: c.s.principal, Server: c.s.server,
		Agent: r.AgentID, Tool: r.Tool, ArgsHash: r.ArgsHash, Expires: exp, UpState: mc.upState, UpResponses: mc.upResponses})
	var msg []byte
	if err == nil {
		msg, err = inputRequiredResult(c.id, c.s.approvalMessage(ElicitApproval{Tool: r.Tool, Rule: r.Rule, Reason: r.Reason, Args: c.args}), state)
	}
	if err != nil {
		a.withdraw(ctx, t.ID, "the approval question could not be built")
		return false, "the approval question could not be built (the call's own input for the server is too large)", nil
	}
	c.inputRequired = msg
	return false, whyAwaitingInput, nil
}

// answerByInput decides the retry of a call asked about: its request
// state must be one the gateway issued, unexpired, to this client, for
// this server, agent, tool and these exact arguments; the answer is cast
// as the client user's vote; once the request is approved, its approval
// is used for this call, whose upstream request gets the server's own
// members back. Anything else denies.
func (a *Approvals) answerByInput(ctx context.Context, c *call, r approval.Request) (bool, string, error) {
	mc := c.mrtr
	cl, err := openState(a.stateKey, mc.state, a.now())
	switch {
	case errors.Is(err, errStateExpired):
		return false, "the approval question expired before the answer came", nil
	case err != nil:
		return false, "the answer's requestState is refused: " + err.Error(), nil
	case cl.Principal != c.s.principal:
		return false, "the answer's requestState was issued to another client", nil
	case cl.Server != c.s.server || cl.Agent != r.AgentID || cl.Tool != r.Tool:
		return false, "the answer's requestState was issued for another call", nil
	case cl.ArgsHash != r.ArgsHash:
		return false, "the retried call's arguments differ from those of the call the user was asked about", nil
	}
	answerErr := errors.New("the retry carries no answer to the approval question")
	if mc.answer != nil {
		answerErr = approvalAnswer(mc.answer)
	}
	_, client := metaElicitation(mc.meta)
	v := approval.Vote{Approver: elicitationApprover(client), Approve: answerErr == nil, Comment: "answered through MCP elicitation (input_required)"}
	if answerErr != nil {
		v.Comment = "denied through MCP elicitation (input_required): " + bound(answerErr.Error(), 200)
	}
	_, derr := a.b.Decide(ctx, cl.ID, v)
	switch {
	case derr == nil:
	case errors.Is(derr, approval.ErrExpired):
		return false, "the approval request expired before the answer came", nil
	case errors.Is(derr, approval.ErrNotFound):
		return false, "the approval request is unknown (it ended long ago, or the gateway restarted)", nil
	case errors.Is(derr, approval.ErrNotPending), errors.Is(derr, approval.ErrDuplicateVote):
		// Decided already: another channel, or this answer replayed. The
		// request's state decides below.
	case errors.Is(derr, approval.ErrNotEligible), errors.Is(derr, approval.ErrSelfApproval):
		a.log.Warn("elicitation vote refused", slog.String("id", cl.ID), slog.String("approver", v.Approver), slog.String("error", derr.Error()))
		if !v.Approve {
			// The user said no but may not vote: withdrawn all the same.
			a.withdraw(ctx, cl.ID, "denied by the user through MCP elicitation")
		}
	default:
		return false, "", derr
	}
	if !v.Approve {
		return false, "the user did not approve the call: " + answerErr.Error(), nil
	}
	t, err := a.b.Wait(ctx, cl.ID)
	if err != nil {
		a.withdraw(ctx, cl.ID, "the waiting caller gave up")
		return false, "", err
	}
	if t.Status != approval.Approved {
		return false, t.Reason, nil
	}
	t, err = a.b.ConsumeID(ctx, cl.ID, r.AgentID, r.Tool, r.ArgsHash)
	switch {
	case errors.Is(err, approval.ErrConsumed):
		return false, "this approval was used already (an answer approves one call)", nil
	case errors.Is(err, approval.ErrExpired):
		return false, "the approval expired before the call could use it", nil
	case err != nil:
		return false, "", err
	}
	params, err := mc.upstreamParams(cl.UpState, cl.UpResponses)
	if err == nil {
		c.raw, err = jsonrpc.EncodeMessage(&jsonrpc.Request{ID: mc.id, Method: mc.method, Params: params})
	}
	if err != nil {
		return false, "", fmt.Errorf("rebuild the approved call: %w", err)
	}
	return true, t.Reason, nil
}

// withdraw cancels request id, logging a failure (the request then
// expires on its own).
func (a *Approvals) withdraw(ctx context.Context, id, reason string) {
	if _, err := a.b.Cancel(context.WithoutCancel(ctx), id, reason); err != nil {
		a.log.Debug("approval request not cancelled", slog.String("id", id), slog.String("error", err.Error()))
	}
}
