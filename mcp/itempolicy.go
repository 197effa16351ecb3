package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
)

// Policy names of the prompt and resource actions. The policy decides a
// resources/read as the tool ToolResourcesRead with arguments {uri,
// server}, and a prompts/get as the tool ToolPromptsGet with arguments
// {name, arguments, server}. MCP tool names are made of [A-Za-z0-9_.-],
// so a name holding '/' cannot be a real tool's: the gateway hides a
// listed tool whose name starts with "resources/" or "prompts/" all the
// same (rule reserved_name), so that no server can borrow these rules.
const (
	ToolResourcesRead = "resources/read"
	ToolPromptsGet    = "prompts/get"
)

// reservedToolName reports whether an MCP tool name lies in the namespace
// of the prompt and resource actions.
func reservedToolName(name string) bool {
	return strings.HasPrefix(name, "resources/") || strings.HasPrefix(name, "prompts/")
}

// itemAction is a prompts/get or resources/read as the policy and the
// kernel see it.
type itemAction struct {
	// tool is ToolResourcesRead or ToolPromptsGet.
	tool string
	// args are the kernel arguments (a JSON object).
	args json.RawMessage
	// uri is the resource's URI, checked in its canonical form too; ""
	// for prompts and resource templates.
	uri string
}

// readAction is the action of reading uri from server.
func readAction(server, uri string) (itemAction, error) {
	b, err := json.Marshal(struct {
		URI    string `json:"uri"`
		Server string `json:"server"`
	}{uri, server})
	return itemAction{tool: ToolResourcesRead, args: b, uri: uri}, err
}

// templateAction is the action a listed resource template is decided
// with: a read of the template text itself, flagged with template: true.
func templateAction(server, tmpl string) (itemAction, error) {
	b, err := json.Marshal(struct {
		URI      string `json:"uri"`
		Server   string `json:"server"`
		Template bool   `json:"template"`
	}{tmpl, server, true})
	return itemAction{tool: ToolResourcesRead, args: b}, err
}

// promptAction is the action of getting prompt name from server with the
// prompt arguments given (nil or JSON null: none, an empty object).
func promptAction(server, name string, arguments json.RawMessage) (itemAction, error) {
	if len(arguments) == 0 || string(arguments) == "null" {
		arguments = json.RawMessage("{}")
	}
	b, err := json.Marshal(struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
		Server    string          `json:"server"`
	}{name, arguments, server})
	return itemAction{tool: ToolPromptsGet, args: b}, err
}

// listedAction is the action a listed item of kind k (prompts,
// resources, templates) is decided with.
func (s *Session) listedAction(k listKind, name string) (itemAction, error) {
	switch k {
	case kindPrompts:
		return promptAction(s.server, name, nil)
	case kindTemplates:
		return templateAction(s.server, name)
	}
	return readAction(s.server, name)
}

// ruleDecided reports whether a decision was made by the policy rather
// than by its default: a rule or an external backend decided, or the
// evaluation failed. Only such decisions govern prompts and resources;
// defaults.action was written for tools and leaves them as they were.
func ruleDecided(d policy.Decision) bool {
	return d.Rule != "" || d.Backend != "" || d.Error
}

// decideItem asks the gateway's policy about act, with the dry-run input
// in (its tool_name, action and args are overwritten). It returns the
// decision and whether it governs the action (ruleDecided); deny is set
// when the gateway itself must refuse: the arguments cannot be read, or
// the resource's URI decides otherwise in its canonical form. in must not
// be nil.
func (s *Session) decideItem(ctx context.Context, in map[string]any, act itemAction) (d policy.Decision, governed bool, deny *DenialError) {
	args, err := decodeObject(act.args)
	if err != nil {
		return d, false, &DenialError{Stage: StagePolicy, Reason: "the " + act.tool + " arguments cannot be decided: " + bound(err.Error(), 200), Err: err}
	}
	in["args"] = args
	d = s.g.dryRun(ctx, in, act.tool)
	if act.uri == "" {
		return d, ruleDecided(d), nil
	}
	canon := canonicalURI(act.uri)
	if canon == act.uri {
		return d, ruleDecided(d), nil
	}
	cargs := make(map[string]any, len(args))
	for k, v := range args {
		cargs[k] = v
	}
	cargs["uri"] = canon
	in["args"] = cargs
	cd := s.g.dryRun(ctx, in, act.tool)
	if sameDecision(d, cd) {
		return d, ruleDecided(d), nil
	}
	rule := cd.Rule
	if rule == "" {
		rule = d.Rule
	}
	reason := "the URI " + strconv.Quote(bound(act.uri, 200)) + " reads as " + strconv.Quote(bound(canon, 200)) +
		" once its dot segments, encoded separators and scheme case are resolved, and the policy decides the two differently"
	if rule != "" {
		reason += " (rule " + strconv.Quote(rule) + ")"
	}
	return d, true, &DenialError{Stage: StagePolicy, Rule: "ambiguous_uri", Reason: reason + "; denied (fail closed)"}
}

// sameDecision reports whether two decisions come from the same place
// and say the same.
func sameDecision(a, b policy.Decision) bool {
	return a.Action == b.Action && a.Allowed == b.Allowed && a.Rule == b.Rule && a.Backend == b.Backend && a.Error == b.Error
}

// listedItemDenial decides whether a listed prompt, resource or template
// is hidden by policy: when a rule (not the default) denies getting or
// reading it with empty arguments, or its URI is ambiguous (see
// decideItem). nil: it stays listed.
func (s *Session) listedItemDenial(ctx context.Context, in map[string]any, k listKind, name string) *DenialError {
	act, err := s.listedAction(k, name)
	if err != nil {
		return &DenialError{Stage: StagePolicy, Reason: "the " + k.noun + " cannot be decided by the policy (fail closed)", Err: err}
	}
	d, governed, deny := s.decideItem(ctx, in, act)
	switch {
	case deny != nil:
		return deny
	case !governed || !hidden(d):
		return nil
	}
	reason := d.Reason
	if reason == "" {
		reason = "denied by policy"
	}
	return &DenialError{Stage: StagePolicy, Rule: d.Rule, Reason: reason}
}

// decodeObject decodes a JSON object as the kernel decodes tool
// arguments (numbers as json.Number), so that a dry run sees the input
// the kernel will build.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// canonicalURI is the form of a URI a policy about URI prefixes must
// see: "%2e", "%2f", "%5c" and "\" decoded to '.' and '/', the scheme in
// lower case, and the path (after any authority, before any query or
// fragment) cleaned of dot segments and empty segments, keeping a final
// '/'; applied until the form is stable. A server resolving
// "file:///project/../home" reads /home, not /project.
func canonicalURI(uri string) string {
	c := canonicalOnce(uri)
	for range 4 {
		next := canonicalOnce(c)
		if next == c {
			break
		}
		c = next
	}
	return c
}

// canonicalOnce is one pass of canonicalURI.
func canonicalOnce(uri string) string {
	u := decodeSeparators(uri)
	scheme, rest := "", u
	if i := strings.IndexByte(u, ':'); i > 0 && validScheme(u[:i]) {
		scheme, rest = strings.ToLower(u[:i])+":", u[i+1:]
	}
	authority := ""
	if strings.HasPrefix(rest, "//") {
		end := strings.IndexAny(rest[2:], "/?#")
		if end < 0 {
			return scheme + rest
		}
		authority, rest = rest[:2+end], rest[2+end:]
	}
	p, tail := rest, ""
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		p, tail = rest[:i], rest[i:]
	}
	if p != "" {
		slash := strings.HasSuffix(p, "/")
		p = path.Clean(p)
		switch {
		case p == ".":
			p = ""
		case slash && p != "/":
			p += "/"
		}
	}
	return scheme + authority + p + tail
}

// decodeSeparators decodes the escapes of '.', '/' and '\' and turns '\'
// into '/'; other escapes stay.
func decodeSeparators(s string) string {
	if !strings.ContainsAny(s, "%\\") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			switch strings.ToLower(s[i+1 : i+3]) {
			case "2e":
				b.WriteByte('.')
				i += 2
				continue
			case "2f", "5c":
				b.WriteByte('/')
				i += 2
				continue
			}
		}
		if c == '\\' {
			c = '/'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// validScheme reports whether s is an RFC 3986 scheme.
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// admitItem decides a prompts/get or resources/read that passed the
// listing checks. Without a policy, or when no rule decides it, it is
// forwarded as it always was; when a rule (or backend) decides it, it
// runs through the kernel pipeline like a tools/call (runItem); a gateway
// refusal is audited and answered.
func (s *Session) admitItem(ctx context.Context, m *jsonrpc.Request, raw []byte, k idKey, p *pending, act itemAction) {
	if s.g.policy == nil {
		s.forwardTracked(ctx, m.ID, raw, k, p)
		return
	}
	_, governed, deny := s.decideItem(ctx, s.g.dryRunInput(s.callCtx), act)
	switch {
	case deny != nil:
		s.denyItem(ctx, m, k, p, deny)
		return
	case !governed:
		s.forwardTracked(ctx, m.ID, raw, k, p)
		return
	}
	if err := s.g.ensureTool(act.tool); err != nil {
		s.denyItem(ctx, m, k, p, &DenialError{Stage: StageKernel,
			Reason: "the kernel cannot govern " + act.tool + ": " + bound(err.Error(), 200), Err: err})
		return
	}
	cctx, cancel := context.WithCancel(ctx)
	c := &call{s: s, id: m.ID, key: k, raw: raw, tool: act.tool, args: act.args, cancel: cancel, resp: make(chan reply, 1)}
	gp := &pending{id: m.ID, method: m.Method, call: c}
	if !s.replaceTracked(k, p, gp) {
		cancel() // the client cancelled it meanwhile
		return
	}
	s.wg.Add(1)
	go s.runItem(cctx, c, gp, m.Method)
}

// replaceTracked swaps the client request in flight under k from old to
// nw; false when k no longer maps to old (the client cancelled it).
func (s *Session) replaceTracked(k idKey, old, nw *pending) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fromClient[k] != old {
		return false
	}
	s.fromClient[k] = nw
	return true
}

// runItem runs a governed prompts/get or resources/read through the
// kernel (policy, approval, rate limits, budgets, audit: the kernel's
// tool_call event) and answers the client with the scanned response.
func (s *Session) runItem(ctx context.Context, c *call, p *pending, method string) {
	defer s.wg.Done()
	defer c.cancel()
	defer s.untrack(c.key, p)
	kctx := context.WithValue(ctx, callKey{}, c)
	_, err := s.g.k.Syscall(kctx, s.g.agentID, kernel.Exec{Tool: c.tool, Args: c.args, Context: s.callCtx})
	if c.byClient.Load() || s.ctx.Err() != nil {
		return // the client gave up on it, or the session ended
	}
	if err == nil && c.response != nil {
		s.screenResult(s.ctx, c.response, c.responseB, method, "")
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
	s.writeClient(s.ctx, denialResponse(c.id, s.denialFor(err), false))
}
