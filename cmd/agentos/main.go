// Command agentos is the agentos governance kernel: a CLI, a governance
// daemon and an MCP governance gateway in one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/agentos/agentos/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{
		Args:    os.Args[1:],
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Version: version,
	})
	stop()
	os.Exit(code)
}
