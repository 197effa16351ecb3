package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/yosida95/uritemplate/v3"
)

// Prompts, resources and resource templates: what a prompts/get or a
// resources/read may reach. The gateway remembers, per session, which
// prompts and resources it hid from the client's listings and which
// resource templates it hid; a request for a hidden one is denied. A
// request arriving before the lists it depends on were listed to the end
// makes the gateway list them itself first (every page, in its own ID
// namespace), so that a client cannot skip the listing to skip the
// filters.

// itemState is what a session knows of one list kind. Guarded by the
// session's mu.
type itemState struct {
	// listed is set once a listing reached its last page; cleared by the
	// kind's list_changed notification.
	listed bool
}

// templateRule is a resource template the session remembers.
type templateRule struct {
	raw string
	// strict matches the URIs the template expands to (RFC 6570); loose
	// matches them with every simple expression read as a reserved one
	// ({x} as {+x}), i.e. also values holding '/', ':' and other reserved
	// characters, which lenient servers route to the template too. nil
	// when the template does not parse.
	strict, loose *regexp.Regexp
	// prefix is the literal text before the first expression, matched
	// when the template does not parse.
	prefix string
	// d is the denial of a hidden template; nil for a visible one.
	d *DenialError
}

// newTemplateRule compiles a template. A template that does not parse
// matches every URI starting with its literal prefix (fail closed for a
// hidden template).
func newTemplateRule(raw string, d *DenialError) *templateRule {
	t := &templateRule{raw: raw, d: d}
	strict, err := uritemplate.New(raw)
	if err != nil {
		t.prefix, _, _ = strings.Cut(raw, "{")
		return t
	}
	t.strict = strict.Regexp()
	if loose, err := uritemplate.New(reservedForm(raw)); err == nil {
		t.loose = loose.Regexp()
	}
	return t
}

// reservedForm rewrites each simple expression {x} of a template into the
// reserved expansion {+x}.
func reservedForm(raw string) string {
	var b strings.Builder
	b.Grow(len(raw) + 8)
	for i := 0; i < len(raw); i++ {
		b.WriteByte(raw[i])
		if raw[i] == '{' && i+1 < len(raw) && !strings.ContainsRune("+#./;?&=,!@|", rune(raw[i+1])) {
			b.WriteByte('+')
		}
	}
	return b.String()
}

// matches reports whether uri may be served by the template.
func (t *templateRule) matches(uri string) bool {
	if t.strict == nil {
		return t.prefix != "" && strings.HasPrefix(uri, t.prefix)
	}
	return t.strict.MatchString(uri) || (t.loose != nil && t.loose.MatchString(uri))
}

// noteItems records the outcome of one processed page of a prompts,
// resources or templates list: the hidden items (with why), the visible
// ones, and, on the last page, that the kind is listed.
func (s *Session) noteItems(k listKind, lr listResult, last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch k {
	case kindPrompts:
		for _, n := range lr.visible {
			delete(s.hiddenPrompts, n)
			if len(s.visiblePrompts) < maxHiddenItems {
				s.visiblePrompts[n] = true
			}
		}
		for i, n := range lr.hidden {
			delete(s.visiblePrompts, n)
			if len(s.hiddenPrompts) < maxHiddenItems {
				s.hiddenPrompts[n] = itemDenial(k, n, lr.why[i])
			}
		}
		if last {
			s.prompts.listed = true
		}
	case kindResources:
		for _, n := range lr.visible {
			delete(s.hiddenResources, n)
		}
		for i, n := range lr.hidden {
			if len(s.hiddenResources) < maxHiddenItems {
				s.hiddenResources[n] = itemDenial(k, n, lr.why[i])
			}
		}
		if last {
			s.resources.listed = true
		}
	case kindTemplates:
		for _, n := range lr.visible {
			s.templates = deleteTemplate(s.templates, n)
			if len(s.templates) < maxHiddenItems {
				s.templates = append(s.templates, newTemplateRule(n, nil))
			}
		}
		for i, n := range lr.hidden {
			s.templates = deleteTemplate(s.templates, n)
			if why := lr.why[i]; why != nil && why.Stage == StagePolicy {
				// The policy denied the template's text: it is hidden
				// from the listing, but each URI it expands to is
				// decided on its own when read (an allow-list may
				// allow some of them).
				continue
			}
			if len(s.templates) < maxHiddenItems {
				s.templates = append(s.templates, newTemplateRule(n, itemDenial(k, n, lr.why[i])))
			}
		}
		if last {
			s.templatesState.listed = true
		}
	}
}

// deleteTemplate removes the rules of template raw.
func deleteTemplate(ts []*templateRule, raw string) []*templateRule {
	out := ts[:0]
	for _, t := range ts {
		if t.raw != raw {
			out = append(out, t)
		}
	}
	clear(ts[len(out):])
	return out
}

// itemDenial is the denial of a request for a hidden item: the reason it
// was hidden, under the stage that hid it.
func itemDenial(k listKind, name string, why *DenialError) *DenialError {
	d := &DenialError{Stage: StageScan, Reason: "the " + k.noun + " " + strconv.Quote(bound(name, 200)) + " was hidden from the client"}
	if why != nil {
		d.Stage, d.Rule = why.Stage, why.Rule
		d.Reason += ": " + why.Reason
	}
	return d
}

// itemsChanged handles a prompts or resources list_changed notification:
// the next request lists again.
func (s *Session) itemsChanged(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case methodPromptsChanged:
		s.prompts.listed = false
	case methodResourcesChanged:
		s.resources.listed = false
		s.templatesState.listed = false
	}
}

// itemCheck decides a prompts/get of name or a resources/read of uri with
// what the session knows. need names the lists the gateway must list to
// the end before it can decide; d is the denial (nil: forward) when need
// is empty. unknown asks for prompts to be listed again even though they
// were, because the name is in neither set.
func (s *Session) itemCheck(method, name string, relisted bool) (d *DenialError, need []listKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case methodPromptsGet:
		if d := s.hiddenPrompts[name]; d != nil {
			return d, nil
		}
		if s.visiblePrompts[name] {
			return nil, nil
		}
		if !s.prompts.listed || !relisted {
			return nil, []listKind{kindPrompts}
		}
		return &DenialError{Stage: StagePin, Reason: "prompt " + strconv.Quote(bound(name, 200)) +
			" is not currently listed and pinned for server " + strconv.Quote(s.server)}, nil
	case methodResourcesRead:
		if !s.resources.listed {
			need = append(need, kindResources)
		}
		if !s.templatesState.listed {
			need = append(need, kindTemplates)
		}
		if need != nil {
			return nil, need
		}
		if d := s.hiddenResources[name]; d != nil {
			return d, nil
		}
		var hidden *templateRule
		var also []string
		for _, t := range s.templates {
			if !t.matches(name) {
				continue
			}
			if t.d != nil {
				if hidden == nil {
					hidden = t
				}
			} else {
				also = append(also, t.raw)
			}
		}
		if hidden == nil {
			return nil, nil
		}
		d := &DenialError{Stage: hidden.d.Stage, Rule: hidden.d.Rule, Reason: "the URI " + strconv.Quote(bound(name, 200)) +
			" matches a hidden template: " + hidden.d.Reason}
		if len(also) > 0 {
			d.Reason += "; it also matches the allowed template " + strconv.Quote(bound(also[0], 200)) +
				", but the server could serve either (denied)"
		}
		return d, nil
	}
	return nil, nil
}

// governItem decides a prompts/get or resources/read, listing first when
// the session does not know enough, then denies it (a hidden item) or
// admits it (admitItem: forwarded, or governed by the kernel).
func (s *Session) governItem(ctx context.Context, m *jsonrpc.Request, raw []byte, k idKey) {
	governed := []string{"name", "arguments"}
	if m.Method == methodResourcesRead {
		governed = []string{"uri"}
	}
	key := governed[0]
	pm, err := strictMembers(m.Params, governed...)
	if errors.Is(err, errAmbiguousMember) {
		s.writeClient(ctx, errorResponse(m.ID, jsonrpc.CodeInvalidParams, m.Method+": "+err.Error(), nil))
		return
	}
	var name string
	if err == nil {
		err = json.Unmarshal(pm[key], &name)
	}
	if err != nil {
		s.writeClient(ctx, errorResponse(m.ID, jsonrpc.CodeInvalidParams, m.Method+": params must hold the "+key+" as one string", nil))
		return
	}
	var act itemAction
	if m.Method == methodResourcesRead {
		act, err = readAction(s.server, name)
	} else {
		act, err = promptAction(s.server, name, pm["arguments"])
	}
	if err != nil {
		s.writeClient(ctx, errorResponse(m.ID, jsonrpc.CodeInvalidParams, m.Method+": "+bound(err.Error(), 200), nil))
		return
	}
	p := &pending{id: m.ID, method: m.Method}
	if d := s.track(k, p); d != nil {
		s.writeClient(ctx, denialResponse(m.ID, d, false))
		return
	}
	d, need := s.itemCheck(m.Method, name, false)
	if need == nil && d == nil {
		s.admitItem(ctx, m, raw, k, p, act)
		return
	}
	if need == nil {
		s.denyItem(ctx, m, k, p, d)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		lctx, cancel := context.WithTimeout(ctx, s.g.callTimeout)
		defer cancel()
		for _, kind := range need {
			if err := s.listAll(lctx, kind); err != nil {
				s.denyItem(ctx, m, k, p, &DenialError{Stage: StageScan, Reason: "the gateway could not list the server's " +
					kind.member + " first: " + bound(err.Error(), 200), Err: err})
				return
			}
		}
		d, need := s.itemCheck(m.Method, name, true)
		if need != nil {
			d = &DenialError{Stage: StageScan, Reason: "the server's " + need[0].member + " changed while the gateway listed them; retry"}
		}
		if d != nil {
			s.denyItem(ctx, m, k, p, d)
			return
		}
		s.admitItem(ctx, m, raw, k, p, act)
	}()
}

// forwardTracked sends a tracked client request to the server, unless the
// client cancelled it meanwhile.
func (s *Session) forwardTracked(ctx context.Context, id jsonrpc.ID, raw []byte, k idKey, p *pending) {
	s.mu.Lock()
	live := s.fromClient[k] == p
	s.mu.Unlock()
	if !live {
		return
	}
	if err := s.writeServer(ctx, raw); err != nil {
		s.untrack(k, p)
		s.writeClient(ctx, denialResponse(id, &DenialError{Stage: StageUpstream, Reason: "the server is unavailable"}, false))
	}
}

// denyItem audits and answers the denial of a tracked prompts/get or
// resources/read.
func (s *Session) denyItem(ctx context.Context, m *jsonrpc.Request, k idKey, p *pending, d *DenialError) {
	s.mu.Lock()
	live := s.fromClient[k] == p
	if live {
		delete(s.fromClient, k)
	}
	s.mu.Unlock()
	if err := s.g.audit(ctx, event{session: s.id, principal: s.principal, requestID: idString(m.ID), server: s.server,
		method: m.Method, stage: d.Stage, action: "deny", rule: d.Rule, reason: d.Reason}); err != nil {
		d = &DenialError{Stage: StageAudit, Reason: "the denial could not be audited (fail closed)", Err: err}
	}
	if live {
		s.writeClient(ctx, denialResponse(m.ID, d, false))
	}
}

// listAll lists every page of kind k on the gateway's own behalf and
// records what it hides. Concurrent callers are serialized; one that
// finds the kind listed meanwhile returns at once. A server that does not
// implement the list (method not found) has no such items.
func (s *Session) listAll(ctx context.Context, k listKind) error {
	select {
	case s.itemsSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.itemsSem }()
	cursor := ""
	for page := 0; ; page++ {
		if page == maxListPages {
			return fmt.Errorf("more than %d pages of %s", maxListPages, k.member)
		}
		var params any = struct{}{}
		if cursor != "" {
			params = map[string]string{"cursor": cursor}
		}
		r, err := s.request(ctx, k.method, params)
		if err != nil {
			return err
		}
		if r.Error != nil {
			var we *jsonrpc.Error
			if page == 0 && errors.As(r.Error, &we) && we.Code == jsonrpc.CodeMethodNotFound {
				s.noteItems(k, listResult{}, true)
				return nil
			}
			return fmt.Errorf("%s: %w", k.method, r.Error)
		}
		lr, err := s.processItems(ctx, k, r.Result, false)
		if err != nil {
			var de *DenialError
			if errors.As(err, &de) {
				return errors.New(de.Reason)
			}
			return err
		}
		s.noteItems(k, lr, lr.next == "")
		if lr.next == "" {
			return nil
		}
		cursor = lr.next
	}
}
