package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/mcp"
)

type mcpScanParams struct {
	tools      []string
	connect    bool
	timeout    time.Duration
	format     string
	allowRisky bool
	server     string
}

func newMCPScanCmd() *cobra.Command {
	var p mcpScanParams
	cmd := &cobra.Command{
		Use:   "scan [CONFIG...]",
		Short: "Scan MCP client configurations and tool lists, offline",
		Long: "scan reads the MCP server entries of Claude Desktop, Cursor, VS Code and Claude Code\n" +
			"(their standard locations, or the CONFIG files given) and rates each server command.\n" +
			"With --connect it starts each stdio server (bounded by --timeout), lists its tools and\n" +
			"scans them; --tools scans a saved tools/list JSON instead. Nothing is uploaded.\n" +
			"Exit status 1 when a critical finding is reported.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMCPScan(cmd.Context(), p, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&p.tools, "tools", nil, "saved tools/list JSON to scan (repeatable)")
	f.StringVar(&p.server, "server-name", "saved", "server name for --tools files")
	f.BoolVar(&p.connect, "connect", false, "start each stdio server to list and scan its tools")
	f.DurationVar(&p.timeout, "timeout", 20*time.Second, "longest a --connect server may take to list its tools")
	f.StringVar(&p.format, "format", "text", "output: text, json or sarif")
	f.BoolVar(&p.allowRisky, "allow-risky", false, "with --connect, also start commands rated critical")
	return cmd
}

// scanFinding is one finding of mcp scan.
type scanFinding struct {
	File     string `json:"file"`
	Client   string `json:"client,omitempty"`
	Server   string `json:"server"`
	Tool     string `json:"tool,omitempty"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	line     int
}

type scanReport struct {
	Files    []string      `json:"files"`
	Servers  int           `json:"servers"`
	Tools    int           `json:"tools"`
	Findings []scanFinding `json:"findings"`
	Errors   []string      `json:"errors,omitempty"`
}

func runMCPScan(ctx context.Context, p mcpScanParams, files []string, stdout, stderr io.Writer) error {
	switch p.format {
	case "text", "json", "sarif":
	default:
		return exitf(ExitUsage, "--format %q: want text, json or sarif", p.format)
	}
	scanner, err := detect.NewMCPScanner(detect.MCPOptions{})
	if err != nil {
		return err
	}
	rep := scanReport{Findings: []scanFinding{}}
	var locs []mcp.ConfigLocation
	if len(files) > 0 {
		for _, f := range files {
			locs = append(locs, mcp.ConfigLocation{Path: f})
		}
	} else if len(p.tools) == 0 {
		home, _ := os.UserHomeDir()
		cwd, _ := os.Getwd()
		locs = mcp.ConfigLocations(runtime.GOOS, home, os.Getenv("APPDATA"), cwd)
	}
	for _, loc := range locs {
		servers, err := mcp.ReadClientConfig(loc.Path, loc.Client)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && len(files) == 0 {
				continue // a client that is not installed
			}
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		rep.Files = append(rep.Files, loc.Path)
		raw, _ := os.ReadFile(loc.Path)
		for _, s := range servers {
			rep.Servers++
			line := s.Line
			if line == 0 {
				line = lineOf(raw, `"`+s.Name+`"`)
			}
			for _, f := range mcp.RateCommand(s.Argv(), s.Env) {
				rep.Findings = append(rep.Findings, scanFinding{File: loc.Path, Client: loc.Client, Server: s.Name,
					Rule: f.Rule, Severity: f.Severity.String(), Message: f.Message, line: line})
			}
			if p.connect && s.Command != "" {
				n, fs, err := connectAndScan(ctx, p, scanner, s)
				if err != nil {
					rep.Errors = append(rep.Errors, fmt.Sprintf("%s: server %s: %v", loc.Path, s.Name, err))
				}
				rep.Tools += n
				for _, f := range fs {
					rep.Findings = append(rep.Findings, scanFinding{File: loc.Path, Client: loc.Client, Server: s.Name, Tool: f.Tool,
						Rule: f.Rule, Severity: f.Severity.String(), Message: f.Message, line: line})
				}
			}
		}
	}
	for _, tf := range p.tools {
		b, err := os.ReadFile(tf)
		if err != nil {
			return exitf(ExitUsage, "--tools: %v", err)
		}
		fs, n, err := mcp.ScanToolList(ctx, scanner, p.server, b)
		if err != nil {
			return exitf(ExitUsage, "%s: %v", tf, err)
		}
		rep.Files = append(rep.Files, tf)
		rep.Tools += n
		for _, f := range fs {
			rep.Findings = append(rep.Findings, scanFinding{File: tf, Server: p.server, Tool: f.Tool, Rule: f.Rule,
				Severity: f.Severity.String(), Message: f.Message, line: lineOf(b, `"`+f.Tool+`"`)})
		}
	}
	for _, e := range rep.Errors {
		fmt.Fprintln(stderr, "agentos mcp scan:", e)
	}
	var werr error
	switch p.format {
	case "json":
		werr = writeJSON(stdout, rep)
	case "sarif":
		werr = writeScanSARIF(stdout, rep)
	default:
		werr = writeScanText(stdout, rep)
	}
	if werr != nil {
		return werr
	}
	for _, f := range rep.Findings {
		if f.Severity == detect.SeverityCritical.String() {
			return silentExit(ExitFailure)
		}
	}
	return nil
}

// connectAndScan starts a stdio server, lists its tools and scans them.
func connectAndScan(ctx context.Context, p mcpScanParams, sc *detect.MCPScanner, s mcp.ServerConfig) (int, []mcp.ToolFinding, error) {
	if mcp.Critical(mcp.RateCommand(s.Argv(), s.Env)) && !p.allowRisky {
		return 0, nil, errors.New("not started: the command is rated critical (pass --allow-risky to start it anyway)")
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Command, s.Args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.WaitDelay = 2 * time.Second
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "agentos-mcp-scan", Version: "1"}, nil).
		Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("connect: %w", err)
	}
	defer cs.Close()
	var tools []*sdk.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return 0, nil, fmt.Errorf("tools/list: %w", err)
		}
		tools = append(tools, t)
	}
	b, err := json.Marshal(map[string]any{"tools": tools})
	if err != nil {
		return 0, nil, err
	}
	fs, n, err := mcp.ScanToolList(ctx, sc, s.Name, b)
	return n, fs, err
}

func lineOf(b []byte, needle string) int {
	i := strings.Index(string(b), needle)
	if i < 0 {
		return 1
	}
	return 1 + strings.Count(string(b[:i]), "\n")
}

func writeScanText(w io.Writer, rep scanReport) error {
	fmt.Fprintf(w, "scanned %d file(s), %d server(s), %d tool(s): %d finding(s)\n", len(rep.Files), rep.Servers, rep.Tools, len(rep.Findings))
	if len(rep.Findings) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tSERVER\tTOOL\tRULE\tFINDING")
	for _, f := range rep.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Server, f.Tool, f.Rule, f.Message)
	}
	return tw.Flush()
}

func writeScanSARIF(w io.Writer, rep scanReport) error {
	run := detect.SARIFRun{Tool: detect.SARIFTool{Driver: detect.SARIFDriver{Name: "agentos-mcp-scan",
		InformationURI: "https://github.com/agentos/agentos", Rules: []detect.SARIFRule{}}}, Results: []detect.SARIFResult{}}
	index := map[string]int{}
	for _, f := range rep.Findings {
		i, ok := index[f.Rule]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			index[f.Rule] = i
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, detect.SARIFRule{ID: f.Rule,
				ShortDescription:     detect.SARIFText{Text: f.Rule},
				DefaultConfiguration: detect.SARIFRuleLevel{Level: detect.SARIFLevel(f.Severity)},
				Properties:           map[string]any{"security-severity": detect.SARIFSecurityScore(f.Severity), "tags": []string{"security", "mcp"}}})
		}
		msg := "server " + f.Server
		if f.Tool != "" {
			msg += ", tool " + f.Tool
		}
		run.Results = append(run.Results, detect.SARIFResult{RuleID: f.Rule, RuleIndex: i, Level: detect.SARIFLevel(f.Severity),
			Message: detect.SARIFText{Text: msg + ": " + f.Message},
			Locations: []detect.SARIFLocation{{PhysicalLocation: detect.SARIFPhysical{
				ArtifactLocation: detect.SARIFArtifact{URI: f.File}, Region: detect.SARIFRegion{StartLine: f.line}}}}})
	}
	return writeJSON(w, detect.SARIFLog{Schema: detect.SARIFSchemaURI, Version: "2.1.0", Runs: []detect.SARIFRun{run}})
}
