package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		code int
		body string
		want outcome
	}{
		{"allowed", 200, `{"allowed":true,"agent_id":"a","action":"search"}`, allowed},
		{"denied by the asked action's rule", 200, `{"allowed":false,"agent_id":"a","action":"rm","decision":"deny"}`, denied},
		{"check syscall denied", 403, `{"error":{"code":"policy_denied","message":"denied"}}`, denied},
		{"check syscall rate-limited", 429, `{"error":{"code":"rate_limited","message":"slow down"}}`, denied},
		{"forbidden token", 403, `{"error":{"code":"forbidden","message":"agent token for another agent"}}`, otherErr},
		{"inbox full is not a decision", 429, `{"error":{"code":"inbox_full","message":"busy"}}`, otherErr},
		{"unauthenticated", 401, `{"error":{"code":"unauthenticated","message":"no token"}}`, otherErr},
		{"200 without a decision", 200, `{}`, otherErr},
		{"audit unavailable", 503, `{"error":{"code":"audit_unavailable","message":"disk full"}}`, serverErr},
		{"internal", 500, `{"error":{"code":"internal"}}`, serverErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.code, []byte(tt.body)); got != tt.want {
				t.Errorf("classify(%d, %s) = %d, want %d", tt.code, tt.body, got, tt.want)
			}
		})
	}
}

// fakeDaemon answers /v1/agents with 201 and /v1/check by turns: allowed
// (200), denied (200), rate-limited (429), a server error (503), and an
// answer with a chunked body larger than maxKeptBody (allowed).
func fakeDaemon(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n, spawned atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":{"code":"unauthenticated"}}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v1/agents":
			spawned.Add(1)
			w.WriteHeader(http.StatusCreated)
			return
		case "/v1/check":
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch n.Add(1) % 5 {
		case 0:
			fmt.Fprint(w, `{"allowed":true,"agent_id":"load","action":"search"}`)
		case 1:
			fmt.Fprint(w, `{"allowed":false,"agent_id":"load","action":"search"}`)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"code":"rate_limited","message":"slow down"}}`)
		case 3:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"code":"audit_unavailable","message":"disk full"}}`)
		case 4:
			// No Content-Length: net/http sends it chunked, flushed in
			// two chunks.
			fmt.Fprint(w, `{"allowed":true,"pad":"`)
			w.(http.Flusher).Flush()
			fmt.Fprint(w, strings.Repeat("x", 3*maxKeptBody)+`"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &spawned
}

func TestLoadCountsDecisions(t *testing.T) {
	srv, spawned := fakeDaemon(t)
	cfg, err := parseFlags([]string{"-url", srv.URL, "-token", "tok", "-c", "4", "-d", "300ms", "-agents", "3",
		"-pid", fmt.Sprint(os.Getpid()), "-sample", "1s"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := spawned.Load(); got != 3 {
		t.Errorf("spawned %d agents, want 3", got)
	}
	c := res.counts
	if res.decided() < 20 {
		t.Fatalf("only %d decided answers: %+v (first failure %q)", res.decided(), c, res.first)
	}
	// Per five answers: two allowed, two denied (one 200, one 429), one
	// 5xx; each worker's last request may be cut off by the deadline.
	if c[otherErr] != 0 || c[transport] != 0 {
		t.Errorf("unexpected failures: %+v, first %q", c, res.first)
	}
	total := res.decided() + res.failed()
	for _, o := range []struct {
		name string
		n    int64
		of5  int64
	}{{"allowed", c[allowed], 2}, {"denied", c[denied], 2}, {"5xx", c[serverErr], 1}} {
		if want := total * o.of5 / 5; o.n < want-int64(cfg.conc) || o.n > want+int64(cfg.conc) {
			t.Errorf("%s = %d of %d, want about %d", o.name, o.n, total, want)
		}
	}
	if int64(len(res.lats)) != res.decided() {
		t.Errorf("%d latencies for %d decided answers", len(res.lats), res.decided())
	}
	if !strings.Contains(res.first, "503") {
		t.Errorf("first failure %q, want the 503", res.first)
	}
	if res.cpu < 0 || len(res.rss) == 0 {
		t.Errorf("cpu %v rss %v: want this process's figures", res.cpu, res.rss)
	}
	var out bytes.Buffer
	res.print(&out)
	for _, want := range []string{"decided/s", "failed", "p99", "µs per request"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLoadTransportFailure(t *testing.T) {
	srv, _ := fakeDaemon(t)
	cfg, err := parseFlags([]string{"-url", srv.URL, "-token", "tok", "-c", "2", "-d", "100ms"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.addr = "127.0.0.1:1" // spawn works, every check's dial is refused
	res, err := load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.decided() != 0 || res.counts[transport] == 0 {
		t.Errorf("counts %+v: want only transport failures", res.counts)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{"-url", "http://127.0.0.1:8080"}, true},
		{[]string{"-url", "http://localhost:8080", "-agents", "16"}, true},
		{[]string{"-url", "http://10.0.0.1:8080"}, false},
		{[]string{"-url", "https://127.0.0.1:8080"}, false},
		{[]string{"-c", "0"}, false},
		{[]string{"-agents", "0"}, false},
		{[]string{"-d", "1h"}, false},
		{[]string{"-pid", "1", "-sample", "10ms"}, false},
		{[]string{"-token", `a"b`}, false},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args)
		if (err == nil) != tt.ok {
			t.Errorf("parseFlags(%q) error %v, want ok=%v", tt.args, err, tt.ok)
		}
	}
}

func TestCPUTime(t *testing.T) {
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) { // burn some CPU
	}
	d, err := cpuTime(os.Getpid())
	if err != nil {
		t.Skip("no /proc:", err)
	}
	if d <= 0 {
		t.Errorf("cpuTime = %v after burning CPU", d)
	}
}

// TestNoopBaseline runs the generator against the no-op baseline server:
// every answer is a decided, allowed check.
func TestNoopBaseline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveNoop(ctx, ln) }()
	cfg, err := parseFlags([]string{"-url", "http://" + ln.Addr().String(), "-token", "tok", "-c", "2", "-d", "200ms"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.decided() == 0 || res.failed() != 0 || res.counts[allowed] != res.decided() {
		t.Errorf("against the no-op server: %+v (first failure %q), want only allowed answers", res.counts, res.first)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serveNoop: %v", err)
	}
	for _, bad := range []string{"0.0.0.0:1", "example.com:80", "nonsense"} {
		if _, err := parseFlags([]string{"-serve-noop", bad}); err == nil {
			t.Errorf("-serve-noop %s accepted", bad)
		}
	}
}
