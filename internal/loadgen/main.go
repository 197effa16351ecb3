// Command loadgen drives POST /v1/check of a local agentos daemon and
// reports throughput and latency percentiles. It only talks to loopback
// addresses and runs for a bounded time.
//
//	go run ./internal/loadgen -url http://127.0.0.1:8080 -token agentos_... -c 64 -d 30s
//
// Each of the -c workers keeps one HTTP/1.1 keep-alive connection and
// sends one request at a time on it (no pipelining), as a client pool
// would. The requests are written from prepared bytes and the responses
// read with a minimal parser, so the generator spends little CPU of the
// machine it shares with the daemon.
//
// With -pid, it samples the daemon's resident set size (VmRSS in
// /proc/<pid>/status) every -sample and prints the series.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
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
	base := fs.String("url", "http://127.0.0.1:8080", "daemon base URL (http, loopback only)")
	token := fs.String("token", "", "bearer token (admin, or an agent token for -agent)")
	conc := fs.Int("c", 64, "concurrent connections (1-1024)")
	dur := fs.Duration("d", 10*time.Second, "duration (at most 15m)")
	agent := fs.String("agent", "load", "agent id (spawned if the token is an admin's)")
	action := fs.String("action", "search", "action to check")
	pid := fs.Int("pid", 0, "daemon process id whose VmRSS to sample (0: none)")
	sample := fs.Duration("sample", 30*time.Second, "RSS sampling interval with -pid (at least 1s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil || u.Host == "" || u.Scheme != "http" {
		return fmt.Errorf("-url: %q is not an http:// URL", *base)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url: %s is not a loopback address", host)
	}
	if *conc < 1 || *conc > 1024 || *dur <= 0 || *dur > 15*time.Minute {
		return errors.New("-c must be 1-1024 and -d at most 15m")
	}
	if *pid != 0 && *sample < time.Second {
		return errors.New("-sample must be at least 1s")
	}
	if strings.ContainsAny(*token+*agent+*action, "\r\n\"\\") {
		return errors.New("-token, -agent and -action must not contain quotes, backslashes or line breaks")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(host, "80")
	}

	// Spawn the agent through net/http (409 if it exists already).
	ctx := context.Background()
	spawn, _ := http.NewRequestWithContext(ctx, "POST", *base+"/v1/agents", strings.NewReader(`{"id":"`+*agent+`"}`))
	spawn.Header.Set("Authorization", "Bearer "+*token)
	spawn.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(spawn); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	} else {
		return fmt.Errorf("spawn agent %s: %v", *agent, err)
	}

	body := `{"agent_id":"` + *agent + `","action":"` + *action + `","args":{"q":"load"}}`
	req := []byte("POST /v1/check HTTP/1.1\r\nHost: " + u.Host + "\r\nAuthorization: Bearer " + *token +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)

	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	var rss []string
	var swg sync.WaitGroup
	if *pid != 0 {
		swg.Add(1)
		go func() {
			defer swg.Done()
			rss = sampleRSS(ctx, *pid, *sample)
		}()
	}
	var ok, fail, conns atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, *conc)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *client
			defer func() {
				if c != nil {
					c.conn.Close()
				}
			}()
			lat := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				if c == nil {
					var err error
					if c, err = dial(ctx, addr); err != nil {
						fail.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						time.Sleep(10 * time.Millisecond) // do not spin on a refused dial
						continue
					}
					conns.Add(1)
				}
				t0 := time.Now()
				code, keep, err := c.do(req, t0.Add(10*time.Second))
				if ctx.Err() != nil {
					break
				}
				lat = append(lat, time.Since(t0))
				if err != nil || !keep {
					c.conn.Close()
					c = nil
				}
				if err != nil || code != http.StatusOK {
					fail.Add(1)
					if err != nil {
						firstErr.CompareAndSwap(nil, err.Error())
					} else {
						firstErr.CompareAndSwap(nil, "status "+strconv.Itoa(code))
					}
					continue
				}
				ok.Add(1)
			}
			lats[i] = lat
		}()
	}
	wg.Wait()
	el := time.Since(start)
	cancel()
	swg.Wait()
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
	fmt.Fprintf(out, "requests %d (ok %d, failed %d) in %s over %d connections: %.0f req/s\n", n, ok.Load(), fail.Load(),
		el.Round(time.Millisecond), conns.Load(), float64(n)/el.Seconds())
	fmt.Fprintf(out, "latency p50 %s p90 %s p99 %s max %s\n", pct(0.50), pct(0.90), pct(0.99), pct(1))
	if e, _ := firstErr.Load().(string); e != "" {
		fmt.Fprintf(out, "first failure: %s\n", e)
	}
	if len(rss) > 0 {
		fmt.Fprintf(out, "rss %s\n", strings.Join(rss, " "))
	}
	return nil
}

// client is one keep-alive HTTP/1.1 connection.
type client struct {
	conn net.Conn
	br   *bufio.Reader
}

func dial(ctx context.Context, addr string) (*client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{conn: conn, br: bufio.NewReaderSize(conn, 4096)}, nil
}

// do writes one request and reads its response, discarding the body. keep
// is false when the server closes the connection.
func (c *client) do(req []byte, deadline time.Time) (code int, keep bool, err error) {
	if err := c.conn.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	if _, err := c.conn.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = c.discardChunked()
	case length >= 0:
		_, err = c.br.Discard(length)
	default:
		return code, false, nil // the body runs to the end of the connection
	}
	return code, keep && err == nil, err
}

// discardChunked reads a chunked body to its end.
func (c *client) discardChunked() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		sz, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(sz), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if _, err := c.br.Discard(int(n) + 2); err != nil { // data and CRLF
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// sampleRSS reads the VmRSS of pid now and every interval until ctx ends.
func sampleRSS(ctx context.Context, pid int, interval time.Duration) []string {
	var out []string
	read := func() {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			out = append(out, "?")
			return
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
				out = append(out, strconv.Itoa(kb/1024)+"MB")
				return
			}
		}
	}
	read()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			read()
			return out
		case <-t.C:
			read()
		}
	}
}
