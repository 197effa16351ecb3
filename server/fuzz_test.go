package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/kernel"
)

// fuzzMaxBody is the body limit of the fuzzed server, small so that the
// fuzzer reaches it.
const fuzzMaxBody = 2048

// fuzzServe sends one request with a deadline (no fuzzed request may hang
// the target) and returns the status, the error envelope (if the answer
// is one) and the raw body.
func fuzzServe(t *testing.T, bs *benchServer, r *http.Request) (int, apiErr, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := httptest.NewRecorder()
	bs.h.ServeHTTP(w, r.WithContext(ctx))
	var ae apiErr
	if w.Code >= 400 {
		if err := json.Unmarshal(w.Body.Bytes(), &ae); err != nil || ae.Error.Code == "" || ae.Error.Message == "" {
			t.Fatalf("status %d with a body that is not the error envelope: %q", w.Code, w.Body.Bytes())
		}
	}
	if w.Code >= 500 {
		t.Fatalf("status %d (%s: %s) for a client's input", w.Code, ae.Error.Code, ae.Error.Message)
	}
	return w.Code, ae, w.Body.Bytes()
}

// wantFieldError asserts a 400 bad_request naming fe's field.
func wantFieldError(t *testing.T, code int, ae apiErr, fe *FieldError) {
	t.Helper()
	if code != http.StatusBadRequest || ae.Error.Code != "bad_request" {
		t.Fatalf("status %d %q, want 400 bad_request for %v", code, ae.Error.Code, fe)
	}
	if fe.Field != "" && ae.Error.Details["field"] != fe.Field {
		t.Fatalf("details.field = %v, want %q (%s)", ae.Error.Details["field"], fe.Field, ae.Error.Message)
	}
}

// FuzzDecodeJSON sends arbitrary bodies to POST /v1/check as agent a1.
// Properties: never a 5xx; a body that does not decode (bad JSON,
// unknown field, wrong type, trailing data, over the limit) gets a 4xx
// naming the field and is never allowed; a body missing agent_id or
// action names it; an allowed answer needs a body that decoded, for a1,
// and an action the policy does not deny.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		checkBody,
		`{"agent_id":"a1","action":"rm","target":"/"}`,
		`{"agent_id":"a1","action":"search","args":{"q":"x","n":1.5e3,"deep":{"a":[1,null,true]}}}`,
		`{"agent_id":"a1","action":"search","extra":1}`,
		`{"agent_id":"a1","action":"search","args":{"n":1e400}}`,
		`{"agent_id":7,"action":"search"}`,
		`{"agent_id":"a1","action":["x"]}`,
		`{"agent_id":"a1"}`,
		`{"action":"search"}`,
		`{"agent_id":"a2","action":"search"}`,
		`{"agent_id":"a1","action":"search"} {"x":1}`,
		`{"agent_id":"a1","action":"search","approval_id":"nope"}`,
		`{"agent_id":"a1","action":"s\u0000e"}`,
		`[]`, `null`, `""`, ``, `   `, `{`, `{"agent_id":`,
		`{"agent_id":"a1","action":"search","args":{"q":"` + strings.Repeat("x", fuzzMaxBody) + `"}}`,
	} {
		f.Add([]byte(s))
	}
	bs := newBenchServerOpts(f, false, 1<<16, fuzzMaxBody)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req CheckRequest
		derr := decodeBytes(body, &req, false)
		r := httptest.NewRequest(http.MethodPost, "/v1/check", strings.NewReader(string(body)))
		r.Header.Set("Authorization", "Bearer "+bs.agent)
		code, ae, raw := fuzzServe(t, bs, r)
		switch {
		case len(body) > fuzzMaxBody:
			if code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d-byte body: status %d, want 413", len(body), code)
			}
			return
		case derr != nil:
			var fe *FieldError
			if !errors.As(derr, &fe) || !errors.Is(derr, ErrBadRequest) {
				t.Fatalf("decode error %v (%T) is not a *FieldError", derr, derr)
			}
			wantFieldError(t, code, ae, fe)
			return
		case req.AgentID == "":
			wantFieldError(t, code, ae, &FieldError{Field: "agent_id"})
			return
		case req.Action == "":
			wantFieldError(t, code, ae, &FieldError{Field: "action"})
			return
		case req.AgentID != bs.agentID:
			if code != http.StatusForbidden {
				t.Fatalf("check for agent %q with a1's token: status %d, want 403", req.AgentID, code)
			}
			return
		}
		if code != http.StatusOK {
			if code < 400 {
				t.Fatalf("status %d", code)
			}
			return // e.g. an approval id that does not exist: 404
		}
		var out CheckResponse
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("200 with a body that is not a CheckResponse: %q", raw)
		}
		if out.AgentID != req.AgentID || out.Action != req.Action {
			t.Fatalf("answer for %q/%q echoes %q/%q", req.AgentID, req.Action, out.AgentID, out.Action)
		}
		if out.Allowed && req.Action == "rm" {
			t.Fatalf("rm allowed: %+v", out)
		}
	})
}

// FuzzAuthHeader sends arbitrary Authorization headers to GET /v1/agents
// (admins and auditors). Properties: never a 5xx; only "Bearer <secret>"
// (scheme in any case, the secret trimmed) of a known token
// authenticates; the admin's gets 200, the agent's 403, everything else
// 401 with a WWW-Authenticate challenge.
func FuzzAuthHeader(f *testing.F) {
	bs := newBenchServer(f, false, 1<<16)
	for _, s := range []string{
		"Bearer " + bs.admin, "bearer  " + bs.admin + " ", "BEARER " + bs.admin, "Bearer " + bs.agent,
		"Bearer " + bs.admin + "x", "Bearer " + bs.admin[:len(bs.admin)-1], "Basic YWRtaW46YWRtaW4=",
		"Bearer", "Bearer ", "Bearer agentos_", "agentos_x", "Token " + bs.admin, "Bearer\t" + bs.admin,
		"Bearer " + strings.Repeat("a", 300), "", " ", "Bearer " + bs.admin + " " + bs.admin,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/agents", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		want := http.StatusUnauthorized
		if scheme, tok, _ := strings.Cut(h, " "); strings.EqualFold(scheme, "Bearer") {
			switch strings.TrimSpace(tok) {
			case bs.admin:
				want = http.StatusOK
			case bs.agent:
				want = http.StatusForbidden
			}
		}
		w := httptest.NewRecorder()
		bs.h.ServeHTTP(w, r)
		if w.Code != want {
			t.Fatalf("Authorization %q: status %d, want %d (%s)", h, w.Code, want, w.Body.Bytes())
		}
		if want == http.StatusUnauthorized {
			var ae apiErr
			if err := json.Unmarshal(w.Body.Bytes(), &ae); err != nil || ae.Error.Code != "unauthenticated" {
				t.Fatalf("401 body %q, want code unauthenticated", w.Body.Bytes())
			}
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			if strings.Contains(w.Body.String(), strings.TrimSpace(h)) && strings.TrimSpace(h) != "" && len(strings.TrimSpace(h)) > 8 {
				t.Fatalf("the error echoes the credentials: %q", w.Body.Bytes())
			}
		}
	})
}

// fuzzSafeSyscalls are the syscalls FuzzSyscallBody lets reach the kernel:
// those that neither change the agent's life (exit, signals, fork) nor
// wait for messages, so every iteration sees the same running agent.
var fuzzSafeSyscalls = map[kernel.Syscall]bool{
	kernel.SysExec: true, kernel.SysOpen: true, kernel.SysClose: true, kernel.SysRead: true,
	kernel.SysWrite: true, kernel.SysStat: true, kernel.SysCheckPolicy: true, kernel.SysGetPolicy: true,
}

// FuzzSyscallBody sends arbitrary bodies to POST /v1/agents/a1/syscall.
// Properties: a body that does not decode, names no syscall, names an
// unknown one or gives it bad arguments gets a 400 naming the field
// (body field, "syscall" or "args"); a valid request of a syscall that
// leaves the agent running never gets a 5xx.
func FuzzSyscallBody(f *testing.F) {
	for _, s := range []string{
		`{"syscall":"SYS_CHECKPOLICY","args":{"action":"search","args":{"q":1}}}`,
		`{"syscall":"checkpolicy","args":{"action":"rm"}}`,
		`{"syscall":"SYS_GETPOLICY"}`,
		`{"syscall":"SYS_READ","args":{"path":"/etc/passwd"}}`,
		`{"syscall":"SYS_WRITE","args":{"path":"/tmp/x","data":"y"}}`,
		`{"syscall":"SYS_EXEC","args":{"tool":"nope","args":{}}}`,
		`{"syscall":"7","args":{}}`,
		`{"syscall":"SYS_NOPE"}`,
		`{"syscall":""}`,
		`{"syscall":"SYS_READ","args":{"path":7}}`,
		`{"syscall":"SYS_READ","args":{"bogus":"x"}}`,
		`{"syscall":"SYS_READ","extra":true}`,
		`{"syscall":["SYS_READ"]}`,
		`{}`, `[]`, ``, `{"syscall":"SYS_READ"} x`,
	} {
		f.Add([]byte(s))
	}
	bs := newBenchServerOpts(f, false, 1<<16, fuzzMaxBody)
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > fuzzMaxBody {
			return // FuzzDecodeJSON covers the limit
		}
		var req SyscallRequest
		derr := decodeBytes(body, &req, false)
		var kreq kernel.Request
		var kerr error
		if derr == nil && req.Syscall != "" {
			kreq, kerr = kernel.DecodeRequest(req.Syscall, req.Args)
		}
		if derr == nil && req.Syscall != "" && kerr == nil && !fuzzSafeSyscalls[kreq.Syscall()] {
			return // would stop, kill, fork or block the agent
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/agents/a1/syscall", strings.NewReader(string(body)))
		r.Header.Set("Authorization", "Bearer "+bs.agent)
		code, ae, _ := fuzzServe(t, bs, r)
		switch {
		case derr != nil:
			var fe *FieldError
			if !errors.As(derr, &fe) {
				t.Fatalf("decode error %v (%T) is not a *FieldError", derr, derr)
			}
			wantFieldError(t, code, ae, fe)
		case req.Syscall == "":
			wantFieldError(t, code, ae, &FieldError{Field: "syscall"})
		case kerr != nil:
			field := "args"
			if kernel.CodeOf(kerr) == kernel.CodeUnknown {
				field = "syscall"
			}
			wantFieldError(t, code, ae, &FieldError{Field: field})
		}
	})
}

// auditQueryFields are the query parameters GET /v1/audit validates.
var auditQueryFields = map[string]bool{"kind": true, "since": true, "until": true, "limit": true, "cursor": true}

// FuzzAuditQuery sends arbitrary query strings to GET /v1/audit.
// Properties: the answer is 200 or a 400 naming one of the validated
// parameters; a 200 page holds at most limit events, newest first, and a
// bad limit is never served.
func FuzzAuditQuery(f *testing.F) {
	for _, s := range []string{
		"", "agent=a1&limit=5", "kind=syscall", "kind=bogus", "since=2026-01-02T15:04:05Z&until=2030-01-01T00:00:00.5Z",
		"since=yesterday", "until=2026-13-01T00:00:00Z", "limit=0", "limit=1001", "limit=1000", "limit=x", "limit=5&limit=x",
		"cursor=1", "cursor=-1", "cursor=18446744073709551616", "decision=allow&rule=deny-rm&tool=search",
		"%zz", "a=%", "limit=%31", ";limit=2", "limit=+5", "limit=05",
	} {
		f.Add(s)
	}
	bs := newBenchServer(f, false, 1<<16)
	for range 3 { // some events to page through
		if code, body := bs.serve(http.MethodPost, "/v1/check", bs.agent, checkBody); code != http.StatusOK {
			f.Fatalf("check: %d %s", code, body)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/audit", nil)
		r.URL.RawQuery = raw
		r.Header.Set("Authorization", "Bearer "+bs.admin)
		code, ae, body := fuzzServe(t, bs, r)
		if code == http.StatusBadRequest {
			if f, _ := ae.Error.Details["field"].(string); !auditQueryFields[f] {
				t.Fatalf("400 naming field %v (%s), want one of the validated parameters", ae.Error.Details["field"], ae.Error.Message)
			}
			return
		}
		if code != http.StatusOK {
			t.Fatalf("status %d (%s)", code, body)
		}
		v, _ := url.ParseQuery(raw)
		limit := defaultAuditLimit
		if x := v.Get("limit"); x != "" {
			n, err := strconv.Atoi(x)
			if err != nil || n < 1 || n > maxAuditLimit {
				t.Fatalf("limit %q served", x)
			}
			limit = n
		}
		var page AuditPage
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("200 with a body that is not a page: %q", body)
		}
		if len(page.Events) > limit {
			t.Fatalf("%d events for limit %d", len(page.Events), limit)
		}
		for i := 1; i < len(page.Events); i++ {
			if page.Events[i].Seq >= page.Events[i-1].Seq {
				t.Fatalf("events not newest first: %d then %d", page.Events[i-1].Seq, page.Events[i].Seq)
			}
		}
	})
}
