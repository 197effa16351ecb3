// Package server is the governance daemon's HTTP side: the /v1 API, the
// reference-compatible endpoints, authentication, browser sessions for the
// dashboard, the live event stream and Prometheus metrics, over a real
// kernel, policy engine, approval broker and durable audit log.
//
// # Wiring
//
// New builds the kernel (with the policy engine, the audit log, the
// approval broker as its Approver and a shared rate limiter), loads the
// policy and registers the tools of Options; Handler serves everything;
// Shutdown stops it. Every audit append goes through one tap that feeds
// the metrics and the event Hub, so what is streamed is what was recorded.
//
// # Request path
//
// Routes come from one table (method + path pattern on http.ServeMux,
// access rule, handler). Middleware is stacked in one place: recover →
// request id → log → auth → body limit. Bodies are capped and decoded
// with unknown fields rejected; one error mapper writes every error as
// {"error": {"code", "message", "details"}} with the request id; internal
// errors leave as a generic message.
//
// # Performance
//
// The request path is kept cheap: one context value per request carries
// the request id, the principal and the status writer; the request
// latency histogram of each route and status class is looked up once and
// kept; bearer tokens are found by their SHA-256 digest without
// allocating; request bodies are read into, and responses encoded through,
// pooled buffers (buffers that grew beyond 64 KiB are not kept); and
// POST /v1/check evaluates the asked action a second time, to find the
// allowing rule's rate limit, only when the policy set has rate_limit
// rules. BenchmarkCheck measures the handler with the in-memory and the
// durable audit log.
//
// # Auth
//
// Bearer tokens ("agentos_" + 32 random bytes) are stored as SHA-256 in a
// TokenStore file; roles are admin, agent (bound to one agent id) and
// auditor. The dashboard logs in at /ui/login by pasting a token, which
// yields a server-side session in an HttpOnly, SameSite=Strict cookie;
// state-changing requests authenticated by cookie need the session's CSRF
// token (X-CSRF-Token or the csrf_token form field) and a same-host Origin.
//
// # Events
//
// Hub fans out decisions, signals, approval steps, policy reloads and
// agent lifecycle events; GET /v1/events streams them as SSE and the
// dashboard can Subscribe in process. Slow subscribers are dropped with a
// final "dropped" event; publishing never blocks.
package server
