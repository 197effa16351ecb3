// Package cli builds the agentos command tree. Each command group lives in
// its own file; commands parse flags into a params struct and call a run
// function that takes its writers, so every command is testable without a
// process. Results go to stdout, diagnostics to stderr.
//
// Exit codes: 0 success; 1 a denial, a finding, a failed check or a failed
// scenario; 2 usage errors and unreadable input.
package cli
