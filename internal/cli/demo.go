package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentos/agentos/audit"
	auditsqlite "github.com/agentos/agentos/audit/sqlite"
	"github.com/agentos/agentos/kernel"
	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/signals"
)

type demoParams struct {
	src     policySource
	dataDir string
	asJSON  bool
}

func newDemoCmd() *cobra.Command {
	var p demoParams
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a scripted agent through the kernel and show every decision",
		Long: "Run a scripted agent through the governance kernel: it spawns an agent,\n" +
			"registers a few tools, makes allowed and dangerous calls, is paused, resumed and\n" +
			"killed, and every action is decided by policy and recorded in the audit log,\n" +
			"whose hash chain is verified at the end. Without --policy the built-in default\n" +
			"policy decides.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), p, cmd.OutOrStdout())
		},
	}
	p.src.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "print one JSON object per step")
	cmd.Flags().StringVar(&p.dataDir, "data-dir", "", "write the audit log durably to this data directory (then try: agentos audit verify --data-dir DIR); default: in memory")
	return cmd
}

// demoDocs is the little corpus the demo's search tool searches.
var demoDocs = []string{
	"agentos decides every agent action against declarative policy",
	"the audit log is a hash chain: editing any event breaks it",
	"SIGKILL terminates an agent; its next syscall is refused",
	"rate limits are written as 100/hour in policy files",
}

// demoTools are the tools the demo agent may call. They do real, harmless
// work: search a small in-memory corpus, echo text, run a read-only query
// over an in-memory table, and draft an e-mail (nothing is sent).
func demoTools() []kernel.Tool {
	return []kernel.Tool{
		{
			Name:        "search",
			Description: "Search the demo documents for a phrase",
			Schema:      json.RawMessage(`{"type":"object","properties":{"q":{"type":"string","minLength":1}},"required":["q"],"additionalProperties":false}`),
			Func: func(_ context.Context, args json.RawMessage) (any, error) {
				var in struct{ Q string }
				if err := json.Unmarshal(args, &in); err != nil {
					return nil, err
				}
				var hits []string
				for _, d := range demoDocs {
					if strings.Contains(strings.ToLower(d), strings.ToLower(in.Q)) {
						hits = append(hits, d)
					}
				}
				return hits, nil
			},
		},
		{
			Name:        "run_shell",
			Description: "Run a shell command (the demo supports only echo)",
			Schema:      json.RawMessage(`{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}`),
			Func: func(_ context.Context, args json.RawMessage) (any, error) {
				var in struct{ Command string }
				if err := json.Unmarshal(args, &in); err != nil {
					return nil, err
				}
				rest, ok := strings.CutPrefix(in.Command, "echo ")
				if !ok {
					return nil, fmt.Errorf("the demo shell runs only echo, not %q", in.Command)
				}
				return rest, nil
			},
		},
		{
			Name:        "database_query",
			Description: "Query the demo users table (SELECT only)",
			Schema:      json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}`),
			Func: func(_ context.Context, args json.RawMessage) (any, error) {
				var in struct{ Query string }
				if err := json.Unmarshal(args, &in); err != nil {
					return nil, err
				}
				if !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(in.Query)), "SELECT") {
					return nil, errors.New("the demo database answers SELECT only")
				}
				return []map[string]any{{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}}, nil
			},
		},
		{
			Name:        "send_email",
			Description: "Draft an e-mail (the demo never sends anything)",
			Schema:      json.RawMessage(`{"type":"object","properties":{"to":{"type":"string"},"body":{"type":"string"}},"required":["to","body"]}`),
			Func: func(_ context.Context, args json.RawMessage) (any, error) {
				return "drafted, not sent", nil
			},
		},
	}
}

// demoStep is one line of the demo's output.
type demoStep struct {
	Step     string `json:"step"`
	Syscall  string `json:"syscall"`
	Code     int    `json:"code"`
	Allowed  bool   `json:"allowed"`
	Action   string `json:"action,omitempty"`
	Rule     string `json:"rule,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Result   any    `json:"result,omitempty"`
	Error    string `json:"error,omitempty"`
	Duration string `json:"duration"`
}

func runDemo(ctx context.Context, p demoParams, stdout io.Writer) error {
	set, docs, err := p.src.load()
	if err != nil {
		if printProblems(stdout, "", err) {
			return silentExit(ExitUsage)
		}
		return err
	}
	engine := policy.NewEngine(policy.EngineOptions{})
	engine.Swap(set)
	log, err := openDemoLog(ctx, p.dataDir)
	if err != nil {
		return err
	}
	defer log.close()
	k, err := kernel.New(kernel.Options{Policy: engine, Auditor: log})
	if err != nil {
		return err
	}
	defer k.Close()
	for _, t := range demoTools() {
		if err := k.RegisterTool(t); err != nil {
			return err
		}
	}
	const id = "demo-agent"
	if _, err := k.Spawn(ctx, kernel.AgentSpec{ID: id, Role: "assistant"}); err != nil {
		return err
	}
	if !p.asJSON {
		fmt.Fprintf(stdout, "policy %s (version %.12s), agent %q\n\n", docNames(docs), set.Version(), id)
	}

	exec := func(tool, args string) kernel.Request {
		return kernel.Exec{Tool: tool, Args: json.RawMessage(args)}
	}
	show := func(step string, req kernel.Request, res kernel.Result, took time.Duration) error {
		s := demoStep{Step: step, Syscall: req.Syscall().String(), Code: res.Code, Allowed: res.Code == 0,
			Action: string(res.Decision.Action), Rule: res.Decision.Rule, Reason: res.Decision.Reason,
			Result: res.Value, Error: res.Error, Duration: took.Round(time.Microsecond).String()}
		if p.asJSON {
			return writeJSONLine(stdout, s)
		}
		verdict := "ALLOW"
		if res.Code != 0 {
			verdict = fmt.Sprintf("DENY %d", res.Code)
		}
		fmt.Fprintf(stdout, "%-44s %-9s", step, verdict)
		switch {
		case res.Code != 0:
			fmt.Fprintf(stdout, " %s\n", res.Error)
		case res.Decision.Rule != "":
			fmt.Fprintf(stdout, " by %s: %s\n", res.Decision.Rule, compactJSON(res.Value))
		default:
			fmt.Fprintf(stdout, " %s\n", compactJSON(res.Value))
		}
		return nil
	}
	do := func(step string, req kernel.Request) error {
		start := time.Now()
		res, _ := k.Syscall(ctx, id, req)
		return show(step, req, res, time.Since(start))
	}

	steps := []struct {
		step string
		req  kernel.Request
	}{
		{"search the docs", exec("search", `{"q":"policy"}`)},
		{"echo through the shell", exec("run_shell", `{"command":"echo hello"}`)},
		{"rm -rf / through the shell", exec("run_shell", `{"command":"rm -rf /"}`)},
		{"SELECT from the database", exec("database_query", `{"query":"SELECT * FROM users"}`)},
		{"DROP TABLE through the database", exec("database_query", `{"query":"DROP TABLE users"}`)},
		{"send an e-mail (needs approval)", exec("send_email", `{"to":"cfo@example.com","body":"wire $1M"}`)},
		{"call a tool that does not exist", exec("format_disk", `{}`)},
		{"write working memory", kernel.Write{Path: "/mem/working/notes.txt", Data: []byte("remember the milk")}},
		{"read working memory", kernel.Read{Path: "/mem/working/notes.txt"}},
		{"write the read-only /policy mount", kernel.Write{Path: "/policy/override.yaml", Data: []byte("rules: []")}},
		{"read outside every mount", kernel.Read{Path: "/etc/passwd"}},
	}
	for _, s := range steps {
		if err := do(s.step, s.req); err != nil {
			return err
		}
	}

	// Pause the agent: its next call waits for SIGCONT.
	if _, err := k.Signal(id, signals.SIGSTOP, "operator", "inspection"); err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	start := time.Now()
	req := exec("search", `{"q":"audit"}`)
	res, _ := k.Syscall(waitCtx, id, req)
	cancel()
	if err := show("SIGSTOP, then search (waits 50ms, gives up)", req, res, time.Since(start)); err != nil {
		return err
	}
	if _, err := k.Signal(id, signals.SIGCONT, "operator", "inspection done"); err != nil {
		return err
	}
	if err := do("SIGCONT, then search", req); err != nil {
		return err
	}
	if _, err := k.Signal(id, signals.SIGKILL, "operator", "kill switch"); err != nil {
		return err
	}
	if err := do("SIGKILL, then search", req); err != nil {
		return err
	}

	events, verr := log.verify(ctx)
	m := k.Metrics()
	if p.asJSON {
		out := map[string]any{"audit_events": events, "audit_chain_valid": verr == nil,
			"syscalls": m.Syscalls, "policy_violations": m.PolicyViolations}
		if verr != nil {
			out["audit_error"] = verr.Error()
		}
		if err := writeJSONLine(stdout, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "\n%d syscalls, %d denied by policy; %d audit events, ", m.Syscalls, m.PolicyViolations, events)
		switch {
		case verr != nil:
			fmt.Fprintf(stdout, "audit log BROKEN: %v\n", verr)
		case p.dataDir != "":
			fmt.Fprintf(stdout, "hash chain and signed checkpoints verified\nthe log is in %s: try  agentos audit verify --data-dir %s\n", p.dataDir, p.dataDir)
		default:
			fmt.Fprintln(stdout, "hash chain verified")
		}
	}
	if verr != nil {
		return silentExit(ExitFailure)
	}
	return nil
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// compactJSON renders a tool result on one line, bounded.
func compactJSON(v any) string {
	if v == nil {
		return ""
	}
	var s string
	switch x := v.(type) {
	case []byte:
		s = fmt.Sprintf("%q", x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(b)
		}
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// docNames joins the names of the documents.
func docNames(docs []*policy.Document) string {
	names := make([]string, len(docs))
	for i, d := range docs {
		names[i] = d.Name
	}
	return strings.Join(names, ", ")
}

// demoLog is the demo's audit log: in memory, or durable in a data
// directory.
type demoLog struct {
	mem     *audit.Memory
	durable *audit.Log
	closers []func() error
}

// openDemoLog opens an in-memory log, or the durable log of dataDir
// (created if needed) when dataDir is not empty.
func openDemoLog(ctx context.Context, dataDir string) (*demoLog, error) {
	if dataDir == "" {
		m, err := audit.NewMemory(audit.MemoryOptions{})
		if err != nil {
			return nil, err
		}
		return &demoLog{mem: m}, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, exitf(ExitUsage, "data directory: %v", err)
	}
	s, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: filepath.Join(dataDir, auditDBFile)})
	if err != nil {
		return nil, exitf(ExitFailure, "%v", err)
	}
	l, err := audit.Open(ctx, audit.Options{Store: s, Dir: dataDir,
		Publishers: []audit.Publisher{audit.FilePublisher{Dir: filepath.Join(dataDir, "checkpoints")}}})
	if err != nil {
		s.Close()
		return nil, exitf(ExitFailure, "%v", err)
	}
	return &demoLog{durable: l, closers: []func() error{l.Close, s.Close}}, nil
}

// Append implements kernel.Auditor.
func (d *demoLog) Append(ctx context.Context, e *audit.Event) error {
	if d.durable != nil {
		return d.durable.Append(ctx, e)
	}
	return d.mem.Append(ctx, e)
}

// verify checks the log and returns how many events it holds. A durable
// log gets a checkpoint first, so the signature is checked too.
func (d *demoLog) verify(ctx context.Context) (int, error) {
	if d.durable == nil {
		return d.mem.Len(), d.mem.Verify()
	}
	if _, err := d.durable.Checkpoint(ctx); err != nil {
		return 0, err
	}
	res, err := d.durable.Verify(ctx, audit.VerifyOptions{})
	return int(res.Size - res.Start), err
}

// close closes a durable log (writing its final checkpoint).
func (d *demoLog) close() error {
	var errs []error
	for _, c := range d.closers {
		errs = append(errs, c())
	}
	d.closers = nil
	return errors.Join(errs...)
}
