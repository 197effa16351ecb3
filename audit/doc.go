// Package audit is the kernel's flight recorder: the [Event] recorded for
// every governed action, its canonical JSON, the SHA-256 hash chain, the
// Merkle tree and signed checkpoints that make tampering evident, the
// durable [Log] over a [Store], and [Memory], a bounded in-memory log.
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
// truncation of the tail or a consistent rewrite; the Merkle tree and the
// signed checkpoints do.
//
// # Merkle tree and checkpoints
//
// Event n is leaf n of an RFC 6962 tree (golang.org/x/mod/sumdb/tlog), with
// leaf hash SHA-256(0x00 || the event's 32 hash bytes) ([LeafHash]). Each
// event's record stores the tree hashes its leaf completes
// ([Record].TreeHashes, tlog's storage order; [TreeHashLocation] maps a
// storage index to the event holding it), so proofs need no recomputation.
// A [Checkpoint] states the tree size, root and the last event's hash and is
// signed as a sumdb/note with an Ed25519 key kept in the data directory
// ([LoadOrCreateKey]); [Publisher]s copy checkpoints elsewhere.
// [Verify] streams the log once in bounded memory and checks the chain,
// the stored tree hashes, every checkpoint (signature, root, chain hash, a
// truncated tail) and a consistency proof between successive checkpoints,
// naming the first bad sequence number. It reads the log in chunks on
// several goroutines, each checking its events' hashes against the stored
// previous hash and their leaves; the links between chunks, the Merkle
// frontier and the checkpoints are checked in order. [Prove] and [VerifyProof] give and
// check inclusion proofs; the latter needs only the public key.
//
// # Log
//
// [Log] is the durable log. Appends are canonicalized by their callers and
// committed in groups, one [Store] transaction per group (group commit),
// and [Log.Append] returns after its group is durable. Two transactions
// may be in flight: an Append that finds one of the two free runs the
// transaction on its own goroutine, taking in whatever else is queued, so
// a caller appending one event at a time (the MCP gateway, with one call
// in flight) pays no goroutine hand-off; otherwise its event is queued
// for a committer goroutine. The store calls back into the log under its write lock
// to assign sequence numbers, hashes and tree hashes, so several processes
// sharing a store still form one chain; the group is completed in that
// callback with every append queued by then, so appends that arrive while
// one transaction is written join the next. The two pipeline: while one
// transaction waits for its flush to disk, the next is sealed and written.
// Checkpoints are written every N events (by whoever committed the group that
// reaches N, from the tree it just sealed), every T, and on Close. [Log.Prune] deletes a prefix and keeps a signed [Anchor]: the hash
// the chain resumes from and the subtree roots the tree resumes from.
//
// # Redaction
//
// [Redact] replaces secrets in arguments with "[REDACTED]" (by key name and
// by value shape, through the pluggable [SecretDetector]) and large strings
// with their SHA-256 and length, before the event is appended. [Preview]
// redacts the same way and then cuts the value to a bounded, still valid
// JSON preview for people to read (what an approver is shown). Both replace
// a string holding a secret whole; [SecretShapes.RedactString] replaces
// only the secret inside it, which is what the kernel does for its events.
// The shapes' regular expression runs only where one of the literals they
// start with is found, so ordinary text costs one pass over its bytes.
//
// # Memory
//
// [Memory] assigns seq, time, prev_hash and hash under one lock, so the
// chain is linear and gap-free however many goroutines append. It is
// bounded: when full, [Memory.Append] returns [ErrFull] and the kernel
// denies the action (fail closed). [Memory.Verify] recomputes the chain and
// names the first bad sequence number in a [ChainError].
package audit
