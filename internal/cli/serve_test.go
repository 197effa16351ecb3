package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "agentos.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:9000\nlog_level: debug\ndata-dir: from-file\npolicy: [a.yaml, b.yaml]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AGENTOS_LOG_LEVEL": "warn", "AGENTOS_DATA_DIR": "from-env"}
	flags := map[string]string{"data-dir": "from-flag"}
	c, err := resolveServeConfig(file, true, func(k string) string { return env[k] },
		func(n string) (string, bool) { v, ok := flags[n]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want, src string }{
		{"addr", c.Addr, "127.0.0.1:9000", file},
		{"log-level", c.LogLevel, "warn", "env AGENTOS_LOG_LEVEL"},
		{"data-dir", c.DataDir, "from-flag", "flag --data-dir"},
		{"policy", strings.Join(c.Policies, ","), "a.yaml,b.yaml", file},
		{"shutdown-timeout", c.ShutdownTimeout.String(), "30s", "default"},
	}
	for _, tt := range tests {
		if tt.got != tt.want || c.Sources[tt.name] != tt.src {
			t.Errorf("%s = %q from %q, want %q from %q", tt.name, tt.got, c.Sources[tt.name], tt.want, tt.src)
		}
	}
}

func TestServeConfigErrorsNameTheSetting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	none := func(string) (string, bool) { return "", false }
	tests := []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"unknown key", "adr: x\n", nil, "adr: unknown setting"},
		{"bad level", "", map[string]string{"AGENTOS_LOG_LEVEL": "loud"}, "setting log-level"},
		{"bad duration", "shutdown_timeout: soon\n", nil, "setting shutdown-timeout"},
		{"public without tls", "addr: 0.0.0.0:8080\n", nil, "setting addr"},
		{"half tls", "tls_cert: c.pem\n", nil, "tls-cert and tls-key"},
		{"public debug listener", "debug_addr: 0.0.0.0:6060\n", nil, "setting debug-addr"},
		{"debug listener not host:port", "", map[string]string{"AGENTOS_DEBUG_ADDR": "6060"}, "setting debug-addr"},
		{"memory limit not a size", "memory_limit: lots\n", nil, "setting memory-limit"},
		{"memory limit too small", "memory_limit: 1MiB\n", nil, "setting memory-limit"},
		{"release not a boolean", "release_startup_memory: sometimes\n", nil, "setting release-startup-memory"},
		{"public insecure", "", map[string]string{"AGENTOS_ADDR": "10.0.0.1:80", "AGENTOS_TLS_CERT": "c", "AGENTOS_TLS_KEY": "k", "AGENTOS_INSECURE_NO_AUTH": "true"}, "setting addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(file, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := resolveServeConfig(file, true, func(k string) string { return tt.env[k] }, none)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
}

func TestServeMemoryLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	none := func(string) (string, bool) { return "", false }
	tests := []struct {
		name string
		env  map[string]string
		want int64
	}{
		{"default", nil, 40 << 20},
		{"binary unit", map[string]string{"AGENTOS_MEMORY_LIMIT": "64MiB"}, 64 << 20},
		{"decimal unit", map[string]string{"AGENTOS_MEMORY_LIMIT": "100MB"}, 100e6},
		{"bytes", map[string]string{"AGENTOS_MEMORY_LIMIT": "16777216"}, 16 << 20},
		{"off", map[string]string{"AGENTOS_MEMORY_LIMIT": "0"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := resolveServeConfig(filepath.Join(dir, "none.yaml"), false, func(k string) string { return tt.env[k] }, none)
			if err != nil {
				t.Fatal(err)
			}
			if c.MemoryLimit != tt.want {
				t.Errorf("MemoryLimit = %d, want %d", c.MemoryLimit, tt.want)
			}
		})
	}
}

func TestServeReleaseStartupMemory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "agentos.yaml")
	if err := os.WriteFile(file, []byte("release_startup_memory: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, config string
		env, flags   map[string]string
		want         bool
	}{
		{"default", filepath.Join(dir, "none.yaml"), nil, nil, true},
		{"config file", file, nil, nil, false},
		{"env over file", file, map[string]string{"AGENTOS_RELEASE_STARTUP_MEMORY": "true"}, nil, true},
		{"flag over env", file, map[string]string{"AGENTOS_RELEASE_STARTUP_MEMORY": "true"},
			map[string]string{"release-startup-memory": "false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := resolveServeConfig(tt.config, false, func(k string) string { return tt.env[k] },
				func(n string) (string, bool) { v, ok := tt.flags[n]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			if c.ReleaseStartupMemory != tt.want {
				t.Errorf("ReleaseStartupMemory = %v, want %v", c.ReleaseStartupMemory, tt.want)
			}
		})
	}
}

// TestServeBooleanFlags: boolean settings are boolean flags, so the bare
// flag means true and =false turns them off.
func TestServeBooleanFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		name string
		want string
	}{
		{nil, "release-startup-memory", "true"},
		{[]string{"--release-startup-memory=false"}, "release-startup-memory", "false"},
		{nil, "insecure-no-auth", "false"},
		{[]string{"--insecure-no-auth"}, "insecure-no-auth", "true"},
	}
	for _, tt := range tests {
		cmd := newServeCmd()
		if err := cmd.ParseFlags(tt.args); err != nil {
			t.Fatalf("ParseFlags(%q): %v", tt.args, err)
		}
		if got := cmd.Flags().Lookup(tt.name).Value.String(); got != tt.want {
			t.Errorf("after %q, --%s = %s, want %s", tt.args, tt.name, got, tt.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"512", 512, true}, {"4KiB", 4096, true}, {"48MiB", 48 << 20, true}, {"2GiB", 2 << 30, true},
		{"3KB", 3000, true}, {"5MB", 5e6, true}, {"1GB", 1e9, true}, {" 7 MiB ", 7 << 20, true}, {"9B", 9, true},
		{"", 0, false}, {"MiB", 0, false}, {"-1", 0, false}, {"1.5GiB", 0, false}, {"12XB", 0, false},
		{"99999999999GiB", 0, false},
	}
	for _, tt := range tests {
		got, err := parseBytes(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && tt.want > 0 {
			if back, err := parseBytes(formatBytes(got)); err != nil || back != got {
				t.Errorf("parseBytes(formatBytes(%d) = %q) = %d, %v", got, formatBytes(got), back, err)
			}
		}
	}
}

func TestTokenCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(args ...string) (string, int) {
		var out, errb strings.Builder
		code := Main(t.Context(), Env{Args: append(args, "--data-dir", dir), Stdout: &out, Stderr: &errb})
		return out.String() + errb.String(), code
	}
	out, code := run("token", "create", "--role", "agent", "--agent", "a1", "--name", "bot")
	if code != 0 || !strings.Contains(out, "agentos_") {
		t.Fatalf("create: %d %s", code, out)
	}
	secret := ""
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "agentos_") {
			secret = f
		}
	}
	list, code := run("token", "list")
	if code != 0 || !strings.Contains(list, "bot") || strings.Contains(list, secret) {
		t.Fatalf("list: %d %s", code, list)
	}
	if out, code := run("token", "create", "--role", "agent"); code != ExitUsage {
		t.Errorf("agent token without --agent: %d %s", code, out)
	}
	if out, code := run("token", "revoke", "bot"); code != 0 {
		t.Errorf("revoke: %d %s", code, out)
	}
	if out, code := run("token", "revoke", "bot"); code != ExitFailure {
		t.Errorf("revoke again: %d %s", code, out)
	}
}

// FuzzParseBytes: parseBytes never panics, accepts only sizes it can
// represent, and formatBytes of what it accepts parses back to the same.
func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"0", "48MiB", "1GB", "7 KiB", "-1", "1.5GiB", "MiB", "99999999999GiB", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseBytes(s)
		if err != nil {
			return
		}
		if n < 0 || n > 1<<50 {
			t.Fatalf("parseBytes(%q) = %d, outside 0..2^50", s, n)
		}
		if back, err := parseBytes(formatBytes(n)); err != nil || back != n {
			t.Fatalf("parseBytes(formatBytes(%d) = %q) = %d, %v", n, formatBytes(n), back, err)
		}
	})
}
