package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.yaml.in/yaml/v3"

	"github.com/agentos/agentos/approval"
	"github.com/agentos/agentos/audit"
	auditsqlite "github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/server"
	"github.com/agentos/agentos/server/ui"
)

// serveConfigFile is the optional configuration file read from the
// working directory (or AGENTOS_CONFIG / --config).
const serveConfigFile = "agentos.yaml"

// ServeConfig is the daemon's resolved configuration. Each setting comes
// from, in order of precedence, a flag, an AGENTOS_* environment
// variable, agentos.yaml, or its default.
type ServeConfig struct {
	Addr                  string
	DataDir               string
	Policies              []string
	TLSCert, TLSKey       string
	InsecureNoAuth        bool
	LogLevel              string
	LogFormat             string
	OTLPEndpoint          string
	MaxBodyBytes          int64
	ShutdownTimeout       time.Duration
	ApprovalTimeout       time.Duration
	ApprovalWebhook       string
	ApprovalWebhookSecret string
	// DebugAddr is a loopback address serving net/http/pprof; "" serves
	// no profiling endpoints.
	DebugAddr string
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (debug.SetMemoryLimit); 0 leaves the runtime's own (GOMEMLIMIT, or
	// none).
	MemoryLimit int64
	// ReleaseStartupMemory, once the daemon serves, returns to the
	// operating system the memory only start-up used (see
	// releaseStartupMemory); false leaves it to the runtime and kernel.
	ReleaseStartupMemory bool
	// AuditMemoryEvents, when positive, replaces the durable audit log
	// with an in-memory one holding at most this many events (then every
	// action is denied). Set only by the hidden --audit-memory-events
	// flag, to measure the daemon without the durable append; nothing is
	// recorded on disk.
	AuditMemoryEvents int

	// Sources maps each setting's name to where its value came from:
	// "flag", "env", the config file's path, or "default".
	Sources map[string]string
}

// defaultMemoryLimit is the daemon's soft memory limit unless configured:
// it keeps the heap, and with it the resident size, bounded under load
// (the garbage collector works harder as the heap nears it) while leaving
// room for bursts. It is soft: the daemon does not fail at it.
const defaultMemoryLimit = "40MiB"

// byteUnits are the suffixes parseBytes accepts, longest first.
var byteUnits = []struct {
	suffix string
	n      int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}

// parseBytes parses a size: a number of bytes, optionally with a unit
// (B, KB, MB, GB, KiB, MiB, GiB).
func parseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mul := int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mul = strings.TrimSpace(rest), u.n
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/mul {
		return 0, fmt.Errorf("%q is not a size", v)
	}
	return n * mul, nil
}

// formatBytes shows a size in the largest binary unit dividing it.
func formatBytes(n int64) string {
	for _, u := range byteUnits[:3] {
		if n != 0 && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// serveSetting describes one setting: its name (the flag, the yaml key
// with - → _, and AGENTOS_<NAME> with - → _ upper-cased), its default and
// how to apply a string value.
type serveSetting struct {
	name   string
	def    string
	usage  string
	secret bool
	// boolean settings are boolean flags: --name alone means true.
	boolean bool
	set     func(c *ServeConfig, v string) error
	show    func(c *ServeConfig) string
}

func serveSettings() []serveSetting {
	str := func(f func(c *ServeConfig) *string) (func(*ServeConfig, string) error, func(*ServeConfig) string) {
		return func(c *ServeConfig, v string) error { *f(c) = v; return nil },
			func(c *ServeConfig) string { return *f(c) }
	}
	boolean := func(f func(c *ServeConfig) *bool) (func(*ServeConfig, string) error, func(*ServeConfig) string) {
		return func(c *ServeConfig, v string) error {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("want true or false, got %q", v)
				}
				*f(c) = b
				return nil
			},
			func(c *ServeConfig) string { return strconv.FormatBool(*f(c)) }
	}
	dur := func(f func(c *ServeConfig) *time.Duration) (func(*ServeConfig, string) error, func(*ServeConfig) string) {
		return func(c *ServeConfig, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d < 0 {
					return fmt.Errorf("want a duration such as 30s, got %q", v)
				}
				*f(c) = d
				return nil
			},
			func(c *ServeConfig) string { return f(c).String() }
	}
	var out []serveSetting
	add := func(name, def, usage string, secret bool, set func(*ServeConfig, string) error, show func(*ServeConfig) string) {
		out = append(out, serveSetting{name: name, def: def, usage: usage, secret: secret, set: set, show: show})
	}
	s, g := str(func(c *ServeConfig) *string { return &c.Addr })
	add("addr", "127.0.0.1:8080", "address to listen on", false, s, g)
	s, g = str(func(c *ServeConfig) *string { return &c.DataDir })
	add("data-dir", "agentos-data", "data directory (audit log, signing key, tokens)", false, s, g)
	add("policy", "", "policy file or directory, comma-separated (default: ./policies if present, else the built-in default policy)", false,
		func(c *ServeConfig, v string) error {
			c.Policies = nil
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.Policies = append(c.Policies, p)
				}
			}
			return nil
		}, func(c *ServeConfig) string { return strings.Join(c.Policies, ",") })
	s, g = str(func(c *ServeConfig) *string { return &c.TLSCert })
	add("tls-cert", "", "TLS certificate file (PEM); with --tls-key serves HTTPS", false, s, g)
	s, g = str(func(c *ServeConfig) *string { return &c.TLSKey })
	add("tls-key", "", "TLS private key file (PEM)", false, s, g)
	b, bg := boolean(func(c *ServeConfig) *bool { return &c.InsecureNoAuth })
	add("insecure-no-auth", "false", "serve without authentication (local experiments only; loopback only)", false, b, bg)
	out[len(out)-1].boolean = true
	add("log-level", "info", "log level: debug, info, warn or error", false, func(c *ServeConfig, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return fmt.Errorf("want debug, info, warn or error, got %q", v)
	}, func(c *ServeConfig) string { return c.LogLevel })
	add("log-format", "text", "log format: text or json", false, func(c *ServeConfig, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("want text or json, got %q", v)
		}
		c.LogFormat = v
		return nil
	}, func(c *ServeConfig) string { return c.LogFormat })
	s, g = str(func(c *ServeConfig) *string { return &c.OTLPEndpoint })
	add("otlp-endpoint", "", "OTLP/HTTP endpoint (host:port) receiving a span per governed action; empty: no tracing", false, s, g)
	add("max-body-bytes", "1048576", "largest request body accepted", false, func(c *ServeConfig, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 64<<20 {
			return fmt.Errorf("want a number of bytes from 1024 to 67108864, got %q", v)
		}
		c.MaxBodyBytes = n
		return nil
	}, func(c *ServeConfig) string { return strconv.FormatInt(c.MaxBodyBytes, 10) })
	d, dg := dur(func(c *ServeConfig) *time.Duration { return &c.ShutdownTimeout })
	add("shutdown-timeout", "30s", "how long shutdown waits for requests in flight", false, d, dg)
	d, dg = dur(func(c *ServeConfig) *time.Duration { return &c.ApprovalTimeout })
	add("approval-timeout", "10m", "life of an approval request whose rule sets no timeout", false, d, dg)
	s, g = str(func(c *ServeConfig) *string { return &c.ApprovalWebhook })
	add("approval-webhook", "", "URL receiving a signed POST for every approval step", false, s, g)
	s, g = str(func(c *ServeConfig) *string { return &c.ApprovalWebhookSecret })
	add("approval-webhook-secret", "", "HMAC secret signing approval webhooks", true, s, g)
	s, g = str(func(c *ServeConfig) *string { return &c.DebugAddr })
	add("debug-addr", "", "loopback address serving Go profiles (/debug/pprof/); empty: none", false, s, g)
	add("memory-limit", defaultMemoryLimit, "soft memory limit of the Go runtime (e.g. 48MiB, 1GiB; 0: none, or GOMEMLIMIT if set)", false,
		func(c *ServeConfig, v string) error {
			n, err := parseBytes(v)
			if err != nil || (n != 0 && n < 8<<20) {
				return fmt.Errorf("want 0 or a size of at least 8MiB such as 48MiB, got %q", v)
			}
			c.MemoryLimit = n
			return nil
		}, func(c *ServeConfig) string { return formatBytes(c.MemoryLimit) })
	b, bg = boolean(func(c *ServeConfig) *bool { return &c.ReleaseStartupMemory })
	add("release-startup-memory", "true", "once serving, return to the OS the memory only start-up used: freed heap and, on Linux, "+
		"the executable's pages faulted in while starting (they fault back in when used); false: leave both to the runtime and kernel", false, b, bg)
	out[len(out)-1].boolean = true
	return out
}

// envName is the environment variable of a setting.
func envName(name string) string {
	return "AGENTOS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// resolveServeConfig applies defaults, the config file, the environment
// and the flags, in that order, and validates the result. getenv reads
// the environment; flag returns a flag's value and whether it was set.
func resolveServeConfig(configPath string, configExplicit bool, getenv func(string) string,
	flag func(name string) (string, bool)) (*ServeConfig, error) {
	c := &ServeConfig{Sources: map[string]string{}}
	settings := serveSettings()
	for _, st := range settings {
		if err := st.set(c, st.def); err != nil {
			return nil, fmt.Errorf("default of %s: %w", st.name, err)
		}
		c.Sources[st.name] = "default"
	}
	file := map[string]string{}
	if b, err := os.ReadFile(configPath); err == nil {
		var root yaml.Node
		if err := yaml.Unmarshal(b, &root); err != nil {
			return nil, fmt.Errorf("%s: %v", configPath, err)
		}
		if len(root.Content) > 0 {
			m := root.Content[0]
			if m.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s:%d:%d: want a mapping of settings", configPath, m.Line, m.Column)
			}
			for i := 0; i+1 < len(m.Content); i += 2 {
				k, v := m.Content[i], m.Content[i+1]
				name := strings.ReplaceAll(k.Value, "_", "-")
				if !slices.ContainsFunc(settings, func(s serveSetting) bool { return s.name == name }) {
					return nil, fmt.Errorf("%s:%d:%d: %s: unknown setting", configPath, k.Line, k.Column, k.Value)
				}
				switch v.Kind {
				case yaml.ScalarNode:
					file[name] = v.Value
				case yaml.SequenceNode:
					var items []string
					for _, it := range v.Content {
						items = append(items, it.Value)
					}
					file[name] = strings.Join(items, ",")
				default:
					return nil, fmt.Errorf("%s:%d:%d: %s: want a value or a list", configPath, v.Line, v.Column, k.Value)
				}
			}
		}
	} else if configExplicit || !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config: %v", err)
	}
	for _, st := range settings {
		v, src := "", ""
		if fv, ok := flag(st.name); ok {
			v, src = fv, "flag --"+st.name
		} else if ev := getenv(envName(st.name)); ev != "" {
			v, src = ev, "env "+envName(st.name)
		} else if yv, ok := file[st.name]; ok {
			v, src = yv, configPath
		} else {
			continue
		}
		if err := st.set(c, v); err != nil {
			return nil, fmt.Errorf("setting %s (from %s): %v", st.name, src, err)
		}
		c.Sources[st.name] = src
	}
	return c, c.validate()
}

// validate checks settings that depend on each other.
func (c *ServeConfig) validate() error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("setting addr: %q is not host:port: %v", c.Addr, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("settings tls-cert and tls-key: give both or neither")
	}
	if !loopback(host) && (c.TLSCert == "" || c.InsecureNoAuth) {
		return fmt.Errorf("setting addr: refusing to listen on non-loopback address %q without TLS (tls-cert, tls-key) and authentication", c.Addr)
	}
	if c.DataDir == "" {
		return errors.New("setting data-dir: must not be empty")
	}
	if c.DebugAddr != "" {
		dh, _, err := net.SplitHostPort(c.DebugAddr)
		if err != nil {
			return fmt.Errorf("setting debug-addr: %q is not host:port: %v", c.DebugAddr, err)
		}
		if !loopback(dh) {
			return fmt.Errorf("setting debug-addr: %q is not a loopback address; profiles are served on loopback only", c.DebugAddr)
		}
	}
	if c.ApprovalWebhookSecret != "" && c.ApprovalWebhook == "" {
		return errors.New("setting approval-webhook-secret: needs approval-webhook")
	}
	return nil
}

// loopback reports whether host is a loopback name or address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// logValue shows a setting's value with secrets redacted.
func (c *ServeConfig) logAttrs() []any {
	var out []any
	for _, st := range serveSettings() {
		v := st.show(c)
		if st.secret && v != "" {
			v = "[REDACTED]"
		}
		out = append(out, slog.Group(strings.ReplaceAll(st.name, "-", "_"), slog.String("value", v),
			slog.String("source", c.Sources[st.name])))
	}
	return out
}

type serveParams struct {
	config            string
	auditMemoryEvents int
}

func newServeCmd() *cobra.Command {
	p := &serveParams{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the governance daemon: HTTP API, dashboard, metrics",
		Long: "serve runs the kernel behind an HTTP API (/v1), the dashboard (/ui/) and Prometheus\n" +
			"metrics (/metrics). With no flags it listens on 127.0.0.1:8080, keeps its data in\n" +
			"./agentos-data, loads ./policies (or the built-in default policy) and prints an admin\n" +
			"token on first start. Settings: flags > AGENTOS_* environment > agentos.yaml > defaults.",
		Args: cobra.NoArgs,
	}
	fl := cmd.Flags()
	fl.StringVar(&p.config, "config", "", "configuration file (default ./agentos.yaml if present, or $AGENTOS_CONFIG)")
	fl.IntVar(&p.auditMemoryEvents, "audit-memory-events", 0, "measurement only: keep at most this many audit events in memory instead of the durable log")
	_ = fl.MarkHidden("audit-memory-events")
	for _, st := range serveSettings() {
		if st.boolean {
			fl.Bool(st.name, st.def == "true", st.usage)
			continue
		}
		fl.String(st.name, st.def, st.usage)
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		path, explicit := p.config, p.config != ""
		if !explicit {
			if env := os.Getenv("AGENTOS_CONFIG"); env != "" {
				path, explicit = env, true
			} else {
				path = serveConfigFile
			}
		}
		cfg, err := resolveServeConfig(path, explicit, os.Getenv, func(name string) (string, bool) {
			f := cmd.Flags().Lookup(name)
			if f == nil || !f.Changed {
				return "", false
			}
			return f.Value.String(), true
		})
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		if p.auditMemoryEvents < 0 {
			return exitf(ExitUsage, "--audit-memory-events: want a positive number of events")
		}
		cfg.AuditMemoryEvents = p.auditMemoryEvents
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runServe(ctx, cfg, cmd.OutOrStdout(), cmd.ErrOrStderr(), nil)
	}
	return cmd
}

// runServe runs the daemon until ctx ends. ready, if set, receives the
// bound address once the daemon serves.
func runServe(ctx context.Context, cfg *ServeConfig, stdout, stderr io.Writer, ready chan<- string) error {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	if cfg.LogFormat == "json" {
		logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, hopts))
	}
	logger.Info("configuration", cfg.logAttrs()...)
	applyMemoryLimit(cfg, os.Getenv, logger)

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return exitf(ExitFailure, "setting data-dir: %v", err)
	}
	_ = os.Chmod(cfg.DataDir, 0o700)

	// Policy: the configured paths, else ./policies, else the default.
	paths, source := cfg.Policies, ""
	var load policy.LoadFunc
	switch {
	case len(paths) > 0:
		if err := checkPathsExist(paths); err != nil {
			return err
		}
		source = strings.Join(paths, ", ")
	default:
		if st, err := os.Stat("policies"); err == nil && st.IsDir() {
			paths, source = []string{"policies"}, "./policies"
		}
	}
	if len(paths) > 0 {
		load = func(context.Context) ([]*policy.Document, error) { return policy.LoadFiles(paths...) }
	} else {
		source = "the built-in default policy (no ./policies directory)"
		load = func(context.Context) ([]*policy.Document, error) { return policy.DefaultDocuments() }
	}

	var alog serveAuditLog
	if cfg.AuditMemoryEvents > 0 {
		m, err := audit.NewMemory(audit.MemoryOptions{MaxEvents: cfg.AuditMemoryEvents})
		if err != nil {
			return exitf(ExitUsage, "--audit-memory-events: %v", err)
		}
		logger.Warn("AUDIT EVENTS ARE KEPT IN MEMORY ONLY (--audit-memory-events): nothing is recorded durably; for measurement only",
			"max_events", cfg.AuditMemoryEvents)
		alog = memoryAuditLog{m: m}
	} else {
		store, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: filepath.Join(cfg.DataDir, auditDBFile),
			Logger: logger.With("component", "audit-store")})
		if err != nil {
			return exitf(ExitFailure, "open audit log: %v", err)
		}
		defer store.Close()
		dlog, err := audit.Open(ctx, audit.Options{Store: store, Dir: cfg.DataDir, Logger: logger.With("component", "audit"),
			Publishers: []audit.Publisher{audit.FilePublisher{Dir: filepath.Join(cfg.DataDir, "checkpoints")}}})
		if err != nil {
			return exitf(ExitFailure, "open audit log: %v", err)
		}
		defer dlog.Close() // writes the final checkpoint
		alog = dlog
	}

	var err error
	var tokens *server.TokenStore
	var firstToken string
	if !cfg.InsecureNoAuth {
		tokens, err = server.OpenTokenStore(server.TokenStoreOptions{Path: filepath.Join(cfg.DataDir, server.TokensFile)})
		if err != nil {
			return exitf(ExitFailure, "%v", err)
		}
		if tokens.Len() == 0 {
			if _, firstToken, err = tokens.Create(server.RoleAdmin, "", "admin"); err != nil {
				return exitf(ExitFailure, "create admin token: %v", err)
			}
		}
	}

	aopts := approval.Options{DefaultTimeout: cfg.ApprovalTimeout}
	if cfg.ApprovalWebhook != "" {
		wh, err := approval.NewWebhook(approval.WebhookOptions{URL: cfg.ApprovalWebhook, Secret: []byte(cfg.ApprovalWebhookSecret),
			Logger: logger.With("component", "webhook")})
		if err != nil {
			return exitf(ExitUsage, "setting approval-webhook: %v", err)
		}
		defer wh.Close()
		aopts.Notifier = wh
	}

	var tracer server.Tracer
	if cfg.OTLPEndpoint != "" {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(cfg.OTLPEndpoint), otlptracehttp.WithInsecure())
		if err != nil {
			return exitf(ExitUsage, "setting otlp-endpoint: %v", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = tp.Shutdown(sctx)
		}()
		tracer = otelTracer{t: tp.Tracer("github.com/agentos/agentos/server")}
	}

	tlsOn := cfg.TLSCert != ""
	// The dashboard needs the server's kernel, broker and engine, and the
	// server needs the dashboard's handler: mount a forwarder, set below.
	var dash *ui.Handler
	srv, err := server.New(ctx, server.Options{
		AuditLog: alog, Policy: load, PolicySource: source, WatchPaths: paths, Tokens: tokens,
		InsecureNoAuth: cfg.InsecureNoAuth, TLS: tlsOn, Approval: aopts, MaxBodyBytes: cfg.MaxBodyBytes,
		Tracer: tracer, Version: versionString(""), Logger: logger,
		UI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { dash.ServeHTTP(w, r) }),
	})
	if err != nil {
		return exitf(ExitFailure, "%v", err)
	}
	dash, err = newDashboard(srv, alog, source, logger)
	if err != nil {
		_ = srv.Shutdown(context.WithoutCancel(ctx))
		return exitf(ExitFailure, "dashboard: %v", err)
	}
	defer dash.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = srv.Shutdown(context.WithoutCancel(ctx))
		return exitf(ExitFailure, "setting addr: %v", err)
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, logger)
		if err != nil {
			ln.Close()
			_ = srv.Shutdown(context.WithoutCancel(ctx))
			return exitf(ExitFailure, "setting debug-addr: %v", err)
		}
		defer stopDebug()
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	scheme := "http"
	if tlsOn {
		scheme = "https"
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	base := scheme + "://" + ln.Addr().String()
	fmt.Fprintf(stdout, "agentos serve: listening on %s\n", base)
	fmt.Fprintf(stdout, "  policy:    %s (version %.12s)\n", source, srv.PolicyVersion())
	fmt.Fprintf(stdout, "  data:      %s\n", cfg.DataDir)
	fmt.Fprintf(stdout, "  dashboard: %s/ui/\n", base)
	switch {
	case cfg.InsecureNoAuth:
		fmt.Fprintf(stdout, "  WARNING: authentication is disabled (--insecure-no-auth)\n")
	case firstToken != "":
		fmt.Fprintf(stdout, "  admin token (shown once, stored hashed in %s):\n    %s\n",
			filepath.Join(cfg.DataDir, server.TokensFile), firstToken)
	default:
		fmt.Fprintf(stdout, "  tokens:    %s (agentos token create --role admin)\n", filepath.Join(cfg.DataDir, server.TokensFile))
	}
	errc := make(chan error, 1)
	go func() {
		if tlsOn {
			errc <- hs.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	if cfg.ReleaseStartupMemory {
		releaseStartupMemory(logger)
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: waiting for requests in flight", "timeout", cfg.ShutdownTimeout)
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	// SSE streams end when the server's hub closes; Shutdown would
	// otherwise wait for them.
	hs.RegisterOnShutdown(srv.Hub().Close)
	hs.RegisterOnShutdown(srv.StopWaiting)
	hs.RegisterOnShutdown(func() { _ = dash.Close() })
	herr := hs.Shutdown(sctx)
	kerr := srv.Shutdown(sctx)
	cerr := alog.Close()
	logger.Info("stopped", "audit_checkpoint", cerr == nil)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return exitf(ExitFailure, "serve: %v", serveErr)
	}
	if err := errors.Join(herr, kerr, cerr); err != nil {
		return exitf(ExitFailure, "shutdown: %v", err)
	}
	return nil
}

// serveAuditLog is the audit log the daemon serves: the server's needs
// and Close.
type serveAuditLog interface {
	server.AuditLog
	Close() error
}

var (
	_ serveAuditLog = (*audit.Log)(nil)
	_ serveAuditLog = memoryAuditLog{}
)

// memoryAuditLog serves the in-memory audit log of --audit-memory-events:
// appends and queries work; there is no Merkle tree, so proofs fail and
// verification re-checks the hash chain only.
type memoryAuditLog struct{ m *audit.Memory }

func (l memoryAuditLog) Append(ctx context.Context, e *audit.Event) error { return l.m.Append(ctx, e) }

func (l memoryAuditLog) Query(ctx context.Context, q audit.Query, fn func(*audit.Event) error) error {
	evs := l.m.Events(0, uint64(l.m.Len()))
	n := 0
	for i := range evs {
		e := &evs[i]
		if !q.Ascending {
			e = &evs[len(evs)-1-i]
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !q.Match(e) {
			continue
		}
		if q.Limit > 0 && n == q.Limit {
			return nil
		}
		n++
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (l memoryAuditLog) Verify(context.Context, audit.VerifyOptions) (audit.VerifyResult, error) {
	return audit.VerifyResult{}, l.m.Verify()
}

func (l memoryAuditLog) Prove(context.Context, uint64) (*audit.Proof, error) {
	return nil, errors.New("the in-memory audit log (--audit-memory-events) keeps no Merkle tree")
}

func (l memoryAuditLog) VerifierKey() string { return "" }

func (l memoryAuditLog) Close() error { return nil }

// applyMemoryLimit sets the Go runtime's soft memory limit from the
// memory-limit setting. A GOMEMLIMIT in the environment wins over the
// setting's default, so the runtime's own knob keeps working.
func applyMemoryLimit(cfg *ServeConfig, getenv func(string) string, logger *slog.Logger) {
	if cfg.Sources["memory-limit"] == "default" && getenv("GOMEMLIMIT") != "" {
		logger.Info("memory limit from GOMEMLIMIT", "limit_bytes", debug.SetMemoryLimit(-1))
		return
	}
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
}

// serveDebug serves the Go runtime's profiles (/debug/pprof/) on addr, a
// loopback address, until the returned function is called.
func serveDebug(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() { _ = hs.Serve(ln) }()
	logger.Warn("serving Go profiles", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { _ = hs.Close() }, nil
}

// otelTracer adapts an OpenTelemetry tracer to server.Tracer.
type otelTracer struct{ t trace.Tracer }

func (o otelTracer) Start(ctx context.Context, name, agentID, tool string) (context.Context, func(int, error)) {
	ctx, span := o.t.Start(ctx, name, trace.WithAttributes(attribute.String("agentos.agent_id", agentID),
		attribute.String("agentos.tool", tool)))
	return ctx, func(code int, err error) {
		span.SetAttributes(attribute.Int("agentos.code", code))
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// newDashboard builds the web dashboard over the daemon's kernel, approval
// broker, audit log, policy engine and live events.
func newDashboard(srv *server.Server, alog ui.AuditLog, source string, logger *slog.Logger) (*ui.Handler, error) {
	hub := srv.Hub()
	return ui.New(ui.Options{
		Kernel: srv.Kernel(), Approvals: srv.Broker(), Audit: alog,
		Policy:       srv.Policy(),
		Documents:    srv.PolicyDocuments,
		Reload:       func(ctx context.Context) error { return srv.Reload(ctx, "dashboard") },
		PolicySource: source,
		Events: ui.Relay(func(q int) (<-chan server.Event, func()) {
			sub := hub.Subscribe(q)
			return sub.C(), sub.Cancel
		}, func(e server.Event) ui.Event {
			return ui.Event{ID: e.ID, Type: e.Type, Time: e.Time, Data: e.Data}
		}),
		Principal: func(r *http.Request) (string, string, bool) {
			p, ok := server.PrincipalFrom(r.Context())
			return p.Approver(), string(p.Role), ok
		},
		CSRFToken: srv.CSRFToken,
		Logger:    logger, // the dashboard names its component itself
	})
}
