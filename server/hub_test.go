package server

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestHubDropsSlowSubscriber(t *testing.T) {
	t.Parallel()
	h := NewHub(nil)
	fast, slow := h.Subscribe(8), h.Subscribe(2)
	for i := range 5 {
		h.Publish(EventDecision, map[string]int{"i": i})
		<-fast.C()
	}
	var got []string
	for ev := range slow.C() {
		got = append(got, ev.Type)
	}
	if strings.Join(got, ",") != "decision,decision,dropped" {
		t.Errorf("slow subscriber got %v, want two decisions then dropped", got)
	}
	h.Close()
	if _, ok := <-fast.C(); ok {
		t.Error("fast subscriber still open after Close")
	}
	if _, ok := <-h.Subscribe(1).C(); ok {
		t.Error("subscription after Close is open")
	}
}

func TestEventStreamShowsDenial(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.spawn("a1")
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.ts.URL+"/v1/events?types=decision", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["auditor"])
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	for { // wait until subscribed
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, ": connected") {
			break
		}
	}
	e.do("POST", "/v1/agents/a1/syscall", "agent", map[string]any{"syscall": "read", "args": map[string]any{"path": "/secret/z"}}, nil)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"rule":"deny-secrets"`) {
			return
		}
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	client := e.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.PostForm(e.ts.URL+"/ui/login", url.Values{"token": {"agentos_wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("bad login: %d", resp.StatusCode)
	}
	resp, err = client.PostForm(e.ts.URL+"/ui/login", url.Values{"token": {e.tokens["admin"]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d cookie %+v", resp.StatusCode, cookie)
	}
	send := func(method, path string, csrf string) int {
		req, _ := http.NewRequestWithContext(t.Context(), method, e.ts.URL+path, strings.NewReader(`{"id":"web"}`))
		req.AddCookie(cookie)
		if csrf != "" {
			req.Header.Set(csrfHeader, csrf)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send("GET", "/v1/agents", ""); code != 200 {
		t.Errorf("cookie GET: %d", code)
	}
	if code := send("POST", "/v1/agents", ""); code != 403 {
		t.Errorf("cookie POST without CSRF token: %d, want 403", code)
	}
	sess, _ := e.s.sessions.get(cookie.Value)
	if code := send("POST", "/v1/agents", sess.csrf); code != 201 {
		t.Errorf("cookie POST with CSRF token: %d, want 201", code)
	}
	if code := send("GET", "/ui/", ""); code != 200 {
		t.Errorf("dashboard: %d", code)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.ts.URL+"/ui/", nil)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("dashboard without session: %d, want a redirect to login", resp.StatusCode)
	}
}
