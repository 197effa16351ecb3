package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agentos/agentos/detect"
)

type checkParams struct {
	staged bool
	ci     bool
	asJSON bool
	format string
}

func newCheckCmd() *cobra.Command {
	var p checkParams
	cmd := &cobra.Command{
		Use:   "check FILE... | --staged",
		Short: "Check source files for destructive SQL, file deletes, secrets, privilege escalation, eval and injection",
		Long: "check runs the built-in code rules over each file, line by line, and prints every violation.\n" +
			"Two rule sets run: the reference's per-line rules (policies block-destructive-sql,\n" +
			"block-file-deletes, block-secret-exposure, block-privilege-escalation, block-arbitrary-exec,\n" +
			"block-sql-injection, block-xss) and the dangerous-operations detector (policy\n" +
			"block-dangerous-operations: destructive shell commands, SQL and code such as os.system or\n" +
			"child_process.exec, in any file), reported after the former's, on lines the former did not flag.\n" +
			"With --staged it checks the staged content of the files in the git index (what would be\n" +
			"committed), not the working tree. Exit status: 0 clean, 1 violations or unreadable files,\n" +
			"2 usage error.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), p, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&p.staged, "staged", false, "check the staged content of added, copied and modified files (git index)")
	cmd.Flags().BoolVar(&p.ci, "ci", false, "CI mode: plain output without colour")
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "shorthand for --format json")
	cmd.Flags().StringVar(&p.format, "format", "text", "output format: text, json or sarif")
	return cmd
}

// checkedFile is one file's content and violations.
type checkedFile struct {
	path       string
	violations []detect.CheckViolation
	err        error
}

func runCheck(ctx context.Context, p checkParams, files []string, stdout, stderr io.Writer) error {
	format := p.format
	if p.asJSON {
		format = "json"
	}
	switch format {
	case "text", "json", "sarif":
	default:
		return exitf(ExitUsage, "unknown --format %q: want text, json or sarif", format)
	}
	if p.staged && len(files) > 0 {
		return exitf(ExitUsage, "give files or --staged, not both")
	}
	if !p.staged && len(files) == 0 {
		return exitf(ExitUsage, "Usage: agentos check <file> [<file> ...] | --staged")
	}
	rules := detect.NewCheckRules()
	dangerous := detect.NewDangerous(detect.DangerousOptions{})
	check := func(path, content string) checkedFile {
		vs, err := rules.CheckWith(ctx, dangerous, content, detect.LanguageOf(path))
		if err != nil {
			return checkedFile{path: path, err: fmt.Errorf("%s: %w", path, err)}
		}
		return checkedFile{path: path, violations: vs}
	}
	var results []checkedFile
	if p.staged {
		names, contents, err := stagedFiles(ctx)
		if err != nil {
			return exitf(ExitFailure, "%v", err)
		}
		if len(names) == 0 && format == "text" {
			fmt.Fprintln(stdout, "No staged files to check.")
			return nil
		}
		for i, n := range names {
			results = append(results, check(n, contents[i]))
		}
	} else {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					err = fmt.Errorf("File not found: %s", f)
				}
				results = append(results, checkedFile{path: f, err: err})
				continue
			}
			results = append(results, check(f, string(data)))
		}
	}
	total, errs := 0, 0
	for _, r := range results {
		total += len(r.violations)
		if r.err != nil {
			errs++
		}
	}
	var err error
	switch format {
	case "json":
		err = writeCheckJSON(stdout, results, total)
	case "sarif":
		err = writeCheckSARIF(stdout, rules, results)
	default:
		writeCheckText(stdout, results)
	}
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintln(stderr, "Error: "+r.err.Error())
		}
	}
	if err != nil {
		return err
	}
	if total > 0 || errs > 0 {
		return silentExit(ExitFailure)
	}
	return nil
}

func writeCheckText(w io.Writer, results []checkedFile) {
	for _, r := range results {
		if r.err != nil {
			continue
		}
		if len(r.violations) == 0 {
			fmt.Fprintf(w, "No policy violations found in %s\n", r.path)
			continue
		}
		fmt.Fprintf(w, "Found %d violations in %s:\n", len(r.violations), r.path)
		for _, v := range r.violations {
			fmt.Fprintln(w)
			fmt.Fprintf(w, "  [%s] Line %d: %s\n", strings.ToUpper(v.Severity), v.Line, v.Violation)
			fmt.Fprintf(w, "    Code: %s\n", v.Code)
			if v.Suggestion != "" {
				fmt.Fprintf(w, "    Suggestion: %s\n", v.Suggestion)
			}
		}
	}
}

type checkJSONViolation struct {
	File       string  `json:"file"`
	Line       int     `json:"line"`
	Code       string  `json:"code"`
	Violation  string  `json:"violation"`
	Policy     string  `json:"policy"`
	Severity   string  `json:"severity"`
	Suggestion *string `json:"suggestion"`
}

func writeCheckJSON(w io.Writer, results []checkedFile, total int) error {
	out := struct {
		Violations []checkJSONViolation `json:"violations"`
		Errors     []string             `json:"errors,omitempty"`
		Summary    struct {
			Total int `json:"total"`
			Files int `json:"files"`
		} `json:"summary"`
	}{Violations: []checkJSONViolation{}}
	for _, r := range results {
		if r.err != nil {
			out.Errors = append(out.Errors, r.err.Error())
			continue
		}
		for _, v := range r.violations {
			jv := checkJSONViolation{File: r.path, Line: v.Line, Code: v.Code, Violation: v.Violation,
				Policy: v.Policy, Severity: v.Severity}
			if v.Suggestion != "" {
				s := v.Suggestion
				jv.Suggestion = &s
			}
			out.Violations = append(out.Violations, jv)
		}
	}
	out.Summary.Total = total
	out.Summary.Files = len(results)
	return writeJSON(w, out)
}

func writeCheckSARIF(w io.Writer, rules *detect.CheckRules, results []checkedFile) error {
	infos := append(rules.Rules(), detect.DangerousRules()...)
	index := map[string]int{}
	srules := make([]detect.SARIFRule, len(infos))
	for i, r := range infos {
		index[r.ID] = i
		sr := detect.SARIFRule{ID: r.ID, Name: r.Policy, ShortDescription: detect.SARIFText{Text: r.Message},
			DefaultConfiguration: detect.SARIFRuleLevel{Level: detect.SARIFLevel(r.Severity)},
			Properties: map[string]any{"security-severity": detect.SARIFSecurityScore(r.Severity),
				"tags": []string{"security", r.Policy}, "precision": "medium"}}
		if r.Suggestion != "" {
			sr.Help = &detect.SARIFText{Text: r.Suggestion}
		}
		srules[i] = sr
	}
	run := detect.SARIFRun{Tool: detect.SARIFTool{Driver: detect.SARIFDriver{Name: "agentos",
		Version: versionString(""), InformationURI: "https://github.com/agentos/agentos", Rules: srules}},
		Results: []detect.SARIFResult{}}
	for _, r := range results {
		if r.err != nil {
			continue
		}
		uri := sarifURI(r.path)
		for _, v := range r.violations {
			msg := v.Violation
			if v.Suggestion != "" {
				msg += ". Suggestion: " + v.Suggestion
			}
			run.Results = append(run.Results, detect.SARIFResult{RuleID: v.RuleID, RuleIndex: index[v.RuleID],
				Level: detect.SARIFLevel(v.Severity), Message: detect.SARIFText{Text: msg},
				Locations: []detect.SARIFLocation{{PhysicalLocation: detect.SARIFPhysical{
					ArtifactLocation: detect.SARIFArtifact{URI: uri}, Region: detect.SARIFRegion{StartLine: v.Line}}}}})
		}
	}
	return writeJSON(w, detect.SARIFLog{Schema: detect.SARIFSchemaURI, Version: "2.1.0", Runs: []detect.SARIFRun{run}})
}

// sarifURI turns a path into the relative, slash-separated URI code
// scanning expects; absolute paths are made relative to the working
// directory when they are inside it.
func sarifURI(p string) string {
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
				p = rel
			}
		}
	}
	p = filepath.ToSlash(filepath.Clean(p))
	// Percent-encode what a URI reference cannot hold literally.
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"%<>\^`+"`"+`{|}#?[]`, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// stagedFiles returns the added, copied and modified files of the git
// index and their staged content (not the working tree's). Binary files
// are skipped.
func stagedFiles(ctx context.Context) ([]string, []string, error) {
	out, err := gitOutput(ctx, "diff", "--cached", "--name-only", "-z", "--diff-filter=ACM")
	if err != nil {
		return nil, nil, err
	}
	var names, contents []string
	for _, n := range strings.Split(string(out), "\x00") {
		if n == "" {
			continue
		}
		data, err := gitOutput(ctx, "show", ":"+n)
		if err != nil {
			return nil, nil, err
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue
		}
		names = append(names, n)
		contents = append(contents, string(data))
	}
	return names, contents, nil
}

func gitOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}
