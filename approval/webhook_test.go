package approval_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
)

func TestNewWebhookValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  approval.WebhookOptions
		field string
	}{
		{"no url", approval.WebhookOptions{}, "WebhookOptions.URL"},
		{"file scheme", approval.WebhookOptions{URL: "file:///etc/passwd"}, "WebhookOptions.URL"},
		{"javascript", approval.WebhookOptions{URL: "javascript:alert(1)"}, "WebhookOptions.URL"},
		{"userinfo", approval.WebhookOptions{URL: "https://user:pw@example.com/hook"}, "WebhookOptions.URL"},
		{"no host", approval.WebhookOptions{URL: "https:///hook"}, "WebhookOptions.URL"},
		{"relative", approval.WebhookOptions{URL: "/hook"}, "WebhookOptions.URL"},
		{"fragment", approval.WebhookOptions{URL: "https://example.com/hook#x"}, "WebhookOptions.URL"},
		{"unparsable", approval.WebhookOptions{URL: "http://[::1"}, "WebhookOptions.URL"},
		{"negative timeout", approval.WebhookOptions{URL: "https://example.com", Timeout: -1}, "WebhookOptions.Timeout"},
		{"negative queue", approval.WebhookOptions{URL: "https://example.com", QueueSize: -1}, "WebhookOptions.QueueSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := approval.NewWebhook(tt.opts)
			var fe *approval.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				if w != nil {
					_ = w.Close()
				}
				t.Fatalf("NewWebhook(%q) = %v, want a FieldError for %s", tt.opts.URL, err, tt.field)
			}
		})
	}
}

// hook is an httptest endpoint that hands each request to a channel and
// answers with the status its respond function returns.
type hook struct {
	srv     *httptest.Server
	got     chan delivery
	respond func(n int) int
	mu      sync.Mutex
	n       int
	release chan struct{} // when non-nil, the first request blocks until it is closed
}

type delivery struct {
	header http.Header
	body   []byte
}

func newHook(t *testing.T) *hook {
	h := &hook{got: make(chan delivery, 64), respond: func(int) int { return http.StatusNoContent }}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.n++
		n, release := h.n, h.release
		h.mu.Unlock()
		h.got <- delivery{r.Header.Clone(), body}
		if n == 1 && release != nil {
			<-release
		}
		w.WriteHeader(h.respond(n))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func testEvent(kind approval.EventKind, id string) approval.Event {
	return approval.Event{Kind: kind, Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RequestID: id, AgentID: "a",
		Tool: "deploy", ArgsHash: hash(`{"password":"hunter2"}`), Status: approval.Pending, Quorum: 1}
}

func TestWebhookDelivers(t *testing.T) {
	t.Parallel()
	h := newHook(t)
	secret := []byte("s3cret")
	w, err := approval.NewWebhook(approval.WebhookOptions{URL: h.srv.URL + "/hook", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// A broker notifying through the webhook: the events of a real request.
	e := newEnv(t, approval.Options{Notifier: w})
	tk := mustSubmit(t, e.b, req(func(r *approval.Request) {
		r.ArgsHash = hash(`{"password":"hunter2"}`)
		r.ArgsPreview = json.RawMessage(`{"password":"[REDACTED]"}`)
	}))
	if _, err := e.b.Decide(t.Context(), tk.ID, vote("ops", true)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []approval.EventKind{approval.EventSubmitted, approval.EventVoted} {
		d := <-h.got
		if err := approval.VerifyWebhook(secret, d.header, d.body); err != nil {
			t.Errorf("%s: signature: %v", want, err)
		}
		if err := approval.VerifyWebhook([]byte("wrong"), d.header, d.body); !errors.Is(err, approval.ErrBadSignature) {
			t.Errorf("%s: wrong secret verified: %v", want, err)
		}
		tampered := bytes.Replace(d.body, []byte(`"a"`), []byte(`"b"`), 1)
		if err := approval.VerifyWebhook(secret, d.header, tampered); !errors.Is(err, approval.ErrBadSignature) {
			t.Errorf("%s: tampered body verified: %v", want, err)
		}
		var ev approval.Event
		if err := json.Unmarshal(d.body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Kind != want || ev.RequestID != tk.ID || d.header.Get(approval.HeaderEvent) != string(want) ||
			d.header.Get("Content-Type") != "application/json" {
			t.Errorf("delivery = %s %s, want %s", d.header, d.body, want)
		}
		if ev.ArgsHash != hash(`{"password":"hunter2"}`) || string(ev.ArgsPreview) != `{"password":"[REDACTED]"}` ||
			strings.Contains(string(d.body), "hunter2") {
			t.Errorf("body %s: want the hash and the redacted preview only, never argument values", d.body)
		}
	}
	// Deliveries are sequential: once a third arrives, two were counted.
	w.Notify(testEvent(approval.EventExpired, "sentinel"))
	<-h.got
	if s := w.Stats(); s.Delivered < 2 || s.Failed != 0 || s.Dropped != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestWebhookFailuresAreLoggedNotFatal(t *testing.T) {
	t.Parallel()
	h := newHook(t)
	h.respond = func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	var logs bytes.Buffer
	var lmu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &lmu}, nil))
	w, err := approval.NewWebhook(approval.WebhookOptions{URL: h.srv.URL, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	w.Notify(testEvent(approval.EventSubmitted, "r1"))
	w.Notify(testEvent(approval.EventSubmitted, "r2"))
	d1, d2 := <-h.got, <-h.got
	if d1.header.Get(approval.HeaderSignature) != "" {
		t.Error("unsigned webhook sent a signature")
	}
	_ = d2
	w.Notify(testEvent(approval.EventSubmitted, "sentinel"))
	<-h.got
	if s := w.Stats(); s.Failed != 1 || s.Delivered != 1 {
		t.Errorf("stats = %+v, want 1 failed, 1 delivered", s)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lmu.Lock()
	defer lmu.Unlock()
	if !strings.Contains(logs.String(), "approval webhook delivery failed") || !strings.Contains(logs.String(), "request_id=r1") {
		t.Errorf("logs = %q, want the failure of r1", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestWebhookNeverBlocks(t *testing.T) {
	t.Parallel()
	h := newHook(t)
	h.release = make(chan struct{})
	w, err := approval.NewWebhook(approval.WebhookOptions{URL: h.srv.URL, QueueSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	w.Notify(testEvent(approval.EventSubmitted, "in-flight"))
	<-h.got // the delivery goroutine is now stuck on the endpoint
	// The queue takes two; the rest are dropped, and Notify returns for
	// each of them while the endpoint hangs.
	for i := range 5 {
		w.Notify(testEvent(approval.EventSubmitted, "queued-"+string(rune('0'+i))))
	}
	if s := w.Stats(); s.Dropped != 3 {
		t.Errorf("dropped %d, want 3", s.Dropped)
	}
	// A broker deciding through the stuck webhook is not held up either.
	e := newEnv(t, approval.Options{Notifier: w})
	tk := mustSubmit(t, e.b, req(nil))
	if got, err := e.b.Decide(t.Context(), tk.ID, vote("ops", true)); err != nil || got.Status != approval.Approved {
		t.Fatalf("Decide = %v, %v", got.Status, err)
	}
	// Close cancels the stuck delivery and drops the queue.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	close(h.release)
	s := w.Stats()
	if s.Delivered != 0 || s.Failed != 1 || s.Dropped != 7 {
		t.Errorf("stats after Close = %+v, want 0 delivered, 1 failed (cancelled), 7 dropped", s)
	}
	w.Notify(testEvent(approval.EventSubmitted, "late"))
	if w.Stats().Dropped != 8 {
		t.Error("Notify after Close was not dropped")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestWebhookRefusesRedirects(t *testing.T) {
	t.Parallel()
	target := newHook(t)
	seen := make(chan string, 4)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev approval.Event
		_ = json.NewDecoder(r.Body).Decode(&ev)
		if ev.RequestID == "sentinel" {
			w.WriteHeader(http.StatusOK)
		} else {
			http.Redirect(w, r, target.srv.URL, http.StatusFound)
		}
		seen <- ev.RequestID
	}))
	defer redirect.Close()
	w, err := approval.NewWebhook(approval.WebhookOptions{URL: redirect.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Notify(testEvent(approval.EventSubmitted, "r"))
	w.Notify(testEvent(approval.EventSubmitted, "sentinel"))
	<-seen
	<-seen
	// The second delivery started, so the first one has ended: the
	// redirect was a failure, not followed.
	select {
	case d := <-target.got:
		t.Errorf("redirect followed: %s", d.body)
	default:
	}
	if s := w.Stats(); s.Failed != 1 {
		t.Errorf("stats = %+v, want the redirect counted as a failure", s)
	}
}

func TestVerifyWebhookMissingHeaders(t *testing.T) {
	t.Parallel()
	if err := approval.VerifyWebhook([]byte("k"), http.Header{}, []byte("{}")); !errors.Is(err, approval.ErrBadSignature) {
		t.Errorf("VerifyWebhook without headers = %v", err)
	}
}
