package signals

import (
	"context"
	"testing"
)

func BenchmarkSend(b *testing.B) {
	b.Run("notification", func(b *testing.B) {
		d := New(Options{AgentID: "a1", Clock: &fakeClock{}})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Send(SIGUSR1, "kernel", "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stop-cont", func(b *testing.B) {
		d := New(Options{AgentID: "a1", Clock: &fakeClock{}})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Send(SIGSTOP, "kernel", ""); err != nil {
				b.Fatal(err)
			}
			if _, err := d.Send(SIGCONT, "kernel", ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		d := New(Options{AgentID: "a1", Clock: &fakeClock{}})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := d.Send(SIGUSR2, "kernel", ""); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkWaitRunning(b *testing.B) {
	d := New(Options{AgentID: "a1"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
