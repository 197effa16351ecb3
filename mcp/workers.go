package mcp

import (
	"context"
	"sync/atomic"
	"time"
)

// workerIdle is how long an idle worker waits for another job before it
// ends.
const workerIdle = 5 * time.Second

// workers runs jobs on goroutines that are kept a while after their job
// ends and take the next one. A governed call decodes JSON, walks the
// policy and hashes the audit event, which grows a fresh goroutine's stack
// several times over; a warm worker has grown it already, and handing a
// job to an idle worker costs no more than starting a goroutine. Workers
// are never more than the jobs running at once (bounded by the session's
// limit on requests in flight), and each ends after workerIdle without a
// job or when the session ends.
type workers struct {
	jobs    chan func()  // unbuffered: a send succeeds only to an idle worker
	started atomic.Int64 // workers started, for tests
}

func newWorkers() *workers { return &workers{jobs: make(chan func())} }

// run runs fn on an idle worker, or on a new one when none is idle.
func (w *workers) run(ctx context.Context, fn func()) {
	select {
	case w.jobs <- fn:
	default:
		w.started.Add(1)
		go w.work(ctx, fn)
	}
}

func (w *workers) work(ctx context.Context, fn func()) {
	fn()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		select {
		case fn = <-w.jobs:
		case <-idle.C:
			return
		case <-ctx.Done():
			return
		}
		fn()
		idle.Reset(workerIdle)
	}
}
