package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/approval/approvaltest"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/mcp/mcptest"
)

// auditedVotes returns the approvers of the approval votes in log, as
// "approver=yes|no".
func auditedVotes(log *audit.Memory) []string {
	var out []string
	for _, ev := range log.Events(0, uint64(log.Len())) {
		if ev.Kind != audit.KindApproval {
			continue
		}
		var args struct {
			Step, Approver string
			Approve        bool
		}
		_ = json.Unmarshal(ev.Args, &args)
		if args.Approver != "" && args.Step == "voted" {
			out = append(out, args.Approver+"="+map[bool]string{true: "yes", false: "no"}[args.Approve])
		}
	}
	return out
}

// answerWith returns an elicitation handler that records the questions it
// gets and answers with res (or err).
func answerWith(res *sdk.ElicitResult, err error) (func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error), func() []string) {
	var mu sync.Mutex
	var asked []string
	h := func(_ context.Context, req *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
		mu.Lock()
		asked = append(asked, req.Params.Message)
		mu.Unlock()
		return res, err
	}
	return h, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// TestProxyApprovalByElicitation: through mcp proxy, a held call is put to
// the user of a session-era client (elicitation/create on the call's
// stream) or of a stateless client (an input_required result and a
// retry); the answer decides it, is audited as a vote, and never reaches
// the server.
func TestProxyApprovalByElicitation(t *testing.T) {
	t.Parallel()
	args := map[string]any{"id": "42", "token": mcptest.FakeAWSKey}
	accept := &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": true}}
	tests := []struct {
		name     string
		version  string
		answer   *sdk.ElicitResult
		err      error
		noCap    bool
		allowed  bool
		wantVote string
		wantWhy  string
	}{
		{"session 2025-11-25 approves", "2025-11-25", accept, nil, false, true, "yes", ""},
		{"session 2025-06-18 approves", "2025-06-18", accept, nil, false, true, "yes", ""},
		{"session declines", "2025-11-25", &sdk.ElicitResult{Action: "decline"}, nil, false, false, "no", "decline"},
		{"session approve false", "2025-11-25", &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": false}}, nil, false, false, "no", "approve"},
		{"session client error", "2025-11-25", nil, errors.New("no user interface"), false, false, "no", "error"},
		{"session without capability", "2025-11-25", nil, nil, true, false, "", "did not declare the elicitation capability"},
		{"stateless approves", ProtocolStateless, accept, nil, false, true, "yes", ""},
		{"stateless declines", ProtocolStateless, &sdk.ElicitResult{Action: "decline"}, nil, false, false, "no", "decline"},
		{"stateless cancel", ProtocolStateless, &sdk.ElicitResult{Action: "cancel"}, nil, false, false, "no", "cancel"},
		{"stateless without capability", ProtocolStateless, nil, nil, true, false, "", "did not declare the elicitation capability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newProxyEnv(t, proxyConfig{stateless: tt.version >= ProtocolStateless,
				approvals: &ApprovalsOptions{ElicitOnly: true}, elicit: true})
			opts := &sdk.ClientOptions{}
			var asked func() []string
			if !tt.noCap {
				opts.ElicitationHandler, asked = answerWith(tt.answer, tt.err)
			}
			cs := e.connect(t, aliceToken, tt.version, opts)
			r, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "tool_2", Arguments: args})
			if tt.allowed {
				if err != nil || r.IsError || resultText(r) != "ok" {
					t.Fatalf("approved call = %v, %v", r, err)
				}
			} else {
				if err == nil {
					t.Fatalf("call not approved ran: %v", resultText(r))
				}
				if _, d := wireError(t, err); d.Stage != StageApproval || !strings.Contains(d.Reason, tt.wantWhy) {
					t.Errorf("denial = %+v, want stage %q naming %q", d, StageApproval, tt.wantWhy)
				}
			}
			if asked != nil {
				q := asked()
				if len(q) != 1 {
					t.Fatalf("the user was asked %d times, want once", len(q))
				}
				for _, want := range []string{`"fixture"`, `"tool_2"`, `"approve-tool-2"`, `"42"`, "Approve this call?"} {
					if !strings.Contains(q[0], want) {
						t.Errorf("question %q lacks %s", q[0], want)
					}
				}
				if strings.Contains(q[0], mcptest.FakeAWSKey) {
					t.Errorf("question shows the secret argument: %q", q[0])
				}
			}
			want := ""
			if tt.wantVote != "" {
				want = "elicitation:proxy-test=" + tt.wantVote
			}
			if got := strings.Join(auditedVotes(e.log), ","); got != want {
				t.Errorf("audited votes = %q, want %q", got, want)
			}
			// What reached the server: the call when approved, never the
			// answer nor the gateway's members.
			calls := 0
			for _, b := range e.upstreamBodies() {
				for _, bad := range []string{`"action"`, memberRequestState, memberInputResponses, ApprovalInputKey} {
					if strings.Contains(b, bad) {
						t.Errorf("the server got %s", b)
					}
				}
				if strings.Contains(b, `"tools/call"`) {
					calls++
				}
			}
			if wantCalls := map[bool]int{true: 1}[tt.allowed]; calls != wantCalls {
				t.Errorf("the server got %d calls, want %d", calls, wantCalls)
			}
		})
	}
}

// initSession initializes a raw session-era client.
func initSession(t *testing.T, c *sseClient) {
	t.Helper()
	ctx := t.Context()
	resp := c.do(ctx, http.MethodPost, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",`+
		`"capabilities":{"elicitation":{}},"clientInfo":{"name":"raw","version":"1"}}}`, nil)
	c.sid = resp.Header.Get(headerSessionID)
	if ev := events(t, resp); c.sid == "" || len(ev) == 0 {
		t.Fatalf("initialize: session %q, events %v", c.sid, ev)
	}
	if r := c.do(ctx, http.MethodPost, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil); r.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %s", r.Status)
	}
}

// TestProxyElicitationOnCallStream: the question travels on the event
// stream of the call it is about, before the call's response; the answer
// is a POSTed response the gateway consumes (another principal cannot
// post it); a client whose call accepts JSON only cannot be asked.
func TestProxyElicitationOnCallStream(t *testing.T) {
	t.Parallel()
	e := newProxyEnv(t, proxyConfig{approvals: &ApprovalsOptions{ElicitOnly: true}, elicit: true})
	ctx := t.Context()
	c := &sseClient{t: t, url: e.front.URL + "/mcp", token: aliceToken}
	initSession(t, c)

	resp := c.do(ctx, http.MethodPost, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"tool_2","arguments":{"id":"1"}}}`, nil)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, contentSSE) {
		t.Fatalf("call answered with %q, want an event stream", ct)
	}
	sr := NewSSEReader(resp.Body, 0)
	next := func() map[string]json.RawMessage {
		t.Helper()
		for {
			data, _, _, err := sr.Next()
			if err != nil {
				t.Fatalf("call stream: %v", err)
			}
			if len(strings.TrimSpace(string(data))) == 0 {
				continue // priming event
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("event %q: %v", data, err)
			}
			return m
		}
	}
	q := next()
	var id string
	if json.Unmarshal(q["id"], &id) != nil || !strings.HasPrefix(id, GatewayIDPrefix) || string(q["method"]) != `"`+methodElicit+`"` {
		t.Fatalf("first event on the call's stream = %v, want the gateway's elicitation/create", q)
	}
	answer := `{"jsonrpc":"2.0","id":` + strconv.Quote(id) + `,"result":{"action":"accept","content":{"approve":true}}}`

	// Bob presents alice's session: not found.
	bob := &sseClient{t: t, url: c.url, token: bobToken, sid: c.sid}
	if r := bob.do(ctx, http.MethodPost, answer, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("another principal's answer: %s, want 404", r.Status)
	}
	if r := c.do(ctx, http.MethodPost, answer, nil); r.StatusCode != http.StatusAccepted {
		t.Fatalf("answer: %s", r.Status)
	}
	final := next()
	if string(final["id"]) != "7" || !strings.Contains(string(final["result"]), `"ok"`) {
		t.Fatalf("call response = %v, want the tool's result", final)
	}
	for _, b := range e.upstreamBodies() {
		if strings.Contains(b, `"action"`) {
			t.Errorf("the answer reached the server: %s", b)
		}
	}

	// A call that accepts only JSON cannot carry the question.
	r := c.do(ctx, http.MethodPost, `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"tool_2","arguments":{"id":"2"}}}`,
		map[string]string{"Accept": contentJSON})
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(body), `"stage":"approval"`) || !strings.Contains(string(body), "does not accept an event stream") {
		t.Errorf("JSON-only held call = %s, want an approval denial saying it cannot be asked", body)
	}
}

// mrtrClient speaks the stateless protocol to the proxy over raw HTTP.
type mrtrClient struct {
	t     *testing.T
	url   string
	token string
	next  int
}

// rpcAnswer is a JSON-RPC response as a test reads it.
type rpcAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int64           `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// inputRequired is an input_required result.
type inputRequiredRes struct {
	ResultType    string `json:"resultType"`
	InputRequests map[string]struct {
		Method string `json:"method"`
		Params struct {
			Mode            string         `json:"mode"`
			Message         string         `json:"message"`
			RequestedSchema map[string]any `json:"requestedSchema"`
		} `json:"params"`
	} `json:"inputRequests"`
	RequestState string `json:"requestState"`
}

// call sends tools/call of tool with args and the extra params members,
// declaring the elicitation capability unless noCap.
func (c *mrtrClient) call(tool string, args any, extra map[string]any, noCap bool) rpcAnswer {
	c.t.Helper()
	caps := map[string]any{"elicitation": map[string]any{}}
	if noCap {
		caps = map[string]any{}
	}
	params := map[string]any{"name": tool, "arguments": args, "_meta": map[string]any{
		metaProtocol: ProtocolStateless, metaCapabilities: caps, metaClientInfo: map[string]any{"name": "raw-client", "version": "1"}}}
	for k, v := range extra {
		params[k] = v
	}
	c.next++
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.next, "method": "tools/call", "params": params})
	if err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodPost, c.url, strings.NewReader(string(b)))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range map[string]string{"Authorization": "Bearer " + c.token, "Accept": contentJSON, "Content-Type": contentJSON,
		headerProtocol: ProtocolStateless, headerMethod: "tools/call", headerName: tool} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var a rpcAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		c.t.Fatalf("answer %s (%s): %v", body, resp.Status, err)
	}
	return a
}

// ask sends a held call and returns the request state of the question.
func (c *mrtrClient) ask(tool string, args any, extra map[string]any) string {
	c.t.Helper()
	a := c.call(tool, args, extra, false)
	var ir inputRequiredRes
	if a.Error != nil || json.Unmarshal(a.Result, &ir) != nil || ir.ResultType != "input_required" || ir.RequestState == "" {
		c.t.Fatalf("held call = %s %+v, want an input_required result", a.Result, a.Error)
	}
	q, ok := ir.InputRequests[ApprovalInputKey]
	if !ok || q.Method != methodElicit || q.Params.Mode != "form" || !strings.Contains(q.Params.Message, strconv.Quote(tool)) ||
		q.Params.RequestedSchema["type"] != "object" {
		c.t.Fatalf("question = %+v", ir.InputRequests)
	}
	return ir.RequestState
}

// retry sends the answer to a question.
func retryParams(state string, answer any) map[string]any {
	return map[string]any{memberRequestState: state, memberInputResponses: map[string]any{ApprovalInputKey: answer}}
}

var (
	yes = map[string]any{"action": "accept", "content": map[string]any{"approve": true}}
	no  = map[string]any{"action": "decline"}
)

// wantDenied checks a is an approval denial whose reason holds why.
func wantDenied(t *testing.T, a rpcAnswer, why string) {
	t.Helper()
	if a.Error == nil {
		t.Fatalf("call ran: %s; want an approval denial (%s)", a.Result, why)
	}
	var d struct{ Stage, Reason string }
	_ = json.Unmarshal(a.Error.Data, &d)
	if a.Error.Code != CodeDenied || d.Stage != StageApproval || !strings.Contains(d.Reason, why) {
		t.Errorf("denial = %d %s, want stage %q naming %q", a.Error.Code, a.Error.Data, StageApproval, why)
	}
}

func wantRan(t *testing.T, a rpcAnswer) {
	t.Helper()
	if a.Error != nil || !strings.Contains(string(a.Result), `"ok"`) || strings.Contains(string(a.Result), "input_required") {
		t.Fatalf("call = %s %+v, want the tool's result", a.Result, a.Error)
	}
}

// TestProxyInputRequiredBinding: the answer of a stateless client is
// bound to the question: a forged or tampered state, another client's
// state, changed arguments, a replayed or expired answer, a malformed or
// missing answer all deny; a denial leaves nothing to retry.
func TestProxyInputRequiredBinding(t *testing.T) {
	t.Parallel()
	clock := approvaltest.NewClock(time.Now())
	e := newProxyEnv(t, proxyConfig{stateless: true, elicit: true,
		approvals: &ApprovalsOptions{ElicitOnly: true, Clock: clock, Timeout: time.Minute}})
	url := e.front.URL + "/mcp"
	alice := &mrtrClient{t: t, url: url, token: aliceToken}
	bob := &mrtrClient{t: t, url: url, token: bobToken}
	args := map[string]any{"id": "1"}

	t.Run("approved once, replay denied", func(t *testing.T) {
		st := alice.ask("tool_2", args, nil)
		wantRan(t, alice.call("tool_2", args, retryParams(st, yes), false))
		wantDenied(t, alice.call("tool_2", args, retryParams(st, yes), false), "used already")
	})
	t.Run("tampered state", func(t *testing.T) {
		st := alice.ask("tool_2", args, nil)
		i := len(stateTag) + 3
		bad := st[:i] + string(rune(st[i]^1)) + st[i+1:]
		wantDenied(t, alice.call("tool_2", args, retryParams(bad, yes), false), "refused")
		// The genuine answer still counts.
		wantRan(t, alice.call("tool_2", args, retryParams(st, yes), false))
	})
	t.Run("forged state", func(t *testing.T) {
		forged, err := sealState([]byte(strings.Repeat("k", 32)), stateClaims{ID: "AAAAAAAAAAAAAAAAAAAAAAAAAA", Principal: "alice",
			Server: "fixture", Agent: testAgent, Tool: "tool_2", Expires: time.Now().Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		wantDenied(t, alice.call("tool_2", args, retryParams(forged, yes), false), "bad signature")
	})
	t.Run("another client's state", func(t *testing.T) {
		st := alice.ask("tool_2", args, nil)
		wantDenied(t, bob.call("tool_2", args, retryParams(st, yes), false), "another client")
		wantRan(t, alice.call("tool_2", args, retryParams(st, yes), false))
	})
	t.Run("changed arguments", func(t *testing.T) {
		st := alice.ask("tool_2", args, nil)
		wantDenied(t, alice.call("tool_2", map[string]any{"id": "2"}, retryParams(st, yes), false), "arguments differ")
	})
	t.Run("declined, then approved", func(t *testing.T) {
		st := alice.ask("tool_2", args, nil)
		wantDenied(t, alice.call("tool_2", args, retryParams(st, no), false), "decline")
		wantDenied(t, alice.call("tool_2", args, retryParams(st, yes), false), "")
	})
	t.Run("malformed answers", func(t *testing.T) {
		for _, answer := range []any{"yes", map[string]any{"action": "accept"}, map[string]any{"action": "accept", "content": map[string]any{"approve": "true"}},
			map[string]any{"action": "accept", "content": map[string]any{"approve": true, "Approve": false}}} {
			st := alice.ask("tool_2", args, nil)
			wantDenied(t, alice.call("tool_2", args, retryParams(st, answer), false), "did not approve")
		}
	})
	t.Run("no answer", func(t *testing.T) {
		st := alice.ask("tool_2", args, nil)
		wantDenied(t, alice.call("tool_2", args, map[string]any{memberRequestState: st}, false), "no answer")
	})
	t.Run("expired", func(t *testing.T) {
		st := alice.ask("tool_2", args, nil)
		clock.Advance(2 * time.Minute)
		wantDenied(t, alice.call("tool_2", args, retryParams(st, yes), false), "expired")
	})
	t.Run("malformed members", func(t *testing.T) {
		for _, extra := range []map[string]any{{memberRequestState: 7}, {memberInputResponses: []int{1}}} {
			a := alice.call("tool_2", args, extra, false)
			if a.Error == nil || a.Error.Code != -32602 {
				t.Errorf("call with %v = %s %+v, want -32602", extra, a.Result, a.Error)
			}
		}
	})
	t.Run("no capability", func(t *testing.T) {
		wantDenied(t, alice.call("tool_2", args, nil, true), "did not declare the elicitation capability")
	})
	for _, b := range e.upstreamBodies() {
		if strings.Contains(b, stateTag) || strings.Contains(b, ApprovalInputKey) {
			t.Errorf("the gateway's members reached the server: %s", b)
		}
	}
	if ev := findEvent(e.log, func(ev audit.Event) bool {
		return ev.Kind == audit.KindToolCall && ev.Tool == "tool_2" && strings.Contains(ev.Decision.Reason, whyAwaitingInput)
	}); ev == nil {
		t.Error("no tool_call audit event records a call awaiting the user's answer")
	}
}

// TestProxyInputRequiredKeepsServerState: a held call that carries the
// server's own requestState and inputResponses (a retry of the server's
// own question) gets them back, unchanged, on the approved retry.
func TestProxyInputRequiredKeepsServerState(t *testing.T) {
	t.Parallel()
	e := newProxyEnv(t, proxyConfig{stateless: true, elicit: true, approvals: &ApprovalsOptions{ElicitOnly: true}})
	alice := &mrtrClient{t: t, url: e.front.URL + "/mcp", token: aliceToken}
	args := map[string]any{"id": "3"}
	server := map[string]any{memberRequestState: "server-state-1", memberInputResponses: map[string]any{"colour": map[string]any{"action": "accept", "content": map[string]any{"colour": "teal"}}}}
	st := alice.ask("tool_2", args, server)
	wantRan(t, alice.call("tool_2", args, retryParams(st, yes), false))
	var got []string
	for _, b := range e.upstreamBodies() {
		if strings.Contains(b, `"tools/call"`) {
			got = append(got, b)
		}
	}
	if len(got) != 1 {
		t.Fatalf("calls that reached the server: %v, want 1", got)
	}
	var m struct {
		Params map[string]json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal([]byte(got[0]), &m); err != nil {
		t.Fatal(err)
	}
	if string(m.Params[memberRequestState]) != `"server-state-1"` || !strings.Contains(string(m.Params[memberInputResponses]), `"teal"`) ||
		strings.Contains(string(m.Params[memberInputResponses]), ApprovalInputKey) {
		t.Errorf("the server got params %s, want its own state and answers back", got[0])
	}
}
