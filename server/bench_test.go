package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/agentos/agentos/audit"
	auditsqlite "github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/policy"
)

// benchPolicy allows everything, as the load test's policy does, with
// one rule of each kind the check path looks up so the rule index is not
// empty.
const benchPolicy = `version: "1.0"
name: bench
defaults:
  action: allow
rules:
  - name: deny-rm
    priority: 100
    match: {tools: [rm]}
    action: deny
    message: no rm
`

// memoryLog is the server's AuditLog over the in-memory, hash-chained
// audit.Memory: the server path without durability, for benchmarks and
// fuzz targets that separate the durable append's cost from the rest.
// When the bounded Memory is full, it starts a new one (a new chain), so
// long benchmark and fuzz runs keep going; queries read the current one.
type memoryLog struct {
	max int
	mu  sync.Mutex
	m   *audit.Memory // guarded by mu
}

var _ AuditLog = (*memoryLog)(nil)

func newMemoryLog(tb testing.TB, max int) *memoryLog {
	m, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: max})
	if err != nil {
		tb.Fatal(err)
	}
	return &memoryLog{max: max, m: m}
}

func (l *memoryLog) cur() *audit.Memory {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m
}

func (l *memoryLog) Append(ctx context.Context, e *audit.Event) error {
	m := l.cur()
	err := m.Append(ctx, e)
	if !errors.Is(err, audit.ErrFull) {
		return err
	}
	l.mu.Lock()
	if l.m == m {
		if l.m, err = audit.NewMemory(audit.MemoryOptions{MaxEvents: l.max}); err != nil {
			l.mu.Unlock()
			return err
		}
	}
	m = l.m
	l.mu.Unlock()
	return m.Append(ctx, e)
}

func (l *memoryLog) Query(ctx context.Context, q audit.Query, fn func(*audit.Event) error) error {
	m := l.cur()
	evs := m.Events(0, uint64(m.Len()))
	n := 0
	for i := range evs {
		e := &evs[i]
		if !q.Ascending {
			e = &evs[len(evs)-1-i]
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !q.Match(e) {
			continue
		}
		if q.Limit > 0 && n == q.Limit {
			return nil
		}
		n++
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (l *memoryLog) Verify(context.Context, audit.VerifyOptions) (audit.VerifyResult, error) {
	return audit.VerifyResult{}, l.cur().Verify()
}

func (l *memoryLog) Prove(context.Context, uint64) (*audit.Proof, error) {
	return nil, errors.New("the in-memory audit log keeps no Merkle tree")
}

func (l *memoryLog) VerifierKey() string { return "" }

// benchServer is a server on real components with an admin token, an
// agent token for agent "a1" and agent "a1" spawned. durable selects the
// SQLite audit log in a temporary directory; otherwise the in-memory log
// holding up to maxEvents events.
type benchServer struct {
	s       *Server
	h       http.Handler
	admin   string
	agent   string
	agentID string
}

func newBenchServer(tb testing.TB, durable bool, maxEvents int) *benchServer {
	return newBenchServerOpts(tb, durable, maxEvents, 0)
}

// newBenchServerOpts is newBenchServer with Options.MaxBodyBytes (0: the
// default).
func newBenchServerOpts(tb testing.TB, durable bool, maxEvents int, maxBody int64) *benchServer {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	var alog AuditLog
	if durable {
		store, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: filepath.Join(dir, "audit.db")})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { store.Close() })
		l, err := audit.Open(ctx, audit.Options{Store: store, Dir: dir, CheckpointInterval: -1})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { l.Close() })
		alog = l
	} else {
		alog = newMemoryLog(tb, maxEvents)
	}
	tokens, err := OpenTokenStore(TokenStoreOptions{Path: filepath.Join(dir, TokensFile), RecheckInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	_, admin, err := tokens.Create(RoleAdmin, "", "admin")
	if err != nil {
		tb.Fatal(err)
	}
	_, agent, err := tokens.Create(RoleAgent, "a1", "bot")
	if err != nil {
		tb.Fatal(err)
	}
	docs, err := policy.Parse("bench.yaml", []byte(benchPolicy))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(ctx, Options{AuditLog: alog, Tokens: tokens, Version: "bench", MaxBodyBytes: maxBody,
		Policy: func(context.Context) ([]*policy.Document, error) { return docs, nil }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	bs := &benchServer{s: s, h: s.Handler(), admin: admin, agent: agent, agentID: "a1"}
	if code, body := bs.serve(http.MethodPost, "/v1/agents", admin, `{"id":"a1"}`); code != http.StatusCreated {
		tb.Fatalf("spawn: %d %s", code, body)
	}
	return bs
}

// serve runs one request through the handler and returns the status and
// body.
func (bs *benchServer) serve(method, path, token, body string) (int, string) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	bs.h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// discardWriter is a ResponseWriter that keeps only the status, so a
// benchmark measures the server and not the recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// checkBody is the load generator's request body.
const checkBody = `{"agent_id":"a1","action":"search","args":{"q":"load"}}`

// BenchmarkCheck measures POST /v1/check through the whole handler stack
// (middleware, auth, decode, kernel, audit, encode), in process:
//
//   - memory: the in-memory audit log, i.e. the server path without
//     durability;
//   - durable: the SQLite audit log with group commit, one fsync per
//     batch (parallel, as a loaded daemon sees it).
func BenchmarkCheck(b *testing.B) {
	run := func(b *testing.B, bs *benchServer, token string, parallel bool) {
		b.ReportAllocs()
		one := func(w *discardWriter, r *http.Request, body *bytes.Reader) {
			body.Reset([]byte(checkBody))
			for k := range w.h {
				delete(w.h, k)
			}
			w.code = 0
			bs.h.ServeHTTP(w, r)
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		}
		newReq := func() (*discardWriter, *http.Request, *bytes.Reader) {
			body := bytes.NewReader([]byte(checkBody))
			r := httptest.NewRequest(http.MethodPost, "/v1/check", body)
			r.Header.Set("Authorization", "Bearer "+token)
			r.Header.Set("Content-Type", "application/json")
			r.ContentLength = int64(len(checkBody))
			return &discardWriter{h: http.Header{}}, r, body
		}
		if !parallel {
			w, r, body := newReq()
			for b.Loop() {
				r.Body = readCloser{body}
				one(w, r, body)
			}
			return
		}
		b.RunParallel(func(pb *testing.PB) {
			w, r, body := newReq()
			for pb.Next() {
				r.Body = readCloser{body}
				one(w, r, body)
			}
		})
	}
	b.Run("memory/agent-token", func(b *testing.B) {
		bs := newBenchServer(b, false, 1<<22)
		run(b, bs, bs.agent, false)
	})
	b.Run("memory/admin-token", func(b *testing.B) {
		bs := newBenchServer(b, false, 1<<22)
		run(b, bs, bs.admin, false)
	})
	b.Run("memory/parallel", func(b *testing.B) {
		bs := newBenchServer(b, false, 1<<22)
		run(b, bs, bs.agent, true)
	})
	b.Run("durable/parallel", func(b *testing.B) {
		bs := newBenchServer(b, true, 0)
		run(b, bs, bs.agent, true)
	})
}

// BenchmarkCheckLoopback measures POST /v1/check over real loopback HTTP
// connections (httptest.Server), with the in-memory audit log: the
// server's request path including net/http, as a load generator sees it.
func BenchmarkCheckLoopback(b *testing.B) {
	bs := newBenchServer(b, false, 1<<22)
	ts := httptest.NewServer(bs.h)
	b.Cleanup(ts.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		body := bytes.NewReader(nil)
		var buf [512]byte
		for pb.Next() {
			body.Reset([]byte(checkBody))
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/check", body)
			req.Header.Set("Authorization", "Bearer "+bs.agent)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := resp.Body.Read(buf[:]); err != nil {
					break
				}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// readCloser gives a *bytes.Reader a no-op Close.
type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
