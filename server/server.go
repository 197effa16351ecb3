package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/policy"
)

// Defaults for zero Options fields.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultSessionTTL    = 12 * time.Hour
	DefaultMaxSessions   = 1024
	DefaultHeartbeat     = 15 * time.Second
	DefaultWatchDebounce = 250 * time.Millisecond
	DefaultCheckWait     = 0
)

// Options configure a Server. Required: AuditLog, Policy, and Tokens
// unless InsecureNoAuth.
type Options struct {
	// AuditLog records every governed action, signal, approval step and
	// policy reload. Required. The server does not close it.
	AuditLog AuditLog
	// Policy loads the policy documents, at New and on every reload.
	// Required; New fails if the first load fails.
	Policy policy.LoadFunc
	// PolicySource says where the policy comes from ("./policies", "the
	// built-in default policy"), for logs, audit events and
	// GET /v1/policies. "": "policy".
	PolicySource string
	// PolicyCompile configures compiling the policy (backends, CEL cost
	// limit, named policies).
	PolicyCompile policy.CompileOptions
	// WatchPaths are policy files and directories watched for changes,
	// each change reloading the policy. nil: no watching.
	WatchPaths []string
	// WatchDebounce is how long the watcher waits for writes to settle
	// before reloading. 0: DefaultWatchDebounce.
	WatchDebounce time.Duration
	// Tokens authenticates bearer tokens and login. Required unless
	// InsecureNoAuth.
	Tokens *TokenStore
	// InsecureNoAuth makes every request act as an admin without a
	// token. For local experiments only: it is logged at start and,
	// rate-limited, on requests.
	InsecureNoAuth bool
	// TLS reports that the daemon is served over HTTPS, which makes
	// session cookies Secure.
	TLS bool
	// Tools are registered in the kernel at New, for governed calls
	// through POST /v1/agents/{id}/tools/{tool}. nil: no tools.
	Tools []kernel.Tool
	// Approval configures the approval broker. Its Recorder is replaced
	// by the audit log; its Notifier, if any, is told of every step after
	// the live event stream is. Clock and Logger default to the server's.
	Approval approval.Options
	// Kernel tunes the kernel. Policy, Auditor, Approver and Limiter are
	// set by the server; Clock and Logger default to the server's; the
	// other fields are used as given.
	Kernel kernel.Options
	// UI serves the dashboard under /ui/ (after login). nil: a page saying
	// the dashboard is not built.
	UI http.Handler
	// MaxBodyBytes bounds request bodies. 0: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// SessionTTL is the life of a browser session. 0: DefaultSessionTTL.
	SessionTTL time.Duration
	// MaxSessions bounds live browser sessions; the oldest is dropped
	// beyond it. 0: DefaultMaxSessions.
	MaxSessions int
	// Heartbeat is the interval of SSE comment lines keeping idle streams
	// open. 0: DefaultHeartbeat.
	Heartbeat time.Duration
	// SubscriberQueue bounds each SSE subscriber's queue. 0:
	// DefaultSubscriberQueue.
	SubscriberQueue int
	// Registry receives the Prometheus metrics. nil: a new registry (no
	// global registry is touched).
	Registry *prometheus.Registry
	// Tracer, if set, is called at the start of each governed action
	// (tool call, syscall, check) and returns a function ending its span.
	// nil: no tracing.
	Tracer Tracer
	// Version is reported by agentos_info and /health. "": "devel".
	Version string
	// Logger receives the server's logs. nil: discard.
	Logger *slog.Logger
	// Clock reads time for sessions, token re-reads and events. nil: the
	// wall clock.
	Clock Clock
}

// Tracer starts a span for one governed action. The returned function
// ends it with the action's result code and error.
type Tracer interface {
	Start(ctx context.Context, name string, agentID, tool string) (context.Context, func(code int, err error))
}

// Server is the governance daemon's HTTP side: it owns the kernel, the
// approval broker, the policy engine and the live event hub, and serves
// the API. Build it with New, serve Handler, stop it with Shutdown.
type Server struct {
	opts     Options
	log      *slog.Logger
	clock    Clock
	k        *kernel.Kernel
	broker   *approval.Broker
	pol      *policies
	hub      *Hub
	m        *metrics
	tap      *tap
	limiter  *limit.Limiter
	tokens   *TokenStore
	sessions *sessions
	compat   *compat
	handler  http.Handler
	routes   []route
	bufs     buffers // request bodies and response encodings
	started  time.Time

	ctx    context.Context // the server's lifetime; cancelled by Shutdown
	cancel context.CancelFunc
	// waits ends with StopWaiting (or Shutdown): long polls answer at once.
	waits     context.Context
	stopWaits context.CancelFunc
	wg        sync.WaitGroup

	insecureLogged atomic.Int64 // unix seconds of the last insecure-mode request log
	closed         atomic.Bool
}

// New builds the kernel, broker and policy engine, loads the policy and
// registers the tools. It fails, naming the problem, on a bad option or a
// policy that does not load.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.AuditLog == nil {
		return nil, errors.New("server: AuditLog is required")
	}
	if opts.Policy == nil {
		return nil, errors.New("server: Policy is required")
	}
	if opts.Tokens == nil && !opts.InsecureNoAuth {
		return nil, errors.New("server: Tokens is required unless InsecureNoAuth is set")
	}
	s := &Server{opts: opts, log: opts.Logger, clock: opts.Clock, tokens: opts.Tokens}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = wallClock{}
	}
	if s.opts.MaxBodyBytes <= 0 {
		s.opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.opts.Heartbeat <= 0 {
		s.opts.Heartbeat = DefaultHeartbeat
	}
	if s.opts.WatchDebounce <= 0 {
		s.opts.WatchDebounce = DefaultWatchDebounce
	}
	if s.opts.Version == "" {
		s.opts.Version = "devel"
	}
	if s.opts.PolicySource == "" {
		s.opts.PolicySource = "policy"
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.started = s.clock.Now()
	s.hub = NewHub(s.clock)
	s.m = newMetrics(reg, s.opts.Version, func() float64 {
		if s.k == nil {
			return 0
		}
		return float64(s.k.Metrics().ActiveAgents)
	})
	s.tap = &tap{log: opts.AuditLog, m: s.m, hub: s.hub, clock: s.clock}
	s.sessions = newSessions(s.clock, s.opts.SessionTTL, s.opts.MaxSessions)
	s.pol = newPolicies(opts.Policy, s.opts.PolicySource, opts.PolicyCompile, s.log.With("component", "policy"), s.clock)
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// Only StopWaiting (or the end of Shutdown) ends waits: Shutdown ends
	// the polls by closing the broker, which answers them as cancelled.
	s.waits, s.stopWaits = context.WithCancel(context.WithoutCancel(ctx))

	if err := s.Reload(ctx, "start"); err != nil {
		s.cancel()
		return nil, fmt.Errorf("load policy from %s: %w", s.opts.PolicySource, err)
	}

	aopts := opts.Approval
	aopts.Recorder = approvalRecorder{t: s.tap}
	aopts.Notifier = hubNotifier{hub: s.hub, next: opts.Approval.Notifier}
	if aopts.Logger == nil {
		aopts.Logger = s.log // the broker names its component itself
	}
	var err error
	if s.broker, err = approval.New(aopts); err != nil {
		s.cancel()
		return nil, fmt.Errorf("approval broker: %w", err)
	}

	s.limiter = limit.NewLimiter(limit.LimiterOptions{Logger: s.log.With("component", "limit")})
	kopts := opts.Kernel
	kopts.Policy = s.pol.engine
	kopts.Auditor = s.tap
	kopts.Approver = approver{b: s.broker}
	kopts.Limiter = s.limiter
	if kopts.Logger == nil {
		kopts.Logger = s.log // the kernel names its component itself
	}
	if kopts.Clock == nil {
		kopts.Clock = s.clock
	}
	if s.k, err = kernel.New(kopts); err != nil {
		s.broker.Close()
		s.cancel()
		return nil, fmt.Errorf("kernel: %w", err)
	}
	for _, t := range opts.Tools {
		if err := s.k.RegisterTool(t); err != nil {
			s.closeParts()
			return nil, fmt.Errorf("register tool %q: %w", t.Name, err)
		}
	}
	s.compat = newCompat(s)
	if len(opts.WatchPaths) > 0 {
		if err := s.watch(s.ctx, opts.WatchPaths, s.opts.WatchDebounce); err != nil {
			s.closeParts()
			return nil, err
		}
	}
	if opts.InsecureNoAuth {
		s.log.Warn("AUTHENTICATION IS DISABLED (--insecure-no-auth): every request acts as admin; use only for local experiments")
	}
	s.handler = s.buildHandler()
	return s, nil
}

// Handler returns the HTTP handler serving the whole API, the dashboard
// and the metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Kernel returns the server's kernel, for embedders and the dashboard.
func (s *Server) Kernel() *kernel.Kernel { return s.k }

// Broker returns the approval broker, for the dashboard.
func (s *Server) Broker() *approval.Broker { return s.broker }

// Hub returns the live event hub, for the dashboard.
func (s *Server) Hub() *Hub { return s.hub }

// Policy returns the policy engine that decides every action.
func (s *Server) Policy() *policy.Engine { return s.pol.engine }

// PolicyDocuments returns the documents of the policy set in force.
func (s *Server) PolicyDocuments() []*policy.Document {
	st, _, _ := s.pol.snapshot()
	return st.docs
}

// PolicyVersion returns the version of the policy set in force.
func (s *Server) PolicyVersion() string {
	if set := s.pol.engine.Current(); set != nil {
		return set.Version()
	}
	return ""
}

// Shutdown stops the policy watcher, refuses new syscalls and waits (until
// ctx ends) for those in flight, then cancels pending approvals and ends
// every event stream. Call it after http.Server.Shutdown has drained the
// requests; close the audit log afterwards (its Close writes the final
// checkpoint). It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.cancel()
	err := s.k.Shutdown(ctx)
	s.broker.Close()
	s.stopWaits()
	s.hub.Close()
	s.wg.Wait()
	return err
}

// StopWaiting ends every long poll of GET /v1/approvals/{id}?wait= now,
// each answering the request as it stands, and makes later ones answer at
// once. Register it with http.Server.RegisterOnShutdown, so that draining
// the requests in flight does not wait out their polls. It is idempotent.
func (s *Server) StopWaiting() { s.stopWaits() }

// closeParts releases what New built after a later step failed.
func (s *Server) closeParts() {
	s.cancel()
	s.stopWaits()
	s.k.Close()
	s.broker.Close()
	s.hub.Close()
	s.wg.Wait()
}

// metricsHandler serves the Prometheus registry.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{ErrorLog: nil, Registry: s.m.reg})
}
