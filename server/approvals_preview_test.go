package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
)

// Secrets that must never reach an approver, the API or the audit log.
var previewSecrets = []string{"AKIAIOSFODNN7EXAMPLE", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "hunter2-correct-horse"}

// assertNoSecrets fails if b shows any of previewSecrets.
func assertNoSecrets(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, s := range previewSecrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s shows the secret %q: %s", what, s, b)
		}
	}
}

// canonical returns the canonical JSON of b, failing the test if b is not
// JSON.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	c, err := audit.CanonicalJSON(b)
	if err != nil {
		t.Fatalf("%s: not JSON: %v", b, err)
	}
	return string(c)
}

// TestSubmitApprovalPreview: a submitted args_preview is checked, redacted
// again by the daemon whatever the submitter sent, returned by the
// approvals API, and kept out of the audit log.
func TestSubmitApprovalPreview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	tests := []struct {
		name    string
		preview any    // the args_preview member; nil: absent
		raw     string // if set, the whole body instead
		status  int
		field   string // the field a 400 names, if any
		want    string // the stored preview, canonical; "": none
	}{
		{name: "absent", status: http.StatusCreated},
		{name: "null", raw: `{"agent_id":"a1","tool":"write_file","args_hash":"` + strings.Repeat("0f", 32) +
			`","source":"mcp:filesystem","args_preview":null}`, status: http.StatusCreated},
		{name: "unredacted secrets redacted again", preview: map[string]any{
			"path": "/srv/app/.env", "password": previewSecrets[2],
			"content": "AWS_ACCESS_KEY_ID=" + previewSecrets[0], "note": "push with " + previewSecrets[1],
		}, status: http.StatusCreated,
			want: `{"content":"[REDACTED]","note":"[REDACTED]","password":"[REDACTED]","path":"/srv/app/.env"}`},
		{name: "already redacted kept", preview: map[string]any{"path": "/tmp/x", "token": "[REDACTED]", "text": "ab…[5000 bytes]"},
			status: http.StatusCreated, want: `{"path":"/tmp/x","text":"ab…[5000 bytes]","token":"[REDACTED]"}`},
		{name: "markup kept as data", preview: map[string]any{"q": "<script>alert(1)</script>"},
			status: http.StatusCreated, want: `{"q":"<script>alert(1)</script>"}`},
		{name: "too large", preview: map[string]any{"text": strings.Repeat("x", approval.MaxArgsPreviewBytes)},
			status: http.StatusBadRequest, field: "args_preview"},
		{name: "not JSON", raw: `{"agent_id":"a1","tool":"write_file","args_hash":"` + strings.Repeat("0f", 32) +
			`","source":"mcp:filesystem","args_preview":{"a":}}`, status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body any = submitBody(func(m map[string]any) {
				if tt.preview != nil {
					m["args_preview"] = tt.preview
				}
			})
			if tt.raw != "" {
				body = tt.raw
			}
			var raw json.RawMessage
			code := e.do("POST", "/v1/approvals", "agent", body, &raw)
			if code != tt.status {
				t.Fatalf("submit: status %d (%s), want %d", code, raw, tt.status)
			}
			assertNoSecrets(t, "submit answer", raw)
			if code != http.StatusCreated {
				var ae apiErr
				if err := json.Unmarshal(raw, &ae); err != nil {
					t.Fatal(err)
				}
				if tt.field != "" && ae.Error.Details["field"] != tt.field {
					t.Errorf("field = %v (%s), want %q", ae.Error.Details["field"], ae.Error.Message, tt.field)
				}
				return
			}
			var tk approval.Ticket
			if err := json.Unmarshal(raw, &tk); err != nil {
				t.Fatal(err)
			}
			// What an approver reads: one request, and the list.
			var one json.RawMessage
			e.do("GET", "/v1/approvals/"+tk.ID, "admin", nil, &one)
			var list json.RawMessage
			e.do("GET", "/v1/approvals?status=pending", "admin", nil, &list)
			assertNoSecrets(t, "GET /v1/approvals/{id}", one)
			assertNoSecrets(t, "GET /v1/approvals", list)
			if bytes.Contains(one, []byte("<script")) {
				t.Errorf("GET /v1/approvals/{id} does not escape markup for HTML: %s", one)
			}
			var got approval.Ticket
			if err := json.Unmarshal(one, &got); err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == "" && got.Request.ArgsPreview != nil:
				t.Errorf("args_preview = %s, want none", got.Request.ArgsPreview)
			case tt.want != "" && (got.Request.ArgsPreview == nil || canonical(t, got.Request.ArgsPreview) != tt.want):
				t.Errorf("args_preview = %s, want %s", got.Request.ArgsPreview, tt.want)
			}
			if len(got.Request.ArgsPreview) > approval.MaxArgsPreviewBytes {
				t.Errorf("args_preview is %d bytes, above the bound", len(got.Request.ArgsPreview))
			}
			// The preview binds nothing: cancel so the next case starts
			// clean.
			e.do("POST", "/v1/approvals/"+tk.ID+"/cancel", "agent", nil, nil)
		})
	}
	// The audit log never got a secret (nor the preview: approval steps
	// record the hash only).
	err := e.log.Query(t.Context(), audit.Query{AgentID: "a1"}, func(ev *audit.Event) error {
		b, err := ev.MarshalJSON()
		if err != nil {
			return err
		}
		assertNoSecrets(t, "audit event", b)
		if ev.Kind == audit.KindApproval && bytes.Contains(ev.Args, []byte("args_preview")) {
			t.Errorf("approval step recorded the preview: %s", ev.Args)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHeldCallsCarryPreview: the requests the daemon creates itself, for
// a /v1/check and for a governed tool call held by require_approval,
// show approvers the redacted arguments.
func TestHeldCallsCarryPreview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.spawn("a1")
	args := map[string]any{"to": "bob@example.com", "subject": "keys", "body": "here: " + previewSecrets[0], "password": previewSecrets[2]}
	const want = `{"body":"[REDACTED]","password":"[REDACTED]","subject":"keys","to":"bob@example.com"}`

	t.Run("check", func(t *testing.T) {
		var res CheckResponse
		if code := e.do("POST", "/v1/check", "agent", map[string]any{"agent_id": "a1", "action": "send_email",
			"target": "smtp://mail", "args": args}, &res); code != 200 || res.Approval == nil {
			t.Fatalf("check: %d %+v", code, res)
		}
		var raw json.RawMessage
		e.do("GET", "/v1/approvals/"+res.Approval.ID, "admin", nil, &raw)
		assertNoSecrets(t, "GET /v1/approvals/{id}", raw)
		var tk approval.Ticket
		if err := json.Unmarshal(raw, &tk); err != nil {
			t.Fatal(err)
		}
		// The target is part of what the approval binds, so it is shown.
		wantCheck := `{"body":"[REDACTED]","password":"[REDACTED]","subject":"keys","target":"smtp://mail","to":"bob@example.com"}`
		if tk.Request.ArgsPreview == nil || canonical(t, tk.Request.ArgsPreview) != wantCheck {
			t.Errorf("check request preview = %s, want %s", tk.Request.ArgsPreview, wantCheck)
		}
		e.do("POST", "/v1/approvals/"+res.Approval.ID+"/cancel", "agent", nil, nil)
	})

	t.Run("governed tool call", func(t *testing.T) {
		sub := e.s.Hub().Subscribe(0)
		defer sub.Cancel()
		done := make(chan int, 1)
		go func() {
			done <- e.do("POST", "/v1/agents/a1/tools/send_email", "agent", map[string]any{"args": args}, nil)
		}()
		// The broker announces the held call's request on the hub.
		var ev approval.Event
		for ev.Kind != approval.EventSubmitted {
			select {
			case h, ok := <-sub.C():
				if !ok {
					t.Fatal("hub closed")
				}
				if h.Type == EventApproval {
					if err := json.Unmarshal(h.Data, &ev); err != nil {
						t.Fatal(err)
					}
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the held call's request was not announced")
			}
		}
		assertNoSecrets(t, "approval event", ev.ArgsPreview)
		var tk approval.Ticket
		e.do("GET", "/v1/approvals/"+ev.RequestID, "admin", nil, &tk)
		if tk.Request.ArgsPreview == nil || canonical(t, tk.Request.ArgsPreview) != want {
			t.Errorf("held call preview = %s, want %s", tk.Request.ArgsPreview, want)
		}
		if code := e.do("POST", "/v1/approvals/"+tk.ID+"/deny", "admin", nil, nil); code != 200 {
			t.Fatalf("deny: %d", code)
		}
		if code := <-done; code == 200 {
			t.Errorf("denied call answered 200")
		}
	})
}

// FuzzSubmittedPreview: whatever a submitter sends as args_preview, the
// daemon either refuses it naming the field or stores valid JSON within
// the bound that shows none of the planted secrets.
func FuzzSubmittedPreview(f *testing.F) {
	f.Add([]byte(`{"path":"/srv/app","password":"hunter2-correct-horse"}`))
	f.Add([]byte(`["AKIAIOSFODNN7EXAMPLE", {"k": "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"}]`))
	f.Add([]byte(`"` + strings.Repeat("x", 3000) + `"`))
	f.Add([]byte(`{"a":`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := submittedPreview(in)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "args_preview" {
				t.Fatalf("submittedPreview(%q) = %v, want an error naming args_preview", in, err)
			}
			return
		}
		if p == nil {
			return
		}
		if !json.Valid(p) || len(p) > approval.MaxArgsPreviewBytes {
			t.Fatalf("submittedPreview(%q) = %q: want valid JSON of at most %d bytes", in, p, approval.MaxArgsPreviewBytes)
		}
		for _, s := range previewSecrets[:2] {
			// The secret shapes (the password is a secret by its key
			// only): one standing alone in a string must go; one the
			// sender glued to other letters, hiding it from the
			// detector, is not looked for.
			if bytes.Contains(p, []byte(`"`+s+`"`)) {
				t.Fatalf("submittedPreview(%q) = %q: shows %q", in, p, s)
			}
		}
	})
}
