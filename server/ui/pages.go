package ui

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/signals"
)

// funcs are the template helpers. None of them returns trusted HTML: every
// value stays subject to html/template's escaping.
func funcs(base string) template.FuncMap {
	return template.FuncMap{
		"base": func() string { return base },
		"signalForm": func(id string, state signals.State, csrf, from string) signalForm {
			return signalForm{ID: id, State: state.String(), CSRF: csrf, From: from}
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format(rowTime)
		},
		"clock": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("15:04:05")
		},
		"short": func(s string) string { return cut(s, 12) },
		"trunc": func(n int, s string) string { return cut(s, n) },
		"path":  url.PathEscape,
		"rate":  func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
		"state": func(s signals.State) string { return s.String() },

		"preview": indentPreview,
	}
}

// indentPreview lays out an approval request's argument preview (JSON)
// for reading. It returns text, which the template escapes like any other:
// the preview is attacker-influenced.
func indentPreview(p json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, p, "", "  "); err != nil {
		return string(p)
	}
	return b.String()
}

// signalForm is the data of the stop / continue / kill buttons.
type signalForm struct {
	ID, State, CSRF, From string
}

// cut shortens s to at most n bytes at a character boundary, marking the
// cut with an ellipsis.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// eventRow is one audit event as the tables show it.
type eventRow struct {
	Seq     uint64
	Time    time.Time
	AgentID string
	Kind    string
	Tool    string
	Action  string
	Allowed bool
	Rule    string
	Reason  string
	Policy  string
	Code    int
	Error   string
	Args    string
}

func rowOf(e *audit.Event) eventRow {
	args := ""
	if len(e.Args) > 0 && string(e.Args) != "null" {
		args = cut(string(e.Args), 240)
	}
	return eventRow{Seq: e.Seq, Time: e.Time, AgentID: e.AgentID, Kind: string(e.Kind), Tool: e.Tool,
		Action: e.Decision.Action, Allowed: e.Decision.Allowed, Rule: e.Decision.Rule, Reason: e.Decision.Reason,
		Policy: e.Decision.Policy, Code: e.Outcome.Code, Error: e.Outcome.Error, Args: args}
}

// query runs q against the audit log and returns the rows.
func (h *Handler) query(r *http.Request, q audit.Query) ([]eventRow, error) {
	var rows []eventRow
	err := h.opts.Audit.Query(r.Context(), q, func(e *audit.Event) error {
		rows = append(rows, rowOf(e))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query audit log: %w", err)
	}
	return rows, nil
}

// overviewView is the overview page's data.
type overviewView struct {
	Metrics       kernel.Metrics
	Stats         statsView
	Running       int
	Stopped       int
	Terminated    int
	Agents        []kernel.AgentInfo
	MoreAgents    int
	Pending       int
	PolicyVersion string
	Recent        []eventRow
	Live          bool
}

// overview shows the counters, the top rules, the agents and the latest
// audit events.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, p principal) error {
	v := overviewView{Metrics: h.opts.Kernel.Metrics(), Stats: h.stats.snapshot(h.clock.Now()), Live: h.opts.Events != nil}
	for _, a := range h.opts.Kernel.List() {
		switch a.State {
		case signals.Running:
			v.Running++
		case signals.Stopped:
			v.Stopped++
		default:
			v.Terminated++
		}
		if a.State != signals.Terminated {
			if len(v.Agents) < 20 {
				v.Agents = append(v.Agents, a)
			} else {
				v.MoreAgents++
			}
		}
	}
	v.Pending = h.opts.Approvals.Count(approval.Filter{Status: approval.Pending})
	if set := h.opts.Policy.Current(); set != nil {
		v.PolicyVersion = set.Version()
	}
	var err error
	if v.Recent, err = h.query(r, audit.Query{Limit: 25}); err != nil {
		return err
	}
	h.render(w, r, p, http.StatusOK, "overview", "Overview", v)
	return nil
}

// agentRow is one agent of the agents page.
type agentRow struct {
	kernel.AgentInfo
	Last *eventRow
}

// agentsView is the agents page's data.
type agentsView struct {
	Agents []agentRow
	More   int
	Notice string
}

// agents lists the agents with their state and last action.
func (h *Handler) agents(w http.ResponseWriter, r *http.Request, p principal) error {
	list := h.opts.Kernel.List()
	v := agentsView{Notice: notice(r)}
	if len(list) > maxAgentRows {
		v.More = len(list) - maxAgentRows
		list = list[:maxAgentRows]
	}
	for _, a := range list {
		row := agentRow{AgentInfo: a}
		rows, err := h.query(r, audit.Query{AgentID: a.ID, Limit: 1})
		if err != nil {
			return err
		}
		if len(rows) > 0 {
			row.Last = &rows[0]
		}
		v.Agents = append(v.Agents, row)
	}
	h.render(w, r, p, http.StatusOK, "agents", "Agents", v)
	return nil
}

// agentView is the agent page's data.
type agentView struct {
	ID      string
	Info    *kernel.AgentInfo
	Labels  []string
	Actions []eventRow
	Notice  string
}

// agent shows one agent and its last 50 audit events.
func (h *Handler) agent(w http.ResponseWriter, r *http.Request, p principal) error {
	id := r.PathValue("id")
	v := agentView{ID: id, Notice: notice(r)}
	if a := h.opts.Kernel.Agent(id); a != nil {
		info := a.Info()
		v.Info = &info
		for k, val := range info.Labels {
			v.Labels = append(v.Labels, k+"="+val)
		}
		slices.Sort(v.Labels)
	}
	var err error
	if v.Actions, err = h.query(r, audit.Query{AgentID: id, Limit: 50}); err != nil {
		return err
	}
	if v.Info == nil && len(v.Actions) == 0 {
		return fmt.Errorf("%w: agent %q", ErrNotFound, cut(id, 128))
	}
	h.render(w, r, p, http.StatusOK, "agent", "Agent "+cut(id, 64), v)
	return nil
}

// signalNames maps the buttons to signals.
var signalNames = map[string]signals.Signal{
	"stop":     signals.SIGSTOP,
	"continue": signals.SIGCONT,
	"kill":     signals.SIGKILL,
}

// signal sends SIGSTOP, SIGCONT or SIGKILL to an agent on behalf of the
// signed-in operator.
func (h *Handler) signal(w http.ResponseWriter, r *http.Request, p principal) error {
	id := r.PathValue("id")
	sig, ok := signalNames[r.PostFormValue("signal")]
	if !ok {
		return inputErr("signal", "want stop, continue or kill")
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if len(reason) > MaxCommentBytes {
		return inputErr("reason", fmt.Sprintf("at most %d bytes", MaxCommentBytes))
	}
	if reason == "" {
		reason = "sent from the dashboard"
	}
	info, err := h.opts.Kernel.Signal(id, sig, "operator:"+p.ID, reason)
	if err != nil {
		if errors.Is(err, kernel.ErrAgentNotFound) {
			return fmt.Errorf("%w: agent %q", ErrNotFound, cut(id, 128))
		}
		return fmt.Errorf("signal agent: %w", err)
	}
	next := h.base + "/agents"
	if r.PostFormValue("from") == "agent" {
		next += "/" + url.PathEscape(id)
	}
	q := url.Values{"notice": {"signal"}, "agent": {id}, "signal": {sig.String()}, "outcome": {info.Outcome.String()},
		"state": {info.State.String()}}
	http.Redirect(w, r, next+"?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// notice returns the sentence confirming an action, built from the fixed
// notices and the redirect's query (escaped when rendered).
func notice(r *http.Request) string {
	q := r.URL.Query()
	switch q.Get("notice") {
	case "signal":
		return fmt.Sprintf("%s to %s: %s; the agent is now %s.", cut(q.Get("signal"), 16), cut(q.Get("agent"), 128),
			cut(q.Get("outcome"), 32), cut(q.Get("state"), 32))
	case "vote":
		return fmt.Sprintf("Request %s: you voted %s; it is now %s.", cut(q.Get("id"), 64), cut(q.Get("vote"), 16),
			cut(q.Get("status"), 16))
	case "reloaded":
		return "Policy reloaded."
	case "reload_failed":
		return "The reload was rejected; the last good policy set keeps serving."
	}
	return ""
}

// approvalsView is the approvals page's data.
type approvalsView struct {
	Pending []approval.Ticket
	// More is how many pending requests are not shown.
	More   int
	Recent []approval.Ticket
	Notice string
}

// MaxPendingShown bounds the pending requests the approvals page lists
// (the oldest first); the page says how many more wait.
const MaxPendingShown = 200

// approvals lists the oldest MaxPendingShown pending requests and the last
// 20 decided ones.
func (h *Handler) approvals(w http.ResponseWriter, r *http.Request, p principal) error {
	v := approvalsView{Notice: notice(r)}
	pending := approval.Filter{Status: approval.Pending}
	total := h.opts.Approvals.Count(pending)
	pending.Limit = MaxPendingShown
	v.Pending = h.opts.Approvals.List(pending)
	v.More = max(0, total-len(v.Pending))
	v.Recent = h.opts.Approvals.Recent(20)
	h.render(w, r, p, http.StatusOK, "approvals", "Approvals", v)
	return nil
}

// vote approves or denies a request as the signed-in operator.
func (h *Handler) vote(w http.ResponseWriter, r *http.Request, p principal) error {
	id := r.PathValue("id")
	var approve bool
	switch r.PathValue("vote") {
	case "approve":
		approve = true
	case "deny":
	default:
		return fmt.Errorf("%w: no action %q on approvals", ErrNotFound, cut(r.PathValue("vote"), 32))
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	if len(comment) > MaxCommentBytes {
		return inputErr("comment", fmt.Sprintf("at most %d bytes", MaxCommentBytes))
	}
	t, err := h.opts.Approvals.Decide(r.Context(), id, approval.Vote{Approver: p.ID, Approve: approve, Comment: comment})
	if err != nil {
		return voteError(err)
	}
	q := url.Values{"notice": {"vote"}, "id": {id}, "vote": {r.PathValue("vote")}, "status": {string(t.Status)}}
	http.Redirect(w, r, h.base+"/approvals?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// voteError classifies a broker error.
func voteError(err error) error {
	switch {
	case errors.Is(err, approval.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, approval.ErrNotPending), errors.Is(err, approval.ErrExpired),
		errors.Is(err, approval.ErrDuplicateVote), errors.Is(err, approval.ErrNotEligible),
		errors.Is(err, approval.ErrSelfApproval), errors.Is(err, approval.ErrInvalid):
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return fmt.Errorf("vote: %w", err)
}

// auditFilter is the audit page's filter form.
type auditFilter struct {
	Agent, Tool, Action, Rule, Since, Until string
	Limit                                   int
}

// auditView is the audit page's data.
type auditView struct {
	Filter  auditFilter
	Actions []string
	Rows    []eventRow
	Verify  *verifyView
}

// verifyView is the outcome of a verification.
type verifyView struct {
	OK          bool
	Error       string
	Start, Size uint64
	Checkpoints int
	LatestSize  uint64
	LatestTime  time.Time
}

// auditActions are the decision actions the filter offers.
var auditActions = []string{"allow", "deny", "audit", "block", "require_approval", "rate_limit"}

// parseFilter reads the filter from the query, naming a bad field.
func parseFilter(vals url.Values) (auditFilter, audit.Query, error) {
	f := auditFilter{Agent: vals.Get("agent"), Tool: vals.Get("tool"), Action: vals.Get("action"), Rule: vals.Get("rule"),
		Since: vals.Get("since"), Until: vals.Get("until"), Limit: DefaultAuditRows}
	q := audit.Query{AgentID: f.Agent, Tool: f.Tool, Action: f.Action, Rule: f.Rule}
	for _, fld := range []struct{ name, v string }{{"agent", f.Agent}, {"tool", f.Tool}, {"rule", f.Rule}} {
		if len(fld.v) > 256 {
			return f, q, inputErr(fld.name, "at most 256 bytes")
		}
	}
	if f.Action != "" && !slices.Contains(auditActions, f.Action) {
		return f, q, inputErr("action", "want one of "+strings.Join(auditActions, ", "))
	}
	var err error
	if q.Since, err = parseTime("since", f.Since); err != nil {
		return f, q, err
	}
	if q.Until, err = parseTime("until", f.Until); err != nil {
		return f, q, err
	}
	if l := vals.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxAuditRows {
			return f, q, inputErr("limit", fmt.Sprintf("want an integer from 1 to %d", MaxAuditRows))
		}
		f.Limit = n
	}
	q.Limit = f.Limit
	return f, q, nil
}

// timeLayouts are accepted for since and until: RFC 3339 and the browser's
// datetime-local forms (taken as UTC).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// minTime and maxTime bound the times a filter may name: the range of
// nanoseconds since 1970 in an int64, which is how the store compares
// them.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		t, err := time.Parse(l, s)
		if err != nil {
			continue
		}
		if t.Before(minTime) || t.After(maxTime) {
			return time.Time{}, inputErr(field, "want a time from 1970 to 2261")
		}
		return t.UTC(), nil
	}
	return time.Time{}, inputErr(field, "want a time like 2006-01-02T15:04:05Z")
}

// auditPage shows the events the filter selects, newest first.
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, p principal) error {
	f, q, err := parseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	v := auditView{Filter: f, Actions: auditActions}
	if v.Rows, err = h.query(r, q); err != nil {
		return err
	}
	h.render(w, r, p, http.StatusOK, "audit", "Audit log", v)
	return nil
}

// verify checks the whole audit log (chain, tree, checkpoints) and shows
// the result above the latest events. A failed verification is a result,
// not an error of the page.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request, p principal) error {
	res, verr := h.opts.Audit.Verify(r.Context(), audit.VerifyOptions{})
	vv := &verifyView{OK: verr == nil}
	if verr != nil {
		vv.Error = verr.Error()
	} else {
		vv.Start, vv.Size, vv.Checkpoints = res.Start, res.Size, res.Checkpoints
		if res.Latest != nil {
			vv.LatestSize, vv.LatestTime = res.Latest.Size, res.Latest.Time
		}
	}
	f, q, _ := parseFilter(url.Values{})
	v := auditView{Filter: f, Actions: auditActions, Verify: vv}
	var err error
	if v.Rows, err = h.query(r, q); err != nil {
		return err
	}
	status := http.StatusOK
	h.render(w, r, p, status, "audit", "Audit log", v)
	return nil
}

// policiesView is the policies page's data.
type policiesView struct {
	Source    string
	Loaded    bool
	Version   string
	Strategy  string
	Rules     int
	Documents []docView
	Reload    reloadStatus
	CanReload bool
	Notice    string
	Input     string
	Eval      *evalView
	EvalError string
}

// docView is one loaded policy document.
type docView struct {
	Name, Version, Description, File string
	Rules                            []ruleView
	Policies                         []string
}

// ruleView is one rule of a document.
type ruleView struct {
	Name     string
	Priority int64
	Action   string
	Message  string
}

// evalView is a playground result.
type evalView struct {
	Allowed bool
	Action  string
	Rule    string
	Policy  string
	Reason  string
	Error   bool
	Steps   []policy.Step
}

// playgroundSample is the playground's initial input.
const playgroundSample = `{
  "tool_name": "file_read",
  "agent_id": "agent-1",
  "args": {"path": "/etc/passwd"}
}`

func (h *Handler) policiesData(r *http.Request) policiesView {
	v := policiesView{Source: h.opts.PolicySource, CanReload: h.opts.Reload != nil, Notice: notice(r), Input: playgroundSample}
	if set := h.opts.Policy.Current(); set != nil {
		v.Loaded, v.Version, v.Strategy, v.Rules = true, set.Version(), string(set.Strategy()), set.Len()
	}
	if h.opts.Documents != nil {
		for _, d := range h.opts.Documents() {
			dv := docView{Name: d.Name, Version: d.Version, Description: d.Description, File: d.Loc.File, Policies: d.Policies}
			for _, ru := range d.Rules {
				dv.Rules = append(dv.Rules, ruleView{Name: ru.Name, Priority: ru.Priority, Action: string(ru.Action),
					Message: ru.Message})
			}
			slices.SortStableFunc(dv.Rules, func(a, b ruleView) int { return cmp.Compare(b.Priority, a.Priority) })
			v.Documents = append(v.Documents, dv)
		}
	}
	h.mu.Lock()
	v.Reload = h.reload
	h.mu.Unlock()
	return v
}

// policies shows the set in force, the last reload and the playground.
func (h *Handler) policies(w http.ResponseWriter, r *http.Request, p principal) error {
	h.render(w, r, p, http.StatusOK, "policies", "Policies", h.policiesData(r))
	return nil
}

// reloadPolicy reloads the policy set and records the outcome for the
// page.
func (h *Handler) reloadPolicy(w http.ResponseWriter, r *http.Request, p principal) error {
	if h.opts.Reload == nil {
		return fmt.Errorf("%w: policy reload", ErrUnavailable)
	}
	err := h.opts.Reload(r.Context())
	st := reloadStatus{Known: true, At: h.clock.Now(), Trigger: "dashboard (" + cut(p.ID, 64) + ")", OK: err == nil}
	if set := h.opts.Policy.Current(); set != nil {
		st.Version = set.Version()
	}
	n := "reloaded"
	if err != nil {
		st.Error, n = err.Error(), "reload_failed"
	}
	h.mu.Lock()
	h.reload = st
	h.mu.Unlock()
	http.Redirect(w, r, h.base+"/policies?notice="+n, http.StatusSeeOther)
	return nil
}

// evalPolicy decides the playground's input with Set.Explain: no action,
// no audit event, no side effect.
func (h *Handler) evalPolicy(w http.ResponseWriter, r *http.Request, p principal) error {
	v := h.policiesData(r)
	v.Notice = ""
	in := r.PostFormValue("input")
	v.Input = in
	status := http.StatusOK
	input, err := parseInput(in)
	switch {
	case err != nil:
		v.EvalError, status = err.Error(), http.StatusBadRequest
	case !v.Loaded:
		v.EvalError, status = "no policy set is loaded", http.StatusConflict
	default:
		d, steps := h.opts.Policy.Current().Explain(r.Context(), input)
		v.Eval = &evalView{Allowed: d.Allowed, Action: string(d.Action), Rule: d.Rule, Policy: d.Policy, Reason: d.Reason,
			Error: d.Error, Steps: steps}
	}
	h.render(w, r, p, status, "policies", "Policies", v)
	return nil
}

// parseInput decodes the playground's input: one JSON object, numbers
// kept exact.
func parseInput(s string) (map[string]any, error) {
	if len(s) > MaxPlaygroundInput {
		return nil, inputErr("input", fmt.Sprintf("at most %d bytes", MaxPlaygroundInput))
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var input map[string]any
	if err := dec.Decode(&input); err != nil {
		return nil, inputErr("input", "not a JSON object: "+err.Error())
	}
	if input == nil {
		return nil, inputErr("input", "want a JSON object, not null")
	}
	if dec.More() {
		return nil, inputErr("input", "trailing data after the JSON object")
	}
	return input, nil
}
