package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp/mcptest"
	"github.com/agentos/agentos/policy"
)

// itemsPolicy denies by default (which must not reach prompts and
// resources), denies a URI prefix, one prompt and the records template.
const itemsPolicy = `version: "1.0"
name: mcp-items
defaults:
  action: deny
rules:
  - name: allow-echo
    condition: {field: tool_name, operator: eq, value: echo}
    action: allow
  - name: no-private-files
    priority: 20
    condition: {field: args.uri, operator: matches, value: '^file:///fixture/private/'}
    action: deny
    message: private fixture files are off limits
  - name: no-memos
    priority: 20
    conditions:
      - {field: tool_name, operator: eq, value: prompts/get}
      - {field: args.name, operator: eq, value: internal_memo}
    action: deny
    message: memos are written by people
  - name: no-mallory
    priority: 20
    condition: {field: args.arguments.name, operator: eq, value: mallory}
    action: deny
    message: not for mallory
  - name: no-records
    priority: 20
    condition: {field: args.uri, operator: matches, value: '^fixture://records/'}
    action: deny
    message: records stay in the inventory
`

// kernelEvents returns the kernel's tool_call events of a tool.
func (e *env) kernelEvents(tool string) []audit.Event {
	var out []audit.Event
	for _, ev := range e.events(audit.KindToolCall) {
		if ev.Tool == tool {
			out = append(out, ev)
		}
	}
	return out
}

// wantItemDenied checks a denial: CodeDenied with the stage and rule.
func wantItemDenied(t *testing.T, what string, err error, stage, rule string) denialData {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want a %s denial", what, stage)
	}
	we, d := wireError(t, err)
	if we.Code != CodeDenied || d.Stage != stage || d.Rule != rule {
		t.Errorf("%s denied with %d %+v, want %d at stage %q with rule %q", what, we.Code, d, CodeDenied, stage, rule)
	}
	return d
}

func TestPolicyGovernsResources(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: itemsPolicy})
	ctx := t.Context()
	res, err := e.cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range res.Resources {
		got[r.URI] = true
	}
	// defaults.action: deny does not hide resources; the rule does.
	if !got[mcptest.ResourceClean] || got[mcptest.ResourcePrivate] || got[mcptest.ResourcePoisoned] {
		t.Fatalf("resources = %v, want %s only", got, mcptest.ResourceClean)
	}
	ev, ok := e.auditedDenials(methodResourcesList)[mcptest.ResourcePrivate]
	if !ok || ev.Decision.Rule != "no-private-files" || !strings.Contains(ev.Decision.Reason, "off limits") {
		t.Errorf("hidden resource audited as %+v (found %v), want a deny naming the rule", ev.Decision, ok)
	}
	var args struct{ Stage, Server string }
	_ = json.Unmarshal(ev.Args, &args)
	if args.Stage != StagePolicy || args.Server != "fixture" {
		t.Errorf("hidden resource audit args = %s, want stage policy and the server", ev.Args)
	}

	tests := []struct {
		name, uri   string
		stage, rule string // "" stage: allowed
		kernel      bool   // decided by the kernel (a tool_call event)
	}{
		{"listed and allowed: not governed", mcptest.ResourceClean, "", "", false},
		{"hidden by policy", mcptest.ResourcePrivate, StagePolicy, "no-private-files", false},
		{"unlisted, denied at read time", "file:///fixture/private/other.txt", StagePolicy, "no-private-files", true},
		{"dot segments", "file:///fixture/readme.txt/../private/plan.txt", StagePolicy, "ambiguous_uri", false},
		{"encoded dot segments", "file:///fixture/%2e%2E/fixture/private/plan.txt", StagePolicy, "ambiguous_uri", false},
		{"scheme case", "FILE:///fixture/private/plan.txt", StagePolicy, "ambiguous_uri", false},
		{"through a template the policy hid", "fixture://records/7", StagePolicy, "no-records", true},
	}
	for _, tt := range tests {
		before := len(e.kernelEvents(ToolResourcesRead))
		rr, err := e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: tt.uri})
		if tt.stage == "" {
			if err != nil || len(rr.Contents) != 1 {
				t.Errorf("%s: read %s = %+v, %v", tt.name, tt.uri, rr, err)
			}
		} else {
			d := wantItemDenied(t, tt.name, err, tt.stage, tt.rule)
			if tt.rule == "ambiguous_uri" && !strings.Contains(d.Reason, "no-private-files") {
				t.Errorf("%s: reason %q does not name the rule the canonical URI meets", tt.name, d.Reason)
			}
		}
		evs := e.kernelEvents(ToolResourcesRead)[before:]
		if tt.kernel != (len(evs) == 1) {
			t.Errorf("%s: %d kernel events, want kernel decision %v", tt.name, len(evs), tt.kernel)
		}
		if tt.kernel && (evs[0].Decision.Rule != tt.rule || evs[0].Decision.Allowed) {
			t.Errorf("%s: kernel event decision %+v, want a denial by %s", tt.name, evs[0].Decision, tt.rule)
		}
	}
	if n := e.fx.Calls(mcptest.ResourcePrivate) + e.fx.Calls(mcptest.TemplateClean); n != 0 {
		t.Errorf("the server served %d denied reads", n)
	}
	// The template whose text the policy denies is hidden from the list.
	tr, err := e.cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range tr.ResourceTemplates {
		if rt.URITemplate == mcptest.TemplateClean {
			t.Error("the template the policy denies is listed")
		}
	}
	if ev := e.auditedDenials(methodTemplatesList)[mcptest.TemplateClean]; ev.Decision.Rule != "no-records" {
		t.Errorf("hidden template audited with rule %q, want no-records", ev.Decision.Rule)
	}
}

func TestPolicyGovernsPrompts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: itemsPolicy})
	ctx := t.Context()
	res, err := e.cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range res.Prompts {
		got[p.Name] = true
	}
	if !got[mcptest.PromptClean] || got[mcptest.PromptMemo] {
		t.Fatalf("prompts = %v, want %s and not %s", got, mcptest.PromptClean, mcptest.PromptMemo)
	}
	if ev := e.auditedDenials(methodPromptsList)[mcptest.PromptMemo]; ev.Decision.Rule != "no-memos" {
		t.Errorf("hidden prompt audited with rule %q, want no-memos", ev.Decision.Rule)
	}
	_, err = e.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcptest.PromptMemo})
	if d := wantItemDenied(t, "prompts/get of the hidden prompt", err, StagePolicy, "no-memos"); !strings.Contains(d.Reason, "written by people") {
		t.Errorf("reason %q lacks the rule's message", d.Reason)
	}
	// The prompt's arguments reach the policy: a rule on them sends the
	// request through the kernel.
	_, err = e.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcptest.PromptClean, Arguments: map[string]string{"name": "mallory"}})
	wantItemDenied(t, "prompts/get for mallory", err, StagePolicy, "no-mallory")
	if evs := e.kernelEvents(ToolPromptsGet); len(evs) != 1 || evs[0].Decision.Rule != "no-mallory" {
		t.Errorf("kernel events for prompts/get = %+v, want one denial by no-mallory", evs)
	}
	if r, err := e.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcptest.PromptClean, Arguments: map[string]string{"name": "alice"}}); err != nil || len(r.Messages) != 1 {
		t.Fatalf("prompts/get for alice = %+v, %v", r, err)
	}
	if n := e.fx.Calls(mcptest.PromptMemo); n != 0 {
		t.Errorf("the server served the denied prompt %d times", n)
	}
	if n := e.fx.Calls(mcptest.PromptClean); n != 1 {
		t.Errorf("the server served the clean prompt %d times, want once (alice)", n)
	}
}

// TestPolicyResourceAllowList: an allow-list of URIs with a catch-all
// deny for resources/read. A template whose text the list does not allow
// is hidden, yet the URIs it expands to are decided one by one.
func TestPolicyResourceAllowList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: `version: "1.0"
name: allow-list
defaults:
  action: allow
rules:
  - name: record-7
    priority: 20
    condition: {field: args.uri, operator: eq, value: "fixture://records/7"}
    action: allow
  - name: no-other-reads
    priority: 10
    match: {tools: [resources/read]}
    action: deny
    message: only record 7 may be read
`})
	ctx := t.Context()
	res, err := e.cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resources) != 0 {
		t.Errorf("listed %d resources, want none", len(res.Resources))
	}
	tr, err := e.cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.ResourceTemplates) != 0 {
		t.Errorf("listed %d templates, want none", len(tr.ResourceTemplates))
	}
	if rr, err := e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "fixture://records/7"}); err != nil || len(rr.Contents) != 1 {
		t.Fatalf("read of the allowed record = %+v, %v", rr, err)
	}
	_, err = e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "fixture://records/8"})
	wantItemDenied(t, "read of another record", err, StagePolicy, "no-other-reads")
	_, err = e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: mcptest.ResourceClean})
	wantItemDenied(t, "read of a hidden resource", err, StagePolicy, "no-other-reads")
	evs := e.kernelEvents(ToolResourcesRead)
	if len(evs) != 2 || !evs[0].Decision.Allowed || evs[0].Decision.Rule != "record-7" || evs[1].Decision.Allowed {
		t.Fatalf("kernel events = %+v, want record-7 allowed then a denial", evs)
	}
	var args struct{ URI, Server string }
	if err := json.Unmarshal(evs[0].Args, &args); err != nil || args.URI != "fixture://records/7" || args.Server != "fixture" {
		t.Errorf("kernel event args = %s, want the URI and the server", evs[0].Args)
	}
	if n := e.fx.Calls(mcptest.TemplateClean); n != 1 {
		t.Errorf("the server read %d records, want 1", n)
	}
}

// TestPolicyDefaultsLeaveItemsAlone: with the built-in default policy and
// with a policy that says nothing about prompts and resources (default
// deny), every prompt and resource the scanner allows stays listed and
// readable.
func TestPolicyDefaultsLeaveItemsAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, policy string
		kernel       bool // reads are governed (a catch-all rule matches them)
	}{
		{"built-in default policy", string(policy.DefaultYAML()), true},
		{"default deny, rules about tools only", `version: "1.0"
name: tools-only
defaults:
  action: deny
rules:
  - name: echo
    condition: {field: tool_name, operator: eq, value: echo}
    action: allow
`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{policy: tt.policy})
			ctx := t.Context()
			res, err := e.cs.ListResources(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Resources) != 2 {
				t.Errorf("listed %d resources, want the 2 clean ones", len(res.Resources))
			}
			ps, err := e.cs.ListPrompts(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps.Prompts) != 2 {
				t.Errorf("listed %d prompts, want the 2 clean ones", len(ps.Prompts))
			}
			tr, err := e.cs.ListResourceTemplates(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.ResourceTemplates) != 1 {
				t.Errorf("listed %d templates, want the clean one", len(tr.ResourceTemplates))
			}
			for _, uri := range []string{mcptest.ResourceClean, mcptest.ResourcePrivate, "fixture://records/1"} {
				if _, err := e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri}); err != nil {
					t.Errorf("read %s: %v", uri, err)
				}
			}
			if _, err := e.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcptest.PromptMemo}); err != nil {
				t.Errorf("prompts/get: %v", err)
			}
			reads, gets := len(e.kernelEvents(ToolResourcesRead)), len(e.kernelEvents(ToolPromptsGet))
			if tt.kernel && (reads != 3 || gets != 1) {
				t.Errorf("%d reads and %d gets audited by the kernel, want 3 and 1", reads, gets)
			}
			if !tt.kernel && reads+gets != 0 {
				t.Errorf("%d reads and gets went through the kernel, want none", reads+gets)
			}
		})
	}
}

func TestPolicyResourceApproval(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	events := make(chanNotifier, 64)
	var ap *Approvals
	e := newEnv(t, envConfig{policy: `version: "1.0"
name: ask
defaults:
  action: allow
rules:
  - name: ask-before-reading
    match: {tools: [resources/read]}
    action: require_approval
    message: a person approves each read
`, approver: func(a kernel.Auditor) kernel.Approver {
		var err error
		ap, err = NewApprovals(ApprovalsOptions{Dir: dir, Auditor: a, Webhook: events})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ap.Close() })
		return ap
	}})
	ctx := context.Background()
	res, err := e.cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resources) != 2 {
		t.Fatalf("listed %d resources, want 2: require_approval keeps them listed", len(res.Resources))
	}
	for _, tc := range []struct {
		name    string
		approve bool
	}{{"approved", true}, {"denied", false}} {
		done := make(chan error, 1)
		var rr *sdk.ReadResourceResult
		go func() {
			var err error
			rr, err = e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: mcptest.ResourceClean})
			done <- err
		}()
		var sub approval.Event
		for sub = range events {
			if sub.Kind == approval.EventSubmitted {
				break
			}
		}
		pending, err := ListPending(dir)
		if err != nil || len(pending) != 1 || pending[0].Tool != ToolResourcesRead {
			t.Fatalf("%s: pending = %+v, %v", tc.name, pending, err)
		}
		if err := WriteVote(dir, sub.RequestID, ApprovalVote{Approver: "alice", Approve: tc.approve}); err != nil {
			t.Fatal(err)
		}
		ap.Poll(ctx)
		err = <-done
		if tc.approve {
			if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text != mcptest.ResourceCleanText {
				t.Fatalf("approved read = %+v, %v", rr, err)
			}
			continue
		}
		var we *jsonrpc.Error
		if !errors.As(err, &we) {
			t.Fatalf("denied read = %v", err)
		}
		wantItemDenied(t, "unapproved read", err, StageApproval, "ask-before-reading")
	}
	if n := e.fx.Calls(mcptest.ResourceClean); n != 1 {
		t.Errorf("the server served %d reads, want the approved one", n)
	}
	if n := len(e.events(audit.KindApproval)); n < 4 {
		t.Errorf("%d approval audit events, want at least 4", n)
	}
}

func TestPolicyResourceRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: `version: "1.0"
name: limited
defaults:
  action: allow
rules:
  - name: two-reads-a-day
    match: {tools: [resources/read]}
    action: rate_limit
    limit: 2/day
`})
	ctx := t.Context()
	for i := range 3 {
		_, err := e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: mcptest.ResourceClean})
		if i < 2 {
			if err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
			continue
		}
		wantItemDenied(t, "third read", err, StageRateLimit, "two-reads-a-day")
	}
	if n := e.fx.Calls(mcptest.ResourceClean); n != 2 {
		t.Errorf("the server served %d reads, want 2", n)
	}
}

// TestReservedToolNames: a server cannot list a tool named like the
// prompt and resource actions.
func TestReservedToolNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{skipClient: true})
	result := json.RawMessage(`{"tools":[
		{"name":"resources/read","description":"Reads.","inputSchema":{"type":"object"}},
		{"name":"prompts/anything","description":"Gets.","inputSchema":{"type":"object"}},
		{"name":"echo","description":"Echoes.","inputSchema":{"type":"object"}}]}`)
	lr, err := e.s.processList(t.Context(), result, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(lr.visible) != 1 || lr.visible[0] != "echo" {
		t.Errorf("visible = %v, want echo only", lr.visible)
	}
	for i, n := range lr.hidden {
		if lr.why[i].Rule != "reserved_name" {
			t.Errorf("%s hidden with %+v, want rule reserved_name", n, lr.why[i])
		}
	}
	if len(lr.hidden) != 2 {
		t.Errorf("hidden = %v, want the two reserved names", lr.hidden)
	}
}

func TestCanonicalURI(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"file:///fixture/readme.txt", "file:///fixture/readme.txt"},
		{"test://static/resource/1", "test://static/resource/1"},
		{"file:///a/../b", "file:///b"},
		{"file:///../../etc/passwd", "file:///etc/passwd"},
		{"file:///a/./b/", "file:///a/b/"},
		{"file:///a//b", "file:///a/b"},
		{"file:///a/%2E%2e/b", "file:///b"},
		{"file:///a/..%2fb", "file:///b"},
		{`file:///a\..\b`, "file:///b"},
		{"FiLe:///A", "file:///A"},
		{"http://Host:80/x/../y?q=../z#f", "http://Host:80/y?q=../z#f"},
		{"file:///dir/", "file:///dir/"},
		{"file://", "file://"},
		{"urn:isbn:0451450523", "urn:isbn:0451450523"},
		{"fixture://secrets/a%2Fb", "fixture://secrets/a/b"},
		{"relative/../x", "x"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := canonicalURI(tt.in); got != tt.want {
			t.Errorf("canonicalURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzCanonicalURI: the canonical form is a fixed point and keeps no dot
// segment in its path (after the scheme and authority, before any query).
func FuzzCanonicalURI(f *testing.F) {
	for _, s := range []string{"file:///a/../b", "test://static/resource/1", "x:%2e%2e/%2f", `a\b\..\c`, "FILE://h/./", "//h/..", "s:?/../#/./"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		c := canonicalURI(uri)
		if cc := canonicalURI(c); cc != c {
			t.Fatalf("canonicalURI(%q) = %q, but canonicalURI of that = %q", uri, c, cc)
		}
		p := c
		if i := strings.IndexAny(p, "?#"); i >= 0 {
			p = p[:i]
		}
		if i := strings.IndexByte(p, ':'); i > 0 && validScheme(p[:i]) {
			p = p[i+1:]
		}
		if strings.HasPrefix(p, "//") {
			i := strings.IndexByte(p[2:], '/')
			if i < 0 {
				return // an authority only
			}
			p = p[2+i:]
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "." || (seg == ".." && strings.HasPrefix(p, "/")) {
				t.Fatalf("canonicalURI(%q) = %q keeps a dot segment", uri, c)
			}
		}
	})
}

// FuzzItemRequest sends arbitrary resources/read and prompts/get requests
// through a live session under itemsPolicy: each gets exactly one
// well-formed answer with its own ID, and neither the private resource
// nor the denied prompt is ever served, however the request is spelled.
func FuzzItemRequest(f *testing.F) {
	f.Add(true, mcptest.ResourcePrivate, "")
	f.Add(true, "file:///fixture/x/../private/plan.txt", "")
	f.Add(true, "file:///fixture/%2E%2E/fixture/private/plan.txt", "")
	f.Add(true, "FILE:///fixture/private/plan.txt", "")
	f.Add(true, mcptest.ResourceClean, "")
	f.Add(false, mcptest.PromptMemo, `{"topic":"q3"}`)
	f.Add(false, mcptest.PromptClean, `{"name":"mallory"}`)
	f.Add(false, mcptest.PromptClean, `[1,2]`)
	f.Add(false, mcptest.PromptClean, `null`)
	e := newEnv(f, envConfig{policy: itemsPolicy, skipClient: true})
	ctx := context.Background()
	if err := e.raw.Write(ctx, []byte(initMsg)); err != nil {
		f.Fatal(err)
	}
	if _, err := e.raw.Read(ctx); err != nil {
		f.Fatal(err)
	}
	if err := e.raw.Write(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		f.Fatal(err)
	}
	id := 100
	last := ""
	f.Fuzz(func(t *testing.T, read bool, target, arguments string) {
		if _, err := url.Parse(target); read && (err != nil || strings.ContainsFunc(target, func(r rune) bool { return r < 0x20 || r >= 0x7f })) {
			return // the fixture's SDK server may drop the connection on such a URI
		}
		id++
		params := map[string]any{"name": target}
		method := methodPromptsGet
		if read {
			method, params = methodResourcesRead, map[string]any{"uri": target}
		} else if json.Valid([]byte(arguments)) {
			params["arguments"] = json.RawMessage(arguments)
		}
		msg, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		if err != nil {
			return // not valid UTF-8 JSON
		}
		if err := e.raw.Write(ctx, msg); err != nil {
			t.Fatalf("%s: %v (session: %v; last %q)", msg, err, sessionEnd(e), last)
		}
		b, err := e.raw.Read(ctx)
		if err != nil {
			t.Fatalf("%s: %v (session: %v)", msg, err, sessionEnd(e))
		}
		last = string(msg)
		var answer struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(b, &answer); err != nil || answer.ID != id || (answer.Result == nil) == (answer.Error == nil) {
			t.Fatalf("answer %s to %s", b, msg)
		}
		if n := e.fx.Calls(mcptest.ResourcePrivate) + e.fx.Calls(mcptest.PromptMemo); n != 0 {
			t.Fatalf("%s served a denied item", msg)
		}
	})
}

func sessionEnd(e *env) error {
	select {
	case err := <-e.runErr:
		return err
	default:
		return nil
	}
}

// TestDocsPolicyExample decides the requests of the worked example in
// docs/policy.md ("MCP prompts and resources") with the policy printed
// there, so that the table stays true.
func TestDocsPolicyExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "## MCP prompts and resources")
	if i < 0 {
		t.Fatal("docs/policy.md has no section on MCP prompts and resources")
	}
	_, block, ok := strings.Cut(doc[i:], "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the section has no YAML example")
	}
	e := newEnv(t, envConfig{policy: block, skipClient: true})
	scratch, err := e.g.NewSession(SessionOptions{Server: "scratch"})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := e.g.NewSession(SessionOptions{Server: "fs"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	read := func(uri string) itemAction {
		a, err := readAction("fs", uri)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	prompt, err := promptAction("scratch", "daily", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		s        *Session
		act      itemAction
		governed bool
		action   policy.Action
		rule     string
		deny     string // the gateway's own denial rule, if any
	}{
		{fs, read("file:///project/README.md"), true, policy.ActionAllow, "project-files", ""},
		{fs, read("file:///home/ann/.ssh/id_rsa"), true, policy.ActionDeny, "no-ssh-keys", ""},
		{fs, read("file:///project/../home/ann/.ssh/id_rsa"), true, policy.ActionAllow, "project-files", "ambiguous_uri"},
		{fs, read("file:///etc/hosts"), true, policy.ActionDeny, "other-files", ""},
		{fs, read("postgres://db/users"), true, policy.ActionRequireApproval, "ask-before-reading-databases", ""},
		{fs, read("https://example.com/a"), false, policy.ActionDeny, "", ""},
		{scratch, prompt, true, policy.ActionDeny, "no-prompts-from-scratch", ""},
	}
	for _, tt := range tests {
		d, governed, deny := tt.s.decideItem(ctx, e.g.dryRunInput(tt.s.callCtx), tt.act)
		if governed != tt.governed || d.Action != tt.action || d.Rule != tt.rule {
			t.Errorf("%s %s: governed %v, %s by %q; want %v, %s by %q", tt.act.tool, tt.act.args, governed, d.Action, d.Rule, tt.governed, tt.action, tt.rule)
		}
		got := ""
		if deny != nil {
			got = deny.Rule
		}
		if got != tt.deny {
			t.Errorf("%s: gateway denial %q, want %q", tt.act.args, got, tt.deny)
		}
	}
	if d := fs.listedItemDenial(ctx, e.g.dryRunInput(fs.callCtx), kindTemplates, "file:///{+path}"); d == nil || d.Rule != "other-files" {
		t.Errorf("template file:///{+path} hidden by %+v, want other-files", d)
	}
}

// TestPromptArgumentsCaseConfusion: prompt arguments are governed, so a
// prompts/get giving them twice or in another case is refused: the Go
// SDK's server would read "Arguments" (the last, case-insensitively)
// while the policy decided "arguments".
func TestPromptArgumentsCaseConfusion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: itemsPolicy, skipClient: true})
	exchange(t, e.raw, initMsg)
	if err := e.raw.Write(t.Context(), []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		t.Fatal(err)
	}
	for i, params := range []string{
		`{"name":"greet","arguments":{"name":"alice"},"Arguments":{"name":"mallory"}}`,
		`{"name":"greet","ARGUMENTS":{"name":"mallory"}}`,
		`{"name":"greet","arguments":{"name":"alice"},"arguments":{"name":"mallory"}}`,
	} {
		msg := `{"jsonrpc":"2.0","id":` + strconv.Itoa(10+i) + `,"method":"prompts/get","params":` + params + `}`
		res := exchange(t, e.raw, msg)
		em, _ := res[0]["error"].(map[string]any)
		if code, _ := em["code"].(float64); code != -32602 {
			t.Errorf("%s answered %v, want invalid params", params, res[0])
		}
	}
	if n := e.fx.Calls(mcptest.PromptClean); n != 0 {
		t.Errorf("the server served %d ambiguous prompts/get", n)
	}
}
