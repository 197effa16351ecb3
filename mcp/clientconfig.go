package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/agentos/agentos/detect"
)

// ConfigLocation is where an MCP client keeps its server configuration.
type ConfigLocation struct {
	// Client names the client: claude-desktop, cursor, vscode,
	// claude-code.
	Client string `json:"client"`
	// Path is the file.
	Path string `json:"path"`
}

// ConfigLocations lists the standard configuration files of Claude
// Desktop, Cursor, VS Code and Claude Code for an operating system (a
// runtime.GOOS value), a home directory, the roaming application-data
// directory (%APPDATA%, Windows only) and a project directory (project
// files; "": none). It does not look at the file system.
func ConfigLocations(goos, home, appData, project string) []ConfigLocation {
	var out []ConfigLocation
	add := func(client string, parts ...string) {
		if parts[0] == "" {
			return
		}
		out = append(out, ConfigLocation{Client: client, Path: filepath.Join(parts...)})
	}
	switch goos {
	case "darwin":
		add("claude-desktop", home, "Library", "Application Support", "Claude", "claude_desktop_config.json")
		add("vscode", home, "Library", "Application Support", "Code", "User", "mcp.json")
		add("vscode", home, "Library", "Application Support", "Code", "User", "settings.json")
	case "windows":
		add("claude-desktop", appData, "Claude", "claude_desktop_config.json")
		add("vscode", appData, "Code", "User", "mcp.json")
		add("vscode", appData, "Code", "User", "settings.json")
	default:
		add("claude-desktop", home, ".config", "Claude", "claude_desktop_config.json")
		add("vscode", home, ".config", "Code", "User", "mcp.json")
		add("vscode", home, ".config", "Code", "User", "settings.json")
	}
	add("cursor", home, ".cursor", "mcp.json")
	add("claude-code", home, ".claude.json")
	if project != "" {
		add("cursor", project, ".cursor", "mcp.json")
		add("vscode", project, ".vscode", "mcp.json")
		add("claude-code", project, ".mcp.json")
	}
	return out
}

// ServerConfig is one MCP server an MCP client is configured to start or
// reach.
type ServerConfig struct {
	// Client and File say where the entry was found.
	Client string `json:"client,omitempty"`
	File   string `json:"file"`
	// Scope is the project a per-project entry belongs to (Claude Code's
	// projects map); "" for global entries.
	Scope string `json:"scope,omitempty"`
	// Name is the entry's key.
	Name string `json:"name"`
	// Command and Args start a stdio server.
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Env is the environment the entry sets, NAME=value, sorted.
	Env []string `json:"-"`
	// URL reaches a remote server.
	URL string `json:"url,omitempty"`
	// Type is the transport the entry names (stdio, http, sse), if any.
	Type string `json:"type,omitempty"`
}

// Argv returns the command line of a stdio server.
func (s ServerConfig) Argv() []string {
	if s.Command == "" {
		return nil
	}
	return append([]string{s.Command}, s.Args...)
}

// ReadClientConfig reads the MCP servers of a client configuration file:
// the "mcpServers" object (Claude Desktop, Cursor, Claude Code), "servers"
// (VS Code mcp.json), "mcp": {"servers"} (VS Code settings.json) and
// Claude Code's per-project "projects": {DIR: {"mcpServers"}}. Servers
// come sorted by scope and name. A file that is not a JSON object is an
// error naming it; a file without servers gives none.
func ReadClientConfig(path, client string) ([]ServerConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(stripJSONComments(b), &top); err != nil {
		return nil, fmt.Errorf("%s: %s", path, describeJSONError(b, err))
	}
	var out []ServerConfig
	add := func(raw json.RawMessage, scope string) error {
		if len(raw) == 0 {
			return nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%s: servers: want an object", path)
		}
		for name, e := range m {
			var ent struct {
				Command string            `json:"command"`
				Args    []string          `json:"args"`
				Env     map[string]string `json:"env"`
				URL     string            `json:"url"`
				Type    string            `json:"type"`
			}
			if err := json.Unmarshal(e, &ent); err != nil {
				return fmt.Errorf("%s: server %q: %v", path, name, err)
			}
			sc := ServerConfig{Client: client, File: path, Scope: scope, Name: name, Command: ent.Command, Args: ent.Args,
				URL: ent.URL, Type: ent.Type}
			for k, v := range ent.Env {
				sc.Env = append(sc.Env, k+"="+v)
			}
			sort.Strings(sc.Env)
			out = append(out, sc)
		}
		return nil
	}
	if err := add(top["mcpServers"], ""); err != nil {
		return nil, err
	}
	if err := add(top["servers"], ""); err != nil {
		return nil, err
	}
	if raw, ok := top["mcp"]; ok {
		var m struct {
			Servers json.RawMessage `json:"servers"`
		}
		if json.Unmarshal(raw, &m) == nil {
			if err := add(m.Servers, ""); err != nil {
				return nil, err
			}
		}
	}
	if raw, ok := top["projects"]; ok {
		var projects map[string]struct {
			MCPServers json.RawMessage `json:"mcpServers"`
		}
		if json.Unmarshal(raw, &projects) == nil {
			for dir, p := range projects {
				if err := add(p.MCPServers, dir); err != nil {
					return nil, err
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b ServerConfig) int {
		if c := strings.Compare(a.Scope, b.Scope); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// stripJSONComments removes // and /* */ comments outside strings (VS
// Code files are JSON with comments); trailing commas are left alone.
func stripJSONComments(b []byte) []byte {
	if !bytes.Contains(b, []byte("//")) && !bytes.Contains(b, []byte("/*")) {
		return b
	}
	out := make([]byte, 0, len(b))
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr:
			out = append(out, c)
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
			out = append(out, c)
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			if i < len(b) {
				out = append(out, '\n')
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			i += 2
			for i+1 < len(b) && !(b[i] == '*' && b[i+1] == '/') {
				if b[i] == '\n' {
					out = append(out, '\n')
				}
				i++
			}
			i++
		default:
			out = append(out, c)
		}
	}
	return out
}

// describeJSONError names the line and column of a syntax error.
func describeJSONError(b []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(b, int(se.Offset))
		return fmt.Sprintf("%d:%d: %v", line, col, err)
	}
	return err.Error()
}

func lineCol(b []byte, off int) (int, int) {
	if off > len(b) {
		off = len(b)
	}
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

// ToolFinding is one scanner threat in a tool definition.
type ToolFinding struct {
	Tool     string          `json:"tool"`
	Rule     string          `json:"rule"`
	Type     string          `json:"type"`
	Severity detect.Severity `json:"severity"`
	Message  string          `json:"message"`
}

// ScanToolList scans a saved tool list: a tools/list result ({"tools":
// [...]}), a whole JSON-RPC response holding one, or a bare array of tool
// definitions. A tool the scanner cannot read is a finding, not an error;
// input that is none of those shapes is an error.
func ScanToolList(ctx context.Context, sc ToolScanner, server string, data []byte) ([]ToolFinding, int, error) {
	items, err := toolItems(data)
	if err != nil {
		return nil, 0, err
	}
	var out []ToolFinding
	for i, raw := range items {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			out = append(out, ToolFinding{Tool: fmt.Sprintf("#%d", i), Rule: "malformed", Type: "malformed", Severity: detect.SeverityHigh, Message: "not a JSON object"})
			continue
		}
		def, err := definitionOf(m)
		if err != nil {
			out = append(out, ToolFinding{Tool: fmt.Sprintf("#%d", i), Rule: "malformed", Type: "malformed", Severity: detect.SeverityHigh, Message: bound(err.Error(), 200)})
			continue
		}
		t := detect.Tool{Name: def.Tool, InputSchema: m["inputSchema"]}
		_ = json.Unmarshal(m["description"], &t.Description)
		threats, err := sc.ScanTool(ctx, server, t)
		if err != nil {
			return nil, 0, fmt.Errorf("scan %s: %w", def.Tool, err)
		}
		for _, th := range threats {
			out = append(out, ToolFinding{Tool: def.Tool, Rule: th.Rule, Type: string(th.Type), Severity: th.Severity, Message: bound(th.Message, 300)})
		}
	}
	return out, len(items), nil
}

func toolItems(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, fmt.Errorf("tool list: %s", describeJSONError(data, err))
		}
		return items, nil
	}
	var top struct {
		Tools  []json.RawMessage `json:"tools"`
		Result *struct {
			Tools []json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("tool list: %s", describeJSONError(data, err))
	}
	switch {
	case top.Tools != nil:
		return top.Tools, nil
	case top.Result != nil && top.Result.Tools != nil:
		return top.Result.Tools, nil
	}
	return nil, errors.New("tool list: want {\"tools\": [...]}, a tools/list response or an array of tools")
}
