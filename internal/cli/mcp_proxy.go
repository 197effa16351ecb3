package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentos/agentos/mcp"
)

// tokenEnv names the environment variable that may hold the proxy's
// bearer token (safer than --token, which other users can see).
const tokenEnv = "AGENTOS_MCP_TOKEN"

type proxyParams struct {
	wrapParams
	listen         string
	upstream       string
	token          string
	tokenFile      string
	noAuth         bool
	origins        []string
	tlsCert        string
	tlsKey         string
	resourceURL    string
	authzServers   []string
	maxBody        int64
	upstreamHeader []string
	idleTimeout    time.Duration
}

func newMCPProxyCmd() *cobra.Command {
	var p proxyParams
	cmd := &cobra.Command{
		Use:   "proxy --upstream URL [--listen ADDR]",
		Short: "Govern a Streamable HTTP MCP server as an authenticating reverse proxy",
		Long: "proxy listens for MCP clients over Streamable HTTP and forwards to the server at\n" +
			"--upstream, governing every message as wrap does. Clients authenticate with a bearer\n" +
			"token (--token-file, $" + tokenEnv + ", --token; without any, a random token is\n" +
			"generated and printed to stderr); their token is never forwarded upstream. Browser\n" +
			"origins other than --allow-origin (default: loopback only) get 403. It listens on\n" +
			"loopback unless --listen names another address, which requires --tls-cert and --tls-key.\n" +
			"Both protocol eras are served: sessions (2024-11-05 to 2025-11-25) and stateless\n" +
			"2026-07-28, whose Mcp-Method and Mcp-Name headers are checked against the body.\n\n" +
			"require_approval rules deny unless --approve-webhook is given (each request is\n" +
			"posted to the webhook and waits for 'agentos mcp approve ID') or --approve-via\n" +
			"elicitation: then a client that supports MCP elicitation asks its user (session\n" +
			"clients get elicitation/create on the call's event stream, stateless clients an\n" +
			"input_required result they answer by retrying the call).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runProxy(cmd.Context(), p, cmd.ErrOrStderr())
		},
	}
	addGatewayFlags(cmd, &p.wrapParams)
	f := cmd.Flags()
	f.StringVar(&p.serverName, "server-name", "", "server name for pins, policy and audit (default: the upstream host)")
	f.StringVar(&p.listen, "listen", "127.0.0.1:8811", "address to listen on")
	f.StringVar(&p.upstream, "upstream", "", "URL of the upstream server's MCP endpoint (required)")
	f.StringVar(&p.token, "token", "", "bearer token clients must present (prefer $"+tokenEnv+" or --token-file)")
	f.StringVar(&p.tokenFile, "token-file", "", "file of 'PRINCIPAL TOKEN' lines")
	f.BoolVar(&p.noAuth, "no-auth", false, "accept clients without a token (loopback only)")
	f.StringSliceVar(&p.origins, "allow-origin", nil, "browser origin allowed to call (repeatable; default: loopback origins)")
	f.StringVar(&p.tlsCert, "tls-cert", "", "TLS certificate file")
	f.StringVar(&p.tlsKey, "tls-key", "", "TLS key file")
	f.StringVar(&p.resourceURL, "resource-url", "", "public URL of this endpoint, for the protected-resource metadata")
	f.StringSliceVar(&p.authzServers, "authorization-server", nil, "OAuth authorization server to advertise (repeatable)")
	f.Int64Var(&p.maxBody, "max-body", mcp.DefaultMaxBodyBytes, "largest request body and upstream message, in bytes")
	f.DurationVar(&p.idleTimeout, "idle-timeout", mcp.DefaultIdleTimeout, "end a session no request has used for this long")
	f.StringVar(&p.approveVia, "approve-via", "", "'elicitation': ask the client's user about require_approval calls through MCP elicitation "+
		"(or an input_required result for stateless clients), when the client supports it")
	f.StringArrayVar(&p.upstreamHeader, "upstream-header", nil, "'Name: value' header sent upstream with every request (repeatable), e.g. the upstream's own credential")
	_ = cmd.MarkFlagRequired("upstream")
	return cmd
}

func runProxy(ctx context.Context, p proxyParams, stderr io.Writer) error {
	logger, err := newLogger(p.logLevel, stderr)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(p.listen)
	if err != nil {
		return exitf(ExitUsage, "--listen %q: %v", p.listen, err)
	}
	if p.idleTimeout <= 0 {
		return exitf(ExitUsage, "--idle-timeout %v: want a positive duration", p.idleTimeout)
	}
	tls := p.tlsCert != "" || p.tlsKey != ""
	if tls && (p.tlsCert == "" || p.tlsKey == "") {
		return exitf(ExitUsage, "--tls-cert and --tls-key go together")
	}
	if !mcp.IsLoopback(host) && !tls {
		return exitf(ExitUsage, "--listen %s: %v (pass --tls-cert and --tls-key)", p.listen, mcp.ErrInsecureListen)
	}
	if p.approveVia != "" && p.approveVia != approveViaElicitation {
		return exitf(ExitUsage, "--approve-via %q: the proxy supports only %s", p.approveVia, approveViaElicitation)
	}
	if p.noAuth && !mcp.IsLoopback(host) {
		return exitf(ExitUsage, "--no-auth is only allowed on a loopback address")
	}
	if p.serverName == "" {
		if u, err := urlHost(p.upstream); err == nil {
			p.serverName = u
		}
	}
	auth, err := proxyAuth(p, stderr)
	if err != nil {
		return err
	}
	upHeader := http.Header{}
	for _, h := range p.upstreamHeader {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return exitf(ExitUsage, "--upstream-header %q: want 'Name: value'", h)
		}
		if strings.EqualFold(strings.TrimSpace(k), "Authorization") && v == "" {
			continue
		}
		upHeader.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	dir, err := resolveDataDir(p.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return exitf(ExitFailure, "data directory: %v", err)
	}
	st, err := openGateway(ctx, p.wrapParams, dir, logger, stderr)
	if err != nil {
		return err
	}
	defer st.close()
	opts := mcp.ProxyOptions{Gateway: st.g, Upstream: p.upstream, Server: p.serverName, ResourceURL: p.resourceURL,
		AuthorizationServers: p.authzServers, AllowedOrigins: p.origins, MaxBodyBytes: p.maxBody,
		UpstreamHeader: upHeader, IdleTimeout: p.idleTimeout, Logger: logger,
		ApprovalElicitation: p.approveVia == approveViaElicitation}
	if auth != nil {
		opts.Auth = auth
	}
	px, err := mcp.NewProxy(opts)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	defer px.Close()
	ln, err := net.Listen("tcp", p.listen)
	if err != nil {
		return exitf(ExitFailure, "listen: %v", err)
	}
	srv := &http.Server{Handler: px, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	logger.Info("MCP proxy listening", slog.String("url", scheme+"://"+ln.Addr().String()+"/"), slog.String("upstream", p.upstream))
	fmt.Fprintf(stderr, "agentos mcp proxy: listening on %s://%s/ for %s\n", scheme, ln.Addr(), p.upstream)
	errc := make(chan error, 1)
	go func() {
		if tls {
			errc <- srv.ServeTLS(ln, p.tlsCert, p.tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return exitf(ExitFailure, "serve: %v", err)
		}
	case <-ctx.Done():
		px.Close()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return nil
}

// proxyAuth builds the authenticator from the flags; nil with --no-auth.
func proxyAuth(p proxyParams, stderr io.Writer) (mcp.Authenticator, error) {
	switch {
	case p.noAuth:
		return nil, nil
	case p.tokenFile != "":
		a, err := mcp.LoadTokenFile(p.tokenFile)
		if err != nil {
			return nil, exitf(ExitUsage, "--token-file: %v", err)
		}
		return a, nil
	}
	tok := p.token
	if tok == "" {
		tok = os.Getenv(tokenEnv)
	}
	if tok == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		tok = hex.EncodeToString(b[:])
		fmt.Fprintf(stderr, "agentos mcp proxy: no token configured; clients must send 'Authorization: Bearer %s'\n", tok)
	}
	a, err := mcp.NewTokenAuth(map[string]string{tok: "client"})
	if err != nil {
		return nil, exitf(ExitUsage, "token: %v", err)
	}
	return a, nil
}

// urlHost returns the host name of a URL.
func urlHost(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	return u.Hostname(), nil
}

type approveParams struct {
	dataDir  string
	approver string
	deny     bool
	comment  string
}

func newMCPApproveCmd() *cobra.Command {
	var p approveParams
	cmd := &cobra.Command{
		Use:   "approve [ID]",
		Short: "Approve (or --deny) a call a running gateway holds for approval; without ID, list them",
		Long: "A gateway started with --approve-webhook posts each require_approval request to the\n" +
			"webhook and writes it to DATA_DIR/" + mcp.ApprovalDirName + "/. This command lists those\n" +
			"requests, or votes on one; the gateway applies the vote within a second. The requesting\n" +
			"agent can never approve its own request.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApprove(p, args, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.dataDir, "data-dir", "", "data directory of the gateway (default $"+dataDirEnv+" or ~/.agentos)")
	f.StringVar(&p.approver, "approver", "", "who votes (default: $USER)")
	f.BoolVar(&p.deny, "deny", false, "deny instead of approving")
	f.StringVar(&p.comment, "comment", "", "a comment recorded with the vote")
	return cmd
}

// compactPreview puts a pending call's argument preview (already redacted
// and bounded by the gateway) on one line; "-" when there is none.
func compactPreview(p json.RawMessage) string {
	var b bytes.Buffer
	if len(p) == 0 || json.Compact(&b, p) != nil {
		return "-"
	}
	return b.String()
}

func runApprove(p approveParams, args []string, stdout io.Writer) error {
	dir, err := resolveDataDir(p.dataDir)
	if err != nil {
		return err
	}
	xdir := filepath.Join(dir, mcp.ApprovalDirName)
	if len(args) == 0 {
		pending, err := mcp.ListPending(xdir)
		if err != nil {
			return exitf(ExitFailure, "%v", err)
		}
		if len(pending) == 0 {
			_, err := fmt.Fprintln(stdout, "no calls awaiting approval")
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAGENT\tTOOL\tRULE\tVOTES\tEXPIRES\tREASON\tARGUMENTS")
		for _, pa := range pending {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", pa.ID, pa.AgentID, pa.Tool, pa.Rule, pa.Approvals, pa.Quorum,
				pa.ExpiresAt.Format(time.RFC3339), pa.Reason, compactPreview(pa.ArgsPreview))
		}
		return tw.Flush()
	}
	approver := p.approver
	if approver == "" {
		approver = os.Getenv("USER")
	}
	if approver == "" {
		return exitf(ExitUsage, "no --approver and no $USER")
	}
	if err := mcp.WriteVote(xdir, args[0], mcp.ApprovalVote{Approver: approver, Approve: !p.deny, Comment: p.comment}); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return exitf(ExitFailure, "no call awaiting approval with ID %s (list them with 'agentos mcp approve')", args[0])
		}
		return exitf(ExitFailure, "%v", err)
	}
	verb := "approval"
	if p.deny {
		verb = "denial"
	}
	_, err = fmt.Fprintf(stdout, "%s of %s by %s handed to the gateway\n", verb, args[0], approver)
	return err
}
