package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// sessionCookie names the browser session cookie.
const sessionCookie = "agentos_session"

// csrfHeader carries the session's CSRF token on state-changing requests
// from scripts; forms send the field csrf_token instead.
const csrfHeader = "X-CSRF-Token"

// session is one browser login, held server-side; the cookie carries only
// its random ID.
type session struct {
	principal Principal
	csrf      string
	created   time.Time
	expires   time.Time
}

// sessions is a bounded map of live sessions.
type sessions struct {
	clock Clock
	ttl   time.Duration
	max   int

	mu sync.Mutex
	m  map[string]*session // guarded by mu
}

func newSessions(clock Clock, ttl time.Duration, max int) *sessions {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	if max <= 0 {
		max = DefaultMaxSessions
	}
	return &sessions{clock: clock, ttl: ttl, max: max, m: map[string]*session{}}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// create starts a session for p, dropping expired sessions and, when
// full, the oldest one.
func (ss *sessions) create(p Principal) (string, *session, error) {
	id, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	now := ss.clock.Now()
	sess := &session{principal: p, csrf: csrf, created: now, expires: now.Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m {
		if !now.Before(v.expires) {
			delete(ss.m, k)
		}
	}
	for len(ss.m) >= ss.max {
		var oldest string
		var t time.Time
		for k, v := range ss.m {
			if oldest == "" || v.created.Before(t) {
				oldest, t = k, v.created
			}
		}
		delete(ss.m, oldest)
	}
	ss.m[id] = sess
	return id, sess, nil
}

// get returns a live session.
func (ss *sessions) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sess, ok := ss.m[id]
	if !ok {
		return nil, false
	}
	if !ss.clock.Now().Before(sess.expires) {
		delete(ss.m, id)
		return nil, false
	}
	return sess, true
}

// drop ends a session.
func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

// len returns the number of sessions held.
func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}

// checkCSRF requires, on a cookie-authenticated state-changing request,
// an Origin (if sent) naming this host, and the session's CSRF token in
// the X-CSRF-Token header or the csrf_token form field.
func (s *Server) checkCSRF(r *http.Request, sess *session) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return ErrCSRF
		}
	}
	tok := r.Header.Get(csrfHeader)
	if tok == "" && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		tok = r.PostFormValue("csrf_token")
	}
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(sess.csrf)) != 1 {
		return ErrCSRF
	}
	return nil
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>agentos — sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<h1>agentos</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/ui/login">
<label for="token">API token</label><br>
<input id="token" name="token" type="password" autocomplete="off" required placeholder="agentos_…"><br><br>
<button type="submit">Sign in</button>
</form>
<p><small>Create a token with <code>agentos token create --role admin</code>.</small></p>
</body></html>`))

var notBuiltPage = template.Must(template.New("ui").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>agentos</title></head>
<body>
<h1>agentos</h1>
<p>The dashboard is not built into this daemon. The HTTP API under <code>/v1</code> is available.</p>
<form method="post" action="/ui/logout"><input type="hidden" name="csrf_token" value="{{.}}"><button type="submit">Sign out</button></form>
</body></html>`))

// setBrowserHeaders sets the security headers of HTML pages.
func setBrowserHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer a browser posts the
	// login form with "Origin: null", which the origin check refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// handleLoginPage shows the token form.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	setBrowserHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = loginPage.Execute(w, struct{ Error string }{})
}

// handleLogin exchanges a pasted token for a session cookie.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	setBrowserHeaders(w)
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			s.writeError(w, r, ErrCSRF)
			return
		}
	}
	var p Principal
	ok := false
	if s.opts.InsecureNoAuth {
		p, ok = Principal{TokenID: "insecure", Name: "insecure", Role: RoleAdmin}, true
	} else {
		p, ok = s.tokens.Authenticate(r.PostFormValue("token"))
	}
	if !ok {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_ = loginPage.Execute(w, struct{ Error string }{"That token is not valid."})
		return
	}
	id, _, err := s.sessions.create(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.TLS, MaxAge: int(s.sessions.ttl.Seconds())})
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// handleLogout ends the browser session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.drop(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.TLS, MaxAge: -1})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// handleUI serves the dashboard, or a page saying it is not built.
func (s *Server) handleUI(w http.ResponseWriter, r *http.Request) {
	if s.opts.UI != nil {
		s.opts.UI.ServeHTTP(w, r)
		return
	}
	setBrowserHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = notBuiltPage.Execute(w, s.CSRFToken(r))
}
