package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/agentos/agentos/audit"
)

// maxRuleLabels bounds the distinct values of the rule label; later rules
// are counted under "other", so a policy with many rules cannot blow up
// the metric's cardinality.
const maxRuleLabels = 64

// metrics are the daemon's Prometheus collectors, in a registry of the
// server's own (no global registry).
type metrics struct {
	reg *prometheus.Registry

	checks     prometheus.Counter
	violations *prometheus.CounterVec
	ops        *prometheus.CounterVec
	opCheck    prometheus.Counter // ops for SYS_CHECKPOLICY, looked up once
	approvals  *prometheus.CounterVec
	decisionLt prometheus.Histogram
	auditLt    prometheus.Histogram
	auditFail  prometheus.Counter
	httpLt     *prometheus.HistogramVec
	reloads    *prometheus.CounterVec
	injections *prometheus.CounterVec

	mu    sync.Mutex
	rules map[string]struct{} // guarded by mu: rule label values in use
}

// latencyBuckets cover 10µs to 2.5s.
var latencyBuckets = []float64{1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 0.5, 2.5}

func newMetrics(reg *prometheus.Registry, version string, activeAgents func() float64) *metrics {
	m := &metrics{reg: reg, rules: map[string]struct{}{}}
	m.checks = prometheus.NewCounter(prometheus.CounterOpts{Name: "agentos_policy_checks_total",
		Help: "Governed actions decided against policy."})
	m.violations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentos_policy_violations_total",
		Help: "Governed actions denied, by deciding rule (at most 64 distinct rules, then \"other\")."}, []string{"rule"})
	m.ops = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentos_kernel_operations_total",
		Help: "Kernel operations requested through the API, by operation."}, []string{"operation"})
	m.opCheck = m.ops.WithLabelValues("SYS_CHECKPOLICY")
	m.approvals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentos_approvals_total",
		Help: "Approval broker steps, by step."}, []string{"step"})
	m.decisionLt = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "agentos_decision_duration_seconds",
		Help: "Duration of governed actions as the kernel measured them (decision, execution, audit).", Buckets: latencyBuckets})
	m.auditLt = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "agentos_audit_append_duration_seconds",
		Help: "Duration of durable audit appends (group commit included).", Buckets: latencyBuckets})
	m.auditFail = prometheus.NewCounter(prometheus.CounterOpts{Name: "agentos_audit_append_failures_total",
		Help: "Audit appends that failed (each denied its action)."})
	m.httpLt = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "agentos_http_request_duration_seconds",
		Help: "HTTP requests by route pattern, method and status class.", Buckets: latencyBuckets},
		[]string{"route", "method", "status"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentos_policy_reloads_total",
		Help: "Policy reloads, by result."}, []string{"result"})
	m.injections = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentos_injection_checks_total",
		Help: "Prompt-injection checks through the API, by verdict."}, []string{"verdict"})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "agentos_info", Help: "Build information."}, []string{"version"})
	info.WithLabelValues(version).Set(1)
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "agentos_active_agents",
		Help: "Agents in the kernel's process table."}, activeAgents)
	reg.MustRegister(m.checks, m.violations, m.ops, m.approvals, m.decisionLt, m.auditLt, m.auditFail,
		m.httpLt, m.reloads, m.injections, info, active,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ruleLabel bounds the rule label's values.
func (m *metrics) ruleLabel(rule string) string {
	if rule == "" {
		return "none"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[rule]; ok {
		return rule
	}
	if len(m.rules) >= maxRuleLabels {
		return "other"
	}
	m.rules[rule] = struct{}{}
	return rule
}

// observeEvent counts a recorded audit event.
func (m *metrics) observeEvent(e *audit.Event, took time.Duration) {
	m.auditLt.Observe(took.Seconds())
	switch e.Kind {
	case audit.KindSyscall, audit.KindToolCall:
	default:
		return
	}
	if e.Decision.Action == "" {
		return
	}
	m.checks.Inc()
	m.decisionLt.Observe(float64(e.LatencyUS) / 1e6)
	if !e.Decision.Allowed {
		m.violations.WithLabelValues(m.ruleLabel(e.Decision.Rule)).Inc()
	}
}

// statusClasses are the values of the status label, indexed by
// statusIndex.
var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// statusIndex maps a status to its index in statusClasses.
func statusIndex(code int) int {
	switch {
	case code < 200:
		return 0
	case code < 300:
		return 1
	case code < 400:
		return 2
	case code < 500:
		return 3
	}
	return 4
}

// routeObservers are one route's request histograms, one per status
// class, each looked up on the route's first response of that class and
// kept, so that later requests observe their latency without hashing
// label values (and /metrics shows only classes that occurred).
type routeObservers struct {
	m       *metrics
	pattern string
	method  string
	class   [len(statusClasses)]atomic.Pointer[observer]
}

// observer boxes a prometheus.Observer for atomic.Pointer.
type observer struct{ prometheus.Observer }

// newRouteObservers returns the histograms of a route pattern served
// under method.
func (m *metrics) newRouteObservers(pattern, method string) *routeObservers {
	return &routeObservers{m: m, pattern: pattern, method: method}
}

// get returns the histogram of status class i.
func (o *routeObservers) get(i int) prometheus.Observer {
	if h := o.class[i].Load(); h != nil {
		return h.Observer
	}
	h := &observer{o.m.httpLt.WithLabelValues(o.pattern, o.method, statusClasses[i])}
	o.class[i].Store(h)
	return h.Observer
}

// observeRequest records a request's latency under its route pattern
// ("unmatched" if none), method and status class. obs, the route's
// histograms, serves requests with the route's own method; others (HEAD
// on a GET route, unmatched paths) look their labels up.
func (m *metrics) observeRequest(obs *routeObservers, route, method string, status int, took time.Duration) {
	if obs != nil && obs.method == method {
		obs.get(statusIndex(status)).Observe(took.Seconds())
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.httpLt.WithLabelValues(route, method, statusClass(status)).Observe(took.Seconds())
}

// statusClass maps a status to "2xx" and so on, bounding the label.
func statusClass(code int) string { return statusClasses[statusIndex(code)] }
