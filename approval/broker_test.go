package approval_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/approval/approvaltest"
)

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  approval.Options
		field string
	}{
		{"negative default timeout", approval.Options{DefaultTimeout: -1}, "Options.DefaultTimeout"},
		{"negative max timeout", approval.Options{MaxTimeout: -1}, "Options.MaxTimeout"},
		{"default above max", approval.Options{DefaultTimeout: 2 * time.Hour, MaxTimeout: time.Hour}, "Options.DefaultTimeout"},
		{"negative record timeout", approval.Options{RecordTimeout: -1}, "Options.RecordTimeout"},
		{"negative max pending", approval.Options{MaxPending: -1}, "Options.MaxPending"},
		{"negative max history", approval.Options{MaxHistory: -1}, "Options.MaxHistory"},
		{"fatigue without window", approval.Options{Fatigue: approval.Fatigue{MaxRequests: 3}}, "Options.Fatigue.Window"},
		{"fatigue without max", approval.Options{Fatigue: approval.Fatigue{Window: time.Minute}}, "Options.Fatigue.MaxRequests"},
		{"fatigue negative max", approval.Options{Fatigue: approval.Fatigue{MaxRequests: -1, Window: time.Minute}}, "Options.Fatigue.MaxRequests"},
		{"fatigue agents while off", approval.Options{Fatigue: approval.Fatigue{MaxAgents: 5}}, "Options.Fatigue.MaxAgents"},
		{"fatigue negative agents", approval.Options{Fatigue: approval.Fatigue{MaxRequests: 1, Window: time.Minute, MaxAgents: -1}}, "Options.Fatigue.MaxAgents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := approval.New(tt.opts)
			var fe *approval.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, approval.ErrInvalid) {
				t.Fatalf("New(%+v) = %v, %v; want a FieldError for %s", tt.opts, b, err, tt.field)
			}
		})
	}
	b, err := approval.New(approval.Options{})
	if err != nil {
		t.Fatalf("New(zero Options) = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSubmitValidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{MaxTimeout: time.Hour})
	long := strings.Repeat("x", approval.MaxNameBytes+1)
	tests := []struct {
		name  string
		mod   func(*approval.Request)
		field string
	}{
		{"no agent", func(r *approval.Request) { r.AgentID = "" }, "Request.AgentID"},
		{"no tool", func(r *approval.Request) { r.Tool = "" }, "Request.Tool"},
		{"long tool", func(r *approval.Request) { r.Tool = long }, "Request.Tool"},
		{"control char in agent", func(r *approval.Request) { r.AgentID = "a\nb" }, "Request.AgentID"},
		{"bad utf8 rule", func(r *approval.Request) { r.Rule = "\xff" }, "Request.Rule"},
		{"no hash", func(r *approval.Request) { r.ArgsHash = "" }, "Request.ArgsHash"},
		{"short hash", func(r *approval.Request) { r.ArgsHash = "abc" }, "Request.ArgsHash"},
		{"non-hex hash", func(r *approval.Request) { r.ArgsHash = strings.Repeat("g", 64) }, "Request.ArgsHash"},
		{"empty approver", func(r *approval.Request) { r.Approvers = []string{"alice", ""} }, "Request.Approvers[1]"},
		{"duplicate approver", func(r *approval.Request) { r.Approvers = []string{"alice", "bob", "alice"} }, "Request.Approvers[2]"},
		{"agent as approver", func(r *approval.Request) { r.Approvers = []string{"a"} }, "Request.Approvers[0]"},
		{"negative quorum", func(r *approval.Request) { r.Quorum = -1 }, "Request.Quorum"},
		{"quorum above approvers", func(r *approval.Request) { r.Approvers = []string{"alice", "bob"}; r.Quorum = 3 }, "Request.Quorum"},
		{"open quorum too large", func(r *approval.Request) { r.Quorum = approval.MaxOpenQuorum + 1 }, "Request.Quorum"},
		{"negative timeout", func(r *approval.Request) { r.Timeout = -time.Second }, "Request.Timeout"},
		{"timeout above max", func(r *approval.Request) { r.Timeout = 2 * time.Hour }, "Request.Timeout"},
		{"bad utf8 reason", func(r *approval.Request) { r.Reason = "\xff" }, "Request.Reason"},
		{"preview not JSON", func(r *approval.Request) { r.ArgsPreview = json.RawMessage(`{"a":`) }, "Request.ArgsPreview"},
		{"preview too large", func(r *approval.Request) {
			r.ArgsPreview = json.RawMessage(`"` + strings.Repeat("x", approval.MaxArgsPreviewBytes) + `"`)
		}, "Request.ArgsPreview"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.b.Submit(t.Context(), req(tt.mod))
			var fe *approval.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Submit = %v, want a FieldError for %s", err, tt.field)
			}
		})
	}
	t.Run("defaults and normalization", func(t *testing.T) {
		t.Parallel()
		preview := json.RawMessage(`{"path":"/srv/app","password":"[REDACTED]"}`)
		tk := mustSubmit(t, e.b, req(func(r *approval.Request) {
			r.ArgsHash = strings.ToUpper(r.ArgsHash)
			r.Reason = strings.Repeat("é", approval.MaxReasonBytes)
			r.ArgsPreview = preview
		}))
		preview[2] = 'X' // the broker keeps its own copy
		if got, _ := e.b.Get(tk.ID); string(got.Request.ArgsPreview) != `{"path":"/srv/app","password":"[REDACTED]"}` {
			t.Errorf("ArgsPreview = %s, want the submitted preview, unshared", got.Request.ArgsPreview)
		}
		tk.Request.ArgsPreview[2] = 'Y' // tickets are copies
		if got, _ := e.b.Get(tk.ID); got.Request.ArgsPreview[2] != 'p' {
			t.Errorf("ArgsPreview = %s: changed through a ticket", got.Request.ArgsPreview)
		}
		if tk.Request.Quorum != 1 || tk.Request.Timeout != approval.DefaultTimeout || tk.Status != approval.Pending {
			t.Errorf("ticket = %+v, want quorum 1, timeout %v, pending", tk, approval.DefaultTimeout)
		}
		if tk.Request.ArgsHash != hash(`{"v":1}`) {
			t.Errorf("ArgsHash = %q, want lower case", tk.Request.ArgsHash)
		}
		if len(tk.Request.Reason) > approval.MaxReasonBytes || !strings.HasPrefix(tk.Request.Reason, "é") || strings.ContainsRune(tk.Request.Reason, '\uFFFD') {
			t.Errorf("Reason cut to %d bytes, want at most %d on a character boundary", len(tk.Request.Reason), approval.MaxReasonBytes)
		}
		if !tk.ExpiresAt.Equal(tk.CreatedAt.Add(approval.DefaultTimeout)) {
			t.Errorf("ExpiresAt = %v, want CreatedAt + %v", tk.ExpiresAt, approval.DefaultTimeout)
		}
	})
}

func TestIDsAreUnguessable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	seen := map[string]bool{}
	for range 200 {
		tk := mustSubmit(t, e.b, req(nil))
		if len(tk.ID) < 26 || seen[tk.ID] {
			t.Fatalf("ID %q: too short or repeated", tk.ID)
		}
		seen[tk.ID] = true
	}
}

func TestQuorum(t *testing.T) {
	t.Parallel()
	type step struct {
		v       approval.Vote
		wantErr error
		want    approval.Status
	}
	tests := []struct {
		name      string
		approvers []string
		quorum    int
		steps     []step
		reason    string
	}{
		{"one approval approves by default", nil, 0, []step{{vote("alice", true), nil, approval.Approved}}, `approved by "alice" (1 of 1 required)`},
		{"two of three", []string{"alice", "bob", "carol"}, 2, []step{
			{vote("alice", true), nil, approval.Pending},
			{vote("carol", true), nil, approval.Approved},
		}, `approved by "alice", "carol" (2 of 2 required)`},
		{"same approver counts once", []string{"alice", "bob"}, 2, []step{
			{vote("alice", true), nil, approval.Pending},
			{vote("alice", true), approval.ErrDuplicateVote, approval.Pending},
			{vote("bob", true), nil, approval.Approved},
		}, ""},
		{"unlisted approver refused", []string{"alice", "bob"}, 1, []step{
			{vote("mallory", true), approval.ErrNotEligible, approval.Pending},
			{vote("bob", true), nil, approval.Approved},
		}, ""},
		{"the agent cannot vote on its own request", nil, 1, []step{
			{vote("a", true), approval.ErrSelfApproval, approval.Pending},
			{vote("ops", true), nil, approval.Approved},
		}, ""},
		{"one deny vetoes", []string{"alice", "bob", "carol"}, 2, []step{
			{vote("alice", true), nil, approval.Pending},
			{approval.Vote{Approver: "bob", Comment: "not on a Friday"}, nil, approval.Denied},
			{vote("carol", true), approval.ErrNotPending, approval.Denied},
		}, `denied by "bob": not on a Friday`},
		{"ineligible deny does not count", []string{"alice"}, 1, []step{
			{vote("mallory", false), approval.ErrNotEligible, approval.Pending},
			{vote("alice", true), nil, approval.Approved},
		}, ""},
		{"no votes after approval", nil, 1, []step{
			{vote("alice", true), nil, approval.Approved},
			{vote("bob", false), approval.ErrNotPending, approval.Approved},
		}, ""},
		{"open request needs distinct names", nil, 3, []step{
			{vote("x", true), nil, approval.Pending},
			{vote("x", true), approval.ErrDuplicateVote, approval.Pending},
			{vote("y", true), nil, approval.Pending},
			{vote("z", true), nil, approval.Approved},
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, approval.Options{})
			tk := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Approvers, r.Quorum = tt.approvers, tt.quorum }))
			for i, s := range tt.steps {
				_, err := e.b.Decide(t.Context(), tk.ID, s.v)
				if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d: Decide(%+v) = %v, want %v", i, s.v, err, s.wantErr)
				}
				got, err := e.b.Get(tk.ID)
				if err != nil || got.Status != s.want {
					t.Fatalf("step %d: status = %v (%v), want %v", i, got.Status, err, s.want)
				}
			}
			got, _ := e.b.Get(tk.ID)
			if tt.reason != "" && got.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", got.Reason, tt.reason)
			}
			// Every vote, counted or refused, was recorded.
			n := 0
			for _, k := range e.rec.kinds() {
				if k == approval.EventVoted || k == approval.EventVoteRejected {
					n++
				}
			}
			if n != len(tt.steps) {
				t.Errorf("recorded %d vote events, want %d", n, len(tt.steps))
			}
		})
	}
}

func TestDecideRejectsBadVotes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	tk := mustSubmit(t, e.b, req(nil))
	tests := []struct {
		name string
		v    approval.Vote
		want string
	}{
		{"no approver", approval.Vote{Approve: true}, "Vote.Approver"},
		{"long comment", approval.Vote{Approver: "x", Comment: strings.Repeat("c", approval.MaxReasonBytes+1)}, "Vote.Comment"},
		{"bad utf8 comment", approval.Vote{Approver: "x", Comment: "\xff"}, "Vote.Comment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.b.Decide(t.Context(), tk.ID, tt.v)
			var fe *approval.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.want {
				t.Fatalf("Decide = %v, want a FieldError for %s", err, tt.want)
			}
		})
	}
	if _, err := e.b.Decide(t.Context(), "no-such-id", vote("x", true)); !errors.Is(err, approval.ErrNotFound) {
		t.Errorf("Decide(unknown) = %v, want ErrNotFound", err)
	}
	if got, _ := e.b.Get(tk.ID); got.Status != approval.Pending || len(got.Votes) != 0 {
		t.Errorf("after bad votes: %+v, want pending without votes", got)
	}
}

func TestSingleUseAndBinding(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	ctx := t.Context()
	tk := mustSubmit(t, e.b, req(nil))
	if _, err := e.b.Consume(ctx, "a", "deploy", hash(`{"v":1}`)); !errors.Is(err, approval.ErrNotApproved) {
		t.Fatalf("Consume before approval = %v, want ErrNotApproved", err)
	}
	if _, err := e.b.Decide(ctx, tk.ID, vote("ops", true)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, agent, tool, hash string }{
		{"another agent", "b", "deploy", hash(`{"v":1}`)},
		{"another tool", "a", "delete", hash(`{"v":1}`)},
		{"other arguments", "a", "deploy", hash(`{"v":2}`)},
		{"no arguments hash", "a", "deploy", ""},
	} {
		if _, err := e.b.Consume(ctx, c.agent, c.tool, c.hash); !errors.Is(err, approval.ErrNotApproved) {
			t.Errorf("Consume(%s) = %v, want ErrNotApproved", c.name, err)
		}
	}
	got, err := e.b.Consume(ctx, "a", "deploy", strings.ToUpper(hash(`{"v":1}`)))
	if err != nil || got.ID != tk.ID || !got.Consumed() || got.Status != approval.Approved {
		t.Fatalf("Consume = %+v, %v; want request %s used", got, err, tk.ID)
	}
	if _, err := e.b.Consume(ctx, "a", "deploy", hash(`{"v":1}`)); !errors.Is(err, approval.ErrNotApproved) {
		t.Errorf("second Consume = %v, want ErrNotApproved (single use)", err)
	}
	if _, err := e.b.Cancel(ctx, tk.ID, "too late"); !errors.Is(err, approval.ErrNotPending) {
		t.Errorf("Cancel of a used approval = %v, want ErrNotPending", err)
	}
	want := []approval.EventKind{approval.EventSubmitted, approval.EventVoted, approval.EventConsumed}
	if k := e.rec.kinds(); !slices.Equal(k, want) {
		t.Errorf("recorded %v, want %v", k, want)
	}
}

func TestConsumeOldestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	ctx := t.Context()
	first := mustSubmit(t, e.b, req(nil))
	e.clock.Advance(time.Second)
	second := mustSubmit(t, e.b, req(nil))
	for _, id := range []string{second.ID, first.ID} {
		if _, err := e.b.Decide(ctx, id, vote("ops", true)); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []string{second.ID, first.ID} { // approval order
		got, err := e.b.Consume(ctx, "a", "deploy", hash(`{"v":1}`))
		if err != nil || got.ID != want {
			t.Fatalf("Consume %d = %s, %v; want %s", i, got.ID, err, want)
		}
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	t.Run("pending request expires and wakes its waiter", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, approval.Options{})
		tk := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Timeout = time.Minute; r.Quorum = 2 }))
		if _, err := e.b.Decide(t.Context(), tk.ID, vote("alice", true)); err != nil {
			t.Fatal(err)
		}
		done := make(chan approval.Ticket, 1)
		go func() {
			got, err := e.b.Wait(context.Background(), tk.ID)
			if err != nil {
				t.Error(err)
			}
			done <- got
		}()
		e.clock.Advance(59 * time.Second)
		if got, _ := e.b.Get(tk.ID); got.Status != approval.Pending {
			t.Fatalf("before the deadline: %v, want pending", got.Status)
		}
		e.clock.Advance(time.Second)
		got := <-done
		if got.Status != approval.Expired || got.Reason != "expired: no decision within 1m0s (1 of 2 approvals)" {
			t.Fatalf("Wait = %v %q, want expired", got.Status, got.Reason)
		}
		if _, err := e.b.Decide(t.Context(), tk.ID, vote("bob", true)); !errors.Is(err, approval.ErrExpired) {
			t.Errorf("Decide after expiry = %v, want ErrExpired", err)
		}
		if e.clock.Timers() != 0 {
			t.Errorf("%d timers left", e.clock.Timers())
		}
	})
	t.Run("unused approval lapses", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, approval.Options{})
		tk := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Timeout = time.Minute }))
		if _, err := e.b.Decide(t.Context(), tk.ID, vote("ops", true)); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		got, _ := e.b.Get(tk.ID)
		if got.Status != approval.Expired || got.Reason != "expired: approved but not used within 1m0s" {
			t.Fatalf("status = %v %q, want expired", got.Status, got.Reason)
		}
		if _, err := e.b.Consume(t.Context(), "a", "deploy", hash(`{"v":1}`)); !errors.Is(err, approval.ErrNotApproved) {
			t.Errorf("Consume after lapse = %v, want ErrNotApproved", err)
		}
	})
	t.Run("deadline holds even if the timer is late", func(t *testing.T) {
		t.Parallel()
		clock := lateClock{approvaltest.NewClock(time.Time{})}
		e := newEnv(t, approval.Options{Clock: clock})
		p := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Timeout = time.Minute }))
		a := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Timeout = time.Minute; r.Tool = "other" }))
		if _, err := e.b.Decide(t.Context(), a.ID, vote("ops", true)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if _, err := e.b.Decide(t.Context(), p.ID, vote("ops", true)); !errors.Is(err, approval.ErrExpired) {
			t.Errorf("Decide at the deadline = %v, want ErrExpired", err)
		}
		if _, err := e.b.Consume(t.Context(), "a", "other", hash(`{"v":1}`)); !errors.Is(err, approval.ErrNotApproved) {
			t.Errorf("Consume at the deadline = %v, want ErrNotApproved", err)
		}
		for _, id := range []string{p.ID, a.ID} {
			if got, _ := e.b.Get(id); got.Status != approval.Expired {
				t.Errorf("%s: %v, want expired", id, got.Status)
			}
		}
	})
}

// lateClock never fires its timers, as if they were late.
type lateClock struct{ *approvaltest.Clock }

func (lateClock) AfterFunc(time.Duration, func()) approval.Timer { return neverTimer{} }

type neverTimer struct{}

func (neverTimer) Stop() bool { return true }

func TestFatigue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{Fatigue: approval.Fatigue{MaxRequests: 2, Window: time.Minute}})
	for range 2 {
		if tk := mustSubmit(t, e.b, req(nil)); tk.Status != approval.Pending {
			t.Fatalf("within allowance: %v", tk.Status)
		}
		e.clock.Advance(10 * time.Second)
	}
	tk := mustSubmit(t, e.b, req(nil))
	want := `approval fatigue: agent "a" asked 3 times in 1m0s (at most 2 allowed); request denied without asking anyone`
	if tk.Status != approval.Denied || tk.Reason != want {
		t.Fatalf("third request: %v %q, want denied %q", tk.Status, tk.Reason, want)
	}
	if ev := e.sink.next(t, approval.EventAutoDenied); ev.RequestID != tk.ID || ev.Reason != want {
		t.Errorf("auto-deny event = %+v", ev)
	}
	if got, err := e.b.Wait(t.Context(), tk.ID); err != nil || got.Status != approval.Denied {
		t.Errorf("Wait on auto-denied = %v, %v", got.Status, err)
	}
	// Another agent has its own allowance.
	if tk := mustSubmit(t, e.b, req(func(r *approval.Request) { r.AgentID = "b" })); tk.Status != approval.Pending {
		t.Errorf("agent b: %v, want pending", tk.Status)
	}
	// Auto-denied requests do not count: once the first request leaves the
	// window, one more is accepted.
	e.clock.Advance(41 * time.Second)
	if tk := mustSubmit(t, e.b, req(nil)); tk.Status != approval.Pending {
		t.Errorf("after the window moved: %v, want pending", tk.Status)
	}
	if tk := mustSubmit(t, e.b, req(nil)); tk.Status != approval.Denied {
		t.Errorf("over again: %v, want denied", tk.Status)
	}
	if !slices.Contains(e.rec.kinds(), approval.EventAutoDenied) {
		t.Error("auto-deny not recorded")
	}
}

func TestFatigueTrackerBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{Fatigue: approval.Fatigue{MaxRequests: 1, Window: time.Minute, MaxAgents: 2}})
	for _, a := range []string{"a1", "a2"} {
		mustSubmit(t, e.b, req(func(r *approval.Request) { r.AgentID = a }))
	}
	if _, err := e.b.Submit(t.Context(), req(func(r *approval.Request) { r.AgentID = "a3" })); !errors.Is(err, approval.ErrFull) {
		t.Fatalf("third agent = %v, want ErrFull (fail closed)", err)
	}
	e.clock.Advance(time.Minute)
	if tk := mustSubmit(t, e.b, req(func(r *approval.Request) { r.AgentID = "a3" })); tk.Status != approval.Pending {
		t.Errorf("after the window: %v, want pending (idle agents forgotten)", tk.Status)
	}
}

func TestMaxPending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{MaxPending: 2})
	t1 := mustSubmit(t, e.b, req(nil))
	t2 := mustSubmit(t, e.b, req(nil))
	if _, err := e.b.Submit(t.Context(), req(nil)); !errors.Is(err, approval.ErrFull) {
		t.Fatalf("Submit when full = %v, want ErrFull", err)
	}
	// An approved, unused request still holds its slot.
	if _, err := e.b.Decide(t.Context(), t1.ID, vote("ops", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Submit(t.Context(), req(nil)); !errors.Is(err, approval.ErrFull) {
		t.Fatalf("Submit with an unused approval = %v, want ErrFull", err)
	}
	if _, err := e.b.Decide(t.Context(), t2.ID, vote("ops", false)); err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, e.b, req(nil))
}

func TestHistoryBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{MaxHistory: 2})
	var ids []string
	for range 3 {
		tk := mustSubmit(t, e.b, req(nil))
		if _, err := e.b.Cancel(t.Context(), tk.ID, "withdrawn"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	if _, err := e.b.Get(ids[0]); !errors.Is(err, approval.ErrNotFound) {
		t.Errorf("oldest ended request: %v, want ErrNotFound", err)
	}
	for _, id := range ids[1:] {
		if got, err := e.b.Get(id); err != nil || got.Status != approval.Cancelled || got.Reason != "cancelled: withdrawn" {
			t.Errorf("Get(%s) = %+v, %v", id, got, err)
		}
	}
	if n := len(e.b.List(approval.Filter{})); n != 2 {
		t.Errorf("List holds %d, want 2", n)
	}
}

func TestRecorderFailureFailsClosed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	t.Run("submit", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, approval.Options{MaxPending: 1})
		e.rec.setFail(approval.EventSubmitted)
		_, err := e.b.Submit(ctx, req(nil))
		if !errors.Is(err, approval.ErrNotRecorded) || !errors.Is(err, errRecorderDown) {
			t.Fatalf("Submit = %v, want ErrNotRecorded wrapping the recorder's error", err)
		}
		if l := e.b.List(approval.Filter{}); len(l) != 0 {
			t.Errorf("List = %v, want nothing", l)
		}
		e.rec.setFail()
		mustSubmit(t, e.b, req(nil)) // the failed one freed its slot
	})
	t.Run("vote", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, approval.Options{})
		tk := mustSubmit(t, e.b, req(nil))
		e.rec.setFail(approval.EventVoted)
		if _, err := e.b.Decide(ctx, tk.ID, vote("ops", true)); !errors.Is(err, approval.ErrNotRecorded) {
			t.Fatalf("Decide = %v, want ErrNotRecorded", err)
		}
		if got, _ := e.b.Get(tk.ID); got.Status != approval.Pending || len(got.Votes) != 0 {
			t.Fatalf("after a failed record: %+v, want pending without votes", got)
		}
		e.rec.setFail()
		if got, err := e.b.Decide(ctx, tk.ID, vote("ops", true)); err != nil || got.Status != approval.Approved {
			t.Fatalf("vote again = %v, %v", got.Status, err)
		}
	})
	t.Run("consume", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, approval.Options{})
		tk := mustSubmit(t, e.b, req(nil))
		if _, err := e.b.Decide(ctx, tk.ID, vote("ops", true)); err != nil {
			t.Fatal(err)
		}
		e.rec.setFail(approval.EventConsumed)
		if _, err := e.b.Consume(ctx, "a", "deploy", hash(`{"v":1}`)); !errors.Is(err, approval.ErrNotRecorded) {
			t.Fatalf("Consume = %v, want ErrNotRecorded", err)
		}
		e.rec.setFail()
		if got, err := e.b.Consume(ctx, "a", "deploy", hash(`{"v":1}`)); err != nil || !got.Consumed() {
			t.Fatalf("Consume again = %+v, %v; the approval must still be unused", got, err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, approval.Options{})
		tk := mustSubmit(t, e.b, req(nil))
		e.rec.setFail(approval.EventCancelled)
		if _, err := e.b.Cancel(ctx, tk.ID, "x"); !errors.Is(err, approval.ErrNotRecorded) {
			t.Fatalf("Cancel = %v, want ErrNotRecorded", err)
		}
		if got, _ := e.b.Get(tk.ID); got.Status != approval.Pending {
			t.Errorf("status = %v, want pending", got.Status)
		}
	})
	t.Run("expiry still denies", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, approval.Options{})
		tk := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Timeout = time.Second }))
		e.rec.setFail(approval.EventExpired)
		e.clock.Advance(time.Second)
		if got, _ := e.b.Get(tk.ID); got.Status != approval.Expired {
			t.Errorf("status = %v, want expired although unrecorded", got.Status)
		}
	})
}

func TestWaitAndApproveContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	tk := mustSubmit(t, e.b, req(nil))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.b.Wait(ctx, tk.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a done context = %v, want context.Canceled", err)
	}
	if got, _ := e.b.Get(tk.ID); got.Status != approval.Pending {
		t.Errorf("Wait's giving up changed the request: %v", got.Status)
	}
	if _, err := e.b.Wait(t.Context(), "nope"); !errors.Is(err, approval.ErrNotFound) {
		t.Errorf("Wait(unknown) = %v, want ErrNotFound", err)
	}
	// Approve cancels the request it gave up on.
	if _, err := e.b.Approve(ctx, req(func(r *approval.Request) { r.Tool = "t2" })); !errors.Is(err, context.Canceled) {
		t.Fatalf("Approve with a done context = %v, want context.Canceled", err)
	}
	ev := e.sink.next(t, approval.EventCancelled)
	if ev.Tool != "t2" || !strings.Contains(ev.Reason, "the waiting caller gave up") {
		t.Errorf("cancel event = %+v", ev)
	}
}

func TestApprove(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	ctx := t.Context()
	decideNext := func(v approval.Vote) {
		ev := e.sink.next(t, approval.EventSubmitted)
		if _, err := e.b.Decide(ctx, ev.RequestID, v); err != nil {
			t.Error(err)
		}
	}
	go decideNext(vote("ops", true))
	got, err := e.b.Approve(ctx, req(nil))
	if err != nil || got.Status != approval.Approved || !got.Consumed() {
		t.Fatalf("Approve = %+v, %v; want approved and used", got, err)
	}
	go decideNext(approval.Vote{Approver: "ops", Comment: "no"})
	got, err = e.b.Approve(ctx, req(nil))
	if err != nil || got.Status != approval.Denied || got.Reason != `denied by "ops": no` {
		t.Fatalf("Approve = %+v, %v; want denied", got, err)
	}
	// An approval granted in advance for exactly this action is used
	// without asking again.
	pre := mustSubmit(t, e.b, req(nil))
	if _, err := e.b.Decide(ctx, pre.ID, vote("ops", true)); err != nil {
		t.Fatal(err)
	}
	got, err = e.b.Approve(ctx, req(nil))
	if err != nil || got.ID != pre.ID || !got.Consumed() {
		t.Fatalf("Approve with a pre-approval = %+v, %v", got, err)
	}
}

func TestCloseCancelsAndWakes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	tk := mustSubmit(t, e.b, req(nil))
	ap := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Tool = "t2" }))
	if _, err := e.b.Decide(t.Context(), ap.ID, vote("ops", true)); err != nil {
		t.Fatal(err)
	}
	done := make(chan approval.Ticket, 1)
	go func() {
		got, _ := e.b.Wait(context.Background(), tk.ID)
		done <- got
	}()
	if err := e.b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got.Status != approval.Cancelled || got.Reason != "cancelled: approval broker closed" {
		t.Errorf("waiter woke with %v %q", got.Status, got.Reason)
	}
	if got, _ := e.b.Get(ap.ID); got.Status != approval.Cancelled {
		t.Errorf("unused approval after Close: %v, want cancelled", got.Status)
	}
	if _, err := e.b.Submit(t.Context(), req(nil)); !errors.Is(err, approval.ErrClosed) {
		t.Errorf("Submit after Close = %v", err)
	}
	if _, err := e.b.Decide(t.Context(), tk.ID, vote("x", true)); !errors.Is(err, approval.ErrClosed) {
		t.Errorf("Decide after Close = %v", err)
	}
	if _, err := e.b.Consume(t.Context(), "a", "t2", hash(`{"v":1}`)); !errors.Is(err, approval.ErrClosed) {
		t.Errorf("Consume after Close = %v", err)
	}
	if err := e.b.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if e.clock.Timers() != 0 {
		t.Errorf("%d timers left after Close", e.clock.Timers())
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	p1 := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Approvers = []string{"alice", "bob"}; r.Quorum = 2 }))
	e.clock.Advance(time.Second)
	p2 := mustSubmit(t, e.b, req(func(r *approval.Request) { r.AgentID = "b"; r.Approvers = []string{"bob"} }))
	e.clock.Advance(time.Second)
	d := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Tool = "x" }))
	if _, err := e.b.Decide(t.Context(), d.ID, vote("ops", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Decide(t.Context(), p1.ID, vote("alice", true)); err != nil {
		t.Fatal(err)
	}
	ids := func(ts []approval.Ticket) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    approval.Filter
		want []string
	}{
		{"all, oldest first", approval.Filter{}, []string{p1.ID, p2.ID, d.ID}},
		{"pending", approval.Filter{Status: approval.Pending}, []string{p1.ID, p2.ID}},
		{"denied", approval.Filter{Status: approval.Denied}, []string{d.ID}},
		{"agent", approval.Filter{AgentID: "b"}, []string{p2.ID}},
		{"tool", approval.Filter{Tool: "x"}, []string{d.ID}},
		{"waiting for bob", approval.Filter{Approver: "bob"}, []string{p1.ID, p2.ID}},
		{"waiting for alice (already voted)", approval.Filter{Approver: "alice"}, nil},
		{"limit", approval.Filter{Limit: 1}, []string{p1.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(e.b.List(tt.f)); !slices.Equal(got, tt.want) {
				t.Errorf("List(%+v) = %v, want %v", tt.f, got, tt.want)
			}
			want := len(tt.want)
			if tt.f.Limit > 0 {
				want = 3 // Count ignores the limit
			}
			if got := e.b.Count(tt.f); got != want {
				t.Errorf("Count(%+v) = %d, want %d", tt.f, got, want)
			}
		})
	}
	// Recent: ended requests only, the most recently decided first.
	if got := ids(e.b.Recent(10)); !slices.Equal(got, []string{d.ID}) {
		t.Errorf("Recent(10) = %v, want only the denied request", got)
	}
	e.clock.Advance(time.Second)
	if _, err := e.b.Decide(t.Context(), p2.ID, vote("bob", true)); err != nil {
		t.Fatal(err)
	}
	if got := ids(e.b.Recent(10)); !slices.Equal(got, []string{p2.ID, d.ID}) {
		t.Errorf("Recent(10) = %v, want [%s %s] (newest decision first)", got, p2.ID, d.ID)
	}
	if got := ids(e.b.Recent(1)); !slices.Equal(got, []string{p2.ID}) {
		t.Errorf("Recent(1) = %v, want [%s]", got, p2.ID)
	}
	// Tickets are copies.
	l := e.b.List(approval.Filter{AgentID: "a", Status: approval.Pending})
	l[0].Votes[0].Approver = "mallory"
	l[0].Request.Approvers[0] = "mallory"
	if got, _ := e.b.Get(p1.ID); got.Votes[0].Approver != "alice" || got.Request.Approvers[0] != "alice" {
		t.Error("changing a ticket changed the broker")
	}
}

func TestEventsInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	tk := mustSubmit(t, e.b, req(func(r *approval.Request) {
		r.Approvers = []string{"alice", "bob"}
		r.Quorum = 2
		r.ArgsPreview = json.RawMessage(`{"v":1}`)
	}))
	ctx := t.Context()
	_, _ = e.b.Decide(ctx, tk.ID, vote("alice", true))
	_, _ = e.b.Decide(ctx, tk.ID, vote("eve", true))
	_, _ = e.b.Decide(ctx, tk.ID, vote("bob", true))
	_, _ = e.b.Consume(ctx, "a", "deploy", hash(`{"v":1}`))
	want := []struct {
		kind      approval.EventKind
		status    approval.Status
		approvals int
	}{
		{approval.EventSubmitted, approval.Pending, 0},
		{approval.EventVoted, approval.Pending, 1},
		{approval.EventVoteRejected, approval.Pending, 1},
		{approval.EventVoted, approval.Approved, 2},
		{approval.EventConsumed, approval.Approved, 2},
	}
	for i, w := range want {
		ev := <-e.sink.ch
		if ev.Kind != w.kind || ev.Status != w.status || ev.Approvals != w.approvals || ev.RequestID != tk.ID ||
			ev.AgentID != "a" || ev.Tool != "deploy" || ev.ArgsHash != hash(`{"v":1}`) || string(ev.ArgsPreview) != `{"v":1}` || ev.Quorum != 2 {
			t.Errorf("event %d = %+v, want %v/%v/%d", i, ev, w.kind, w.status, w.approvals)
		}
	}
	if k := e.rec.kinds(); len(k) != len(want) {
		t.Errorf("recorded %v, want %d events", k, len(want))
	}
}

// TestConcurrent runs many submitters, voters, waiters and consumers at
// once; each approval must be used exactly once.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	b, err := approval.New(approval.Options{MaxPending: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	const agents, per = 16, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	approved, denied, used := 0, 0, 0
	for a := range agents {
		agent := "agent-" + string(rune('a'+a))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				r := approval.Request{AgentID: agent, Tool: "t", ArgsHash: hash(agent + string(rune(i%3))), Approvers: []string{"x", "y", "z"}, Quorum: 2}
				tk, err := b.Submit(ctx, r)
				if err != nil {
					t.Error(err)
					return
				}
				var vw sync.WaitGroup
				for _, who := range []string{"x", "y", "z"} {
					vw.Add(1)
					go func() {
						defer vw.Done()
						_, _ = b.Decide(ctx, tk.ID, approval.Vote{Approver: who, Approve: (i+len(who))%5 != 0})
					}()
				}
				got, err := b.Wait(ctx, tk.ID)
				vw.Wait()
				if err != nil {
					t.Error(err)
					return
				}
				// Two consumers race for each approval.
				var cw sync.WaitGroup
				n := 0
				var nmu sync.Mutex
				for range 2 {
					cw.Add(1)
					go func() {
						defer cw.Done()
						if _, err := b.Consume(ctx, agent, "t", r.ArgsHash); err == nil {
							nmu.Lock()
							n++
							nmu.Unlock()
						}
					}()
				}
				cw.Wait()
				mu.Lock()
				switch got.Status {
				case approval.Approved:
					approved++
				case approval.Denied:
					denied++
				default:
					t.Errorf("status %v", got.Status)
				}
				used += n
				mu.Unlock()
				if got.Status == approval.Approved && n != 1 || got.Status == approval.Denied && n != 0 {
					t.Errorf("%s: %v approval used %d times", tk.ID, got.Status, n)
				}
			}
		}()
	}
	// Pollers and listers run alongside.
	stop := make(chan struct{})
	var lw sync.WaitGroup
	lw.Add(1)
	go func() {
		defer lw.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = b.List(approval.Filter{Status: approval.Pending, Limit: 10})
			}
		}
	}()
	wg.Wait()
	close(stop)
	lw.Wait()
	if approved+denied != agents*per || used != approved {
		t.Errorf("approved %d + denied %d != %d, or used %d != approved", approved, denied, agents*per, used)
	}
	if approved == 0 || denied == 0 {
		t.Errorf("approved %d, denied %d: the mix should have both", approved, denied)
	}
}
