package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/agentos/agentos/policy"
)

type validateParams struct {
	asJSON bool
}

func newValidateCmd() *cobra.Command {
	var p validateParams
	cmd := &cobra.Command{
		Use:   "validate [FILE|GLOB]...",
		Short: "Validate the policy files of a project (default: .agents/*.yaml and *.yml)",
		Long: "Validate policy files. With no arguments, every .agents/*.yaml and .agents/*.yml\n" +
			"file of the current directory is checked. Each problem is reported with its\n" +
			"file, line, column and field. Exits 0 when every file is valid, 1 otherwise.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(p, args, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "print the result as JSON")
	return cmd
}

type fileResult struct {
	File     string            `json:"file"`
	Status   string            `json:"status"` // ok, invalid, not_found, empty
	Problems []validateProblem `json:"problems"`
}

func runValidate(p validateParams, args []string, stdout io.Writer) error {
	files, missing, err := expandValidateArgs(args)
	if err != nil {
		return err
	}
	if len(files) == 0 && len(missing) == 0 {
		if p.asJSON {
			return writeJSON(stdout, map[string]any{"valid": true, "files": []fileResult{}})
		}
		fmt.Fprintln(stdout, "No policy files found.")
		return nil
	}
	var results []fileResult
	for _, m := range missing {
		results = append(results, fileResult{File: m, Status: "not_found", Problems: []validateProblem{{File: m, Message: "file not found"}}})
	}
	for _, f := range files {
		results = append(results, validateFile(f))
	}
	valid := 0
	for _, r := range results {
		if r.Status == "ok" || r.Status == "empty" {
			valid++
		}
	}
	if p.asJSON {
		if err := writeJSON(stdout, map[string]any{"valid": valid == len(results), "files": results}); err != nil {
			return err
		}
	} else {
		printValidate(stdout, results, valid)
	}
	if valid != len(results) {
		return silentExit(ExitFailure)
	}
	return nil
}

// expandValidateArgs turns arguments (files or globs) into existing files
// and missing names. With no arguments it globs .agents/*.yaml and *.yml.
func expandValidateArgs(args []string) (files, missing []string, err error) {
	if len(args) == 0 {
		args = []string{filepath.Join(".agents", "*.yaml"), filepath.Join(".agents", "*.yml")}
		for _, g := range args {
			m, _ := filepath.Glob(g)
			files = append(files, m...)
		}
		sort.Strings(files)
		return files, nil, nil
	}
	for _, a := range args {
		m, gerr := filepath.Glob(a)
		if gerr != nil {
			return nil, nil, exitf(ExitUsage, "bad pattern %q: %v", a, gerr)
		}
		if len(m) == 0 {
			missing = append(missing, a)
			continue
		}
		files = append(files, m...)
	}
	return files, missing, nil
}

func validateFile(path string) fileResult {
	r := fileResult{File: path, Status: "ok", Problems: []validateProblem{}}
	data, err := os.ReadFile(path)
	if err != nil {
		r.Status = "invalid"
		r.Problems = append(r.Problems, validateProblem{File: path, Message: err.Error()})
		return r
	}
	docs, err := policy.Parse(path, data)
	if err == nil && len(docs) == 0 {
		r.Status = "empty"
		return r
	}
	if err == nil {
		_, err = policy.Compile(docs, policy.CompileOptions{})
	}
	if err != nil {
		r.Status = "invalid"
		es := policy.AsErrors(err)
		for _, e := range es {
			r.Problems = append(r.Problems, validateProblem{File: e.Loc.File, Line: e.Loc.Line,
				Column: e.Loc.Col, Field: e.Field, Message: e.Msg})
		}
		if len(es) == 0 {
			r.Problems = append(r.Problems, validateProblem{File: path, Message: err.Error()})
		}
	}
	return r
}

func printValidate(w io.Writer, results []fileResult, valid int) {
	var errs []string
	for _, r := range results {
		switch r.Status {
		case "not_found":
			fmt.Fprintf(w, "  ✗ %s — not found\n", r.File)
			continue
		case "ok":
			fmt.Fprintf(w, "  Checking %s... OK\n", r.File)
		case "empty":
			fmt.Fprintf(w, "  Checking %s... EMPTY\n", r.File)
		default:
			fmt.Fprintf(w, "  Checking %s... INVALID\n", r.File)
		}
		for _, pr := range r.Problems {
			e := policy.Error{Loc: policy.Location{File: pr.File, Line: pr.Line, Col: pr.Column}, Field: pr.Field, Msg: pr.Message}
			errs = append(errs, e.Error())
		}
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "\nErrors:")
		for _, e := range errs {
			fmt.Fprintf(w, "  [x] %s\n", e)
		}
	}
	fmt.Fprintln(w)
	if valid == len(results) {
		fmt.Fprintf(w, "All %d policy file(s) valid.\n", len(results))
	} else {
		fmt.Fprintf(w, "Validation failed. %d/%d file(s) valid.\n", valid, len(results))
	}
}
