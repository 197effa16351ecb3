// Command train fits the prompt-injection model embedded in package detect.
//
//	go run ./internal/train -out detect/model/injection.bin
//
// It reads the labelled corpora (default ../shared/corpora), adds the
// synthetic examples of package injtrain, first trains on the training split
// only and prints the held-out rates, then trains the final model on every
// row and writes it. No network access; the output is the same for the same
// inputs and seed.
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
	m, err := injtrain.Train(ctx, train, *seed, opts)
	if err != nil {
		return err
	}
	for _, s := range []detect.Sensitivity{detect.SensitivityStrict, detect.SensitivityBalanced, detect.SensitivityPermissive} {
		th := m.Threshold(s)
		files, cats := injtrain.Measure(held, func(t string) bool { return m.Score(t) >= th })
		fmt.Printf("held-out, model alone, %s (threshold %.2f):\n", s, th)
		injtrain.WriteTable(os.Stdout, files)
		injtrain.WriteTable(os.Stdout, cats)
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
