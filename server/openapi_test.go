package server

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
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
