// Package rego is a policy backend that decides actions with an embedded
// Open Policy Agent engine evaluating Rego v1 policies.
//
// # Usage
//
// [New] parses, compiles and prepares the modules and the query once;
// [Backend.Decide] then only evaluates, with the action's input document
// as the Rego input:
//
//	b, err := rego.New(rego.Options{Files: []string{"agents.rego"}})
//	allowed, reason, err := b.Decide(ctx, input)
//
// The default query is data.agentos.allow. Its value decides:
//
//   - true allows; false or undefined denies, with a reason such as
//     "rego: data.agentos.allow is undefined";
//   - an object {"allow": bool, "reason": string} (for example with the
//     query data.agentos.decision) decides by allow and reports reason;
//   - anything else (another type, several results, an evaluation error,
//     a cancelled context, a timeout, a panic) is an error, and an error
//     always means deny.
//
// # Determinism and isolation
//
// Policies must be deterministic and must not reach the network: a module
// calling http.send, net.lookup_ip_addr, opa.runtime, rand.intn or
// uuid.rfc4122 fails to compile. Built-in errors are strict (a failing
// built-in is an evaluation error, not an undefined value), print
// statements are dropped, time.now_ns reads Options.Now, and every
// evaluation is capped by Options.Timeout.
//
// # Errors
//
// Problems found by New are reported together as [policy.Errors], the
// located error type shared by every policy loader (extract it with
// [policy.AsErrors]), each located as file:line:col (or naming the option
// at fault). Decide's errors wrap [ErrInput], [ErrEval] or [ErrResult].
//
// # Concurrency
//
// A [Backend] is immutable after New and safe for concurrent use.
package rego
