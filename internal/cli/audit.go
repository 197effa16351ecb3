package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/agentos/agentos/audit"
	auditsqlite "github.com/agentos/agentos/audit/sqlite"
)

// auditDBFile is the audit database's name in the data directory.
const auditDBFile = "audit.db"

// auditParams are the flags shared by the audit commands.
type auditParams struct {
	dataDir string
}

func newAuditCmd() *cobra.Command {
	p := &auditParams{}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Query, export, verify and prove the tamper-evident audit log",
		Long: "The audit log records every governed action, hash-chained and in a Merkle tree\n" +
			"with Ed25519-signed checkpoints. Exit codes: 0 ok, 1 verification failed,\n" +
			"2 usage or unreadable input.",
	}
	cmd.PersistentFlags().StringVar(&p.dataDir, "data-dir", "agentos-data", "data directory holding audit.db and the signing key")
	cmd.AddCommand(newAuditQueryCmd(p), newAuditTailCmd(p), newAuditExportCmd(p), newAuditVerifyCmd(p),
		newAuditProveCmd(p), newAuditVerifyProofCmd(), newAuditCheckpointCmd(p), newAuditPruneCmd(p))
	return cmd
}

// openAuditStore opens the data directory's audit database.
func openAuditStore(ctx context.Context, p *auditParams, readOnly bool) (*auditsqlite.Store, error) {
	path := filepath.Join(p.dataDir, auditDBFile)
	if _, err := os.Stat(path); err != nil {
		return nil, exitf(ExitUsage, "no audit log at %s (see --data-dir)", path)
	}
	s, err := auditsqlite.Open(ctx, auditsqlite.Options{Path: path, ReadOnly: readOnly})
	if err != nil {
		return nil, exitf(ExitUsage, "%v", err)
	}
	return s, nil
}

// openAuditLog opens the audit log for writing: its store and signing key.
func openAuditLog(ctx context.Context, p *auditParams) (*audit.Log, func() error, error) {
	s, err := openAuditStore(ctx, p, false)
	if err != nil {
		return nil, nil, err
	}
	l, err := audit.Open(ctx, audit.Options{Store: s, Dir: p.dataDir, CheckpointInterval: -1, CheckpointEvery: -1,
		Publishers: []audit.Publisher{audit.FilePublisher{Dir: filepath.Join(p.dataDir, "checkpoints")}}})
	if err != nil {
		s.Close()
		return nil, nil, exitf(ExitFailure, "%v", err)
	}
	return l, func() error { return errors.Join(l.Close(), s.Close()) }, nil
}

// filterParams are the event filters of query, tail and export.
type filterParams struct {
	agent, tool, decision, rule, session, trace string
	since, until                                string
}

func (f *filterParams) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.agent, "agent", "", "only events of this agent id")
	fl.StringVar(&f.tool, "tool", "", "only events of this tool")
	fl.StringVar(&f.decision, "decision", "", "only events with this decision action (allow, deny, ...)")
	fl.StringVar(&f.rule, "rule", "", "only events decided by this rule")
	fl.StringVar(&f.session, "session", "", "only events of this session id")
	fl.StringVar(&f.trace, "trace", "", "only events of this trace id")
	fl.StringVar(&f.since, "since", "", "only events at or after this time (RFC 3339, or a duration ago such as 1h)")
	fl.StringVar(&f.until, "until", "", "only events before this time (RFC 3339, or a duration ago)")
}

// query builds the store query; now resolves durations.
func (f *filterParams) query(now time.Time) (audit.Query, error) {
	q := audit.Query{AgentID: f.agent, Tool: f.tool, Action: f.decision, Rule: f.rule, SessionID: f.session, TraceID: f.trace}
	var err error
	if q.Since, err = parseWhen(f.since, now); err != nil {
		return q, exitf(ExitUsage, "--since: %v", err)
	}
	if q.Until, err = parseWhen(f.until, now); err != nil {
		return q, exitf(ExitUsage, "--until: %v", err)
	}
	return q, nil
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 90m", s)
}

type auditQueryParams struct {
	filterParams
	limit  int
	asJSON bool
}

func newAuditQueryCmd(ap *auditParams) *cobra.Command {
	var p auditQueryParams
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Print the newest events matching the filters, as a table or JSON",
		Example: `  agentos audit query --agent agent-7 --decision deny --since 24h
  agentos audit query --trace 4bf92f3577b34da6a3ce929d0e0e4736 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditQuery(cmd.Context(), ap, p, cmd.OutOrStdout())
		},
	}
	p.bind(cmd)
	cmd.Flags().IntVarP(&p.limit, "limit", "n", 100, "at most this many events (0: all)")
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "print a JSON array of events")
	return cmd
}

func runAuditQuery(ctx context.Context, ap *auditParams, p auditQueryParams, stdout io.Writer) error {
	if p.limit < 0 {
		return exitf(ExitUsage, "--limit must not be negative")
	}
	q, err := p.query(time.Now())
	if err != nil {
		return err
	}
	q.Limit = p.limit
	s, err := openAuditStore(ctx, ap, true)
	if err != nil {
		return err
	}
	defer s.Close()
	events := []audit.Event{}
	if err := s.Query(ctx, q, func(e *audit.Event) error {
		events = append(events, *e)
		return nil
	}); err != nil {
		return exitf(ExitFailure, "%v", err)
	}
	if p.asJSON {
		return writeJSON(stdout, events)
	}
	return writeEventTable(stdout, events)
}

// writeEventTable prints events as an aligned table.
func writeEventTable(w io.Writer, events []audit.Event) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tAGENT\tKIND\tTOOL\tDECISION\tRULE\tCODE")
	for i := range events {
		e := &events[i]
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", e.Seq, e.Time.Format(time.RFC3339Nano), cell(e.AgentID),
			e.Kind, cell(e.Tool), cell(e.Decision.Action), cell(e.Decision.Rule), e.Outcome.Code)
	}
	return tw.Flush()
}

// cell makes a value safe for one table cell.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

type auditTailParams struct {
	filterParams
	n        int
	follow   bool
	interval time.Duration
	asJSON   bool
}

func newAuditTailCmd(ap *auditParams) *cobra.Command {
	var p auditTailParams
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print the last events, oldest first; with -f keep printing new ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditTail(cmd.Context(), ap, p, cmd.OutOrStdout())
		},
	}
	p.bind(cmd)
	cmd.Flags().IntVarP(&p.n, "lines", "n", 20, "how many of the last events to print first")
	cmd.Flags().BoolVarP(&p.follow, "follow", "f", false, "keep printing events as they are appended, until interrupted")
	cmd.Flags().DurationVar(&p.interval, "interval", 500*time.Millisecond, "how often -f polls for new events")
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "print one JSON event per line")
	return cmd
}

func runAuditTail(ctx context.Context, ap *auditParams, p auditTailParams, stdout io.Writer) error {
	if p.n < 0 || p.interval <= 0 {
		return exitf(ExitUsage, "--lines must not be negative and --interval must be positive")
	}
	q, err := p.query(time.Now())
	if err != nil {
		return err
	}
	s, err := openAuditStore(ctx, ap, true)
	if err != nil {
		return err
	}
	defer s.Close()
	print := func(events []audit.Event) error {
		if p.asJSON {
			for i := range events {
				b, err := json.Marshal(events[i])
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
					return err
				}
			}
			return nil
		}
		return writeEventTable(stdout, events)
	}
	var last []audit.Event
	q.Limit = p.n
	if p.n > 0 {
		if err := s.Query(ctx, q, func(e *audit.Event) error {
			last = append(last, *e)
			return nil
		}); err != nil {
			return exitf(ExitFailure, "%v", err)
		}
	}
	for i, j := 0, len(last)-1; i < j; i, j = i+1, j-1 {
		last[i], last[j] = last[j], last[i]
	}
	if err := print(last); err != nil {
		return err
	}
	if !p.follow {
		return nil
	}
	head, err := s.Head(ctx)
	if err != nil {
		return exitf(ExitFailure, "%v", err)
	}
	q.FromSeq, q.Ascending, q.Limit = head.Size, true, 1000
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		var batch []audit.Event
		if err := s.Query(ctx, q, func(e *audit.Event) error {
			batch = append(batch, *e)
			return nil
		}); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return exitf(ExitFailure, "%v", err)
		}
		if len(batch) > 0 {
			q.FromSeq = batch[len(batch)-1].Seq + 1
			if err := print(batch); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type auditExportParams struct {
	filterParams
	format string
	output string
}

func newAuditExportCmd(ap *auditParams) *cobra.Command {
	var p auditExportParams
	cmd := &cobra.Command{
		Use:   "export --format jsonl|csv",
		Short: "Write every matching event, oldest first, as JSON lines or CSV",
		Long: "Write every matching event, oldest first. JSON lines carry each event in its\n" +
			"canonical form with its hash, so any RFC 8785 implementation can re-check it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditExport(cmd.Context(), ap, p, cmd.OutOrStdout())
		},
	}
	p.bind(cmd)
	cmd.Flags().StringVar(&p.format, "format", "jsonl", "jsonl or csv")
	cmd.Flags().StringVarP(&p.output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

// csvHeader are the export's CSV columns.
var csvHeader = []string{"seq", "time", "agent_id", "session_id", "trace_id", "kind", "tool", "args",
	"action", "allowed", "rule", "reason", "policy", "policy_version",
	"code", "error", "result_hash", "result_summary", "latency_us", "prev_hash", "hash"}

func runAuditExport(ctx context.Context, ap *auditParams, p auditExportParams, stdout io.Writer) (err error) {
	if p.format != "jsonl" && p.format != "csv" {
		return exitf(ExitUsage, "--format %q: want jsonl or csv", p.format)
	}
	q, err := p.query(time.Now())
	if err != nil {
		return err
	}
	q.Ascending = true
	s, err := openAuditStore(ctx, ap, true)
	if err != nil {
		return err
	}
	defer s.Close()
	w := stdout
	if p.output != "" {
		f, err := os.Create(p.output)
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		defer func() {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = exitf(ExitFailure, "%v", cerr)
			}
		}()
		w = f
	}
	var cw *csv.Writer
	if p.format == "csv" {
		cw = csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return err
		}
	}
	err = s.Query(ctx, q, func(e *audit.Event) error {
		if cw == nil {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "%s\n", b)
			return err
		}
		d, o := &e.Decision, &e.Outcome
		args := string(e.Args)
		if args == "" {
			args = "null"
		}
		return cw.Write([]string{strconv.FormatUint(e.Seq, 10), e.Time.Format(audit.TimeLayout), e.AgentID, e.SessionID,
			e.TraceID, string(e.Kind), e.Tool, csvSafe(args), d.Action, strconv.FormatBool(d.Allowed), csvSafe(d.Rule),
			csvSafe(d.Reason), csvSafe(d.Policy), d.PolicyVersion, strconv.Itoa(o.Code), csvSafe(o.Error), o.ResultHash,
			csvSafe(o.ResultSummary), strconv.FormatInt(e.LatencyUS, 10), e.PrevHash, e.Hash})
	})
	if err != nil {
		return exitf(ExitFailure, "export: %v", err)
	}
	if cw != nil {
		cw.Flush()
		return cw.Error()
	}
	return nil
}

// csvSafe defuses spreadsheet formulas: a cell starting with = + - @ gets a
// leading apostrophe.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type auditVerifyParams struct {
	key       string
	published string
	asJSON    bool
}

func newAuditVerifyCmd(ap *auditParams) *cobra.Command {
	var p auditVerifyParams
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the chain, the Merkle tree, every checkpoint signature and their consistency",
		Long: "Check the whole log: the hash chain, the Merkle tree, every signed checkpoint\n" +
			"and the consistency of each with the next. Exit code 1 names the first bad\n" +
			"sequence number. Use --key with a public key kept elsewhere: the one in the data\n" +
			"directory is only as trustworthy as the directory.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuditVerify(cmd.Context(), ap, p, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&p.key, "key", "", "public key file (default: <data-dir>/"+audit.PublicKeyFile+")")
	cmd.Flags().StringVar(&p.published, "published", "", "directory of published checkpoint notes to check as well (default: <data-dir>/checkpoints if present)")
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "print the result as JSON")
	return cmd
}

func runAuditVerify(ctx context.Context, ap *auditParams, p auditVerifyParams, stdout, stderr io.Writer) error {
	keyPath := p.key
	if keyPath == "" {
		keyPath = filepath.Join(ap.dataDir, audit.PublicKeyFile)
	}
	v, err := audit.LoadVerifier(keyPath)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	pubDir := p.published
	if pubDir == "" {
		pubDir = filepath.Join(ap.dataDir, "checkpoints")
		if _, err := os.Stat(pubDir); err != nil {
			pubDir = ""
		}
	}
	var opts audit.VerifyOptions
	if pubDir != "" {
		names, err := filepath.Glob(filepath.Join(pubDir, "checkpoint-*.note"))
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			opts.Published = append(opts.Published, b)
		}
	}
	s, err := openAuditStore(ctx, ap, true)
	if err != nil {
		return err
	}
	defer s.Close()
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !p.asJSON {
		opts.Progress = func(done, total uint64) {
			const width = 40
			fill := width
			if total > 0 {
				fill = int(done * width / total)
			}
			fmt.Fprintf(f, "\rverifying [%s%s] %d/%d", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, total)
			if done == total {
				fmt.Fprintln(f)
			}
		}
	}
	res, verr := audit.Verify(ctx, s, v, opts)
	out := struct {
		OK          bool    `json:"ok"`
		Start       uint64  `json:"start"`
		Size        uint64  `json:"size"`
		Checkpoints int     `json:"checkpoints"`
		Published   int     `json:"published"`
		FirstBadSeq *uint64 `json:"first_bad_seq,omitempty"`
		Error       string  `json:"error,omitempty"`
	}{OK: verr == nil, Start: res.Start, Size: res.Size, Checkpoints: res.Checkpoints, Published: len(opts.Published)}
	var ce *audit.ChainError
	var ke *audit.CheckpointError
	switch {
	case errors.As(verr, &ce):
		out.FirstBadSeq = &ce.Seq
	case errors.As(verr, &ke):
		out.FirstBadSeq = &ke.Seq
	}
	if verr != nil {
		out.Error = verr.Error()
	}
	if p.asJSON {
		if err := writeJSON(stdout, out); err != nil {
			return err
		}
	} else if verr == nil {
		fmt.Fprintf(stdout, "OK: %d events [%d, %d), %d signed checkpoints verified\n", res.Size-res.Start, res.Start, res.Size, res.Checkpoints)
	}
	switch {
	case verr == nil:
		return nil
	case out.FirstBadSeq != nil:
		if !p.asJSON {
			fmt.Fprintf(stderr, "FAIL: first bad sequence number %d: %v\n", *out.FirstBadSeq, verr)
		}
		return silentExit(ExitFailure)
	default:
		return exitf(ExitFailure, "verify: %v", verr)
	}
}

type auditProveParams struct {
	output string
}

func newAuditProveCmd(ap *auditParams) *cobra.Command {
	var p auditProveParams
	cmd := &cobra.Command{
		Use:   "prove SEQ",
		Short: "Print an inclusion proof of one event against the latest signed checkpoint",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditProve(cmd.Context(), ap, p, args[0], cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&p.output, "output", "o", "", "write the proof to this file instead of standard output")
	return cmd
}

func runAuditProve(ctx context.Context, ap *auditParams, p auditProveParams, arg string, stdout io.Writer) error {
	seq, err := strconv.ParseUint(arg, 10, 63)
	if err != nil {
		return exitf(ExitUsage, "SEQ %q: want a sequence number", arg)
	}
	l, closeLog, err := openAuditLog(ctx, ap)
	if err != nil {
		return err
	}
	proof, err := l.Prove(ctx, seq)
	if cerr := closeLog(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return exitf(ExitFailure, "%v", err)
	}
	if p.output != "" {
		b, err := json.MarshalIndent(proof, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFileAtomic(p.output, append(b, '\n')); err != nil {
			return exitf(ExitFailure, "%v", err)
		}
		return nil
	}
	return writeJSON(stdout, proof)
}

type auditVerifyProofParams struct {
	key string
}

func newAuditVerifyProofCmd() *cobra.Command {
	var p auditVerifyProofParams
	cmd := &cobra.Command{
		Use:   "verify-proof --key PUBLIC_KEY_FILE [PROOF_FILE|-]",
		Short: "Check an inclusion proof with only the log's public key",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := "-"
			if len(args) == 1 {
				file = args[0]
			}
			return runAuditVerifyProof(p, file, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&p.key, "key", "", "the log's public key file ("+audit.PublicKeyFile+"); required")
	return cmd
}

// maxProofBytes bounds a proof file.
const maxProofBytes = 16 << 20

func runAuditVerifyProof(p auditVerifyProofParams, file string, stdin io.Reader, stdout, stderr io.Writer) error {
	if p.key == "" {
		return exitf(ExitUsage, "--key PUBLIC_KEY_FILE is required")
	}
	v, err := audit.LoadVerifier(p.key)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	var data []byte
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, maxProofBytes+1))
	} else {
		data, err = readFileLimited(file, maxProofBytes)
	}
	if err != nil {
		return exitf(ExitUsage, "read proof: %v", err)
	}
	if len(data) > maxProofBytes {
		return exitf(ExitUsage, "proof is larger than %d bytes", maxProofBytes)
	}
	// A proof from the daemon also names the key it was signed with. That
	// key is never trusted: the proof is checked with the key given by
	// --key, and a proof naming another key fails.
	var pf struct {
		audit.Proof
		VerifierKey string `json:"verifier_key,omitempty"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pf); err != nil {
		fmt.Fprintf(stderr, "FAIL: proof is not valid JSON: %v\n", err)
		return silentExit(ExitFailure)
	}
	if pf.VerifierKey != "" {
		trusted, err := os.ReadFile(p.key)
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		if strings.TrimSpace(string(trusted)) != strings.TrimSpace(pf.VerifierKey) {
			fmt.Fprintf(stderr, "FAIL: the proof names the key %q, not the key in %s\n", pf.VerifierKey, p.key)
			return silentExit(ExitFailure)
		}
	}
	proof := pf.Proof
	if err := audit.VerifyProof(&proof, v); err != nil {
		fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return silentExit(ExitFailure)
	}
	fmt.Fprintf(stdout, "OK: event %d (hash %s) is in the log signed by %s at tree size %d\n",
		proof.Event.Seq, proof.Event.Hash, v.Name(), proof.TreeSize)
	return nil
}

func newAuditCheckpointCmd(ap *auditParams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Write, sign and publish a checkpoint now, and print it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, closeLog, err := openAuditLog(cmd.Context(), ap)
			if err != nil {
				return err
			}
			c, err := l.Checkpoint(cmd.Context())
			if cerr := closeLog(); err == nil && cerr != nil {
				err = cerr
			}
			if err != nil {
				return exitf(ExitFailure, "%v", err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"size": c.Size, "root": c.Root.String(), "note": string(c.Note)})
			}
			_, err = cmd.OutOrStdout().Write(c.Note)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the checkpoint as JSON")
	return cmd
}

func newAuditPruneCmd(ap *auditParams) *cobra.Command {
	var before uint64
	cmd := &cobra.Command{
		Use:   "prune --before SEQ",
		Short: "Delete the events before SEQ, keeping a signed anchor so the rest still verifies",
		Long: "Delete the events before SEQ. The log is verified first and a failing log is not\n" +
			"pruned. The anchor keeps the hash of event SEQ-1, the Merkle subtree roots that\n" +
			"cover the deleted events and a checkpoint signed at size SEQ binding both.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if before == 0 {
				return exitf(ExitUsage, "--before SEQ is required and must be positive")
			}
			l, closeLog, err := openAuditLog(cmd.Context(), ap)
			if err != nil {
				return err
			}
			a, err := l.Prune(cmd.Context(), before)
			if cerr := closeLog(); err == nil && cerr != nil {
				err = cerr
			}
			if err != nil {
				return exitf(ExitFailure, "%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pruned events [0, %d); anchor checkpoint:\n%s", a.Size, a.Checkpoint.Note)
			return nil
		},
	}
	cmd.Flags().Uint64Var(&before, "before", 0, "delete the events with a sequence number below this")
	return cmd
}
