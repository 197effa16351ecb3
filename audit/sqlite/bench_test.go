package sqlite

import (
	"context"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/internal/benchdir"
)

// fill appends n events to l from 64 goroutines.
func fill(b *testing.B, l *audit.Log, n int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := l.Append(context.Background(), event(int(i))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkAppend64 measures durable appends from 64 concurrent appenders
// (each Append returns after its group's flush) and reports the p99
// latency of Append and the process CPU time per append (cpu-ns/op, which
// stays meaningful when other work shares the machine).
func BenchmarkAppend64(b *testing.B) {
	e := newEnv(b, audit.Options{Clock: realClock{}})
	b.ReportAllocs()
	b.SetParallelism(64 / max(1, runtimeProcs()))
	var mu sync.Mutex
	var lat []time.Duration
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		i := 0
		for pb.Next() {
			ev := event(i)
			i++
			t0 := time.Now()
			if err := e.log.Append(context.Background(), ev); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	}
}

// BenchmarkAppendOne measures one sequential appender: each Append is a
// batch of one event, its own transaction and its own flush, which is
// what a caller waiting for each event (the MCP gateway) pays. The
// database lives under $AGENTOS_BENCH_DATA_DIR when that is set (on tmpfs
// the flush costs nothing, leaving the SQLite work), else in a temporary
// directory.
func BenchmarkAppendOne(b *testing.B) {
	e := openEnv(b, benchdir.Dir(b, os.Getenv(benchdir.Env)), audit.Options{Clock: realClock{}})
	evs := make([]*audit.Event, 64)
	for i := range evs {
		evs[i] = event(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		ev := evs[i%len(evs)]
		i++
		if err := e.log.Append(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkVerify measures streaming verification of a 200,000-event log
// (chain, tree, checkpoints), reported per event, in wall time and in
// process CPU time (cpu-ns/event, summed over the verifying goroutines).
func BenchmarkVerify(b *testing.B) {
	const n = 200_000
	e := newEnv(b, audit.Options{Clock: realClock{}})
	fill(b, e.log, n)
	if _, err := e.log.Checkpoint(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := e.log.Verify(context.Background(), audit.VerifyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/n, "cpu-ns/event")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/n, "ns/event")
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkQueryAgentLast100 queries one agent's last 100 events in a
// 1,000,000-event log (5 agents).
func BenchmarkQueryAgentLast100(b *testing.B) {
	const n = 1_000_000
	e := newEnv(b, audit.Options{Clock: realClock{}})
	fill(b, e.log, n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got := 0
		err := e.log.Query(context.Background(), audit.Query{AgentID: "agent-3", Limit: 100}, func(*audit.Event) error {
			got++
			return nil
		})
		if err != nil || got != 100 {
			b.Fatalf("got %d events, %v", got, err)
		}
	}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// cpuTime returns the CPU time (user and system) the process has used, so
// that benchmarks on a shared machine can report cost as well as speed.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
