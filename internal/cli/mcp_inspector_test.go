package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/mcp/mcptest"
)

// Pinned npm packages of the inspector end-to-end test (versions from npm
// view).
var inspectorPackages = []string{
	"@modelcontextprotocol/inspector@2.12.0",
	"@modelcontextprotocol/server-everything@2026.8.31",
}

// inspectorPolicy hides get-env, denies echoing "forbidden" and denies
// reading one of the server's documents.
const inspectorPolicy = `version: "1.0"
name: inspector-e2e
defaults:
  action: allow
rules:
  - name: no-env
    condition: {field: tool_name, operator: eq, value: get-env}
    action: deny
    message: the environment is private
  - name: no-forbidden-echo
    condition: {field: args.message, operator: eq, value: forbidden}
    action: deny
    message: that message is forbidden
  - name: no-architecture-doc
    condition: {field: args.uri, operator: matches, value: '/architecture\.md$'}
    action: deny
    message: the architecture document is internal
`

// TestE2EInspectorThroughWrap drives server-everything through agentos
// mcp wrap with the MCP inspector's CLI mode, as a user would debug a
// wrapped server.
func TestE2EInspectorThroughWrap(t *testing.T) {
	t.Parallel()
	prefix := mcptest.NPMPrefix(t, inspectorPackages...)
	inspector := filepath.Join(prefix, "node_modules", ".bin", "mcp-inspector")
	server := filepath.Join(prefix, "node_modules", ".bin", "mcp-server-everything")
	dir := t.TempDir()
	pol := writeFile(t, dir, "policy.yaml", inspectorPolicy)

	// inspect runs the inspector CLI against the wrapped server and
	// returns its JSON output (stdout from the first '{').
	inspect := func(t *testing.T, args ...string) (map[string]any, int, string) {
		t.Helper()
		// The inspector gives the server only the environment named with
		// -e, so the role of this test binary is passed that way.
		argv := append([]string{"--cli", "-e", envRoleMain + "=1"}, args...)
		argv = append(argv, "--", os.Args[0], "mcp", "wrap", "--data-dir", filepath.Join(dir, "data"), "--policy", pol,
			"--server-name", "everything", "--", "node", server)
		cmd := exec.CommandContext(t.Context(), inspector, argv...)
		cmd.Env = append(os.Environ(), "MCP_CATALOG_PATH="+filepath.Join(t.TempDir(), "catalog.json"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		// Do not wait on the output pipes for a server that outlives the
		// inspector (wrap ends it when its stdin closes).
		cmd.WaitDelay = 10 * time.Second
		err := cmd.Run()
		if errors.Is(err, exec.ErrWaitDelay) {
			// The inspector exited (successfully) but a grandchild still
			// held its output pipes when WaitDelay ran out: on a loaded
			// machine wrap's stop ladder for the server can take longer.
			// What the inspector printed has been read.
			err = nil
		}
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("inspector: %v", err)
		}
		// The result is on stdout; an error is one JSON line on stderr.
		out := stdout.Bytes()
		if i := bytes.IndexByte(out, '{'); i >= 0 {
			out = out[i:]
		} else {
			for _, line := range strings.Split(stderr.String(), "\n") {
				if strings.HasPrefix(line, `{"error"`) {
					out = []byte(line)
				}
			}
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("inspector output %q (exit %d) is not JSON: %v\nstderr: %s", stdout.String(), code, err, stderr.String())
		}
		return v, code, stderr.String()
	}

	t.Run("tools/list", func(t *testing.T) {
		t.Parallel()
		v, code, stderr := inspect(t, "--method", "tools/list")
		tools, _ := v["tools"].([]any)
		var names []string
		for _, tl := range tools {
			m, _ := tl.(map[string]any)
			n, _ := m["name"].(string)
			names = append(names, n)
		}
		if code != 0 || !slices.Contains(names, "echo") || !slices.Contains(names, "get-sum") || slices.Contains(names, "get-env") {
			t.Errorf("tools/list through wrap (exit %d) = %v; want echo and get-sum, not get-env\nstderr: %s", code, names, stderr)
		}
	})
	t.Run("tools/call allowed", func(t *testing.T) {
		t.Parallel()
		v, code, stderr := inspect(t, "--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=hi")
		b, _ := json.Marshal(v["content"])
		if code != 0 || !strings.Contains(string(b), "Echo: hi") || v["isError"] == true {
			t.Errorf("echo through wrap (exit %d) = %v\nstderr: %s", code, v, stderr)
		}
	})
	t.Run("resources/read allowed", func(t *testing.T) {
		t.Parallel()
		v, code, stderr := inspect(t, "--method", "resources/read", "--uri", "demo://resource/static/document/features.md")
		b, _ := json.Marshal(v["contents"])
		if code != 0 || !strings.Contains(string(b), "features.md") {
			t.Errorf("read through wrap (exit %d) = %v\nstderr: %s", code, v, stderr)
		}
	})
	t.Run("resources/read denied", func(t *testing.T) {
		t.Parallel()
		v, code, stderr := inspect(t, "--method", "resources/read", "--uri", "demo://resource/static/document/architecture.md")
		b, _ := json.Marshal(v)
		if code == 0 || !strings.Contains(string(b), "the architecture document is internal") {
			t.Errorf("denied read through wrap (exit %d) = %s; want the policy's denial\nstderr: %s", code, b, stderr)
		}
	})
	t.Run("tools/call denied", func(t *testing.T) {
		t.Parallel()
		v, code, stderr := inspect(t, "--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=forbidden")
		b, _ := json.Marshal(v)
		if code == 0 || !strings.Contains(string(b), "that message is forbidden") {
			t.Errorf("forbidden echo through wrap (exit %d) = %s; want the policy's denial\nstderr: %s", code, b, stderr)
		}
	})
}
