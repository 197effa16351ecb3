package kernel

import (
	"context"

	"github.com/agentos/agentos/policy"
)

// sysNameValues are sysNames as interface values, so that putting a
// syscall's name into a policy input does not allocate.
var sysNameValues = [...]any{
	"SYS_INVALID",
	"SYS_FORK", "SYS_EXIT", "SYS_WAIT", "SYS_EXEC", "SYS_OPEN", "SYS_CLOSE",
	"SYS_READ", "SYS_WRITE", "SYS_STAT", "SYS_MMAP", "SYS_MUNMAP", "SYS_BRK",
	"SYS_PIPE", "SYS_SEND", "SYS_RECV", "SYS_SIGNAL", "SYS_SIGACTION",
	"SYS_SIGPROCMASK", "SYS_GETPOLICY", "SYS_CHECKPOLICY",
}

// nameValue returns s.String() as an interface value without allocating.
func (s Syscall) nameValue() any {
	if int(s) < len(sysNameValues) {
		return sysNameValues[s]
	}
	return sysNameValues[0]
}

// inputKeys is the number of keys of a policy input (POLICY.md "Input"),
// "target" included.
const inputKeys = 13

// inputBuf is a reusable policy input: the top-level map and its "usage"
// map. Policy.Evaluate must not keep its input, so after the decision
// both maps are cleared and the buffer goes back to the kernel's pool.
type inputBuf struct {
	in    map[string]any
	usage map[string]any
}

// getInput takes an empty input buffer from the pool.
func (k *Kernel) getInput() *inputBuf {
	if b, ok := k.inputs.Get().(*inputBuf); ok {
		return b
	}
	return &inputBuf{in: make(map[string]any, inputKeys), usage: make(map[string]any, 3)}
}

// putInput clears b (so the pool keeps no caller data alive) and returns
// it to the pool.
func (k *Kernel) putInput(b *inputBuf) {
	clear(b.in)
	clear(b.usage)
	k.inputs.Put(b)
}

// evaluate builds the policy input of POLICY.md "Input" for an action and
// decides it. tool is the policy tool name; toolValue, if not nil, is the
// same name as an interface value (saving an allocation).
func (k *Kernel) evaluate(ctx context.Context, a *Agent, sys Syscall, tool string, toolValue any, args any, f *facts) policy.Decision {
	b := k.getInput()
	k.fillInput(b, a, sys, tool, toolValue, args, f)
	d := k.policy.Evaluate(ctx, b.in)
	k.putInput(b)
	return d
}

// fillInput writes the input fields into the empty buffer b.
func (k *Kernel) fillInput(b *inputBuf, a *Agent, sys Syscall, tool string, toolValue any, args any, f *facts) {
	calls, tokens := a.toolCalls.Load(), a.tokens.Load()
	var ctxFields any = f.context
	if f.context == nil {
		ctxFields = k.emptyArgs
	}
	if args == nil {
		args = k.emptyArgs
	}
	if toolValue == nil {
		toolValue = tool
	}
	// Box each count once; token_count is the same value as usage.tokens
	// unless the action brings tokens of its own.
	var callsV, tokensV any = calls, tokens
	tokenCountV := tokensV
	if f.tokens != 0 {
		tokenCountV = tokens + f.tokens
	}
	in := b.in
	in["tool_name"] = toolValue
	in["action"] = toolValue
	in["agent_id"] = a.idValue
	in["syscall"] = sys.nameValue()
	in["token_count"] = tokenCountV
	in["tool_call_count"] = callsV
	in["confidence"] = f.confidence
	in["content"] = f.content
	in["agent"] = a.policyAgent
	in["args"] = args
	in["context"] = ctxFields
	u := b.usage
	u["tool_calls"] = callsV
	u["tokens"] = tokensV
	u["cost_usd"] = 0.0
	in["usage"] = u
	if f.target != "" {
		in["target"] = f.target
	}
}
