package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp/mcptest"
)

// elicitEnv is an env whose kernel asks approvals through Approvals and
// whose client answers elicitations with handler (nil: a client without
// the capability).
func elicitEnv(t *testing.T, handler func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error), opts ApprovalsOptions) *env {
	t.Helper()
	// Elicitation is a server-to-client request of the session-era
	// protocol (initialize declares the capability).
	return elicitEnvVersion(t, "2025-11-25", handler, opts)
}

// elicitEnvVersion is elicitEnv with a client of protocol version.
func elicitEnvVersion(t *testing.T, version string, handler func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error), opts ApprovalsOptions) *env {
	t.Helper()
	return newEnv(t, envConfig{
		fixture:  mcptest.Options{ExtraTools: 3},
		client:   &sdk.ClientOptions{ElicitationHandler: handler},
		elicit:   true,
		protocol: version,
		approver: func(a kernel.Auditor) kernel.Approver {
			opts.Dir, opts.Auditor = t.TempDir(), a
			ap, err := NewApprovals(opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ap.Close() })
			return ap
		},
	})
}

// approvalVotes returns the approvers of the audited approval votes.
func approvalVotes(e *env) []string {
	var out []string
	for _, ev := range e.events(audit.KindApproval) {
		var args struct {
			Step, Approver string
			Approve        bool
		}
		_ = json.Unmarshal(ev.Args, &args)
		if args.Approver != "" {
			out = append(out, args.Approver+"="+map[bool]string{true: "yes", false: "no"}[args.Approve])
		}
	}
	return out
}

func TestApprovalByElicitation(t *testing.T) {
	t.Parallel()
	// The fake AWS key must never reach the question shown to the user.
	args := map[string]any{"id": "42", "token": mcptest.FakeAWSKey}
	tests := []struct {
		name      string
		answer    func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error)
		opts      ApprovalsOptions
		allowed   bool
		wantVotes string // the audited votes, joined
	}{
		{"accept and approve", func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": true}}, nil
		}, ApprovalsOptions{}, true, "elicitation:test-client=yes"},
		{"accept without approving", func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": false}}, nil
		}, ApprovalsOptions{}, false, "elicitation:test-client=no"},
		{"decline", func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "decline"}, nil
		}, ApprovalsOptions{}, false, "elicitation:test-client=no"},
		{"cancel", func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "cancel"}, nil
		}, ApprovalsOptions{}, false, "elicitation:test-client=no"},
		{"client error", func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return nil, errors.New("no user interface")
		}, ApprovalsOptions{}, false, "elicitation:test-client=no"},
		{"timeout", func(ctx context.Context, _ *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			<-ctx.Done() // the gateway cancels the question when the request expires
			return nil, ctx.Err()
		}, ApprovalsOptions{Timeout: 300 * time.Millisecond}, false, ""},
		{"no capability, elicitation only", nil, ApprovalsOptions{ElicitOnly: true}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var asked []*sdk.ElicitParams
			var handler func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error)
			if tt.answer != nil {
				handler = func(ctx context.Context, req *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
					mu.Lock()
					asked = append(asked, req.Params)
					mu.Unlock()
					return tt.answer(ctx, req)
				}
			}
			e := elicitEnv(t, handler, tt.opts)
			r, err := e.cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "tool_2", Arguments: args})
			if tt.allowed {
				if err != nil || r.IsError || resultText(r) != "ok" {
					t.Fatalf("approved call = %v, %v", r, err)
				}
			} else {
				if err == nil {
					t.Fatalf("call not approved ran: %v", resultText(r))
				}
				if _, d := wireError(t, err); d.Stage != StageApproval {
					t.Errorf("denial stage = %q, want %q", d.Stage, StageApproval)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.answer != nil {
				if len(asked) != 1 {
					t.Fatalf("the user was asked %d times, want once", len(asked))
				}
				msg := asked[0].Message
				for _, want := range []string{`"fixture"`, `"tool_2"`, `"approve-tool-2"`, `"42"`, "Approve this call?"} {
					if !strings.Contains(msg, want) {
						t.Errorf("question %q lacks %s", msg, want)
					}
				}
				if strings.Contains(msg, mcptest.FakeAWSKey) {
					t.Errorf("question shows the secret argument: %q", msg)
				}
			}
			if got := strings.Join(approvalVotes(e), ","); got != tt.wantVotes {
				t.Errorf("audited votes = %q, want %q", got, tt.wantVotes)
			}
		})
	}
}

// TestElicitationApprovalOneUse: an approval given through elicitation
// is used by the call it was asked for, not by a later call.
func TestElicitationApprovalOneUse(t *testing.T) {
	t.Parallel()
	var n int
	var mu sync.Mutex
	e := elicitEnv(t, func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": n == 1}}, nil
	}, ApprovalsOptions{})
	args := map[string]any{"id": "1"}
	if r, err := e.cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "tool_2", Arguments: args}); err != nil || r.IsError {
		t.Fatalf("first call = %v, %v", r, err)
	}
	if _, err := e.cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "tool_2", Arguments: args}); err == nil {
		t.Fatal("second call ran on the first call's approval")
	}
}

// TestClientCannotAnswerServerRequests: a client response in the
// gateway's ID namespace only answers the gateway's requests to the
// client, never one the gateway sent the server.
func TestClientCannotAnswerServerRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{skipClient: true})
	exchange(t, e.raw, initMsg)
	// A forged answer to a gateway request id is dropped: the session goes
	// on and lists the real tools.
	if err := e.raw.Write(t.Context(), []byte(`{"jsonrpc":"2.0","id":"`+GatewayIDPrefix+`1","result":{"tools":[{"name":"forged","inputSchema":{"type":"object"}}]}}`)); err != nil {
		t.Fatal(err)
	}
	res := exchange(t, e.raw, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"forged","arguments":{}}}`)
	if res[0]["error"] == nil {
		t.Fatalf("call of a forged tool = %v, want a denial", res[0])
	}
}

// TestApprovalByInputRequiredStdio: a stateless (2026-07-28) client of
// mcp wrap, which takes no requests, is asked with an input_required
// result; its SDK retries the call with the user's answer.
func TestApprovalByInputRequiredStdio(t *testing.T) {
	t.Parallel()
	for _, approve := range []bool{true, false} {
		t.Run(map[bool]string{true: "approved", false: "declined"}[approve], func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			asked := 0
			e := elicitEnvVersion(t, ProtocolStateless, func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
				mu.Lock()
				asked++
				mu.Unlock()
				return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": approve}}, nil
			}, ApprovalsOptions{ElicitOnly: true})
			r, err := e.cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "tool_2", Arguments: map[string]any{"id": "7"}})
			switch {
			case approve && (err != nil || r.IsError || resultText(r) != "ok"):
				t.Fatalf("approved call = %v, %v", r, err)
			case !approve && err == nil:
				t.Fatalf("declined call ran: %v", resultText(r))
			case !approve:
				if _, d := wireError(t, err); d.Stage != StageApproval {
					t.Errorf("denial stage = %q, want %q", d.Stage, StageApproval)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if asked != 1 {
				t.Errorf("the user was asked %d times, want once", asked)
			}
			if findEvent(e.log, func(ev audit.Event) bool {
				return ev.Kind == audit.KindToolCall && strings.Contains(ev.Decision.Reason, whyAwaitingInput)
			}) == nil {
				t.Error("the call was not held for an input_required answer")
			}
			want := "elicitation:test-client=" + map[bool]string{true: "yes", false: "no"}[approve]
			if got := strings.Join(approvalVotes(e), ","); got != want {
				t.Errorf("audited votes = %q, want %q", got, want)
			}
		})
	}
}
