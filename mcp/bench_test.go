package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/internal/benchdir"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp/mcptest"
)

// reportMedian adds the median of the per-iteration durations as a
// metric: the latency target is a median.
func reportMedian(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), "p50-ns/op")
}

// BenchmarkToolsCall measures one tools/call from an SDK client to the
// fixture server, directly and through the gateway (kernel pipeline,
// in-memory audit, response scanning); the difference is the gateway's
// added latency.
func BenchmarkToolsCall(b *testing.B) {
	args := map[string]any{"msg": "hello"}
	b.Run("direct", func(b *testing.B) {
		cs := directClient(b)
		benchCalls(b, cs, args)
	})
	b.Run("gateway", func(b *testing.B) {
		e := newEnv(b, envConfig{})
		if _, err := e.cs.ListTools(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		benchCalls(b, e.cs, args)
	})
	// paired: each iteration makes one direct call and one through the
	// gateway, in alternating order, so that both see the same moment of a
	// shared, noisy machine; added-p50 is the median of the per-pair
	// differences, the figure the latency target is about.
	b.Run("paired", func(b *testing.B) {
		direct := directClient(b)
		e := newEnv(b, envConfig{})
		if _, err := e.cs.ListTools(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		benchPaired(b, direct, e.cs, args)
	})
	// paired-durable: the same, with the audit log users of wrap get (the
	// SQLite store in a data directory; AGENTOS_BENCH_DATA_DIR puts it
	// elsewhere, e.g. on tmpfs): each call also waits for its event to be
	// flushed to disk.
	// It also reports the median time of an Append (audit-p50-ns), the
	// part of the added time that is the durable log's.
	b.Run("paired-durable", func(b *testing.B) {
		direct := directClient(b)
		ta := &timedAuditor{Auditor: durableLog(b)}
		e := newEnv(b, envConfig{auditor: ta})
		if _, err := e.cs.ListTools(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		ta.reset()
		benchPaired(b, direct, e.cs, args)
		ta.report(b)
	})
}

// durableLog opens the durable audit log (the SQLite store) in a temporary
// data directory, or under $AGENTOS_BENCH_DATA_DIR when set; it closes
// when b ends.
func durableLog(b *testing.B) *audit.Log {
	ctx := context.Background()
	dir := benchdir.Dir(b, os.Getenv(benchdir.Env))
	store, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(dir, "audit.db")})
	if err != nil {
		b.Fatal(err)
	}
	log, err := audit.Open(ctx, audit.Options{Store: store, Dir: dir})
	if err != nil {
		store.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		log.Close()
		store.Close()
	})
	return log
}

// timedAuditor times each Append of the Auditor it wraps.
type timedAuditor struct {
	kernel.Auditor
	mu sync.Mutex
	ds []time.Duration
}

func (t *timedAuditor) Append(ctx context.Context, e *audit.Event) error {
	start := time.Now()
	err := t.Auditor.Append(ctx, e)
	d := time.Since(start)
	t.mu.Lock()
	if len(t.ds) < 1<<16 {
		t.ds = append(t.ds, d)
	}
	t.mu.Unlock()
	return err
}

func (t *timedAuditor) reset() {
	t.mu.Lock()
	t.ds = t.ds[:0]
	t.mu.Unlock()
}

// report reports the median Append as audit-p50-ns.
func (t *timedAuditor) report(b *testing.B) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ds) > 0 {
		slices.Sort(t.ds)
		b.ReportMetric(float64(t.ds[len(t.ds)/2].Nanoseconds()), "audit-p50-ns")
	}
}

// benchPaired makes one tools/call through direct and one through gateway
// per iteration, in alternating order, and reports the medians of each and
// of the per-pair differences (added-p50-ns).
func benchPaired(b *testing.B, direct, gateway *sdk.ClientSession, args map[string]any) {
	ctx := context.Background()
	p := &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: args}
	timed := func(cs *sdk.ClientSession) time.Duration {
		start := time.Now()
		res, err := cs.CallTool(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		if res.IsError {
			b.Fatalf("tools/call failed: %+v", res.Content)
		}
		return time.Since(start)
	}
	const most = 1 << 16
	dd, gd, added := make([]time.Duration, 0, most), make([]time.Duration, 0, most), make([]time.Duration, 0, most)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		var d, g time.Duration
		if i%2 == 0 {
			d, g = timed(direct), timed(gateway)
		} else {
			g, d = timed(gateway), timed(direct)
		}
		i++
		if len(added) < most {
			dd, gd, added = append(dd, d), append(gd, g), append(added, g-d)
		}
	}
	for _, m := range []struct {
		ds   []time.Duration
		unit string
	}{{dd, "direct-p50-ns"}, {gd, "gateway-p50-ns"}, {added, "added-p50-ns"}} {
		if len(m.ds) > 0 {
			slices.Sort(m.ds)
			b.ReportMetric(float64(m.ds[len(m.ds)/2].Nanoseconds()), m.unit)
		}
	}
}

func directClient(b *testing.B) *sdk.ClientSession {
	ctx := context.Background()
	fx := mcptest.New(mcptest.Options{})
	sR, sW, cR, cW := pipePair()
	ss, err := fx.Server.Connect(ctx, &sdk.IOTransport{Reader: sR, Writer: sW}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ss.Close() })
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).
		Connect(ctx, &sdk.IOTransport{Reader: cR, Writer: cW}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs
}

func benchCalls(b *testing.B, cs *sdk.ClientSession, args map[string]any) {
	ctx := context.Background()
	p := &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: args}
	ds := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := cs.CallTool(ctx, p); err != nil {
			b.Fatal(err)
		}
		if len(ds) < cap(ds) {
			ds = append(ds, time.Since(start))
		}
	}
	reportMedian(b, ds)
}

// BenchmarkResourcesRead measures one resources/read from an SDK client
// to the fixture server: directly, through the gateway under a policy
// that says nothing about resources (forwarded after the dry run), and
// under one whose rule decides reads (the kernel pipeline: policy, rate
// limit, in-memory audit).
func BenchmarkResourcesRead(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		cs := directClient(b)
		benchReads(b, cs)
	})
	b.Run("gateway", func(b *testing.B) {
		benchReads(b, newEnv(b, envConfig{}).cs)
	})
	b.Run("gateway-governed", func(b *testing.B) {
		e := newEnv(b, envConfig{policy: `version: "1.0"
name: reads
defaults:
  action: allow
rules:
  - name: reads
    match: {tools: [resources/read]}
    action: rate_limit
    limit: 1000000/second
`})
		benchReads(b, e.cs)
		if len(e.kernelEvents(ToolResourcesRead)) == 0 {
			b.Fatal("the reads did not go through the kernel")
		}
	})
}

func benchReads(b *testing.B, cs *sdk.ClientSession) {
	ctx := context.Background()
	p := &sdk.ReadResourceParams{URI: mcptest.ResourceClean}
	if _, err := cs.ReadResource(ctx, p); err != nil { // the gateway lists first
		b.Fatal(err)
	}
	ds := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := cs.ReadResource(ctx, p); err != nil {
			b.Fatal(err)
		}
		if len(ds) < cap(ds) {
			ds = append(ds, time.Since(start))
		}
	}
	reportMedian(b, ds)
}

// toolsResult builds a tools/list result of n clean tools shaped like
// real ones.
func toolsResult(n int) json.RawMessage {
	tools := make([]map[string]any, n)
	for i := range tools {
		tools[i] = map[string]any{
			"name": "tool_" + strconv.Itoa(i), "title": "Tool " + strconv.Itoa(i),
			"description": fmt.Sprintf("Looks up record %d in the inventory and returns its fields.", i),
			"inputSchema": map[string]any{"type": "object", "required": []string{"id"}, "properties": map[string]any{
				"id": map[string]any{"type": "string", "description": "record id"}, "limit": map[string]any{"type": "integer"}}},
			"annotations": map[string]any{"readOnlyHint": true},
		}
	}
	b, _ := json.Marshal(map[string]any{"tools": tools})
	return b
}

// BenchmarkToolsList measures scanning, pinning, policy filtering and
// auditing one tools/list result of n tools, pins in memory, already in
// place. With the pins in a file in a data directory, as wrap keeps them:
// "500-file-pinned" re-lists definitions that match their pins (the file
// is locked and checked, not written); "500-file-first" lists 500 tools
// never seen, so each is scanned, pinned and the file written (atomically,
// flushed to disk) every time. $AGENTOS_BENCH_DATA_DIR moves the data
// directory (e.g. to tmpfs).
func BenchmarkToolsList(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			benchList(b, newEnv(b, envConfig{skipClient: true}), n, false)
		})
	}
	for _, first := range []bool{false, true} {
		name := "500-file-pinned"
		if first {
			name = "500-file-first"
		}
		b.Run(name, func(b *testing.B) {
			dir := benchdir.Dir(b, os.Getenv(benchdir.Env))
			benchList(b, newEnv(b, envConfig{skipClient: true, pinsPath: filepath.Join(dir, PinFileName)}), 500, first)
		})
	}
}

// benchList times processList on a result of n tools, after one listing
// that pins them; with first set, the pins are removed (untimed) before
// each listing.
func benchList(b *testing.B, e *env, n int, first bool) {
	res := toolsResult(n)
	ctx := context.Background()
	if _, err := e.s.processList(ctx, res, true); err != nil {
		b.Fatal(err)
	}
	ds := make([]time.Duration, 0, 1<<14)
	b.ReportAllocs()
	for b.Loop() {
		if first {
			if removed, err := e.g.pins.Reset("", ""); err != nil || removed == 0 {
				b.Fatalf("reset pins: %d, %v", removed, err)
			}
		}
		start := time.Now()
		lr, err := e.s.processList(ctx, res, true)
		if err != nil {
			b.Fatal(err)
		}
		if len(ds) < cap(ds) {
			ds = append(ds, time.Since(start))
		}
		if len(lr.visible) != n-1 { // the test policy hides tool_1
			b.Fatalf("%d of %d tools visible", len(lr.visible), n)
		}
	}
	reportMedian(b, ds)
}

// BenchmarkProxyToolsCall measures one tools/call from an SDK client to
// the fixture server over Streamable HTTP, directly and through the
// Proxy; the difference is the HTTP proxy's added latency.
func BenchmarkProxyToolsCall(b *testing.B) {
	args := map[string]any{"msg": "hello"}
	b.Run("direct", func(b *testing.B) {
		e := newProxyEnv(b, proxyConfig{})
		cs, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(context.Background(),
			&sdk.StreamableClientTransport{Endpoint: e.upstream.URL}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		benchCalls(b, cs, args)
	})
	b.Run("proxy", func(b *testing.B) {
		e := newProxyEnv(b, proxyConfig{})
		cs := e.connect(b, aliceToken, "", nil)
		if _, err := cs.ListTools(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		benchCalls(b, cs, args)
	})
}

// BenchmarkCheckHeaders measures the stateless-era header check every
// such request passes.
func BenchmarkCheckHeaders(b *testing.B) {
	msg, err := jsonrpc.DecodeMessage([]byte(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"msg":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{}
	h.Set(headerMethod, "tools/call")
	h.Set(headerName, "echo")
	h.Set(headerProtocol, ProtocolStateless)
	b.ReportAllocs()
	for b.Loop() {
		if err := checkHeaders(h, msg); err != nil {
			b.Fatal(err)
		}
	}
}
