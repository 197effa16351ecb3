// Package mcp is the MCP governance gateway: an interposer that sits
// between an MCP client and an MCP server and governs every message that
// passes.
//
// # Model
//
// A [Gateway] holds what every session shares: the kernel the calls go
// through, the agent they run as, the policy used to decide which tools a
// client may even see, the tool-definition pins, and the scanners. A
// [Session] joins one client-side [Conn] and one server-side [Conn] and runs
// two pumps. Conns carry framed JSON-RPC messages as bytes, so the core is
// transport-agnostic: [NewStreamConn] frames newline-delimited JSON over
// any reader and writer (stdio, pipes); other transports supply their own
// Conn.
//
// Each message is decoded once with the Go SDK's JSON-RPC types. A message
// the gateway does not change is forwarded byte for byte, so unknown and
// future fields survive. Requests in flight are tracked in both directions
// (bounded maps), so that a response can be matched with the request it
// answers; requests the gateway sends on its own use string IDs starting
// with [GatewayIDPrefix], which are refused from peers.
//
// # Governance
//
//   - tools/list results: every definition is scanned ([ToolScanner]),
//     pinned (SHA-256 over the RFC 8785 canonical JSON of name, title,
//     description, inputSchema, outputSchema and annotations; see
//     [PinStore]) and checked against the policy with empty arguments. A
//     tool that is malformed, flagged by the scanner, new while
//     [Options.ApproveNewTools] is set, changed since it was pinned (a rug
//     pull), denied by policy or whose name the kernel cannot register is
//     removed from the list and audited.
//   - prompts/list results: each prompt is scanned (its description and
//     argument descriptions) and pinned like a tool (pin name
//     [PromptPinPrefix] + name, over name, title, description and
//     arguments); a flagged, new-awaiting-approval or changed prompt is
//     hidden, audited, and prompts/get of it is denied.
//   - resources/list and resources/templates/list results: descriptions
//     (and names, titles) are scanned; a flagged resource or template is
//     hidden and audited, and resources/read of a hidden URI (or of one
//     matching a hidden template) is denied. Resources are not pinned
//     (servers change them at will).
//   - a tool whose name starts with "resources/" or "prompts/" is hidden:
//     those names belong to the prompt and resource actions below.
//
// # Prompts and resources under the policy
//
// The policy decides prompts and resources as two actions named like the
// MCP methods, [ToolResourcesRead] (args {uri, server}) and
// [ToolPromptsGet] (args {name, arguments, server}); no MCP tool can have
// these names. Listed prompts (with empty arguments), resources and
// resource templates (as a read of the template text, with template: true)
// are asked about after the scanner: one a rule denies is hidden and
// audited like a tool, and getting or reading a hidden prompt or resource
// is denied. A policy-hidden template is only hidden: each URI it expands
// to is decided when read.
//
// A prompts/get or resources/read that passed those checks is first asked
// about without side effects. When a rule (or an external backend)
// decides it, it runs through the kernel pipeline like a tools/call:
// policy, approval, rate limits, budgets and the kernel's tool_call audit
// event. When only defaults.action would decide it, it is forwarded as it
// was before policies governed prompts and resources: the defaults were
// written for tools. A URI is also decided in canonical form (escaped
// dots and separators decoded, the scheme in lower case, dot and empty
// path segments resolved); when the two forms are decided differently the
// read is denied (rule ambiguous_uri), so that "file:///ok/../secret"
// cannot escape a rule about a prefix.
//   - the server's instructions (initialize, or server/discover in the
//     stateless protocol): scanned with both scanners and, per
//     [ResponseMode], passed with a warning, sanitized (removed when a
//     finding has no span) or removed; the session goes on.
//   - notifications/tools/list_changed: calls are refused until the
//     gateway has listed the tools again on its own.
//   - tools/call: a call to a tool that is not currently listed and pinned
//     is denied; any other call runs through the kernel pipeline
//     (kernel.Syscall with kernel.Exec): policy, approval, rate limits,
//     budgets and audit. The kernel tool the gateway registers under the
//     MCP tool's name forwards the original request to the server and waits
//     for its response.
//   - tools/call results, resources/read and prompts/get results and
//     sampling requests from the server: scanned ([ResponseScanner]) and,
//     per [ResponseMode], passed with a warning, sanitized or blocked.
//   - everything else (progress, cancellation, sampling and elicitation
//     traffic between client and server, pings, logging) passes through in
//     both directions;
//     notifications/cancelled also cancels the governed call it names.
//
// Denials answer as JSON-RPC error -32000 with data {stage, reason, rule},
// or, with [Options.DenyAsToolError], as a tools/call result with isError
// set so the model sees why (prompts/get and resources/read denials are
// always errors). Every decision the gateway makes itself is an audit
// event of kind mcp_message naming the server, session, method, tool and
// stage; tools/call decisions, and those of prompts/get and
// resources/read a rule decides, are the kernel's tool_call events.
//
// # Transports
//
// [Proxy] is a Streamable HTTP reverse proxy built on the same Session: each
// client session (or, for stateless 2026-07-28 clients, each principal)
// runs a Session whose client side routes messages to the HTTP responses
// they belong to and whose server side POSTs upstream. It authenticates
// clients ([Authenticator], [TokenAuth]), serves protected-resource
// metadata at [PRMPath], enforces an Origin allow-list and body limits,
// binds session IDs to principals, checks Mcp-Method and Mcp-Name against
// the body, ends sessions idle for [ProxyOptions.IdleTimeout] (by its
// Clock; [Proxy.ExpireIdle]), and never forwards the client's token.
//
// Request parameters the gateway decides on (a tools/call's name and
// arguments, a prompt's name, a resource's URI) are read by exact member
// name, as the peers read them: a "Name" member can never make the
// gateway govern one tool while the server runs another.
//
// [Approvals] is the standalone approval flow (a kernel.Approver on an
// approval.Broker exchanging requests and votes through a directory);
// [ReadClientConfig] (errors are [*ConfigError] with file:line:col),
// [ConfigLocations] and [ScanToolList] back the offline scanner; [NewKernelServer] is the kernel's own MCP server.
//
// # Approvals through the client
//
// With [SessionOptions.ApprovalElicitation] (or
// [ProxyOptions.ApprovalElicitation]), [Approvals] puts a call a
// require_approval rule holds to the client's user, when the client
// supports form elicitation, and casts the answer as a vote in its broker. A session-era client gets
// an elicitation/create request in the gateway's ID namespace; through the
// proxy it travels on the held call's own event stream, and the client's
// POSTed answer is taken by the gateway, never forwarded. A stateless
// (2026-07-28) client, which takes no requests ([SessionOptions.Stateless],
// or a call whose _meta names that protocol), gets an input_required
// result whose inputRequests hold the question under [ApprovalInputKey]
// and whose requestState the gateway signed (HMAC-SHA256), binding the
// approval request, principal, server, agent, tool, arguments hash and an
// expiry; the client's retry carries the answer, the state is checked, the
// approval is used by that retry alone, and the call goes upstream without
// the gateway's members (with the server's own requestState and
// inputResponses, when the held call carried them, restored).
//
// # Processes
//
// [StartChild] runs an MCP server as a child process speaking stdio, with
// its stderr passed through and a close, SIGTERM, SIGKILL shutdown ladder;
// [RateCommand] rates a server command line before it is launched.
package mcp
