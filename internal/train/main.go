// Command train fits the prompt-injection model embedded in package detect.
//
//	go run ./internal/train -out detect/model/injection.bin
//
// It reads the labelled corpora (default ../shared/corpora), adds the
// synthetic examples of package injtrain, first trains on the training split
// only and prints the held-out rates, then trains the final model on every
// row and writes it. No network access; the output is the same for the same
// inputs and seed.
//
//	go run ./internal/train -fold
//
// cross-validates on the training split instead (five folds; the held-out
// rows are not read into any measurement) and prints the pooled rates, a
// sweep of the data head's threshold and the mistakes: the view used to
// develop the training data and choose thresholds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/internal/train/injtrain"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	out := fs.String("out", "detect/model/injection.bin", "where to write the model")
	corpora := fs.String("corpora", "../shared/corpora", "directory of the labelled corpora")
	seed := fs.Uint64("seed", injtrain.Seed, "random seed")
	bits := fs.Uint("bits", 18, "log2 of the number of hash buckets")
	fold := fs.Bool("fold", false, "cross-validate on the training split (five folds: train on four fifths, measure on the fifth, in turn), print the pooled rates, a sweep of data-head thresholds and the mistakes; write no model")
	heldOnly := fs.Bool("held-out-only", false, "print the held-out rates and stop (write no model)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rows, err := injtrain.Load(*corpora)
	if err != nil {
		return err
	}
	opts := injtrain.TrainOptions()
	opts.Bits = uint8(*bits)
	train, held := injtrain.Split(rows)
	if *fold {
		// Development view: the real held-out rows stay unseen.
		return crossValidate(ctx, train, *seed, opts)
	}
	m, err := injtrain.Train(ctx, train, *seed, opts)
	if err != nil {
		return err
	}
	for _, s := range []detect.Sensitivity{detect.SensitivityStrict, detect.SensitivityBalanced, detect.SensitivityPermissive} {
		th := m.Threshold(s)
		files, cats := injtrain.Measure(held, func(t string) bool { return m.Score(t) >= th })
		fmt.Printf("held-out, model alone, channel-blind (every row as a prompt), %s (threshold %.2f):\n", s, th)
		injtrain.WriteTable(os.Stdout, files)
		injtrain.WriteTable(os.Stdout, cats)
		files, cats = injtrain.MeasureRows(held, func(r injtrain.Row) bool {
			ch := injtrain.EvalChannel(r)
			return m.ChannelScore(ch, r.Text) >= m.ChannelThreshold(ch, s)
		})
		fmt.Printf("held-out, model alone, channel-aware (questions and WildGuard as prompts, the rest as data), %s (data threshold %.2f):\n",
			s, m.ChannelThreshold(detect.ChannelData, s))
		injtrain.WriteTable(os.Stdout, files)
		injtrain.WriteTable(os.Stdout, cats)
	}
	if *heldOnly {
		return nil
	}
	final, err := injtrain.Train(ctx, rows, *seed, opts)
	if err != nil {
		return err
	}
	data, err := final.MarshalBinary()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	fmt.Printf("wrote %s (%d bytes)\n", *out, len(data))
	return nil
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
