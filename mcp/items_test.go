package mcp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/mcp/mcptest"
)

// auditedDenials returns the deny events of a method, by tool.
func (e *env) auditedDenials(method string) map[string]audit.Event {
	out := make(map[string]audit.Event)
	for _, ev := range e.events(audit.KindMCPMessage) {
		var args struct{ Method string }
		_ = json.Unmarshal(ev.Args, &args)
		if args.Method == method && ev.Decision.Action == "deny" {
			out[ev.Tool] = ev
		}
	}
	return out
}

func TestPromptsScreenedAndPinned(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	ctx := t.Context()
	res, err := e.cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range res.Prompts {
		got[p.Name] = true
	}
	if !got[mcptest.PromptClean] || got[mcptest.PromptPoisoned] {
		t.Fatalf("prompts = %v, want %s and not %s", got, mcptest.PromptClean, mcptest.PromptPoisoned)
	}
	denied := e.auditedDenials(methodPromptsList)
	if ev, ok := denied[mcptest.PromptPoisoned]; !ok || ev.Decision.Rule == "" {
		t.Errorf("hidden prompt audited as %+v, want a deny event with the scanner rule", ev.Decision)
	}
	if _, err := e.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcptest.PromptPoisoned}); err == nil {
		t.Error("prompts/get of the hidden prompt succeeded")
	} else if _, d := wireError(t, err); d.Stage != StageScan {
		t.Errorf("denial stage = %q, want %q", d.Stage, StageScan)
	}
	if e.fx.Calls(mcptest.PromptPoisoned) != 0 {
		t.Error("the server served the hidden prompt")
	}
	if r, err := e.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcptest.PromptClean}); err != nil || len(r.Messages) != 1 {
		t.Fatalf("prompts/get %s = %v, %v", mcptest.PromptClean, r, err)
	}
	// The clean prompt was pinned on first use, the poisoned one waits.
	pin, err := e.g.Pins().Get("fixture", PromptPinPrefix+mcptest.PromptClean)
	if err != nil || !pin.Approved() {
		t.Errorf("pin of the clean prompt = %+v, %v; want approved", pin, err)
	}
	pin, err = e.g.Pins().Get("fixture", PromptPinPrefix+mcptest.PromptPoisoned)
	if err != nil || pin.Approved() || pin.PendingHash == "" {
		t.Errorf("pin of the poisoned prompt = %+v, %v; want pending", pin, err)
	}
}

func TestPromptRugPull(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	ctx := t.Context()
	// A different definition of the clean prompt was approved before.
	old, err := promptDefinitionOf(map[string]json.RawMessage{"name": json.RawMessage(`"` + mcptest.PromptClean + `"`),
		"description": json.RawMessage(`"Greets."`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Pins().Check("fixture", []Definition{old}, false, nil); err != nil {
		t.Fatal(err)
	}
	res, err := e.cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Prompts {
		if p.Name == mcptest.PromptClean {
			t.Fatal("a prompt whose definition changed was listed")
		}
	}
	if ev := e.auditedDenials(methodPromptsList)[mcptest.PromptClean]; ev.Decision.Rule != "rug_pull" {
		t.Errorf("changed prompt audited with rule %q, want rug_pull", ev.Decision.Rule)
	}
	if _, err := e.g.Pins().Approve("fixture", PromptPinPrefix+mcptest.PromptClean, ""); err != nil {
		t.Fatal(err)
	}
	res, err = e.cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range res.Prompts {
		found = found || p.Name == mcptest.PromptClean
	}
	if !found {
		t.Error("the approved prompt is still hidden")
	}
	if _, err := e.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcptest.PromptClean}); err != nil {
		t.Errorf("prompts/get after approval: %v", err)
	}
}

func TestResourcesScreened(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	ctx := t.Context()
	res, err := e.cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range res.Resources {
		got[r.URI] = true
	}
	if !got[mcptest.ResourceClean] || got[mcptest.ResourcePoisoned] {
		t.Fatalf("resources = %v, want %s and not %s", got, mcptest.ResourceClean, mcptest.ResourcePoisoned)
	}
	if _, ok := e.auditedDenials(methodResourcesList)[mcptest.ResourcePoisoned]; !ok {
		t.Error("hidden resource not audited")
	}
	if _, err := e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: mcptest.ResourcePoisoned}); err == nil {
		t.Error("resources/read of the hidden resource succeeded")
	}
	if e.fx.Calls(mcptest.ResourcePoisoned) != 0 {
		t.Error("the server served the hidden resource")
	}
	rr, err := e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: mcptest.ResourceClean})
	if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text != mcptest.ResourceCleanText {
		t.Fatalf("resources/read %s = %+v, %v", mcptest.ResourceClean, rr, err)
	}
	tr, err := e.cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]bool{}
	for _, r := range tr.ResourceTemplates {
		got[r.URITemplate] = true
	}
	if !got[mcptest.TemplateClean] || got[mcptest.TemplatePoisoned] {
		t.Fatalf("templates = %v, want %s and not %s", got, mcptest.TemplateClean, mcptest.TemplatePoisoned)
	}
	if _, ok := e.auditedDenials(methodTemplatesList)[mcptest.TemplatePoisoned]; !ok {
		t.Error("hidden resource template not audited")
	}
}

func TestInstructionsScreened(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		instructions string
		mode         ResponseMode
		// want: "same" (passed unchanged), "absent", or "clean" (present,
		// without the injected part).
		want      string
		wantEvent string // the audited action; "" for none
	}{
		{"clean instructions pass", mcptest.CleanInstructions, ResponseSanitize, "same", ""},
		{"sanitize", mcptest.PoisonedInstructions, ResponseSanitize, "clean", "block"},
		{"block removes them", mcptest.PoisonedInstructions, ResponseBlock, "absent", "block"},
		{"warn passes them", mcptest.PoisonedInstructions, ResponseWarn, "same", "warn"},
		{"off passes them unscanned", mcptest.PoisonedInstructions, ResponseOff, "same", ""},
	}
	for _, tt := range tests {
		for _, era := range protocolEras {
			t.Run(tt.name+"/protocol="+cmpOr(era, "latest"), func(t *testing.T) {
				t.Parallel()
				testInstructions(t, era, tt.instructions, tt.mode, tt.want, tt.wantEvent)
			})
		}
	}
}

func testInstructions(t *testing.T, era, instructions string, mode ResponseMode, want, wantEvent string) {
	e := newEnv(t, envConfig{protocol: era, opts: Options{ResponseMode: mode}, fixture: mcptest.Options{Instructions: instructions}})
	got := e.cs.InitializeResult().Instructions
	switch want {
	case "same":
		if got != instructions {
			t.Errorf("instructions = %q, want them unchanged", got)
		}
	case "absent", "clean":
		if strings.Contains(got, "evil.example") || strings.Contains(strings.ToLower(got), "ignore previous") {
			t.Errorf("instructions = %q, want the injection gone", got)
		}
		if want == "absent" && got != "" {
			t.Errorf("instructions = %q, want none", got)
		}
	}
	var actions []string
	for _, ev := range e.events(audit.KindMCPMessage) {
		if ev.Tool == "instructions" {
			actions = append(actions, ev.Decision.Action)
		}
	}
	switch {
	case wantEvent == "" && len(actions) > 0:
		t.Errorf("audited %v, want nothing", actions)
	case wantEvent != "" && (len(actions) != 1 || actions[0] != wantEvent):
		t.Errorf("audited %v, want one %q event", actions, wantEvent)
	}
	// The session goes on.
	if _, err := e.cs.ListTools(t.Context(), nil); err != nil {
		t.Errorf("tools/list after initialize: %v", err)
	}
}

// TestCallNameCaseConfusion: a governed member given twice, or in another
// case, is refused: Go's encoding/json (the Go SDK's servers) matches
// member names case-insensitively and keeps the last, so "Arguments"
// after "arguments" would make the gateway govern one value while the
// server runs another.
func TestCallNameCaseConfusion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{skipClient: true})
	exchange(t, e.raw, initMsg)
	if err := e.raw.Write(t.Context(), []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		t.Fatal(err)
	}
	for i, params := range []string{
		`{"name":"add_numbers","Name":"echo","arguments":{}}`,
		`{"NAME":"echo","name":"add_numbers"}`,
		`{"name":"echo","Arguments":{"msg":"forbidden"},"arguments":{"msg":"hi"}}`,
		`{"name":"echo","arguments":{"msg":"hi"},"Arguments":{"msg":"forbidden"}}`,
		`{"name":"echo","arguments":{"msg":"hi"},"arguments":{"msg":"forbidden"}}`,
		`{"Name":"echo"}`,
	} {
		msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":%s}`, 10+i, params)
		res := exchange(t, e.raw, msg)
		em, _ := res[0]["error"].(map[string]any)
		if code, _ := em["code"].(float64); code != -32602 {
			t.Errorf("%s answered %v, want invalid params", params, res[0])
		}
	}
	if n := e.fx.Calls(mcptest.ToolPoisoned) + e.fx.Calls(mcptest.ToolEcho); n != 0 {
		t.Errorf("the server ran %d ambiguous calls", n)
	}
	res := exchange(t, e.raw, `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"msg":"hi"}}}`)
	r, _ := res[0]["result"].(map[string]any)
	if b, _ := json.Marshal(r); !strings.Contains(string(b), "echo: hi") {
		t.Errorf("echo = %v, want echo: hi", res[0])
	}
}
