package approval_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/approval/approvaltest"
	"github.com/agentos/agentos/internal/leaktest"
)

// TestMain fails the run if goroutines started by the module's code
// outlive the tests.
func TestMain(m *testing.M) { os.Exit(leaktest.Check(m)) }

// hash is the hex SHA-256 of s, as the kernel computes argument hashes.
func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sink is a Notifier that hands every event to a channel, so tests can wait
// for a step without polling.
type sink struct{ ch chan approval.Event }

func newSink() *sink { return &sink{ch: make(chan approval.Event, 4096)} }

func (s *sink) Notify(e approval.Event) {
	select {
	case s.ch <- e:
	default:
		panic("test sink full")
	}
}

// next returns the next event of kind, skipping others.
func (s *sink) next(t testing.TB, kind approval.EventKind) approval.Event {
	t.Helper()
	for {
		select {
		case e := <-s.ch:
			if e.Kind == kind {
				return e
			}
		case <-time.After(30 * time.Second): // a guard against a hung test, not a timing assertion
			t.Fatalf("no %s event", kind)
		}
	}
}

// memRecorder keeps recorded events in order and fails the kinds listed in
// fail.
type memRecorder struct {
	mu     sync.Mutex
	events []approval.Event
	fail   map[approval.EventKind]bool
}

var errRecorderDown = errors.New("recorder down")

func (r *memRecorder) Record(_ context.Context, e approval.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail[e.Kind] {
		return errRecorderDown
	}
	r.events = append(r.events, e)
	return nil
}

func (r *memRecorder) setFail(kinds ...approval.EventKind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = map[approval.EventKind]bool{}
	for _, k := range kinds {
		r.fail[k] = true
	}
}

func (r *memRecorder) kinds() []approval.EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]approval.EventKind, len(r.events))
	for i, e := range r.events {
		out[i] = e.Kind
	}
	return out
}

// env is a broker on a fake clock with a recorder and a sink.
type env struct {
	b     *approval.Broker
	clock *approvaltest.Clock
	rec   *memRecorder
	sink  *sink
}

func newEnv(t testing.TB, opts approval.Options) *env {
	t.Helper()
	e := &env{clock: approvaltest.NewClock(time.Time{}), rec: &memRecorder{}, sink: newSink()}
	if opts.Clock == nil {
		opts.Clock = e.clock
	}
	if opts.Recorder == nil {
		opts.Recorder = e.rec
	}
	if opts.Notifier == nil {
		opts.Notifier = e.sink
	}
	b, err := approval.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	e.b = b
	return e
}

// req is a valid request for agent a, tool deploy, args {"v":1}.
func req(mod func(*approval.Request)) approval.Request {
	r := approval.Request{AgentID: "a", Tool: "deploy", ArgsHash: hash(`{"v":1}`), Rule: "ask", Policy: "p", Reason: "deploys need approval"}
	if mod != nil {
		mod(&r)
	}
	return r
}

func mustSubmit(t testing.TB, b *approval.Broker, r approval.Request) approval.Ticket {
	t.Helper()
	tk, err := b.Submit(context.Background(), r)
	if err != nil {
		t.Fatalf("Submit(%+v) = %v", r, err)
	}
	return tk
}

func vote(approver string, approve bool) approval.Vote {
	return approval.Vote{Approver: approver, Approve: approve}
}
