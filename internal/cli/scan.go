package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agentos/agentos/detect"
)

type scanParams struct {
	detector string
	format   string
	redact   bool
	text     string
}

func newScanCmd() *cobra.Command {
	var p scanParams
	cmd := &cobra.Command{
		Use:   "scan [FILE...|-]",
		Short: "Run detectors (secrets, pii, dangerous, injection) over text, files or stdin",
		Long: "scan runs one detector or all of them over each file (or standard input with '-' or no\n" +
			"arguments, or the --text value) and prints every finding with its location.\n" +
			"With --redact it prints the input with secrets and personal data replaced instead.\n" +
			"Exit status: 0 nothing found, 1 findings, 2 usage error or unreadable input.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd.Context(), p, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&p.detector, "detector", "all", "detector: secrets, pii, dangerous, injection or all")
	cmd.Flags().StringVar(&p.format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&p.redact, "redact", false, "print the input with secrets and personal data redacted (secrets and pii detectors)")
	cmd.Flags().StringVar(&p.text, "text", "", "scan this text instead of files")
	return cmd
}

// redactor is what scan --redact needs of a detector.
type redactor interface {
	RedactString(s string) (string, []detect.Finding)
}

// scanDetectors builds the requested detectors.
func scanDetectors(name string) ([]detect.Detector, error) {
	var out []detect.Detector
	all := name == "all"
	if all || name == "secrets" {
		out = append(out, detect.NewSecrets(detect.SecretsOptions{}))
	}
	if all || name == "pii" {
		out = append(out, detect.NewPII(detect.PIIOptions{}))
	}
	if all || name == "dangerous" {
		out = append(out, detect.NewDangerous(detect.DangerousOptions{}))
	}
	if all || name == "injection" {
		inj, err := detect.NewInjection(detect.InjectionOptions{})
		if err != nil {
			return nil, fmt.Errorf("injection detector: %w", err)
		}
		out = append(out, inj)
	}
	if len(out) == 0 {
		return nil, exitf(ExitUsage, "unknown --detector %q: want secrets, pii, dangerous, injection or all", name)
	}
	return out, nil
}

type scanInput struct {
	name, text string
}

type scanJSONFinding struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	detect.Finding
}

func runScan(ctx context.Context, p scanParams, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if p.format != "text" && p.format != "json" {
		return exitf(ExitUsage, "unknown --format %q: want text or json", p.format)
	}
	dets, err := scanDetectors(p.detector)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return exitf(ExitFailure, "%v", err)
	}
	var inputs []scanInput
	switch {
	case p.text != "":
		if len(args) > 0 {
			return exitf(ExitUsage, "give --text or files, not both")
		}
		inputs = append(inputs, scanInput{"<text>", p.text})
	case len(args) == 0 || (len(args) == 1 && args[0] == "-"):
		data, err := io.ReadAll(io.LimitReader(stdin, detect.DefaultMaxInput+1))
		if err != nil {
			return exitf(ExitUsage, "read standard input: %v", err)
		}
		inputs = append(inputs, scanInput{"<stdin>", string(data)})
	default:
		for _, f := range args {
			data, err := os.ReadFile(f)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return exitf(ExitUsage, "file not found: %s", f)
				}
				return exitf(ExitUsage, "%v", err)
			}
			inputs = append(inputs, scanInput{f, string(data)})
		}
	}
	if p.redact {
		return runRedact(dets, inputs, stdout)
	}
	var all []scanJSONFinding
	for _, in := range inputs {
		var fs []detect.Finding
		for _, d := range dets {
			got, err := d.Scan(ctx, in.text)
			if err != nil {
				// Fail closed: an input that cannot be scanned is a finding.
				return exitf(ExitFailure, "%s: %s detector: %v", in.name, d.Name(), err)
			}
			fs = append(fs, got...)
		}
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Start < fs[j].Start })
		for _, f := range fs {
			line, col := lineCol(in.text, f.Start)
			all = append(all, scanJSONFinding{File: in.name, Line: line, Column: col, Finding: f})
		}
	}
	if p.format == "json" {
		if all == nil {
			all = []scanJSONFinding{}
		}
		if err := writeJSON(stdout, map[string]any{"findings": all, "summary": map[string]int{"total": len(all)}}); err != nil {
			return err
		}
	} else {
		for _, f := range all {
			pos := fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
			if f.Line == 0 {
				pos = f.File // a finding about the whole input (the model's verdict)
			}
			fmt.Fprintf(stdout, "%s: %s %s/%s: %s\n", pos, f.Severity, f.Detector, f.Rule, f.Explanation)
			if f.Suggestion != "" {
				fmt.Fprintf(stdout, "    Suggestion: %s\n", f.Suggestion)
			}
		}
		if len(all) == 0 {
			fmt.Fprintln(stdout, "No findings.")
		}
	}
	if len(all) > 0 {
		return silentExit(ExitFailure)
	}
	return nil
}

// runRedact prints each input with every redacting detector applied.
func runRedact(dets []detect.Detector, inputs []scanInput, stdout io.Writer) error {
	var rs []redactor
	for _, d := range dets {
		if r, ok := d.(redactor); ok {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return exitf(ExitUsage, "--redact needs the secrets or pii detector")
	}
	for _, in := range inputs {
		s := in.text
		for _, r := range rs {
			s, _ = r.RedactString(s)
		}
		if _, err := io.WriteString(stdout, s); err != nil {
			return err
		}
		if !strings.HasSuffix(s, "\n") {
			fmt.Fprintln(stdout)
		}
	}
	return nil
}

// lineCol returns the 1-based line and byte column of offset off in s.
func lineCol(s string, off int) (int, int) {
	if off < 0 {
		return 0, 0
	}
	off = min(off, len(s))
	line := 1 + strings.Count(s[:off], "\n")
	col := off - strings.LastIndexByte(s[:off], '\n')
	return line, col
}
