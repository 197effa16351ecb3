package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/agentos/agentos/detect"
	"github.com/agentos/agentos/internal/secretkinds"
	"github.com/agentos/agentos/internal/train/injtrain"
)

// evaluate runs every detector over the corpora.
func evaluate(ctx context.Context, p params, progress io.Writer) (*report, error) {
	c, err := loadCorpus(p.corpora)
	if err != nil {
		return nil, err
	}
	rep := &report{Date: p.now.UTC().Format("2006-01-02"), Machine: machine()}
	for _, f := range corpusFiles {
		rows := c.rows[f.Path]
		l := corpusLine{File: f, Rows: len(rows), Bytes: c.bytes[f.Path]}
		for _, r := range rows {
			if r.positive() {
				l.Pos++
			} else {
				l.Benign++
			}
		}
		rep.Corpus = append(rep.Corpus, l)
	}
	ev := &evaluator{c: c, bench: p.bench, trainEpochs: p.trainEpochs}
	steps := []struct {
		name string
		fn   func(context.Context) (section, []target, error)
	}{
		{"injection", ev.injection},
		{"secrets", ev.secrets},
		{"pii", ev.pii},
		{"dangerous", ev.dangerous},
		{"mcp", ev.mcp},
		{"response", ev.response},
	}
	for _, s := range steps {
		fmt.Fprintf(progress, "detecteval: %s\n", s.name)
		sec, tg, err := s.fn(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		rep.Sections = append(rep.Sections, sec)
		rep.Targets = append(rep.Targets, tg...)
	}
	return rep, nil
}

// evaluator holds the loaded corpus and the run's settings.
type evaluator struct {
	c           *corpus
	bench       bool
	trainEpochs int // see params

	held      []injtrain.Row // the injection rows held out from training
	heldModel *detect.Model  // trained without them; nil until heldOut
	heldOrd   int            // ordinary texts in its training data
	heldTrain int            // corpus rows in its training data
}

// heldOut returns the injection rows held out from training and a model
// trained, as the embedded one is, on the rest: made once and shared by
// the sections that judge held-out rows.
func (e *evaluator) heldOut(ctx context.Context) ([]injtrain.Row, *detect.Model, error) {
	if e.heldModel != nil {
		return e.held, e.heldModel, nil
	}
	train, held := injtrain.Split(e.injRows())
	// The data head also learns from ordinary text of other corpus files,
	// as the embedded model does (injtrain.Load appends the same rows).
	ordinary, err := injtrain.LoadOrdinary(e.c.dir)
	if err != nil {
		return nil, nil, err
	}
	e.heldTrain = len(train)
	train = append(train, ordinary...)
	opts := injtrain.TrainOptions()
	if e.trainEpochs > 0 {
		opts.Epochs = e.trainEpochs
	}
	m, err := injtrain.Train(ctx, train, injtrain.Seed, opts)
	if err != nil {
		return nil, nil, err
	}
	e.held, e.heldModel, e.heldOrd = held, m, len(ordinary)
	return held, m, nil
}

// flagFunc decides one text; an error counts as flagged (fail closed).
type flagFunc func(ctx context.Context, text string) (bool, error)

// measure applies flag to rows and tallies per file, per top category and
// per full category. Errors from ctx are returned; any other error counts
// as a detection (the detectors fail closed).
func measure(ctx context.Context, file string, rows []row, flag flagFunc, t ...tally) error {
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		hit, err := flag(ctx, r.Text)
		if err != nil {
			hit = true
		}
		groups := []string{file, file + " / " + topCategory(r.Category), file + " / " + r.Category}
		for i, tl := range t {
			tl.add(groups[min(i, len(groups)-1)], r.positive(), hit)
		}
	}
	return nil
}

// injRows converts corpus rows of the two injection files to injtrain rows.
func (e *evaluator) injRows() []injtrain.Row {
	var out []injtrain.Row
	for _, name := range injtrain.Files {
		for _, r := range e.c.rows[name] {
			out = append(out, injtrain.Row{File: baseName(name), Text: r.Text, Label: r.Label, Source: r.Source, Category: r.Category})
		}
	}
	return out
}

func baseName(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// rowsOf converts injtrain rows back for measure.
func rowsOf(in []injtrain.Row) []row {
	out := make([]row, len(in))
	for i, r := range in {
		out[i] = row{Text: r.Text, Label: r.Label, Source: r.Source, Category: r.Category}
	}
	return out
}

// measureInj tallies injection rows per file (File field), top category and
// full category.
func measureInj(ctx context.Context, rows []injtrain.Row, flag flagFunc) (files, cats, subcats tally, err error) {
	return measureInjRows(ctx, rows, func(ctx context.Context, r injtrain.Row) (bool, error) { return flag(ctx, r.Text) })
}

// measureInjRows is measureInj with a flag that sees the whole row.
func measureInjRows(ctx context.Context, rows []injtrain.Row, flag func(context.Context, injtrain.Row) (bool, error)) (files, cats, subcats tally, err error) {
	files, cats, subcats = tally{}, tally{}, tally{}
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		hit, ferr := flag(ctx, r)
		if ferr != nil {
			hit = true
		}
		files.add(r.File, r.Malicious(), hit)
		cats.add(r.File+" / "+injtrain.Category(r), r.Malicious(), hit)
		if r.Malicious() {
			subcats.add(r.File+" / "+r.Category, true, hit)
		}
	}
	return files, cats, subcats, nil
}

// channelFlag judges each row in its channel ([injtrain.EvalChannel]).
func channelFlag(d *detect.Injection) func(context.Context, injtrain.Row) (bool, error) {
	return func(ctx context.Context, r injtrain.Row) (bool, error) {
		v, err := d.CheckChannel(ctx, r.Text, nil, injtrain.EvalChannel(r))
		return err != nil || v.Injection, err
	}
}

func checkFlag(d *detect.Injection) flagFunc {
	return func(ctx context.Context, s string) (bool, error) {
		v, err := d.Check(ctx, s, nil)
		return err != nil || v.Injection, err
	}
}

func (e *evaluator) injection(ctx context.Context) (section, []target, error) {
	sec := section{Title: "Prompt injection (`detect.Injection`, `detect.Model`)"}
	rows := e.injRows()
	held, m, err := e.heldOut(ctx)
	if err != nil {
		return sec, nil, err
	}
	sec.Intro = append(sec.Intro, fmt.Sprintf("The verdict combines the rules (the reference's seven strategies, matched on normalised "+
		"text) and the model: injection if a surviving rule or the model fires. Held-out split: %d rows "+
		"(BIPIA's own test files and three in ten WildGuard rows by a hash of the text); the held-out model "+
		"is trained on the other %d rows plus the synthetic data of `internal/train/injtrain` (and, for the data head, "+
		"%d texts of ordinary corpus files), with the same seed and options as the embedded model.",
		len(held), e.heldTrain, e.heldOrd))
	sec.Intro = append(sec.Intro, injectionModelNotes...)
	combined := map[detect.Sensitivity]*detect.Injection{}
	for _, s := range []detect.Sensitivity{detect.SensitivityStrict, detect.SensitivityBalanced, detect.SensitivityPermissive} {
		d, err := detect.NewInjection(detect.InjectionOptions{Model: m, Sensitivity: s})
		if err != nil {
			return sec, nil, err
		}
		combined[s] = d
	}
	files, cats, subcats, err := measureInj(ctx, held, checkFlag(combined[detect.SensitivityBalanced]))
	if err != nil {
		return sec, nil, err
	}
	cf, cc, csub, err := measureInjRows(ctx, held, channelFlag(combined[detect.SensitivityBalanced]))
	if err != nil {
		return sec, nil, err
	}
	sec.Tables = append(sec.Tables,
		table{Title: "**Held out, CHANNEL-AWARE (questions and WildGuard as user prompts, e-mails, tables, code answers and attacks as data), rules + model, balanced — per file**", Key: "file", Rows: cf.sorted()},
		table{Title: "Held out, channel-aware, balanced — per category", Key: "file / category", Rows: cc.sorted()},
		table{Title: "Held out, channel-aware, balanced — attacks per sub-category", Key: "file / category", Rows: csub.sorted()},
		table{Title: "**Held out, CHANNEL-BLIND (every row as a user prompt, the default), rules + model, balanced — per file**", Key: "file", Rows: files.sorted()},
		table{Title: "Held out, channel-blind, balanced — per category", Key: "file / category", Rows: cats.sorted()},
		table{Title: "Held out, channel-blind, balanced — attacks per sub-category", Key: "file / category", Rows: subcats.sorted()})
	dataAll, err := detect.NewInjection(detect.InjectionOptions{Model: m, Channel: detect.ChannelData})
	if err != nil {
		return sec, nil, err
	}
	_, dc, _, err := measureInj(ctx, held, checkFlag(dataAll))
	if err != nil {
		return sec, nil, err
	}
	sec.Tables = append(sec.Tables, table{Title: "Held out, every row as DATA (a user's question planted in data is an injection by design, so question and WildGuard rows flagged here are expected), balanced — per category", Key: "file / category", Rows: dc.sorted()})
	sens := tally{}
	for _, s := range []detect.Sensitivity{detect.SensitivityStrict, detect.SensitivityBalanced, detect.SensitivityPermissive} {
		f, _, _, err := measureInj(ctx, held, checkFlag(combined[s]))
		if err != nil {
			return sec, nil, err
		}
		for _, c := range f.sorted() {
			c.Group = "channel-blind, " + string(s) + " / " + c.Group
			sens[c.Group] = &c
		}
		f, _, _, err = measureInjRows(ctx, held, channelFlag(combined[s]))
		if err != nil {
			return sec, nil, err
		}
		for _, c := range f.sorted() {
			c.Group = "channel-aware, " + string(s) + " / " + c.Group
			sens[c.Group] = &c
		}
	}
	sec.Tables = append(sec.Tables, table{Title: "Held out, rules + model, per sensitivity (channel-aware and channel-blind)", Key: "channel, sensitivity / file", Rows: sens.sorted()})

	rulesOnly, err := detect.NewInjection(detect.InjectionOptions{DisableModel: true})
	if err != nil {
		return sec, nil, err
	}
	refFlag := func(_ context.Context, s string) (bool, error) { return rulesOnly.Reference(s, nil).IsInjection, nil }
	rf, rc, _, err := measureInj(ctx, held, refFlag)
	if err != nil {
		return sec, nil, err
	}
	nf, _, _, err := measureInj(ctx, held, checkFlag(rulesOnly))
	if err != nil {
		return sec, nil, err
	}
	af, _, _, err := measureInj(ctx, rows, refFlag)
	if err != nil {
		return sec, nil, err
	}
	sec.Tables = append(sec.Tables,
		table{Title: "Reference view: the reference's rules alone, as the reference matches them (`Injection.Reference`), held out — per file", Key: "file", Rows: rf.sorted()},
		table{Title: "Reference view, held out — per category", Key: "file / category", Rows: rc.sorted()},
		table{Title: "Reference view, every row — per file", Key: "file", Rows: af.sorted()},
		table{Title: "Our rules alone (normalised text, Markdown structure not an injection on its own, model off), held out — per file", Key: "file", Rows: nf.sorted()})

	emb, err := detect.NewInjection(detect.InjectionOptions{})
	if err != nil {
		return sec, nil, err
	}
	ef, ec, _, err := measureInj(ctx, rows, checkFlag(emb))
	if err != nil {
		return sec, nil, err
	}
	sec.Tables = append(sec.Tables,
		table{Title: "IN-SAMPLE (the embedded model was trained on every row; not a quality claim), rules + model, balanced — per file", Key: "file", Rows: ef.sorted()},
		table{Title: "IN-SAMPLE — per category", Key: "file / category", Rows: ec.sorted()})

	// Targets: held-out bipia TPR, FPR on every file.
	var tg []target
	bip := *files["bipia.jsonl"]
	tpr, _ := bip.TPR()
	worst, worstName := 0.0, ""
	for _, c := range files.sorted() {
		if v, ok := c.FPR(); ok && v >= worst {
			worst, worstName = v, c.Group
		}
	}
	tg = append(tg, target{"injection (held out, balanced, channel-blind)", "TPR ≥ 90% with FPR ≤ 1%",
		fmt.Sprintf("TPR %.1f%% (bipia); highest FPR %.2f%% (%s)", 100*tpr, 100*worst, worstName),
		yesNo(tpr >= 0.9 && worst <= 0.01)})
	ctpr, _ := cf["bipia.jsonl"].TPR()
	cworst, cworstName := 0.0, ""
	for _, c := range cf.sorted() {
		if v, ok := c.FPR(); ok && v >= cworst {
			cworst, cworstName = v, c.Group
		}
	}
	tg = append(tg, target{"injection (held out, balanced, channel-aware)", "TPR ≥ 90% with FPR ≤ 1%",
		fmt.Sprintf("TPR %.1f%% (bipia); highest FPR %.2f%% (%s)", 100*ctpr, 100*cworst, cworstName),
		yesNo(ctpr >= 0.9 && cworst <= 0.01)})

	if e.bench {
		kib := benignText(e.c.rows["injection/bipia.jsonl"], 1<<10)
		mib := benignText(e.c.rows["injection/bipia.jsonl"], 1<<20)
		check := func(s string) func() { return func() { _, _ = emb.Check(ctx, s, nil) } }
		r1 := bench(len(kib), check(kib))
		r2 := bench(len(mib), check(mib))
		r3 := bench(len(kib), func() { _ = rulesOnly.Reference(kib, nil) })
		r4 := bench(len(kib), func() { _ = m.Score(kib) })
		sec.Speed = append(sec.Speed,
			speed{"Check, 1 KiB of e-mail text (rules + model)", r1.String()},
			speed{"Check, 1 MiB", r2.String()},
			speed{"Reference (rules only), 1 KiB", r3.String()},
			speed{"Model.Score, 1 KiB", r4.String()})
		tg = append(tg,
			target{"injection speed", "1 KiB ≤ 20 µs", r1.usString(), yesNo(r1.us() <= 20)},
			target{"injection speed", "≥ 50 MB/s on large input", r2.mbString(), yesNo(r2.mbps() >= 50)})
	} else {
		sec.Speed = append(sec.Speed, speed{"Check, 1 KiB", ""}, speed{"Check, 1 MiB", ""})
		tg = append(tg, target{"injection speed", "1 KiB ≤ 20 µs, ≥ 50 MB/s", "—", "not measured"})
	}
	return sec, tg, nil
}

// benignText concatenates benign rows (in file order) into a text of
// exactly n bytes, cut at a rune boundary at most 3 bytes short.
func benignText(rows []row, n int) string {
	var b strings.Builder
	for b.Len() < n {
		for _, r := range rows {
			if r.positive() {
				continue
			}
			b.WriteString(r.Text)
			b.WriteString("\n\n")
			if b.Len() >= n {
				break
			}
		}
		if b.Len() == 0 {
			return strings.Repeat("plain text ", n/11+1)[:n]
		}
	}
	s := b.String()[:n]
	return strings.ToValidUTF8(s[:len(s)-lastRuneCut(s)], "")
}

// lastRuneCut returns how many trailing bytes of s belong to an incomplete
// UTF-8 sequence.
func lastRuneCut(s string) int {
	for i := 1; i <= 3 && i <= len(s); i++ {
		c := s[len(s)-i]
		if c < 0x80 {
			return 0
		}
		if c >= 0xC0 {
			need := 2
			if c >= 0xE0 {
				need = 3
			}
			if c >= 0xF0 {
				need = 4
			}
			if need > i {
				return i
			}
			return 0
		}
	}
	return 0
}

// secretsFlag flags a text when d reports a finding of a kind in family
// (any finding for secretkinds.Any); an error flags it (fail closed).
func secretsFlag(d detect.Detector, family []string) flagFunc {
	return func(ctx context.Context, s string) (bool, error) {
		fs, err := d.Scan(ctx, s)
		if err != nil {
			return true, err
		}
		kinds := make([]string, len(fs))
		for i, f := range fs {
			kinds[i] = f.Kind
		}
		return secretkinds.Answers(kinds, family), nil
	}
}

func scanFlag(d detect.Detector) flagFunc {
	return func(ctx context.Context, s string) (bool, error) {
		fs, err := d.Scan(ctx, s)
		return err != nil || len(fs) > 0, err
	}
}

// benignTextFiles are the files whose unlabelled or benign text measures
// the false-positive pressure of the secrets and PII detectors.
var benignTextFiles = []string{"injection/bipia.jsonl", "injection/wildguard_benign.jsonl", "toolcalls/bfcl_calls.jsonl"}

func (e *evaluator) secrets(ctx context.Context) (section, []target, error) {
	sec := section{Title: "Secrets (`detect.Secrets`)"}
	d := detect.NewSecrets(detect.SecretsOptions{})
	flag := scanFlag(d)
	var tg []target
	kindsMet, kindsAll := 0, 0
	var failing []string
	wrong := map[string][]string{} // per kind: the rows its rules got wrong
	pass := newPassTimer(e.bench)
	for _, file := range []string{"secrets/detect_secrets_plugin_tests.jsonl", "secrets/gitleaks_rule_examples.jsonl"} {
		sup, other, anyHit := tally{}, tally{}, tally{}
		for _, r := range e.c.rows[file] {
			hit, err := pass.run(ctx, r.Text, flag)
			if err != nil && ctx.Err() != nil {
				return sec, nil, err
			}
			kind := strings.TrimPrefix(r.Kind, "gitleaks-fp:")
			if family, ok := secretkinds.Family(kind); ok {
				kindHit, err := secretsFlag(d, family)(ctx, r.Text)
				if err != nil && ctx.Err() != nil {
					return sec, nil, err
				}
				sup.add(kind, r.positive(), kindHit)
				anyHit.add(kind, r.positive(), hit)
				if kindHit != r.positive() {
					what := "missed"
					if kindHit {
						what = "flagged, labelled clean"
					}
					wrong[kind] = append(wrong[kind], fmt.Sprintf("%s `%s`", what, strings.ReplaceAll(excerpt(r.Text, 80), "`", "'")))
				}
			} else {
				other.add(kind, r.positive(), hit)
			}
		}
		ts, to, ta := sup.total("supported kinds"), other.total("other kinds"), anyHit.total("supported kinds")
		sec.Tables = append(sec.Tables,
			table{Title: "`" + file + "` — supported kinds (precision and recall per kind; a row is flagged by a finding of its kind)", Key: "kind", Rows: sup.sorted(), Total: &ts},
			table{Title: "`" + file + "` — supported kinds, flagged by any finding (a string another rule rightly matches counts against the kind)", Key: "kind", Rows: anyHit.sorted(), Total: &ta},
			table{Title: "`" + file + "` — kinds without a rule", Key: "kind", Rows: other.sorted(), Total: &to})
		for _, c := range sup.sorted() {
			if c.Pos == 0 {
				continue
			}
			kindsAll++
			rec, _ := c.TPR()
			prec, ok := c.Precision()
			if rec >= 0.95 && ok && prec >= 0.95 {
				kindsMet++
			} else {
				failing = append(failing, c.Group)
			}
		}
	}
	bt := tally{}
	for _, f := range benignTextFiles {
		if err := measure(ctx, f, benignOnly(e.c.rows[f]), flag, tally{}, bt); err != nil {
			return sec, nil, err
		}
	}
	sec.Tables = append(sec.Tables, table{Title: "Benign text (no secrets expected) — flag rate per file / category", Key: "file / category", Rows: bt.sorted()})
	for _, kind := range failing {
		why := secretMissReasons[kind]
		if why == "" {
			why = "no reason recorded"
		}
		sec.Intro = append(sec.Intro, fmt.Sprintf("**%s** is below 95%%: %s. Rows: %s.", kind, why, strings.Join(wrong[kind], "; ")))
	}
	measured := fmt.Sprintf("%d of %d supported kinds with positives", kindsMet, kindsAll)
	if len(failing) > 0 {
		measured += "; below: " + strings.Join(failing, ", ")
	}
	tg = append(tg, target{"secrets (tuning data)", "precision and recall ≥ 95% per supported kind", measured, yesNo(kindsMet == kindsAll)})
	sec.Speed = append(sec.Speed, speed{"corpus pass (secrets files)", pass.String()})
	tg = append(tg, e.mbTarget(&sec, "secrets speed", d, 100))
	return sec, tg, nil
}

// mbTarget measures d on 1 MiB of benign text against a MB/s target.
func (e *evaluator) mbTarget(sec *section, name string, d detect.Detector, want float64) target {
	if !e.bench {
		sec.Speed = append(sec.Speed, speed{"Scan, 1 MiB of mixed text", ""})
		return target{name, fmt.Sprintf("≥ %.0f MB/s", want), "—", "not measured"}
	}
	var rows []row
	for _, f := range benignTextFiles {
		rows = append(rows, e.c.rows[f]...)
	}
	mib := benignText(rows, 1<<20)
	ctx := context.Background()
	r := bench(len(mib), func() { _, _ = d.Scan(ctx, mib) })
	sec.Speed = append(sec.Speed, speed{"Scan, 1 MiB of mixed text (e-mails, tables, prompts, tool calls)", r.String()})
	return target{name, fmt.Sprintf("≥ %.0f MB/s", want), r.mbString(), yesNo(r.mbps() >= want)}
}

func benignOnly(rows []row) []row {
	var out []row
	for _, r := range rows {
		if !r.positive() {
			out = append(out, r)
		}
	}
	return out
}

func (e *evaluator) pii(ctx context.Context) (section, []target, error) {
	sec := section{Title: "Personal data (`detect.PII`)"}
	sec.Intro = append(sec.Intro, "No corpus labels personal data. The table is the share of texts flagged among "+
		"texts not labelled as anything; e-mails and tool calls can really contain addresses and numbers, so a "+
		"flag there is not necessarily false.")
	d := detect.NewPII(detect.PIIOptions{})
	files, cats := tally{}, tally{}
	pass := newPassTimer(e.bench)
	for _, f := range benignTextFiles {
		for _, r := range benignOnly(e.c.rows[f]) {
			hit, err := pass.run(ctx, r.Text, scanFlag(d))
			if err != nil && ctx.Err() != nil {
				return sec, nil, err
			}
			files.add(f, false, hit)
			cats.add(f+" / "+topCategory(r.Category), false, hit)
		}
	}
	sec.Tables = append(sec.Tables,
		table{Title: "Flag rate per file", Key: "file", Rows: files.sorted()},
		table{Title: "Flag rate per category", Key: "file / category", Rows: cats.sorted()})
	sec.Speed = append(sec.Speed, speed{"corpus pass", pass.String()})
	return sec, []target{e.mbTarget(&sec, "PII speed", d, 100)}, nil
}

// tldrGroups returns the category ("ordinary" or "destructive_by_description")
// and the platform of a tldr row ("tldr:linux/rm:ordinary").
func tldrGroups(cat string) (kind, platform string) {
	rest := strings.TrimPrefix(cat, "tldr:")
	page, kind, _ := strings.Cut(rest, ":")
	platform, _, _ = strings.Cut(page, "/")
	return kind, platform
}

func (e *evaluator) dangerous(ctx context.Context) (section, []target, error) {
	sec := section{Title: "Dangerous operations (`detect.Dangerous`)"}
	d := detect.NewDangerous(detect.DangerousOptions{})
	flag := scanFlag(d)
	var tg []target
	pass := newPassTimer(e.bench)
	for _, file := range []string{"destructive/tldr_commands.jsonl", "destructive/sqlglot_statements.jsonl", "toolcalls/bfcl_calls.jsonl"} {
		ft, ct, pt := tally{}, tally{}, tally{}
		for _, r := range e.c.rows[file] {
			hit, err := pass.run(ctx, r.Text, flag)
			if err != nil && ctx.Err() != nil {
				return sec, nil, err
			}
			ft.add(file, r.positive(), hit)
			if strings.HasPrefix(r.Category, "tldr:") {
				kind, platform := tldrGroups(r.Category)
				ct.add("tldr:"+kind, r.positive(), hit)
				pt.add(platform, r.positive(), hit)
			} else {
				ct.add(r.Category, r.positive(), hit)
			}
		}
		sec.Tables = append(sec.Tables, table{Title: "`" + file + "` — per category", Key: "category", Rows: ct.sorted(), Total: ft[file]})
		if len(pt) > 0 {
			sec.Tables = append(sec.Tables, table{Title: "`" + file + "` — per platform", Key: "platform", Rows: pt.sorted()})
		}
		if file != "toolcalls/bfcl_calls.jsonl" {
			fpr, _ := ft[file].FPR()
			tg = append(tg, target{"dangerous operations", "FPR ≤ 0.5% on ordinary " + baseName(file),
				fmt.Sprintf("%.2f%% (%d/%d)", 100*fpr, ft[file].FP, ft[file].Neg), yesNo(fpr <= 0.005)})
		}
	}
	sec.Speed = append(sec.Speed, speed{"corpus pass (commands, statements, tool calls)", pass.String()})
	if e.bench {
		cmd := "find . -name '*.log' -mtime +7 -exec gzip {} \\; && tar -czf logs.tgz ./logs"
		r := bench(len(cmd), func() { _, _ = d.Scan(ctx, cmd) })
		sec.Speed = append(sec.Speed, speed{"Scan, one shell command", r.String()})
	}
	return sec, tg, nil
}

func (e *evaluator) mcp(ctx context.Context) (section, []target, error) {
	sec := section{Title: "MCP tool definitions (`detect.MCPScanner`)"}
	sec.Intro = append(sec.Intro, "Each definition is scanned by a fresh default scanner (after registering the "+
		"shadowed tool from another server for MSB's name-collision rows); a row counts as flagged when the "+
		"threats block (`detect.Blocking`).")
	var tg []target
	files := tally{}
	pass := newPassTimer(e.bench)
	for _, file := range []string{"mcp/msb_tool_signatures.jsonl", "mcp/mcp_tools_list_snapshots.jsonl", "mcp/bfcl_function_docs.jsonl"} {
		ct := tally{}
		for i, r := range e.c.rows[file] {
			s, err := detect.NewMCPScanner(detect.MCPOptions{})
			if err != nil {
				return sec, nil, err
			}
			if r.Shadows != "" {
				if _, err := s.RegisterTool("original", detect.Tool{Name: r.Shadows, Description: "original tool"}); err != nil {
					return sec, nil, fmt.Errorf("%s:%d: register shadowed tool: %w", file, i+1, err)
				}
			}
			hit, err := pass.run(ctx, string(r.Tool), func(ctx context.Context, def string) (bool, error) {
				th, err := s.ScanToolJSON(ctx, "server", []byte(def))
				return err != nil || detect.Blocking(th), err
			})
			if err != nil && ctx.Err() != nil {
				return sec, nil, err
			}
			files.add(file, r.positive(), hit)
			ct.add(r.Category, r.positive(), hit)
		}
		sec.Tables = append(sec.Tables, table{Title: "`" + file + "` — per category", Key: "category", Rows: ct.sorted(), Total: files[file]})
	}
	sec.Tables = append(sec.Tables, table{Title: "Per file", Key: "file", Rows: files.sorted()})
	tpr, _ := files["mcp/msb_tool_signatures.jsonl"].TPR()
	worst, worstName := 0.0, ""
	for _, c := range files.sorted() {
		if v, ok := c.FPR(); ok && v >= worst {
			worst, worstName = v, c.Group
		}
	}
	tg = append(tg, target{"MCP poisoning (tuning data)", "TPR ≥ 90% with FPR ≤ 1%",
		fmt.Sprintf("TPR %.1f%% (MSB); highest FPR %.2f%% (%s)", 100*tpr, 100*worst, worstName),
		yesNo(tpr >= 0.9 && worst <= 0.01)})
	sec.Speed = append(sec.Speed, speed{"corpus pass (parse + scan per definition)", pass.String()})
	if e.bench && len(e.c.rows["mcp/bfcl_function_docs.jsonl"]) > 0 {
		s, err := detect.NewMCPScanner(detect.MCPOptions{})
		if err != nil {
			return sec, nil, err
		}
		tool, err := detect.ParseTool(e.c.rows["mcp/bfcl_function_docs.jsonl"][0].Tool)
		if err != nil {
			return sec, nil, fmt.Errorf("parse benchmark tool: %w", err)
		}
		r := bench(len(tool.Description)+len(tool.InputSchema), func() { _, _ = s.ScanTool(ctx, "bench", tool) })
		sec.Speed = append(sec.Speed, speed{"ScanTool, one ordinary definition (parsed)", r.String()})
		tg = append(tg, target{"MCP speed", "≤ 5 µs per tool", r.usString(), yesNo(r.us() <= 5)})
	} else {
		tg = append(tg, target{"MCP speed", "≤ 5 µs per tool", "—", "not measured"})
	}
	return sec, tg, nil
}

func (e *evaluator) response(ctx context.Context) (section, []target, error) {
	sec := section{Title: "Tool responses (`detect.ResponseScanner`)"}
	sec.Intro = append(sec.Intro, "A response counts as flagged when `ScanResponse` reports it unsafe. Ordinary "+
		"tool-call JSON stands in for ordinary tool output (a proxy: no corpus has labelled tool outputs); "+
		"BIPIA gives attacks and the e-mails, tables and code they hide in; the secrets files give credentials "+
		"and secret-shaped strings that are not credentials (near misses, placeholders). Three configurations: "+
		"the reference's rules alone (the default of `detect.NewResponseScanner`); the rules with the secrets "+
		"detector (`ResponseOptions.Secrets`), which is what `agentos mcp wrap` and `agentos mcp proxy` run by default; "+
		"and, with `--scan-injection-model`, also the injection detector's rules and its model's data head "+
		"(`ResponseOptions.Injection`). The first two miss most of BIPIA's attacks, which the reference's rules were "+
		"not written for. The model is not on by default: its verdict is about a whole text, so a flagged response "+
		"can only be blocked whole, and a false alarm blocks a tool's answer. Only the data head counts: the prompt "+
		"head, which also runs on data, fires on instructions written for people (a README's \"To install, run npm "+
		"install and then start the server with npm start.\" scores 97% there, 2% by the data head).")
	configs := []struct {
		name string
		opts detect.ResponseOptions
	}{
		{"the reference's rules", detect.ResponseOptions{}},
		{"as the gateway runs it: the rules and `detect.Secrets`", detect.ResponseOptions{Secrets: detect.NewSecrets(detect.SecretsOptions{})}},
	}
	for _, cfg := range configs {
		s, err := detect.NewResponseScanner(cfg.opts)
		if err != nil {
			return sec, nil, err
		}
		files, cats := tally{}, tally{}
		pass := newPassTimer(e.bench)
		for _, file := range []string{"toolcalls/bfcl_calls.jsonl", "injection/bipia.jsonl", "injection/wildguard_benign.jsonl",
			"secrets/detect_secrets_plugin_tests.jsonl", "secrets/gitleaks_rule_examples.jsonl"} {
			for _, r := range e.c.rows[file] {
				tool := r.Call.Tool
				hit, err := pass.run(ctx, r.Text, func(ctx context.Context, text string) (bool, error) {
					res := s.ScanResponse(ctx, text, tool)
					return !res.Safe, ctx.Err()
				})
				if err != nil {
					return sec, nil, err
				}
				files.add(file, r.positive(), hit)
				if !strings.HasPrefix(file, "secrets/") { // per kind: see the secrets section
					cats.add(file+" / "+topCategory(r.Category), r.positive(), hit)
				}
			}
		}
		sec.Tables = append(sec.Tables,
			table{Title: "Per file, " + cfg.name, Key: "file", Rows: files.sorted()},
			table{Title: "Per category, " + cfg.name, Key: "file / category", Rows: cats.sorted()})
		sec.Speed = append(sec.Speed, speed{"corpus pass, " + cfg.name, pass.String()})
		if e.bench {
			kib := benignText(e.c.rows["injection/bipia.jsonl"], 1<<10)
			r := bench(len(kib), func() { _ = s.ScanResponse(ctx, kib, "read_email") })
			sec.Speed = append(sec.Speed, speed{"ScanResponse, 1 KiB, " + cfg.name, r.String()})
		}
	}
	if err := e.responseModel(ctx, &sec); err != nil {
		return sec, nil, err
	}
	return sec, nil, nil
}

// responseModel adds to sec the response scan as `mcp wrap
// --scan-injection-model` runs it (the rules, the secrets detector and the
// injection detector's rules and data head), judged on the held-out
// injection rows with the model trained without them, and on the files
// the injection model is not evaluated on.
func (e *evaluator) responseModel(ctx context.Context, sec *section) error {
	held, m, err := e.heldOut(ctx)
	if err != nil {
		return err
	}
	inj, err := detect.NewInjection(detect.InjectionOptions{Model: m, Channel: detect.ChannelData})
	if err != nil {
		return err
	}
	s, err := detect.NewResponseScanner(detect.ResponseOptions{Secrets: detect.NewSecrets(detect.SecretsOptions{}), Injection: inj})
	if err != nil {
		return err
	}
	flag := func(ctx context.Context, text string) (bool, error) {
		return !s.ScanResponse(ctx, text, "").Safe, ctx.Err()
	}
	var data []injtrain.Row // the rows that are data, not a user's prompt
	for _, r := range held {
		if injtrain.EvalChannel(r) == detect.ChannelData {
			data = append(data, r)
		}
	}
	files, cats, _, err := measureInj(ctx, data, flag)
	if err != nil {
		return err
	}
	for _, file := range []string{"toolcalls/bfcl_calls.jsonl", "secrets/detect_secrets_plugin_tests.jsonl", "secrets/gitleaks_rule_examples.jsonl"} {
		if err := measure(ctx, file, e.c.rows[file], flag, files); err != nil {
			return err
		}
	}
	const name = "with `--scan-injection-model` (the rules, `detect.Secrets`, the injection detector's rules and data head)"
	sec.Intro = append(sec.Intro, "The tables "+name+" judge the injection files' held-out rows that are data (BIPIA's "+
		"e-mails, tables and code answers, and its attacks; not its questions or WildGuard's prompts, which a user asks and "+
		"which the data head rightly flags when they turn up inside a tool's output), with the model trained without them "+
		"(as in the injection section); BFCL's tool calls are ordinary text the data head was trained on, so their rate "+
		"there is optimistic.")
	sec.Tables = append(sec.Tables,
		table{Title: "Per file, " + name, Key: "file", Rows: files.sorted()},
		table{Title: "Per category (held out), " + name, Key: "file / category", Rows: cats.sorted()})
	if e.bench {
		kib := benignText(e.c.rows["injection/bipia.jsonl"], 1<<10)
		r := bench(len(kib), func() { _ = s.ScanResponse(ctx, kib, "read_email") })
		sec.Speed = append(sec.Speed, speed{"ScanResponse, 1 KiB, " + name, r.String()})
	}
	return nil
}

// secretMissReasons say why the secrets detector gets the rows of a kind
// wrong that the report lists under it: the rows are labelled secrets but
// are not a credential in its issuer's format, or are a deliberate choice.
var secretMissReasons = map[string]string{
	"aws_key": "the row missed is AWS's documented example secret key (…EXAMPLEKEY), a placeholder the detector " +
		"passes over on purpose, as it does other documentation keys",
	"basic_auth": "the row is the literal placeholder `username:password`, passed over on purpose; a URL with any " +
		"other password is flagged",
	"twilio": "the rows are `x` repeated after the prefix; the detector passes over a vendor-shaped token holding a " +
		"long run of one character as the placeholder it is",
	"age-secret-key": "the row is `Q` repeated after the prefix, a placeholder to the detector for the same reason",
	"generic-api-key": "the row missed is a bare random-looking string with no name, assignment or known prefix (flagging " +
		"those would flag every hash and identifier); the row flagged is an `apiKey` assignment of a high-entropy value, " +
		"which gitleaks allowlists by its exact value and this detector reports on purpose",
}

// injectionModelNotes describe the model and its history; they are part of
// the report, not measured in the run.
var injectionModelNotes = []string{
	"**Channels.** `InjectionOptions.Channel` and `Injection.CheckChannel` say whether a text is the user's own " +
		"prompt (`prompt`, the default) or untrusted data the agent reads (`data`: tool results, retrieved documents, " +
		"e-mails, MCP responses, memory writes). The rules are the same in both. The model has two heads over the same " +
		"hashed text: the prompt head and a data head, trained so that in data any request addressed to " +
		"the assistant is an injection — plain tasks and questions (\"What is the tallest mountain in Africa?\") alone or " +
		"planted in e-mails, tables, web pages and code, in many languages — against data full of requests and " +
		"instructions meant for people (\"Can you send me the Q3 report by Friday?\", \"Log in to manage your booking\", " +
		"\"You should make x a NumPy array\"). In the data channel both heads run (what is an injection in a prompt is one " +
		"in data too) and the finding's rule says which fired (`model:data` or `model`). The channel-aware tables judge " +
		"BIPIA's questions and WildGuard as prompts and BIPIA's e-mails, tables, code answers and attacks as data; the " +
		"channel-blind tables judge every row as a prompt (what a caller that does not say the channel gets).",
	"**Model.** Logistic regression (AdaGrad, classes balanced, seed 20260401) over 2^18 hashed features of " +
		"the normalised text: byte 3/4/5-grams (white space collapsed, digits mapped to 0; the last five bytes " +
		"are kept in one 64-bit register, so each gram costs one multiplication to hash), word uni/bigrams and the " +
		"first word of each sentence, line or table cell (an opening imperative or question word), " +
		"the sum normalised by √(feature count), int8-quantised weights (256 KiB per head, embedded). Texts longer than " +
		"1 KiB are scored in 1 KiB windows stepping by 256 bytes and the highest window counts. The data head differs in " +
		"three ways: it reads words only (no byte grams: text unlike its training data then scores near even instead of " +
		"borrowing the weight of shared letters); words between backticks (Markdown inline code and fenced blocks) are " +
		"hashed apart from the same words in prose (`numpy.delete()` in an answer is not \"delete\" in a request); and it " +
		"scores long texts in 512-byte windows, so that a short request planted in a long document is less diluted. " +
		"Prompt-head thresholds are fixed a priori (strict 0.5, balanced 0.7, permissive 0.9); data-head thresholds " +
		"(0.7, 0.9, 0.95) were chosen by cross-validation on the training split (`go run ./internal/train -fold`: five " +
		"folds, each trained on the other four fifths of the training rows; it prints the pooled rates, a sweep of the " +
		"data-head threshold and the mistakes, and never reads the held-out rows): balanced 0.9 is the lowest threshold " +
		"whose cross-validated false-positive rate on BIPIA's data rows (e-mails, tables, code answers) stayed at or under " +
		"1% with three different seeds. Retrain with `go run ./internal/train` (deterministic: the same corpora give the " +
		"same file byte for byte).",
	"**Training data.** Prompt head: the training-split corpus rows plus synthetic examples composed from parts (never " +
		"corpus sentences): directives to an assistant in 15 languages planted in e-mails, tables, HTML " +
		"comments, code comments, JSON and reviews; indirect forms — directives about the assistant's own " +
		"output (\"modify your answer to ...\", \"reply using ...\" in twenty languages and encodings), requests to " +
		"plant harmful code in the assistant's solution, and ordinary tasks appended to data with a linking " +
		"phrase (\"Also, ...\", \"In addition, ...\"); and benign look-alikes. Data head (`injtrain.DataExamples`): " +
		"BIPIA's training-split attacks (positive), contexts and their lines and sentences (negative); the training-split " +
		"user questions and generated tasks planted in excerpts of those contexts, each paired with the same excerpt " +
		"without it; generated tasks for an assistant (an opener, one of 26 acts and one of 59 subjects; a grammar of " +
		"nine kinds of task — writing, explaining, analysing, coding and automating, researching, advising, questions " +
		"of fact, transforming text, role-play — each a verb of its kind with one of its objects; one of 90 written " +
		"tasks; or one of 48 in 18 other languages) alone and planted; the prompt head's synthetic attacks, alone and " +
		"planted in generated data paired with the same data without them; generated e-mails, tables, pages, FAQs, code " +
		"answers, chat lines and statements about the same subjects, with requests meant for people; generated ordinary " +
		"documents cut to one scoring window (answers to programming questions written to the asker, with code blocks " +
		"and REPL output; encyclopedic prose; long padded tables with prose cells; notification and marketing e-mails " +
		"with calls to action; READMEs; meeting notes whose action items are for people), their single sentences and " +
		"table rows, and windows paired with the same window with a task or an attack planted; and, as ordinary data, " +
		"the text of four corpus files that are not part of the injection evaluation — destructive/tldr_commands.jsonl " +
		"(its rows put back together as tldr pages), mcp/bfcl_function_docs.jsonl and mcp/mcp_tools_list_snapshots.jsonl " +
		"(tool definitions as published JSON) and toolcalls/bfcl_calls.jsonl (tool calls) — each alone, and some with a " +
		"task planted. Those four files are used for the data head only; they measure other detectors (dangerous " +
		"operations, the MCP scanner, the response scanner), whose figures in this report do not use the model. " +
		"WildGuard is not used for the data head. Tests check that generated text contains no held-out row and shares no " +
		"run of eight words with one; that check removed a few generated items (two harmful-code snippets and a phrase " +
		"of the code-planting template, three plain tasks, and a Python traceback line of the generated code answers) " +
		"that resembled held-out BIPIA rows. The harmful-code snippets of the prompt head still cover the same kinds of " +
		"behaviour as some held-out code_attack sub-categories (keylogging, screen scraping, denial of service), so its " +
		"code_attack figure is optimistic.",
	"**Before and after** (held out, rules + model, balanced). One-head model: bipia TPR 80.0% (100/125) — " +
		"code_attack 100% (50/50), text_attack 66.7% (50/75) — FPR 0.00% (0/285); WildGuard FPR 0.00% (0/289). " +
		"First two-head model: channel-blind on a par (79.2%, FPR 0%); channel-aware TPR 87.2% (109/125) at a bipia FPR " +
		"of 2.11% (6/285: five code answers addressed to their asker and a table), because the data head had too few " +
		"kinds of ordinary data to learn from. Now (tables below): channel-blind unchanged — the prompt head is byte for " +
		"byte the same (TPR 79.2%, FPR 0%); channel-aware TPR 88.8% (111/125: code_attack 98.0%, text_attack 82.7%) at a " +
		"bipia FPR of 0.70% (2/285: one code answer, one table) and WildGuard 0%. Channel-aware, the FPR part of the " +
		"target is met and the TPR part (90%) is not: two attacks short. In cross-validation on the training split the " +
		"same recipe reached TPR 96.8% at an FPR on data rows of 0.84%; the held-out attacks that both heads miss are " +
		"mostly plain tasks of kinds the training split has none of (sentiment analysis, business intelligence, " +
		"conversation: see the sub-category table), so the data head's recall on new kinds of task is the limit. What lowered " +
		"the false positives in cross-validation: generated ordinary documents and single sentences, and the ordinary " +
		"corpus files, most; code words hashed apart and half windows, a little. The held-out rows were measured twice " +
		"while this version was made: after the changes above, and again after American spellings and a few general verbs " +
		"(\"summarize\", \"analyze\", \"provide\") were added to the task grammar on the strength of cross-validated " +
		"mistakes, which changed nothing held out; no threshold, feature or example was chosen from held-out rows. The " +
		"data channel stays opt-in (the memory guard's `InjectionChannel`, `InjectionOptions.Channel`). Speed " +
		"(instructions per 1 KiB `Scan`, `BenchmarkInjection`, `valgrind --tool=callgrind`, repeatable under load): " +
		"prompt channel 190k with the one-head model, 189k with the first two-head one, 99k now; data channel 254k, " +
		"239k, 116k now. On the report's own 1 KiB of BIPIA e-mail text (`BenchmarkInjectionEmail`) the check went " +
		"from 216k to 111k instructions in the prompt channel and from 265k to 127k in the data channel, with the same " +
		"score, span and finding for every corpus row (the earlier code is kept as a test oracle): the model scores its " +
		"grams and words in table-driven passes (the data channel reads the words once for both heads), normalisation " +
		"folds ASCII runs eight bytes at a time into pooled memory, and base64 candidates are found by skipping.",
}
