package mcp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/mcp/mcptest"
)

func TestTemplateRuleMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tmpl, uri string
		want      bool
	}{
		{"fixture://secrets/{name}", "fixture://secrets/key", true},
		{"fixture://secrets/{name}", "fixture://secrets/a%2Fb", true},
		{"fixture://secrets/{name}", "fixture://secrets/a/b", true}, // lenient servers route it (loose form)
		{"fixture://secrets/{name}", "fixture://secrets/a:b", true},
		{"fixture://secrets/{name}", "fixture://records/1", false},
		{"fixture://secrets/{name}", "fixture://secrets", false},
		{"fixture://secrets/{name}", "xfixture://secrets/key", false},
		{"file:///{+path}", "file:///etc/passwd", true},
		{"file:///logs{/year,month}", "file:///logs/2026/07", true},
		{"file:///logs{/year,month}", "file:///other", false},
		{"db://{table}{?limit}", "db://users?limit=3", true},
		{"db://{table}{?limit}", "db://users", true},
		// A template that does not parse matches its literal prefix.
		{"bad://x/{unclosed", "bad://x/anything", true},
		{"bad://x/{unclosed", "good://x", false},
	}
	for _, tt := range tests {
		d := &DenialError{Stage: StageScan}
		if got := newTemplateRule(tt.tmpl, d).matches(tt.uri); got != tt.want {
			t.Errorf("template %q matches %q = %v, want %v", tt.tmpl, tt.uri, got, tt.want)
		}
	}
}

func TestReservedForm(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a://{x}/{y}":       "a://{+x}/{+y}",
		"a://{+x}{/y}":      "a://{+x}{/y}",
		"a://{#f}{?q,r}":    "a://{#f}{?q,r}",
		"no-expressions":    "no-expressions",
		"trailing{":         "trailing{",
		"a://{x}{.ext}{;p}": "a://{+x}{.ext}{;p}",
	} {
		if got := reservedForm(in); got != want {
			t.Errorf("reservedForm(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHiddenTemplateDenied: a URI matching a template the gateway hid is
// denied like a hidden tool, and never reaches the server.
func TestHiddenTemplateDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	ctx := t.Context()
	if _, err := e.cs.ListResourceTemplates(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"fixture://secrets/key", "fixture://secrets/a%2Fb"} {
		_, err := e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
		if err == nil {
			t.Fatalf("resources/read %s through a hidden template succeeded", uri)
		}
		we, d := wireError(t, err)
		if we.Code != CodeDenied || d.Stage != StageScan || d.Rule == "" || !strings.Contains(d.Reason, mcptest.TemplatePoisoned) {
			t.Errorf("read %s denied with %d %+v, want %d at stage scan naming the template and rule", uri, we.Code, d, CodeDenied)
		}
	}
	if n := e.fx.Calls(mcptest.TemplatePoisoned); n != 0 {
		t.Errorf("the server served the hidden template %d times", n)
	}
	rr, err := e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "fixture://records/7"})
	if err != nil || len(rr.Contents) != 1 {
		t.Fatalf("read through the clean template = %+v, %v", rr, err)
	}
	if ev, ok := e.auditedDenials(methodResourcesRead)[methodResourcesRead]; !ok || ev.Decision.Rule == "" {
		t.Errorf("denied read audited as %+v, want a deny event with the rule", ev.Decision)
	}
}

// TestOverlappingTemplatesFailClosed: a URI matching both an allowed and
// a hidden template is denied.
func TestOverlappingTemplatesFailClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{fixture: mcptest.Options{OverlappingTemplate: true}})
	ctx := t.Context()
	tr, err := e.cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rt := range tr.ResourceTemplates {
		found = found || rt.URITemplate == mcptest.TemplateOverlap
	}
	if !found {
		t.Fatalf("the clean overlapping template is not listed: %+v", tr.ResourceTemplates)
	}
	_, err = e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "fixture://secrets/key"})
	if err == nil {
		t.Fatal("a URI matching a hidden and an allowed template was read")
	}
	if _, d := wireError(t, err); !strings.Contains(d.Reason, mcptest.TemplateOverlap) {
		t.Errorf("reason %q does not name the allowed template too", d.Reason)
	}
	if n := e.fx.Calls(mcptest.TemplatePoisoned) + e.fx.Calls(mcptest.TemplateOverlap); n != 0 {
		t.Errorf("the server served %d ambiguous reads", n)
	}
	if rr, err := e.cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "fixture://other/1"}); err != nil || rr.Contents[0].Text != "any" {
		t.Errorf("read through the overlapping template only = %+v, %v", rr, err)
	}
}

// TestPreListing: requests arriving before the client listed anything are
// governed as if it had: the gateway lists (every page) first.
func TestPreListing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		run     func(e *env) error
		allowed bool
		count   string // the fixture counter that must stay 0 when denied
	}{
		{"hidden prompt", func(e *env) error {
			_, err := e.cs.GetPrompt(e.t.(*testing.T).Context(), &sdk.GetPromptParams{Name: mcptest.PromptPoisoned})
			return err
		}, false, mcptest.PromptPoisoned},
		{"unlisted prompt", func(e *env) error {
			_, err := e.cs.GetPrompt(e.t.(*testing.T).Context(), &sdk.GetPromptParams{Name: "no_such_prompt"})
			return err
		}, false, "no_such_prompt"},
		{"clean prompt", func(e *env) error {
			_, err := e.cs.GetPrompt(e.t.(*testing.T).Context(), &sdk.GetPromptParams{Name: mcptest.PromptClean})
			return err
		}, true, ""},
		{"hidden resource", func(e *env) error {
			_, err := e.cs.ReadResource(e.t.(*testing.T).Context(), &sdk.ReadResourceParams{URI: mcptest.ResourcePoisoned})
			return err
		}, false, mcptest.ResourcePoisoned},
		{"hidden template", func(e *env) error {
			_, err := e.cs.ReadResource(e.t.(*testing.T).Context(), &sdk.ReadResourceParams{URI: "fixture://secrets/id_rsa"})
			return err
		}, false, mcptest.TemplatePoisoned},
		{"clean resource", func(e *env) error {
			_, err := e.cs.ReadResource(e.t.(*testing.T).Context(), &sdk.ReadResourceParams{URI: mcptest.ResourceClean})
			return err
		}, true, ""},
		{"hidden tool", func(e *env) error {
			_, err := e.cs.CallTool(e.t.(*testing.T).Context(), &sdk.CallToolParams{Name: mcptest.ToolPoisoned})
			return err
		}, false, mcptest.ToolPoisoned},
		{"clean tool", func(e *env) error {
			r, err := e.cs.CallTool(e.t.(*testing.T).Context(), &sdk.CallToolParams{Name: mcptest.ToolEcho, Arguments: map[string]any{"msg": "x"}})
			if err == nil && r.IsError {
				t.Errorf("echo: %s", resultText(r))
			}
			return err
		}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Small pages: the gateway must follow the cursors.
			e := newEnv(t, envConfig{fixture: mcptest.Options{PageSize: 1}})
			err := tt.run(e)
			if tt.allowed {
				if err != nil {
					t.Fatalf("allowed request failed: %v", err)
				}
			} else {
				if err == nil {
					t.Fatal("request before any listing was not denied")
				}
				if we, _ := wireError(t, err); we.Code != CodeDenied {
					t.Errorf("code = %d, want %d", we.Code, CodeDenied)
				}
				if n := e.fx.Calls(tt.count); n != 0 {
					t.Errorf("the server served it %d times", n)
				}
			}
			// The gateway listed on its own: its list events are audited.
			listed := false
			for _, ev := range e.events(audit.KindMCPMessage) {
				var args struct{ Stage string }
				_ = json.Unmarshal(ev.Args, &args)
				listed = listed || args.Stage == "list"
			}
			if !listed {
				t.Error("no list event audited: the gateway did not list first")
			}
		})
	}
}

// TestItemsRelistAfterListChanged: after the server says its prompts
// changed, the next prompts/get lists them again.
func TestItemsRelistAfterListChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	ctx := t.Context()
	if _, err := e.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcptest.PromptClean}); err != nil {
		t.Fatal(err)
	}
	lists := func() int {
		n := 0
		for _, ev := range e.events(audit.KindMCPMessage) {
			var args struct{ Method, Stage string }
			_ = json.Unmarshal(ev.Args, &args)
			if args.Method == methodPromptsList && args.Stage == "list" {
				n++
			}
		}
		return n
	}
	before := lists()
	// A new prompt appears; the SDK server notifies list_changed.
	e.fx.Server.AddPrompt(&sdk.Prompt{Name: "late", Description: "Added later."},
		func(_ context.Context, _ *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
			return &sdk.GetPromptResult{Messages: []*sdk.PromptMessage{{Role: "user", Content: &sdk.TextContent{Text: "late"}}}}, nil
		})
	if _, err := e.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: "late"}); err != nil {
		t.Fatalf("prompts/get of a prompt added later: %v", err)
	}
	if lists() <= before {
		t.Error("the prompts were not listed again")
	}
}
