package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// adversarialRepeats are inputs built by repeating a unit that starts a
// match, or a statement, over and over: the shapes that make a careless
// scanner quadratic.
var adversarialRepeats = []struct{ name, unit string }{
	{"sql-delete", "\ndelete"},
	{"sql-delete-from", "\ndelete from t "},
	{"sql-select", "\nselect"},
	{"pem-begin", "-----BEGIN "},
	{"pem-begin-label", "-----BEGIN RSA PRIVATE KEY-----\n"},
	{"jwt-prefix", "eyJ"},
	{"jwt-dotted", "eyJhbGciOiJIUzI1NiJ9."},
	{"aws", "AKIA"},
	{"aws-full", "AKIAABCDEFGHIJKLMNOP "},
	{"password-assign", "password="},
	{"password-value", "password=\"a8Zq!x9Lm2\" "},
	{"url-scheme", "a://"},
	{"html-comment", "<!--"},
	{"zero-width", "\u200b\u200c\u200d"},
	{"quote", "'"},
	{"basic", "Basic "},
	{"token-word", "token "},
	{"injection-phrase", "you are now "},
	{"injection-literal-run", "now"},
	{"injection-boundary", "rot13rot13"},
	{"injection-line", "---\n"},
	{"injection-any", "as i mentioned before "},
	{"openai", "sk-"},
	{"openai-lead", "xsk-"},
	{"openai-word", "sk-a"},
	{"github", "ghp_"},
	{"bearer", "Bearer "},
	{"pem-end", "-----END "},
	{"scheme-sep", "://"},
	{"url-userinfo", "a://b:c"},
	{"http-url", "http://"},
	{"at", "@"},
	{"email-ish", "a@"},
	{"pwd", "pwd=a"},
	{"basic-lower", "basic "},
	{"ignore", "ignore "},
	{"tag", "<system "},
	{"bracket-tag", "[system"},
}

// adversarialTails are the tails appended to each repeat: none, a letter
// that Python counts as a word character (so the greedy end is not a word
// boundary and the reference backtracks), and an ASCII letter.
var adversarialTails = []struct{ name, tail string }{
	{"", ""},
	{"+e-acute", "\u00e9"},
	{"+x", "x"},
}

// workRatio returns work(2n)/work(n) for the unit repeated to about n and
// 2n bytes.
func workRatio(t *testing.T, unit, tail string, n int, work func(string) int64) float64 {
	t.Helper()
	small := strings.Repeat(unit, n/len(unit)) + tail
	big := strings.Repeat(unit, 2*(n/len(unit))) + tail
	ws, wb := work(small), work(big)
	if ws <= 0 {
		t.Fatalf("no work counted for %d bytes", len(small))
	}
	return float64(wb) / float64(ws)
}

// TestLinearWork proves, without timing anything, that each detector's
// work grows linearly: the bytes its matchers and tokenizers examine on an
// adversarial input of 2n bytes are at most about twice those on n bytes.
func TestLinearWork(t *testing.T) {
	t.Parallel()
	const n = 1 << 14
	detectors := []struct {
		name  string
		tails bool // also try adversarialTails (detectors that backtrack on word boundaries)
		small bool // measure at n/4: the scan is costly (a model, several passes) and n/4 still shows growth
		work  func(string) int64
	}{
		{"secrets", false, false, func(in string) int64 {
			s := NewSecrets(SecretsOptions{})
			s.meter = &workMeter{}
			if _, err := s.Scan(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			return s.meter.load()
		}},
		{"injection", false, false, func(in string) int64 {
			d, err := NewInjection(InjectionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			d.meter = &workMeter{}
			if _, err := d.Check(context.Background(), in, nil); err != nil {
				t.Fatal(err)
			}
			return d.meter.load()
		}},
		{"injection-reference", false, false, func(in string) int64 {
			d, err := NewInjection(InjectionOptions{DisableModel: true})
			if err != nil {
				t.Fatal(err)
			}
			d.meter = &workMeter{}
			_ = d.Reference(in, nil)
			return d.meter.load()
		}},
		{"credential-reference", true, false, func(in string) int64 {
			r := NewCredentialRedactor(CredentialRedactorOptions{})
			r.meter = &workMeter{}
			_ = r.Redact(in)
			_ = r.Matches(in)
			return r.meter.load()
		}},
		{"response", true, false, func(in string) int64 {
			s, err := NewResponseScanner(ResponseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s.meter = &workMeter{}
			if res := s.ScanResponse(context.Background(), in, "t"); hasResponseError(res) {
				t.Fatalf("scan error: %+v", res.Threats)
			}
			return s.meter.load()
		}},
		{"pii", true, false, func(in string) int64 {
			p := NewPII(PIIOptions{})
			p.meter = &workMeter{}
			if _, err := p.Scan(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			_, _ = p.RedactString(in)
			return p.meter.load()
		}},
		{"memory", true, true, func(in string) int64 {
			g, err := NewMemoryGuard(MemoryGuardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			g.meter = &workMeter{}
			g.inj.meter = g.meter
			if _, err := g.ValidateWrite(context.Background(), in, "t"); err != nil {
				t.Fatal(err)
			}
			return g.meter.load()
		}},
		{"mcp-description", true, true, func(in string) int64 {
			return mcpWork(t, Tool{Name: "t", Description: in})
		}},
		{"mcp-schema", true, true, func(in string) int64 {
			return mcpWork(t, Tool{Name: "t", Description: "d", InputSchema: schemaWith(t, in)})
		}},
		{"dangerous", false, false, func(in string) int64 {
			d := NewDangerous(DangerousOptions{})
			d.meter = &workMeter{}
			if _, err := d.Scan(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			return d.meter.load()
		}},
	}
	for _, d := range detectors {
		for _, a := range adversarialRepeats {
			for k, tl := range adversarialTails {
				if k > 0 && !d.tails {
					break
				}
				t.Run(d.name+"/"+a.name+tl.name, func(t *testing.T) {
					t.Parallel()
					size := n
					if d.small {
						size = n / 4
					}
					if r := workRatio(t, a.unit, tl.tail, size, d.work); r > 2.5 {
						t.Errorf("work ratio for 2n/n bytes is %.2f, want <= 2.5 (linear)", r)
					}
				})
			}
		}
	}
}

// mcpWork returns the work of scanning tool, in both modes, with the
// injection detector's work counted too.
func mcpWork(t *testing.T, tool Tool) int64 {
	t.Helper()
	inj, err := NewInjection(InjectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := &workMeter{}
	inj.meter = m
	for _, ref := range []bool{false, true} {
		s, err := NewMCPScanner(MCPOptions{Injection: inj, ReferenceOnly: ref, MaxDefinitionBytes: 16 << 20})
		if err != nil {
			t.Fatal(err)
		}
		s.meter = m
		threats, err := s.ScanTool(context.Background(), "srv", tool)
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range threats {
			if th.Rule == "oversized" {
				t.Fatal("tool not scanned: oversized")
			}
		}
	}
	return m.load()
}

// schemaWith returns an input schema that carries in as a property's
// description, default, enum value and name, as the title, and as the
// required string, so that every schema-string path sees it.
func schemaWith(t *testing.T, in string) json.RawMessage {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(map[string]any{
		"type":  "object",
		"title": in,
		"properties": map[string]any{
			"p": map[string]any{"type": "string", "description": in, "default": in, "enum": []string{in}},
			in:  map[string]any{"type": "string"},
		},
		"required": []string{"p", in},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMCPRequiredWork checks that judging which of n properties are
// required costs work linear in n, whether required is a list, an object
// or a string (the reference's `name in required`, a scan per property).
func TestMCPRequiredWork(t *testing.T) {
	t.Parallel()
	schema := func(n int, kind string) json.RawMessage {
		props := map[string]any{}
		names := make([]string, n)
		obj := map[string]any{}
		for i := range n {
			names[i] = fmt.Sprintf("command_%d", i)
			props[names[i]] = map[string]any{"type": "string"}
			obj[names[i]] = true
		}
		var req any = names
		switch kind {
		case "object":
			req = obj
		case "string":
			req = strings.Join(names, " ")
		}
		b, err := json.Marshal(map[string]any{"type": "object", "properties": props, "required": req})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, kind := range []string{"list", "object", "string"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			const n = 2000
			small := mcpWork(t, Tool{Name: "t", Description: "d", InputSchema: schema(n, kind)})
			big := mcpWork(t, Tool{Name: "t", Description: "d", InputSchema: schema(2*n, kind)})
			if r := float64(big) / float64(small); r > 2.5 {
				t.Errorf("work ratio for 2n/n properties is %.2f, want <= 2.5 (linear)", r)
			}
		})
	}
}

// TestSQLWorkBound checks the per-scan tokenizer bound: a text made only of
// statement starts is judged up to the bound and then reported, never
// silently passed.
func TestSQLWorkBound(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("\ndelete", 1<<16)
	fs := analyzeSQL(newSQLVerbSet(), in, nil)
	if len(fs) == 0 {
		t.Fatal("no findings for repeated DELETE statements")
	}
	last := fs[len(fs)-1]
	if last.rule != "sql-analysis-limit" {
		t.Errorf("last finding %q, want sql-analysis-limit", last.rule)
	}
	// Ordinary SQL never reaches the bound.
	script := strings.Repeat("DELETE FROM t WHERE id = 1;\nUPDATE t SET a = 1 WHERE b = 2;\n", 1000)
	for _, f := range analyzeSQL(newSQLVerbSet(), strings.ToLower(script), nil) {
		t.Errorf("unexpected finding %q in a script of bounded statements", f.rule)
	}
}

// hasResponseError reports whether a response scan failed closed.
func hasResponseError(res ResponseScan) bool {
	for _, th := range res.Threats {
		if th.Category == ResponseError {
			return true
		}
	}
	return false
}

// TestCredentialBudgetFailsClosed checks the reference redactor's work
// budget: within it the reference's word-boundary semantics hold exactly;
// past it the greedy match is kept, so more is redacted, never less.
func TestCredentialBudgetFailsClosed(t *testing.T) {
	t.Parallel()
	r := NewCredentialRedactor(CredentialRedactorOptions{})
	tests := []struct {
		name     string
		in       string
		redacted bool // want at least one placeholder
		noneLeft string
	}{
		// Every "sk-" follows a letter: no leading word boundary, so the
		// reference redacts nothing, and a short input is left alone.
		{"short-no-boundary", strings.Repeat("xsk-", 8), false, ""},
		// A long one exhausts the budget and is redacted (fail closed).
		{"long-no-boundary", strings.Repeat("xsk-", 1<<14), true, ""},
		{"short-backtrack", strings.Repeat("sk-", 16) + "\u00e9", true, "sk-"},
		{"long-backtrack", strings.Repeat("sk-", 1<<14) + "\u00e9", true, "sk-"},
		{"long-jwt-prefix", strings.Repeat("eyJ", 1<<14) + ".abcdefgh.abcdefgh", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := r.Redact(tt.in)
			if has := strings.Contains(got, RedactedPlaceholder); has != tt.redacted {
				t.Errorf("Redact(%.40q...) redacted = %v, want %v", tt.in, has, tt.redacted)
			}
			if tt.noneLeft != "" && strings.Contains(got, tt.noneLeft) {
				t.Errorf("Redact(%.40q...) left %q behind", tt.in, tt.noneLeft)
			}
		})
	}
}

// TestMatchBytes checks the byte sets that bound a failed anchored try.
func TestMatchBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr    string
		in, out string
	}{
		{`sk-[A-Za-z0-9][A-Za-z0-9_-]{18,}`, "sk-aZ09_", " .\"é"},
		{`(?i)token[:=]`, "TOKENtoken:=", " a"},
		{`a[^;]b`, "ab\x00é", ";"},
	}
	for _, tt := range tests {
		set := matchBytes(tt.expr)
		for i := range len(tt.in) {
			if !set[tt.in[i]] {
				t.Errorf("matchBytes(%q) lacks %q", tt.expr, tt.in[i])
			}
		}
		for i := range len(tt.out) {
			if set[tt.out[i]] {
				t.Errorf("matchBytes(%q) has %q", tt.expr, tt.out[i])
			}
		}
	}
}

// TestPyRuleBudgetFailsClosed checks the word-boundary retry budget of the
// MCP scanner's reference rules: within it the reference's semantics hold
// exactly; on a text of overlapping candidates whose boundaries all fail
// (quadratic retries) the budget runs out and the rule matches.
func TestPyRuleBudgetFailsClosed(t *testing.T) {
	t.Parallel()
	r := mustPyRule(`a+z\b`, "z")
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"boundary-holds", "aaaz b", true},
		{"boundary-fails-short", strings.Repeat("a", 16) + "z\u00e9", false},
		{"boundary-fails-long", strings.Repeat("a", 1<<14) + "z\u00e9", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &workMeter{}
			if got := r.matchLit(tt.in, m); got != tt.want {
				t.Errorf("matchLit(%.20q...) = %v, want %v", tt.in, got, tt.want)
			}
			if limit := int64(8*len(tt.in) + 2*pyRuleSlack); m.load() > limit {
				t.Errorf("work %d exceeds %d for %d bytes", m.load(), limit, len(tt.in))
			}
		})
	}
}

// TestRequiredSetFailsClosed checks that a required string too costly to
// search for every property name counts every name as required, so the
// suspicious-required rule still judges each one.
func TestRequiredSetFailsClosed(t *testing.T) {
	t.Parallel()
	req := &jsonNode{kind: jsonString, str: "a b"}
	r := newRequiredSet(req, nil)
	if in, err := r.contains("zz"); err != nil || in {
		t.Fatalf("contains(zz) = %v, %v; want false, nil", in, err)
	}
	r.budget = 0
	if in, err := r.contains("zz"); err != nil || !in {
		t.Fatalf("contains(zz) past the budget = %v, %v; want true, nil", in, err)
	}
	bad := newRequiredSet(&jsonNode{kind: jsonBool}, nil)
	if _, err := bad.contains("x"); !errors.Is(err, errSchemaShape) {
		t.Fatalf("contains on a bool required: err %v, want errSchemaShape", err)
	}
}

// TestRequiredSetMatchesReference checks that the set gives the
// reference's `name in required` answer for every shape of required.
func TestRequiredSetMatchesReference(t *testing.T) {
	t.Parallel()
	docs := map[string]string{
		"list":         `["a", "command", 1, null, ["a"]]`,
		"object":       `{"a": 1, "command": null}`,
		"string":       `"a command"`,
		"empty-list":   `[]`,
		"empty-string": `""`,
		"number":       `3`,
	}
	names := []string{"a", "command", "comm", "1", "", "b", "a command"}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n, err := parseJSON(doc)
			if err != nil {
				t.Fatal(err)
			}
			set := newRequiredSet(&n, nil)
			for _, k := range names {
				want, werr := pyContains(&n, k)
				got, gerr := set.contains(k)
				if got != want || (werr == nil) != (gerr == nil) {
					t.Errorf("contains(%q) = %v, %v; pyContains gives %v, %v", k, got, gerr, want, werr)
				}
			}
		})
	}
	if in, err := newRequiredSet(nil, nil).contains("a"); in || err != nil {
		t.Errorf("absent required: contains = %v, %v; want false, nil", in, err)
	}
}

// pemLabelsInput builds about n bytes of PEM BEGIN lines whose labels are
// all spaced differently (so no search result can be reused across them)
// and that no END line closes, followed by END lines of another label:
// the shape that made a per-label search of the END lines cost n^1.5.
func pemLabelsInput(n int) string {
	var b strings.Builder
	for i := 1; b.Len() < n/2; i++ {
		b.WriteString("-----BEGIN RSA" + strings.Repeat(" ", i) + "PRIVATE KEY-----\nx\n")
	}
	for b.Len() < n {
		b.WriteString("-----END DSA PRIVATE KEY-----\n")
	}
	return b.String()
}

func TestPEMLabelsLinear(t *testing.T) {
	t.Parallel()
	work := func(in string) int64 {
		r := NewCredentialRedactor(CredentialRedactorOptions{})
		r.meter = &workMeter{}
		_ = r.Redact(in)
		return r.meter.load()
	}
	const n = 1 << 16
	small, big := work(pemLabelsInput(n)), work(pemLabelsInput(2*n))
	if small <= 0 {
		t.Fatal("no work counted")
	}
	if r := float64(big) / float64(small); r > 2.5 {
		t.Errorf("work ratio for 2n/n bytes of differently spaced PEM labels is %.2f, want <= 2.5 (linear)", r)
	}
	// A block whose END matches only one of several spacings is still found.
	in := "-----BEGIN RSA  PRIVATE KEY-----\nx\n-----BEGIN RSA PRIVATE KEY-----\nsecret\n-----END   RSA PRIVATE KEY-----\n"
	if got := NewCredentialRedactor(CredentialRedactorOptions{}).Redact(in); strings.Contains(got, "secret") {
		t.Errorf("Redact(%q) = %q: the matching block was not redacted", in, got)
	}
}
