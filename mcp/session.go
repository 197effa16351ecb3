package mcp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agentos/agentos/kernel"
)

// maxListPages bounds the pages of one tools/list the gateway fetches on
// its own.
const maxListPages = 100

// SessionOptions configure a Session.
type SessionOptions struct {
	// Server names the server for pins, policy (context.mcp_server) and
	// audit events. Required.
	Server string
	// ID identifies the session in audit events. "": a random ID.
	ID string
	// Principal names the authenticated client, when the transport
	// authenticates one; policies see it as context.mcp_principal and
	// audit events carry it. "": none.
	Principal string
	// ListTTL is how long a tool listing stays valid: a call after it
	// lists the tools again first. For transports without list_changed
	// notifications. 0: a listing stays valid until list_changed.
	ListTTL time.Duration
	// ApprovalElicitation lets an approver (Approvals) ask the client's
	// user about a call needing approval through elicitation/create, when
	// the client declared the elicitation capability (form mode) in
	// initialize (or, with Stateless, in the request's _meta). false:
	// approvals never go through the client.
	ApprovalElicitation bool
	// Stateless marks a client of the stateless protocol (2026-07-28),
	// which sends no initialize and takes no requests from the gateway:
	// with ApprovalElicitation, a call needing approval is answered with
	// an input_required result carrying the question, and the client's
	// retry carries the answer (multi round-trip requests). false: the
	// client's era is read from each call (a call whose _meta names
	// protocol 2026-07-28 or later is treated so too).
	Stateless bool
}

// Session interposes the gateway between one client and one server. Build
// it with Gateway.NewSession and run it once with Run.
type Session struct {
	g         *Gateway
	server    string
	id        string
	principal string
	listTTL   time.Duration
	// callCtx is the context passed to policy with every call; never
	// modified.
	callCtx map[string]any

	client, upstream Conn
	ctx              context.Context // the session's lifetime, set by Run

	wg      sync.WaitGroup // governed calls and re-lists in flight
	workers *workers       // run the governed calls
	seq     atomic.Uint64  // gateway-originated request numbers

	mu sync.Mutex
	// fromClient holds the client's requests awaiting the server's
	// response. Guarded by mu.
	fromClient map[idKey]*pending
	// fromServer holds the server's requests awaiting the client's
	// response, by method. Guarded by mu.
	fromServer map[idKey]string
	// waiters receive the responses to the gateway's own requests.
	// Guarded by mu.
	waiters map[string]chan *jsonrpc.Response
	// tools are the tools currently listed and pinned. Guarded by mu.
	tools map[string]bool
	// policyHidden names the tools the policy hid from the last listing,
	// with the denial, so that calling one says which rule hid it.
	// Guarded by mu.
	policyHidden map[string]*DenialError
	// listed is set once a tools/list result was processed. Guarded by mu.
	listed bool
	// listedAt is when the tools were last listed. Guarded by mu.
	listedAt time.Time
	// stale counts list_changed notifications not yet followed by a
	// re-list; calls are refused while it is not zero. Guarded by mu.
	stale uint64
	// generation counts list_changed notifications. Guarded by mu.
	generation uint64
	// relisting is set while the gateway lists tools on its own. Guarded
	// by mu.
	relisting chan struct{}
	// hiddenPrompts and hiddenResources name the prompts and resource
	// URIs the gateway hid from the listings; getting or reading one is
	// denied. visiblePrompts names the prompts listed and pinned. Guarded
	// by mu.
	hiddenPrompts, hiddenResources map[string]*DenialError
	visiblePrompts                 map[string]bool
	// templates are the resource templates listed, hidden or not. Guarded
	// by mu.
	templates []*templateRule
	// prompts, resources and templatesState say whether each list was
	// listed to its end. Guarded by mu.
	prompts, resources, templatesState itemState
	// itemsSem serializes the gateway's own listings of prompts and
	// resources.
	itemsSem chan struct{}
	// peer is what the client declared in initialize. Guarded by mu.
	peer clientInfo
	// elicit: the session may ask the client's user for approvals.
	elicit bool
	// stateless: the client speaks the stateless protocol; approvals are
	// asked with input_required results.
	stateless bool
	// clientWaiters receive the client's responses to the gateway's own
	// requests to the client, by ID. Kept apart from waiters so that a
	// client can never answer a request the gateway sent the server.
	// Guarded by mu.
	clientWaiters map[string]chan *jsonrpc.Response
}

// pending is a client request in flight.
type pending struct {
	id     jsonrpc.ID
	method string
	cursor bool  // a tools/list continuation page
	call   *call // set for governed tools/call
}

// call is one governed tools/call.
type call struct {
	s         *Session
	id        jsonrpc.ID
	key       idKey
	raw       []byte
	tool      string
	args      json.RawMessage
	cancel    context.CancelFunc
	byClient  atomic.Bool // the client cancelled it
	resp      chan reply
	response  *jsonrpc.Response // set by forwardCall
	responseB []byte            // the response as received, set by forwardCall
	// mrtr is what a stateless client's call carries for multi round-trip
	// approvals; nil in session-era sessions and without elicitation.
	mrtr *mrtrCall
	// inputRequired, set by the approver, is the question to answer the
	// call with instead of a denial (an input_required result).
	inputRequired []byte
}

// reply is a response with its bytes.
type reply struct {
	m   *jsonrpc.Response
	raw []byte
}

// NewSession returns a session for one client-server connection.
func (g *Gateway) NewSession(opts SessionOptions) (*Session, error) {
	if opts.Server == "" {
		return nil, errors.New("mcp: SessionOptions.Server is required")
	}
	id := opts.ID
	if id == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("mcp: session id: %w", err)
		}
		id = hex.EncodeToString(b[:])
	}
	if opts.ListTTL < 0 {
		return nil, errors.New("mcp: SessionOptions.ListTTL is negative")
	}
	callCtx := map[string]any{"mcp_server": opts.Server, "mcp_session": id}
	if opts.Principal != "" {
		callCtx["mcp_principal"] = opts.Principal
	}
	return &Session{
		g: g, server: opts.Server, id: id, principal: opts.Principal, listTTL: opts.ListTTL,
		callCtx:         callCtx,
		fromClient:      make(map[idKey]*pending),
		fromServer:      make(map[idKey]string),
		waiters:         make(map[string]chan *jsonrpc.Response),
		tools:           make(map[string]bool),
		policyHidden:    make(map[string]*DenialError),
		hiddenPrompts:   make(map[string]*DenialError),
		hiddenResources: make(map[string]*DenialError),
		visiblePrompts:  make(map[string]bool),
		itemsSem:        make(chan struct{}, 1),
		clientWaiters:   make(map[string]chan *jsonrpc.Response),
		elicit:          opts.ApprovalElicitation,
		stateless:       opts.Stateless,
		workers:         newWorkers(),
	}, nil
}

// ID returns the session's ID.
func (s *Session) ID() string { return s.id }

// Server returns the server's name.
func (s *Session) Server() string { return s.server }

// Side names the connection that ended a session.
type Side string

// Sides of a session.
const (
	SideClient Side = "client"
	SideServer Side = "server"
)

// EndError says which side ended a session and why.
type EndError struct {
	Side Side
	Err  error
}

// Error implements error.
func (e *EndError) Error() string { return "mcp: " + string(e.Side) + " connection: " + e.Err.Error() }

// Unwrap returns the cause (io.EOF when the side closed cleanly).
func (e *EndError) Unwrap() error { return e.Err }

// Run joins client and server until one of them closes its connection or
// ctx ends, then closes both and waits for the governed calls in flight to
// finish. When the server side ends first, the client's requests still in
// flight are answered with an error. Run returns an *EndError naming the
// side that ended (its Err is io.EOF for a clean close), or ctx's error.
func (s *Session) Run(ctx context.Context, client, server Conn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.client, s.upstream, s.ctx = client, server, ctx
	errc := make(chan *EndError, 2)
	go func() { errc <- &EndError{SideClient, s.clientLoop(ctx)} }()
	go func() { errc <- &EndError{SideServer, s.serverLoop(ctx)} }()
	first := <-errc
	if first.Side == SideServer && ctx.Err() == nil {
		s.failPending(ctx, "the server closed the connection")
	}
	cancel()
	client.Close()
	server.Close()
	<-errc
	s.wg.Wait()
	if errors.Is(first.Err, context.Canceled) && ctx.Err() != nil {
		if perr := context.Cause(ctx); perr != nil && !errors.Is(perr, context.Canceled) {
			return perr
		}
	}
	return first
}

// receiver is a Conn that can deliver each message on the goroutine that
// read it ([StreamConn.Receive]): one goroutine hand-off fewer per message
// than Read.
type receiver interface {
	Receive(ctx context.Context, fn func(msg []byte)) error
}

func (s *Session) clientLoop(ctx context.Context) error {
	if r, ok := s.client.(receiver); ok {
		return r.Receive(ctx, func(msg []byte) { s.fromClientMsg(ctx, msg) })
	}
	for {
		msg, err := s.client.Read(ctx)
		if err != nil {
			return err
		}
		s.fromClientMsg(ctx, msg)
	}
}

func (s *Session) serverLoop(ctx context.Context) error {
	if r, ok := s.upstream.(receiver); ok {
		return r.Receive(ctx, func(msg []byte) { s.fromServerMsg(ctx, msg) })
	}
	for {
		msg, err := s.upstream.Read(ctx)
		if err != nil {
			return err
		}
		s.fromServerMsg(ctx, msg)
	}
}

func (s *Session) writeClient(ctx context.Context, b []byte) {
	if err := s.client.Write(ctx, b); err != nil && ctx.Err() == nil {
		s.g.log.LogAttrs(ctx, slog.LevelWarn, "write to client failed", slog.String("error", err.Error()))
	}
}

func (s *Session) writeServer(ctx context.Context, b []byte) error {
	err := s.upstream.Write(ctx, b)
	if err != nil && ctx.Err() == nil {
		s.g.log.LogAttrs(ctx, slog.LevelWarn, "write to server failed", slog.String("error", err.Error()))
	}
	return err
}

// protocolDenial refuses a peer's request that breaks the protocol.
func protocolDenial(reason string) *DenialError {
	return &DenialError{Stage: StageProtocol, Reason: reason}
}

// fromClientMsg handles one message from the client.
func (s *Session) fromClientMsg(ctx context.Context, raw []byte) {
	m, err := decodeOwnedMessage(raw)
	if err != nil {
		// Undecodable (or a batch, which MCP no longer allows): answer with
		// a parse error; never forward what could not be checked.
		s.writeClient(ctx, errorResponse(jsonrpc.ID{}, jsonrpc.CodeParseError, "agentos gateway: cannot decode message: "+bound(err.Error(), 200), nil))
		return
	}
	switch m := m.(type) {
	case *jsonrpc.Request:
		if !m.IsCall() {
			if m.Method == methodCancelled {
				s.clientCancelled(m.Params)
			}
			s.writeServer(ctx, raw)
			return
		}
		k := keyOf(m.ID)
		if k.reserved() {
			s.writeClient(ctx, denialResponse(m.ID, protocolDenial("request IDs starting with "+strconv.Quote(GatewayIDPrefix)+" are reserved for the gateway"), false))
			return
		}
		switch m.Method {
		case methodToolsCall:
			s.governCall(ctx, m, raw, k)
			return
		case methodPromptsGet, methodResourcesRead:
			s.governItem(ctx, m, raw, k)
			return
		case methodInitialize:
			s.noteClient(m.Params)
		}
		p := &pending{id: m.ID, method: m.Method}
		if m.Method == methodToolsList {
			p.cursor = hasCursor(m.Params)
		}
		if d := s.track(k, p); d != nil {
			s.writeClient(ctx, denialResponse(m.ID, d, false))
			return
		}
		if err := s.writeServer(ctx, raw); err != nil {
			s.untrack(k, p)
			s.writeClient(ctx, denialResponse(m.ID, &DenialError{Stage: StageUpstream, Reason: "the server is unavailable"}, false))
		}
	case *jsonrpc.Response:
		k := keyOf(m.ID)
		if k.reserved() {
			s.mu.Lock()
			ch := s.clientWaiters[k.s]
			delete(s.clientWaiters, k.s)
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			return
		}
		s.mu.Lock()
		_, ok := s.fromServer[k]
		delete(s.fromServer, k)
		s.mu.Unlock()
		if !ok {
			s.g.log.LogAttrs(ctx, slog.LevelWarn, "dropped a client response to no server request")
			return
		}
		s.writeServer(ctx, raw)
	}
}

// hasCursor reports whether list params carry a cursor (a continuation
// page).
func hasCursor(params json.RawMessage) bool {
	if len(params) == 0 {
		return false
	}
	var p struct {
		Cursor *string `json:"cursor"`
	}
	return json.Unmarshal(params, &p) == nil && p.Cursor != nil && *p.Cursor != ""
}

// track records a client request in flight; it refuses a duplicate ID or
// one beyond the bound.
func (s *Session) track(k idKey, p *pending) *DenialError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.fromClient[k]; dup {
		return protocolDenial("a request with this ID is already in flight")
	}
	if len(s.fromClient) >= s.g.maxInFlight {
		return protocolDenial("too many requests in flight (limit " + strconv.Itoa(s.g.maxInFlight) + ")")
	}
	s.fromClient[k] = p
	return nil
}

// untrack removes k if it still maps to p.
func (s *Session) untrack(k idKey, p *pending) {
	s.mu.Lock()
	if s.fromClient[k] == p {
		delete(s.fromClient, k)
	}
	s.mu.Unlock()
}

// clientCancelled handles the client's notifications/cancelled: the
// governed call it names is cancelled, and a plain request forgotten (the
// server should not answer it; a late answer is dropped).
func (s *Session) clientCancelled(params json.RawMessage) {
	id, ok := cancelledID(params)
	if !ok {
		return
	}
	k := keyOf(id)
	s.mu.Lock()
	p := s.fromClient[k]
	if p != nil && p.call == nil {
		delete(s.fromClient, k)
	}
	s.mu.Unlock()
	if p != nil && p.call != nil {
		p.call.byClient.Store(true)
		p.call.cancel()
	}
}

// fromServerMsg handles one message from the server.
func (s *Session) fromServerMsg(ctx context.Context, raw []byte) {
	m, err := decodeOwnedMessage(raw)
	if err != nil {
		s.g.log.LogAttrs(ctx, slog.LevelWarn, "dropped an undecodable message from the server", slog.String("error", err.Error()))
		return
	}
	switch m := m.(type) {
	case *jsonrpc.Request:
		if !m.IsCall() {
			switch m.Method {
			case methodToolsChanged:
				s.toolsChanged(ctx)
			case methodPromptsChanged, methodResourcesChanged:
				s.itemsChanged(m.Method)
			case methodCancelled:
				if id, ok := cancelledID(m.Params); ok {
					s.mu.Lock()
					delete(s.fromServer, keyOf(id))
					s.mu.Unlock()
				}
			}
			s.writeClient(ctx, raw)
			return
		}
		k := keyOf(m.ID)
		s.mu.Lock()
		_, dup := s.fromServer[k]
		full := len(s.fromServer) >= s.g.maxInFlight
		if !dup && !full {
			s.fromServer[k] = m.Method
		}
		s.mu.Unlock()
		if dup || full {
			s.writeServer(ctx, denialResponse(m.ID, protocolDenial("duplicate request ID or too many requests in flight"), false))
			return
		}
		if m.Method == methodSampling {
			s.screenSampling(ctx, m, raw, k)
			return
		}
		s.writeClient(ctx, raw)
	case *jsonrpc.Response:
		k := keyOf(m.ID)
		if k.reserved() {
			s.mu.Lock()
			ch := s.waiters[k.s]
			delete(s.waiters, k.s)
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			return
		}
		s.mu.Lock()
		p := s.fromClient[k]
		delete(s.fromClient, k)
		s.mu.Unlock()
		switch {
		case p == nil:
			s.g.log.LogAttrs(ctx, slog.LevelDebug, "dropped a server response to no request in flight")
		case p.call != nil:
			p.call.resp <- reply{m, raw}
		case p.method == methodToolsList:
			s.clientList(ctx, m, raw, p)
		case p.method == methodPromptsList || p.method == methodResourcesList || p.method == methodTemplatesList:
			k, _ := listKindOf(p.method)
			s.clientItems(ctx, k, m, raw, p)
		case p.method == methodInitialize || p.method == methodDiscover:
			s.screenInstructions(ctx, m, p.method, raw)
		case p.method == methodResourcesRead || p.method == methodPromptsGet:
			s.screenResult(ctx, m, raw, p.method, "")
		default:
			s.writeClient(ctx, raw)
		}
	}
}

// failPending answers the client's requests in flight with an error.
func (s *Session) failPending(ctx context.Context, reason string) {
	s.mu.Lock()
	var ids []jsonrpc.ID
	var calls []*call
	for k, p := range s.fromClient {
		if p.call != nil {
			calls = append(calls, p.call)
			continue
		}
		ids = append(ids, p.id)
		delete(s.fromClient, k)
	}
	s.mu.Unlock()
	d := &DenialError{Stage: StageUpstream, Reason: reason}
	for _, id := range ids {
		s.writeClient(ctx, denialResponse(id, d, false))
	}
	for _, c := range calls {
		c.cancel()
	}
}

// governCall starts a governed tools/call.
func (s *Session) governCall(ctx context.Context, m *jsonrpc.Request, raw []byte, k idKey) {
	// Members are read by exact name: a struct would also take "Name" or
	// "ARGUMENTS", so that the kernel could govern one tool while the
	// server, reading "name", runs another.
	var params struct {
		Name      string
		Arguments json.RawMessage
	}
	governed := []string{"name", "arguments"}
	if s.elicit {
		// The retry of a held call of a stateless client carries the
		// answer in inputResponses and requestState: read by exact name
		// too.
		governed = append(governed, memberInputResponses, memberRequestState)
	}
	pm, err := strictMembers(m.Params, governed...)
	if err != nil {
		s.writeClient(ctx, errorResponse(m.ID, jsonrpc.CodeInvalidParams, "tools/call: "+bound(err.Error(), 200), nil))
		return
	}
	var ok bool
	if params.Name, ok = stringValue(pm["name"]); !ok || params.Name == "" {
		s.writeClient(ctx, errorResponse(m.ID, jsonrpc.CodeInvalidParams, "tools/call: params must hold a non-empty string name", nil))
		return
	}
	params.Arguments = pm["arguments"]
	if string(params.Arguments) == "null" {
		params.Arguments = nil
	}
	var mc *mrtrCall
	if s.elicit && (s.stateless || statelessMeta(pm[memberMeta])) {
		var up []byte
		if mc, up, err = parseMRTR(m, pm); err != nil {
			s.writeClient(ctx, errorResponse(m.ID, jsonrpc.CodeInvalidParams, "tools/call: "+bound(err.Error(), 200), nil))
			return
		}
		if up != nil {
			raw = up
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	c := &call{s: s, id: m.ID, key: k, raw: raw, tool: params.Name, args: params.Arguments, cancel: cancel,
		resp: make(chan reply, 1), mrtr: mc}
	p := &pending{id: m.ID, method: methodToolsCall, call: c}
	if d := s.track(k, p); d != nil {
		cancel()
		s.writeClient(ctx, denialResponse(m.ID, d, s.g.denyAsResult))
		return
	}
	s.wg.Add(1)
	s.workers.run(ctx, func() { s.runCall(cctx, c, p) })
}

// runCall decides and runs one governed call and answers the client.
func (s *Session) runCall(ctx context.Context, c *call, p *pending) {
	defer s.wg.Done()
	defer c.cancel()
	defer s.untrack(c.key, p)
	if d := s.callable(ctx, c.tool); d != nil {
		if err := s.g.audit(ctx, event{session: s.id, principal: s.principal, requestID: idString(c.id), server: s.server, method: methodToolsCall, tool: c.tool,
			stage: d.Stage, action: "deny", rule: d.Rule, reason: d.Reason}); err != nil {
			d = &DenialError{Stage: StageAudit, Reason: "the denial could not be audited (fail closed)", Err: err}
		}
		s.writeClient(s.ctx, denialResponse(c.id, d, s.g.denyAsResult))
		return
	}
	kctx := context.WithValue(ctx, callKey{}, c)
	_, err := s.g.k.Syscall(kctx, s.g.agentID, kernel.Exec{Tool: c.tool, Args: c.args, Context: s.callCtx})
	if c.byClient.Load() {
		return // the client gave up on it: say nothing
	}
	if s.ctx.Err() != nil {
		return
	}
	if err != nil && c.inputRequired != nil {
		// Held for an approval the client's user gives on the retry.
		s.writeClient(s.ctx, c.inputRequired)
		return
	}
	if err == nil && c.response != nil {
		s.screenCallResult(s.ctx, c)
		return
	}
	var ue *upstreamError
	if errors.As(err, &ue) {
		s.writeClient(s.ctx, ue.raw) // the server's own error, byte for byte
		return
	}
	if err == nil {
		err = errors.New("no response")
	}
	s.writeClient(s.ctx, denialResponse(c.id, s.denialFor(err), s.g.denyAsResult))
}

// upstreamError is the server's JSON-RPC error response to a call.
type upstreamError struct {
	raw []byte
	err error
}

func (e *upstreamError) Error() string { return "server error: " + e.err.Error() }

// forwardCall sends c to the server and waits for its response; it runs
// inside the kernel's tool step.
func (s *Session) forwardCall(ctx context.Context, c *call) (any, error) {
	if err := s.writeServer(ctx, c.raw); err != nil {
		return nil, fmt.Errorf("send to server: %w", err)
	}
	select {
	case r := <-c.resp:
		if r.m.Error != nil {
			return nil, &upstreamError{raw: r.raw, err: r.m.Error}
		}
		c.response, c.responseB = r.m, r.raw
		return r.m.Result, nil
	case <-ctx.Done():
		if !c.byClient.Load() && s.ctx.Err() == nil {
			// A timeout or a kill: tell the server to stop.
			s.writeServer(context.WithoutCancel(ctx), cancelledNotification(c.id, "cancelled by the agentos gateway"))
		}
		return nil, ctx.Err()
	}
}

// denialFor maps an error of a governed call to the denial the client
// sees: the one error-to-wire mapping of the gateway. Internal failures
// leave as a generic reason; the detail goes to the log.
func (s *Session) denialFor(err error) *DenialError {
	var de *DenialError
	if errors.As(err, &de) {
		return de
	}
	var pe *kernel.PolicyError
	if errors.As(err, &pe) {
		stage := StagePolicy
		switch {
		case errors.Is(err, kernel.ErrApproval):
			stage = StageApproval
		case errors.Is(err, kernel.ErrRateLimited):
			stage = StageRateLimit
		case errors.Is(err, kernel.ErrBudget):
			stage = StageBudget
		case errors.Is(err, kernel.ErrAuditUnavailable):
			stage = StageAudit
		}
		return &DenialError{Stage: stage, Reason: pe.Reason, Rule: pe.Rule, Err: err}
	}
	var ae *kernel.AuditError
	if errors.As(err, &ae) {
		return &DenialError{Stage: StageAudit, Reason: "the call could not be audited (fail closed)", Err: err}
	}
	var te *kernel.ToolError
	if errors.As(err, &te) {
		reason := "the server did not answer"
		if errors.Is(err, context.DeadlineExceeded) {
			reason = "the server did not answer within " + s.g.callTimeout.String()
		}
		s.g.log.LogAttrs(s.ctx, slog.LevelWarn, "governed call failed", slog.String("tool", te.Tool), slog.String("error", err.Error()))
		return &DenialError{Stage: StageUpstream, Reason: reason, Err: err}
	}
	switch {
	case errors.Is(err, kernel.ErrBadArgs), errors.Is(err, kernel.ErrTerminated), errors.Is(err, kernel.ErrAgentNotFound),
		errors.Is(err, kernel.ErrUnavailable), errors.Is(err, kernel.ErrToolNotFound):
		return &DenialError{Stage: StageKernel, Reason: bound(err.Error(), 512), Err: err}
	}
	s.g.log.LogAttrs(s.ctx, slog.LevelError, "governed call failed", slog.String("error", err.Error()))
	return &DenialError{Stage: StageKernel, Reason: "internal error (see the gateway log)", Err: err}
}

// callable reports, as a denial, why a tool may not be called now; nil
// when it is listed and pinned. A session that never listed tools lists
// them first, so that clients calling without listing are governed too.
func (s *Session) callable(ctx context.Context, tool string) *DenialError {
	s.mu.Lock()
	listed := s.listed
	if listed && s.listTTL > 0 && s.g.clock.Now().Sub(s.listedAt) >= s.listTTL {
		listed = false
		s.listed = false
	}
	s.mu.Unlock()
	if !listed {
		if err := s.relist(ctx); err != nil {
			return &DenialError{Stage: StagePin, Reason: "the gateway could not list the server's tools: " + bound(err.Error(), 200), Err: err}
		}
	}
	s.mu.Lock()
	stale := s.stale
	ok := s.tools[tool]
	hid := s.policyHidden[tool]
	s.mu.Unlock()
	switch {
	case stale > 0:
		return &DenialError{Stage: StagePin, Reason: "the server changed its tool list; the gateway is re-checking it"}
	case !ok && hid != nil:
		return policyHiddenDenial(tool, s.server, hid)
	case !ok:
		return &DenialError{Stage: StagePin, Reason: "tool " + strconv.Quote(tool) + " is not currently listed and pinned for server " + strconv.Quote(s.server)}
	}
	return nil
}

// policyHiddenDenial is the denial of a call to a tool the policy hid
// from the listing: it names the rule and repeats its message.
func policyHiddenDenial(tool, server string, hid *DenialError) *DenialError {
	reason := "tool " + strconv.Quote(tool) + " of server " + strconv.Quote(server) + " is hidden by the policy"
	if hid.Rule != "" {
		reason += " (rule " + strconv.Quote(hid.Rule) + ")"
	}
	if hid.Reason != "" {
		reason += ": " + hid.Reason
	}
	return &DenialError{Stage: StagePolicy, Rule: hid.Rule, Reason: reason}
}

// policyHiddenOf returns the tools of lr the policy hid, with why, added
// to into (allocated when nil).
func policyHiddenOf(lr listResult, into map[string]*DenialError) map[string]*DenialError {
	if into == nil {
		into = make(map[string]*DenialError)
	}
	for i, n := range lr.hidden {
		if d := lr.why[i]; d != nil && d.Stage == StagePolicy {
			into[n] = d
		}
	}
	return into
}

// toolsChanged handles notifications/tools/list_changed: calls are refused
// until the gateway has listed the tools again.
func (s *Session) toolsChanged(ctx context.Context) {
	s.mu.Lock()
	s.generation++
	s.stale++
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.relist(ctx); err != nil && ctx.Err() == nil {
			s.g.log.LogAttrs(ctx, slog.LevelWarn, "re-list after list_changed failed; calls stay refused",
				slog.String("server", s.server), slog.String("error", err.Error()))
		}
	}()
}

// relist lists the server's tools on the gateway's own behalf (every
// page) and replaces the callable set. Concurrent callers share one
// listing.
func (s *Session) relist(ctx context.Context) error {
	s.mu.Lock()
	if ch := s.relisting; ch != nil {
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
		if s.stale == 0 && s.listed {
			s.mu.Unlock()
			return nil
		}
	}
	ch := make(chan struct{})
	s.relisting = ch
	gen := s.generation
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.relisting = nil
		s.mu.Unlock()
		close(ch)
	}()
	visible := make(map[string]bool)
	hidden := make(map[string]*DenialError)
	cursor := ""
	for page := 0; ; page++ {
		if page == maxListPages {
			return fmt.Errorf("more than %d pages of tools", maxListPages)
		}
		var params any = struct{}{}
		if cursor != "" {
			params = map[string]string{"cursor": cursor}
		}
		r, err := s.request(ctx, methodToolsList, params)
		if err != nil {
			return err
		}
		if r.Error != nil {
			return fmt.Errorf("tools/list: %w", r.Error)
		}
		lr, err := s.processList(ctx, r.Result, false)
		if err != nil {
			return err
		}
		for _, n := range lr.visible {
			visible[n] = true
		}
		policyHiddenOf(lr, hidden)
		if lr.next == "" {
			break
		}
		cursor = lr.next
	}
	s.mu.Lock()
	s.tools = visible
	s.policyHidden = hidden
	s.listed = true
	s.listedAt = s.g.clock.Now()
	if s.generation == gen {
		s.stale = 0
	}
	s.mu.Unlock()
	return nil
}

// gatewayRequest encodes a request of the gateway's own, with the next id
// of its namespace.
func (s *Session) gatewayRequest(method string, params any) (id string, msg []byte, err error) {
	id = GatewayIDPrefix + strconv.FormatUint(s.seq.Add(1), 10)
	rid, err := jsonrpc.MakeID(id)
	if err != nil {
		return "", nil, err
	}
	pb, err := json.Marshal(params)
	if err != nil {
		return "", nil, err
	}
	msg, err = jsonrpc.EncodeMessage(&jsonrpc.Request{ID: rid, Method: method, Params: pb})
	return id, msg, err
}

// request sends a request of the gateway's own to the server and waits
// for the response.
func (s *Session) request(ctx context.Context, method string, params any) (*jsonrpc.Response, error) {
	id, b, err := s.gatewayRequest(method, params)
	if err != nil {
		return nil, err
	}
	ch := make(chan *jsonrpc.Response, 1)
	s.mu.Lock()
	s.waiters[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiters, id)
		s.mu.Unlock()
	}()
	if err := s.writeServer(ctx, b); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ctx.Done():
		return nil, io.EOF
	}
}
