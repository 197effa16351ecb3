// Package policy is the agentos policy language: it loads policy documents
// from YAML and JSON, validates them against an embedded JSON Schema,
// compiles them into an immutable [Set] and evaluates actions against it.
//
// # Documents
//
// A [Document] is a strict superset of the reference PolicyDocument: rules
// with a reference condition, EXT conditions lists, match globs and CEL
// "when" expressions; actions allow, audit, deny, block, require_approval
// and rate_limit; conflict strategies; built-in named policies.
//
// # Compile once, evaluate many
//
// Loading reads, validates and reports every problem with file, line,
// column and field path, applying nothing if any problem exists. Compiling
// builds regexps, CEL programs and an index by tool name; evaluating a
// compiled set does no parsing, no regexp compilation and, on the common
// path, no allocation. An [Engine] holds the current set behind an atomic
// pointer: a reload builds the new set in full and swaps it, so a bad file
// never replaces a good one.
//
// # Failing closed
//
// Any evaluation error (a type error in an ordering operator, a CEL runtime
// error, a backend error) makes the decision a deny with the reason
// "Policy evaluation error — access denied (fail closed)".
package policy
