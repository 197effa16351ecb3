package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

type initParams struct {
	path     string
	template string
	force    bool
	asJSON   bool
}

func newInitCmd() *cobra.Command {
	var p initParams
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create .agents/ with agents.md, security.md and a policy that agentos validate accepts",
		Long: "init writes .agents/agents.md (what the agents may do), .agents/security.md (kernel\n" +
			"mode and signals) and .agents/policy.yaml, a policy document for the chosen template:\n" +
			"strict (deny by default; approvals for writes and e-mail; rate-limited API calls),\n" +
			"permissive (allow, but block destructive operations) or audit (allow and record).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(p, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&p.path, "path", ".", "directory to initialise")
	cmd.Flags().StringVar(&p.template, "template", "strict", "policy template: strict, permissive or audit")
	cmd.Flags().BoolVar(&p.force, "force", false, "overwrite an existing .agents directory")
	cmd.Flags().BoolVar(&p.asJSON, "json", false, "print the result as JSON")
	return cmd
}

const agentsMD = `# Agents

You can:
- Query databases (read-only by default)
- Call approved APIs
- Generate reports

Constraints:
- Every action passes through the agentos kernel and is decided by .agents/policy.yaml.
- Destructive operations (DROP, TRUNCATE, rm -rf) are refused.
- Secrets and personal data are redacted from what is recorded.

See https://github.com/agentos/agentos for the policy language.
`

var securityMD = map[string]string{
	"strict": `kernel:
  version: "1.0"
  mode: strict
signals: [SIGSTOP, SIGKILL, SIGINT]
policies:
  - action: database_query
    mode: read_only
  - action: file_write
    requires_approval: true
  - action: api_call
    rate_limit: "100/hour"
  - action: send_email
    requires_approval: true
observability:
  metrics: true
  traces: true
  flight_recorder: true
`,
	"permissive": `kernel:
  version: "1.0"
  mode: permissive
signals: [SIGSTOP, SIGKILL]
policies:
  - action: "*"
    effect: allow
observability:
  metrics: true
  traces: true
  flight_recorder: true
`,
	"audit": `kernel:
  version: "1.0"
  mode: audit
signals: [SIGSTOP]
policies:
  - action: "*"
    effect: allow
    log: true
observability:
  metrics: true
  traces: true
  flight_recorder: true
`,
}

const policyCommon = `  - name: block-destructive-sql
    priority: 100
    match:
      tools: [database_query, "sql_*"]
    when: 'has(args.query) && args.query.matches("(?i)\\b(drop|truncate)\\s+(table|database|schema)\\b")'
    action: deny
    message: Destructive SQL (DROP or TRUNCATE) is not allowed
  - name: block-recursive-delete
    priority: 100
    match:
      tools: [shell, run_shell, execute_command]
    condition:
      field: args.command
      operator: matches
      value: '\brm\s+-[a-zA-Z]*r[a-zA-Z]*f?\s+(/|~)'
    action: deny
    message: Recursive deletes of the root or a home directory are not allowed
`

var policyYAML = map[string]string{
	"strict": `# Strict: anything no rule allows is denied.
version: "1.0"
name: strict
description: Deny by default; read-only queries; people approve writes and e-mail
defaults:
  action: deny
  max_tokens: 4096
  max_tool_calls: 10
rules:
` + policyCommon + `  - name: approve-file-writes
    priority: 60
    condition: {field: tool_name, operator: eq, value: file_write}
    action: require_approval
    message: File writes need a person's approval
  - name: approve-email
    priority: 60
    condition: {field: tool_name, operator: eq, value: send_email}
    action: require_approval
    message: E-mail needs a person's approval
  - name: allow-read-only-queries
    priority: 50
    condition: {field: tool_name, operator: eq, value: database_query}
    when: 'has(args.query) && args.query.matches("(?i)^\\s*(select|with|explain|show)\\b")'
    action: allow
  - name: allow-api-calls
    priority: 40
    condition: {field: tool_name, operator: eq, value: api_call}
    action: allow
  - name: allow-file-reads
    priority: 40
    condition: {field: tool_name, operator: in, value: [file_read, search]}
    action: allow
`,
	"permissive": `# Permissive: allow by default, but never destructive operations.
version: "1.0"
name: permissive
description: Allow by default; block destructive SQL and recursive deletes
defaults:
  action: allow
rules:
` + policyCommon,
	"audit": `# Audit: allow everything and record it in the audit log.
version: "1.0"
name: audit
description: Allow and record every action
defaults:
  action: audit
rules:
  - name: audit-everything
    priority: 1
    condition: {field: tool_name, operator: ne, value: ""}
    action: audit
    message: Recorded for review
`,
}

func runInit(p initParams, stdout io.Writer) error {
	if _, ok := policyYAML[p.template]; !ok {
		return exitf(ExitUsage, "unknown --template %q: want strict, permissive or audit", p.template)
	}
	dir := filepath.Join(p.path, ".agents")
	if _, err := os.Stat(dir); err == nil && !p.force {
		if p.asJSON {
			if werr := writeJSON(stdout, map[string]string{"status": "error", "message": dir + " already exists",
				"suggestion": "Use --force to overwrite: agentos init --force"}); werr != nil {
				return werr
			}
			return silentExit(ExitFailure)
		}
		return exitf(ExitFailure, "%s already exists\n  Suggestion: Use --force to overwrite: agentos init --force", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return exitf(ExitFailure, "%v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return exitf(ExitFailure, "create %s: %v", dir, err)
	}
	files := []struct{ name, content string }{
		{"agents.md", agentsMD},
		{"security.md", securityMD[p.template]},
		{"policy.yaml", policyYAML[p.template]},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), []byte(f.content)); err != nil {
			return exitf(ExitFailure, "%v", err)
		}
	}
	if p.asJSON {
		return writeJSON(stdout, map[string]any{"status": "success", "directory": dir, "template": p.template,
			"files": []string{"agents.md", "security.md", "policy.yaml"}})
	}
	fmt.Fprintf(stdout, "Initialized Agent OS in %s\n", dir)
	for _, f := range files {
		fmt.Fprintf(stdout, "  - %s\n", filepath.Join(dir, f.name))
	}
	fmt.Fprintf(stdout, "  - Template: %s\n\n", p.template)
	fmt.Fprintln(stdout, "Next steps:")
	fmt.Fprintln(stdout, "  1. Edit .agents/policy.yaml to fit your agents")
	fmt.Fprintln(stdout, "  2. Check it: agentos validate")
	fmt.Fprintln(stdout, "  3. Add the pre-commit check: agentos install-hooks")
	return nil
}
