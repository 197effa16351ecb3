package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// Line is the line of File where the entry's key is; 0 when unknown.
	Line int `json:"line,omitempty"`
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
// Claude Code's per-project "projects": {DIR: {"mcpServers"}}. Comments
// are allowed. Servers come sorted by scope and name. A file that cannot
// be read is the os error; a file that is not a configuration is a
// *ConfigError naming file, line, column and field; a file without
// servers gives none.
func ReadClientConfig(path, client string) ([]ServerConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseClientConfig(path, client, b)
}

// ParseClientConfig is ReadClientConfig on the contents b of the file
// path.
func ParseClientConfig(path, client string, b []byte) ([]ServerConfig, error) {
	src := stripJSONComments(b) // same length, same line breaks: offsets hold
	fail := func(off int, field, msg string) error {
		line, col := lineCol(b, off)
		return &ConfigError{File: path, Line: line, Col: col, Field: field, Msg: msg}
	}
	top, err := objectMembers(src, 0)
	if err != nil {
		return nil, fail(err.off, "", err.msg)
	}
	var out []ServerConfig
	add := func(m member, field, scope string) error {
		if m.raw == nil || string(m.raw) == "null" {
			return nil
		}
		entries, err := objectMembers(src, m.off)
		if err != nil {
			return fail(err.off, field, err.msg)
		}
		for _, e := range entries {
			var ent struct {
				Command string            `json:"command"`
				Args    []string          `json:"args"`
				Env     map[string]string `json:"env"`
				URL     string            `json:"url"`
				Type    string            `json:"type"`
			}
			if err := json.Unmarshal(e.raw, &ent); err != nil {
				off, msg := e.off, "want an object with command, args, env, url, type"
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					off += int(te.Offset)
					msg = "want " + te.Type.String()
					if te.Field != "" {
						msg = "field " + te.Field + ": " + msg
					}
				}
				return fail(off, field+"."+e.key, msg)
			}
			line, _ := lineCol(b, e.keyOff)
			sc := ServerConfig{Client: client, File: path, Line: line, Scope: scope, Name: e.key, Command: ent.Command,
				Args: ent.Args, URL: ent.URL, Type: ent.Type}
			for k, v := range ent.Env {
				sc.Env = append(sc.Env, k+"="+v)
			}
			sort.Strings(sc.Env)
			out = append(out, sc)
		}
		return nil
	}
	for _, m := range top {
		switch m.key {
		case "mcpServers", "servers":
			if err := add(m, m.key, ""); err != nil {
				return nil, err
			}
		case "mcp":
			sub, err := objectMembers(src, m.off)
			if err != nil {
				continue // VS Code settings may hold other shapes under mcp
			}
			for _, sm := range sub {
				if sm.key == "servers" {
					if err := add(sm, "mcp.servers", ""); err != nil {
						return nil, err
					}
				}
			}
		case "projects":
			projects, err := objectMembers(src, m.off)
			if err != nil {
				continue
			}
			for _, pm := range projects {
				sub, err := objectMembers(src, pm.off)
				if err != nil {
					continue
				}
				for _, sm := range sub {
					if sm.key == "mcpServers" {
						if err := add(sm, "projects."+pm.key+".mcpServers", pm.key); err != nil {
							return nil, err
						}
					}
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

// member is one member of a JSON object, with the byte offsets of its key
// and value in the document.
type member struct {
	key         string
	raw         json.RawMessage
	keyOff, off int
}

// jsonError is a syntax problem at a byte offset.
type jsonError struct {
	off int
	msg string
}

// objectMembers decodes the JSON object starting at byte off of doc
// (after blanks) into its members, in order; of duplicate keys the last
// wins, as JSON parsers do. Anything after the object is an error only at
// the top level (off 0).
func objectMembers(doc []byte, off int) ([]member, *jsonError) {
	dec := json.NewDecoder(bytes.NewReader(doc[off:]))
	syntax := func(err error) *jsonError {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &jsonError{off: off + int(se.Offset), msg: se.Error()}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &jsonError{off: len(doc), msg: "unexpected end of JSON input"}
		}
		return &jsonError{off: off + int(dec.InputOffset()), msg: err.Error()}
	}
	start := off + int(dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(err)
	}
	if tok != json.Delim('{') {
		return nil, &jsonError{off: start + leadingBlanks(doc[start:]), msg: "want an object"}
	}
	var out []member
	seen := make(map[string]int)
	for dec.More() {
		keyOff := off + int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		key, _ := tok.(string)
		keyOff += leadingBlanksAndComma(doc[keyOff:])
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntax(err)
		}
		end := off + int(dec.InputOffset())
		m := member{key: key, raw: raw, keyOff: keyOff, off: end - len(raw)}
		if i, dup := seen[key]; dup {
			out[i] = m
			continue
		}
		seen[key] = len(out)
		out = append(out, m)
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntax(err)
	}
	if off == 0 {
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			at := off + int(dec.InputOffset())
			return nil, &jsonError{off: at, msg: "data after the top-level object"}
		}
	}
	return out, nil
}

func leadingBlanks(b []byte) int {
	return len(b) - len(bytes.TrimLeft(b, " \t\r\n"))
}

func leadingBlanksAndComma(b []byte) int {
	return len(b) - len(bytes.TrimLeft(b, " \t\r\n,"))
}

// stripJSONComments blanks out // and /* */ comments outside strings (VS
// Code files are JSON with comments): each byte of a comment becomes a
// space, except line breaks, so that offsets, lines and columns in the
// result are those of the input. Trailing commas are left alone.
func stripJSONComments(b []byte) []byte {
	if !bytes.Contains(b, []byte("//")) && !bytes.Contains(b, []byte("/*")) {
		return b
	}
	out := bytes.Clone(b)
	inStr, esc := false, false
	blank := func(i int) {
		if out[i] != '\n' && out[i] != '\r' {
			out[i] = ' '
		}
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for ; i < len(b) && b[i] != '\n' && b[i] != '\r'; i++ {
				blank(i)
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			blank(i)
			blank(i + 1)
			i += 2
			for ; i < len(b) && !(b[i] == '*' && i+1 < len(b) && b[i+1] == '/'); i++ {
				blank(i)
			}
			if i < len(b) {
				blank(i)
				blank(i + 1)
				i++
			}
		}
	}
	return out
}

// lineCol returns the 1-based line and column (in bytes) of offset off.
func lineCol(b []byte, off int) (int, int) {
	if off > len(b) {
		off = len(b)
	}
	if off < 0 {
		off = 0
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

// describeJSONError names the line and column of a syntax or type error.
func describeJSONError(b []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(b, int(se.Offset))
		return fmt.Sprintf("%d:%d: %v", line, col, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, col := lineCol(b, int(te.Offset))
		return fmt.Sprintf("%d:%d: %v", line, col, err)
	}
	return err.Error()
}
