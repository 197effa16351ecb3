package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/agentos/agentos/policy"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate, test, evaluate, compare and format policy files",
	}
	cmd.AddCommand(newPolicyValidateCmd(), newPolicyTestCmd(), newPolicyEvalCmd(),
		newPolicyDiffCmd(), newPolicyFmtCmd())
	return cmd
}

// checkPathsExist returns a usage error naming the first missing path.
func checkPathsExist(paths []string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return exitf(ExitUsage, "file not found: %s", p)
			}
			return exitf(ExitUsage, "%v", err)
		}
	}
	return nil
}

// printProblems writes every located problem in err to w, one per line with
// prefix, and reports whether err carried located problems.
func printProblems(w io.Writer, prefix string, err error) bool {
	es := policy.AsErrors(err)
	if len(es) == 0 {
		return false
	}
	for _, e := range es {
		fmt.Fprintln(w, prefix+e.Error())
	}
	return true
}

type policyValidateParams struct {
	src    policySource
	asJSON bool
}

func newPolicyValidateCmd() *cobra.Command {
	var p policyValidateParams
	cmd := &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check policy files: syntax, schema, regexps and CEL; report every problem with its location",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyValidate(p, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "print the result as JSON")
	cmd.Flags().StringArrayVar(&p.src.regoFiles, "rego", nil, "also check this Rego module (repeatable)")
	cmd.Flags().StringVar(&p.src.regoQuery, "rego-query", "", "Rego query giving the decision (default data.agentos.allow)")
	cmd.Flags().StringArrayVar(&p.src.cedarFiles, "cedar", nil, "also check this Cedar policy file (repeatable)")
	return cmd
}

type validateProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func runPolicyValidate(p policyValidateParams, paths []string, stdout, stderr io.Writer) error {
	if err := checkPathsExist(paths); err != nil {
		return err
	}
	src := p.src
	src.paths = paths
	set, _, err := src.load()
	if p.asJSON {
		out := struct {
			Valid    bool              `json:"valid"`
			Version  string            `json:"version,omitempty"`
			Problems []validateProblem `json:"problems"`
		}{Valid: err == nil, Problems: []validateProblem{}}
		if err == nil {
			out.Version = set.Version()
		}
		for _, e := range policy.AsErrors(err) {
			out.Problems = append(out.Problems, validateProblem{File: e.Loc.File, Line: e.Loc.Line,
				Column: e.Loc.Col, Field: e.Field, Message: e.Msg})
		}
		if err != nil && len(out.Problems) == 0 {
			out.Problems = append(out.Problems, validateProblem{Message: err.Error()})
		}
		if werr := writeJSON(stdout, out); werr != nil {
			return werr
		}
		if err != nil {
			return silentExit(ExitFailure)
		}
		return nil
	}
	if err != nil {
		if !printProblems(stderr, "FAIL: ", err) {
			fmt.Fprintln(stderr, "FAIL: "+err.Error())
		}
		return silentExit(ExitFailure)
	}
	fmt.Fprintln(stdout, "OK")
	return nil
}

type policyEvalParams struct {
	src       policySource
	input     string
	inputFile string
	asJSON    bool
}

func newPolicyEvalCmd() *cobra.Command {
	var p policyEvalParams
	cmd := &cobra.Command{
		Use:   "eval [--policy FILE|DIR]... (--input JSON | --input-file FILE|-)",
		Short: "Decide one action given as JSON and print the decision and the rule trace",
		Long: "Decide one action given as JSON and print the decision and the rule trace.\n" +
			"Without --policy the built-in default policy decides. Exit code 0 means allowed,\n" +
			"1 means denied.",
		Example: `  agentos policy eval --input '{"tool_name":"run_shell","args":{"command":"rm -rf /"}}'
  agentos policy eval --policy examples/policies --input-file action.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPolicyEval(cmd.Context(), p, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	p.src.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&p.input, "input", "i", "", "the action as a JSON object")
	cmd.Flags().StringVar(&p.inputFile, "input-file", "", "read the action from a JSON file ('-' for standard input)")
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "print the decision as JSON")
	return cmd
}

// maxInputBytes bounds an action read by policy eval.
const maxInputBytes = 8 << 20

// readInput decodes the action object from --input or --input-file.
func readInput(p policyEvalParams, stdin io.Reader) (map[string]any, error) {
	var data []byte
	switch {
	case p.input != "" && p.inputFile != "":
		return nil, exitf(ExitUsage, "give --input or --input-file, not both")
	case p.input != "":
		data = []byte(p.input)
	case p.inputFile == "-":
		b, err := io.ReadAll(io.LimitReader(stdin, maxInputBytes+1))
		if err != nil {
			return nil, exitf(ExitUsage, "read standard input: %v", err)
		}
		data = b
	case p.inputFile != "":
		b, err := readFileLimited(p.inputFile, maxInputBytes)
		if err != nil {
			return nil, err
		}
		data = b
	default:
		return nil, exitf(ExitUsage, "give the action with --input JSON or --input-file FILE")
	}
	if len(data) > maxInputBytes {
		return nil, exitf(ExitUsage, "input is larger than %d bytes", maxInputBytes)
	}
	in, err := decodeObject(data)
	if err != nil {
		return nil, exitf(ExitUsage, "input: %v", err)
	}
	return in, nil
}

// decodeObject decodes one JSON object, keeping numbers exact.
func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if in == nil {
		return nil, errors.New("not a JSON object: null")
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	return in, nil
}

// readFileLimited reads a whole file of at most limit bytes.
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, exitf(ExitUsage, "file not found: %s", path)
		}
		return nil, exitf(ExitUsage, "%v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, exitf(ExitUsage, "read %s: %v", path, err)
	}
	if int64(len(b)) > limit {
		return nil, exitf(ExitUsage, "%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

func runPolicyEval(ctx context.Context, p policyEvalParams, stdin io.Reader, stdout, stderr io.Writer) error {
	in, err := readInput(p, stdin)
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
	d, steps := set.Explain(ctx, in)
	if p.asJSON {
		if err := writeJSON(stdout, evalJSON(d, steps)); err != nil {
			return err
		}
	} else {
		printDecision(stdout, d, steps)
	}
	if !d.Allowed {
		return silentExit(ExitFailure)
	}
	return nil
}

// decisionJSON is the stable JSON form of a decision printed by the CLI.
type decisionJSON struct {
	Allowed       bool        `json:"allowed"`
	Action        string      `json:"action"`
	Rule          string      `json:"rule,omitempty"`
	Reason        string      `json:"reason"`
	Policy        string      `json:"policy,omitempty"`
	PolicyVersion string      `json:"policy_version"`
	Error         bool        `json:"error,omitempty"`
	OnViolation   string      `json:"on_violation,omitempty"`
	Limit         string      `json:"limit,omitempty"`
	Trace         []traceJSON `json:"trace"`
}

type traceJSON struct {
	Rule     string `json:"rule"`
	Policy   string `json:"policy,omitempty"`
	Priority int64  `json:"priority"`
	Matched  bool   `json:"matched"`
	Detail   string `json:"detail,omitempty"`
}

func evalJSON(d policy.Decision, steps []policy.Step) decisionJSON {
	out := decisionJSON{Allowed: d.Allowed, Action: string(d.Action), Rule: d.Rule, Reason: d.Reason,
		Policy: d.Policy, PolicyVersion: d.Version, Error: d.Error, OnViolation: d.OnViolation,
		Trace: []traceJSON{}}
	if d.Limit.N > 0 {
		out.Limit = d.Limit.String()
	}
	for _, s := range steps {
		out.Trace = append(out.Trace, traceJSON{Rule: s.Rule, Policy: s.Policy, Priority: s.Priority,
			Matched: s.Matched, Detail: s.Why})
	}
	return out
}

func printDecision(w io.Writer, d policy.Decision, steps []policy.Step) {
	verdict := "DENY"
	if d.Allowed {
		verdict = "ALLOW"
	}
	fmt.Fprintf(w, "%s (%s)\n", verdict, d.Action)
	if d.Rule != "" {
		fmt.Fprintf(w, "  rule:    %s\n", d.Rule)
	}
	if d.Policy != "" {
		fmt.Fprintf(w, "  policy:  %s\n", d.Policy)
	}
	fmt.Fprintf(w, "  reason:  %s\n", d.Reason)
	if d.Limit.N > 0 {
		fmt.Fprintf(w, "  limit:   %s\n", d.Limit)
	}
	if d.OnViolation != "" {
		fmt.Fprintf(w, "  on violation: %s\n", d.OnViolation)
	}
	fmt.Fprintf(w, "  version: %s\n", d.Version)
	if len(steps) > 0 {
		fmt.Fprintln(w, "trace:")
		for _, s := range steps {
			mark := "   "
			if s.Matched {
				mark = " ✓ "
			}
			line := fmt.Sprintf(" %s%s (priority %d)", mark, s.Rule, s.Priority)
			if s.Why != "" && !s.Matched {
				line += ": " + s.Why
			}
			fmt.Fprintln(w, line)
		}
	}
}

// scenarioFile is the reference's scenario format for policy test.
type scenarioFile struct {
	Scenarios []scenario `json:"scenarios"`
}

type scenario struct {
	Name            string         `json:"name"`
	Context         map[string]any `json:"context"`
	ExpectedAction  string         `json:"expected_action"`
	ExpectedAllowed *bool          `json:"expected_allowed"`
}

func newPolicyTestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "test POLICY SCENARIOS",
		Short: "Run scenarios {scenarios: [{name, context, expected_action, expected_allowed}]} against a policy",
		Long: "Run scenarios against a policy. The scenarios file (YAML or JSON) holds\n" +
			"{scenarios: [{name, context, expected_action, expected_allowed}]}. Prints\n" +
			"\"P/T scenarios passed\"; exits 0 when all pass, 1 when any fails, 2 when a file\n" +
			"is missing or unreadable or there are no scenarios.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyTest(cmd.Context(), args[0], args[1], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	return cmd
}

func runPolicyTest(ctx context.Context, policyPath, scenariosPath string, stdout, stderr io.Writer) error {
	if err := checkPathsExist([]string{policyPath, scenariosPath}); err != nil {
		return err
	}
	src := policySource{paths: []string{policyPath}}
	set, _, err := src.load()
	if err != nil {
		if printProblems(stderr, "ERROR: ", err) {
			return silentExit(ExitUsage)
		}
		return exitf(ExitUsage, "%v", err)
	}
	sf, err := readScenarios(scenariosPath)
	if err != nil {
		return err
	}
	if len(sf.Scenarios) == 0 {
		fmt.Fprintln(stderr, "ERROR: No scenarios provided")
		return silentExit(ExitUsage)
	}
	passed := 0
	for i, sc := range sf.Scenarios {
		name := sc.Name
		if name == "" {
			name = fmt.Sprintf("scenario %d", i+1)
		}
		in := sc.Context
		if in == nil {
			in = map[string]any{}
		}
		d := set.Evaluate(ctx, in)
		var fails []string
		if sc.ExpectedAction != "" && string(d.Action) != sc.ExpectedAction {
			fails = append(fails, fmt.Sprintf("expected %s, got %s", sc.ExpectedAction, d.Action))
		}
		if sc.ExpectedAllowed != nil && *sc.ExpectedAllowed != d.Allowed {
			fails = append(fails, fmt.Sprintf("expected allowed=%t, got %t", *sc.ExpectedAllowed, d.Allowed))
		}
		if len(fails) > 0 {
			fmt.Fprintf(stderr, "FAIL: %s: %s\n", name, strings.Join(fails, "; "))
			continue
		}
		passed++
	}
	fmt.Fprintf(stdout, "%d/%d scenarios passed\n", passed, len(sf.Scenarios))
	if passed != len(sf.Scenarios) {
		return silentExit(ExitFailure)
	}
	return nil
}

// readScenarios reads a scenarios file in YAML or JSON.
func readScenarios(path string) (*scenarioFile, error) {
	data, err := readFileLimited(path, maxInputBytes)
	if err != nil {
		return nil, err
	}
	var obj any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, exitf(ExitUsage, "could not parse file: %s: %v", path, err)
	}
	// Round-trip through JSON into the typed form, keeping numbers exact.
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, exitf(ExitUsage, "could not parse file: %s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var sf scenarioFile
	if err := dec.Decode(&sf); err != nil {
		return nil, exitf(ExitUsage, "could not parse file: %s: %v", path, err)
	}
	return &sf, nil
}

func newPolicyDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Compare two policy files rule by rule",
		Long:  "Compare two policy files rule by rule. Exits 0 when they are equal, 1 when they differ.",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyDiff(args[0], args[1], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

func runPolicyDiff(a, b string, stdout, stderr io.Writer) error {
	if err := checkPathsExist([]string{a, b}); err != nil {
		return err
	}
	da, err := policy.LoadFiles(a)
	if err != nil {
		printProblems(stderr, "ERROR: ", err)
		return silentExit(ExitUsage)
	}
	db, err := policy.LoadFiles(b)
	if err != nil {
		printProblems(stderr, "ERROR: ", err)
		return silentExit(ExitUsage)
	}
	lines := policy.Diff(da, db)
	if len(lines) == 0 {
		fmt.Fprintln(stdout, "No differences")
		return nil
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return silentExit(ExitFailure)
}

type policyFmtParams struct {
	write bool
	check bool
}

func newPolicyFmtCmd() *cobra.Command {
	var p policyFmtParams
	cmd := &cobra.Command{
		Use:   "fmt FILE...",
		Short: "Print policy files in canonical form (-w rewrites them, --check lists unformatted files)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyFmt(p, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVarP(&p.write, "write", "w", false, "rewrite each file in place")
	cmd.Flags().BoolVar(&p.check, "check", false, "list files that are not in canonical form and exit 1 if any")
	return cmd
}

func runPolicyFmt(p policyFmtParams, paths []string, stdout, stderr io.Writer) error {
	if p.write && p.check {
		return exitf(ExitUsage, "give -w or --check, not both")
	}
	if err := checkPathsExist(paths); err != nil {
		return err
	}
	unformatted := 0
	for _, path := range paths {
		orig, err := readFileLimited(path, maxInputBytes)
		if err != nil {
			return err
		}
		docs, err := policy.Parse(path, orig)
		if err != nil {
			printProblems(stderr, "", err)
			return silentExit(ExitUsage)
		}
		var buf bytes.Buffer
		if err := policy.Format(&buf, docs); err != nil {
			return exitf(ExitFailure, "format %s: %v", path, err)
		}
		switch {
		case p.check:
			if !bytes.Equal(orig, buf.Bytes()) {
				fmt.Fprintln(stdout, path)
				unformatted++
			}
		case p.write:
			if bytes.Equal(orig, buf.Bytes()) {
				continue
			}
			if err := writeFileAtomic(path, buf.Bytes()); err != nil {
				return exitf(ExitFailure, "%v", err)
			}
		default:
			if _, err := stdout.Write(buf.Bytes()); err != nil {
				return err
			}
		}
	}
	if unformatted > 0 {
		return silentExit(ExitFailure)
	}
	return nil
}
