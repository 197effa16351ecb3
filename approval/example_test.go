package approval_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/approval/approvaltest"
)

// A deploy needs two of three approvers. The agent waits; once the quorum
// approves, the approval is used exactly once, for exactly these arguments.
func Example() {
	clock := approvaltest.NewClock(time.Time{})
	b, err := approval.New(approval.Options{Clock: clock})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	ctx := context.Background()

	sum := sha256.Sum256([]byte(`{"env":"prod"}`))
	args := hex.EncodeToString(sum[:])
	t, err := b.Submit(ctx, approval.Request{
		AgentID: "release-bot", Tool: "deploy", ArgsHash: args,
		Rule: "prod-deploys", Reason: "production deploys need two approvers",
		Approvers: []string{"alice", "bob", "carol"}, Quorum: 2, Timeout: 15 * time.Minute,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("submitted:", t.Status)

	_, err = b.Decide(ctx, t.ID, approval.Vote{Approver: "release-bot", Approve: true})
	fmt.Println("self-approval refused:", errors.Is(err, approval.ErrSelfApproval))
	_, _ = b.Decide(ctx, t.ID, approval.Vote{Approver: "alice", Approve: true})
	_, _ = b.Decide(ctx, t.ID, approval.Vote{Approver: "carol", Approve: true, Comment: "LGTM"})

	t, _ = b.Wait(ctx, t.ID)
	fmt.Println(t.Reason)

	_, err = b.Consume(ctx, "release-bot", "deploy", args)
	fmt.Println("first use:", err)
	_, err = b.Consume(ctx, "release-bot", "deploy", args)
	fmt.Println("replay refused:", errors.Is(err, approval.ErrNotApproved))

	// Nobody answers this one in time.
	t, _ = b.Submit(ctx, approval.Request{AgentID: "release-bot", Tool: "rollback", ArgsHash: args, Timeout: time.Minute})
	clock.Advance(time.Minute)
	t, _ = b.Get(t.ID)
	fmt.Println(t.Reason)
	// Output:
	// submitted: pending
	// self-approval refused: true
	// approved by "alice", "carol" (2 of 2 required)
	// first use: <nil>
	// replay refused: true
	// expired: no decision within 1m0s (0 of 1 approvals)
}

// A Webhook tells people about each step; pass it as Options.Notifier.
func ExampleNewWebhook() {
	w, err := approval.NewWebhook(approval.WebhookOptions{
		URL:    "https://hooks.example.com/approvals",
		Secret: []byte("shared-secret"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	b, err := approval.New(approval.Options{Notifier: w})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	_, err = approval.NewWebhook(approval.WebhookOptions{URL: "https://user:pass@hooks.example.com/"})
	fmt.Println(err)
	// Output:
	// approval: WebhookOptions.URL: must not carry user information (use Secret to authenticate)
}
