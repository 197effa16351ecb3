// Package cedar is a policy backend that decides actions with Cedar
// policies, evaluated by cedar-go.
//
// # Usage
//
// [New] parses the policies (and optional entities) once;
// [Backend.Decide] maps each action's input to a Cedar request and
// authorizes it:
//
//	b, err := cedar.New(cedar.Options{Files: []string{"agents.cedar"}})
//	allowed, reason, err := b.Decide(ctx, input)
//
// # Request mapping
//
// As in the reference: principal Agent::"<agent_id>", action
// Action::"<PascalCase(tool_name)>" (file_read → FileRead), resource
// Resource::"<resource>", and every other input field in the context; see
// [MapRequest] and [PascalCase] for defaults and how values convert.
//
// # Decisions
//
// Real Cedar semantics apply, including when and unless clauses (the
// reference's built-in matcher ignored them): a matching forbid denies;
// otherwise a matching permit allows; otherwise the request is denied.
// Reasons name the determining policies by their @id annotation (or
// policy<N>) and position. Any evaluation error in any policy, such as
// reading an attribute the input lacks, fails closed: Decide returns an
// error, and an error always means deny. Write `context has x && ...`
// for optional fields.
//
// # Errors
//
// Problems found by New are reported together as [policy.Errors], the
// located error type shared by every policy loader (extract it with
// [policy.AsErrors]), each located as file:line:col (or naming the option
// at fault). Decide's errors wrap [ErrInput] or [ErrEval].
//
// # Concurrency
//
// A [Backend] is immutable after New and safe for concurrent use.
package cedar
