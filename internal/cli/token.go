package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentos/agentos/server"
)

type tokenParams struct {
	dataDir string
	asJSON  bool
}

func newTokenCmd() *cobra.Command {
	p := &tokenParams{}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens of the daemon",
		Long: "Tokens authenticate callers of agentos serve. They are stored hashed (SHA-256) in\n" +
			"<data-dir>/tokens.json; a running daemon picks up changes within a second.\n" +
			"Roles: admin (everything), agent (acts only as --agent ID), auditor (reads).",
	}
	cmd.PersistentFlags().StringVar(&p.dataDir, "data-dir", "agentos-data", "data directory holding tokens.json")
	cmd.PersistentFlags().BoolVar(&p.asJSON, "json", false, "print JSON")

	var role, agent, name string
	create := &cobra.Command{
		Use:   "create --role admin|agent|auditor [--agent ID] [--name N]",
		Short: "Create a token and print it once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTokenCreate(p, role, agent, name, cmd.OutOrStdout())
		},
	}
	create.Flags().StringVar(&role, "role", "", "admin, agent or auditor (required)")
	create.Flags().StringVar(&agent, "agent", "", "the agent an agent token acts as")
	create.Flags().StringVar(&name, "name", "", "a label, recorded as the approver name of admin votes")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runTokenList(p, cmd.OutOrStdout()) },
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token by ID (or name)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTokenRevoke(p, args[0], cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func openTokens(p *tokenParams, create bool) (*server.TokenStore, error) {
	if create {
		if err := ensureDir(p.dataDir); err != nil {
			return nil, exitf(ExitFailure, "data dir: %v", err)
		}
	}
	s, err := server.OpenTokenStore(server.TokenStoreOptions{Path: filepath.Join(p.dataDir, server.TokensFile), RecheckInterval: -1})
	if err != nil {
		return nil, exitf(ExitFailure, "%v", err)
	}
	return s, nil
}

func runTokenCreate(p *tokenParams, role, agent, name string, out io.Writer) error {
	if role == "" {
		return exitf(ExitUsage, "--role is required (admin, agent or auditor)")
	}
	r, err := server.ParseRole(role)
	if err != nil {
		return exitf(ExitUsage, "--role: %v", err)
	}
	s, err := openTokens(p, true)
	if err != nil {
		return err
	}
	t, secret, err := s.Create(r, agent, name)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	if p.asJSON {
		return writeJSON(out, map[string]any{"id": t.ID, "name": t.Name, "role": t.Role, "agent": t.Agent, "token": secret})
	}
	fmt.Fprintf(out, "created %s token %s", t.Role, t.ID)
	if t.Agent != "" {
		fmt.Fprintf(out, " for agent %s", t.Agent)
	}
	fmt.Fprintf(out, "\n%s\n(shown once; only its hash is stored)\n", secret)
	return nil
}

func runTokenList(p *tokenParams, out io.Writer) error {
	s, err := openTokens(p, false)
	if err != nil {
		return err
	}
	list := s.List()
	if p.asJSON {
		type row struct {
			ID      string    `json:"id"`
			Name    string    `json:"name"`
			Role    string    `json:"role"`
			Agent   string    `json:"agent,omitempty"`
			Created time.Time `json:"created"`
		}
		rows := []row{}
		for _, t := range list {
			rows = append(rows, row{t.ID, t.Name, string(t.Role), t.Agent, t.Created})
		}
		return writeJSON(out, rows)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tAGENT\tCREATED")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Agent, t.Created.Format(time.RFC3339))
	}
	return tw.Flush()
}

func runTokenRevoke(p *tokenParams, id string, out io.Writer) error {
	s, err := openTokens(p, false)
	if err != nil {
		return err
	}
	t, err := s.Revoke(id)
	if err != nil {
		return exitf(ExitFailure, "%v", err)
	}
	if p.asJSON {
		return writeJSON(out, map[string]any{"revoked": t.ID})
	}
	fmt.Fprintf(out, "revoked %s\n", t.ID)
	return nil
}

// ensureDir creates the data directory, private to its owner.
func ensureDir(dir string) error {
	return os.MkdirAll(dir, 0o700)
}
