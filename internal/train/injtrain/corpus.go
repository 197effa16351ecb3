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
}

// Malicious reports the row's label.
func (r Row) Malicious() bool { return r.Label == "malicious" }

// Files are the injection corpus files, relative to the corpora directory.
var Files = []string{"injection/bipia.jsonl", "injection/wildguard_benign.jsonl"}

// Load reads every injection corpus file under dir.
func Load(dir string) ([]Row, error) {
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
