// Package audit is the kernel's flight recorder: the [Event] recorded for
// every governed action, its canonical JSON, the SHA-256 hash chain that
// makes tampering evident, and [Memory], a bounded in-memory log.
//
// # Events
//
// One [Event] is written per governed action, once, after its outcome is
// known. Its fields and JSON names are fixed: seq, time, agent_id,
// session_id, trace_id, kind, tool, args, decision {action, allowed, rule,
// reason, policy, policy_version}, outcome {code, error, result_hash,
// result_summary}, latency_us, prev_hash and hash. Every member is always
// present; args is null when absent.
//
// # Canonical form and the chain
//
// [Canonical] gives the RFC 8785 (JCS) canonical JSON of an event without
// its hash member: members sorted by the UTF-16 code units of their names,
// no whitespace, ECMAScript number formatting, minimal string escaping.
// Time is always UTC with nine fractional digits ([TimeLayout]). The event
// fields are written without reflection; args go through [CanonicalJSON],
// which rejects what JCS cannot canonicalize (duplicate names, lone
// surrogates, invalid UTF-8, numbers that overflow a double). Integers in
// the event must lie within ±(2^53−1) so that every JCS implementation
// reads them exactly.
//
// Each event's hash is
//
//	hash = hex(SHA-256(prev_hash as 32 raw bytes || canonical JSON))
//
// where prev_hash is the previous event's hash and the first event's
// prev_hash is [GenesisHash] (64 zeros). Since canonical JSON also contains
// prev_hash and seq, the hash covers the link and the position. The JSON
// encoding of an Event is its canonical form with hash added, so anyone can
// verify a stored event with a JCS library and SHA-256: remove "hash",
// canonicalize, prefix the decoded prev_hash, hash.
//
// The chain detects an edit, insertion, deletion or reordering, but not the
// truncation of the tail or a consistent rewrite; durable stores add a
// Merkle tree and signed checkpoints for that.
//
// # Memory
//
// [Memory] assigns seq, time, prev_hash and hash under one lock, so the
// chain is linear and gap-free however many goroutines append. It is
// bounded: when full, [Memory.Append] returns [ErrFull] and the kernel
// denies the action (fail closed). [Memory.Verify] recomputes the chain and
// names the first bad sequence number in a [ChainError].
package audit
