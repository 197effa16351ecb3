// Package injtrain loads the labelled injection corpora, generates the
// synthetic training data, splits rows into training and held-out sets and
// measures a model, for the training program and the corpus tests.
package injtrain

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
)

// ordinaryLine is the union of the fields of [OrdinaryFiles] that
// [LoadOrdinary] reads.
type ordinaryLine struct {
	Text        string          `json:"text"`
	Source      string          `json:"source"`
	Description string          `json:"description"`
	Tool        json.RawMessage `json:"tool"`
}

// maxOrdinaryText bounds the text of one ordinary row (a tldr page, a tool
// definition).
const maxOrdinaryText = 8 << 10

// LoadOrdinary reads [OrdinaryFiles] under dir and returns their texts as
// ordinary rows: a tldr page (its commands and their descriptions, in the
// page's own Markdown form), a tool definition (its JSON as published),
// a tool call (its JSON). Labels are ignored (a tldr command that deletes
// files is still documentation, not an instruction to the assistant).
func LoadOrdinary(dir string) ([]Row, error) {
	var rows []Row
	for _, name := range OrdinaryFiles {
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open corpus: %w", err)
		}
		base := filepath.Base(name)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		line := 0
		var page strings.Builder
		pageSource := ""
		flush := func() {
			if page.Len() > 0 {
				rows = append(rows, Row{File: base, Text: page.String(), Label: "benign", Source: pageSource, Category: "ordinary", Ordinary: true})
			}
			page.Reset()
		}
		for sc.Scan() {
			line++
			var l ordinaryLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s:%d: %w", path, line, err)
			}
			switch {
			case l.Description != "":
				// A tldr row: one command of a page; rows of a page are
				// consecutive.
				if l.Source != pageSource || page.Len() > maxOrdinaryText {
					flush()
					pageSource = l.Source
					cmd := strings.TrimSuffix(filepath.Base(l.Source), ".md")
					page.WriteString("# " + cmd + "\n\n")
				}
				page.WriteString("- " + l.Description + "\n\n`" + l.Text + "`\n\n")
			case len(l.Tool) > 0:
				if len(l.Tool) <= maxOrdinaryText {
					rows = append(rows, Row{File: base, Text: string(l.Tool), Label: "benign", Source: l.Source, Category: "ordinary", Ordinary: true})
				}
			case l.Text != "":
				if len(l.Text) <= maxOrdinaryText {
					rows = append(rows, Row{File: base, Text: l.Text, Label: "benign", Source: l.Source, Category: "ordinary", Ordinary: true})
				}
			default:
				f.Close()
				return nil, fmt.Errorf("%s:%d: no text, tool or description", path, line)
			}
		}
		flush()
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return rows, nil
}

// Row is one labelled corpus row.
type Row struct {
	// File is the corpus file's base name, e.g. "bipia.jsonl".
	File string
	// Text, Label ("malicious" or "benign"), Source and Category are the
	// row's fields.
	Text     string `json:"text"`
	Label    string `json:"label"`
	Source   string `json:"source"`
	Category string `json:"category"`
	// Ordinary marks a row of [OrdinaryFiles]: ordinary text that is not
	// part of the injection evaluation, used only as a negative of the
	// data head. It is always in the training split.
	Ordinary bool `json:"-"`
}

// Malicious reports the row's label (false for an ordinary row).
func (r Row) Malicious() bool { return r.Label == "malicious" && !r.Ordinary }

// Files are the injection corpus files, relative to the corpora directory.
var Files = []string{"injection/bipia.jsonl", "injection/wildguard_benign.jsonl"}

// OrdinaryFiles are corpus files, relative to the corpora directory, of
// ordinary text an agent reads that are not part of the injection
// evaluation (they measure other detectors): their texts are negatives of
// the data head. See [LoadOrdinary].
var OrdinaryFiles = []string{
	"destructive/tldr_commands.jsonl", "mcp/bfcl_function_docs.jsonl", "mcp/mcp_tools_list_snapshots.jsonl",
	"toolcalls/bfcl_calls.jsonl",
}

// Load reads every injection corpus file under dir, followed by the rows of
// [LoadOrdinary].
func Load(dir string) ([]Row, error) {
	rows, err := LoadInjection(dir)
	if err != nil {
		return nil, err
	}
	ord, err := LoadOrdinary(dir)
	if err != nil {
		return nil, err
	}
	return append(rows, ord...), nil
}

// LoadInjection reads the injection corpus files ([Files]) under dir.
func LoadInjection(dir string) ([]Row, error) {
	var rows []Row
	for _, name := range Files {
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open corpus: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		line := 0
		for sc.Scan() {
			line++
			var r Row
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s:%d: %w", path, line, err)
			}
			if r.Label != "malicious" && r.Label != "benign" {
				f.Close()
				return nil, fmt.Errorf("%s:%d: label: %q is neither malicious nor benign", path, line, r.Label)
			}
			r.File = filepath.Base(name)
			rows = append(rows, r)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return rows, nil
}

// HeldOut reports whether a row belongs to the fixed held-out split, which
// is never used for training or for choosing thresholds: BIPIA's own test
// files, and three in ten of the other rows chosen by a hash of the text.
func HeldOut(r Row) bool {
	if r.Ordinary {
		return false
	}
	if strings.HasPrefix(r.Source, "microsoft/BIPIA:") {
		return strings.Contains(r.Source, "test")
	}
	h := fnv.New32a()
	h.Write([]byte(r.Text))
	return h.Sum32()%10 < 3
}

// Category returns the row's category without its sub-category (for
// "text_attack:Clickbait" it is "text_attack").
func Category(r Row) string {
	c, _, _ := strings.Cut(r.Category, ":")
	return c
}
