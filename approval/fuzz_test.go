package approval_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
)

// FuzzVotes drives one request with a random sequence of votes, uses and
// clock moves, and checks against a model that it is never approved without
// a quorum of distinct eligible approvers and no eligible deny, and that its
// approval is used at most once, only by the bound action.
func FuzzVotes(f *testing.F) {
	f.Add([]byte{0x03, 0x02, 0x00, 0x01, 0x80})             // alice, bob; quorum 2; both approve; use
	f.Add([]byte{0x07, 0x02, 0x00, 0x40, 0x01, 0x80})       // a deny in between
	f.Add([]byte{0x00, 0x01, 0x05, 0x04, 0x80, 0x80})       // open request; self vote; eve approves; use twice
	f.Add([]byte{0x0f, 0x03, 0x00, 0x00, 0x01, 0xc0, 0x02}) // duplicate vote, then time runs out
	f.Add([]byte{0x01, 0x01, 0x00, 0x81, 0x82, 0x83, 0x80}) // uses with the wrong binding first
	f.Add([]byte{0x03, 0x01, 0x06, 0x07, 0x00, 0xff, 0x80}) // empty approver name, then expiry of the approval
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		pool := []string{"alice", "bob", "carol", "dave"}
		names := []string{"alice", "bob", "carol", "dave", "eve", "a", "", "mallory"}
		var approvers []string
		for i, n := range pool {
			if data[0]&(1<<i) != 0 {
				approvers = append(approvers, n)
			}
		}
		quorum := int(data[1]%4) + 1
		if len(approvers) > 0 {
			quorum = int(data[1])%len(approvers) + 1
		}
		e := newEnv(t, approval.Options{Notifier: discard{}})
		ctx := context.Background()
		r := req(func(r *approval.Request) { r.Approvers, r.Quorum, r.Timeout = approvers, quorum, time.Minute })
		tk := mustSubmit(t, e.b, r)
		isEligible := func(n string) bool {
			return n != "" && n != r.AgentID && (len(approvers) == 0 || slices.Contains(approvers, n))
		}
		var approvedBy []string
		denied, uses := false, 0
		for _, op := range data[2:] {
			who := names[op&7]
			switch op >> 6 {
			case 0, 1:
				approve := op>>6 == 0
				before, _ := e.b.Get(tk.ID)
				_, err := e.b.Decide(ctx, tk.ID, approval.Vote{Approver: who, Approve: approve})
				counted := before.Status == approval.Pending && isEligible(who) && !slices.Contains(approvedBy, who) && !denied &&
					e.clock.Now().Before(before.ExpiresAt)
				if counted != (err == nil) {
					t.Fatalf("vote %q approve=%v on %v: err %v, model says counted=%v", who, approve, before.Status, err, counted)
				}
				if err == nil {
					if approve {
						approvedBy = append(approvedBy, who)
					} else {
						denied = true
					}
				}
			case 2:
				agent, tool, h := r.AgentID, r.Tool, r.ArgsHash
				switch op & 3 {
				case 1:
					agent = "b"
				case 2:
					tool = "other"
				case 3:
					h = hash("other")
				}
				got, err := e.b.Consume(ctx, agent, tool, h)
				if err == nil {
					uses++
					if op&3 != 0 || got.ID != tk.ID {
						t.Fatalf("Consume(%q, %q, %s) used %s: wrong binding", agent, tool, h, got.ID)
					}
				} else if !errors.Is(err, approval.ErrNotApproved) {
					t.Fatalf("Consume = %v", err)
				}
			case 3:
				e.clock.Advance(time.Duration(op&0x3f) * time.Second)
			}
			got, err := e.b.Get(tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			if uses > 1 {
				t.Fatalf("approval used %d times", uses)
			}
			if got.Status == approval.Approved && (denied || len(approvedBy) < quorum) {
				t.Fatalf("approved with %v (quorum %d, denied %v)", approvedBy, quorum, denied)
			}
			if got.Status == approval.Denied && !denied {
				t.Fatal("denied without an eligible deny")
			}
			if uses == 1 && !got.Consumed() || uses == 0 && got.Consumed() {
				t.Fatalf("uses %d, ticket consumed %v", uses, got.Consumed())
			}
			var voters []string
			for _, v := range got.Votes {
				if !isEligible(v.Approver) || slices.Contains(voters, v.Approver) {
					t.Fatalf("votes %+v: ineligible or repeated approver", got.Votes)
				}
				voters = append(voters, v.Approver)
			}
		}
	})
}

// FuzzSubmit feeds arbitrary request fields to Submit: it never panics, and
// an accepted request is well-formed and bound to a SHA-256 hex hash.
func FuzzSubmit(f *testing.F) {
	f.Add("a", "deploy", hash("{}"), "alice", "bob", 2, int64(time.Minute))
	f.Add("", "deploy", hash("{}"), "", "", 0, int64(0))
	f.Add("a", "t", "XYZ", "a", "a", -1, int64(-1))
	f.Add("agent\x00", "tool\xff", hash("x")+"0", "alice", "alice", 1, int64(48*time.Hour))
	e := newEnv(f, approval.Options{MaxPending: 1 << 20, MaxHistory: 1, Notifier: discard{}})
	f.Fuzz(func(t *testing.T, agent, tool, h, ap1, ap2 string, quorum int, timeout int64) {
		var approvers []string
		if ap1 != "" || ap2 != "" {
			approvers = []string{ap1, ap2}
		}
		r := approval.Request{AgentID: agent, Tool: tool, ArgsHash: h, Approvers: approvers, Quorum: quorum, Timeout: time.Duration(timeout)}
		tk, err := e.b.Submit(context.Background(), r)
		if err != nil {
			var fe *approval.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Submit = %v, want a FieldError", err)
			}
			return
		}
		q := tk.Request
		if q.AgentID == "" || q.Tool == "" || len(q.ArgsHash) != 64 || q.Quorum < 1 ||
			len(q.Approvers) > 0 && q.Quorum > len(q.Approvers) || slices.Contains(q.Approvers, q.AgentID) ||
			q.Timeout <= 0 || tk.Status != approval.Pending {
			t.Fatalf("accepted a malformed request: %+v", tk)
		}
		if _, err := e.b.Cancel(context.Background(), tk.ID, "fuzz"); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzWebhookURL checks that NewWebhook accepts only http(s) URLs with a
// host and no user information.
func FuzzWebhookURL(f *testing.F) {
	for _, s := range []string{"https://example.com/hook", "http://127.0.0.1:8080", "https://u:p@example.com", "file:///x",
		"HTTPS://EXAMPLE.COM", "https://[::1]:443/x?y=z", "https:///x", "//example.com", "http://%41", "https://example.com#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		w, err := approval.NewWebhook(approval.WebhookOptions{URL: raw})
		if err != nil {
			if !errors.Is(err, approval.ErrInvalid) {
				t.Fatalf("NewWebhook(%q) = %v, want ErrInvalid", raw, err)
			}
			return
		}
		defer w.Close()
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Hostname() == "" {
			t.Fatalf("NewWebhook accepted %q", raw)
		}
	})
}

// discard is a Notifier that drops every event.
type discard struct{}

func (discard) Notify(approval.Event) {}
