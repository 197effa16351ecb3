package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace endpoint: it decodes each export
// request as the protocol defines it (protobuf, optionally gzip) and keeps
// the spans.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	errs  []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(msg string) {
		o.mu.Lock()
		o.errs = append(o.errs, msg)
		o.mu.Unlock()
		http.Error(w, msg, http.StatusBadRequest)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		fail("unexpected " + r.Method + " " + r.URL.Path)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		fail("content type " + ct)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			fail(err.Error())
			return
		}
		body = zr
	}
	b, err := io.ReadAll(io.LimitReader(body, 8<<20))
	if err != nil {
		fail(err.Error())
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		fail("decoding the export request: " + err.Error())
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// spanAttr returns a span attribute's value as text.
func spanAttr(s *tracepb.Span, key string) (string, bool) {
	for _, a := range s.Attributes {
		if a.Key != key {
			continue
		}
		switch v := a.Value.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue, true
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(v.IntValue, 10), true
		default:
			return a.Value.String(), true
		}
	}
	return "", false
}

// TestServeExportsSpansOverOTLP runs the daemon with --otlp-endpoint
// pointing at an OTLP/HTTP receiver, makes governed calls, shuts the
// daemon down and checks that one span per governed action arrived, named
// for the action and carrying the agent, the tool and the result code.
func TestServeExportsSpansOverOTLP(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()

	dir := t.TempDir()
	t.Chdir(dir) // no ./policies here: the built-in default policy
	flags := map[string]string{
		"addr": "127.0.0.1:0", "data-dir": dir + "/data", "insecure-no-auth": "true",
		"otlp-endpoint": strings.TrimPrefix(collector.URL, "http://"), "log-level": "warn",
		// Paging out this test binary would slow the other tests that run it.
		"release-startup-memory": "false",
	}
	cfg, err := resolveServeConfig("", false, func(string) string { return "" },
		func(n string) (string, bool) { v, ok := flags[n]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var stdout, stderr bytes.Buffer
	go func() { done <- runServe(ctx, cfg, &stdout, &stderr, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended before serving: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not become ready")
	}

	post := func(path, body string, want int) {
		t.Helper()
		resp, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d %s, want %d", path, resp.StatusCode, b, want)
		}
	}
	post("/v1/agents", `{"id":"agent-1","role":"analyst"}`, http.StatusCreated)
	post("/v1/check", `{"agent_id":"agent-1","action":"search","args":{"q":"weather"}}`, http.StatusOK)
	post("/v1/agents/agent-1/syscall", `{"syscall":"read","args":{"path":"/etc/shadow"}}`, http.StatusForbidden)

	cancel() // shutting down flushes the span batcher
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}

	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.errs) > 0 {
		t.Fatalf("the receiver rejected exports: %v", recv.errs)
	}
	type want struct{ name, agent, tool string }
	found := map[want]*tracepb.Span{}
	for _, s := range recv.spans {
		agent, _ := spanAttr(s, "agentos.agent_id")
		tool, _ := spanAttr(s, "agentos.tool")
		found[want{s.Name, agent, tool}] = s
	}
	check := found[want{"agentos.check", "agent-1", "search"}]
	if check == nil {
		t.Fatalf("no agentos.check span for agent-1/search among %d spans: %v", len(recv.spans), found)
	}
	if code, ok := spanAttr(check, "agentos.code"); !ok || code != "0" {
		t.Errorf("check span agentos.code = %q (present %v), want 0", code, ok)
	}
	if len(check.TraceId) != 16 || len(check.SpanId) != 8 || check.EndTimeUnixNano < check.StartTimeUnixNano {
		t.Errorf("malformed span: trace %x span %x start %d end %d", check.TraceId, check.SpanId, check.StartTimeUnixNano, check.EndTimeUnixNano)
	}
	var denied *tracepb.Span
	for k, s := range found {
		if k.agent == "agent-1" && k.name != "agentos.check" {
			denied = s
		}
	}
	if denied == nil {
		t.Fatalf("no span for the denied syscall among %v", found)
	}
	if code, _ := spanAttr(denied, "agentos.code"); code != "-2" {
		t.Errorf("denied syscall span agentos.code = %q, want -2 (policy violation)", code)
	}
}
