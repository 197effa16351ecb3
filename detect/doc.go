// Package detect finds dangerous content: prompt injection, leaked secrets,
// personal data, destructive shell commands, SQL and code, poisoned MCP tool
// definitions and tool responses, and unsafe writes to agent memory. Every
// detector reports the one [Finding] type and implements [Detector]; the
// secrets and PII detectors also redact.
//
// All regular expressions are RE2 (linear time). Inputs are normalised
// (NFKC, confusable letters, zero-width and bidirectional characters) before
// matching so that look-alike text does not evade a rule, and spans always
// refer to the original input.
package detect
