package mcp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/internal/benchdir"
	"github.com/agentos/agentos/mcp/mcptest"
)

// fixtureEnv, set to "stdio" in the environment of this test binary, makes
// it the fixture MCP server on its standard input and output, so that
// benchmarks can run the server as a process of its own, as users do.
const fixtureEnv = "AGENTOS_MCP_TEST_FIXTURE"

func TestMain(m *testing.M) {
	if os.Getenv(fixtureEnv) == "stdio" {
		fx := mcptest.New(mcptest.Options{})
		if err := fx.Server.Run(context.Background(), &sdk.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, "fixture server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkWrapProcess measures what a user of `agentos mcp wrap` sees:
// the real agentos binary as a process between an SDK client and the
// fixture server, itself a process (this test binary), with the durable
// SQLite audit log in a data directory, against the same client talking to
// its own fixture server process directly; calls alternate between the
// two (see benchPaired).
func BenchmarkWrapProcess(b *testing.B) {
	agentos := buildAgentos(b)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	dir := benchdir.Dir(b, os.Getenv(benchdir.Env))
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(testPolicy), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var cmds []*exec.Cmd
	connect := func(argv ...string) *sdk.ClientSession {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmds = append(cmds, cmd)
		cmd.Env = append(os.Environ(), fixtureEnv+"=stdio")
		cmd.Stderr = os.Stderr
		cs, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).
			Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cs.Close() })
		return cs
	}
	direct := connect(self)
	wrapped := connect(agentos, "mcp", "wrap", "--policy", pol, "--data-dir", filepath.Join(dir, "data"),
		"--server-name", "fixture", "--", self)
	if _, err := wrapped.ListTools(ctx, nil); err != nil {
		b.Fatal(err)
	}
	benchPaired(b, direct, wrapped, map[string]any{"msg": "hello"})
	// The CPU time each process spent per call, user and system, from its
	// exit status: steadier than wall-clock time on a shared machine. The
	// agentos process's is the gateway's whole cost per call, the durable
	// audit append included; the direct server's is for scale.
	b.StopTimer()
	direct.Close()
	wrapped.Close()
	for i, unit := range []string{"server-cpu-ns/op", "agentos-cpu-ns/op"} {
		if st := cmds[i].ProcessState; st != nil {
			b.ReportMetric(float64((st.UserTime()+st.SystemTime()).Nanoseconds())/float64(b.N), unit)
		}
	}
}
