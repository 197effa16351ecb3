package policy

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/interpreter"
)

// DefaultCELCostLimit is the runtime cost limit of a `when` expression when
// CompileOptions.CELCostLimit is 0.
const DefaultCELCostLimit uint64 = 100_000

// celVariables are the input fields a `when` expression may name (POLICY.md
// "Input"); all are dynamically typed.
var celVariables = [...]string{
	"tool_name", "action", "agent_id", "syscall", "token_count", "tool_call_count",
	"confidence", "content", "agent", "args", "context", "usage",
}

// newCELEnv builds the environment every `when` expression compiles in.
func newCELEnv() (*cel.Env, error) {
	opts := make([]cel.EnvOption, 0, len(celVariables))
	for _, name := range celVariables {
		opts = append(opts, cel.Variable(name, cel.DynType))
	}
	return cel.NewEnv(opts...)
}

// celProgram is a compiled `when` expression.
type celProgram struct {
	prg cel.Program
}

// compileCEL parses and checks expr, which must yield a bool, and plans it
// with a runtime cost limit.
func compileCEL(env *cel.Env, expr string, costLimit uint64) (*celProgram, error) {
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	if out := ast.OutputType(); !out.IsExactType(types.BoolType) && !out.IsExactType(types.DynType) {
		return nil, fmt.Errorf("expression yields %s, want bool", out)
	}
	prg, err := env.Program(ast, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, err
	}
	return &celProgram{prg: prg}, nil
}

// errCELNotBool is returned when a dynamically typed expression yields a
// value other than a bool at run time.
var errCELNotBool = errors.New("when expression did not yield a bool")

// eval runs the program against in. A declared variable the input lacks
// is null, or an empty map for agent, args, context and usage, so that
// has(args.query) is false rather than an error.
func (p *celProgram) eval(ctx context.Context, in map[string]any) (bool, error) {
	out, _, err := p.prg.ContextEval(ctx, inputActivation{in})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, errCELNotBool
	}
	return b, nil
}

// inputActivation resolves CEL variables straight from the input map,
// without copying it.
type inputActivation struct{ in map[string]any }

// ResolveName implements interpreter.Activation.
func (a inputActivation) ResolveName(name string) (any, bool) {
	if v, ok := a.in[name]; ok {
		return v, true
	}
	switch name {
	case "agent", "args", "context", "usage":
		return map[string]any{}, true
	}
	return types.NullValue, true
}

// Parent implements interpreter.Activation: there is none.
func (a inputActivation) Parent() interpreter.Activation { return nil }
