// Package ui is the agentos web dashboard: server-rendered pages over the
// kernel, the approval broker, the audit log and the policy engine, with
// live updates over server-sent events.
//
// # Pages
//
// Under the base path (default /ui):
//
//   - / — overview: decisions per second, denials, top rules, active
//     agents and a live feed of decisions;
//   - /agents and /agents/{id} — the agent table with each agent's state
//     and last actions from the audit log, and stop / continue / kill
//     buttons (SIGSTOP, SIGCONT, SIGKILL sent with the operator as source);
//   - /approvals — the pending queue with approve / deny, and recently
//     decided requests;
//   - /audit — a filterable table of audit events and a verify button;
//   - /policies — the policy set in force, the outcome of the last reload,
//     a reload button and an evaluation playground ([policy.Set.Explain]);
//   - /events — the live stream the pages listen to (text/event-stream).
//
// # Who may do what
//
// The daemon authenticates the browser (login page, session cookie) and
// tells the handler who is asking through [Options.Principal]. Admins may
// do everything; auditors may read every page, verify the audit log and
// use the playground, but may not signal agents, vote on approvals or
// reload policy. Agent tokens cannot use the dashboard at all: an agent
// acts through the API as itself, and a page that showed one agent's view
// of the system would be a second, weaker authorization surface to keep in
// step with the API's. Any other or unknown role is refused (fail closed).
//
// # Browser security
//
// Every state-changing request is a form POST carrying the session's CSRF
// token (field csrf_token), compared in constant time with
// [Options.CSRFToken]; a request the browser marks cross-site is refused.
// Pages are rendered with html/template, so every value is escaped for its
// context; that includes the argument preview the approvals page shows for
// each pending request (redacted before it reaches the page, and text an
// agent or a gateway controls). The Content-Security-Policy allows scripts, styles and
// connections from the dashboard's own origin only (no 'unsafe-inline'),
// framing is denied, and all assets (one stylesheet, one script) are
// embedded in the binary: the dashboard loads nothing from elsewhere.
//
// # Live updates
//
// The handler serves its own event stream rather than pointing the browser
// at the API's /v1/events: it forwards only short summaries (who, what,
// decision, rule, reason; never arguments), and the pages stay independent
// of the API's wire format. Each page marks the regions that change with
// data-live; when an event of a kind the region lists arrives, the script
// fetches the page again and swaps those regions. The overview also
// prepends each decision to its live feed as it arrives.
//
// # Lifecycle
//
// [New] starts one goroutine that counts decisions for the overview; stop it
// with [Handler.Close].
package ui
