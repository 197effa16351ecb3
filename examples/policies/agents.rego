# Tool-call policy for agents, evaluated by the embedded OPA backend
# (package policy/rego). Rego v1.
#
# The input is the document the kernel builds for each action:
#   tool_name, agent_id, agent: {id, role, labels}, args: {...}, ...
#
# Query data.agentos.allow for a yes/no answer, or data.agentos.decision
# for {"allow": bool, "reason": string}.
package agentos

default allow := false

# Tools any agent may call.
read_only_tools := {"file_read", "list_files", "search", "get_weather"}

# Largest refund an agent may issue without a person.
max_refund := 500

# Destructive tools are never allowed, whoever asks: delete_*, drop_*,
# purge_*, destroy_* and anything ending in _delete.
destructive if {
	some prefix in {"delete_", "drop_", "purge_", "destroy_"}
	startswith(input.tool_name, prefix)
}

destructive if endswith(input.tool_name, "_delete")

# Only agents labelled team=payments may refund, and only small amounts.
refund_allowed if {
	input.tool_name == "refund_payment"
	input.agent.labels.team == "payments"
	is_number(input.args.amount)
	input.args.amount > 0
	input.args.amount <= max_refund
}

allow if {
	not destructive
	input.tool_name in read_only_tools
}

allow if {
	not destructive
	refund_allowed
}

decision := {"allow": allow, "reason": reason}

reason := sprintf("tool %q is destructive and never allowed", [input.tool_name]) if {
	destructive
} else := sprintf("tool %q is read-only", [input.tool_name]) if {
	input.tool_name in read_only_tools
} else := "refund within the limit by a payments agent" if {
	refund_allowed
} else := sprintf("refund_payment needs an agent labelled team=payments and 0 < amount <= %d", [max_refund]) if {
	input.tool_name == "refund_payment"
} else := sprintf("tool %q is not allowed by agents.rego", [input.tool_name])
