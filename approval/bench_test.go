package approval_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
)

// BenchmarkLifecycle measures one request through its whole life on the
// wall clock: Submit, Decide (quorum 1), Wait and Consume.
func BenchmarkLifecycle(b *testing.B) {
	for _, quorum := range []int{1, 3} {
		b.Run("quorum="+strconv.Itoa(quorum), func(b *testing.B) {
			br, err := approval.New(approval.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			ctx := context.Background()
			r := approval.Request{AgentID: "a", Tool: "deploy", ArgsHash: hash("{}"), Rule: "ask", Quorum: quorum}
			voters := []string{"v0", "v1", "v2"}
			b.ReportAllocs()
			for b.Loop() {
				tk, err := br.Submit(ctx, r)
				if err != nil {
					b.Fatal(err)
				}
				for _, v := range voters[:quorum] {
					if _, err := br.Decide(ctx, tk.ID, approval.Vote{Approver: v, Approve: true}); err != nil {
						b.Fatal(err)
					}
				}
				if got, err := br.Wait(ctx, tk.ID); err != nil || got.Status != approval.Approved {
					b.Fatal(got.Status, err)
				}
				if _, err := br.Consume(ctx, "a", "deploy", r.ArgsHash); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApproveParallel measures the kernel's flow (Approve: submit,
// wait, use) with approvers answering from other goroutines, many callers
// at once.
func BenchmarkApproveParallel(b *testing.B) {
	s := &chanNotifier{ch: make(chan approval.Event, 1<<16)}
	br, err := approval.New(approval.Options{Notifier: s, MaxPending: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx := context.Background()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the approver
		defer close(done)
		for {
			select {
			case e := <-s.ch:
				if e.Kind == approval.EventSubmitted {
					_, _ = br.Decide(ctx, e.RequestID, approval.Vote{Approver: "ops", Approve: true})
				}
			case <-stop:
				return
			}
		}
	}()
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		agent := "agent-" + strconv.FormatInt(n.Add(1), 10)
		r := approval.Request{AgentID: agent, Tool: "deploy", ArgsHash: hash(agent)}
		for pb.Next() {
			t, err := br.Approve(ctx, r)
			if err != nil || t.Status != approval.Approved {
				b.Error(t.Status, err)
				return
			}
		}
	})
	close(stop)
	<-done
}

// chanNotifier hands events to a channel, dropping them when it is full.
type chanNotifier struct{ ch chan approval.Event }

func (c *chanNotifier) Notify(e approval.Event) {
	select {
	case c.ch <- e:
	default:
	}
}

// BenchmarkSubmitFatigue measures Submit with fatigue tracking across many
// agents, then cancellation to free the slot.
func BenchmarkSubmitFatigue(b *testing.B) {
	br, err := approval.New(approval.Options{Fatigue: approval.Fatigue{MaxRequests: 1 << 30, Window: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx := context.Background()
	reqs := make([]approval.Request, 1000)
	for i := range reqs {
		reqs[i] = approval.Request{AgentID: "agent-" + strconv.Itoa(i), Tool: "t", ArgsHash: hash("{}")}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		tk, err := br.Submit(ctx, reqs[i%len(reqs)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := br.Cancel(ctx, tk.ID, "bench"); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
