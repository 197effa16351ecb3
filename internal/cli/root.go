package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // a denial, finding, failed check or failed scenario
	ExitUsage   = 2 // bad flags or arguments, unreadable or unparsable input
)

// Env is everything a command may touch of its process.
type Env struct {
	// Args are the command-line arguments without the program name.
	Args []string
	// Stdin, Stdout and Stderr are the standard streams.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Version is the release version stamped at build time; "" means the
	// module version from the build info, or "devel".
	Version string
}

// exitError carries an exit code and an optional message for stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// exitf returns an error that makes Main print the message and exit with code.
func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// silentExit exits with code without printing anything more.
func silentExit(code int) error { return &exitError{code: code} }

// Main runs the command line in env and returns the process exit code.
func Main(ctx context.Context, env Env) int {
	root := newRoot(env)
	root.SetArgs(env.Args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(env.Stderr, "agentos: "+ee.msg)
		}
		return ee.code
	}
	// Cobra's own errors are usage errors (unknown command or flag, wrong
	// number of arguments).
	fmt.Fprintln(env.Stderr, "agentos: "+err.Error())
	fmt.Fprintln(env.Stderr, "Run 'agentos --help' for usage.")
	return ExitUsage
}

func newRoot(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "agentos",
		Short: "A governance kernel for AI agents",
		Long: "agentos decides every agent action against declarative policy, can ask a human,\n" +
			"runs the action, scans what comes back and records it in a tamper-evident log.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(env.Version),
	}
	root.SetVersionTemplate("agentos {{.Version}}\n")
	root.AddCommand(
		newVersionCmd(env),
		newPolicyCmd(),
		newValidateCmd(),
		newAuditCmd(),
		newDemoCmd(),
		newMCPCmd(),
		newCheckCmd(), newScanCmd(), newInstallHooksCmd(), newInitCmd(),
		newServeCmd(), newTokenCmd(),
	)
	return root
}

// versionString returns the stamped version, the module version from the
// build info, or "devel".
func versionString(stamped string) string {
	if stamped != "" {
		return stamped
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func newVersionCmd(env Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the agentos version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := versionString(env.Version)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"version": v})
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "agentos "+v)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
