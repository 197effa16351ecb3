package detect

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// MemoryGuardOptions configures [NewMemoryGuard].
type MemoryGuardOptions struct {
	// Injection, if set, also screens each write with our injection verdict
	// (rules on normalised text plus the model); its findings are high
	// alerts. nil: a detector with default options (balanced, embedded
	// model). Set DisableInjection to use only the reference's checks.
	Injection *Injection
	// DisableInjection turns the extra injection screening off.
	DisableInjection bool
	// InjectionChannel is the channel writes are judged in: "" or
	// ChannelPrompt (the default) judges them as the user's own words;
	// ChannelData as untrusted data, in which any request addressed to the
	// assistant is an injection. A memory written from tool output or
	// retrieved documents is data; the data channel also flags more
	// ordinary text (see docs/detection.md), so it is opt-in.
	InjectionChannel Channel
	// SpecialCharRatio is the fraction of characters that are neither
	// letters, digits nor white space above which a write gets a medium
	// alert. 0: 0.30, as in the reference.
	SpecialCharRatio float64
	// Logger receives debug records. nil: discard.
	Logger *slog.Logger
}

// MemoryGuard screens writes to an agent's memory, as the reference's
// validate_write does: prompt-injection phrases, code, bidirectional
// control characters (high: the write is refused), and excessive special
// characters or letters of more than one of the Latin, Cyrillic and Greek
// scripts (medium: allowed, with an alert). It is safe for concurrent use.
type MemoryGuard struct {
	inj      *Injection
	channel  Channel
	patterns []memoryPattern
	ratio    float64
	log      *slog.Logger
	meter    *workMeter // nil except in tests
}

type memoryPattern struct {
	kind, source string
	re           *regexp.Regexp
}

var _ Detector = (*MemoryGuard)(nil)

// memoryPatternSpecs are the reference's memory-guard patterns (matched,
// case-insensitively in the reference, on the normalised text here).
var memoryPatternSpecs = [...]struct{ kind, source, expr string }{
	{"injection", `ignore\s+(all\s+)?previous\s+instructions`, `ignore\s+(all\s+)?previous\s+instructions`},
	{"injection", `you\s+are\s+now\b`, `you\s+are\s+now` + pyBoundaryAfter},
	{"injection", `system\s*prompt\s*:`, `system\s*prompt\s*:`},
	{"injection", `disregard\s+(all\s+)?(prior|above)\s+`, `disregard\s+(all\s+)?(prior|above)\s+`},
	{"injection", `forget\s+(everything|all|your)\s+`, `forget\s+(everything|all|your)\s+`},
	{"injection", `new\s+instructions?\s*:`, `new\s+instructions?\s*:`},
	{"injection", `override\s+(previous\s+)?instructions`, `override\s+(previous\s+)?instructions`},
	{"code_injection", "```python\\s*\\n\\s*import\\s+(os|subprocess|shutil)", "```python\\s*\\n\\s*import\\s+(os|subprocess|shutil)"},
	{"code_injection", `exec\s*\(`, `exec\s*\(`},
	{"code_injection", `eval\s*\(`, `eval\s*\(`},
	{"code_injection", `__import__\s*\(`, `__import__\s*\(`},
}

// NewMemoryGuard builds a guard.
func NewMemoryGuard(opts MemoryGuardOptions) (*MemoryGuard, error) {
	g := &MemoryGuard{inj: opts.Injection, ratio: opts.SpecialCharRatio, log: opts.Logger, channel: opts.InjectionChannel}
	switch g.channel {
	case "":
		g.channel = ChannelPrompt
	case ChannelPrompt, ChannelData:
	default:
		return nil, fmt.Errorf("memory guard options: InjectionChannel %q is neither %q nor %q", opts.InjectionChannel, ChannelPrompt, ChannelData)
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.ratio == 0 {
		g.ratio = 0.30
	}
	if g.ratio < 0 || g.ratio > 1 {
		return nil, fmt.Errorf("memory guard options: SpecialCharRatio %v is outside [0, 1]", opts.SpecialCharRatio)
	}
	if opts.DisableInjection {
		g.inj = nil
	} else if g.inj == nil {
		inj, err := NewInjection(InjectionOptions{})
		if err != nil {
			return nil, fmt.Errorf("memory guard: %w", err)
		}
		g.inj = inj
	}
	for _, s := range memoryPatternSpecs {
		re, err := regexp.Compile(s.expr)
		if err != nil {
			return nil, fmt.Errorf("memory guard pattern %q: %w", s.source, err)
		}
		g.patterns = append(g.patterns, memoryPattern{kind: s.kind, source: s.source, re: re})
	}
	return g, nil
}

// Name implements [Detector].
func (g *MemoryGuard) Name() string { return "memory" }

// MemoryDecision is the guard's answer for one write.
type MemoryDecision struct {
	// Allowed is false when any alert is high or critical.
	Allowed bool
	// Alerts are the findings, in order of position (alerts about the
	// whole content come last).
	Alerts []Finding
}

// ValidateWrite screens content about to be written to memory by source.
// An error (only ctx's) means the write must be refused.
func (g *MemoryGuard) ValidateWrite(ctx context.Context, content, source string) (MemoryDecision, error) {
	if err := ctx.Err(); err != nil {
		return MemoryDecision{}, fmt.Errorf("memory guard: %w", err)
	}
	var alerts []Finding
	n := Normalize(content)
	// Normalising and the character pass each read content once; each
	// pattern is one linear-time regular-expression search.
	g.meter.add(2*len(content) + len(n.Text))
	for _, p := range g.patterns {
		g.meter.add(len(n.Text))
		loc := p.re.FindStringIndex(n.Text)
		if loc == nil {
			continue
		}
		s, e := n.Orig(loc[0], loc[1])
		what := "prompt injection"
		if p.kind == "code_injection" {
			what = "code injection"
		}
		alerts = append(alerts, Finding{Detector: "memory", Rule: p.kind + ":" + p.source, Kind: p.kind,
			Severity: SeverityHigh, Confidence: 0.9, Start: s, End: e, Source: "rule",
			Explanation: "Possible " + what + " (pattern " + p.source + ") from source " + source})
	}
	if g.inj != nil {
		v, err := g.inj.CheckChannel(ctx, content, nil, g.channel)
		if err != nil {
			return MemoryDecision{}, fmt.Errorf("memory guard: %w", err)
		}
		for _, f := range v.Findings {
			f.Detector = "memory"
			f.Kind = "injection"
			f.Severity = max(f.Severity, SeverityHigh)
			alerts = append(alerts, f)
		}
	}
	var special, total int
	scripts := map[string]bool{}
	for i, r := range content {
		total++
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !injPyIsSpace(r) {
			special++
		}
		if memIsBidi(r) {
			alerts = append(alerts, Finding{Detector: "memory", Rule: "bidi", Kind: "bidi", Severity: SeverityHigh,
				Confidence: 1, Start: i, End: i + len(string(r)), Source: "rule",
				Explanation: "Bidirectional control character U+" + strings.ToUpper(injPadHex(int(r), 4)) + " from source " + source})
		}
		switch {
		case unicode.Is(unicode.Latin, r):
			scripts["Latin"] = true
		case unicode.Is(unicode.Cyrillic, r):
			scripts["Cyrillic"] = true
		case unicode.Is(unicode.Greek, r):
			scripts["Greek"] = true
		}
	}
	if total > 0 && float64(special)/float64(total) > g.ratio {
		pct := strconv.FormatFloat(100*float64(special)/float64(total), 'f', 0, 64)
		alerts = append(alerts, Finding{Detector: "memory", Rule: "special_characters", Kind: "special_characters",
			Severity: SeverityMedium, Confidence: 0.6, Start: -1, End: -1, Source: "rule",
			Explanation: "Excessive special characters (" + pct + "%) from source " + source})
	}
	if len(scripts) > 1 {
		names := make([]string, 0, len(scripts))
		for k := range scripts {
			names = append(names, k)
		}
		slices.Sort(names)
		alerts = append(alerts, Finding{Detector: "memory", Rule: "mixed_script", Kind: "mixed_script",
			Severity: SeverityMedium, Confidence: 0.6, Start: -1, End: -1, Source: "rule",
			Explanation: "Mixed scripts (" + strings.Join(names, ", ") + ") from source " + source})
	}
	slices.SortStableFunc(alerts, func(a, b Finding) int {
		return memCompareUint(uint(a.Start), uint(b.Start))
	})
	d := MemoryDecision{Allowed: true, Alerts: alerts}
	for _, a := range alerts {
		if a.Severity >= SeverityHigh {
			d.Allowed = false
		}
	}
	return d, nil
}

func memCompareUint(a, b uint) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// memIsBidi reports the bidirectional controls the reference refuses.
func memIsBidi(r rune) bool {
	return r == 0x200E || r == 0x200F || (0x202A <= r && r <= 0x202E) || (0x2066 <= r && r <= 0x2069)
}

// Scan implements [Detector]: the alerts for a write from source "scan".
func (g *MemoryGuard) Scan(ctx context.Context, input string) ([]Finding, error) {
	d, err := g.ValidateWrite(ctx, input, "scan")
	if err != nil {
		return nil, err
	}
	return d.Alerts, nil
}
