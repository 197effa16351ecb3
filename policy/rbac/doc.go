// Package rbac is the control-plane policy engine: per-role tool
// allow-lists, ABAC conditional permissions, argument rules (protected
// paths, dangerous code and commands, destructive SQL, internal endpoints),
// risk policies and the regex SQL policy check. It re-creates the
// reference's control-plane PolicyEngine, keeping its order of checks and
// its violation messages, and fixes its bugs.
//
// # Building and freezing
//
// A [Builder] holds the mutable state and the reference's mutators
// (AddConstraint, AddConditionalPermission, SetAgentContext,
// UpdateAgentContext) plus Go-only ones (protected paths, base directory,
// code patterns, risk policies, SQL policy), and records every mutation in
// a log. [Builder.Freeze] compiles an immutable [Snapshot]; afterwards every
// mutator returns a [*FrozenError] (matching [ErrFrozen], with the
// reference's RuntimeError text) and the attempt is logged as blocked.
// Freezing is structural: a snapshot shares no mutable state with the
// builder or its callers, so it covers everything the reference leaves
// mutable (risk policies, paths, patterns). An [Engine] serves a snapshot
// through an atomic pointer, so a new one can be swapped in without locks.
//
// # Checking a call
//
// [Snapshot.Check] runs allow-list, ABAC, path, code, SQL and endpoint
// stages in the reference's order and returns the first objection as a
// [Decision]. The allow path does not allocate. Any argument the reference
// would crash on (a non-string path, code or query) is denied: the engine
// fails closed.
//
// # Deliberate deviations from the reference
//
//   - abac-reserved: agent-context keys named "args" or "context" cannot
//     shadow the call's arguments or the context in ABAC evaluation.
//   - frozen-context: "context.*" conditions keep working after Freeze.
//   - typed-compare, bool-number, ordering-types: a condition comparing
//     operands of mismatched types is false and counted in
//     [Snapshot.EvalErrors] (the reference raises TypeError); a boolean never
//     equals or orders against a number; ordering is number/number or
//     string/string only.
//   - path-tools: path rules also apply to file_read and file_write, the
//     names the kernel's VFS syscalls map to.
//   - path-components, double-slash: paths are compared by component after
//     path.Clean ("/etcetera" is not under /etc; "//etc/passwd" is).
//   - All control characters and invalid UTF-8 in a path are rejected, not
//     only \n, \r and NUL.
//   - Relative paths resolve against a configured base directory (default
//     "/"), never the process's working directory, so "etc/passwd" is
//     /etc/passwd. Windows protected paths match case-insensitively and with
//     either separator, so "c:\windows\system32\x" is protected.
//   - code-and-command: both "code" and "command" are checked.
//   - domain-host-match: risk-policy domains match the parsed, lower-cased
//     host exactly or as a subdomain, not as a URL substring; a value with no
//     parsable host is denied when any domain list is set (an empty value
//     only by an allow-list). A NaN risk score is denied.
//   - High-risk patterns are searched in parameter keys and values rather
//     than in Python's repr of the parameters, so they cannot match across
//     its punctuation.
//   - Built-in patterns use Python's Unicode \s and \w (so "rm\u00a0-rf" is
//     caught as in the reference); \b is RE2's ASCII boundary, which next to
//     the patterns' ASCII letters matches wherever Python's does and also
//     next to non-ASCII letters: the built-in rules never match less.
//
// # SQL policy
//
// [SQLChecker] is the reference's regex fallback (_fallback_sql_check),
// driven by an [SQLPolicyConfig] ([DefaultSQLPolicyConfig], or one read by
// [LoadSQLPolicyConfig]). The UPDATE-without-WHERE rule's negative
// lookahead, which RE2 lacks, is hand-written. [Builder.SetSQLPolicy] makes
// the configuration an actual stage of Check, which the reference never
// does; it is off by default.
package rbac
