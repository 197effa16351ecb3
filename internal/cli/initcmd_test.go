package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestInitTemplatesValidate(t *testing.T) {
	t.Parallel()
	for _, tmpl := range []string{"strict", "permissive", "audit"} {
		t.Run(tmpl, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			code, out, errOut := run(t, "", "init", "--path", dir, "--template", tmpl)
			if code != ExitOK || !strings.Contains(out, "Initialized Agent OS in") || !strings.Contains(out, "Template: "+tmpl) {
				t.Fatalf("init: exit %d stdout %q stderr %q", code, out, errOut)
			}
			agents := filepath.Join(dir, ".agents")
			// The policy is a valid agentos policy document.
			code, out, errOut = run(t, "", "validate", filepath.Join(agents, "policy.yaml"))
			if code != ExitOK {
				t.Fatalf("validate generated policy: exit %d\n%s%s", code, out, errOut)
			}
			code, _, _ = run(t, "", "policy", "validate", filepath.Join(agents, "policy.yaml"))
			if code != ExitOK {
				t.Errorf("policy validate: exit %d", code)
			}
			// security.md is valid YAML (the reference wrote an unquoted *).
			data, err := os.ReadFile(filepath.Join(agents, "security.md"))
			if err != nil {
				t.Fatal(err)
			}
			var sec map[string]any
			if err := yaml.Unmarshal(data, &sec); err != nil {
				t.Fatalf("security.md is not valid YAML: %v", err)
			}
			if sec["kernel"].(map[string]any)["mode"] != tmpl {
				t.Errorf("security.md mode = %v", sec["kernel"])
			}
			if _, err := os.Stat(filepath.Join(agents, "agents.md")); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestInitExistingAndErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _, _ := run(t, "", "init", "--path", dir); code != ExitOK {
		t.Fatalf("first init: exit %d", code)
	}
	code, _, errOut := run(t, "", "init", "--path", dir)
	if code != ExitFailure || !strings.Contains(errOut, "already exists") || !strings.Contains(errOut, "--force") {
		t.Errorf("second init: exit %d stderr %q", code, errOut)
	}
	code, out, _ := run(t, "", "init", "--path", dir, "--json")
	var js map[string]string
	if code != ExitFailure || json.Unmarshal([]byte(out), &js) != nil || js["status"] != "error" {
		t.Errorf("second init --json: exit %d stdout %q", code, out)
	}
	code, out, _ = run(t, "", "init", "--path", dir, "--force", "--template", "audit", "--json")
	if code != ExitOK || !strings.Contains(out, `"status": "success"`) {
		t.Errorf("init --force: exit %d stdout %q", code, out)
	}
	if code, _, _ = run(t, "", "init", "--path", dir, "--force", "--template", "lax"); code != ExitUsage {
		t.Errorf("unknown template: exit %d, want %d", code, ExitUsage)
	}
}
