package mcp

import (
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/mcp/mcptest"
)

// TestCallOfPolicyHiddenTool: calling a tool the policy hid from the
// listing names the policy rule and its message; a tool that was never
// listed stays a pin denial.
func TestCallOfPolicyHiddenTool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		listFirst bool
		tool      string
		stage     string
		rule      string
		reason    []string
	}{
		{"hidden by policy, after the client listed", true, "tool_1", StagePolicy, "hide-tool-1",
			[]string{`"tool_1"`, `"fixture"`, "hidden by the policy", `"hide-tool-1"`, "tool_1 is not for this agent"}},
		{"hidden by policy, gateway lists on its own", false, "tool_1", StagePolicy, "hide-tool-1",
			[]string{"hidden by the policy", "tool_1 is not for this agent"}},
		{"never listed", true, "no_such_tool", StagePin, "", []string{"not currently listed and pinned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{fixture: mcptest.Options{ExtraTools: 3}})
			if tt.listFirst {
				res, err := e.cs.ListTools(t.Context(), nil)
				if err != nil {
					t.Fatal(err)
				}
				if toolNames(res)["tool_1"] {
					t.Fatal("tool_1 listed despite the policy")
				}
			}
			_, err := e.cs.CallTool(t.Context(), &sdk.CallToolParams{Name: tt.tool, Arguments: map[string]any{"id": "1"}})
			if err == nil {
				t.Fatal("call of a hidden tool ran")
			}
			_, d := wireError(t, err)
			if d.Stage != tt.stage || d.Rule != tt.rule {
				t.Errorf("denial = %+v, want stage %q rule %q", d, tt.stage, tt.rule)
			}
			for _, w := range tt.reason {
				if !strings.Contains(d.Reason, w) {
					t.Errorf("reason %q lacks %s", d.Reason, w)
				}
			}
		})
	}
}
