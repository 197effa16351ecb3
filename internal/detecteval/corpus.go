package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// row is one corpus row: the union of the fields of every corpus file.
type row struct {
	Text        string          `json:"text"`
	Label       string          `json:"label"`
	Source      string          `json:"source"`
	Category    string          `json:"category"`
	Kind        string          `json:"kind"`
	Description string          `json:"description"`
	Tool        json.RawMessage `json:"tool"`
	Shadows     string          `json:"shadows"`
	Call        struct {
		Tool string `json:"tool"`
	} `json:"call"`
}

// corpusFile is one labelled file and what its labels mean.
type corpusFile struct {
	Path     string // relative to the corpora directory
	Measures string
	Positive string // the label counted as positive
	Licence  string
}

// corpusFiles are the files the report reads, in report order.
var corpusFiles = []corpusFile{
	{"injection/bipia.jsonl", "indirect prompt injection vs the e-mails, tables, code answers and questions it hides in", "malicious", "MIT"},
	{"injection/wildguard_benign.jsonl", "benign prompts about sensitive topics (false-positive pressure)", "malicious", "MIT; rows ODC-BY 1.0"},
	{"secrets/detect_secrets_plugin_tests.jsonl", "secrets vs secret-shaped non-secrets, per kind", "secret", "Apache-2.0"},
	{"secrets/gitleaks_rule_examples.jsonl", "secrets vs near misses, per rule kind", "secret", "MIT"},
	{"destructive/tldr_commands.jsonl", "shell commands; positive = destructive by keywords of the tldr description", "malicious", "CC-BY-4.0"},
	{"destructive/sqlglot_statements.jsonl", "SQL statements; positive = destructive statement types", "malicious", "MIT"},
	{"mcp/msb_tool_signatures.jsonl", "poisoned MCP tool definitions vs clean ones", "poisoned", "MIT"},
	{"mcp/mcp_tools_list_snapshots.jsonl", "real tools/list results of public MCP servers", "poisoned", "MIT"},
	{"mcp/bfcl_function_docs.jsonl", "ordinary function/tool definitions", "poisoned", "Apache-2.0"},
	{"toolcalls/bfcl_calls.jsonl", "ordinary tool calls with arguments", "malicious", "Apache-2.0"},
}

// corpus holds every file's rows, keyed by corpusFile.Path.
type corpus struct {
	dir   string
	rows  map[string][]row
	bytes map[string]int
}

// loadCorpus reads every file of corpusFiles under dir. A missing file or
// a bad line is an error naming it.
func loadCorpus(dir string) (*corpus, error) {
	c := &corpus{dir: dir, rows: map[string][]row{}, bytes: map[string]int{}}
	for _, f := range corpusFiles {
		rows, n, err := readJSONL(filepath.Join(dir, f.Path), f.Positive)
		if err != nil {
			return nil, err
		}
		c.rows[f.Path] = rows
		c.bytes[f.Path] = n
	}
	return c, nil
}

func readJSONL(path, positive string) ([]row, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("corpus file: %w", err)
	}
	defer f.Close()
	var rows []row
	size := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		size += len(sc.Bytes()) + 1
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, 0, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		switch r.Label {
		case positive, "benign", "clean":
		default:
			return nil, 0, fmt.Errorf("%s:%d: label: %q is neither %q nor benign", path, line, r.Label, positive)
		}
		if r.Text == "" && len(r.Tool) == 0 {
			return nil, 0, fmt.Errorf("%s:%d: text: missing (and no tool)", path, line)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, size, nil
}

// positive reports whether a row's label is the file's positive label.
func (r row) positive() bool {
	return r.Label == "malicious" || r.Label == "secret" || r.Label == "poisoned"
}

// topCategory drops a category's sub-category ("text_attack:Clickbait" →
// "text_attack").
func topCategory(c string) string {
	top, _, _ := strings.Cut(c, ":")
	return top
}
