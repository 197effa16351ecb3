package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/mcp"
	"github.com/agentos/agentos/policy"
)

type mcpServeParams struct {
	src      policySource
	dataDir  string
	listen   string
	tlsCert  string
	tlsKey   string
	logLevel string
	noAudit  bool
}

func newMCPServeCmd() *cobra.Command {
	var p mcpServeParams
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR]",
		Short: "Serve the kernel itself as an MCP server (check policy, verify code, scan text, query audit)",
		Long: "serve runs the agentos kernel's own MCP server: tools check_policy,\n" +
			"verify_code_safety, scan_text and get_audit_log, prompts governed_agent,\n" +
			"verify_claim and safe_execution, and the resource template audit://{agent_id}/log.\n" +
			"It speaks stdio by default, Streamable HTTP with --listen (loopback, or TLS).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMCPServe(cmd.Context(), p, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	p.src.addFlags(f)
	f.StringVar(&p.dataDir, "data-dir", "", "data directory whose audit log get_audit_log reads (default $"+dataDirEnv+" or ~/.agentos)")
	f.BoolVar(&p.noAudit, "no-audit", false, "do not open the audit log (get_audit_log then reports none)")
	f.StringVar(&p.listen, "listen", "", "serve Streamable HTTP on this address instead of stdio")
	f.StringVar(&p.tlsCert, "tls-cert", "", "TLS certificate file (required off loopback)")
	f.StringVar(&p.tlsKey, "tls-key", "", "TLS key file")
	f.StringVar(&p.logLevel, "log-level", "warn", "stderr log level")
	return cmd
}

func runMCPServe(ctx context.Context, p mcpServeParams, stdin io.Reader, stdout, stderr io.Writer) error {
	logger, err := newLogger(p.logLevel, stderr)
	if err != nil {
		return err
	}
	set, _, err := p.src.load()
	if err != nil {
		if printProblems(stderr, "", err) {
			return silentExit(ExitUsage)
		}
		return err
	}
	engine := policy.NewEngine(policy.EngineOptions{})
	engine.Swap(set)
	inj, err := detect.NewInjection(detect.InjectionOptions{})
	if err != nil {
		return err
	}
	secrets := detect.NewSecrets(detect.SecretsOptions{})
	opts := mcp.KernelServerOptions{Policy: engine, Version: "agentos",
		CodeScanners: []mcp.TextScanner{detect.NewDangerous(detect.DangerousOptions{}), secrets},
		TextScanners: []mcp.TextScanner{inj, secrets}}
	if !p.noAudit {
		dir, err := resolveDataDir(p.dataDir)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return exitf(ExitFailure, "data directory: %v", err)
		}
		store, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(dir, auditFileName), Logger: logger})
		if err != nil {
			return exitf(ExitFailure, "audit log: %v", err)
		}
		defer store.Close()
		alog, err := audit.Open(ctx, audit.Options{Store: store, Dir: dir, Logger: logger})
		if err != nil {
			return exitf(ExitFailure, "audit log: %v", err)
		}
		defer alog.Close()
		opts.Audit = alog
	}
	srv, err := mcp.NewKernelServer(opts)
	if err != nil {
		return err
	}
	if p.listen == "" {
		err := srv.Run(ctx, &sdk.IOTransport{Reader: io.NopCloser(stdin), Writer: nopWriteCloser{stdout}})
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
			return exitf(ExitFailure, "serve: %v", err)
		}
		return nil
	}
	host, _, err := net.SplitHostPort(p.listen)
	if err != nil {
		return exitf(ExitUsage, "--listen %q: %v", p.listen, err)
	}
	tls := p.tlsCert != "" && p.tlsKey != ""
	if !mcp.IsLoopback(host) && !tls {
		return exitf(ExitUsage, "--listen %s: %v (pass --tls-cert and --tls-key)", p.listen, mcp.ErrInsecureListen)
	}
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, &sdk.StreamableHTTPOptions{Logger: logger})
	ln, err := net.Listen("tcp", p.listen)
	if err != nil {
		return exitf(ExitFailure, "listen: %v", err)
	}
	hs := &http.Server{Handler: http.NewCrossOriginProtection().Handler(h), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "agentos mcp serve: listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() {
		if tls {
			errc <- hs.ServeTLS(ln, p.tlsCert, p.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return exitf(ExitFailure, "serve: %v", err)
		}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}
	return nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
