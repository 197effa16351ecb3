package detect

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// benignSamplePath holds the first benign rows, in file order, of the
// BIPIA corpus (microsoft/BIPIA, MIT licence): e-mails, then tables with
// their questions, 66 KiB of real text with the bullets, currency signs and
// typographic quotes of real mail.
const benignSamplePath = "testdata/bipia_benign_sample.jsonl"

// loadJSONLTexts returns the "text" field of every row of a JSONL file,
// keeping only rows whose "label" is not "malicious" when benignOnly.
func loadJSONLTexts(tb testing.TB, path string, benignOnly bool) []string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r struct{ Text, Label string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if benignOnly && r.Label == "malicious" {
			continue
		}
		out = append(out, r.Text)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// benchCorporaInjection is the injection corpora directory beside the
// module ("" when absent).
func benchCorporaInjection() string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared", "corpora", "injection")
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// concatRows joins rows, each followed by a blank line, repeating them as
// needed, into a text of exactly n bytes cut back to a rune boundary: the
// text internal/detecteval measures the injection check on.
func concatRows(rows []string, n int) string {
	var b strings.Builder
	for b.Len() < n {
		for _, r := range rows {
			b.WriteString(r)
			b.WriteString("\n\n")
			if b.Len() >= n {
				break
			}
		}
	}
	s := b.String()[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// BenchmarkInjectionEmail measures Check on real text, as the quality
// report does: benign BIPIA rows concatenated to 1 KiB (the first five
// e-mails, identical to the report's input) and to 64 KiB, in both
// channels; with the corpora present, also the report's 1 MiB input.
func BenchmarkInjectionEmail(b *testing.B) {
	sample := loadJSONLTexts(b, benignSamplePath, true)
	inputs := []struct {
		name string
		text string
	}{
		{"1KiB", concatRows(sample, 1<<10)},
		{"64KiB", concatRows(sample, 64<<10)},
	}
	if dir := benchCorporaInjection(); dir != "" {
		rows := loadJSONLTexts(b, filepath.Join(dir, "bipia.jsonl"), true)
		inputs = append(inputs, struct{ name, text string }{"corpus-1MiB", concatRows(rows, 1<<20)})
	}
	for _, ch := range []Channel{ChannelPrompt, ChannelData} {
		d, err := NewInjection(InjectionOptions{Channel: ch})
		if err != nil {
			b.Fatal(err)
		}
		for _, in := range inputs {
			b.Run(string(ch)+"/"+in.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in.text)))
				ctx := b.Context()
				for b.Loop() {
					if _, err := d.Check(ctx, in.text, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
