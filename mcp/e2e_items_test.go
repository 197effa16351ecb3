package mcp

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/audit"
)

// e2eItemsPolicy denies one of server-everything's static documents, its
// blob resource template and one of its prompts; everything else is
// allowed.
const e2eItemsPolicy = `version: "1.0"
name: e2e-items
defaults:
  action: allow
rules:
  - name: no-architecture-doc
    condition: {field: args.uri, operator: matches, value: '/architecture\.md$'}
    action: deny
    message: the architecture document is internal
  - name: no-blobs
    condition: {field: args.uri, operator: matches, value: '^demo://resource/dynamic/blob/'}
    action: deny
    message: no binary resources
  - name: no-simple-prompt
    conditions:
      - {field: tool_name, operator: eq, value: prompts/get}
      - {field: args.name, operator: eq, value: simple-prompt}
    action: deny
    message: the simple prompt is retired
`

// TestE2EPolicyResources runs server-everything through the gateway under
// a policy about its resources and prompts: what the policy denies is
// missing from the lists, and reading or getting it is denied at stage
// policy naming the rule, before or by the kernel.
func TestE2EPolicyResources(t *testing.T) {
	prefix := e2ePrefix(t)
	bin := filepath.Join(prefix, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// What the server lists directly.
	dc, err := sdk.NewClient(&sdk.Implementation{Name: "direct", Version: "1"}, nil).
		Connect(ctx, &sdk.CommandTransport{Command: exec.CommandContext(ctx, "node", bin, "stdio")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var direct []string
	for r, err := range dc.Resources(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		direct = append(direct, r.URI)
	}
	dc.Close()
	const doc = "demo://resource/static/document/architecture.md"
	if !slices.Contains(direct, doc) {
		t.Fatalf("server-everything does not list %s: %v", doc, direct)
	}

	g, log := e2eGatewayWith(t, e2eItemsPolicy)
	cs, _ := stdioThroughGateway(t, g, "everything", []string{"node", bin, "stdio"})
	var via []string
	for r, err := range cs.Resources(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		via = append(via, r.URI)
	}
	if slices.Contains(via, doc) || len(via) == 0 {
		t.Fatalf("through the gateway %v, want the documents without %s", via, doc)
	}
	for _, uri := range via {
		if !slices.Contains(direct, uri) {
			t.Errorf("%s listed through the gateway but not directly", uri)
		}
	}
	if !slices.Contains(via, "demo://resource/static/document/features.md") {
		t.Errorf("features.md missing through the gateway: %v", via)
	}
	rr, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "demo://resource/static/document/features.md"})
	if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text == "" {
		t.Fatalf("read of an allowed document = %+v, %v", rr, err)
	}
	denials := []struct{ name, uri, rule string }{
		{"hidden document", doc, "no-architecture-doc"},
		{"a trailing dot segment", doc + "/.", "ambiguous_uri"},
		{"an encoded dot", "demo://resource/static/document/architecture%2Emd", "ambiguous_uri"},
		{"the same rule either way", "demo://resource/static/document/features.md/../architecture.md", "no-architecture-doc"},
		{"blob template", "demo://resource/dynamic/blob/1", "no-blobs"},
	}
	for _, d := range denials {
		_, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: d.uri})
		wantItemDenied(t, d.name, err, StagePolicy, d.rule)
	}
	if rr, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "demo://resource/dynamic/text/1"}); err != nil || len(rr.Contents) != 1 {
		t.Errorf("read through the text template = %+v, %v", rr, err)
	}
	templates := map[string]bool{}
	for rt, err := range cs.ResourceTemplates(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		templates[rt.URITemplate] = true
	}
	if templates["demo://resource/dynamic/blob/{resourceId}"] || !templates["demo://resource/dynamic/text/{resourceId}"] {
		t.Errorf("templates through the gateway = %v, want the text one only", templates)
	}
	var prompts []string
	for p, err := range cs.Prompts(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		prompts = append(prompts, p.Name)
	}
	if slices.Contains(prompts, "simple-prompt") || len(prompts) == 0 {
		t.Errorf("prompts through the gateway = %v, want them without simple-prompt", prompts)
	}
	_, err = cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: "simple-prompt"})
	wantItemDenied(t, "prompts/get simple-prompt", err, StagePolicy, "no-simple-prompt")

	// The hidden document is audited like a hidden tool; the blob read
	// was the kernel's decision.
	var hiddenDoc, kernelBlob bool
	for _, ev := range log.Events(0, uint64(log.Len())) {
		var args struct{ Method, Stage, URI string }
		_ = json.Unmarshal(ev.Args, &args)
		switch {
		case ev.Kind == audit.KindMCPMessage && args.Method == methodResourcesList && ev.Tool == doc:
			hiddenDoc = args.Stage == StagePolicy && ev.Decision.Rule == "no-architecture-doc"
		case ev.Kind == audit.KindToolCall && ev.Tool == ToolResourcesRead && strings.Contains(args.URI, "/blob/"):
			kernelBlob = !ev.Decision.Allowed && ev.Decision.Rule == "no-blobs"
		}
	}
	if !hiddenDoc || !kernelBlob {
		t.Errorf("audit: hidden document recorded %v, kernel denial of the blob read %v", hiddenDoc, kernelBlob)
	}
}
