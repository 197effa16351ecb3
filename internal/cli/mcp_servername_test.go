package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerNameOfPackageScripts(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, content string) string {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fsIndex := write("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", "")
	write("node_modules/@modelcontextprotocol/server-filesystem/package.json", `{"name":"@modelcontextprotocol/server-filesystem","version":"1.0.0"}`)
	noPkg := write("tools/weather-server/build/main.js", "")
	bare := write("tools/git-helper/index.js", "")
	badPkg := write("evil/pkg/lib/cli.mjs", "")
	write("evil/pkg/package.json", `{"name":"../../etc\u0000"}`)
	deep := write("mono/packages/search/src/server/index.js", "")
	write("mono/packages/search/package.json", `{"name":"search-mcp"}`)
	specific := write("mono/packages/search/dist/search.js", "")
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{"scoped package.json name", []string{"node", fsIndex, root}, "server-filesystem"},
		{"package directory without package.json", []string{"node", noPkg}, "weather-server"},
		{"generic script in the package directory", []string{"node", bare}, "git-helper"},
		{"unusable package.json name: directory", []string{"node", badPkg}, "pkg"},
		{"package.json three levels up", []string{"node", deep}, "search-mcp"},
		{"a specific script name is kept", []string{"node", specific}, "search"},
		{"relative generic script with nothing to name it", []string{"node", "build/index.js"}, "index"},
		{"npx package", []string{"npx", "-y", "@modelcontextprotocol/server-filesystem@2026.8.31", "/srv"}, "server-filesystem"},
		{"python module script", []string{"python3", "/opt/mcp/fetcher/src/main.py"}, "fetcher"},
		{"plain program", []string{"/usr/local/bin/my-server", "--flag"}, "my-server"},
	}
	for _, tt := range tests {
		if got := serverNameOf(tt.argv); got != tt.want {
			t.Errorf("%s: serverNameOf(%q) = %q, want %q", tt.name, tt.argv, got, tt.want)
		}
	}
}

// TestWrapApproveViaDaemonFlags: --approve-via daemon refuses a bad URL,
// a missing token and mixed channels before starting the server.
func TestWrapApproveViaDaemonFlags(t *testing.T) {
	dir := t.TempDir()
	pol := writeFile(t, dir, "p.yaml", "version: \"1.0\"\nname: p\ndefaults: {action: allow}\n")
	base := []string{"mcp", "wrap", "--data-dir", filepath.Join(dir, "data"), "--policy", pol}
	tests := []struct {
		name, token string
		flags       []string
		want        string
	}{
		{"no token", "", []string{"--approve-via", "daemon", "--daemon-url", "http://127.0.0.1:1"}, "$AGENTOS_DAEMON_TOKEN is not set: create a token with 'agentos token create --role agent --agent mcp-client'"},
		{"plain http to another host", "agentos_x", []string{"--approve-via", "daemon", "--daemon-url", "http://192.0.2.1:8080"}, "loopback"},
		{"no URL", "agentos_x", []string{"--approve-via", "daemon"}, "daemon URL is required"},
		{"URL without daemon", "agentos_x", []string{"--daemon-url", "http://127.0.0.1:1"}, "only with --approve-via daemon"},
		{"webhook too", "agentos_x", []string{"--approve-via", "daemon", "--daemon-url", "http://127.0.0.1:1", "--approve-webhook", "https://hooks.example"}, "exclude each other"},
		{"unknown channel", "agentos_x", []string{"--approve-via", "carrier-pigeon"}, "want elicitation or daemon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(daemonTokenEnv, tt.token)
			args := append(append(append([]string{}, base...), tt.flags...), "--", "true")
			code, _, stderr := run(t, "", args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", code, stderr, ExitUsage, tt.want)
			}
			if strings.Contains(stderr, "agentos_x") {
				t.Errorf("stderr shows the token: %q", stderr)
			}
		})
	}
}
