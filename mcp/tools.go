package mcp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agentos/agentos/detect"
)

// listResult is what processing one page of tools/list gives.
type listResult struct {
	// visible names the tools the client may see and call.
	visible []string
	// hidden names the items hidden (those that have a name), and why
	// says why each was.
	hidden []string
	why    []*DenialError
	// next is the page's nextCursor.
	next string
	// out is the rewritten result; nil when nothing was hidden.
	out json.RawMessage
}

// verdict is the decision on one listed tool.
type verdict struct {
	name   string
	def    Definition
	parsed bool
	hide   *DenialError
	warn   []detect.Threat
	flag   bool // flagged by the scanner (untrusted on first use)
}

// clientList processes a tools/list result the client asked for and
// forwards it, with hidden tools removed.
func (s *Session) clientList(ctx context.Context, m *jsonrpc.Response, raw []byte, p *pending) {
	if m.Error != nil {
		s.writeClient(ctx, raw)
		return
	}
	lr, err := s.processList(ctx, m.Result, true)
	if err != nil {
		s.mu.Lock()
		if !p.cursor {
			s.tools = make(map[string]bool)
			s.policyHidden = make(map[string]*DenialError)
		}
		s.mu.Unlock()
		s.writeClient(ctx, denialResponse(p.id, s.denialFor(err), false))
		return
	}
	s.mu.Lock()
	if !p.cursor {
		s.tools = make(map[string]bool, len(lr.visible))
		s.policyHidden = make(map[string]*DenialError, len(lr.hidden))
		s.listed = true
		s.listedAt = s.g.clock.Now()
		s.stale = 0
	}
	for _, n := range lr.visible {
		s.tools[n] = true
	}
	policyHiddenOf(lr, s.policyHidden)
	s.mu.Unlock()
	if lr.out == nil {
		s.writeClient(ctx, raw)
		return
	}
	b, err := resultResponse(m.ID, lr.out)
	if err != nil {
		s.writeClient(ctx, denialResponse(p.id, s.denialFor(err), false))
		return
	}
	s.writeClient(ctx, b)
}

// clientItems processes a prompts, resources or resource-templates list
// result the client asked for and forwards it, with hidden items removed.
func (s *Session) clientItems(ctx context.Context, k listKind, m *jsonrpc.Response, raw []byte, p *pending) {
	if m.Error != nil {
		s.writeClient(ctx, raw)
		return
	}
	lr, err := s.processItems(ctx, k, m.Result, true)
	if err != nil {
		s.writeClient(ctx, denialResponse(p.id, s.denialFor(err), false))
		return
	}
	s.noteItems(k, lr, lr.next == "")
	if lr.out == nil {
		s.writeClient(ctx, raw)
		return
	}
	b, err := resultResponse(m.ID, lr.out)
	if err != nil {
		s.writeClient(ctx, denialResponse(p.id, s.denialFor(err), false))
		return
	}
	s.writeClient(ctx, b)
}

// maxHiddenItems bounds the prompts, resources and resource templates a
// session remembers.
const maxHiddenItems = 4096

// listKind is a kind of list the gateway screens: tools, prompts,
// resources or resource templates.
type listKind struct {
	method string // the list method
	member string // the result member holding the items
	// noun names one item in reasons.
	noun string
	// pinned: items are pinned (tools, prompts); else scanned only.
	pinned bool
	// governed: items are tools (policy dry run, kernel registration).
	governed bool
}

// The lists the gateway screens.
var (
	kindTools     = listKind{method: methodToolsList, member: "tools", noun: "tool", pinned: true, governed: true}
	kindPrompts   = listKind{method: methodPromptsList, member: "prompts", noun: "prompt", pinned: true}
	kindResources = listKind{method: methodResourcesList, member: "resources", noun: "resource"}
	kindTemplates = listKind{method: methodTemplatesList, member: "resourceTemplates", noun: "resource template"}
)

// listKindOf returns the list kind of a method.
func listKindOf(method string) (listKind, bool) {
	for _, k := range [...]listKind{kindTools, kindPrompts, kindResources, kindTemplates} {
		if k.method == method {
			return k, true
		}
	}
	return listKind{}, false
}

// PromptPinPrefix starts the pin name of a prompt ("prompt:NAME"), so
// that prompts and tools of one server are pinned side by side.
const PromptPinPrefix = "prompt:"

// processList scans, pins and filters one page of a tools/list result.
// With rewrite set it also returns the result without the hidden tools.
// An error (an unreadable result, a pin store or audit failure) means no
// tool of the page may be shown.
func (s *Session) processList(ctx context.Context, result json.RawMessage, rewrite bool) (listResult, error) {
	return s.processItems(ctx, kindTools, result, rewrite)
}

// processItems scans, pins (tools and prompts) and filters one page of a
// list result of kind k. With rewrite set it also returns the result
// without the hidden items. An error (an unreadable result, a pin store or
// audit failure) means no item of the page may be shown.
func (s *Session) processItems(ctx context.Context, k listKind, result json.RawMessage, rewrite bool) (listResult, error) {
	top, items, err := splitList(result, k.member)
	if err != nil {
		return listResult{}, &DenialError{Stage: StageScan, Reason: "the server's " + k.method + " result is malformed: " + bound(err.Error(), 200), Err: err}
	}
	var lr listResult
	if raw, ok := top["nextCursor"]; ok {
		_ = json.Unmarshal(raw, &lr.next) // not a string: no next page
	}
	vs := make([]verdict, len(items))
	counts := make(map[string]int, len(items))
	for i, it := range items {
		s.g.inspectCached(ctx, s, k, it, &vs[i])
		if vs[i].name != "" {
			counts[vs[i].name]++
		}
	}
	// Pins, for every definition that could be read.
	var defs []Definition
	var untrusted []bool
	var idx []int
	for i := range vs {
		v := &vs[i]
		if !v.parsed {
			continue
		}
		if counts[v.name] > 1 {
			v.hide = &DenialError{Stage: StageScan, Rule: "duplicate_name", Reason: "the server lists more than one " + k.noun + " named " + strconv.Quote(v.name)}
			continue
		}
		if k.governed && reservedToolName(v.name) {
			v.hide = &DenialError{Stage: StageKernel, Rule: "reserved_name", Reason: "tool names starting with resources/ or prompts/ are reserved for the policy's " +
				ToolResourcesRead + " and " + ToolPromptsGet + " actions (MCP tool names hold no '/')"}
			continue
		}
		if !k.pinned {
			continue
		}
		defs = append(defs, v.def)
		untrusted = append(untrusted, v.flag)
		idx = append(idx, i)
	}
	states, err := s.g.pins.Check(s.server, defs, s.g.approveNew, untrusted)
	if err != nil {
		return listResult{}, &DenialError{Stage: StagePin, Reason: "the pin store failed (fail closed)", Err: err}
	}
	var in map[string]any
	if s.g.policy != nil && k.governed {
		in = s.g.dryRunInput(s.callCtx)
	}
	for j, st := range states {
		v := &vs[idx[j]]
		if st == PinChanged {
			// A changed definition is a rug pull whatever else is wrong
			// with it.
			reason := "the " + k.noun + "'s definition changed since it was approved (rug pull); review with agentos mcp pins diff " + s.server + " " + v.def.Tool
			if v.hide != nil {
				reason += "; the new definition is also flagged: " + v.hide.Reason
			}
			v.hide = &DenialError{Stage: StagePin, Rule: "rug_pull", Reason: reason}
			continue
		}
		if v.hide != nil {
			continue
		}
		switch st {
		case PinNew:
			v.hide = &DenialError{Stage: StagePin, Rule: "new_tool", Reason: "new " + k.noun + " awaiting approval (agentos mcp pins approve " + s.server + " " + v.def.Tool + ")"}
			continue
		case PinMatch, PinTrusted:
		default:
			v.hide = &DenialError{Stage: StagePin, Reason: "unknown pin state"}
			continue
		}
		if !k.governed {
			continue
		}
		if in != nil {
			if d := s.g.dryRun(ctx, in, v.name); hidden(d) {
				reason := d.Reason
				if reason == "" {
					reason = "denied by policy"
				}
				v.hide = &DenialError{Stage: StagePolicy, Rule: d.Rule, Reason: reason}
				continue
			}
		}
		if err := s.g.ensureTool(v.name); err != nil {
			v.hide = &DenialError{Stage: StageKernel, Reason: "the kernel cannot govern a tool of this name: " + bound(err.Error(), 200), Err: err}
		}
	}
	// Prompts, resources and templates the policy denies (a rule, not the
	// default: see ruleDecided) are hidden like tools.
	if s.g.policy != nil && !k.governed {
		in := s.g.dryRunInput(s.callCtx)
		for i := range vs {
			v := &vs[i]
			if v.hide != nil || v.name == "" {
				continue
			}
			v.hide = s.listedItemDenial(ctx, in, k, v.name)
		}
	}
	// Audit every hidden tool and every warning, then the page.
	hiddenN := 0
	for i := range vs {
		v := &vs[i]
		if v.hide == nil && len(v.warn) == 0 {
			continue
		}
		ev := event{session: s.id, principal: s.principal, server: s.server, method: k.method, tool: v.name}
		if v.hide != nil {
			hiddenN++
			ev.stage, ev.action, ev.rule, ev.reason = v.hide.Stage, "deny", v.hide.Rule, v.hide.Reason
		} else {
			ev.stage, ev.action, ev.allowed, ev.reason = StageScan, "warn", true, "scanner findings below the hiding threshold"
		}
		if len(v.warn) > 0 {
			ev.extra = map[string]any{"threats": threatSummary(v.warn)}
		}
		if err := s.g.audit(ctx, ev); err != nil {
			return listResult{}, &DenialError{Stage: StageAudit, Reason: "the " + k.method + " result could not be audited (fail closed)", Err: err}
		}
	}
	if err := s.g.audit(ctx, event{session: s.id, principal: s.principal, server: s.server, method: k.method, stage: "list",
		action: "allow", allowed: true, reason: k.member + " listed",
		extra: map[string]any{k.member: len(items), "hidden": hiddenN}}); err != nil {
		return listResult{}, &DenialError{Stage: StageAudit, Reason: "the " + k.method + " result could not be audited (fail closed)", Err: err}
	}
	kept := make([]json.RawMessage, 0, len(items))
	for i := range vs {
		if vs[i].hide == nil {
			lr.visible = append(lr.visible, vs[i].name)
			kept = append(kept, items[i])
		} else if vs[i].name != "" {
			lr.hidden = append(lr.hidden, vs[i].name)
			lr.why = append(lr.why, vs[i].hide)
		}
	}
	if rewrite && hiddenN > 0 {
		lr.out = rebuild(top, k.member, kept)
	}
	return lr, nil
}

// splitList splits a list result into its members (the list member
// excluded) and the raw items of the list member. One json.Valid pass
// proves the result well-formed (the grammar and nesting bound of
// encoding/json's decoder); the members and items are then cut out of a
// copy of it without decoding them. A member given twice keeps its last
// value, except the list member, which may be given once.
func splitList(result json.RawMessage, member string) (map[string]json.RawMessage, []json.RawMessage, error) {
	b := skipJSONSpace(result)
	if len(b) == 0 || b[0] != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	if !json.Valid(b) {
		return nil, nil, errors.New("not well-formed JSON")
	}
	b = skipJSONSpace(bytes.Clone(b)[1:])
	top := make(map[string]json.RawMessage, 4)
	var items []json.RawMessage
	for len(b) > 0 && b[0] == '"' {
		n := stringEnd(b)
		key, err := memberName(b[:n])
		if err != nil {
			return nil, nil, err
		}
		b = skipJSONSpace(skipJSONSpace(b[n:])[1:]) // the colon
		if key != member {
			n = valueEnd(b)
			top[key] = json.RawMessage(b[:n:n])
			b = nextMember(b[n:])
			continue
		}
		if items != nil {
			return nil, nil, errors.New("duplicate member " + member)
		}
		if b[0] != '[' {
			return nil, nil, errors.New("member " + member + " is not an array")
		}
		items = make([]json.RawMessage, 0, 64)
		for b = skipJSONSpace(b[1:]); b[0] != ']'; {
			n = valueEnd(b)
			items = append(items, json.RawMessage(b[:n:n]))
			if b = skipJSONSpace(b[n:]); b[0] == ',' {
				b = skipJSONSpace(b[1:])
			}
		}
		b = nextMember(b[1:])
	}
	return top, items, nil
}

// nextMember skips the space and the comma, if any, after a member's
// value in well-formed JSON.
func nextMember(b []byte) []byte {
	if b = skipJSONSpace(b); len(b) > 0 && b[0] == ',' {
		b = skipJSONSpace(b[1:])
	}
	return b
}

// rebuild encodes the result object top with its list member replaced by
// kept. The members are already valid JSON (they were decoded from it), so
// they are copied, not re-encoded.
func rebuild(top map[string]json.RawMessage, member string, kept []json.RawMessage) json.RawMessage {
	n := 16
	for _, v := range top {
		n += len(v) + 16
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	first := true
	add := func(k string, v []byte) {
		if !first {
			out = append(out, ',')
		}
		first = false
		kb, _ := json.Marshal(k)
		out = append(out, kb...)
		out = append(out, ':')
		out = append(out, v...)
	}
	for k, v := range top {
		if k != member {
			add(k, v)
		}
	}
	var tools []byte
	tools = append(tools, '[')
	for i, it := range kept {
		if i > 0 {
			tools = append(tools, ',')
		}
		tools = append(tools, it...)
	}
	tools = append(tools, ']')
	add(member, tools)
	return append(out, '}')
}

// maxInspectCache bounds the cache of inspected definitions.
const maxInspectCache = 8192

// inspectCached inspects one listed tool, reusing the verdict for a
// definition byte-identical to one already inspected for the same server
// (servers list the same tools again and again; scanning is deterministic
// in the definition).
func (g *Gateway) inspectCached(ctx context.Context, s *Session, k listKind, item json.RawMessage, v *verdict) {
	h := sha256.New()
	h.Write([]byte(s.server))
	h.Write([]byte{0})
	h.Write([]byte(k.method))
	h.Write([]byte{0})
	h.Write(item)
	var key [32]byte
	h.Sum(key[:0])
	g.cacheMu.Lock()
	cv, ok := g.inspected[key]
	g.cacheMu.Unlock()
	if ok {
		*v = cv
		return
	}
	s.inspect(ctx, k, item, v)
	if v.hide != nil && v.hide.Rule == "scan_error" {
		return // a failure may be transient: do not remember it
	}
	g.cacheMu.Lock()
	if len(g.inspected) >= maxInspectCache {
		clear(g.inspected)
	}
	g.inspected[key] = *v
	g.cacheMu.Unlock()
}

// inspect decodes and scans one listed item of kind k into v.
func (s *Session) inspect(ctx context.Context, k listKind, item json.RawMessage, v *verdict) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(item, &m); err != nil {
		v.hide = &DenialError{Stage: StageScan, Rule: "malformed", Reason: "a listed " + k.noun + " is not a JSON object"}
		return
	}
	var t detect.Tool
	switch k {
	case kindTools:
		def, err := definitionOf(m)
		if err != nil {
			_ = json.Unmarshal(m["name"], &v.name)
			v.hide = &DenialError{Stage: StageScan, Rule: "malformed", Reason: "malformed tool definition: " + bound(err.Error(), 200)}
			return
		}
		v.name, v.def, v.parsed = def.Tool, def, true
		t = detect.Tool{Name: def.Tool, InputSchema: m["inputSchema"]}
	case kindPrompts:
		def, err := promptDefinitionOf(m)
		if err != nil {
			_ = json.Unmarshal(m["name"], &v.name)
			v.hide = &DenialError{Stage: StageScan, Rule: "malformed", Reason: "malformed prompt definition: " + bound(err.Error(), 200)}
			return
		}
		v.name, v.def, v.parsed = strings.TrimPrefix(def.Tool, PromptPinPrefix), def, true
		schema, err := promptSchema(m["arguments"])
		if err != nil {
			v.hide = &DenialError{Stage: StageScan, Rule: "malformed", Reason: "field arguments: " + bound(err.Error(), 200)}
			v.flag = true
			return
		}
		t = detect.Tool{Name: def.Tool, InputSchema: schema}
	default:
		key := "uri"
		if k == kindTemplates {
			key = "uriTemplate"
		}
		if err := json.Unmarshal(m[key], &v.name); err != nil || v.name == "" {
			v.name = ""
			v.hide = &DenialError{Stage: StageScan, Rule: "malformed", Reason: "a listed " + k.noun + " has no string " + key}
			return
		}
		t = detect.Tool{Name: k.member + ":" + v.name}
	}
	if d, ok := m["description"]; ok && string(d) != "null" {
		if err := json.Unmarshal(d, &t.Description); err != nil {
			v.hide = &DenialError{Stage: StageScan, Rule: "malformed", Reason: "field description: want a string"}
			v.flag = true
			return
		}
	}
	if k == kindResources || k == kindTemplates {
		// The model reads title and name too.
		for _, f := range [...]string{"title", "name"} {
			var x string
			if json.Unmarshal(m[f], &x) == nil && x != "" {
				t.Description += "\n" + x
			}
		}
	}
	threats, err := s.g.tscan.ScanTool(ctx, s.server, t)
	if err != nil {
		v.hide = &DenialError{Stage: StageScan, Rule: "scan_error", Reason: "the definition could not be scanned (fail closed)", Err: err}
		v.flag = true
		return
	}
	var worst *detect.Threat
	for i := range threats {
		th := &threats[i]
		if th.Severity >= s.g.hideSev && (worst == nil || th.Severity > worst.Severity) {
			worst = th
		}
	}
	v.warn = threats
	if worst != nil {
		v.flag = true
		v.hide = &DenialError{Stage: StageScan, Rule: worst.Rule,
			Reason: fmt.Sprintf("the definition was flagged (%s, %s): %s", worst.Type, worst.Severity, bound(worst.Message, 200))}
	}
}

// threatSummary describes threats for an audit event without their
// matched text.
func threatSummary(ts []detect.Threat) []map[string]any {
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, map[string]any{"type": string(t.Type), "severity": t.Severity.String(), "rule": t.Rule})
	}
	return out
}

// promptSchema turns a prompt's arguments into the JSON Schema of an
// object with one string property per argument, so that the scanner
// checks argument names and descriptions as it checks a tool's.
func promptSchema(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var args []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, errors.New("want an array of {name, description}")
	}
	props := make(map[string]any, len(args))
	for _, a := range args {
		p := map[string]any{"type": "string"}
		if a.Description != "" {
			p["description"] = a.Description
		}
		props[a.Name] = p
	}
	return json.Marshal(map[string]any{"type": "object", "properties": props})
}
