package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

type hooksParams struct {
	force  bool
	append bool
	asJSON bool
}

func newInstallHooksCmd() *cobra.Command {
	var p hooksParams
	cmd := &cobra.Command{
		Use:   "install-hooks",
		Short: "Install a git pre-commit hook that runs agentos check --staged",
		Long: "install-hooks writes the repository's pre-commit hook so that every commit is checked\n" +
			"with 'agentos check --staged'. An existing hook is kept unless --force (replace it) or\n" +
			"--append (add the check to it) is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInstallHooks(cmd.Context(), p, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&p.force, "force", false, "replace an existing pre-commit hook")
	cmd.Flags().BoolVar(&p.append, "append", false, "append the check to an existing pre-commit hook")
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "print the result as JSON")
	return cmd
}

const hookScript = `#!/usr/bin/env bash
# Agent OS pre-commit hook: refuse commits whose staged content violates the
# agentos check rules (destructive SQL, secrets, rm -rf, eval, ...).
agentos check --staged
`

const hookAppend = `
# Agent OS Pre-commit Check
agentos check --staged || exit 1
`

func runInstallHooks(ctx context.Context, p hooksParams, stdout io.Writer) error {
	if p.force && p.append {
		return exitf(ExitUsage, "give --force or --append, not both")
	}
	out, err := gitOutput(ctx, "rev-parse", "--git-path", "hooks")
	if err != nil {
		return exitf(ExitFailure, "Not a git repository")
	}
	hooksDir := strings.TrimSpace(string(out))
	if err := os.MkdirAll(hooksDir, 0o755); err != nil {
		return exitf(ExitFailure, "create %s: %v", hooksDir, err)
	}
	hook := filepath.Join(hooksDir, "pre-commit")
	existing, err := os.ReadFile(hook)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return exitf(ExitFailure, "%v", err)
	}
	status := "installed"
	var content []byte
	switch {
	case exists && p.append:
		if strings.Contains(string(existing), "agentos check") {
			return reportHook(stdout, p.asJSON, "already_present", hook, "agentos check is already present in "+hook)
		}
		content = append(existing, hookAppend...)
		status = "appended"
	case exists && !p.force:
		if p.asJSON {
			if werr := writeJSON(stdout, map[string]string{"status": "error", "message": "Hook already exists: " + hook,
				"suggestion": "Use --force to replace it or --append to add the check"}); werr != nil {
				return werr
			}
			return silentExit(ExitFailure)
		}
		return exitf(ExitFailure, "Hook already exists: %s\n  Suggestion: use --force to replace it or --append to add the check", hook)
	default:
		content = []byte(hookScript)
	}
	if err := writeFileAtomic(hook, content); err != nil {
		return exitf(ExitFailure, "%v", err)
	}
	if err := os.Chmod(hook, 0o755); err != nil {
		return exitf(ExitFailure, "chmod %s: %v", hook, err)
	}
	return reportHook(stdout, p.asJSON, status, hook, "")
}

func reportHook(w io.Writer, asJSON bool, status, hook, msg string) error {
	if asJSON {
		return writeJSON(w, map[string]string{"status": status, "hook": hook})
	}
	switch status {
	case "installed":
		fmt.Fprintf(w, "Installed pre-commit hook: %s\n", hook)
	case "appended":
		fmt.Fprintf(w, "Appended agentos check to pre-commit hook: %s\n", hook)
	default:
		fmt.Fprintln(w, msg)
	}
	return nil
}
