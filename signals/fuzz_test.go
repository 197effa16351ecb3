package signals

import (
	"context"
	"errors"
	"testing"
)

// FuzzSignalSequence applies random operations and checks the invariants:
// terminated is absorbing, the context is cancelled iff terminated, Wait
// never blocks a running or terminated agent, and nothing deadlocks.
func FuzzSignalSequence(f *testing.F) {
	f.Add([]byte{1, 2, 2})
	f.Add([]byte{1, 4, 2})
	f.Add([]byte{0x81, 1, 0xc1, 5, 4})
	f.Add([]byte{0x85, 5, 6, 0xc5, 2})
	f.Add([]byte{10, 3, 2, 11, 12, 8})
	f.Add([]byte{0x81, 1, 1, 1, 0xc0, 9})
	f.Add([]byte{0, 13, 255, 7, 9, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		d := New(Options{AgentID: "f", Clock: &fakeClock{}, HistorySize: 8, QueueSize: 4})
		shadowTerminated := false
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // Wait must never need it: stopped agents return ctx.Err().
		for _, op := range ops {
			sig := Signal(op & 0x3f)
			switch op >> 6 {
			case 0, 1:
				info, err := d.Send(sig, "fuzz", "")
				switch {
				case !sig.Valid():
					if !errors.Is(err, ErrInvalidSignal) {
						t.Fatalf("Send(%d) error = %v", sig, err)
					}
				case err != nil && !errors.Is(err, ErrQueueFull):
					t.Fatalf("Send(%v) error = %v", sig, err)
				case shadowTerminated && info.Outcome != Ignored:
					t.Fatalf("Send(%v) to terminated agent: outcome %v", sig, info.Outcome)
				case info.Outcome == Delivered && sig.Terminates():
					shadowTerminated = true
				}
			case 2:
				err := d.Block(sig)
				if sig.Valid() && sig.Unmaskable() != errors.Is(err, ErrUnmaskable) {
					t.Fatalf("Block(%v) = %v", sig, err)
				}
			case 3:
				if err := d.Unblock(sig); sig.Valid() && err != nil {
					t.Fatalf("Unblock(%v) = %v", sig, err)
				}
				if d.State() == Terminated {
					shadowTerminated = true
				}
			}
			st := d.State()
			if shadowTerminated != (st == Terminated) {
				t.Fatalf("state %v, but terminated = %v", st, shadowTerminated)
			}
			if cancelled := d.Context().Err() != nil; cancelled != (st == Terminated) {
				t.Fatalf("context cancelled = %v in state %v", cancelled, st)
			}
			err := d.Wait(ctx)
			switch st {
			case Running:
				if err != nil {
					t.Fatalf("Wait on running = %v", err)
				}
			case Stopped:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Wait on stopped with ended ctx = %v", err)
				}
			case Terminated:
				if !errors.Is(err, ErrTerminated) {
					t.Fatalf("Wait on terminated = %v", err)
				}
			}
			for _, p := range d.Pending() {
				if p.Signal.Unmaskable() {
					t.Fatalf("unmaskable %v was queued", p.Signal)
				}
			}
		}
	})
}

// FuzzParse checks that Parse never panics and that whatever it accepts is
// a valid signal that round-trips through its name and number.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"SIGKILL", "kill", "4", "12", "13", "0", "", "sigpolicy", "04", "SIG", "Ｋill", "\u212aill", "\u017figkill"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSignal) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalidSignal", s, err)
			}
			return
		}
		if !sig.Valid() {
			t.Fatalf("Parse(%q) = invalid %d", s, sig)
		}
		for i := range len(s) {
			if s[i] >= 0x80 {
				t.Fatalf("Parse(%q) accepted a non-ASCII name", s)
			}
		}
		if again, err := Parse(sig.String()); err != nil || again != sig {
			t.Fatalf("Parse(%q) = %v, %v", sig.String(), again, err)
		}
	})
}
