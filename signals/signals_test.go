package signals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeClock returns a fixed instant advanced by one second per call.
type fakeClock struct{ n atomic.Int64 }

func (c *fakeClock) Now() time.Time {
	return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(c.n.Add(1)) * time.Second)
}

// newIn returns a Dispatcher already in state st.
func newIn(t testing.TB, st State) *Dispatcher {
	t.Helper()
	d := New(Options{AgentID: "a1", Clock: &fakeClock{}})
	switch st {
	case Stopped:
		mustSend(t, d, SIGSTOP)
	case Terminated:
		mustSend(t, d, SIGKILL)
	}
	if got := d.State(); got != st {
		t.Fatalf("setup: state = %v, want %v", got, st)
	}
	return d
}

func mustSend(t testing.TB, d *Dispatcher, sig Signal) Info {
	t.Helper()
	info, err := d.Send(sig, "test", "setup")
	if err != nil {
		t.Fatalf("Send(%v) error: %v", sig, err)
	}
	return info
}

func TestSignalNumbersAndNames(t *testing.T) {
	t.Parallel()
	want := []struct {
		sig        Signal
		n          uint8
		name       string
		unmaskable bool
		terminates bool
	}{
		{SIGSTOP, 1, "SIGSTOP", false, false},
		{SIGCONT, 2, "SIGCONT", false, false},
		{SIGINT, 3, "SIGINT", false, false},
		{SIGKILL, 4, "SIGKILL", true, true},
		{SIGTERM, 5, "SIGTERM", false, true},
		{SIGUSR1, 6, "SIGUSR1", false, false},
		{SIGUSR2, 7, "SIGUSR2", false, false},
		{SIGPOLICY, 8, "SIGPOLICY", true, true},
		{SIGTRUST, 9, "SIGTRUST", true, true},
		{SIGBUDGET, 10, "SIGBUDGET", false, false},
		{SIGLOOP, 11, "SIGLOOP", false, false},
		{SIGDRIFT, 12, "SIGDRIFT", false, false},
	}
	if got := All(); len(got) != len(want) {
		t.Fatalf("len(All()) = %d, want %d", len(got), len(want))
	}
	for i, w := range want {
		if All()[i] != w.sig || uint8(w.sig) != w.n {
			t.Errorf("All()[%d] = %d, want %d", i, All()[i], w.n)
		}
		if got := w.sig.String(); got != w.name {
			t.Errorf("Signal(%d).String() = %q, want %q", w.n, got, w.name)
		}
		if got := w.sig.Unmaskable(); got != w.unmaskable {
			t.Errorf("%v.Unmaskable() = %v, want %v", w.sig, got, w.unmaskable)
		}
		if got := w.sig.Terminates(); got != w.terminates {
			t.Errorf("%v.Terminates() = %v, want %v", w.sig, got, w.terminates)
		}
		b, err := w.sig.MarshalText()
		if err != nil || string(b) != w.name {
			t.Errorf("%v.MarshalText() = %q, %v", w.sig, b, err)
		}
	}
	for _, bad := range []Signal{0, 13, 99, 255} {
		if bad.Valid() || bad.Unmaskable() || bad.Terminates() {
			t.Errorf("Signal(%d) claims to be valid", bad)
		}
		if got, want := bad.String(), fmt.Sprintf("Signal(%d)", bad); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		if _, err := bad.MarshalText(); !errors.Is(err, ErrInvalidSignal) {
			t.Errorf("Signal(%d).MarshalText() error = %v, want ErrInvalidSignal", bad, err)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Signal
		ok   bool
	}{
		{"SIGKILL", SIGKILL, true},
		{"sigkill", SIGKILL, true},
		{"kill", SIGKILL, true},
		{"KILL", SIGKILL, true},
		{"4", SIGKILL, true},
		{"1", SIGSTOP, true},
		{"12", SIGDRIFT, true},
		{"SIGPOLICY", SIGPOLICY, true},
		{"budget", SIGBUDGET, true},
		{"SigUsr2", SIGUSR2, true},
		{"", 0, false},
		{"0", 0, false},
		{"13", 0, false},
		{"99", 0, false},
		{"256", 0, false},
		{"04", 0, false},
		{"-4", 0, false},
		{"+4", 0, false},
		{" kill", 0, false},
		{"kill ", 0, false},
		{"SIG", 0, false},
		{"SIGFOO", 0, false},
		{"SIGSIGKILL", 0, false},
		{"4.0", 0, false},
		{"\u212aill", 0, false},    // Kelvin sign, which Unicode folds to k
		{"\u017figkill", 0, false}, // long s, which Unicode folds to s
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if !tt.ok {
				if !errors.Is(err, ErrInvalidSignal) {
					t.Fatalf("Parse(%q) = %v, %v; want ErrInvalidSignal", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			var u Signal
			if err := u.UnmarshalText([]byte(tt.in)); err != nil || u != tt.want {
				t.Fatalf("UnmarshalText(%q) = %v, %v", tt.in, u, err)
			}
		})
	}
}

func TestStateAndOutcomeStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, want string
	}{
		{Running.String(), "running"},
		{Stopped.String(), "stopped"},
		{Terminated.String(), "terminated"},
		{State(7).String(), "State(7)"},
		{Delivered.String(), "delivered"},
		{Queued.String(), "queued"},
		{Ignored.String(), "ignored"},
		{Refused.String(), "refused"},
		{Outcome(9).String(), "Outcome(9)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
	if _, err := State(7).MarshalText(); err == nil {
		t.Error("State(7).MarshalText() succeeded")
	}
	if _, err := Outcome(9).MarshalText(); err == nil {
		t.Error("Outcome(9).MarshalText() succeeded")
	}
}

// TestTransitionMatrix checks every state × signal pair.
func TestTransitionMatrix(t *testing.T) {
	t.Parallel()
	type want struct {
		state   State
		outcome Outcome
		killed  bool // cause matches ErrKilled (only when newly terminated)
	}
	stop := want{state: Stopped}
	run := want{state: Running}
	kill := want{state: Terminated, killed: true}
	term := want{state: Terminated}
	ign := want{state: Terminated, outcome: Ignored}
	matrix := map[State]map[Signal]want{
		Running: {
			SIGSTOP: stop, SIGCONT: run, SIGINT: stop, SIGKILL: kill, SIGTERM: term,
			SIGUSR1: run, SIGUSR2: run, SIGPOLICY: kill, SIGTRUST: kill, SIGBUDGET: stop,
			SIGLOOP: run, SIGDRIFT: run,
		},
		Stopped: {
			SIGSTOP: stop, SIGCONT: run, SIGINT: stop, SIGKILL: kill, SIGTERM: term,
			SIGUSR1: stop, SIGUSR2: stop, SIGPOLICY: kill, SIGTRUST: kill, SIGBUDGET: stop,
			SIGLOOP: stop, SIGDRIFT: stop,
		},
		Terminated: {
			SIGSTOP: ign, SIGCONT: ign, SIGINT: ign, SIGKILL: ign, SIGTERM: ign,
			SIGUSR1: ign, SIGUSR2: ign, SIGPOLICY: ign, SIGTRUST: ign, SIGBUDGET: ign,
			SIGLOOP: ign, SIGDRIFT: ign,
		},
	}
	for _, from := range []State{Running, Stopped, Terminated} {
		for _, sig := range All() {
			w := matrix[from][sig]
			t.Run(from.String()+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				d := newIn(t, from)
				var notified int
				if _, err := d.Notify(sig, func(Info) { notified++ }); err != nil {
					t.Fatal(err)
				}
				info, err := d.Send(sig, "src", "why")
				if err != nil {
					t.Fatalf("Send(%v) error: %v", sig, err)
				}
				if got := d.State(); got != w.state {
					t.Errorf("state after %v from %v = %v, want %v", sig, from, got, w.state)
				}
				if info.State != w.state || info.Outcome != w.outcome {
					t.Errorf("Info = {State %v, Outcome %v}, want {%v, %v}", info.State, info.Outcome, w.state, w.outcome)
				}
				wantNotified := 1
				if w.outcome == Ignored {
					wantNotified = 0
				}
				if notified != wantNotified {
					t.Errorf("notified %d times, want %d", notified, wantNotified)
				}
				cancelled := d.Context().Err() != nil
				if cancelled != (w.state == Terminated) {
					t.Errorf("context cancelled = %v, want %v", cancelled, w.state == Terminated)
				}
				if from != Terminated && w.state == Terminated {
					cause := context.Cause(d.Context())
					if !errors.Is(cause, ErrTerminated) {
						t.Errorf("cause %v does not match ErrTerminated", cause)
					}
					if got := errors.Is(cause, ErrKilled); got != w.killed {
						t.Errorf("errors.Is(cause, ErrKilled) = %v, want %v", got, w.killed)
					}
					var te *TerminationError
					if !errors.As(cause, &te) || te.Info.Signal != sig || te.Info.Reason != "why" || te.Info.Source != "src" {
						t.Errorf("cause = %#v, want TerminationError for %v with reason", cause, sig)
					}
				}
				h := d.History()
				if last := h[len(h)-1]; last.Signal != sig || last.Outcome != w.outcome || last.Reason != "why" {
					t.Errorf("last history entry = %+v", last)
				}
			})
		}
	}
}

func TestInvalidSignal(t *testing.T) {
	t.Parallel()
	d := newIn(t, Running)
	for _, sig := range []Signal{0, 13, 255} {
		if _, err := d.Send(sig, "", ""); !errors.Is(err, ErrInvalidSignal) {
			t.Errorf("Send(%d) error = %v, want ErrInvalidSignal", sig, err)
		}
		if err := d.Block(SIGSTOP, sig); !errors.Is(err, ErrInvalidSignal) {
			t.Errorf("Block(%d) error = %v, want ErrInvalidSignal", sig, err)
		}
		if err := d.Unblock(sig); !errors.Is(err, ErrInvalidSignal) {
			t.Errorf("Unblock(%d) error = %v, want ErrInvalidSignal", sig, err)
		}
		if _, err := d.Notify(sig, func(Info) {}); !errors.Is(err, ErrInvalidSignal) {
			t.Errorf("Notify(%d) error = %v, want ErrInvalidSignal", sig, err)
		}
		if d.Blocked(sig) {
			t.Errorf("Blocked(%d) = true", sig)
		}
	}
	if d.Blocked(SIGSTOP) {
		t.Error("a failed Block blocked SIGSTOP")
	}
	if len(d.History()) != 0 {
		t.Errorf("invalid signals were recorded: %+v", d.History())
	}
	if _, err := d.Notify(SIGUSR1, nil); err == nil {
		t.Error("Notify with nil handler succeeded")
	}
}

func TestSendDefaults(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{}
	d := New(Options{AgentID: "a1", Clock: clk})
	info, err := d.Send(SIGUSR1, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Source != DefaultSource {
		t.Errorf("Source = %q, want %q", info.Source, DefaultSource)
	}
	if want := time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC); !info.Time.Equal(want) {
		t.Errorf("Time = %v, want %v (from the injected clock)", info.Time, want)
	}
	at := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	info, err = d.SendInfo(Info{Signal: SIGLOOP, Time: at, Source: "detector", Reason: "r", Context: map[string]any{"k": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !info.Time.Equal(at) || info.Source != "detector" || info.Context["k"] != 1 {
		t.Errorf("SendInfo kept %+v", info)
	}
	if d.AgentID() != "a1" {
		t.Errorf("AgentID() = %q", d.AgentID())
	}
	if d.Err() != nil {
		t.Errorf("Err() on running agent = %v", d.Err())
	}
}

func TestUnmaskable(t *testing.T) {
	t.Parallel()
	for _, sig := range []Signal{SIGKILL, SIGPOLICY, SIGTRUST} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			d := newIn(t, Running)
			if err := d.Block(SIGSTOP, sig); !errors.Is(err, ErrUnmaskable) {
				t.Fatalf("Block(%v) error = %v, want ErrUnmaskable", sig, err)
			}
			if d.Blocked(sig) || d.Blocked(SIGSTOP) {
				t.Fatal("a refused Block blocked something")
			}
			// A notification that panics cannot prevent the kill.
			if _, err := d.Notify(sig, func(Info) { panic("try to survive") }); err != nil {
				t.Fatalf("Notify(%v) error: %v", sig, err)
			}
			if err := d.Unblock(sig); err != nil {
				t.Fatalf("Unblock(%v) error: %v", sig, err)
			}
			if _, err := d.Send(sig, "policy", "violated rule x"); err != nil {
				t.Fatal(err)
			}
			if d.State() != Terminated {
				t.Fatalf("state = %v, want terminated", d.State())
			}
			var te *TerminationError
			if err := d.Err(); !errors.As(err, &te) || te.Info.Reason != "violated rule x" || !errors.Is(err, ErrKilled) {
				t.Fatalf("Err() = %v, want a kill carrying the reason", err)
			}
			if want := "agent a1 killed by " + sig.String() + " from policy: violated rule x"; te.Error() != want {
				t.Errorf("Error() = %q, want %q", te.Error(), want)
			}
		})
	}
}

func TestBlockQueueFIFO(t *testing.T) {
	t.Parallel()
	d := newIn(t, Running)
	var order []Signal
	for _, sig := range All() {
		if _, err := d.Notify(sig, func(i Info) { order = append(order, i.Signal) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Block(SIGSTOP, SIGCONT, SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []Signal{SIGUSR1, SIGSTOP, SIGUSR1, SIGCONT, SIGSTOP} {
		info, err := d.Send(sig, "t", "")
		if err != nil || info.Outcome != Queued {
			t.Fatalf("Send(%v) = %+v, %v; want Queued", sig, info, err)
		}
	}
	if d.State() != Running || len(order) != 0 {
		t.Fatalf("blocked signals took effect: state %v, notified %v", d.State(), order)
	}
	// An unblocked signal is delivered straight away while others wait.
	mustSend(t, d, SIGUSR2)
	if got := len(d.Pending()); got != 5 {
		t.Fatalf("pending = %d, want 5", got)
	}
	// Unblocking only SIGUSR1 delivers the two SIGUSR1s, keeping the rest.
	if err := d.Unblock(SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if want := []Signal{SIGUSR2, SIGUSR1, SIGUSR1}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("notified %v, want %v", order, want)
	}
	var pend []Signal
	for _, p := range d.Pending() {
		pend = append(pend, p.Signal)
	}
	if want := []Signal{SIGSTOP, SIGCONT, SIGSTOP}; fmt.Sprint(pend) != fmt.Sprint(want) {
		t.Fatalf("pending %v, want %v", pend, want)
	}
	if err := d.Unblock(SIGSTOP, SIGCONT); err != nil {
		t.Fatal(err)
	}
	if want := []Signal{SIGUSR2, SIGUSR1, SIGUSR1, SIGSTOP, SIGCONT, SIGSTOP}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("notified %v, want %v", order, want)
	}
	if d.State() != Stopped {
		t.Fatalf("state = %v, want stopped (STOP, CONT, STOP in order)", d.State())
	}
	if len(d.Pending()) != 0 {
		t.Fatalf("pending not empty: %v", d.Pending())
	}
	var outcomes []string
	for _, h := range d.History() {
		outcomes = append(outcomes, h.Signal.String()+":"+h.Outcome.String())
	}
	want := "[SIGUSR1:queued SIGSTOP:queued SIGUSR1:queued SIGCONT:queued SIGSTOP:queued SIGUSR2:delivered " +
		"SIGUSR1:delivered SIGUSR1:delivered SIGSTOP:delivered SIGCONT:delivered SIGSTOP:delivered]"
	if fmt.Sprint(outcomes) != want {
		t.Fatalf("history %v\nwant    %v", outcomes, want)
	}
}

func TestBlockedSIGTERMDefersTermination(t *testing.T) {
	t.Parallel()
	d := newIn(t, Running)
	if err := d.Block(SIGTERM, SIGUSR1); err != nil {
		t.Fatal(err)
	}
	mustSend(t, d, SIGTERM)
	mustSend(t, d, SIGUSR1)
	if d.State() != Running || d.Context().Err() != nil {
		t.Fatal("blocked SIGTERM terminated the agent")
	}
	// SIGKILL cannot be blocked, and discards whatever is queued.
	mustSend(t, d, SIGKILL)
	if d.State() != Terminated || len(d.Pending()) != 0 {
		t.Fatalf("state %v, pending %v", d.State(), d.Pending())
	}
	h := d.History()
	var got []string
	for _, e := range h {
		got = append(got, e.Signal.String()+":"+e.Outcome.String())
	}
	if want := "[SIGTERM:queued SIGUSR1:queued SIGTERM:ignored SIGUSR1:ignored SIGKILL:delivered]"; fmt.Sprint(got) != want {
		t.Fatalf("history %v, want %v", got, want)
	}
	if !errors.Is(context.Cause(d.Context()), ErrKilled) {
		t.Fatal("SIGKILL cause is not ErrKilled")
	}
}

func TestUnblockTerminationDiscardsRest(t *testing.T) {
	t.Parallel()
	d := newIn(t, Running)
	var notified []Signal
	for _, sig := range All() {
		if _, err := d.Notify(sig, func(i Info) { notified = append(notified, i.Signal) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Block(SIGTERM, SIGSTOP, SIGUSR1); err != nil {
		t.Fatal(err)
	}
	mustSend(t, d, SIGUSR1)
	mustSend(t, d, SIGTERM)
	mustSend(t, d, SIGSTOP)
	if err := d.Unblock(SIGTERM, SIGSTOP, SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if d.State() != Terminated {
		t.Fatalf("state = %v", d.State())
	}
	if fmt.Sprint(notified) != fmt.Sprint([]Signal{SIGUSR1, SIGTERM}) {
		t.Fatalf("notified %v, want SIGUSR1 then SIGTERM only", notified)
	}
	cause := context.Cause(d.Context())
	if !errors.Is(cause, ErrTerminated) || errors.Is(cause, ErrKilled) {
		t.Fatalf("cause %v: want graceful termination", cause)
	}
	h := d.History()
	if last := h[len(h)-1]; last.Signal != SIGSTOP || last.Outcome != Ignored {
		t.Fatalf("last history entry %+v, want SIGSTOP ignored", last)
	}
}

func TestQueueFull(t *testing.T) {
	t.Parallel()
	d := New(Options{AgentID: "a1", QueueSize: 2})
	if err := d.Block(SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := d.Send(SIGUSR1, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	info, err := d.Send(SIGUSR1, "", "third")
	if !errors.Is(err, ErrQueueFull) || info.Outcome != Refused {
		t.Fatalf("third Send = %+v, %v; want Refused, ErrQueueFull", info, err)
	}
	if len(d.Pending()) != 2 {
		t.Fatalf("pending = %d, want 2 (oldest kept)", len(d.Pending()))
	}
	// Unmaskable signals never queue, so a full queue cannot delay a kill.
	mustSend(t, d, SIGKILL)
	if d.State() != Terminated {
		t.Fatal("SIGKILL did not terminate with a full queue")
	}

	none := New(Options{QueueSize: -1})
	if err := none.Block(SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if _, err := none.Send(SIGSTOP, "", ""); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("QueueSize -1: Send error = %v, want ErrQueueFull", err)
	}
}

func TestHistoryRing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		size  int
		sends int
		want  int
	}{
		{"default", 0, 200, DefaultHistorySize},
		{"small", 3, 10, 3},
		{"not full", 5, 2, 2},
		{"disabled", -1, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := New(Options{HistorySize: tt.size})
			for i := range tt.sends {
				if _, err := d.Send(SIGUSR1, "", fmt.Sprint(i)); err != nil {
					t.Fatal(err)
				}
			}
			h := d.History()
			if len(h) != tt.want {
				t.Fatalf("len(History()) = %d, want %d", len(h), tt.want)
			}
			for i, e := range h {
				if want := fmt.Sprint(tt.sends - tt.want + i); e.Reason != want {
					t.Fatalf("History()[%d].Reason = %q, want %q (oldest first)", i, e.Reason, want)
				}
			}
		})
	}
}

func TestNotify(t *testing.T) {
	t.Parallel()
	d := newIn(t, Running)
	var calls []string
	if _, err := d.Notify(SIGSTOP, func(i Info) {
		// The transition has already happened when notifications run.
		calls = append(calls, "first:"+i.State.String()+":"+d.State().String())
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Notify(SIGSTOP, func(Info) { panic("boom") }); err != nil {
		t.Fatal(err)
	}
	cancel, err := d.Notify(SIGSTOP, func(Info) { calls = append(calls, "third") })
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, d, SIGSTOP)
	if want := "[first:stopped:stopped third]"; fmt.Sprint(calls) != want {
		t.Fatalf("calls %v, want %v (a panic does not stop later notifications)", calls, want)
	}
	cancel()
	cancel() // idempotent
	mustSend(t, d, SIGSTOP)
	if want := "[first:stopped:stopped third first:stopped:stopped]"; fmt.Sprint(calls) != want {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	if d.State() != Stopped {
		t.Fatalf("state = %v", d.State())
	}
}

func TestNotifyMayReenter(t *testing.T) {
	t.Parallel()
	d := newIn(t, Running)
	// A notification that sends another signal must not deadlock.
	if _, err := d.Notify(SIGLOOP, func(Info) {
		if _, err := d.Send(SIGSTOP, "loop-guard", "loop detected"); err != nil {
			t.Error(err)
		}
		_ = d.History()
	}); err != nil {
		t.Fatal(err)
	}
	mustSend(t, d, SIGLOOP)
	if d.State() != Stopped {
		t.Fatalf("state = %v, want stopped by the notification", d.State())
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	t.Run("running returns nil", func(t *testing.T) {
		t.Parallel()
		d := newIn(t, Running)
		if err := d.Wait(t.Context()); err != nil {
			t.Fatalf("Wait = %v", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := d.Wait(ctx); err != nil {
			t.Fatalf("Wait with ended ctx on running agent = %v, want nil", err)
		}
	})
	t.Run("terminated returns ErrTerminated", func(t *testing.T) {
		t.Parallel()
		d := newIn(t, Terminated)
		err := d.Wait(t.Context())
		if !errors.Is(err, ErrTerminated) || !errors.Is(err, ErrKilled) {
			t.Fatalf("Wait = %v, want ErrTerminated and ErrKilled", err)
		}
	})
	tests := []struct {
		name    string
		act     func(d *Dispatcher, cancel context.CancelFunc)
		check   func(error) bool
		wantMsg string
	}{
		{"SIGCONT", func(d *Dispatcher, _ context.CancelFunc) { d.Send(SIGCONT, "", "") },
			func(err error) bool { return err == nil }, "nil"},
		{"SIGKILL", func(d *Dispatcher, _ context.CancelFunc) { d.Send(SIGKILL, "", "") },
			func(err error) bool { return errors.Is(err, ErrKilled) }, "ErrKilled"},
		{"SIGTERM", func(d *Dispatcher, _ context.CancelFunc) { d.Send(SIGTERM, "", "") },
			func(err error) bool { return errors.Is(err, ErrTerminated) && !errors.Is(err, ErrKilled) }, "ErrTerminated only"},
		{"ctx cancel", func(_ *Dispatcher, cancel context.CancelFunc) { cancel() },
			func(err error) bool { return errors.Is(err, context.Canceled) }, "context.Canceled"},
	}
	for _, tt := range tests {
		t.Run("stopped until "+tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				d := newIn(t, Stopped)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				const waiters = 3
				errs := make(chan error, waiters)
				for range waiters {
					go func() { errs <- d.Wait(ctx) }()
				}
				synctest.Wait()
				select {
				case err := <-errs:
					t.Fatalf("Wait returned %v while stopped", err)
				default:
				}
				// Signals that do not resume keep waiters blocked.
				mustSend(t, d, SIGUSR1)
				mustSend(t, d, SIGSTOP)
				synctest.Wait()
				if len(errs) != 0 {
					t.Fatal("Wait returned on a signal that does not resume")
				}
				tt.act(d, cancel)
				for range waiters {
					if err := <-errs; !tt.check(err) {
						t.Fatalf("Wait = %v, want %s", err, tt.wantMsg)
					}
				}
			})
		})
	}
	t.Run("stop again after resume", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			d := newIn(t, Stopped)
			done := make(chan error, 1)
			go func() { done <- d.Wait(t.Context()) }()
			synctest.Wait()
			// Resume and stop again before the waiter runs: it must either
			// return nil (it saw running) or keep waiting, never hang on a
			// stale channel once resumed again.
			mustSend(t, d, SIGCONT)
			mustSend(t, d, SIGSTOP)
			synctest.Wait()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Wait = %v", err)
				}
				return
			default:
			}
			mustSend(t, d, SIGCONT)
			if err := <-done; err != nil {
				t.Fatalf("Wait = %v", err)
			}
		})
	})
}

func TestParentContextEndTerminates(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithCancelCause(context.WithValue(t.Context(), ctxKey{}, "v"))
	d := New(Options{AgentID: "a1", Parent: parent})
	if d.Context().Value(ctxKey{}) != "v" {
		t.Fatal("agent context lost the parent's values")
	}
	// Even a blocked SIGTERM does not keep the agent alive past its parent.
	if err := d.Block(SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan Info, 1)
	if _, err := d.Notify(SIGTERM, func(i Info) { stopped <- i }); err != nil {
		t.Fatal(err)
	}
	cancel(errors.New("kernel shutdown"))
	info := <-stopped
	if info.Source != DefaultSource || info.Reason != "parent context done: kernel shutdown" {
		t.Fatalf("termination info %+v", info)
	}
	<-d.Done()
	if d.State() != Terminated {
		t.Fatalf("state = %v", d.State())
	}
	cause := context.Cause(d.Context())
	if !errors.Is(cause, ErrTerminated) || errors.Is(cause, ErrKilled) {
		t.Fatalf("cause = %v, want graceful termination", cause)
	}
}

func TestParentAlreadyDone(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithCancel(t.Context())
	cancel()
	d := New(Options{Parent: parent})
	<-d.Done()
	if err := d.Wait(t.Context()); !errors.Is(err, ErrTerminated) {
		t.Fatalf("Wait = %v, want ErrTerminated", err)
	}
}

func TestKillAfterParentDoneIsIgnored(t *testing.T) {
	t.Parallel()
	d := newIn(t, Running)
	mustSend(t, d, SIGTERM)
	info := mustSend(t, d, SIGKILL)
	if info.Outcome != Ignored {
		t.Fatalf("SIGKILL after SIGTERM = %v, want ignored", info.Outcome)
	}
	// The first termination's cause is kept.
	if errors.Is(context.Cause(d.Context()), ErrKilled) {
		t.Fatal("a later SIGKILL replaced the SIGTERM cause")
	}
}

type ctxKey struct{}

// TestConcurrent sends signals from many goroutines while others wait and
// block; run with -race.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	d := New(Options{AgentID: "a1", Clock: &fakeClock{}, HistorySize: 16, QueueSize: 8})
	var notified atomic.Int64
	for _, sig := range All() {
		if _, err := d.Notify(sig, func(Info) { notified.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	sigs := []Signal{SIGSTOP, SIGCONT, SIGINT, SIGUSR1, SIGUSR2, SIGBUDGET, SIGLOOP, SIGDRIFT, SIGCONT}
	for g := range 32 {
		wg.Go(func() {
			for i := range 300 {
				sig := sigs[(g+i)%len(sigs)]
				if _, err := d.Send(sig, "g", ""); err != nil && !errors.Is(err, ErrQueueFull) {
					t.Error(err)
					return
				}
				switch i % 50 {
				case 10:
					_ = d.Block(SIGUSR1, SIGSTOP)
				case 20:
					_ = d.Unblock(SIGUSR1, SIGSTOP)
				case 30:
					_ = d.History()
					_ = d.Pending()
				}
			}
		})
	}
	// Waiters: each returns when running or terminated.
	var waiting sync.WaitGroup
	for range 16 {
		waiting.Go(func() {
			for {
				err := d.Wait(ctx)
				if err != nil {
					if !errors.Is(err, ErrTerminated) {
						t.Errorf("Wait = %v", err)
					}
					return
				}
				if d.Context().Err() != nil && d.State() != Terminated {
					t.Error("context cancelled while not terminated")
				}
			}
		})
	}
	wg.Wait()
	if d.State() == Terminated {
		t.Fatal("terminated without a terminating signal")
	}
	if _, err := d.Send(SIGKILL, "test", "end"); err != nil {
		t.Fatal(err)
	}
	waiting.Wait()
	if notified.Load() == 0 {
		t.Fatal("no notifications ran")
	}
	if d.Context().Err() == nil {
		t.Fatal("context not cancelled after SIGKILL")
	}
}

func TestWaitRunningDoesNotAllocate(t *testing.T) {
	d := New(Options{})
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() {
		if d.Wait(ctx) != nil {
			panic("not running")
		}
	}); n != 0 {
		t.Fatalf("Wait on a running agent allocates %v times, want 0", n)
	}
	mustSend(t, d, SIGKILL)
	if n := testing.AllocsPerRun(1000, func() { _ = d.Wait(ctx) }); n != 0 {
		t.Fatalf("Wait on a terminated agent allocates %v times, want 0", n)
	}
}
