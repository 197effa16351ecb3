package signals

import (
	"errors"
	"testing"
)

// TestReferenceVectors replays the signal vectors observed on the reference
// dispatcher. A case with a deviation asserts the Go behaviour that replaces
// the reference's; its name starts with "deviation/".
func TestReferenceVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		deviation string // empty: reference behaviour kept
		run       func(t *testing.T, d *Dispatcher)
	}{
		{name: "25/stop-cont-cont", run: func(t *testing.T, d *Dispatcher) {
			mustSend(t, d, SIGSTOP)
			wantState(t, d, Stopped)
			mustSend(t, d, SIGCONT)
			wantState(t, d, Running)
			if info := mustSend(t, d, SIGCONT); info.Outcome != Delivered {
				t.Errorf("second SIGCONT outcome %v", info.Outcome)
			}
			wantState(t, d, Running)
		}},
		{name: "26/notification-signals-change-nothing", run: func(t *testing.T, d *Dispatcher) {
			for _, sig := range []Signal{SIGUSR1, SIGUSR2, SIGLOOP, SIGDRIFT} {
				mustSend(t, d, sig)
				wantState(t, d, Running)
			}
		}},
		{name: "27/budget-stops", run: func(t *testing.T, d *Dispatcher) {
			mustSend(t, d, SIGBUDGET)
			wantState(t, d, Stopped)
		}},
		{name: "27/term-terminates", run: func(t *testing.T, d *Dispatcher) {
			mustSend(t, d, SIGTERM)
			wantState(t, d, Terminated)
		}},
		{name: "deviation/28/sigkill-reported-delivered",
			deviation: "the reference's SIGKILL returns False because its own panic is swallowed; Go reports Delivered, no error",
			run: func(t *testing.T, d *Dispatcher) {
				info, err := d.Send(SIGKILL, "kernel", "")
				if err != nil || info.Outcome != Delivered {
					t.Fatalf("Send(SIGKILL) = %v, %v", info.Outcome, err)
				}
				wantState(t, d, Terminated)
			}},
		{name: "deviation/29/sigpolicy-kills-without-panic",
			deviation: "the reference raises AgentKernelPanic with a doubled message and records SIGKILL from kernel; Go terminates, keeps SIGPOLICY and its reason as the cause, and returns normally",
			run: func(t *testing.T, d *Dispatcher) {
				reason := "Violated policy 'p': d"
				if _, err := d.Send(SIGPOLICY, "policy_engine", reason); err != nil {
					t.Fatal(err)
				}
				wantState(t, d, Terminated)
				var te *TerminationError
				if err := d.Err(); !errors.As(err, &te) || te.Info.Signal != SIGPOLICY || te.Info.Reason != reason || te.Info.Source != "policy_engine" {
					t.Fatalf("Err() = %v", err)
				}
			}},
		{name: "30/block-and-unblock", run: func(t *testing.T, d *Dispatcher) {
			if err := d.Block(SIGKILL); !errors.Is(err, ErrUnmaskable) {
				t.Fatalf("Block(SIGKILL) = %v", err)
			}
			if err := d.Block(SIGPOLICY); !errors.Is(err, ErrUnmaskable) {
				t.Fatalf("Block(SIGPOLICY) = %v", err)
			}
			if err := d.Block(SIGSTOP); err != nil {
				t.Fatal(err)
			}
			if info := mustSend(t, d, SIGSTOP); info.Outcome != Queued {
				t.Fatalf("blocked SIGSTOP outcome %v", info.Outcome)
			}
			wantState(t, d, Running)
			if n := len(d.Pending()); n != 1 {
				t.Fatalf("pending %d, want 1", n)
			}
			if err := d.Unblock(SIGSTOP); err != nil {
				t.Fatal(err)
			}
			wantState(t, d, Stopped)
			if n := len(d.Pending()); n != 0 {
				t.Fatalf("pending %d, want 0", n)
			}
		}},
		{name: "deviation/30/sigtrust-unmaskable",
			deviation: "the reference lets SIGTRUST be blocked, contrary to its docs; Go refuses with ErrUnmaskable",
			run: func(t *testing.T, d *Dispatcher) {
				if err := d.Block(SIGTRUST); !errors.Is(err, ErrUnmaskable) {
					t.Fatalf("Block(SIGTRUST) = %v", err)
				}
			}},
		{name: "31/usr1-handler-called-once", run: func(t *testing.T, d *Dispatcher) {
			n := 0
			if _, err := d.Notify(SIGUSR1, func(Info) { n++ }); err != nil {
				t.Fatal(err)
			}
			mustSend(t, d, SIGUSR1)
			if n != 1 {
				t.Fatalf("handler called %d times", n)
			}
		}},
		{name: "deviation/31/sigkill-notification-observes",
			deviation: "the reference refuses a SIGKILL handler; Go accepts a notification, runs it after the kill, and it cannot prevent it",
			run: func(t *testing.T, d *Dispatcher) {
				var seen State = Running
				if _, err := d.Notify(SIGKILL, func(i Info) { seen = i.State }); err != nil {
					t.Fatal(err)
				}
				mustSend(t, d, SIGKILL)
				if seen != Terminated {
					t.Fatalf("notification saw state %v, want terminated", seen)
				}
			}},
		{name: "deviation/32/stop-cannot-be-ignored",
			deviation: "the reference's IGNORE disposition or a custom handler makes SIGSTOP a no-op; Go transitions always happen (only Block defers them)",
			run: func(t *testing.T, d *Dispatcher) {
				if _, err := d.Notify(SIGSTOP, func(Info) {}); err != nil {
					t.Fatal(err)
				}
				mustSend(t, d, SIGSTOP)
				wantState(t, d, Stopped)
			}},
		{name: "deviation/33/panicking-stop-handler",
			deviation: "the reference's raising SIGSTOP handler makes signal() return False and leaves the agent running; Go recovers the panic and the agent is stopped",
			run: func(t *testing.T, d *Dispatcher) {
				if _, err := d.Notify(SIGSTOP, func(Info) { panic("x") }); err != nil {
					t.Fatal(err)
				}
				if info := mustSend(t, d, SIGSTOP); info.Outcome != Delivered {
					t.Fatalf("outcome %v", info.Outcome)
				}
				wantState(t, d, Stopped)
			}},
		{name: "deviation/33/panicking-trust-handler",
			deviation: "the reference raises AgentKernelPanic out of signal() when a SIGTRUST handler fails; Go recovers the panic and terminates",
			run: func(t *testing.T, d *Dispatcher) {
				if _, err := d.Notify(SIGTRUST, func(Info) { panic("x") }); err != nil {
					t.Fatal(err)
				}
				mustSend(t, d, SIGTRUST)
				wantState(t, d, Terminated)
				if !errors.Is(d.Err(), ErrKilled) {
					t.Fatalf("Err() = %v", d.Err())
				}
			}},
		{name: "34/history-entry", run: func(t *testing.T, d *Dispatcher) {
			if _, err := d.SendInfo(Info{Signal: SIGSTOP, Source: "s", Reason: "r", Context: map[string]any{"k": 1}}); err != nil {
				t.Fatal(err)
			}
			h := d.History()
			if len(h) != 1 {
				t.Fatalf("history %+v", h)
			}
			e := h[0]
			if e.Signal != SIGSTOP || e.Source != "s" || e.Reason != "r" || e.Context["k"] != 1 || e.Time.IsZero() {
				t.Fatalf("history entry %+v", e)
			}
		}},
		{name: "deviation/24.7/cont-never-revives",
			deviation: "after SIGKILL the reference's SIGCONT clears the stopped flag; Go keeps the agent terminated and records SIGCONT as ignored",
			run: func(t *testing.T, d *Dispatcher) {
				mustSend(t, d, SIGSTOP)
				mustSend(t, d, SIGKILL)
				if info := mustSend(t, d, SIGCONT); info.Outcome != Ignored {
					t.Fatalf("SIGCONT outcome %v", info.Outcome)
				}
				wantState(t, d, Terminated)
			}},
		// Kept as the reference (SIGINT stops), and documented: no stop
		// pre-empts an action in flight, so a stop already means "pause
		// after the current action".
		{name: "24.7/sigint-same-as-stop",
			run: func(t *testing.T, d *Dispatcher) {
				mustSend(t, d, SIGINT)
				wantState(t, d, Stopped)
				if d.Context().Err() != nil {
					t.Fatal("SIGINT cancelled the agent context")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.deviation != "" {
				t.Log("deviation:", tt.deviation)
			}
			tt.run(t, newIn(t, Running))
		})
	}
}

func wantState(t *testing.T, d *Dispatcher, want State) {
	t.Helper()
	if got := d.State(); got != want {
		t.Fatalf("state = %v, want %v", got, want)
	}
	if cancelled := d.Context().Err() != nil; cancelled != (want == Terminated) {
		t.Fatalf("context cancelled = %v in state %v", cancelled, want)
	}
}
