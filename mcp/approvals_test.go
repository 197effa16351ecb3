package mcp

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp/mcptest"
)

// chanNotifier passes approval events to a channel.
type chanNotifier chan approval.Event

func (c chanNotifier) Notify(e approval.Event) { c <- e }

func TestApprovalsStandaloneFlow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	events := make(chanNotifier, 64)
	var ap *Approvals
	e := newEnv(t, envConfig{fixture: mcptest.Options{ExtraTools: 3}, approver: func(a kernel.Auditor) kernel.Approver {
		var err error
		ap, err = NewApprovals(ApprovalsOptions{Dir: dir, Auditor: a, Webhook: events})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ap.Close() })
		return ap
	}})
	ctx := context.Background()
	if _, err := e.cs.ListTools(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		approve bool
	}{{"approved", true}, {"denied", false}} {
		done := make(chan error, 1)
		var res *sdk.CallToolResult
		go func() {
			var err error
			res, err = e.cs.CallTool(ctx, &sdk.CallToolParams{Name: "tool_2", Arguments: map[string]any{"id": tc.name, "api_key": "k-" + tc.name}})
			done <- err
		}()
		var sub approval.Event
		for sub = range events {
			if sub.Kind == approval.EventSubmitted {
				break
			}
		}
		pending, err := ListPending(dir)
		if err != nil || len(pending) != 1 || pending[0].ID != sub.RequestID || pending[0].Tool != "tool_2" {
			t.Fatalf("%s: pending = %+v, %v", tc.name, pending, err)
		}
		// Whoever decides sees the arguments, redacted.
		if got, err := audit.CanonicalJSON(pending[0].ArgsPreview); err != nil || string(got) != `{"api_key":"[REDACTED]","id":"`+tc.name+`"}` {
			t.Errorf("%s: pending args_preview = %s, want the arguments with api_key redacted", tc.name, pending[0].ArgsPreview)
		}
		for _, ev := range e.events(audit.KindApproval) {
			if strings.Contains(string(ev.Args), "k-"+tc.name) {
				t.Errorf("%s: an approval step in the audit log shows the secret: %s", tc.name, ev.Args)
			}
		}
		if err := WriteVote(dir, "no-such-request-id", ApprovalVote{Approver: "alice", Approve: true}); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("vote for an unknown request: %v", err)
		}
		if err := WriteVote(dir, sub.RequestID, ApprovalVote{Approver: "alice", Approve: tc.approve}); err != nil {
			t.Fatal(err)
		}
		ap.Poll(ctx)
		err = <-done
		if tc.approve {
			if err != nil || resultText(res) != "ok" {
				t.Fatalf("approved call = %v, %v", res, err)
			}
		} else {
			var we *jsonrpc.Error
			if !errors.As(err, &we) || we.Code != CodeDenied {
				t.Fatalf("denied call = %v", err)
			}
		}
		if left, _ := ListPending(dir); len(left) != 0 {
			t.Errorf("%s: %d pending files left", tc.name, len(left))
		}
	}
	if n := len(e.events(audit.KindApproval)); n < 4 {
		t.Errorf("%d approval audit events, want at least 4", n)
	}
}
