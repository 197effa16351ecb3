package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/internal/train/injtrain"
)

// cvFolds is the number of cross-validation folds of -fold.
const cvFolds = 5

// cvScore is one training-split row scored by the model that did not see
// it: the prompt head's and the data head's probabilities.
type cvScore struct {
	row          injtrain.Row
	prompt, data float64
}

// flagged is the channel-aware verdict of the model alone: the prompt head
// in both channels, the data head too in the data channel.
func (c cvScore) flagged(promptTh, dataTh float64) bool {
	if c.prompt >= promptTh {
		return true
	}
	return injtrain.EvalChannel(c.row) == detect.ChannelData && c.data >= dataTh
}

// crossValidate trains cvFolds models, each on all folds of rows but one,
// scores the left-out fold and prints the pooled rates, a sweep of the
// data head's threshold and the mistakes at the balanced thresholds. Rows
// are the training split: the held-out rows are never touched.
func crossValidate(ctx context.Context, rows []injtrain.Row, seed uint64, opts detect.ModelTrainOptions) error {
	var scores []cvScore
	var th *detect.Model // the last fold's model, for its thresholds
	var plantedHit, planted, hostHit, hosts int
	var plantedScores []cvScore // attacks planted in contexts, scored as data
	for i := range cvFolds {
		rest, part := injtrain.Fold(rows, cvFolds, i)
		m, err := injtrain.Train(ctx, rest, seed, opts)
		if err != nil {
			return err
		}
		th = m
		var attacks, contexts []injtrain.Row
		for _, r := range part {
			scores = append(scores, cvScore{row: r, prompt: m.Score(r.Text), data: m.ChannelScore(detect.ChannelData, r.Text)})
			switch {
			case r.File != "bipia.jsonl":
			case r.Malicious():
				attacks = append(attacks, r)
			case injtrain.EvalChannel(r) == detect.ChannelData:
				contexts = append(contexts, r)
			}
		}
		// The fold's attacks planted in the fold's contexts: how the data
		// channel sees an attack inside the data it hides in.
		p, h := injtrain.Planted(attacks, contexts, seed)
		pt, dt := m.Threshold(detect.SensitivityBalanced), m.ChannelThreshold(detect.ChannelData, detect.SensitivityBalanced)
		for i := range p {
			plantedScores = append(plantedScores, cvScore{row: injtrain.Row{File: "planted", Label: "malicious"},
				prompt: m.Score(p[i]), data: m.ChannelScore(detect.ChannelData, p[i])})
			planted++
			if m.Score(p[i]) >= pt || m.ChannelScore(detect.ChannelData, p[i]) >= dt {
				plantedHit++
			}
			hosts++
			if m.Score(h[i]) >= pt || m.ChannelScore(detect.ChannelData, h[i]) >= dt {
				hostHit++
			}
		}
	}
	w := os.Stdout
	for _, s := range []detect.Sensitivity{detect.SensitivityStrict, detect.SensitivityBalanced, detect.SensitivityPermissive} {
		pt, dt := th.Threshold(s), th.ChannelThreshold(detect.ChannelData, s)
		files, cats := measure(scores, func(c cvScore) bool { return c.prompt >= pt })
		fmt.Fprintf(w, "cross-validated (%d folds), model alone, channel-blind, %s (threshold %.2f):\n", cvFolds, s, pt)
		injtrain.WriteTable(w, files)
		injtrain.WriteTable(w, cats)
		files, cats = measure(scores, func(c cvScore) bool { return c.flagged(pt, dt) })
		fmt.Fprintf(w, "cross-validated, model alone, channel-aware, %s (data threshold %.2f):\n", s, dt)
		injtrain.WriteTable(w, files)
		injtrain.WriteTable(w, cats)
	}
	fmt.Fprintf(w, "cross-validated, data channel, balanced: attacks planted in excerpts of the fold's contexts %s flagged; the same excerpts alone %s\n",
		pct(plantedHit, planted), pct(hostHit, hosts))
	writeSweep(w, scores, plantedScores, th.Threshold(detect.SensitivityBalanced))
	pt, dt := th.Threshold(detect.SensitivityBalanced), th.ChannelThreshold(detect.ChannelData, detect.SensitivityBalanced)
	sort.SliceStable(scores, func(i, j int) bool { return scores[i].data > scores[j].data })
	for _, c := range scores {
		// Ordinary rows' mistakes are counted in the tables above.
		if !c.row.Ordinary && c.flagged(pt, dt) != c.row.Malicious() {
			fmt.Fprintf(w, "miss %s %s prompt=%.2f data=%.2f len=%d %q\n", injtrain.EvalChannel(c.row), c.row.Category,
				c.prompt, c.data, len(c.row.Text), trunc(c.row.Text, 100))
		}
	}
	return nil
}

// measure tallies the verdicts of flag on scored rows, per file and per
// category.
func measure(scores []cvScore, flag func(cvScore) bool) (perFile, perCategory []injtrain.Rate) {
	rows := make([]injtrain.Row, len(scores))
	hits := make([]bool, len(scores))
	for i, c := range scores {
		rows[i], hits[i] = c.row, flag(c)
	}
	return injtrain.Tally(rows, hits)
}

// writeSweep prints the channel-aware BIPIA rates as the data head's
// threshold varies (the prompt head's stays at promptTh).
func writeSweep(w io.Writer, scores, planted []cvScore, promptTh float64) {
	fmt.Fprintln(w, "data-head threshold sweep (cross-validated, channel-aware, bipia; prompt threshold fixed):")
	fmt.Fprintln(w, "| data threshold | TPR | text_attack | missed by the prompt head | FPR | FPR on data (contexts) | planted in contexts | false positives by category |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, dt := range []float64{0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99} {
		var tp, pos, fp, neg, dfp, dneg, ttp, tpos, mtp, mpos int
		fpBy := map[string]int{}
		for _, c := range scores {
			if c.row.File != "bipia.jsonl" {
				continue
			}
			hit := c.flagged(promptTh, dt)
			if c.row.Malicious() {
				pos++
				text := injtrain.Category(c.row) == "text_attack"
				if text {
					tpos++
				}
				if c.prompt < promptTh {
					mpos++
					if hit {
						mtp++
					}
				}
				if hit {
					tp++
					if text {
						ttp++
					}
				}
				continue
			}
			neg++
			data := injtrain.EvalChannel(c.row) == detect.ChannelData
			if data {
				dneg++
			}
			if hit {
				fp++
				if data {
					dfp++
				}
				fpBy[injtrain.Category(c.row)]++
			}
		}
		var ptp int
		for _, c := range planted {
			if c.prompt >= promptTh || c.data >= dt {
				ptp++
			}
		}
		var cats []string
		for k := range fpBy {
			cats = append(cats, k)
		}
		sort.Strings(cats)
		var by []string
		for _, k := range cats {
			by = append(by, fmt.Sprintf("%s %d;", k, fpBy[k]))
		}
		fmt.Fprintf(w, "| %.2f | %s | %s | %s | %s | %s | %s | %s |\n", dt, pct(tp, pos), pct(ttp, tpos), pct(mtp, mpos), pct(fp, neg), pct(dfp, dneg), pct(ptp, len(planted)), strings.Join(by, " "))
	}
}

// pct formats a/b as a percentage with the counts.
func pct(a, b int) string {
	return fmt.Sprintf("%.2f%% (%d/%d)", 100*float64(a)/float64(max(b, 1)), a, b)
}
