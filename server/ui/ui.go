package ui

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/signals"
)

// Roles the dashboard knows, as Options.Principal reports them. Any other
// role is refused.
const (
	// RoleAdmin may read every page and act: signal agents, vote on
	// approvals, reload policy.
	RoleAdmin = "admin"
	// RoleAuditor may read every page, verify the audit log and use the
	// policy playground.
	RoleAuditor = "auditor"
)

// Defaults for zero Options fields.
const (
	// DefaultBasePath is where the daemon mounts the dashboard.
	DefaultBasePath = "/ui"
	// DefaultHeartbeat is the interval of keep-alive comments on the live
	// stream.
	DefaultHeartbeat = 15 * time.Second
	// DefaultSubscriberQueue bounds each live stream's backlog.
	DefaultSubscriberQueue = 256
)

// Limits on what a request may ask for.
const (
	// MaxAuditRows bounds the rows of one audit page.
	MaxAuditRows = 1000
	// DefaultAuditRows is the audit page's row count when the form names
	// none.
	DefaultAuditRows = 100
	// MaxPlaygroundInput bounds the playground's JSON input.
	MaxPlaygroundInput = 64 << 10
	// MaxCommentBytes bounds an approval comment or a signal reason.
	MaxCommentBytes = approval.MaxReasonBytes
	// maxAgentRows bounds the agents listed on one page (each costs one
	// audit query for its last action).
	maxAgentRows = 200
)

// Kernel is what the dashboard needs of the kernel; *kernel.Kernel
// implements it.
type Kernel interface {
	List() []kernel.AgentInfo
	Agent(id string) *kernel.Agent
	Signal(id string, sig signals.Signal, source, reason string) (signals.Info, error)
	Metrics() kernel.Metrics
}

// Approvals is what the dashboard needs of the approval broker;
// *approval.Broker implements it.
type Approvals interface {
	List(f approval.Filter) []approval.Ticket
	Recent(n int) []approval.Ticket
	Count(f approval.Filter) int
	Decide(ctx context.Context, id string, v approval.Vote) (approval.Ticket, error)
}

// AuditLog is what the dashboard needs of the audit log; *audit.Log
// implements it.
type AuditLog interface {
	Query(ctx context.Context, q audit.Query, fn func(*audit.Event) error) error
	Verify(ctx context.Context, opts audit.VerifyOptions) (audit.VerifyResult, error)
}

// Policy gives the policy set in force; *policy.Engine implements it.
type Policy interface {
	Current() *policy.Set
}

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Interface guards: the committed types satisfy what the dashboard asks.
var (
	_ Kernel    = (*kernel.Kernel)(nil)
	_ Approvals = (*approval.Broker)(nil)
	_ AuditLog  = (*audit.Log)(nil)
	_ Policy    = (*policy.Engine)(nil)
)

// Options configure a Handler. Kernel, Approvals, Audit, Policy, Principal
// and CSRFToken are required.
type Options struct {
	// Kernel lists and signals agents and gives the counters. Required.
	Kernel Kernel
	// Approvals lists approval requests and takes votes. Required.
	Approvals Approvals
	// Audit is queried for the audit page and the agents' last actions,
	// and verified on request. Required.
	Audit AuditLog
	// Policy gives the set in force, for the policies page and the
	// playground. Required.
	Policy Policy
	// Reload reloads the policy set (the reload button); it must audit
	// the reload and keep the last good set on failure, as the daemon's
	// does. nil: the page has no reload button.
	Reload func(ctx context.Context) error
	// Documents returns the documents of the set in force, to list their
	// rules. nil: the page shows the set's version, strategy and rule
	// count only.
	Documents func() []*policy.Document
	// PolicySource says where the policy comes from ("./policies"), shown
	// on the policies page. "": not shown.
	PolicySource string
	// Events is the daemon's live event stream, feeding the overview's
	// counters and the pages' live updates. nil: pages do not update live
	// and the overview's rates stay at zero.
	Events EventSource
	// Principal returns who is asking: an identity (recorded as the
	// approver of votes and as "operator:<id>", the source of signals)
	// and a role (RoleAdmin, RoleAuditor; anything else is refused).
	// ok=false: not signed in. Required.
	Principal func(r *http.Request) (id, role string, ok bool)
	// CSRFToken returns the CSRF token of the request's session, which
	// every form carries in the field csrf_token and every POST must
	// present; "" (no session) refuses every POST. Required.
	CSRFToken func(r *http.Request) string
	// BasePath is the path the daemon serves the dashboard under, without
	// a trailing slash; the handler is given the full request path. "":
	// DefaultBasePath.
	BasePath string
	// LoginPath is where a request without a session is sent. "":
	// BasePath + "/login".
	LoginPath string
	// LogoutPath is where the sign-out form posts. "": BasePath +
	// "/logout".
	LogoutPath string
	// Heartbeat is the interval of keep-alive comments on the live
	// stream. 0: DefaultHeartbeat.
	Heartbeat time.Duration
	// Clock times the overview's rate windows and the reload status. nil:
	// the wall clock.
	Clock Clock
	// Logger receives the dashboard's logs (internal errors behind a
	// generic error page). nil: discard.
	Logger *slog.Logger
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// contentSecurityPolicy allows the dashboard's own script, stylesheet and
// event stream, and nothing else: no inline script or style, no framing,
// no foreign form targets.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the dashboard. Build it with New; it is safe for
// concurrent use. Close stops its background goroutine.
type Handler struct {
	opts   Options
	log    *slog.Logger
	clock  Clock
	base   string
	mux    *http.ServeMux
	pages  map[string]*template.Template
	static http.Handler
	stats  *stats

	ctx    context.Context // the handler's lifetime; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	reload reloadStatus // guarded by mu
}

// reloadStatus is the outcome of the last policy reload the dashboard
// heard of (its own, or one announced on the event stream).
type reloadStatus struct {
	Known   bool
	At      time.Time
	Trigger string
	OK      bool
	Version string
	Error   string
}

// wallClock is the real clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// New checks opts, parses the templates and, if Options.Events is set,
// starts the goroutine counting decisions for the overview.
func New(opts Options) (*Handler, error) {
	switch {
	case opts.Kernel == nil:
		return nil, errors.New("ui: Options.Kernel is required")
	case opts.Approvals == nil:
		return nil, errors.New("ui: Options.Approvals is required")
	case opts.Audit == nil:
		return nil, errors.New("ui: Options.Audit is required")
	case opts.Policy == nil:
		return nil, errors.New("ui: Options.Policy is required")
	case opts.Principal == nil:
		return nil, errors.New("ui: Options.Principal is required")
	case opts.CSRFToken == nil:
		return nil, errors.New("ui: Options.CSRFToken is required")
	case opts.Heartbeat < 0:
		return nil, fmt.Errorf("ui: Options.Heartbeat %v: must be 0 (default) or positive", opts.Heartbeat)
	}
	base := opts.BasePath
	if base == "" {
		base = DefaultBasePath
	}
	if !strings.HasPrefix(base, "/") || strings.HasSuffix(base, "/") || strings.ContainsAny(base, "{}? #") {
		return nil, fmt.Errorf("ui: Options.BasePath %q: want an absolute path without a trailing slash", opts.BasePath)
	}
	if opts.LoginPath == "" {
		opts.LoginPath = base + "/login"
	}
	if opts.LogoutPath == "" {
		opts.LogoutPath = base + "/logout"
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	h := &Handler{opts: opts, log: opts.Logger, clock: opts.Clock, base: base, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.log = h.log.With(slog.String("component", "ui"))
	if h.clock == nil {
		h.clock = wallClock{}
	}
	var err error
	if h.pages, err = parsePages(base); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("ui: static assets: %w", err)
	}
	h.static = http.StripPrefix(base+"/static/", http.FileServerFS(sub))
	h.stats = newStats()
	h.routes()
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if opts.Events != nil {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.consume(h.ctx)
		}()
	}
	return h, nil
}

// Close stops the goroutine counting decisions and ends every live stream
// the handler is serving. It is idempotent and returns nil.
func (h *Handler) Close() error {
	h.cancel()
	h.wg.Wait()
	return nil
}

// access says who may use a route.
type access uint8

const (
	// readers: admins and auditors.
	readers access = iota
	// admins: admins only.
	admins
)

// principal is the signed-in caller.
type principal struct {
	ID   string
	Role string
}

// Admin reports whether the caller may act (templates hide the buttons
// otherwise; the handlers check again).
func (p principal) Admin() bool { return p.Role == RoleAdmin }

// Reader reports whether the caller may see the pages (the layout shows
// the navigation only then).
func (p principal) Reader() bool { return p.Role == RoleAdmin || p.Role == RoleAuditor }

// routes registers every route: method, path under the base, who may
// use it, and the handler.
func (h *Handler) routes() {
	h.route("GET", "/{$}", readers, h.overview)
	h.route("GET", "/agents", readers, h.agents)
	h.route("GET", "/agents/{id}", readers, h.agent)
	h.route("POST", "/agents/{id}/signal", admins, h.signal)
	h.route("GET", "/approvals", readers, h.approvals)
	h.route("POST", "/approvals/{id}/{vote}", admins, h.vote)
	h.route("GET", "/audit", readers, h.auditPage)
	h.route("POST", "/audit/verify", readers, h.verify)
	h.route("GET", "/policies", readers, h.policies)
	h.route("POST", "/policies/reload", admins, h.reloadPolicy)
	h.route("POST", "/policies/eval", readers, h.evalPolicy)
	h.route("GET", "/events", readers, h.events)
	h.mux.HandleFunc("GET "+h.base+"/static/{file}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.static.ServeHTTP(w, r)
	})
	h.mux.HandleFunc(h.base+"/", func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authorize(r, readers)
		if err == nil {
			err = fmt.Errorf("%w: %s %s", ErrNotFound, r.Method, r.URL.Path)
		}
		h.fail(w, r, p, err)
	})
}

// route registers one page or action. The wrapper authenticates, checks
// the role, checks the CSRF token of POSTs, and renders any error.
func (h *Handler) route(method, path string, need access, fn func(http.ResponseWriter, *http.Request, principal) error) {
	h.mux.HandleFunc(method+" "+h.base+path, func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authorize(r, need)
		if err == nil && method != http.MethodGet {
			err = h.checkCSRF(r)
		}
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			h.fail(w, r, p, err)
		}
	})
}

// ServeHTTP implements http.Handler. It sets the security headers of
// every response, then routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer browsers send
	// "Origin: null" on form posts, which the daemon's origin check
	// rightly refuses.
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// authorize returns the caller if it is signed in with a role allowed
// need.
func (h *Handler) authorize(r *http.Request, need access) (principal, error) {
	id, role, ok := h.opts.Principal(r)
	if !ok {
		return principal{}, ErrUnauthenticated
	}
	p := principal{ID: id, Role: role}
	switch role {
	case RoleAdmin:
		return p, nil
	case RoleAuditor:
		if need == readers {
			return p, nil
		}
		return p, fmt.Errorf("%w: an auditor may read but not act", ErrForbidden)
	}
	return p, fmt.Errorf("%w: the dashboard is for admins and auditors, not role %q", ErrForbidden, role)
}

// checkCSRF requires the session's CSRF token in the csrf_token field and
// refuses a request the browser marks as cross-site.
func (h *Handler) checkCSRF(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return fmt.Errorf("%w: cross-site request", ErrCSRF)
	}
	want := h.opts.CSRFToken(r)
	if want == "" {
		return fmt.Errorf("%w: this session has no CSRF token; sign in at %s", ErrCSRF, h.opts.LoginPath)
	}
	got := r.PostFormValue("csrf_token")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return ErrCSRF
	}
	return nil
}

// fail answers a request that failed: a redirect to the login page for a
// GET without a session, else the error page with the error's status.
// Internal errors are logged and shown as a generic message.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p principal, err error) {
	if errors.Is(err, ErrUnauthenticated) && r.Method == http.MethodGet {
		http.Redirect(w, r, h.opts.LoginPath, http.StatusSeeOther)
		return
	}
	status := statusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		h.log.LogAttrs(r.Context(), slog.LevelError, "dashboard request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		msg = "internal error; the daemon's log has the details"
	}
	if errors.Is(err, ErrUnauthenticated) {
		p = principal{}
	}
	h.render(w, r, p, status, "error", "Error", errorView{Status: status, Text: http.StatusText(status), Message: msg})
}

// errorView is the error page's data.
type errorView struct {
	Status  int
	Text    string
	Message string
}

// view is what every page template receives.
type view struct {
	Title  string
	Page   string
	Base   string
	Logout string
	Login  string
	User   principal
	CSRF   string
	Data   any
}

// render executes page into a buffer, then writes it with status: a
// template error never leaves a half-written page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, p principal, status int, page, title string, data any) {
	t, ok := h.pages[page]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := view{Title: title, Page: page, Base: h.base, Logout: h.opts.LogoutPath, Login: h.opts.LoginPath, User: p, Data: data}
	if p.ID != "" || p.Role != "" {
		v.CSRF = h.opts.CSRFToken(r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "render page", slog.String("page", page), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageNames are the page templates; each is parsed with the layout.
var pageNames = [...]string{"overview", "agents", "agent", "approvals", "audit", "policies", "error"}

// parsePages parses the layout with each page.
func parsePages(base string) (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs(base)).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("ui: parse template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}
