package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// reqInfo is the one context value of a request: filled in as the request
// passes the middleware.
type reqInfo struct {
	id        string
	route     string          // the matched route pattern, set by authorize
	obs       *routeObservers // the matched route's latency histograms, set by authorize
	principal Principal
	authed    bool
	cookie    bool         // authenticated by a session cookie
	sw        statusWriter // the response writer logRequests hands on
}

type ctxKey struct{}

// reqCtx carries a request's reqInfo: one allocation for the context
// value and the state the middleware fills in. Cancellation and other
// values come from the embedded parent.
type reqCtx struct {
	context.Context
	ri reqInfo
}

// Value returns the request's *reqInfo for ctxKey, else the parent's value.
func (c *reqCtx) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return &c.ri
	}
	return c.Context.Value(key)
}

// info returns the request's reqInfo (a zero one outside the stack).
func info(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// requestID returns the request's ID, or "".
func requestID(ctx context.Context) string { return info(ctx).id }

// principalOf returns the authenticated caller, if any.
func principalOf(ctx context.Context) (Principal, bool) {
	ri := info(ctx)
	return ri.principal, ri.authed
}

// PrincipalFrom returns the authenticated caller of a request handled by
// the server (the dashboard's handler uses it).
func PrincipalFrom(ctx context.Context) (Principal, bool) { return principalOf(ctx) }

// CSRFToken returns the CSRF token of the request's browser session, for
// the dashboard to put in forms (field csrf_token) or the X-CSRF-Token
// header; "" if the request was not authenticated by a session.
func (s *Server) CSRFToken(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	if sess, ok := s.sessions.get(c.Value); ok {
		return sess.csrf
	}
	return ""
}

// recoverPanics turns a handler panic into a 500 with the request ID;
// the stack goes to the log.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.LogAttrs(r.Context(), slog.LevelError, "handler panic", slog.String("request_id", requestID(r.Context())),
					slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				s.writeError(w, r, errors.New("handler panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// idSource makes request IDs: a random per-process prefix and a
// counter, so IDs are unique without a random read per request.
type idSource struct {
	prefix string
	seq    atomic.Uint64
}

// next returns a new ID, "<prefix>-<counter in base 36>".
func (s *idSource) next() string {
	var b [32]byte
	n := copy(b[:], s.prefix)
	b[n] = '-'
	return string(strconv.AppendUint(b[:n+1], s.seq.Add(1), 36))
}

func newIDSource() *idSource {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &idSource{prefix: hex.EncodeToString(b[:])}
}

// validRequestID accepts a caller's X-Request-Id of up to 64 characters
// from [A-Za-z0-9._-].
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// requestIDs gives each request an ID (the caller's X-Request-Id if it is
// sane), returned in X-Request-Id.
func (s *Server) requestIDs(next http.Handler) http.Handler {
	ids := newIDSource()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = ids.next()
		}
		rc := &reqCtx{Context: r.Context(), ri: reqInfo{id: id}}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(rc))
	})
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer
// (Flush for SSE).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs each request (debug level for successes, info for
// failures) and observes the request histogram by route pattern.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := info(r.Context())
		sw := &ri.sw
		*sw = statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		took := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.m.observeRequest(ri.obs, ri.route, r.Method, sw.status, took)
		level := slog.LevelDebug
		if sw.status >= 400 {
			level = slog.LevelInfo
		}
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		if !s.log.Enabled(r.Context(), level) {
			return
		}
		s.log.LogAttrs(r.Context(), level, "request", slog.String("request_id", ri.id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", sw.status), slog.Duration("took", took),
			slog.String("token", ri.principal.TokenID))
	})
}

// authenticate finds the caller: a bearer token, else a browser session
// cookie (whose state-changing requests must pass the CSRF check). It
// rejects a bad bearer token; a request without credentials goes on
// unauthenticated and authorize decides.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r.Context())
		if s.opts.InsecureNoAuth {
			ri.principal, ri.authed = Principal{TokenID: "insecure", Name: "insecure", Role: RoleAdmin}, true
			s.logInsecure(r)
			next.ServeHTTP(w, r)
			return
		}
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, tok, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				s.writeError(w, r, &APIError{Status: http.StatusUnauthorized, Code: "unauthenticated",
					Message: "Authorization must be \"Bearer <token>\""})
				return
			}
			p, ok := s.tokens.Authenticate(strings.TrimSpace(tok))
			if !ok {
				s.writeError(w, r, &APIError{Status: http.StatusUnauthorized, Code: "unauthenticated",
					Message: "invalid or revoked token"})
				return
			}
			ri.principal, ri.authed = p, true
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(sessionCookie); err == nil {
			if sess, ok := s.sessions.get(c.Value); ok {
				// The token behind a session may have been revoked since
				// login.
				if p, ok := s.tokenPrincipal(sess.principal); ok {
					if !safeMethod(r.Method) {
						if err := s.checkCSRF(r, sess); err != nil {
							s.writeError(w, r, err)
							return
						}
					}
					ri.principal, ri.authed, ri.cookie = p, true, true
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// tokenPrincipal re-checks that a session's token still exists.
func (s *Server) tokenPrincipal(p Principal) (Principal, bool) {
	for _, t := range s.tokens.List() {
		if t.ID == p.TokenID {
			return p, true
		}
	}
	return Principal{}, false
}

// logInsecure logs, at most every ten seconds, that a request was served
// without authentication.
func (s *Server) logInsecure(r *http.Request) {
	now := s.clock.Now().Unix()
	last := s.insecureLogged.Load()
	if now-last < 10 || !s.insecureLogged.CompareAndSwap(last, now) {
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "serving without authentication (--insecure-no-auth)",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr))
}

// safeMethod reports whether a method changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// bodyLimit caps request bodies at Options.MaxBodyBytes.
func (s *Server) bodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxBodyBytes {
			s.writeError(w, r, ErrTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}
