package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// result is one throughput measurement.
type result struct {
	nsPerOp float64
	bytes   int // per operation
}

// bench measures fn with the testing package's benchmark driver (about a
// second of calls); bytes is the input size of one call.
func bench(bytes int, fn func()) result {
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			fn()
		}
	})
	return result{nsPerOp: float64(r.T.Nanoseconds()) / float64(max(r.N, 1)), bytes: bytes}
}

func (r result) us() float64 { return r.nsPerOp / 1e3 }

func (r result) mbps() float64 {
	if r.nsPerOp == 0 {
		return 0
	}
	return float64(r.bytes) / r.nsPerOp * 1e3
}

func (r result) usString() string { return fmt.Sprintf("%.2f µs", r.us()) }
func (r result) mbString() string { return fmt.Sprintf("%.1f MB/s", r.mbps()) }

func (r result) String() string {
	if r.us() >= 1000 {
		return fmt.Sprintf("%.2f ms/op, %s", r.us()/1e3, r.mbString())
	}
	return fmt.Sprintf("%s/op, %s", r.usString(), r.mbString())
}

// passTimer times a whole corpus pass: items, bytes and time spent inside
// the detector.
type passTimer struct {
	on    bool
	items int
	bytes int
	spent time.Duration
}

func newPassTimer(on bool) *passTimer { return &passTimer{on: on} }

// run applies flag to text, timing it when the timer is on.
func (p *passTimer) run(ctx context.Context, text string, flag flagFunc) (bool, error) {
	if !p.on {
		hit, err := flag(ctx, text)
		return hit || err != nil, err
	}
	start := time.Now()
	hit, err := flag(ctx, text)
	p.spent += time.Since(start)
	p.items++
	p.bytes += len(text)
	return hit || err != nil, err
}

func (p *passTimer) String() string {
	if !p.on || p.items == 0 || p.spent <= 0 {
		return ""
	}
	us := float64(p.spent.Nanoseconds()) / 1e3 / float64(p.items)
	mbps := float64(p.bytes) / float64(p.spent.Nanoseconds()) * 1e3
	return fmt.Sprintf("%d items, %.1f KiB: %.2f µs/item, %.1f MB/s", p.items, float64(p.bytes)/1024, us, mbps)
}

// machine describes where the run happened: CPU model (on Linux), logical
// CPUs, GOMAXPROCS, OS/architecture and Go version.
func machine() string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s, %d logical CPUs (GOMAXPROCS %d), %s/%s, %s", cpu, runtime.NumCPU(),
		runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
}
