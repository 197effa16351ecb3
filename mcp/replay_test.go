package mcp

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/mcp/mcptest"
)

func TestReplayLogBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		maxEvents  int
		maxBytes   int64
		sizes      []int
		wantEvents int
		wantBytes  int64
		wantAfter0 int // events of stream 1 after seq 0 still held
		wantGap    bool
	}{
		{"within bounds", 4, 100, []int{10, 10, 10}, 3, 30, 3, false},
		{"event bound evicts oldest", 3, 100, []int{10, 10, 10}, 2, 20, 2, true},
		{"byte bound evicts oldest", 10, 25, []int{10, 10, 10}, 2, 20, 2, true},
		{"oversized event is not kept", 10, 25, []int{10, 40}, 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newReplayLog(tt.maxEvents, tt.maxBytes)
			for i, n := range tt.sizes {
				l.add(1, uint64(i+1), make([]byte, n))
			}
			l.add(2, 1, nil) // another stream's event
			n, b := l.len()
			if n-1 != tt.wantEvents || b != tt.wantBytes {
				t.Errorf("held %d events, %d bytes; want %d, %d", n-1, b, tt.wantEvents, tt.wantBytes)
			}
			got, gap := l.after(1, 0, uint64(len(tt.sizes)))
			if len(got) != tt.wantAfter0 || gap != tt.wantGap {
				t.Errorf("after(1, 0) = %d events, gap %v; want %d, %v", len(got), gap, tt.wantAfter0, tt.wantGap)
			}
			for i := 1; i < len(got); i++ {
				if got[i].id <= got[i-1].id {
					t.Errorf("events out of order: %q then %q", got[i-1].id, got[i].id)
				}
			}
		})
	}
}

func TestParseEventID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "x", "1", "1-", "-1", "a-1", "1-b", "1-2-3", "18446744073709551616-1"} {
		if _, _, err := parseEventID(id); err == nil {
			t.Errorf("parseEventID(%q) accepted it", id)
		}
	}
	s, q, err := parseEventID(eventID(7, 42))
	if err != nil || s != 7 || q != 42 {
		t.Errorf("round trip = %d, %d, %v", s, q, err)
	}
}

// sseClient speaks raw Streamable HTTP to the proxy.
type sseClient struct {
	t     *testing.T
	url   string
	token string
	sid   string
}

func (c *sseClient) do(ctx context.Context, method, body string, hdr map[string]string) *http.Response {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(headerProtocol, "2025-11-25")
	if c.sid != "" {
		req.Header.Set(headerSessionID, c.sid)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

type sseEv struct{ id, data string }

// events reads a response's events to its end (priming events included).
func events(t *testing.T, resp *http.Response) []sseEv {
	t.Helper()
	defer resp.Body.Close()
	var out []sseEv
	sr := NewSSEReader(resp.Body, 0)
	for {
		data, _, id, err := sr.Next()
		if err != nil {
			return out
		}
		out = append(out, sseEv{id, string(data)})
	}
}

func TestProxyResumption(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	e := newProxyEnv(t, proxyConfig{waitRelease: release})
	ctx := t.Context()
	c := &sseClient{t: t, url: e.front.URL + "/mcp", token: aliceToken}
	resp := c.do(ctx, http.MethodPost, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, nil)
	c.sid = resp.Header.Get(headerSessionID)
	if ev := events(t, resp); c.sid == "" || len(ev) == 0 {
		t.Fatalf("initialize: session %q, events %v", c.sid, ev)
	}
	if r := c.do(ctx, http.MethodPost, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil); r.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %s", r.Status)
	}

	// A finished stream is replayed from the buffer, as screened: the
	// leaked key stays redacted.
	evs := events(t, c.do(ctx, http.MethodPost, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_config","arguments":{}}}`, nil))
	if len(evs) != 2 || evs[0].data != "" || evs[1].id == "" || strings.Contains(evs[1].data, mcptest.FakeAWSKey) {
		t.Fatalf("call events = %+v, want a priming event and the sanitized response with an ID", evs)
	}
	again := events(t, c.do(ctx, http.MethodGet, "", map[string]string{"Last-Event-ID": evs[0].id}))
	if len(again) != 1 || again[0] != evs[1] {
		t.Fatalf("replay after %s = %+v, want %+v", evs[0].id, again, evs[1])
	}
	if strings.Contains(again[0].data, mcptest.FakeAWSKey) {
		t.Fatal("the replay holds the unfiltered upstream content")
	}

	// A stream that broke before its response: the response is recorded
	// while the client is away, then resumed.
	cctx, cancel := context.WithCancel(ctx)
	resp = c.do(cctx, http.MethodPost, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"wait","arguments":{}}}`, nil)
	sr := NewSSEReader(resp.Body, 0)
	_, _, priming, err := sr.Next()
	if err != nil || priming == "" {
		t.Fatalf("priming event: %q, %v", priming, err)
	}
	<-e.fx.Waiting()
	cancel()
	resp.Body.Close()
	close(release)
	var resumed []sseEv
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		resumed = events(t, c.do(ctx, http.MethodGet, "", map[string]string{"Last-Event-ID": priming}))
		if len(resumed) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond) // the response is not there yet
	}
	if len(resumed) != 1 || !strings.Contains(resumed[0].data, "released") || !strings.Contains(resumed[0].data, `"id":3`) {
		t.Fatalf("resumed stream = %+v, want the call's response", resumed)
	}

	// The standalone stream: a notification sent while no GET is open is
	// replayed to a GET resuming it.
	gctx, gcancel := context.WithCancel(ctx)
	resp = c.do(gctx, http.MethodGet, "", nil)
	sr = NewSSEReader(resp.Body, 0)
	_, _, gprime, err := sr.Next()
	if err != nil || !strings.HasPrefix(gprime, "0-") {
		t.Fatalf("standalone priming event: %q, %v", gprime, err)
	}
	gcancel()
	resp.Body.Close()
	e.fx.RugPull()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	resp = c.do(rctx, http.MethodGet, "", map[string]string{"Last-Event-ID": gprime})
	sr = NewSSEReader(resp.Body, 0)
	data, _, id, err := sr.Next()
	resp.Body.Close()
	if err != nil || !strings.Contains(string(data), methodToolsChanged) || id == gprime {
		t.Fatalf("resumed standalone stream: %q id %q, %v", data, id, err)
	}

	// An ID the proxy did not issue, and another principal.
	if r := c.do(ctx, http.MethodGet, "", map[string]string{"Last-Event-ID": "upstream-id"}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("foreign Last-Event-ID: %s, want 400", r.Status)
	}
	bob := &sseClient{t: t, url: c.url, token: bobToken, sid: c.sid}
	if r := bob.do(ctx, http.MethodGet, "", map[string]string{"Last-Event-ID": priming}); r.StatusCode != http.StatusNotFound {
		t.Errorf("another principal resuming: %s, want 404", r.Status)
	}
}
