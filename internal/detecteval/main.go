// Command detecteval measures every detector of package detect on the
// labelled corpora and writes the quality report, docs/detection.md:
// per file and per category true-positive rate, false-positive rate,
// precision and counts, the targets and whether they are met, and
// throughput measured in the same run.
//
//	go run ./internal/detecteval [-corpora DIR] [-out docs/detection.md] [-bench=false]
//
// Paths are relative to the module root (the directory holding go.mod,
// found from the working directory upwards); the corpora default to
// ../shared/corpora beside it. The report is deterministic except for the
// date and the lines that carry timings (µs, MB/s).
//
// The prompt-injection model is measured honestly: a model is trained
// without the fixed held-out rows of package injtrain (exactly as the
// training program does) and the held-out rows are scored with it; the
// embedded model, which was trained on every row, is reported separately
// as in-sample.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	ctx := context.Background()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "detecteval:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
}

// params are the program's settings after flag parsing.
type params struct {
	corpora string    // directory of the labelled corpora
	out     string    // report path; "-" writes to stdout
	bench   bool      // measure throughput
	now     time.Time // date printed in the report
	// trainEpochs overrides the held-out model's training epochs; 0 means
	// the embedded model's setting. Only the tests set it, to train fast
	// on tiny corpora where the model's quality is not what is measured.
	trainEpochs int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("detecteval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	corpora := fs.String("corpora", "", "directory of the labelled corpora (default: ../shared/corpora from the module root)")
	out := fs.String("out", "", "where to write the report, - for stdout (default: docs/detection.md in the module root)")
	bench := fs.Bool("bench", true, "measure throughput (the only non-deterministic lines besides the date)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	p := params{corpora: *corpora, out: *out, bench: *bench, now: time.Now()}
	if p.corpora == "" || p.out == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		if p.corpora == "" {
			p.corpora = filepath.Join(root, "..", "shared", "corpora")
		}
		if p.out == "" {
			p.out = filepath.Join(root, "docs", "detection.md")
		}
	}
	return generate(ctx, p, stdout, stderr)
}

// generate evaluates every detector and writes the report.
func generate(ctx context.Context, p params, stdout, stderr io.Writer) error {
	if st, err := os.Stat(p.corpora); err != nil {
		return fmt.Errorf("labelled corpora directory: %w (pass -corpora DIR)", err)
	} else if !st.IsDir() {
		return fmt.Errorf("labelled corpora directory %s is not a directory (pass -corpora DIR)", p.corpora)
	}
	rep, err := evaluate(ctx, p, stderr)
	if err != nil {
		return err
	}
	if p.out == "-" {
		return writeReport(stdout, rep)
	}
	f, err := os.CreateTemp(filepath.Dir(p.out), ".detection-*.md")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(f.Name())
	if err := writeReport(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("write report %s: %w", p.out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", p.out, err)
	}
	if err := os.Rename(f.Name(), p.out); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", p.out)
	return nil
}

// moduleRoot returns the nearest directory at or above the working
// directory that holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod in the working directory or above (run from the repository, or pass -corpora and -out)")
		}
		dir = parent
	}
}
