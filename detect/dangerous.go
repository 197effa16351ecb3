package detect

import (
	"context"
	"log/slog"
	"sort"
)

// DangerousOptions configures a [Dangerous] detector.
type DangerousOptions struct {
	// MaxInput is the largest input, in bytes, that is scanned; a larger
	// input makes Scan return ErrInputTooLarge. 0 means DefaultMaxInput.
	MaxInput int
	// Kinds limits detection to "shell", "sql" and/or "code"; nil means all.
	Kinds []string
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Dangerous finds destructive or dangerous operations: shell commands
// (recursive deletes of the root or a home directory, mkfs, dd to disks,
// fork bombs, curl piped to a shell, world-writable roots, disabling
// security tools, wiping history, devices or crontabs, killing every
// process, force-pushing main), SQL (DROP, TRUNCATE, DELETE or UPDATE
// without WHERE, GRANT ALL, ALTER ... DROP, xp_cmdshell, INTO OUTFILE,
// COPY ... PROGRAM) and code (eval/exec of input, unsafe deserialisation,
// shell=True, os.system, child_process.exec, Runtime.exec). Each finding
// has a suggestion. Text is normalised first (NFKC, confusables, case,
// invisible characters, Unicode spaces), so look-alike text does not evade
// a rule; spans refer to the original input. It is safe for concurrent use.
type Dangerous struct {
	maxInput int
	kinds    map[string]bool
	code     []codeRule
	sqlVerbs *literalSet
	log      *slog.Logger
	meter    *workMeter // nil except in tests
}

var _ Detector = (*Dangerous)(nil)

// NewDangerous returns a dangerous-operation detector.
func NewDangerous(opts DangerousOptions) *Dangerous {
	d := &Dangerous{maxInput: opts.MaxInput, code: codeRules(), sqlVerbs: newSQLVerbSet(), log: opts.Logger}
	if len(opts.Kinds) > 0 {
		d.kinds = map[string]bool{}
		for _, k := range opts.Kinds {
			d.kinds[k] = true
		}
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d
}

// Name implements Detector.
func (d *Dangerous) Name() string { return "dangerous" }

func (d *Dangerous) want(kind string) bool { return d.kinds == nil || d.kinds[kind] }

// Scan implements Detector.
func (d *Dangerous) Scan(ctx context.Context, input string) ([]Finding, error) {
	if err := checkSize(len(input), d.maxInput); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := Normalize(input)
	text := n.Text
	d.meter.add(len(input) + len(text))
	var out []Finding
	add := func(kind, rule string, sev Severity, a, b int, expl, sugg string) {
		oa, ob := n.Orig(a, b)
		out = append(out, Finding{Detector: "dangerous", Rule: rule, Kind: kind, Severity: sev, Confidence: 0.9,
			Start: oa, End: ob, Explanation: expl, Suggestion: sugg, Source: "rule"})
	}
	if d.want("shell") {
		for _, f := range analyzeShell(text, d.meter) {
			add("shell", f.rule, f.sev, f.start, f.end, f.expl, f.suggestion)
		}
	}
	if d.want("sql") {
		for _, f := range analyzeSQL(d.sqlVerbs, text, d.meter) {
			add("sql", f.rule, f.sev, f.start, f.end, f.expl, f.suggestion)
		}
	}
	if d.want("code") {
		for _, f := range analyzeCode(d.code, text, d.meter) {
			add("code", f.rule, f.sev, f.start, f.end, f.expl, f.suggestion)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, nil
}
