package signals_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentos/agentos/signals"
)

func Example() {
	d := signals.New(signals.Options{AgentID: "agent-1"})

	// The kernel waits at the start of every syscall; a running agent passes.
	fmt.Println(d.Wait(context.Background()), d.State())

	// Notifications observe transitions; they cannot prevent them.
	if _, err := d.Notify(signals.SIGPOLICY, func(i signals.Info) {
		fmt.Println("notified:", i.Signal, i.State)
	}); err != nil {
		panic(err)
	}
	if _, err := d.Send(signals.SIGPOLICY, "policy", "rule no-shell matched"); err != nil {
		panic(err)
	}

	err := d.Wait(context.Background())
	fmt.Println(errors.Is(err, signals.ErrTerminated), errors.Is(err, signals.ErrKilled))
	fmt.Println(context.Cause(d.Context()))
	// Output:
	// <nil> running
	// notified: SIGPOLICY terminated
	// true true
	// agent agent-1 killed by SIGPOLICY from policy: rule no-shell matched
}
