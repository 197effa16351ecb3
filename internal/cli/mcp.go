package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/mcp"
	"github.com/agentos/agentos/policy"
)

// dataDirEnv names the environment variable giving the data directory.
const dataDirEnv = "AGENTOS_DATA_DIR"

// auditFileName is the audit database's name in the data directory.
const auditFileName = "audit.db"

func newMCPCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Govern MCP servers: wrap or proxy them, scan client configs, manage pins and approvals",
	}
	cmd.AddCommand(newMCPWrapCmd(), newMCPPinsCmd(), newMCPProxyCmd(), newMCPApproveCmd(), newMCPScanCmd(), newMCPServeCmd())
	return cmd
}

// resolveDataDir returns the data directory: the flag, else
// $AGENTOS_DATA_DIR, else ~/.agentos (MCP clients start servers in
// unpredictable working directories, so the default is not relative).
func resolveDataDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if v := os.Getenv(dataDirEnv); v != "" {
		return v, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", exitf(ExitUsage, "no --data-dir, no $%s and no home directory: %v", dataDirEnv, err)
	}
	return filepath.Join(home, ".agentos"), nil
}

type wrapParams struct {
	src             policySource
	agentID         string
	serverName      string
	dataDir         string
	allowRisky      bool
	approveNewTools bool
	responseMode    string
	injectionModel  bool
	denyAsToolError bool
	logLevel        string
	callTimeout     time.Duration
	approveWebhook  string
	approvalTimeout time.Duration
	// approveVia is "elicitation" to ask approvals through the client
	// (wrap and proxy), "daemon" to ask the daemon at daemonURL (wrap
	// only); "": neither.
	approveVia string
	// daemonURL is the daemon asked with --approve-via daemon.
	daemonURL string
}

// gatewayStack is a gateway with everything it runs on.
type gatewayStack struct {
	g       *mcp.Gateway
	k       *kernel.Kernel
	alog    *audit.Log
	approve *mcp.Approvals
	closers []func()
}

func (st *gatewayStack) close() {
	for i := len(st.closers) - 1; i >= 0; i-- {
		st.closers[i]()
	}
}

// openGateway loads the policy, opens the audit log and pins in dir,
// starts a kernel with the agent and, with --approve-webhook, the
// standalone approval flow, and returns the gateway.
func openGateway(ctx context.Context, p wrapParams, dir string, logger *slog.Logger, stderr io.Writer) (_ *gatewayStack, err error) {
	mode, err := mcp.ParseResponseMode(p.responseMode)
	if err != nil {
		return nil, exitf(ExitUsage, "--response-mode: %v", err)
	}
	st := &gatewayStack{}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	set, _, err := p.src.load()
	if err != nil {
		if printProblems(stderr, "", err) {
			return nil, silentExit(ExitUsage)
		}
		return nil, err
	}
	engine := policy.NewEngine(policy.EngineOptions{})
	engine.Swap(set)
	store, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(dir, auditFileName), Logger: logger})
	if err != nil {
		return nil, exitf(ExitFailure, "audit log: %v", err)
	}
	st.closers = append(st.closers, func() { store.Close() })
	alog, err := audit.Open(ctx, audit.Options{Store: store, Dir: dir, Logger: logger})
	if err != nil {
		return nil, exitf(ExitFailure, "audit log: %v", err)
	}
	st.alog = alog
	st.closers = append(st.closers, func() { alog.Close() })
	kopts := kernel.Options{Policy: engine, Auditor: alog, Logger: logger}
	switch p.approveVia {
	case "", approveViaElicitation, approveViaDaemon:
	default:
		return nil, exitf(ExitUsage, "--approve-via %q: want %s or %s", p.approveVia, approveViaElicitation, approveViaDaemon)
	}
	if p.daemonURL != "" && p.approveVia != approveViaDaemon {
		return nil, exitf(ExitUsage, "--daemon-url is used only with --approve-via %s", approveViaDaemon)
	}
	if p.approveVia == approveViaDaemon {
		if p.approveWebhook != "" {
			return nil, exitf(ExitUsage, "--approve-webhook and --approve-via %s exclude each other: the daemon tells people (dashboard, its own webhook)", approveViaDaemon)
		}
		if os.Getenv(daemonTokenEnv) == "" {
			return nil, exitf(ExitUsage, "--approve-via %s: $%s is not set: create a token with 'agentos token create --role agent --agent %s' "+
				"and put it in this process's environment (in an MCP client's configuration, under \"env\": the client passes its own environment on only in part)",
				approveViaDaemon, daemonTokenEnv, p.agentID)
		}
		da, err := mcp.NewDaemonApprover(mcp.DaemonApproverOptions{URL: p.daemonURL, Token: os.Getenv(daemonTokenEnv),
			Source: "mcp:" + p.serverName, Logger: logger})
		if err != nil {
			return nil, exitf(ExitUsage, "--approve-via %s (--daemon-url, $%s): %v", approveViaDaemon, daemonTokenEnv, err)
		}
		kopts.Approver = da
	} else if p.approveWebhook != "" || p.approveVia != "" {
		var hook *approval.Webhook
		if p.approveWebhook != "" {
			hook, err = approval.NewWebhook(approval.WebhookOptions{URL: p.approveWebhook,
				Secret: []byte(os.Getenv(webhookSecretEnv)), Logger: logger})
			if err != nil {
				return nil, exitf(ExitUsage, "--approve-webhook: %v", err)
			}
			st.closers = append(st.closers, func() { hook.Close() })
		}
		aopts := mcp.ApprovalsOptions{Dir: filepath.Join(dir, mcp.ApprovalDirName), Auditor: alog,
			Timeout: p.approvalTimeout, Logger: logger, ElicitOnly: hook == nil}
		if hook != nil {
			aopts.Webhook = hook
		}
		ap, err := mcp.NewApprovals(aopts)
		if err != nil {
			return nil, exitf(ExitFailure, "%v", err)
		}
		st.approve = ap
		st.closers = append(st.closers, func() { ap.Close() })
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		go ap.Run(pctx, 0)
		st.closers = append(st.closers, cancel)
		kopts.Approver = ap
	}
	k, err := kernel.New(kopts)
	if err != nil {
		return nil, err
	}
	st.k = k
	st.closers = append(st.closers, func() { k.Close() })
	if _, err := k.Spawn(ctx, kernel.AgentSpec{ID: p.agentID, Role: "mcp-client",
		Labels: map[string]string{"mcp_server": p.serverName}}); err != nil {
		return nil, exitf(ExitUsage, "--agent-id: %v", err)
	}
	pins, err := mcp.OpenPins(mcp.PinOptions{Path: filepath.Join(dir, mcp.PinFileName)})
	if err != nil {
		return nil, exitf(ExitFailure, "%v", err)
	}
	var inj *detect.Injection
	if p.injectionModel {
		if inj, err = detect.NewInjection(detect.InjectionOptions{Channel: detect.ChannelData, Logger: logger}); err != nil {
			return nil, exitf(ExitFailure, "--scan-injection-model: %v", err)
		}
	}
	g, err := mcp.New(mcp.Options{
		Kernel: k, AgentID: p.agentID, Auditor: alog, Policy: engine, Pins: pins,
		ApproveNewTools: p.approveNewTools, ResponseMode: mode, ResponseInjection: inj, DenyAsToolError: p.denyAsToolError,
		CallTimeout: p.callTimeout, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	st.g = g
	st.closers = append(st.closers, func() { g.Close() })
	return st, nil
}

// approveViaElicitation is the --approve-via value that asks approvals
// through the MCP client (elicitation/create).
const approveViaElicitation = "elicitation"

// approveViaDaemon is the --approve-via value that asks approvals from the
// daemon's broker (dashboard and API).
const approveViaDaemon = "daemon"

// daemonTokenEnv names the environment variable holding the token the
// gateway presents to the daemon (never a flag: it would show in ps).
const daemonTokenEnv = "AGENTOS_DAEMON_TOKEN"

// webhookSecretEnv names the environment variable holding the approval
// webhook's signing secret.
const webhookSecretEnv = "AGENTOS_WEBHOOK_SECRET"

// addGatewayFlags adds the flags wrap and proxy share.
func addGatewayFlags(cmd *cobra.Command, p *wrapParams) {
	f := cmd.Flags()
	p.src.addFlags(f)
	f.StringVar(&p.agentID, "agent-id", "mcp-client", "agent the client's calls run as")
	f.StringVar(&p.dataDir, "data-dir", "", "data directory for pins, approvals and the audit log (default $"+dataDirEnv+" or ~/.agentos)")
	f.BoolVar(&p.approveNewTools, "approve-new-tools", false, "hide new tools until approved with 'agentos mcp pins approve'")
	f.StringVar(&p.responseMode, "response-mode", "sanitize", "what to do with flagged responses: sanitize, block, warn or off")
	f.BoolVar(&p.injectionModel, "scan-injection-model", false, "also judge every response with the prompt-injection model (its data head) and rules; "+
		"a response the model flags is blocked (or, with --response-mode warn, passed and audited)")
	f.BoolVar(&p.denyAsToolError, "deny-as-tool-error", false, "answer denied calls with an isError tool result instead of a JSON-RPC error")
	f.StringVar(&p.logLevel, "log-level", "warn", "stderr log level: debug, info, warn or error")
	f.DurationVar(&p.callTimeout, "call-timeout", mcp.DefaultCallTimeout, "longest a tools/call may take")
	f.StringVar(&p.approveWebhook, "approve-webhook", "", "ask for require_approval decisions: POST each request to this URL (signed with $"+webhookSecretEnv+") and wait for 'agentos mcp approve ID'")
	f.DurationVar(&p.approvalTimeout, "approval-timeout", 0, "how long a call waits for an approval (default 10m)")
}

// newLogger builds the stderr logger of a command.
func newLogger(level string, stderr io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, exitf(ExitUsage, "--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l})), nil
}

func newMCPWrapCmd() *cobra.Command {
	var p wrapParams
	cmd := &cobra.Command{
		Use:   "wrap [flags] -- COMMAND [ARGS...]",
		Short: "Run an MCP server over stdio, governing every message",
		Long: "wrap starts the MCP server COMMAND as a child process and speaks stdio to the\n" +
			"client: tool lists are scanned, pinned and filtered by policy, every tools/call\n" +
			"goes through the kernel (policy, approval, rate limits, audit) and responses are\n" +
			"scanned. Logs go to stderr, never stdout. The exit code is the server's.\n\n" +
			"Approvals cannot be asked for on a terminal here (stdin is the protocol):\n" +
			"require_approval rules deny with their reason, unless --approve-webhook is\n" +
			"given: then each request is posted to the webhook and waits for\n" +
			"'agentos mcp approve ID'. With --approve-via elicitation, a client that\n" +
			"supports MCP elicitation is asked instead (its user approves or declines).\n" +
			"With --approve-via daemon --daemon-url URL, each request goes to a running\n" +
			"'agentos serve' and is decided on its dashboard or with\n" +
			"POST /v1/approvals/{id}/approve; the token is read from $" + daemonTokenEnv + ".\n" +
			"One --approve-via value at a time.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 0 {
				return exitf(ExitUsage, "put the server command after --, e.g. agentos mcp wrap -- npx -y SERVER")
			}
			return runWrap(cmd.Context(), p, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	addGatewayFlags(cmd, &p)
	f := cmd.Flags()
	f.StringVar(&p.serverName, "server-name", "", "server name for pins, policy and audit (default: from the command)")
	f.StringVar(&p.approveVia, "approve-via", "", "'elicitation': ask the client's user about require_approval calls through MCP elicitation, when the client supports it; "+
		"'daemon': ask the daemon at --daemon-url (decided on its dashboard or API; token from $"+daemonTokenEnv+")")
	f.StringVar(&p.daemonURL, "daemon-url", "", "the daemon asked with --approve-via daemon: http://127.0.0.1:PORT (loopback) or https://...")
	f.BoolVar(&p.allowRisky, "allow-risky", false, "launch a command the command rating calls critical")
	return cmd
}

// serverNameOf derives a server name from a command: the package a
// launcher runs (npx -y @scope/pkg@1 → pkg), else the program's name. A
// script with a generic name (index, main, cli, server) is named after its
// package: the "name" of the nearest package.json (without its scope),
// else the package directory (the one holding dist, build, lib, src or
// bin): node /x/node_modules/@scope/server-filesystem/dist/index.js →
// server-filesystem.
func serverNameOf(argv []string) string {
	prog := filepath.Base(argv[0])
	switch strings.TrimSuffix(prog, ".exe") {
	case "npx", "uvx", "bunx", "pnpx", "node", "python", "python3", "deno", "uv", "docker":
		for _, arg := range argv[1:] {
			if strings.HasPrefix(arg, "-") || arg == "run" || arg == "exec" {
				continue
			}
			a := filepath.Base(arg)
			if i := strings.LastIndex(a, "@"); i > 0 {
				a = a[:i]
			}
			a = strings.TrimSuffix(strings.TrimSuffix(a, ".js"), ".py")
			for _, ext := range [...]string{".mjs", ".cjs", ".ts"} {
				a = strings.TrimSuffix(a, ext)
			}
			if genericScriptName(a) {
				if name := packageNameOf(arg); name != "" {
					return name
				}
			}
			return a
		}
	}
	return prog
}

// genericScriptName reports whether a script name says nothing about
// the server.
func genericScriptName(name string) bool {
	switch name {
	case "index", "main", "cli", "server":
		return true
	}
	return false
}

// buildDirName reports whether a package keeps its entry script in a
// directory of this name.
func buildDirName(name string) bool {
	switch name {
	case "dist", "build", "lib", "src", "bin":
		return true
	}
	return false
}

// reServerName is what a name taken from a package may look like.
var reServerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// packageNameOf names the package of a script: the "name" of the nearest
// package.json (at most three directories up, scope removed), else the
// directory holding the script (or holding its dist, build, lib, src or
// bin directory). "": nothing usable in the script's path.
func packageNameOf(script string) string {
	dir := filepath.Dir(script)
	for d, i := dir, 0; i < 3; d, i = filepath.Dir(d), i+1 {
		if name := readPackageName(filepath.Join(d, "package.json")); name != "" {
			return name
		}
		if parent := filepath.Dir(d); parent == d {
			break
		}
	}
	if buildDirName(filepath.Base(dir)) {
		dir = filepath.Dir(dir)
	}
	if name := filepath.Base(dir); reServerName.MatchString(name) && name != "." && name != ".." {
		return name
	}
	return ""
}

// readPackageName returns the unscoped "name" of a package.json, or "".
func readPackageName(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var pkg struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(f, 1<<16)).Decode(&pkg); err != nil {
		return ""
	}
	name := pkg.Name
	if i := strings.LastIndex(name, "/"); i >= 0 && strings.HasPrefix(name, "@") {
		name = name[i+1:]
	}
	if !reServerName.MatchString(name) {
		return ""
	}
	return name
}

func runWrap(ctx context.Context, p wrapParams, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	logger, err := newLogger(p.logLevel, stderr)
	if err != nil {
		return err
	}
	if p.serverName == "" {
		p.serverName = serverNameOf(argv)
	}
	dir, err := resolveDataDir(p.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return exitf(ExitFailure, "data directory: %v", err)
	}
	st, err := openGateway(ctx, p, dir, logger, stderr)
	if err != nil {
		return err
	}
	defer st.close()
	g := st.g

	findings := mcp.RateCommand(argv, nil)
	refused := mcp.Critical(findings) && !p.allowRisky
	reason := "server launched"
	if refused {
		reason = "command rated critical; pass --allow-risky to launch it anyway"
	}
	if err := g.AuditSpawn(ctx, p.serverName, argv, findings, !refused, reason); err != nil {
		return exitf(ExitFailure, "audit: %v (fail closed)", err)
	}
	for _, f := range findings {
		logger.Warn("server command", slog.String("rule", f.Rule), slog.String("severity", f.Severity.String()), slog.String("finding", f.Message))
	}
	child, err := mcp.StartChild(mcp.ChildOptions{Argv: argv, Stderr: stderr, AllowRisky: p.allowRisky, Logger: logger})
	if err != nil {
		var re *mcp.CommandRiskError
		if errors.As(err, &re) {
			return exitf(ExitFailure, "%v; pass --allow-risky to launch it anyway", err)
		}
		return exitf(ExitFailure, "%v", err)
	}
	s, err := g.NewSession(mcp.SessionOptions{Server: p.serverName, ApprovalElicitation: p.approveVia == approveViaElicitation})
	if err != nil {
		child.Stop(context.WithoutCancel(ctx))
		return err
	}
	in, restore := pollableInput(stdin)
	defer restore()
	client := mcp.NewStreamConn(in, stdout, mcp.StreamOptions{})
	runErr := s.Run(ctx, client, child.Conn())
	var end *mcp.EndError
	if errors.As(runErr, &end) && end.Side == mcp.SideServer {
		logger.Info("server closed its output", slog.String("error", end.Err.Error()))
	} else if runErr != nil {
		logger.Info("session ended", slog.String("error", runErr.Error()))
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := child.Stop(stopCtx); err != nil {
		logger.Warn("server shutdown", slog.String("error", err.Error()))
	}
	if code := child.ExitCode(); code != 0 {
		return silentExit(code)
	}
	return nil
}

type pinsParams struct {
	dataDir string
	asJSON  bool
	hash    string
	all     bool
}

func newMCPPinsCmd() *cobra.Command {
	var p pinsParams
	cmd := &cobra.Command{
		Use:   "pins",
		Short: "List, compare, approve and reset MCP tool-definition pins",
	}
	cmd.PersistentFlags().StringVar(&p.dataDir, "data-dir", "", "data directory holding the pins (default $"+dataDirEnv+" or ~/.agentos)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List pinned tools and their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPins(p, "list", nil, cmd.OutOrStdout())
		},
	}
	list.Flags().BoolVar(&p.asJSON, "json", false, "print JSON")
	diff := &cobra.Command{
		Use:   "diff SERVER TOOL",
		Short: "Show how a tool's pending definition differs from the approved one",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPins(p, "diff", args, cmd.OutOrStdout())
		},
	}
	approve := &cobra.Command{
		Use:   "approve SERVER TOOL",
		Short: "Approve a tool's pending definition (a new tool or a changed one)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPins(p, "approve", args, cmd.OutOrStdout())
		},
	}
	approve.Flags().StringVar(&p.hash, "hash", "", "approve only if the pending definition has this hash (as printed by diff)")
	reset := &cobra.Command{
		Use:   "reset [SERVER [TOOL]]",
		Short: "Forget pins, so that tools are pinned (or held for approval) again when next listed",
		Args:  cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !p.all {
				return exitf(ExitUsage, "pins reset: name a server (and tool), or pass --all")
			}
			return runPins(p, "reset", args, cmd.OutOrStdout())
		},
	}
	reset.Flags().BoolVar(&p.all, "all", false, "forget every pin")
	cmd.AddCommand(list, diff, approve, reset)
	return cmd
}

// pinState describes a pin for people.
func pinState(pin mcp.Pin) string {
	switch {
	case !pin.Approved():
		return "new (awaiting approval)"
	case pin.PendingHash != "":
		return "changed (awaiting approval)"
	}
	return "approved"
}

func runPins(p pinsParams, verb string, args []string, stdout io.Writer) error {
	dir, err := resolveDataDir(p.dataDir)
	if err != nil {
		return err
	}
	store, err := mcp.OpenPins(mcp.PinOptions{Path: filepath.Join(dir, mcp.PinFileName)})
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	switch verb {
	case "list":
		pins, err := store.List()
		if err != nil {
			return exitf(ExitFailure, "%v", err)
		}
		if p.asJSON {
			if pins == nil {
				pins = []mcp.Pin{}
			}
			return writeJSON(stdout, pins)
		}
		if len(pins) == 0 {
			_, err := fmt.Fprintln(stdout, "no pins in "+store.Path())
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVER\tTOOL\tSTATE\tHASH\tUPDATED")
		for _, pin := range pins {
			h := pin.Hash
			if pin.PendingHash != "" {
				h = pin.PendingHash
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.12s\t%s\n", pin.Server, pin.Tool, pinState(pin), h, pin.Updated.Format(time.RFC3339))
		}
		return tw.Flush()
	case "diff":
		pin, err := store.Get(args[0], args[1])
		if err != nil {
			return exitf(ExitFailure, "%v", err)
		}
		return printPinDiff(stdout, pin)
	case "approve":
		pin, err := store.Approve(args[0], args[1], p.hash)
		if err != nil {
			return exitf(ExitFailure, "%v", err)
		}
		_, err = fmt.Fprintf(stdout, "approved %s/%s (hash %s)\n", pin.Server, pin.Tool, pin.Hash)
		return err
	case "reset":
		server, tool := "", ""
		if len(args) > 0 {
			server = args[0]
		}
		if len(args) > 1 {
			tool = args[1]
		}
		n, err := store.Reset(server, tool)
		if err != nil {
			return exitf(ExitFailure, "%v", err)
		}
		_, err = fmt.Fprintf(stdout, "removed %d pin(s)\n", n)
		return err
	}
	return exitf(ExitUsage, "unknown pins command %q", verb)
}

// printPinDiff prints, member by member, how the pending definition
// differs from the approved one.
func printPinDiff(w io.Writer, pin mcp.Pin) error {
	fmt.Fprintf(w, "%s/%s: %s\n", pin.Server, pin.Tool, pinState(pin))
	if pin.PendingHash == "" {
		_, err := fmt.Fprintln(w, "no pending definition: nothing to approve")
		return err
	}
	var old, cur map[string]json.RawMessage
	if len(pin.Definition) > 0 {
		if err := json.Unmarshal(pin.Definition, &old); err != nil {
			return exitf(ExitFailure, "approved definition: %v", err)
		}
	}
	if err := json.Unmarshal(pin.PendingDefinition, &cur); err != nil {
		return exitf(ExitFailure, "pending definition: %v", err)
	}
	if pin.Hash != "" {
		fmt.Fprintf(w, "approved hash %s\n", pin.Hash)
	}
	fmt.Fprintf(w, "pending  hash %s\n", pin.PendingHash)
	for _, f := range []string{"name", "title", "description", "inputSchema", "outputSchema", "annotations"} {
		a, b := old[f], cur[f]
		if string(a) == string(b) {
			continue
		}
		fmt.Fprintf(w, "%s:\n", f)
		if a != nil {
			fmt.Fprintf(w, "  - %s\n", a)
		}
		if b != nil {
			fmt.Fprintf(w, "  + %s\n", b)
		}
	}
	_, err := fmt.Fprintf(w, "approve with: agentos mcp pins approve %s %s --hash %s\n", pin.Server, pin.Tool, pin.PendingHash)
	return err
}
