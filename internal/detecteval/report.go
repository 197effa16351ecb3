package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// report is everything the Markdown file says.
type report struct {
	Date     string
	Machine  string
	Corpus   []corpusLine
	Sections []section
	Targets  []target
}

// corpusLine is one row of the corpus table.
type corpusLine struct {
	File          corpusFile
	Rows, Pos     int
	Benign, Bytes int
}

// section is one detector's part of the report.
type section struct {
	Title  string
	Intro  []string // paragraphs before the tables
	Tables []table
	Speed  []speed
}

// table is a Markdown table of counts.
type table struct {
	Title string
	Key   string // first column's heading
	Rows  []counts
	// Total, if set, is printed last in bold.
	Total *counts
}

// speed is one throughput measurement.
type speed struct {
	What  string
	Value string // "" when not measured
}

// target is one of the quality targets.
type target struct {
	Detector string
	Goal     string
	Measured string
	Met      string // "yes", "no" or "not measured"
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// writeReport writes rep as Markdown.
func writeReport(w io.Writer, rep *report) error {
	var b strings.Builder
	b.WriteString("# Detection quality report\n\n")
	b.WriteString("How well each detector of package `detect` does on the labelled public corpora: true-positive\n")
	b.WriteString("rate (TPR, recall), false-positive rate (FPR) and precision, per file and per category (never\n")
	b.WriteString("pooled across files), and throughput measured in the same run. Generated; do not edit by hand.\n\n")
	b.WriteString("## How to regenerate\n\n")
	b.WriteString("    go run ./internal/detecteval                 # writes docs/detection.md\n")
	b.WriteString("    go run ./internal/detecteval -corpora DIR -out FILE -bench=false\n")
	b.WriteString("    go run ./internal/train                      # retrains detect/model/injection.bin (deterministic)\n\n")
	b.WriteString("The corpora are read from `../shared/corpora` relative to the module root unless `-corpora`\n")
	b.WriteString("says otherwise. Everything below is deterministic except the date and the lines with timings\n")
	b.WriteString("(µs, MB/s); `-bench=false` skips the timings.\n\n")
	fmt.Fprintf(&b, "Generated: %s. Machine: %s.\n\n", rep.Date, rep.Machine)

	b.WriteString("## Corpora\n\n")
	b.WriteString("| file | measures | positives | benign | rows | size | licence |\n|---|---|---:|---:|---:|---:|---|\n")
	for _, c := range rep.Corpus {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %s | %s |\n", c.File.Path, c.File.Measures, c.Pos, c.Benign, c.Rows,
			sizeString(c.Bytes), c.File.Licence)
	}
	b.WriteString("\n## Targets\n\n")
	b.WriteString("The targets of the detection issue, against the figures below (held-out figures for the\n")
	b.WriteString("injection model).\n\n")
	b.WriteString("| detector | target | measured | met |\n|---|---|---|---|\n")
	for _, t := range rep.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Detector, t.Goal, t.Measured, t.Met)
	}
	b.WriteString("\n## What the labels mean\n\n")
	for _, p := range labelNotes {
		b.WriteString(p)
		b.WriteString("\n\n")
	}
	for _, s := range rep.Sections {
		fmt.Fprintf(&b, "## %s\n\n", s.Title)
		for _, p := range s.Intro {
			b.WriteString(p)
			b.WriteString("\n\n")
		}
		for _, t := range s.Tables {
			writeTable(&b, t)
		}
		if len(s.Speed) > 0 {
			b.WriteString("Throughput (this run):\n\n| measurement | result |\n|---|---|\n")
			for _, sp := range s.Speed {
				v := sp.Value
				if v == "" {
					v = "not measured (-bench=false)"
				}
				fmt.Fprintf(&b, "| %s | %s |\n", sp.What, v)
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTable(b *strings.Builder, t table) {
	fmt.Fprintf(b, "%s\n\n", t.Title)
	fmt.Fprintf(b, "| %s | n | positives | benign | TPR | FPR | precision |\n|---|---:|---:|---:|---:|---:|---:|\n", t.Key)
	line := func(c counts, bold bool) {
		tpr, ok := c.TPR()
		tprS := pct(tpr, ok, c.TP, c.Pos)
		fpr, ok := c.FPR()
		fprS := pct2(fpr, ok, c.FP, c.Neg)
		prec, ok := c.Precision()
		precS := "—"
		if ok && c.Pos > 0 {
			precS = fmt.Sprintf("%.1f%%", 100*prec)
		}
		g := c.Group
		if bold {
			g = "**" + g + "**"
		}
		fmt.Fprintf(b, "| %s | %d | %d | %d | %s | %s | %s |\n", g, c.N(), c.Pos, c.Neg, tprS, fprS, precS)
	}
	for _, c := range t.Rows {
		line(c, false)
	}
	if t.Total != nil {
		line(*t.Total, true)
	}
	b.WriteString("\n")
}

func sizeString(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)/1024)
}

// labelNotes is the honest paragraph on what the numbers mean.
var labelNotes = []string{
	"**Injection.** BIPIA positives are the attacker instructions themselves (the `text_attack` and " +
		"`code_attack` rows), without the e-mail or table they were planted in; its benign rows are the " +
		"e-mails, tables, code answers and user questions. Many `text_attack` rows are ordinary tasks " +
		"(\"Help me with a recipe for a vegetarian lasagna.\"): on their own they are indistinguishable from a " +
		"user's request, and only where they appear (inside data the agent reads) makes them an attack. " +
		"WildGuard rows are benign prompts on sensitive topics. The model figures marked held out come " +
		"from a model trained without the held-out rows (BIPIA's own test files and three in ten WildGuard " +
		"rows, chosen by a hash of the text); thresholds were fixed a priori or by cross-validation on the " +
		"training part, never on held-out rows. The in-sample table uses the embedded model, which saw every row.",
	"**Secrets.** \"clean\" rows are mostly secret-shaped strings that are not real secrets (test " +
		"fixtures, near misses), so precision here is a stress test. Supported kinds are the kinds the " +
		"detector has a rule for; the rules were tuned while looking at these files, so these are tuning " +
		"figures, not held out.",
	"**Dangerous operations.** tldr \"malicious\" labels come from keywords of tldr's own description of the " +
		"command (delete, wipe, format, kill, overwrite, ...), not from a person: deleting one named file or " +
		"killing one process is \"malicious\" there, so the TPR of the destructive category measures " +
		"agreement with those keywords, and the target is the FPR on ordinary commands. sqlglot labels are " +
		"statement types (DROP, TRUNCATE, DELETE without WHERE, ...). Tool calls are all benign.",
	"**MCP.** The MSB file is small (72 poisoned, 21 clean) and the scanner's rules were written while " +
		"looking at it: tuning data, not held out. The two other files are ordinary tool definitions " +
		"(false-positive pressure). Neither has invisible-Unicode or rug-pull cases; those are covered by " +
		"fixtures in the package tests.",
	"**PII and the response scanner.** No corpus labels personal data, so PII is reported as the rate " +
		"of texts flagged among texts not labelled as anything; a BIPIA e-mail really does contain " +
		"addresses, so those flags are not all false. The response scanner has no labelled tool outputs " +
		"either: its FPR on ordinary tool-call JSON is a proxy, and BIPIA (attacks vs the data they hide " +
		"in) gives a rough TPR.",
}

// excerpt returns s cut to at most n bytes (at a character boundary), with
// "…" when cut, and its line breaks shown as spaces.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
