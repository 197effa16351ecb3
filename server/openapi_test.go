package server

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/agentos/agentos/approval"
)

// TestOpenAPIParity checks that every route in docs/openapi.yaml is
// served and every served route is in the spec.
func TestOpenAPIParity(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1", spec.OpenAPI)
	}
	var inSpec []string
	for p, ops := range spec.Paths {
		for m := range ops {
			inSpec = append(inSpec, strings.ToUpper(m)+" "+p)
		}
	}
	e := newEnv(t, envOpts{})
	var served []string
	for _, rt := range e.s.routes {
		p := rt.path
		if p == "/{$}" {
			p = "/"
		}
		served = append(served, rt.method+" "+p)
	}
	slices.Sort(inSpec)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(inSpec, r) {
			t.Errorf("served but not in docs/openapi.yaml: %s", r)
		}
	}
	for _, r := range inSpec {
		if !slices.Contains(served, r) {
			t.Errorf("in docs/openapi.yaml but not served: %s", r)
		}
	}
}

// TestOpenAPISchemasMatchTypes checks that the schemas of the approval
// API in docs/openapi.yaml list exactly the JSON members of the Go types
// they describe, so a new member (such as args_preview) cannot go
// undocumented.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		schema string
		v      any
	}{
		{"SubmitApprovalRequest", SubmitApprovalRequest{}},
		{"ConsumeApprovalRequest", ConsumeApprovalRequest{}},
		{"CancelApprovalRequest", CancelApprovalRequest{}},
		{"VoteRequest", VoteRequest{}},
		{"CheckRequest", CheckRequest{}},
		{"ApprovalRequest", approval.Request{}},
		{"ApprovalVote", approval.Vote{}},
		{"ApprovalTicket", approval.Ticket{}},
	}
	for _, tt := range tests {
		s, ok := spec.Components.Schemas[tt.schema]
		if !ok {
			t.Errorf("docs/openapi.yaml has no schema %s", tt.schema)
			continue
		}
		var inSpec, inGo []string
		for p := range s.Properties {
			inSpec = append(inSpec, p)
		}
		rt := reflect.TypeOf(tt.v)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				inGo = append(inGo, name)
			}
		}
		slices.Sort(inSpec)
		slices.Sort(inGo)
		if !slices.Equal(inSpec, inGo) {
			t.Errorf("schema %s lists %v; %T has %v", tt.schema, inSpec, tt.v, inGo)
		}
	}
}
