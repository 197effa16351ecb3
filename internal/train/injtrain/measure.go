package injtrain

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strings"

	"github.com/agentos/agentos/detect"
)

// Examples turns corpus rows into training examples of the prompt head
// (ordinary rows are left out: they serve the data head only).
func Examples(rows []Row) []detect.ModelExample {
	out := make([]detect.ModelExample, 0, len(rows))
	for _, r := range rows {
		if r.Ordinary {
			continue
		}
		out = append(out, detect.ModelExample{Text: r.Text, Injection: r.Malicious()})
	}
	return out
}

// Split separates rows into the training rows and the held-out rows.
func Split(rows []Row) (train, held []Row) {
	for _, r := range rows {
		if HeldOut(r) {
			held = append(held, r)
		} else {
			train = append(train, r)
		}
	}
	return train, held
}

// Fold splits rows into k parts by a hash of the text and returns all but
// part i (for training) and part i (for measuring): cross-validation
// within the training split.
func Fold(rows []Row, k, i int) (rest, part []Row) {
	for _, r := range rows {
		h := fnv.New32a()
		h.Write([]byte(r.Text))
		if int(h.Sum32()/7%uint32(k)) == i {
			part = append(part, r)
		} else {
			rest = append(rest, r)
		}
	}
	return rest, part
}

// Seed is the random seed of the embedded model: the training program, the
// quality report and the corpus tests all train with it, so that they
// measure the same model.
const Seed = 20260401

// TrainOptions are the training options of the embedded model (Seed is
// set by [Train]).
func TrainOptions() detect.ModelTrainOptions {
	// The data head reads words only (code words apart), scores half
	// windows, and its thresholds were chosen by cross-validation on the
	// training split (go run ./internal/train -fold).
	return detect.ModelTrainOptions{DataWordsOnly: true, DataCodeWords: true, DataHalfWindow: true,
		DataThresholds: [3]float64{0.7, 0.9, 0.95}}
}

// Train fits the two-head model on the given corpus rows plus the
// synthetic data: the prompt head on [Examples] of the rows and [Generate],
// the data head on [DataExamples].
func Train(ctx context.Context, rows []Row, seed uint64, opts detect.ModelTrainOptions) (*detect.Model, error) {
	ex := append(Examples(rows), Generate(seed)...)
	opts.Seed = seed
	return detect.TrainChannelModel(ctx, ex, DataExamples(rows, seed), opts)
}

// EvalChannel is the channel a corpus row is judged in by the
// channel-aware evaluation: a user's question and a WildGuard prompt are
// the user's own prompt; an e-mail, a table, a code answer and an attack
// (which BIPIA plants inside such data) are data the agent reads.
func EvalChannel(r Row) detect.Channel {
	if r.Ordinary {
		return detect.ChannelData
	}
	c := Category(r)
	if r.File != "bipia.jsonl" || strings.HasSuffix(c, "_question") {
		return detect.ChannelPrompt
	}
	return detect.ChannelData
}

// Rate counts one group's outcomes.
type Rate struct {
	Group             string
	Positives, Benign int
	TruePos, FalsePos int
}

// TPR is the true-positive rate (0 when the group has no positives).
func (r Rate) TPR() float64 { return ratio(r.TruePos, r.Positives) }

// FPR is the false-positive rate (0 when the group has no benign rows).
func (r Rate) FPR() float64 { return ratio(r.FalsePos, r.Benign) }

// Precision is TP / (TP + FP), or 0 with no detections.
func (r Rate) Precision() float64 { return ratio(r.TruePos, r.TruePos+r.FalsePos) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Measure applies flag to every row and returns the rates per file and per
// "file/category", sorted by group name.
func Measure(rows []Row, flag func(string) bool) (perFile, perCategory []Rate) {
	return MeasureRows(rows, func(r Row) bool { return flag(r.Text) })
}

// MeasureRows is [Measure] with a flag that sees the whole row (to choose
// the channel by [EvalChannel], for example).
func MeasureRows(rows []Row, flag func(Row) bool) (perFile, perCategory []Rate) {
	hits := make([]bool, len(rows))
	for i, r := range rows {
		hits[i] = flag(r)
	}
	return Tally(rows, hits)
}

// Tally returns the rates per file and per "file/category" of rows whose
// verdicts are hits (hits[i] for rows[i]), sorted by group name.
func Tally(rows []Row, hits []bool) (perFile, perCategory []Rate) {
	files := map[string]*Rate{}
	cats := map[string]*Rate{}
	for i, r := range rows {
		hit := hits[i]
		for _, g := range []struct {
			m   map[string]*Rate
			key string
		}{{files, r.File}, {cats, r.File + "/" + Category(r)}} {
			rt := g.m[g.key]
			if rt == nil {
				rt = &Rate{Group: g.key}
				g.m[g.key] = rt
			}
			if r.Malicious() {
				rt.Positives++
				if hit {
					rt.TruePos++
				}
			} else {
				rt.Benign++
				if hit {
					rt.FalsePos++
				}
			}
		}
	}
	return sorted(files), sorted(cats)
}

func sorted(m map[string]*Rate) []Rate {
	out := make([]Rate, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// WriteTable writes rates as a Markdown table.
func WriteTable(w io.Writer, rates []Rate) {
	fmt.Fprintln(w, "| group | positives | benign | TPR | FPR | precision |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, r := range rates {
		tpr, prec := "—", "—"
		if r.Positives > 0 {
			tpr = fmt.Sprintf("%.1f%% (%d/%d)", 100*r.TPR(), r.TruePos, r.Positives)
			prec = fmt.Sprintf("%.1f%%", 100*r.Precision())
		}
		fpr := "—"
		if r.Benign > 0 {
			fpr = fmt.Sprintf("%.2f%% (%d/%d)", 100*r.FPR(), r.FalsePos, r.Benign)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s |\n", r.Group, r.Positives, r.Benign, tpr, fpr, prec)
	}
}
