package mcp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// Streamable HTTP constants.
const (
	// ProtocolStateless is the first MCP protocol version without
	// sessions: every request stands alone and carries Mcp-Method and
	// Mcp-Name headers that must match its body.
	ProtocolStateless = "2026-07-28"
	// CodeHeaderMismatch is the JSON-RPC error code of a request whose MCP
	// headers do not match its body.
	CodeHeaderMismatch = -32020
	// PRMPath is where the proxy serves its OAuth protected-resource
	// metadata (RFC 9728).
	PRMPath = "/.well-known/oauth-protected-resource"

	headerSessionID = "Mcp-Session-Id"
	headerProtocol  = "Mcp-Protocol-Version"
	headerMethod    = "Mcp-Method"
	headerName      = "Mcp-Name"
	metaProtocol    = "io.modelcontextprotocol/protocolVersion"
	contentJSON     = "application/json"
	contentSSE      = "text/event-stream"
)

// Proxy defaults for zero ProxyOptions fields.
const (
	DefaultMaxBodyBytes     = 4 << 20
	DefaultMaxSessions      = 1024
	DefaultStatelessListTTL = time.Minute
	DefaultIdleTimeout      = 30 * time.Minute
	// maxStreamQueue bounds the messages queued for one HTTP response
	// stream; a stream that falls further behind is closed.
	maxStreamQueue = 4096
)

// ProxyOptions configure a Proxy.
type ProxyOptions struct {
	// Gateway governs the traffic. Required.
	Gateway *Gateway
	// Upstream is the URL of the server's Streamable HTTP endpoint.
	// Required.
	Upstream string
	// Server names the server for pins, policy and audit. Required.
	Server string
	// Auth authenticates clients; a request it refuses is answered with
	// 401 and a WWW-Authenticate header pointing at the protected-resource
	// metadata. nil: no authentication, every client is principal
	// "anonymous" (only sensible on a loopback address).
	Auth Authenticator
	// ResourceURL is the public URL of the proxy's MCP endpoint, named in
	// the protected-resource metadata. "": derived from each request's
	// Host.
	ResourceURL string
	// AuthorizationServers are the OAuth authorization servers listed in
	// the protected-resource metadata. nil: none listed (tokens are
	// provisioned out of band).
	AuthorizationServers []string
	// AllowedOrigins are the browser origins (scheme://host[:port]) whose
	// requests are accepted; a request with any other Origin header gets
	// 403. Requests without an Origin header (non-browser clients) are
	// accepted. nil: only loopback origins (localhost, 127.0.0.1, [::1]).
	AllowedOrigins []string
	// MaxBodyBytes bounds a request body and one upstream message; a
	// larger request gets 413. 0: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxSessions bounds the live sessions; an initialize beyond it gets
	// 503. 0: DefaultMaxSessions.
	MaxSessions int
	// StatelessListTTL is how long a tool listing stays valid for
	// stateless (2026-07-28) clients, which get no list_changed
	// notifications: a call after it lists the tools again first. 0:
	// DefaultStatelessListTTL.
	StatelessListTTL time.Duration
	// Client sends upstream requests. nil: a client without an overall
	// timeout (streams may last long), no redirects followed.
	Client *http.Client
	// UpstreamHeader is added to every upstream request (e.g. the proxy's
	// own credential for the upstream). The client's Authorization header
	// is never forwarded. nil: none.
	UpstreamHeader http.Header
	// IdleTimeout ends a session no POST has used for this long (none in
	// flight; an open standalone GET stream does not count), upstream too
	// (DELETE), which closes its streams. The proxy
	// checks every IdleTimeout/4 (at most every minute), and at once when
	// an initialize finds the session table full. 0: DefaultIdleTimeout.
	IdleTimeout time.Duration
	// ReplayEvents and ReplayBytes bound each session's replay buffer:
	// the events sent on its event streams, kept so that a client whose
	// stream broke can resume it with Last-Event-ID. Beyond either bound
	// the oldest events are evicted (a resumption then misses them). 0:
	// DefaultReplayEvents, DefaultReplayBytes.
	ReplayEvents int
	ReplayBytes  int64
	// Clock tells the time for idle expiry. nil: the gateway's clock.
	Clock Clock
	// Logger receives the proxy's logs. nil: the gateway's logger.
	Logger *slog.Logger
	// ApprovalElicitation lets the kernel's approver (Approvals) ask the
	// client's user about a call a require_approval rule holds, when the
	// client supports form elicitation: session-era clients get an
	// elicitation/create request on the call's event stream and POST the
	// answer (which the gateway consumes, never forwards); stateless
	// (2026-07-28) clients get an input_required result and retry the call
	// with the answer. false: approvals never go through the client.
	ApprovalElicitation bool
}

// Proxy is a Streamable HTTP reverse proxy that governs the MCP traffic
// between HTTP clients and one upstream MCP server. It is an http.Handler:
// PRMPath serves the protected-resource metadata, every other path is the
// MCP endpoint (POST, GET, DELETE).
type Proxy struct {
	g        *Gateway
	upstream string
	server   string
	auth     Authenticator
	resource string
	authzSrv []string
	origins  map[string]bool
	maxBody  int64
	maxSess  int
	listTTL  time.Duration
	idle     time.Duration
	// replayEvents and replayBytes bound each session's replay buffer.
	replayEvents int
	replayBytes  int64
	clock        Clock
	elicit       bool
	client       *http.Client
	upHeader     http.Header
	log          *slog.Logger
	ctx          context.Context
	cancel       context.CancelFunc
	sessionsWG   sync.WaitGroup

	mu sync.Mutex
	// sessions are the session-era sessions by session ID. Guarded by mu.
	sessions map[string]*httpSession
	// stateless are the stateless-era sessions by principal. Guarded by
	// mu.
	stateless map[string]*httpSession
	closed    bool // guarded by mu
}

// NewProxy returns a Proxy. It fails, naming the field, for a missing
// Gateway, Server or Upstream, or an Upstream that is not an http(s) URL.
func NewProxy(opts ProxyOptions) (*Proxy, error) {
	switch {
	case opts.Gateway == nil:
		return nil, errors.New("mcp: ProxyOptions.Gateway is required")
	case opts.Server == "":
		return nil, errors.New("mcp: ProxyOptions.Server is required")
	case opts.MaxBodyBytes < 0, opts.MaxSessions < 0, opts.StatelessListTTL < 0, opts.IdleTimeout < 0,
		opts.ReplayEvents < 0, opts.ReplayBytes < 0:
		return nil, errors.New("mcp: ProxyOptions: negative bound")
	}
	u, err := url.Parse(opts.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mcp: ProxyOptions.Upstream %q: want an http or https URL", opts.Upstream)
	}
	p := &Proxy{g: opts.Gateway, upstream: opts.Upstream, server: opts.Server, auth: opts.Auth,
		resource: opts.ResourceURL, authzSrv: opts.AuthorizationServers, maxBody: opts.MaxBodyBytes,
		maxSess: opts.MaxSessions, listTTL: opts.StatelessListTTL, idle: opts.IdleTimeout, clock: opts.Clock,
		replayEvents: opts.ReplayEvents, replayBytes: opts.ReplayBytes, elicit: opts.ApprovalElicitation,
		client:   opts.Client,
		upHeader: opts.UpstreamHeader.Clone(), log: opts.Logger,
		sessions: make(map[string]*httpSession), stateless: make(map[string]*httpSession)}
	if len(opts.AllowedOrigins) > 0 {
		p.origins = make(map[string]bool, len(opts.AllowedOrigins))
		for _, o := range opts.AllowedOrigins {
			p.origins[normOrigin(o)] = true
		}
	}
	if p.maxBody == 0 {
		p.maxBody = DefaultMaxBodyBytes
	}
	if p.maxSess == 0 {
		p.maxSess = DefaultMaxSessions
	}
	if p.listTTL == 0 {
		p.listTTL = DefaultStatelessListTTL
	}
	if p.idle == 0 {
		p.idle = DefaultIdleTimeout
	}
	if p.replayEvents == 0 {
		p.replayEvents = DefaultReplayEvents
	}
	if p.replayBytes == 0 {
		p.replayBytes = DefaultReplayBytes
	}
	if p.clock == nil {
		p.clock = opts.Gateway.clock
	}
	if p.client == nil {
		p.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if p.log == nil {
		p.log = opts.Gateway.log
	}
	p.log = p.log.With(slog.String("server", opts.Server))
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.sessionsWG.Add(1)
	go p.janitor()
	return p, nil
}

// janitor ends idle sessions until the proxy closes.
func (p *Proxy) janitor() {
	defer p.sessionsWG.Done()
	every := min(p.idle/4, time.Minute)
	every = max(every, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			p.ExpireIdle()
		}
	}
}

// ExpireIdle ends every session that no request has used for the idle
// timeout, by the proxy's clock, and returns how many it ended. The proxy
// calls it on its own; it is exported for tests and for callers driving
// their own clock.
func (p *Proxy) ExpireIdle() int {
	now := p.clock.Now()
	p.mu.Lock()
	var idle []*httpSession
	for _, m := range [...]map[string]*httpSession{p.sessions, p.stateless} {
		for k, hs := range m {
			if hs.idleSince(now) >= p.idle {
				idle = append(idle, hs)
				delete(m, k)
			}
		}
	}
	p.mu.Unlock()
	for _, hs := range idle {
		p.log.LogAttrs(p.ctx, slog.LevelInfo, "idle session ended", slog.String("session", hs.gs.ID()),
			slog.String("principal", hs.principal))
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		hs.up.deleteUpstream(ctx)
		cancel()
		hs.close()
	}
	return len(idle)
}

// Close ends every session and waits for them. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	var all []*httpSession
	for _, hs := range p.sessions {
		all = append(all, hs)
	}
	for _, hs := range p.stateless {
		all = append(all, hs)
	}
	clear(p.sessions)
	clear(p.stateless)
	p.mu.Unlock()
	for _, hs := range all {
		hs.close()
	}
	p.cancel()
	p.sessionsWG.Wait()
	return nil
}

// Sessions returns the number of live sessions.
func (p *Proxy) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions) + len(p.stateless)
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == PRMPath || strings.HasPrefix(r.URL.Path, PRMPath+"/") {
		p.servePRM(w, r)
		return
	}
	if !p.hostOK(r) {
		http.Error(w, "Forbidden: the Host header does not name a loopback address", http.StatusForbidden)
		return
	}
	if !p.originOK(r.Header.Get("Origin")) {
		p.log.LogAttrs(r.Context(), slog.LevelWarn, "request from a disallowed origin refused", slog.String("origin", bound(r.Header.Get("Origin"), 200)))
		http.Error(w, "Forbidden: origin not allowed", http.StatusForbidden)
		return
	}
	principal := "anonymous"
	if p.auth != nil {
		var err error
		principal, err = p.auth.Authenticate(r)
		if err != nil {
			challenge := `Bearer resource_metadata="` + p.prmURL(r) + `"`
			if r.Header.Get("Authorization") != "" {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, "Unauthorized: a valid bearer token is required", http.StatusUnauthorized)
			return
		}
	}
	switch r.Method {
	case http.MethodPost:
		p.servePost(w, r, principal)
	case http.MethodGet:
		p.serveGet(w, r, principal)
	case http.MethodDelete:
		p.serveDelete(w, r, principal)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	}
}

// servePRM serves the protected-resource metadata.
func (p *Proxy) servePRM(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	md := map[string]any{
		"resource":                 p.resourceURL(r),
		"bearer_methods_supported": []string{"header"},
		"resource_name":            "agentos MCP gateway for " + p.server,
	}
	if len(p.authzSrv) > 0 {
		md["authorization_servers"] = p.authzSrv
	}
	w.Header().Set("Content-Type", contentJSON)
	w.Header().Set("Cache-Control", "max-age=300")
	_ = json.NewEncoder(w).Encode(md)
}

func (p *Proxy) resourceURL(r *http.Request) string {
	if p.resource != "" {
		return p.resource
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/"
}

// prmURL is the metadata URL for the resource: the well-known path
// inserted between host and path (RFC 9728 §3.1).
func (p *Proxy) prmURL(r *http.Request) string {
	u, err := url.Parse(p.resourceURL(r))
	if err != nil {
		return PRMPath
	}
	path := strings.TrimSuffix(u.Path, "/")
	u.Path = PRMPath + path
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// hostOK refuses DNS rebinding: a request that reached a loopback
// listener must name a loopback host.
func (p *Proxy) hostOK(r *http.Request) bool {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || la == nil || !IsLoopback(la.String()) {
		return true
	}
	return IsLoopback(r.Host)
}

// originOK checks an Origin header against the allow-list.
func (p *Proxy) originOK(origin string) bool {
	if origin == "" {
		return true
	}
	if p.origins != nil {
		return p.origins[normOrigin(origin)]
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return IsLoopback(u.Host)
}

func normOrigin(o string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
}

// IsLoopback reports whether a host or host:port names the loopback
// interface (localhost, 127.0.0.0/8, ::1).
func IsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// jsonRPCError answers an HTTP request with a JSON-RPC error body.
func jsonRPCError(w http.ResponseWriter, status int, id jsonrpc.ID, code int64, msg string) {
	w.Header().Set("Content-Type", contentJSON)
	w.WriteHeader(status)
	w.Write(errorResponse(id, code, msg, nil))
}

func (p *Proxy) servePost(w http.ResponseWriter, r *http.Request, principal string) {
	r.Body = http.MaxBytesReader(w, r.Body, p.maxBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("Request Entity Too Large: the limit is %d bytes", p.maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "Bad Request: reading the body failed", http.StatusBadRequest)
		return
	}
	msg, err := decodeMessage(body)
	if err != nil {
		jsonRPCError(w, http.StatusBadRequest, jsonrpc.ID{}, jsonrpc.CodeParseError, "agentos gateway: the body is not one JSON-RPC message: "+bound(err.Error(), 200))
		return
	}
	version := r.Header.Get(headerProtocol)
	if version >= ProtocolStateless {
		if err := checkHeaders(r.Header, msg); err != nil {
			var id jsonrpc.ID
			if req, ok := msg.(*jsonrpc.Request); ok {
				id = req.ID
			}
			jsonRPCError(w, http.StatusBadRequest, id, CodeHeaderMismatch, err.Error())
			return
		}
		hs, status := p.statelessSession(principal, version)
		if hs == nil {
			http.Error(w, http.StatusText(status), status)
			return
		}
		p.deliver(w, r, hs, msg, body, false)
		return
	}
	sid := r.Header.Get(headerSessionID)
	if sid == "" {
		req, ok := msg.(*jsonrpc.Request)
		if !ok || req.Method != methodInitialize || !req.IsCall() {
			http.Error(w, "Bad Request: missing "+headerSessionID+" (initialize first)", http.StatusBadRequest)
			return
		}
		hs, status := p.newSession(principal, false, "")
		if hs == nil {
			http.Error(w, http.StatusText(status), status)
			return
		}
		p.deliver(w, r, hs, msg, body, true)
		return
	}
	hs := p.lookup(sid, principal)
	if hs == nil {
		http.Error(w, "Not Found: no such session", http.StatusNotFound)
		return
	}
	if version != "" {
		hs.up.setVersion(version)
	}
	p.deliver(w, r, hs, msg, body, false)
}

// checkHeaders validates the MCP headers of a stateless-era request
// against its body, before anything trusts them.
func checkHeaders(h http.Header, msg jsonrpc.Message) error {
	req, ok := msg.(*jsonrpc.Request)
	if !ok {
		return nil
	}
	if got := h.Get(headerMethod); got == "" {
		return errors.New("missing required " + headerMethod + " header")
	} else if got != req.Method {
		return fmt.Errorf("header mismatch: %s %q does not match the body's method %q", headerMethod, bound(got, 100), bound(req.Method, 100))
	}
	if req.IsCall() {
		if meta, _ := metaOf(req.Params)[metaProtocol].(string); meta != "" && meta != h.Get(headerProtocol) {
			return fmt.Errorf("header mismatch: %s %q does not match the body's %s %q", headerProtocol, bound(h.Get(headerProtocol), 40), metaProtocol, bound(meta, 40))
		}
	}
	name, want, ok := nameOf(req.Method, req.Params)
	if !want {
		return nil
	}
	if !ok {
		return fmt.Errorf("params of %q must hold the %s as a string", req.Method, map[bool]string{true: "uri", false: "name"}[req.Method == methodResourcesRead])
	}
	raw := h.Get(headerName)
	if raw == "" {
		return fmt.Errorf("missing required %s header for method %q", headerName, req.Method)
	}
	got, ok := decodeHeaderValue(raw)
	if !ok {
		return fmt.Errorf("%s header: invalid base64 value", headerName)
	}
	if got != name {
		return fmt.Errorf("header mismatch: %s %q does not match the body's %q", headerName, bound(got, 100), bound(name, 100))
	}
	return nil
}

// nameOf extracts what Mcp-Name carries: the tool or prompt name, or the
// resource URI, read by exact member name as every other JSON parser
// reads it. want is false for other methods; ok is false when params do
// not hold that member as a string.
func nameOf(method string, params json.RawMessage) (name string, want, ok bool) {
	switch method {
	case methodToolsCall, methodPromptsGet:
		name, ok = memberString(params, "name")
		return name, true, ok
	case methodResourcesRead:
		name, ok = memberString(params, "uri")
		return name, true, ok
	}
	return "", false, false
}

func metaOf(params json.RawMessage) map[string]any {
	var p struct {
		Meta map[string]any `json:"_meta"`
	}
	if len(params) == 0 || json.Unmarshal(params, &p) != nil {
		return nil
	}
	return p.Meta
}

const (
	b64Prefix = "=?base64?"
	b64Suffix = "?="
)

// decodeHeaderValue decodes a header value that may use the
// =?base64?...?= sentinel.
func decodeHeaderValue(v string) (string, bool) {
	if enc, ok := strings.CutPrefix(v, b64Prefix); ok {
		if enc, ok = strings.CutSuffix(enc, b64Suffix); ok {
			b, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				return "", false
			}
			return string(b), true
		}
	}
	return v, true
}

// encodeHeaderValue encodes a value for an MCP header: as is when it is
// printable ASCII without surrounding blanks and does not itself look
// like the base64 sentinel, else (and for "", which an absent header
// cannot be told from) with the sentinel, so that decodeHeaderValue
// always gives s back.
func encodeHeaderValue(s string) string {
	plain := s != "" && (s[0] != ' ' && s[0] != '\t' && s[len(s)-1] != ' ' && s[len(s)-1] != '\t' &&
		!strings.HasPrefix(s, b64Prefix))
	for i := 0; plain && i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			plain = false
		}
	}
	if plain {
		return s
	}
	return b64Prefix + base64.StdEncoding.EncodeToString([]byte(s)) + b64Suffix
}

// newSession starts a gateway session for a client. status is the HTTP
// status to answer when it returns nil.
func (p *Proxy) newSession(principal string, stateless bool, version string) (*httpSession, int) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, http.StatusServiceUnavailable
	}
	if len(p.sessions)+len(p.stateless) >= p.maxSess {
		p.mu.Unlock()
		p.ExpireIdle()
		p.mu.Lock()
	}
	if len(p.sessions)+len(p.stateless) >= p.maxSess {
		p.mu.Unlock()
		p.log.Warn("session limit reached; initialize refused")
		return nil, http.StatusServiceUnavailable
	}
	p.sessionsWG.Add(1)
	p.mu.Unlock()
	sopts := SessionOptions{Server: p.server, Principal: principal, ApprovalElicitation: p.elicit, Stateless: stateless}
	if stateless {
		sopts.ListTTL = p.listTTL
	}
	gs, err := p.g.NewSession(sopts)
	if err != nil {
		p.sessionsWG.Done()
		p.log.Error("new session", slog.String("error", err.Error()))
		return nil, http.StatusInternalServerError
	}
	hs := &httpSession{p: p, principal: principal, stateless: stateless, gs: gs, done: make(chan struct{}), lastUsed: p.clock.Now()}
	hs.hub = newHub(hs)
	hs.up = newUpstreamConn(hs, version)
	go func() {
		defer p.sessionsWG.Done()
		defer close(hs.done)
		err := gs.Run(p.ctx, hs.hub, hs.up)
		p.log.LogAttrs(p.ctx, slog.LevelDebug, "session ended", slog.String("session", gs.ID()), slog.String("reason", fmt.Sprint(err)))
		p.forget(hs)
	}()
	return hs, 0
}

// statelessSession returns the principal's stateless-era session,
// starting it on first use.
func (p *Proxy) statelessSession(principal, version string) (*httpSession, int) {
	p.mu.Lock()
	hs := p.stateless[principal]
	p.mu.Unlock()
	if hs != nil {
		hs.up.setVersion(version)
		return hs, 0
	}
	hs, status := p.newSession(principal, true, version)
	if hs == nil {
		return nil, status
	}
	p.mu.Lock()
	if prev := p.stateless[principal]; prev != nil {
		p.mu.Unlock()
		hs.close()
		return prev, 0
	}
	if p.closed {
		p.mu.Unlock()
		hs.close()
		return nil, http.StatusServiceUnavailable
	}
	p.stateless[principal] = hs
	p.mu.Unlock()
	return hs, 0
}

// lookup returns the session with ID sid if it belongs to principal. A
// session of another principal is reported as absent, so that session IDs
// cannot be probed.
func (p *Proxy) lookup(sid, principal string) *httpSession {
	p.mu.Lock()
	hs := p.sessions[sid]
	p.mu.Unlock()
	if hs == nil {
		return nil
	}
	if hs.principal != principal {
		p.log.Warn("session ID presented by another principal; refused", slog.String("principal", principal))
		return nil
	}
	return hs
}

// forget removes an ended session.
func (p *Proxy) forget(hs *httpSession) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sid := hs.sessionID(); sid != "" && p.sessions[sid] == hs {
		delete(p.sessions, sid)
	}
	if hs.stateless && p.stateless[hs.principal] == hs {
		delete(p.stateless, hs.principal)
	}
}

// register makes an initialized session reachable under its ID.
func (p *Proxy) register(hs *httpSession) string {
	sid := hs.up.sessionID()
	if sid == "" {
		// The upstream keeps no sessions: the proxy issues the ID.
		var b [16]byte
		_, _ = rand.Read(b[:])
		sid = "agentos-" + hex.EncodeToString(b[:])
	}
	hs.mu.Lock()
	hs.sid = sid
	hs.mu.Unlock()
	p.mu.Lock()
	p.sessions[sid] = hs
	p.mu.Unlock()
	return sid
}

// acceptsSSE reports whether the client accepts an event stream.
func acceptsSSE(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		if mt == contentSSE || mt == "*/*" {
			return true
		}
	}
	return false
}

// deliver hands one client message to a session and answers the HTTP
// request: 202 for a notification or response, else the stream of
// messages the request causes, ending with its response.
func (p *Proxy) deliver(w http.ResponseWriter, r *http.Request, hs *httpSession, msg jsonrpc.Message, body []byte, initialize bool) {
	defer hs.use()()
	ctx := r.Context()
	req, ok := msg.(*jsonrpc.Request)
	if !ok || !req.IsCall() {
		if !hs.hub.push(ctx, body) {
			http.Error(w, "Not Found: the session ended", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	k := keyOf(req.ID)
	sse := acceptsSSE(r)
	var log *replayLog
	if sse && !hs.stateless {
		log = hs.hub.log // JSON answers and stateless streams are not resumable
	}
	st := newStream(hs.hub.nextNum.Add(1), log)
	st.events = sse
	if !hs.hub.register(k, st) {
		jsonRPCError(w, http.StatusBadRequest, req.ID, jsonrpc.CodeInvalidRequest, "a request with this ID is already in flight")
		return
	}
	const gen = 1 // the stream's first attachment is this response
	defer hs.hub.release(k, st, gen)
	if !hs.hub.push(ctx, body) {
		if initialize {
			hs.close()
		}
		http.Error(w, "Not Found: the session ended", http.StatusNotFound)
		return
	}
	flusher, _ := w.(http.Flusher)
	started := false
	start := func() {
		started = true
		if sse {
			w.Header().Set("Content-Type", contentSSE)
			w.Header().Set("Cache-Control", "no-cache")
		} else {
			w.Header().Set("Content-Type", contentJSON)
		}
		w.WriteHeader(http.StatusOK)
		if log != nil && hs.up.primes() {
			// A priming event (an ID, no message): the client can resume
			// the stream even before its first message.
			_ = writePriming(w, st.primingID())
		}
		if sse && flusher != nil {
			flusher.Flush()
		}
	}
	if !initialize && log != nil && hs.up.primes() {
		start()
	}
	for {
		it, ok := st.next(ctx, gen)
		if !ok {
			if initialize {
				hs.close()
			}
			if !started && ctx.Err() == nil {
				http.Error(w, "Bad Gateway: the session ended before the server answered", http.StatusBadGateway)
			}
			return
		}
		if !started {
			if initialize {
				if it.final && isErrorResponse(it.b) {
					defer hs.close()
				} else {
					w.Header().Set(headerSessionID, p.register(hs))
				}
			}
			start()
		}
		if sse {
			if err := writeSSE(w, it.id, it.b); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		} else if it.final {
			w.Write(it.b)
		}
		if it.final {
			return
		}
	}
}

func isErrorResponse(b []byte) bool {
	m, err := decodeMessage(b)
	if err != nil {
		return true
	}
	r, ok := m.(*jsonrpc.Response)
	return !ok || r.Error != nil
}

func (p *Proxy) serveGet(w http.ResponseWriter, r *http.Request, principal string) {
	if r.Header.Get(headerProtocol) >= ProtocolStateless {
		w.Header().Set("Allow", "POST")
		http.Error(w, "Method Not Allowed: the stateless protocol has no standalone stream", http.StatusMethodNotAllowed)
		return
	}
	if !acceptsSSE(r) {
		http.Error(w, "Not Acceptable: GET opens an event stream", http.StatusNotAcceptable)
		return
	}
	hs := p.lookup(r.Header.Get(headerSessionID), principal)
	if hs == nil {
		http.Error(w, "Not Found: no such session", http.StatusNotFound)
		return
	}
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		p.resume(w, r, hs, last)
		return
	}
	st := hs.hub.get
	gen, _, _, ok := st.attach(false, 0, true)
	if !ok {
		http.Error(w, "Conflict: a standalone stream is already open for this session", http.StatusConflict)
		return
	}
	defer st.detach(gen)
	hs.up.startGet()
	w.Header().Set("Content-Type", contentSSE)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if hs.up.primes() {
		_ = writePriming(w, st.primingID())
	}
	p.pump(w, r.Context(), st, gen)
}

// pump writes a stream's events to a response until the stream ends,
// another response takes it over, or the client goes away.
func (p *Proxy) pump(w http.ResponseWriter, ctx context.Context, st *stream, gen uint64) {
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	for {
		it, ok := st.next(ctx, gen)
		if !ok {
			return
		}
		if err := writeSSE(w, it.id, it.b); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// resume answers a GET with Last-Event-ID: the events recorded on that
// stream after that ID (as they were sent, after screening), then, while
// the stream is live, what comes next on it. An ID the proxy did not
// issue gets 400.
func (p *Proxy) resume(w http.ResponseWriter, r *http.Request, hs *httpSession, last string) {
	num, seq, err := parseEventID(last)
	if err != nil {
		http.Error(w, "Bad Request: "+err.Error(), http.StatusBadRequest)
		return
	}
	st := hs.hub.stream(num)
	var gen uint64
	var replay []item
	var gap bool
	if st != nil {
		gen, replay, gap, _ = st.attach(true, seq, false)
	} else {
		// The stream ended (its response was sent): what the buffer holds.
		replay, _ = hs.hub.log.after(num, seq, seq)
	}
	if gap {
		p.log.LogAttrs(r.Context(), slog.LevelWarn, "resumed stream lost events evicted from the replay buffer",
			slog.String("session", hs.gs.ID()), slog.String("last_event_id", bound(last, 64)))
	}
	w.Header().Set("Content-Type", contentSSE)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	for _, it := range replay {
		if err := writeSSE(w, it.id, it.b); err != nil {
			if st != nil {
				st.detach(gen)
			}
			return
		}
	}
	if st == nil {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return
	}
	defer st.detach(gen)
	if num == 0 {
		hs.up.startGet()
	}
	p.pump(w, r.Context(), st, gen)
}

// writePriming writes an event holding only an ID.
func writePriming(w io.Writer, id string) error {
	_, err := io.WriteString(w, "id: "+id+"\ndata: \n\n")
	return err
}

func (p *Proxy) serveDelete(w http.ResponseWriter, r *http.Request, principal string) {
	if r.Header.Get(headerProtocol) >= ProtocolStateless {
		w.Header().Set("Allow", "POST")
		http.Error(w, "Method Not Allowed: the stateless protocol has no sessions", http.StatusMethodNotAllowed)
		return
	}
	hs := p.lookup(r.Header.Get(headerSessionID), principal)
	if hs == nil {
		http.Error(w, "Not Found: no such session", http.StatusNotFound)
		return
	}
	status := hs.up.deleteUpstream(r.Context())
	hs.close()
	<-hs.done
	w.WriteHeader(status)
}

// httpSession is one client session of the proxy: a gateway Session whose
// client side is the hub of HTTP requests and whose server side is the
// upstream HTTP connection.
type httpSession struct {
	p         *Proxy
	principal string
	stateless bool
	gs        *Session
	hub       *hubConn
	up        *upstreamConn
	done      chan struct{} // closed when the session's Run returns

	mu  sync.Mutex
	sid string // guarded by mu
	// lastUsed is when a POST last began or ended; active counts the POSTs
	// in flight. Guarded by mu.
	lastUsed time.Time
	active   int
}

// use marks the session in use until the returned func is called.
func (hs *httpSession) use() (done func()) {
	hs.mu.Lock()
	hs.active++
	hs.lastUsed = hs.p.clock.Now()
	hs.mu.Unlock()
	return func() {
		hs.mu.Lock()
		hs.active--
		hs.lastUsed = hs.p.clock.Now()
		hs.mu.Unlock()
	}
}

// idleSince reports how long the session has been idle at now; 0 while
// it is in use.
func (hs *httpSession) idleSince(now time.Time) time.Duration {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.active > 0 {
		return 0
	}
	return now.Sub(hs.lastUsed)
}

func (hs *httpSession) sessionID() string {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.sid
}

// close ends the session (Run then closes both sides).
func (hs *httpSession) close() { hs.hub.Close() }

// item is one message queued for an HTTP response stream.
type item struct {
	b     []byte
	id    string // the SSE event ID; "" on a stream without IDs
	final bool   // the response that ends a POST's stream
}

// stream queues the messages for one HTTP response (a POST's event
// stream or the standalone GET stream). A stream with a replay log numbers
// its events and records them there, so that a client whose connection
// broke can resume it: the stream is then detached (messages are only
// recorded) until a GET with Last-Event-ID attaches a new response to it.
type stream struct {
	num uint64
	log *replayLog // nil: no event IDs, no resumption
	sig chan struct{}
	// events: the stream is an event stream, which carries messages
	// before the response (a JSON answer carries only the response). Set
	// before the stream is registered.
	events bool

	mu       sync.Mutex
	seq      uint64 // the last event's number; guarded by mu
	q        []item // guarded by mu
	attached bool   // an HTTP response writes the stream; guarded by mu
	gen      uint64 // the attachment's generation; guarded by mu
	closed   bool   // no more messages; guarded by mu
}

// newStream returns a stream attached to the response that creates it
// (generation 1).
func newStream(num uint64, log *replayLog) *stream {
	return &stream{num: num, log: log, sig: make(chan struct{}, 1), attached: true, gen: 1}
}

// push queues b; false when the stream is closed. A stream without a log
// that falls too far behind is closed; one with a log is detached (its
// client may resume it).
func (st *stream) push(it item) bool {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return false
	}
	if st.log != nil {
		st.seq++
		it.id = eventID(st.num, st.seq)
		st.log.add(st.num, st.seq, it.b)
	}
	if it.final {
		st.closed = true
	}
	switch {
	case !st.attached:
	case len(st.q) >= maxStreamQueue && st.log == nil:
		st.closed = true
		st.mu.Unlock()
		st.signal()
		return false
	case len(st.q) >= maxStreamQueue:
		st.detachLocked()
	default:
		st.q = append(st.q, it)
	}
	st.mu.Unlock()
	st.signal()
	return true
}

func (st *stream) signal() {
	select {
	case st.sig <- struct{}{}:
	default:
	}
}

func (st *stream) close() {
	st.mu.Lock()
	st.closed = true
	st.mu.Unlock()
	st.signal()
}

// detach ends generation gen's hold on the stream (its response ended);
// false when the stream has no log, and cannot be resumed.
func (st *stream) detach(gen uint64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.log == nil {
		return false
	}
	if st.gen == gen {
		st.detachLocked()
	}
	return true
}

func (st *stream) detachLocked() {
	st.attached = false
	st.q = nil
	st.gen++
}

// attach makes a new response write the stream, ending any previous
// one's hold: it returns the new generation and, when resuming, the
// recorded events after seq (gap: some were evicted). exclusive refuses
// when a response is attached already.
func (st *stream) attach(resume bool, seq uint64, exclusive bool) (gen uint64, replay []item, gap, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if exclusive && st.attached {
		return 0, nil, false, false
	}
	if resume && st.log != nil {
		replay, gap = st.log.after(st.num, seq, st.seq)
	}
	st.gen++
	st.attached, st.q = true, nil
	st.signal()
	return st.gen, replay, gap, true
}

// primingID is the ID of a priming event for the stream (the current
// position), so that a client can resume before the first message.
func (st *stream) primingID() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return eventID(st.num, st.seq)
}

// next returns the next queued message of generation gen; false when the
// stream is closed and drained, another response took it over, or ctx
// ends.
func (st *stream) next(ctx context.Context, gen uint64) (item, bool) {
	for {
		st.mu.Lock()
		if st.gen != gen || !st.attached {
			st.mu.Unlock()
			st.signal() // the signal may have been meant for the new writer
			return item{}, false
		}
		if len(st.q) > 0 {
			it := st.q[0]
			st.q[0] = item{}
			st.q = st.q[1:]
			st.mu.Unlock()
			return it, true
		}
		closed := st.closed
		st.mu.Unlock()
		if closed {
			return item{}, false
		}
		select {
		case <-st.sig:
		case <-ctx.Done():
			return item{}, false
		}
	}
}

// hubConn is the client side of an HTTP session's gateway Session: Read
// returns what clients POST, Write routes each message to the HTTP
// response it belongs to.
type hubConn struct {
	hs   *httpSession
	in   chan []byte
	done chan struct{}
	once sync.Once

	// log holds the events sent on the session's streams for resumption.
	log *replayLog
	// get is the standalone stream (number 0): it lives as long as the
	// session, attached while a GET response writes it.
	get *stream
	// nextNum numbers the POST streams.
	nextNum atomic.Uint64

	mu sync.Mutex
	// waiters are the POST streams by request ID, until their response
	// was sent (a detached one waits for it too, for resumption). Guarded
	// by mu.
	waiters map[idKey]*stream
	// streams are the resumable POST streams in waiters, by number.
	// Guarded by mu.
	streams map[uint64]*stream
	// origin is the client request whose upstream stream carried the
	// message the session is processing; originOK says whether there is
	// one. Guarded by mu.
	origin   idKey
	originOK bool
}

func newHub(hs *httpSession) *hubConn {
	log := newReplayLog(hs.p.replayEvents, hs.p.replayBytes)
	get := newStream(0, log)
	get.attached, get.gen = false, 0
	return &hubConn{hs: hs, in: make(chan []byte, 64), done: make(chan struct{}), log: log, get: get,
		waiters: make(map[idKey]*stream), streams: make(map[uint64]*stream)}
}

// push hands a client message to the session; false when it ended.
func (h *hubConn) push(ctx context.Context, b []byte) bool {
	select {
	case h.in <- b:
		return true
	case <-h.done:
		return false
	case <-ctx.Done():
		return false
	}
}

func (h *hubConn) register(k idKey, st *stream) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.waiters[k]; dup {
		return false
	}
	select {
	case <-h.done:
		return false
	default:
	}
	h.waiters[k] = st
	if st.log != nil {
		h.streams[st.num] = st
	}
	return true
}

// release ends the hold of a POST response (generation gen) on its
// stream. A resumable stream whose response is still to come stays
// registered, detached, so that what the session sends on it is recorded
// for a resuming client; any other is unregistered and closed.
func (h *hubConn) release(k idKey, st *stream, gen uint64) {
	st.mu.Lock()
	finished := st.closed
	st.mu.Unlock()
	if !finished && st.detach(gen) {
		return
	}
	h.forget(k, st)
	st.close()
}

// forget unregisters a POST stream.
func (h *hubConn) forget(k idKey, st *stream) {
	h.mu.Lock()
	if h.waiters[k] == st {
		delete(h.waiters, k)
	}
	if h.streams[st.num] == st {
		delete(h.streams, st.num)
	}
	h.mu.Unlock()
}

// stream returns the resumable stream of number num, if it is live.
func (h *hubConn) stream(num uint64) *stream {
	if num == 0 {
		return h.get
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams[num]
}

// setOrigin records the upstream stream of the message the session is
// about to process.
func (h *hubConn) setOrigin(k idKey, ok bool) {
	h.mu.Lock()
	h.origin, h.originOK = k, ok
	h.mu.Unlock()
}

// Read implements Conn.
func (h *hubConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case b := <-h.in:
		return b, nil
	case <-h.done:
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Write implements Conn: a response goes to the POST that asked; any other
// message to the POST whose upstream stream carried it, else to the
// standalone stream; with neither open it is dropped (and logged).
func (h *hubConn) Write(_ context.Context, b []byte) error {
	select {
	case <-h.done:
		return ErrClosed
	default:
	}
	m, err := decodeMessage(b)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	h.mu.Lock()
	var st *stream
	final := false
	var k idKey
	if r, ok := m.(*jsonrpc.Response); ok {
		k = keyOf(r.ID)
		st, final = h.waiters[k], true
	} else {
		if h.originOK {
			st = h.waiters[h.origin]
		}
		if st == nil {
			st = h.get
		}
	}
	h.mu.Unlock()
	if st == nil || !st.push(item{b: b, final: final}) {
		h.hs.p.log.LogAttrs(context.Background(), slog.LevelDebug, "no open stream for a message to the client; dropped")
	}
	if final && st != nil {
		h.forget(k, st)
	}
	return nil
}

// WriteRelated implements relatedConn: b goes on the response stream of
// the client request id, when that stream is an event stream still
// waiting for its response (a detached resumable one records b for a
// resuming client).
func (h *hubConn) WriteRelated(_ context.Context, id jsonrpc.ID, b []byte) (bool, error) {
	select {
	case <-h.done:
		return false, ErrClosed
	default:
	}
	h.mu.Lock()
	st := h.waiters[keyOf(id)]
	h.mu.Unlock()
	if st == nil || !st.events {
		return false, nil
	}
	return st.push(item{b: b}), nil
}

var _ relatedConn = (*hubConn)(nil)

// CanRelate implements relatedConn.
func (h *hubConn) CanRelate(id jsonrpc.ID) bool {
	h.mu.Lock()
	st := h.waiters[keyOf(id)]
	h.mu.Unlock()
	if st == nil || !st.events {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return !st.closed
}

// Close implements Conn: it ends the session's client side and closes
// every open stream.
func (h *hubConn) Close() error {
	h.once.Do(func() {
		close(h.done)
		h.mu.Lock()
		for _, st := range h.waiters {
			st.close()
		}
		h.get.close()
		h.mu.Unlock()
	})
	return nil
}

// originMsg is a message from upstream with the stream that carried it.
type originMsg struct {
	b      []byte
	origin idKey
	ok     bool
}

// upstreamConn is the server side of an HTTP session's gateway Session:
// Write POSTs each message upstream (in its own goroutine, so that a long
// stream never blocks the session), Read returns what the upstream
// answers on any of its streams.
type upstreamConn struct {
	hs     *httpSession
	in     chan originMsg
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once

	mu         sync.Mutex
	sid        string // the upstream's session ID; guarded by mu
	version    string // the protocol version in use; guarded by mu
	getRunning bool   // guarded by mu
}

func newUpstreamConn(hs *httpSession, version string) *upstreamConn {
	u := &upstreamConn{hs: hs, in: make(chan originMsg, 64), version: version}
	u.ctx, u.cancel = context.WithCancel(hs.p.ctx)
	return u
}

func (u *upstreamConn) sessionID() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sid
}

// protocolPriming is the first protocol version whose clients expect a
// priming event (an ID without a message) at the start of a stream.
const protocolPriming = "2025-11-25"

// primes reports whether the session's protocol version has priming
// events; older clients may take an event without a message for an error.
func (u *upstreamConn) primes() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.version >= protocolPriming && u.version < ProtocolStateless
}

func (u *upstreamConn) setVersion(v string) {
	u.mu.Lock()
	u.version = v
	u.mu.Unlock()
}

// Read implements Conn.
func (u *upstreamConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case m := <-u.in:
		u.hs.hub.setOrigin(m.origin, m.ok)
		return m.b, nil
	case <-u.ctx.Done():
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Write implements Conn.
func (u *upstreamConn) Write(ctx context.Context, b []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if u.ctx.Err() != nil {
		return ErrClosed
	}
	m, err := decodeMessage(b)
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	go u.post(m, b)
	return nil
}

// Close implements Conn.
func (u *upstreamConn) Close() error {
	u.once.Do(u.cancel)
	return nil
}

// deliver queues a message from upstream for the session.
func (u *upstreamConn) deliver(om originMsg) {
	select {
	case u.in <- om:
	case <-u.ctx.Done():
	}
}

// headers sets what every upstream request carries: never anything of the
// client's.
func (u *upstreamConn) headers(h http.Header) (version string) {
	for k, vs := range u.hs.p.upHeader {
		h[k] = slices.Clone(vs)
	}
	u.mu.Lock()
	sid, version := u.sid, u.version
	u.mu.Unlock()
	if sid != "" {
		h.Set(headerSessionID, sid)
	}
	if version != "" {
		h.Set(headerProtocol, version)
	}
	return version
}

// post sends one message upstream and delivers what comes back.
func (u *upstreamConn) post(m jsonrpc.Message, body []byte) {
	req, _ := m.(*jsonrpc.Request)
	var origin idKey
	isCall := req != nil && req.IsCall()
	if isCall {
		origin = keyOf(req.ID)
	}
	fail := func(reason string) {
		if isCall {
			u.deliver(originMsg{b: denialResponse(req.ID, &DenialError{Stage: StageUpstream, Reason: reason}, false), origin: origin, ok: true})
		} else {
			u.hs.p.log.LogAttrs(u.ctx, slog.LevelWarn, "upstream message failed", slog.String("reason", reason))
		}
	}
	hreq, err := http.NewRequestWithContext(u.ctx, http.MethodPost, u.hs.p.upstream, nil)
	if err != nil {
		fail("the upstream URL is unusable")
		return
	}
	version := u.headers(hreq.Header)
	if req != nil && version >= ProtocolStateless {
		if isCall && len(metaOf(req.Params)) == 0 && keyOf(req.ID).reserved() {
			// The gateway's own request: give it the per-request metadata
			// the stateless protocol requires.
			if nb, err := withMeta(req, version); err == nil {
				body = nb
			}
		}
		hreq.Header.Set(headerMethod, req.Method)
		if name, want, ok := nameOf(req.Method, req.Params); want && ok {
			hreq.Header.Set(headerName, encodeHeaderValue(name))
		}
	}
	hreq.Body = io.NopCloser(bytes.NewReader(body))
	hreq.ContentLength = int64(len(body))
	hreq.Header.Set("Content-Type", contentJSON)
	hreq.Header.Set("Accept", contentJSON+", "+contentSSE)
	resp, err := u.hs.p.client.Do(hreq)
	if err != nil {
		if u.ctx.Err() == nil {
			fail("the server is unreachable")
		}
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusNoContent {
		if isCall {
			fail("the server accepted the request without answering it")
		}
		return
	}
	if resp.StatusCode/100 != 2 {
		if resp.StatusCode == http.StatusNotFound && u.sessionID() != "" {
			// The upstream forgot the session: so does the proxy.
			u.hs.p.log.LogAttrs(u.ctx, slog.LevelInfo, "the server ended the session")
			defer u.hs.close()
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, u.hs.p.maxBody))
		if isCall {
			if rm, err := decodeMessage(b); err == nil {
				if r, ok := rm.(*jsonrpc.Response); ok && keyOf(r.ID) == origin && r.Error != nil {
					u.deliver(originMsg{b: b, origin: origin, ok: true})
					return
				}
			}
		}
		fail(fmt.Sprintf("the server answered HTTP %d", resp.StatusCode))
		return
	}
	if isCall && req.Method == methodInitialize {
		if sid := resp.Header.Get(headerSessionID); sid != "" {
			u.mu.Lock()
			u.sid = sid
			u.mu.Unlock()
		}
	}
	got := false
	handle := func(b []byte) {
		if isCall && req.Method == methodInitialize {
			u.noteVersion(b)
		}
		if rm, err := decodeMessage(b); err == nil {
			if r, ok := rm.(*jsonrpc.Response); ok && keyOf(r.ID) == origin {
				got = true
			}
		}
		u.deliver(originMsg{b: b, origin: origin, ok: isCall})
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch ct {
	case contentSSE:
		last := u.readSSE(resp.Body, handle)
		// A stream that broke before the answer is resumed upstream, when
		// the server gave event IDs.
		for try := 0; isCall && !got && last != "" && try < maxUpstreamResumes && u.ctx.Err() == nil; try++ {
			var ok bool
			if last, ok = u.resumeUpstream(last, handle); !ok {
				break
			}
		}
	case contentJSON:
		b, err := io.ReadAll(io.LimitReader(resp.Body, u.hs.p.maxBody+1))
		if err != nil || int64(len(b)) > u.hs.p.maxBody {
			break
		}
		handle(b)
	}
	if isCall && !got && u.ctx.Err() == nil {
		fail("the server's stream ended without an answer")
	}
}

// maxUpstreamResumes bounds the resumptions of one upstream stream that
// keeps breaking without progress.
const maxUpstreamResumes = 3

// readSSE reads an upstream event stream to its end, handing each message
// to handle, and returns the last event ID it set.
func (u *upstreamConn) readSSE(body io.Reader, handle func([]byte)) string {
	sr := NewSSEReader(body, int(u.hs.p.maxBody))
	for {
		data, _, _, err := sr.Next()
		if err != nil {
			return sr.LastID()
		}
		if len(bytes.TrimSpace(data)) > 0 {
			handle(data)
		}
	}
}

// resumeUpstream resumes an upstream stream after event last (GET with
// Last-Event-ID) and reads it to its end. ok is false when the server
// refuses to resume.
func (u *upstreamConn) resumeUpstream(last string, handle func([]byte)) (next string, ok bool) {
	hreq, err := http.NewRequestWithContext(u.ctx, http.MethodGet, u.hs.p.upstream, nil)
	if err != nil {
		return "", false
	}
	u.headers(hreq.Header)
	hreq.Header.Set("Accept", contentSSE)
	hreq.Header.Set("Last-Event-ID", last)
	resp, err := u.hs.p.client.Do(hreq)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); resp.StatusCode != http.StatusOK || ct != contentSSE {
		return "", false
	}
	next = u.readSSE(resp.Body, handle)
	if next == "" {
		next = last
	}
	return next, true
}

// noteVersion records the protocol version an initialize result agreed.
func (u *upstreamConn) noteVersion(b []byte) {
	var r struct {
		Result struct {
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"result"`
	}
	if json.Unmarshal(b, &r) == nil && r.Result.ProtocolVersion != "" {
		u.setVersion(r.Result.ProtocolVersion)
	}
}

// withMeta adds the per-request protocol metadata to a request.
func withMeta(req *jsonrpc.Request, version string) ([]byte, error) {
	params := map[string]any{}
	if len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &params); err != nil {
			return nil, err
		}
	}
	params["_meta"] = map[string]any{metaProtocol: version, "io.modelcontextprotocol/clientCapabilities": map[string]any{}}
	pb, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	return jsonrpc.EncodeMessage(&jsonrpc.Request{ID: req.ID, Method: req.Method, Params: pb})
}

// startGet opens the upstream standalone stream once, delivering what it
// carries to the session.
func (u *upstreamConn) startGet() {
	u.mu.Lock()
	if u.getRunning || u.sid == "" {
		u.mu.Unlock()
		return
	}
	u.getRunning = true
	u.mu.Unlock()
	go func() {
		defer func() {
			u.mu.Lock()
			u.getRunning = false
			u.mu.Unlock()
		}()
		hreq, err := http.NewRequestWithContext(u.ctx, http.MethodGet, u.hs.p.upstream, nil)
		if err != nil {
			return
		}
		u.headers(hreq.Header)
		hreq.Header.Set("Accept", contentSSE)
		resp, err := u.hs.p.client.Do(hreq)
		if err != nil {
			return
		}
		handle := func(b []byte) { u.deliver(originMsg{b: b}) }
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return // the server offers no standalone stream (405)
		}
		last := u.readSSE(resp.Body, handle)
		resp.Body.Close()
		// The stream broke: resume it when the server gave event IDs.
		for try := 0; last != "" && try < maxUpstreamResumes && u.ctx.Err() == nil; try++ {
			next, ok := u.resumeUpstream(last, handle)
			if !ok {
				return
			}
			if next != last {
				try = -1 // progress: the bound counts resumptions in a row without any
			}
			last = next
		}
	}()
}

// deleteUpstream ends the upstream session; it returns the status to
// answer the client with.
func (u *upstreamConn) deleteUpstream(ctx context.Context) int {
	if u.sessionID() == "" {
		return http.StatusNoContent
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.hs.p.upstream, nil)
	if err != nil {
		return http.StatusNoContent
	}
	u.headers(hreq.Header)
	resp, err := u.hs.p.client.Do(hreq)
	if err != nil {
		return http.StatusNoContent
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode
	}
	return http.StatusNoContent
}
