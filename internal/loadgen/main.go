// Command loadgen drives POST /v1/check of a local agentos daemon and
// reports throughput and latency percentiles. It only talks to loopback
// addresses and runs for a bounded time.
//
//	go run ./internal/loadgen -url http://127.0.0.1:8080 -token agentos_... -c 64 -d 30s
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "daemon base URL (loopback only)")
	token := fs.String("token", "", "bearer token (admin, or an agent token for -agent)")
	conc := fs.Int("c", 64, "concurrent connections (1-1024)")
	dur := fs.Duration("d", 10*time.Second, "duration (at most 15m)")
	agent := fs.String("agent", "load", "agent id (spawned if the token is an admin's)")
	action := fs.String("action", "search", "action to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url: %q is not a URL", *base)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url: %s is not a loopback address", host)
	}
	if *conc < 1 || *conc > 1024 || *dur <= 0 || *dur > 15*time.Minute {
		return fmt.Errorf("-c must be 1-1024 and -d at most 15m")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	do := func(ctx context.Context, method, path string, body []byte) (int, error) {
		req, err := http.NewRequestWithContext(ctx, method, *base+path, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	ctx := context.Background()
	_, _ = do(ctx, "POST", "/v1/agents", []byte(`{"id":"`+*agent+`"}`)) // 409 if it exists
	body := []byte(`{"agent_id":"` + *agent + `","action":"` + *action + `","args":{"q":"load"}}`)
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	var ok, fail atomic.Int64
	lats := make([][]time.Duration, *conc)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				code, err := do(ctx, "POST", "/v1/check", body)
				if ctx.Err() != nil {
					return
				}
				lats[i] = append(lats[i], time.Since(t0))
				if err != nil || code != http.StatusOK {
					fail.Add(1)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))]
	}
	n := ok.Load() + fail.Load()
	fmt.Fprintf(out, "requests %d (ok %d, failed %d) in %s: %.0f req/s\n", n, ok.Load(), fail.Load(), el.Round(time.Millisecond), float64(n)/el.Seconds())
	fmt.Fprintf(out, "latency p50 %s p90 %s p99 %s max %s\n", pct(0.50), pct(0.90), pct(0.99), pct(1))
	return nil
}
