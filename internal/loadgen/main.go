// Command loadgen drives POST /v1/check of a local agentos daemon and
// reports throughput and latency percentiles. It only talks to loopback
// addresses and runs for a bounded time.
//
//	go run ./internal/loadgen -url http://127.0.0.1:8080 -token agentos_... -c 64 -d 30s
//
// # What counts
//
// A check the daemon decided is a success whether it allowed or denied the
// action: a 200 answer (allowed true or false), and the 403 policy_denied
// and 429 rate_limited answers the check syscall's own policy gives (the
// built-in default policy rate-limits every agent to 600 actions a
// minute). They are counted as allowed and denied. Transport errors,
// malformed responses, 5xx answers and any other status (401, 400, ...:
// the load test is misconfigured) are failures. Throughput is decided
// answers per second.
//
// To measure decisions rather than the rate limiter, serve with
// testdata/policy.yaml (the default policy without its rate limit), or
// spread the load over several agents with -agents.
//
// Each of the -c workers keeps one HTTP/1.1 keep-alive connection and
// sends one request at a time on it (no pipelining), as a client pool
// would. The requests are written from prepared bytes and the responses
// read with a minimal parser, so the generator spends little CPU of the
// machine it shares with the daemon.
//
// With -serve-noop ADDR it does not generate load but serves, on that
// loopback address until interrupted, a no-op POST /v1/check (and POST
// /v1/agents) on net/http: run the generator against it to measure the
// machine's ceiling, what HTTP alone costs with this generator beside it.
//
// With -pid, it samples the daemon's resident set size (VmRSS in
// /proc/<pid>/status) every -sample and prints the series, and reports the
// daemon's CPU time (user + system, /proc/<pid>/stat) per request: the
// figure that stays comparable when other work shares the machine.
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
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
}

// config is the parsed command line.
type config struct {
	base   string
	addr   string // host:port to dial
	host   string // the Host header
	token  string
	conc   int
	dur    time.Duration
	agent  string
	agents int
	action string
	pid    int
	sample time.Duration
	noop   string // -serve-noop: serve the no-op baseline here instead
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	c := &config{}
	fs.StringVar(&c.base, "url", "http://127.0.0.1:8080", "daemon base URL (http, loopback only)")
	fs.StringVar(&c.token, "token", "", "bearer token (admin, or an agent token for -agent)")
	fs.IntVar(&c.conc, "c", 64, "concurrent connections (1-1024)")
	fs.DurationVar(&c.dur, "d", 10*time.Second, "duration (at most 15m)")
	fs.StringVar(&c.agent, "agent", "load", "agent id (spawned if the token is an admin's); with -agents > 1, the prefix of agent-0, agent-1, ...")
	fs.IntVar(&c.agents, "agents", 1, "number of agents the connections take turns with (1-1024; needs an admin token when > 1)")
	fs.StringVar(&c.action, "action", "search", "action to check")
	fs.IntVar(&c.pid, "pid", 0, "daemon process id whose VmRSS to sample and CPU time to report (0: none)")
	fs.DurationVar(&c.sample, "sample", 30*time.Second, "RSS sampling interval with -pid (at least 1s)")
	fs.StringVar(&c.noop, "serve-noop", "", "serve a no-op /v1/check on this loopback host:port (the machine's HTTP ceiling) instead of generating load")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.noop != "" {
		host, _, err := net.SplitHostPort(c.noop)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return nil, fmt.Errorf("-serve-noop: %q is not a loopback host:port", c.noop)
		}
		return c, nil
	}
	u, err := url.Parse(c.base)
	if err != nil || u.Host == "" || u.Scheme != "http" {
		return nil, fmt.Errorf("-url: %q is not an http:// URL", c.base)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("-url: %s is not a loopback address", host)
	}
	if c.conc < 1 || c.conc > 1024 || c.dur <= 0 || c.dur > 15*time.Minute {
		return nil, errors.New("-c must be 1-1024 and -d at most 15m")
	}
	if c.agents < 1 || c.agents > 1024 {
		return nil, errors.New("-agents must be 1-1024")
	}
	if c.pid != 0 && c.sample < time.Second {
		return nil, errors.New("-sample must be at least 1s")
	}
	if strings.ContainsAny(c.token+c.agent+c.action, "\r\n\"\\") {
		return nil, errors.New("-token, -agent and -action must not contain quotes, backslashes or line breaks")
	}
	c.base = strings.TrimSuffix(c.base, "/")
	c.host = u.Host
	c.addr = u.Host
	if u.Port() == "" {
		c.addr = net.JoinHostPort(host, "80")
	}
	return c, nil
}

// agentIDs returns the agents the load uses.
func (c *config) agentIDs() []string {
	if c.agents == 1 {
		return []string{c.agent}
	}
	ids := make([]string, c.agents)
	for i := range ids {
		ids[i] = c.agent + "-" + strconv.Itoa(i)
	}
	return ids
}

// request returns the prepared bytes of one POST /v1/check for agent.
func (c *config) request(agent string) []byte {
	body := `{"agent_id":"` + agent + `","action":"` + c.action + `","args":{"q":"load"}}`
	return []byte("POST /v1/check HTTP/1.1\r\nHost: " + c.host + "\r\nAuthorization: Bearer " + c.token +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// spawn creates agent through net/http; 201 and 409 (it exists) are fine,
// as is 403 (an agent token, which can only act as an existing agent).
func (c *config) spawn(ctx context.Context, agent string) error {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/v1/agents", strings.NewReader(`{"id":"`+agent+`"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("spawn agent %s: %w", agent, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK, http.StatusConflict, http.StatusForbidden:
		return nil
	}
	return fmt.Errorf("spawn agent %s: status %d", agent, resp.StatusCode)
}

// outcome classifies one answer.
type outcome int

const (
	allowed   outcome = iota // 200, "allowed":true
	denied                   // 200 "allowed":false, 403 policy_denied, 429 rate_limited
	serverErr                // 5xx
	otherErr                 // any other status, or a 200 without a decision
	transport                // no answer, or a malformed one
	numOutcomes
)

// classify maps a response to an outcome. body is the response body,
// read up to maxKeptBody bytes.
func classify(code int, body []byte) outcome {
	switch {
	case code == http.StatusOK:
		switch {
		case bytes.Contains(body, []byte(`"allowed":true`)):
			return allowed
		case bytes.Contains(body, []byte(`"allowed":false`)):
			return denied
		}
		return otherErr
	case code == http.StatusForbidden && bytes.Contains(body, []byte(`"code":"policy_denied"`)),
		code == http.StatusTooManyRequests && bytes.Contains(body, []byte(`"code":"rate_limited"`)):
		return denied
	case code >= 500 && code <= 599:
		return serverErr
	}
	return otherErr
}

// result is what a run measured.
type result struct {
	counts  [numOutcomes]int64
	elapsed time.Duration
	conns   int64
	lats    []time.Duration // of decided answers, sorted
	first   string          // the first failure
	rss     []string
	cpu     time.Duration // the daemon's CPU time over the run; -1 when unknown
}

// decided is the number of decided answers (allowed or denied).
func (r *result) decided() int64 { return r.counts[allowed] + r.counts[denied] }

// failed is the number of failures.
func (r *result) failed() int64 {
	return r.counts[serverErr] + r.counts[otherErr] + r.counts[transport]
}

func (r *result) pct(p float64) time.Duration {
	if len(r.lats) == 0 {
		return 0
	}
	return r.lats[min(len(r.lats)-1, int(p*float64(len(r.lats))))]
}

func (r *result) print(out io.Writer) {
	n := r.decided() + r.failed()
	fmt.Fprintf(out, "requests %d: decided %d (allowed %d, denied %d), failed %d (5xx %d, other status %d, transport %d)\n",
		n, r.decided(), r.counts[allowed], r.counts[denied], r.failed(), r.counts[serverErr], r.counts[otherErr], r.counts[transport])
	fmt.Fprintf(out, "%.0f decided/s in %s over %d connections\n", float64(r.decided())/r.elapsed.Seconds(),
		r.elapsed.Round(time.Millisecond), r.conns)
	fmt.Fprintf(out, "latency (decided) p50 %s p90 %s p99 %s p99.9 %s max %s\n", r.pct(0.50), r.pct(0.90), r.pct(0.99), r.pct(0.999), r.pct(1))
	if r.first != "" {
		fmt.Fprintf(out, "first failure: %s\n", r.first)
	}
	if len(r.rss) > 0 {
		fmt.Fprintf(out, "rss %s\n", strings.Join(r.rss, " "))
	}
	if r.cpu >= 0 && n > 0 {
		fmt.Fprintf(out, "daemon cpu %s: %.1f µs per request\n", r.cpu.Round(time.Millisecond), float64(r.cpu.Microseconds())/float64(n))
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	if cfg.noop != "" {
		ln, err := net.Listen("tcp", cfg.noop)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "serving the no-op baseline on http://%s\n", ln.Addr())
		return serveNoop(ctx, ln)
	}
	res, err := load(ctx, cfg)
	if err != nil {
		return err
	}
	res.print(out)
	return nil
}

// noopCheck is the answer of the no-op baseline: an allowed check, about
// the size of the daemon's.
const noopCheck = `{"allowed":true,"agent_id":"load","action":"search","decision":"allow","rule":"allow-load",` +
	`"policy":"load","policy_version":"0000000000000000000000000000000000000000000000000000000000000000"}` + "\n"

// serveNoop serves the no-op baseline on ln until ctx ends: the request
// body is read and dropped, the answer is constant.
func serveNoop(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/check", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, noopCheck)
	})
	mux.HandleFunc("POST /v1/agents", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { _ = hs.Close() })
	defer stop()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// load spawns the agents and runs the load.
func load(ctx context.Context, cfg *config) (*result, error) {
	ids := cfg.agentIDs()
	reqs := make([][]byte, len(ids))
	for i, id := range ids {
		if err := cfg.spawn(ctx, id); err != nil {
			return nil, err
		}
		reqs[i] = cfg.request(id)
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.dur)
	defer cancel()
	res := &result{cpu: -1}
	var swg sync.WaitGroup
	if cfg.pid != 0 {
		swg.Go(func() { res.rss = sampleRSS(ctx, cfg.pid, cfg.sample) })
	}
	cpu0, cpuErr := cpuTime(cfg.pid)
	var counts [numOutcomes]atomic.Int64
	var conns atomic.Int64
	var firstErr atomic.Value
	fail := func(o outcome, msg string) {
		counts[o].Add(1)
		firstErr.CompareAndSwap(nil, msg)
	}
	lats := make([][]time.Duration, cfg.conc)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.conc {
		wg.Go(func() {
			var c *client
			defer func() {
				if c != nil {
					c.conn.Close()
				}
			}()
			lat := make([]time.Duration, 0, 4096)
			for n := i; ctx.Err() == nil; n++ {
				if c == nil {
					var err error
					if c, err = dial(ctx, cfg.addr); err != nil {
						if ctx.Err() == nil {
							fail(transport, err.Error())
						}
						time.Sleep(10 * time.Millisecond) // do not spin on a refused dial
						continue
					}
					conns.Add(1)
				}
				t0 := time.Now()
				code, body, keep, err := c.do(reqs[n%len(reqs)], t0.Add(10*time.Second))
				if ctx.Err() != nil {
					break
				}
				took := time.Since(t0)
				if err != nil || !keep {
					c.conn.Close()
					c = nil
				}
				if err != nil {
					fail(transport, err.Error())
					continue
				}
				o := classify(code, body)
				if o != allowed && o != denied {
					fail(o, "status "+strconv.Itoa(code)+": "+string(body))
					continue
				}
				counts[o].Add(1)
				lat = append(lat, took)
			}
			lats[i] = lat
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if cpu1, err := cpuTime(cfg.pid); err == nil && cpuErr == nil && cfg.pid != 0 {
		res.cpu = cpu1 - cpu0
	}
	cancel()
	swg.Wait()
	for i := range counts {
		res.counts[i] = counts[i].Load()
	}
	res.conns = conns.Load()
	for _, l := range lats {
		res.lats = append(res.lats, l...)
	}
	slices.Sort(res.lats)
	res.first, _ = firstErr.Load().(string)
	return res, nil
}

// client is one keep-alive HTTP/1.1 connection.
type client struct {
	conn net.Conn
	br   *bufio.Reader
	body []byte // the last response's body, up to maxKeptBody bytes
}

// maxKeptBody bounds the part of a response body kept to classify it; a
// check's answer and an error's code fit well within it.
const maxKeptBody = 2048

func dial(ctx context.Context, addr string) (*client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{conn: conn, br: bufio.NewReaderSize(conn, 4096), body: make([]byte, 0, maxKeptBody)}, nil
}

// do writes one request and reads its response, keeping the first
// maxKeptBody bytes of the body (valid until the next call). keep is
// false when the server closes the connection.
func (c *client) do(req []byte, deadline time.Time) (code int, body []byte, keep bool, err error) {
	if err := c.conn.SetDeadline(deadline); err != nil {
		return 0, nil, false, err
	}
	if _, err := c.conn.Write(req); err != nil {
		return 0, nil, false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
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
				return 0, nil, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	c.body = c.body[:0]
	switch {
	case chunked:
		err = c.readChunked()
	case length >= 0:
		err = c.read(length)
	default:
		// The body runs to the end of the connection.
		err = c.read(-1)
		return code, c.body, false, err
	}
	return code, c.body, keep && err == nil, err
}

// read reads n bytes of body (to the end of the connection when n < 0),
// keeping the first maxKeptBody.
func (c *client) read(n int) error {
	for n != 0 {
		want := maxKeptBody - len(c.body)
		if want == 0 {
			if n < 0 {
				_, err := io.Copy(io.Discard, c.br)
				return err
			}
			_, err := c.br.Discard(n)
			return err
		}
		if n > 0 {
			want = min(want, n)
		}
		m, err := c.br.Read(c.body[len(c.body) : len(c.body)+want])
		c.body = c.body[:len(c.body)+m]
		if n > 0 {
			n -= m
		}
		if err == io.EOF && n < 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readChunked reads a chunked body to its end.
func (c *client) readChunked() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		sz, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(sz), 16, 64)
		if err != nil || n < 0 || n > 1<<30 {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			_, err := c.br.Discard(2) // the CRLF after the last chunk
			return err
		}
		if err := c.read(int(n)); err != nil {
			return err
		}
		if _, err := c.br.Discard(2); err != nil { // the chunk's CRLF
			return err
		}
	}
}

// cpuTime returns the user + system CPU time of process pid so far
// (fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 1/100 s, the
// value of USER_HZ on Linux).
func cpuTime(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc stat")
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
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
