package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthenticateAllocs: token authentication allocates nothing, for a
// known token and for an unknown one.
func TestAuthenticateAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun counts the whole process.
	ts, err := OpenTokenStore(TokenStoreOptions{Path: filepath.Join(t.TempDir(), TokensFile), RecheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := ts.Create(RoleAgent, "a1", "bot")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, secret string
		ok           bool
	}{
		{"known", secret, true},
		{"unknown", secret[:len(secret)-1] + "x", false},
		{"no prefix", "nope", false},
	}
	for _, tt := range tests {
		var p Principal
		var ok bool
		allocs := testing.AllocsPerRun(100, func() { p, ok = ts.Authenticate(tt.secret) })
		if ok != tt.ok || (ok && (p.Agent != "a1" || p.Role != RoleAgent || p.Name != "bot")) {
			t.Errorf("%s: Authenticate = %+v, %v; want ok %v", tt.name, p, ok, tt.ok)
		}
		if allocs != 0 {
			t.Errorf("%s: Authenticate allocates %v times, want 0", tt.name, allocs)
		}
	}
}

// BenchmarkAuthenticate measures bearer token authentication.
func BenchmarkAuthenticate(b *testing.B) {
	ts, err := OpenTokenStore(TokenStoreOptions{Path: filepath.Join(b.TempDir(), TokensFile)})
	if err != nil {
		b.Fatal(err)
	}
	_, secret, err := ts.Create(RoleAdmin, "", "admin")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ts.Authenticate(secret); !ok {
			b.Fatal("not authenticated")
		}
	}
}

// TestRequestIDs: every answer carries an X-Request-Id; a sane one from
// the caller is kept, anything else is replaced by a fresh, unique one.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	bs := newBenchServer(t, false, 1<<10)
	tests := []struct {
		name, given string
		keep        bool
	}{
		{"none", "", false},
		{"sane", "req-1.A_b", true},
		{"too long", strings.Repeat("a", 65), false},
		{"bad character", "a b", false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		if tt.given != "" {
			r.Header.Set("X-Request-Id", tt.given)
		}
		bs.h.ServeHTTP(w, r)
		id := w.Header().Get("X-Request-Id")
		switch {
		case tt.keep && id != tt.given:
			t.Errorf("%s: X-Request-Id = %q, want the caller's %q", tt.name, id, tt.given)
		case !tt.keep && (id == "" || id == tt.given || !validRequestID(id)):
			t.Errorf("%s: X-Request-Id = %q, want a fresh valid id", tt.name, id)
		case seen[id]:
			t.Errorf("%s: X-Request-Id %q repeated", tt.name, id)
		}
		seen[id] = true
	}
}

// TestRouteMetrics: request latencies are counted by route pattern,
// method and status class, including a HEAD served by a GET route and
// paths no route matches.
func TestRouteMetrics(t *testing.T) {
	t.Parallel()
	bs := newBenchServer(t, false, 1<<10)
	for range 3 {
		if code, body := bs.serve(http.MethodPost, "/v1/check", bs.agent, checkBody); code != http.StatusOK {
			t.Fatalf("check: %d %s", code, body)
		}
	}
	bs.serve(http.MethodPost, "/v1/check", bs.agent, `{"agent_id":"a1"}`)
	bs.serve(http.MethodHead, "/healthz", "", "")
	bs.serve(http.MethodGet, "/nowhere", bs.admin, "")
	w := httptest.NewRecorder()
	bs.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	for _, want := range []string{
		`agentos_http_request_duration_seconds_count{method="POST",route="POST /v1/check",status="2xx"} 3`,
		`agentos_http_request_duration_seconds_count{method="POST",route="POST /v1/check",status="4xx"} 1`,
		`agentos_http_request_duration_seconds_count{method="HEAD",route="GET /healthz",status="2xx"} 1`,
		`agentos_http_request_duration_seconds_count{method="GET",route="unmatched",status="4xx"} 1`,
		`agentos_kernel_operations_total{operation="SYS_CHECKPOLICY"} 3`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), `route="POST /v1/check",status="5xx"`) {
		t.Error("metrics show a status class that never occurred")
	}
}

// TestCheckRateLimitAfterReload: /v1/check skips looking for the allowing
// rule while the policy has no rate_limit rule, and applies a rate_limit
// rule as soon as a reload brings one.
func TestCheckRateLimitAfterReload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.spawn("a1")
	writeFile(t, e.policy, "version: \"1.0\"\nname: test\ndefaults:\n  action: allow\nrules: []\n")
	if code := e.do("POST", "/v1/policies/reload", "admin", nil, nil); code != http.StatusOK {
		t.Fatalf("reload: %d", code)
	}
	body := map[string]any{"agent_id": "a1", "action": "search"}
	for i := range 3 {
		var out CheckResponse
		if code := e.do("POST", "/v1/check", "agent", body, &out); code != http.StatusOK || !out.Allowed || out.Rule != "" {
			t.Fatalf("check %d without rate limits: %d %+v", i, code, out)
		}
	}
	writeFile(t, e.policy, testPolicy)
	if code := e.do("POST", "/v1/policies/reload", "admin", nil, nil); code != http.StatusOK {
		t.Fatalf("reload: %d", code)
	}
	want := []bool{true, true, false} // limit-search: 2/hour
	for i, allowed := range want {
		var out CheckResponse
		if code := e.do("POST", "/v1/check", "agent", body, &out); code != http.StatusOK || out.Allowed != allowed || out.Rule != "limit-search" {
			t.Fatalf("check %d after reload: %d %+v, want allowed %v by limit-search", i, code, out, allowed)
		}
	}
}
