package detect

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ThreatType classifies an MCP tool-definition threat. The values are the
// reference's.
type ThreatType string

// Threat types.
const (
	ThreatToolPoisoning        ThreatType = "tool_poisoning"
	ThreatRugPull              ThreatType = "rug_pull"
	ThreatCrossServer          ThreatType = "cross_server_attack"
	ThreatConfusedDeputy       ThreatType = "confused_deputy"
	ThreatHiddenInstruction    ThreatType = "hidden_instruction"
	ThreatDescriptionInjection ThreatType = "description_injection"
)

// Tool is an MCP tool definition as a tools/list result carries it.
type Tool struct {
	// Name is the tool's name.
	Name string `json:"name"`
	// Description is the text the model reads to decide how to use the tool.
	Description string `json:"description"`
	// InputSchema is the JSON Schema of the arguments, as raw JSON; empty or
	// "null" means the tool has none.
	InputSchema json.RawMessage `json:"inputSchema,omitempty"`
}

// Threat is one problem found in a tool definition, in the reference's
// shape.
type Threat struct {
	Type       ThreatType `json:"threat_type"`
	Severity   Severity   `json:"severity"`
	ToolName   string     `json:"tool_name"`
	ServerName string     `json:"server_name"`
	Message    string     `json:"message"`
	// MatchedPattern is the pattern that fired, "" when none applies.
	MatchedPattern string        `json:"matched_pattern,omitempty"`
	Details        ThreatDetails `json:"details"`
	// Rule identifies the rule: the reference's group ("invisible_unicode",
	// "hidden_comment", ...) or one of ours ("secrecy", "tool-preference").
	Rule string `json:"rule"`
}

// ThreatDetails carries a threat's extra facts; zero fields are absent.
type ThreatDetails struct {
	CharOrd        rune     `json:"char_ord,omitempty"`
	CommentPreview string   `json:"comment_preview,omitempty"`
	InjectionType  string   `json:"injection_type,omitempty"`
	FieldName      string   `json:"field_name,omitempty"`
	OriginalServer string   `json:"original_server,omitempty"`
	SimilarTool    string   `json:"similar_tool,omitempty"`
	SimilarServer  string   `json:"similar_server,omitempty"`
	ChangedFields  []string `json:"changed_fields,omitempty"`
	Version        int      `json:"version,omitempty"`
	// HiddenText is ASCII text smuggled in Unicode tag characters.
	HiddenText string `json:"hidden_text,omitempty"`
}

// Finding converts the threat to the package's common finding type.
func (t Threat) Finding() Finding {
	return Finding{
		Detector:    "mcp",
		Rule:        t.Rule,
		Kind:        string(t.Type),
		Severity:    t.Severity,
		Confidence:  threatConfidence(t.Severity),
		Start:       -1,
		End:         -1,
		Explanation: fmt.Sprintf("tool %q from server %q: %s", t.ToolName, t.ServerName, t.Message),
		Source:      "rule",
	}
}

func threatConfidence(s Severity) float64 {
	switch {
	case s >= SeverityCritical:
		return 0.9
	case s >= SeverityHigh:
		return 0.8
	case s >= SeverityMedium:
		return 0.6
	default:
		return 0.4
	}
}

// AuditRecord is one scan_tool record, in the reference's shape.
type AuditRecord struct {
	Timestamp    time.Time
	Action       string
	ToolName     string
	ServerName   string
	ThreatsFound int
	ThreatTypes  []ThreatType
}

// MarshalJSON writes the record with the reference's ISO-8601 timestamp
// (Python's datetime.isoformat() in UTC: "1970-01-01T00:02:03+00:00",
// microseconds only when not zero).
func (r AuditRecord) MarshalJSON() ([]byte, error) {
	types := r.ThreatTypes
	if types == nil {
		types = []ThreatType{}
	}
	return json.Marshal(struct {
		Timestamp    string       `json:"timestamp"`
		Action       string       `json:"action"`
		ToolName     string       `json:"tool_name"`
		ServerName   string       `json:"server_name"`
		ThreatsFound int          `json:"threats_found"`
		ThreatTypes  []ThreatType `json:"threat_types"`
	}{PyISOTime(r.Timestamp), r.Action, r.ToolName, r.ServerName, r.ThreatsFound, types})
}

// PyISOTime formats t in UTC as Python's datetime.isoformat() does for an
// aware UTC datetime.
func PyISOTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000") + "+00:00"
	}
	return t.Format("2006-01-02T15:04:05") + "+00:00"
}

// Fingerprint is what the scanner remembers of a registered tool.
type Fingerprint struct {
	ToolName        string
	ServerName      string
	DescriptionHash [32]byte // sha256 of the description's UTF-8
	SchemaHash      [32]byte // sha256 of the canonical schema, or of nothing
	FirstSeen       time.Time
	LastSeen        time.Time
	Version         int
}

// ServerScan is the result of scanning every tool of one server.
type ServerScan struct {
	// Safe is true when no threat of any severity was found (the
	// reference's definition).
	Safe         bool
	Threats      []Threat
	ToolsScanned int
	// ToolsFlagged counts distinct tool names with at least one threat.
	ToolsFlagged int
}

// InjectionScanner is what MCPScanner needs from a prompt-injection
// detector: a finding means the description is an injection.
type InjectionScanner interface {
	Scan(ctx context.Context, input string) ([]Finding, error)
}

// MCPOptions configures an MCPScanner.
type MCPOptions struct {
	// Clock returns the current time for fingerprints and audit records.
	// nil: time.Now.
	Clock func() time.Time
	// Injection, if set, runs over every description; its first finding is
	// reported as the reference's "Prompt injection detected in
	// description" threat. nil: that rule is skipped.
	Injection InjectionScanner
	// ReferenceOnly restricts the scanner to the reference's rules and
	// severities (for parity and comparison). false (the zero value): the
	// reference's rules with recalibrated severities plus our own rules
	// (see the package documentation of MCPScanner).
	ReferenceOnly bool
	// MaxTools bounds how many (server, tool) fingerprints are kept; a new
	// registration beyond it fails with ErrRegistryFull. 0: 10,000.
	MaxTools int
	// MaxAuditRecords bounds the audit ring; the oldest records are
	// dropped. 0: 1,000. Negative: keep none.
	MaxAuditRecords int
	// MaxDefinitionBytes bounds the description and schema sizes scanned;
	// a larger definition is not scanned and is reported as a critical
	// threat. 0: 256 KiB.
	MaxDefinitionBytes int
	// Logger receives scan errors. nil: discard.
	Logger *slog.Logger
}

// MCPScanner scans MCP tool definitions for poisoning: hidden instructions
// and invisible characters, prompt injection and exfiltration hints in
// descriptions and schemas, schema abuse, cross-server impersonation and
// typosquatting, and rug pulls (a definition that changes after it was
// registered). It is safe for concurrent use. Scanning one tool costs
// time linear in its size and independent of how many tools are
// registered.
type MCPScanner struct {
	opts  MCPOptions
	rules *mcpRules
	log   *slog.Logger
	meter *workMeter // nil except in tests

	scratch sync.Pool // *mcpScratch

	mu       sync.RWMutex
	registry map[registryKey]*Fingerprint
	names    *nameIndex
	seq      uint64
	audit    []AuditRecord
	auditPos int
	auditLen int
}

var (
	_ Detector         = (*MCPScanner)(nil)
	_ InjectionScanner = Detector(nil)
)

// NewMCPScanner returns a scanner configured by opts.
func NewMCPScanner(opts MCPOptions) (*MCPScanner, error) {
	switch {
	case opts.MaxTools < 0:
		return nil, fmt.Errorf("%w: MaxTools is %d, want 0 or more", ErrInvalidMCPOptions, opts.MaxTools)
	case opts.MaxDefinitionBytes < 0:
		return nil, fmt.Errorf("%w: MaxDefinitionBytes is %d, want 0 or more", ErrInvalidMCPOptions, opts.MaxDefinitionBytes)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.MaxTools == 0 {
		opts.MaxTools = 10000
	}
	if opts.MaxAuditRecords == 0 {
		opts.MaxAuditRecords = 1000
	}
	if opts.MaxAuditRecords < 0 {
		opts.MaxAuditRecords = 0
	}
	if opts.MaxDefinitionBytes == 0 {
		opts.MaxDefinitionBytes = 256 << 10
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MCPScanner{
		opts:     opts,
		rules:    sharedMCPRules(),
		log:      log.With("component", "mcp_scanner"),
		registry: make(map[registryKey]*Fingerprint),
		names:    newNameIndex(),
		audit:    make([]AuditRecord, opts.MaxAuditRecords),
	}, nil
}

// registryKey identifies a registered tool.
type registryKey struct{ server, name string }

// ParseTool decodes one tool definition ({name, description, inputSchema})
// with the reference's defaults: a missing name is "unknown", a missing
// description "". A description that is present but not a string, or a
// name that is not a string, is an error naming the field; the returned
// Tool then still carries the name if it was read.
func ParseTool(data []byte) (Tool, error) {
	root, err := parseJSON(string(data))
	if err != nil {
		return Tool{}, fmt.Errorf("%w: %w", ErrMalformedTool, err)
	}
	if root.kind != jsonObject {
		return Tool{}, fmt.Errorf("%w: a tool definition must be a JSON object", ErrMalformedTool)
	}
	t := Tool{Name: "unknown"}
	if n := root.member("name"); n != nil {
		if n.kind != jsonString {
			return Tool{}, fmt.Errorf("%w: field name: want a string", ErrMalformedTool)
		}
		t.Name = n.str
	}
	if d := root.member("description"); d != nil {
		if d.kind != jsonString {
			return Tool{Name: t.Name}, fmt.Errorf("%w: field description: want a string", ErrMalformedTool)
		}
		t.Description = d.str
	}
	if root.member("inputSchema") != nil {
		var raw struct {
			InputSchema json.RawMessage `json:"inputSchema"`
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			return Tool{}, fmt.Errorf("%w: field inputSchema: %w", ErrMalformedTool, err)
		}
		t.InputSchema = raw.InputSchema
	}
	return t, nil
}

// ParseTools decodes a tools/list result ({"tools": [...]}), a JSON array
// of tool definitions, or a single definition.
func ParseTools(data []byte) ([]Tool, error) {
	root, err := parseJSON(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedTool, err)
	}
	var items []json.RawMessage
	switch {
	case root.kind == jsonArray:
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedTool, err)
		}
	case root.kind == jsonObject && root.member("tools") != nil:
		var list struct {
			Tools []json.RawMessage `json:"tools"`
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("%w: field tools: %w", ErrMalformedTool, err)
		}
		items = list.Tools
	default:
		items = []json.RawMessage{data}
	}
	tools := make([]Tool, 0, len(items))
	for i, it := range items {
		t, err := ParseTool(it)
		if err != nil {
			return nil, fmt.Errorf("tool %d: %w", i, err)
		}
		tools = append(tools, t)
	}
	return tools, nil
}

// scanError builds the reference's single fail-closed threat.
func scanError(server, name string) Threat {
	return Threat{
		Type: ThreatToolPoisoning, Severity: SeverityCritical,
		ToolName: name, ServerName: server,
		Message: "Scan error — fail closed", Rule: "scan_error",
	}
}

// ScanToolJSON decodes one tool definition and scans it. A definition that
// does not decode yields the reference's single critical "Scan error —
// fail closed" threat and an error.
func (s *MCPScanner) ScanToolJSON(ctx context.Context, server string, def []byte) ([]Threat, error) {
	t, err := ParseTool(def)
	if err != nil {
		name := t.Name
		if name == "" {
			name = "unknown"
		}
		return []Threat{scanError(server, name)}, err
	}
	return s.ScanTool(ctx, server, t)
}

// ScanTool scans one tool definition from server. It does not register
// the tool. On an internal error (a schema of the wrong shape, a failing
// injection detector) it returns the reference's single critical "Scan
// error — fail closed" threat together with the error, and records no
// audit entry.
func (s *MCPScanner) ScanTool(ctx context.Context, server string, t Tool) ([]Threat, error) {
	threats, err := s.scanTool(ctx, server, t)
	if err != nil {
		return []Threat{scanError(server, t.Name)}, err
	}
	s.recordAudit(server, t.Name, threats)
	return threats, nil
}

// scanState is the per-call scratch of one tool scan.
type scanState struct {
	s       *MCPScanner
	server  string
	tool    string
	threats []Threat
	buf     []byte
	desc    ruleText // the description
	schema  ruleText // the schema's strings, joined with NUL
}

// ruleText is a text the rules run on, with what one pass over it found:
// the rules whose literals occur. Its folded copy (foldInto) and its
// normalised copy (Normalize) are made only when a rule needs them, which
// on ordinary text is never.
type ruleText struct {
	raw string
	// joined, if not nil, is the text (a schema's joined strings, see
	// jsonStrings) in the scan's scratch memory; raw is then made from it
	// on first use (see text), which on ordinary plain schemas is never.
	joined []byte
	// size is len(raw), known before raw is built.
	size int
	// plain: raw is plainASCII, so both copies are strings.ToLower(raw).
	plain bool
	// mask: py bits from the folded copy, ext bits from the normalised one.
	mask ruleMask
	// folded and norm are the copies, valid once haveFolded and haveNorm.
	folded, norm         string
	haveFolded, haveNorm bool
}

// newRuleText finds which rules may match text: the reference rules and,
// with ext, the extended ones. Plain text takes one pass and no copy;
// other text is folded (and, with ext, normalised) here.
func newRuleText(r *mcpRules, buf *[]byte, text string, ext bool, meter *workMeter) ruleText {
	meter.add(2 * len(text))
	// The literal pass stops at the first byte that makes text not plain.
	if m, ok := orMaskPlain(r.lits, text, r.litBits); ok {
		return plainRuleText(text, nil, ruleMask(m), ext)
	}
	t := ruleText{raw: text, size: len(text)}
	t.folded, t.haveFolded = foldString(buf, text), true
	meter.add(len(t.folded))
	t.mask = ruleMask(r.mask(t.folded).py())
	if ext {
		t.norm, t.haveNorm = Normalize(text).Text, true
		meter.add(len(t.norm))
		t.mask |= ruleMask(r.mask(t.norm).ext()) << 32
	}
	return t
}

// plainRuleText is the ruleText of a plain text, raw or joined, whose
// literal pass gave mask.
func plainRuleText(raw string, joined []byte, mask ruleMask, ext bool) ruleText {
	if !ext {
		mask = ruleMask(mask.py())
	}
	return ruleText{raw: raw, joined: joined, size: len(raw) + len(joined), plain: true, mask: mask}
}

// joinedRuleText is newRuleText of string(joined) without the copy when
// joined is plain.
func joinedRuleText(r *mcpRules, buf *[]byte, joined []byte, ext bool, meter *workMeter) ruleText {
	m, ok := orMaskPlain(r.lits, joined, r.litBits)
	if !ok {
		return newRuleText(r, buf, string(joined), ext, meter)
	}
	meter.add(2 * len(joined))
	return plainRuleText("", joined, ruleMask(m), ext)
}

// text returns the text, made from joined on first use.
func (t *ruleText) text() string {
	if len(t.raw) != t.size {
		t.raw = string(t.joined)
	}
	return t.raw
}

// foldedText returns foldInto of the text.
func (t *ruleText) foldedText() string {
	if !t.haveFolded {
		t.folded, t.haveFolded = t.lowered(), true
	}
	return t.folded
}

// normText returns Normalize(text).Text.
func (t *ruleText) normText() string {
	if !t.haveNorm {
		t.norm, t.haveNorm = t.lowered(), true
	}
	return t.norm
}

// lowered is the folded and normalised copy of plain text, made once.
func (t *ruleText) lowered() string {
	switch {
	case t.haveFolded:
		return t.folded
	case t.haveNorm:
		return t.norm
	}
	return strings.ToLower(t.text())
}

// has reports whether text, the raw text of t, contains lit, the literal
// of trigger bit trig: false without a look when the literal pass did not
// find it.
func (t *ruleText) has(trig ruleMask, text, lit string) bool {
	return t.mask&trig != 0 && strings.Contains(text, lit)
}

func (st *scanState) add(t Threat) {
	t.ToolName, t.ServerName = st.tool, st.server
	st.threats = append(st.threats, t)
}

// sev returns the severity of a reference rule: its reference severity in
// reference mode, else the recalibrated one.
func (st *scanState) sev(ref, ours Severity) Severity {
	if st.s.opts.ReferenceOnly {
		return ref
	}
	return ours
}

func (s *MCPScanner) scanTool(ctx context.Context, server string, t Tool) ([]Threat, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := &scanState{s: s, server: server, tool: t.Name}
	if len(t.Description)+len(t.InputSchema) > s.opts.MaxDefinitionBytes {
		st.add(Threat{
			Type: ThreatToolPoisoning, Severity: SeverityCritical, Rule: "oversized",
			Message: fmt.Sprintf("Tool definition larger than the scan limit (%d bytes): not scanned", s.opts.MaxDefinitionBytes),
		})
		return st.threats, nil
	}
	sc := s.getScratch()
	st.buf = sc.buf[:0]
	defer func() {
		sc.buf = st.buf
		s.putScratch(sc)
	}()
	// Parsing the schema takes one pass, which also finds the rules whose
	// literals occur in its strings; finding those of the description
	// takes one more.
	s.meter.add(len(t.InputSchema))
	var schema *jsonNode
	if len(t.InputSchema) > 0 {
		sc.p.strs = &sc.strs
		// The joined strings are no longer than the schema's text: each
		// string's NUL takes the place of its quotes.
		sc.strs.buf = slices.Grow(sc.strs.buf[:0], len(t.InputSchema))
		n, err := sc.p.parse(string(t.InputSchema)) // threats may keep substrings of it
		if err != nil {
			return nil, fmt.Errorf("%w: field inputSchema: %w", ErrMalformedTool, err)
		}
		if n.kind != jsonNull {
			sc.root = n
			schema = &sc.root
			st.schema = joinedRuleText(s.rules, &st.buf, sc.strs.buf, !s.opts.ReferenceOnly, s.meter)
		}
	}
	st.desc = newRuleText(s.rules, &st.buf, t.Description, !s.opts.ReferenceOnly, s.meter)
	s.checkHidden(st, t.Description)
	if err := s.checkDescriptionInjection(ctx, st, t.Description); err != nil {
		return nil, err
	}
	if schema != nil {
		if err := s.checkSchema(st, schema); err != nil {
			return nil, err
		}
	}
	if !s.opts.ReferenceOnly {
		s.checkExtended(st, schema)
	}
	s.checkCrossServer(st, t.Name)
	if th, ok := s.rugPull(server, t.Name, t.Description, schema); ok {
		st.add(th)
	}
	return st.threats, nil
}

// mcpScratch is the memory one scan reuses from the last: the schema's
// parse and the folding buffer. Nothing in it outlives the scan that used
// it (threats hold copies or substrings of the scanned tool's strings).
type mcpScratch struct {
	p    jsonParser
	root jsonNode
	strs jsonStrings
	buf  []byte
}

// Bounds on the scratch a scanner keeps between scans: a scan of a larger
// definition leaves its memory to the collector.
const (
	maxScratchNodes = 1 << 10
	maxScratchBuf   = 16 << 10
)

func (s *MCPScanner) getScratch() *mcpScratch {
	if sc, ok := s.scratch.Get().(*mcpScratch); ok {
		return sc
	}
	return &mcpScratch{p: jsonParser{stack: make([]jsonNode, 0, 16)}}
}

func (s *MCPScanner) putScratch(sc *mcpScratch) {
	sc.p.reset(maxScratchNodes)
	sc.root = jsonNode{}
	sc.strs.buf = sc.strs.buf[:0]
	if cap(sc.strs.buf) > maxScratchBuf {
		sc.strs.buf = nil
	}
	if cap(sc.buf) > maxScratchBuf {
		sc.buf = nil
	}
	s.scratch.Put(sc)
}

func (s *MCPScanner) checkHidden(st *scanState, desc string) {
	r := s.rules
	// Plain text is ASCII: it has no invisible characters.
	if !st.desc.plain {
		s.checkInvisible(st, desc)
	}
	for i, re := range r.comments {
		if st.desc.mask&(trigComment|trigLinkComment) == 0 {
			break // neither literal occurs
		}
		if i == 0 && !st.desc.has(trigComment, desc, "<!--") || i > 0 && !st.desc.has(trigLinkComment, desc, "]:") {
			continue
		}
		s.meter.add(len(desc))
		if loc := re.FindStringIndex(desc); loc != nil {
			st.add(Threat{
				Type: ThreatHiddenInstruction, Severity: SeverityCritical, Rule: "hidden_comment",
				Message:        "Hidden comment detected in tool description",
				MatchedPattern: r.commentSrc[i],
				Details:        ThreatDetails{CommentPreview: firstRunes(desc[loc[0]:loc[1]], 80)},
			})
		}
	}
	s.meter.add(4 * len(desc)) // findInvisible, base64Run, hexRun, whitespace
	if base64Run(desc) {
		st.add(Threat{
			Type: ThreatHiddenInstruction, Severity: st.sev(SeverityMedium, SeverityLow), Rule: "encoded_payload",
			Message: "Encoded payload detected in tool description", MatchedPattern: srcBase64,
		})
	}
	if st.desc.has(trigHex, desc, `\x`) && r.hexRun.MatchString(desc) {
		st.add(Threat{
			Type: ThreatHiddenInstruction, Severity: SeverityMedium, Rule: "encoded_payload",
			Message: "Encoded payload detected in tool description", MatchedPattern: srcHex,
		})
	}
	if st.desc.has(trigNewlines, desc, "\n\n\n\n\n") && r.whitespace.MatchString(desc) {
		st.add(Threat{
			Type: ThreatHiddenInstruction, Severity: SeverityMedium, Rule: "excessive_whitespace",
			Message: "Instructions hidden after excessive whitespace", MatchedPattern: srcWhitespace,
		})
	}
	present := st.desc.mask.py() & (1<<len(r.instruction) - 1)
	for i := range r.instruction {
		if present == 0 {
			break
		}
		if present&(1<<i) != 0 && r.instruction[i].matchLit(st.desc.foldedText(), s.meter) {
			st.add(Threat{
				Type: ThreatHiddenInstruction, Severity: SeverityCritical, Rule: "instruction_phrase",
				Message:        "Instruction-like pattern in tool description: " + r.instruction[i].source,
				MatchedPattern: r.instruction[i].source,
			})
		}
	}
}

// checkInvisible reports the first invisible character of the description.
func (s *MCPScanner) checkInvisible(st *scanState, desc string) {
	if pattern, ch, ok := findInvisible(desc, !s.opts.ReferenceOnly); ok {
		th := Threat{
			Type: ThreatHiddenInstruction, Severity: SeverityCritical, Rule: "invisible_unicode",
			Message:        "Invisible unicode characters detected in tool description",
			MatchedPattern: pattern, Details: ThreatDetails{CharOrd: ch},
		}
		if isTagChar(ch) {
			th.Details.HiddenText = decodeTagText(desc, 200)
		}
		st.add(th)
	}
}

func (s *MCPScanner) checkDescriptionInjection(ctx context.Context, st *scanState, desc string) error {
	r := s.rules
	if s.opts.Injection != nil {
		fs, err := s.opts.Injection.Scan(ctx, desc)
		if err != nil {
			return fmt.Errorf("prompt-injection check: %w", err)
		}
		if len(fs) > 0 {
			f := fs[0]
			st.add(Threat{
				Type: ThreatDescriptionInjection, Severity: SeverityCritical, Rule: "prompt_injection",
				Message:        "Prompt injection detected in description: " + f.Explanation,
				MatchedPattern: f.Rule, Details: ThreatDetails{InjectionType: f.Kind},
			})
		}
	}
	present := st.desc.mask.py()
	ni := len(r.instruction)
	for i := range r.role {
		if present>>ni&(1<<len(r.role)-1) == 0 {
			break
		}
		if present&(1<<(ni+i)) != 0 && r.role[i].matchLit(st.desc.foldedText(), s.meter) {
			st.add(Threat{
				Type: ThreatDescriptionInjection, Severity: SeverityMedium, Rule: "role_override",
				Message:        "Role override pattern in description: " + r.role[i].source,
				MatchedPattern: r.role[i].source,
			})
		}
	}
	nr := ni + len(r.role)
	for i := range r.exfil {
		if present>>nr&(1<<len(r.exfil)-1) == 0 {
			break
		}
		if present&(1<<(nr+i)) != 0 && r.exfil[i].matchLit(st.desc.foldedText(), s.meter) {
			// The reference rates any mention (a documentation URL, "send
			// email") critical; outside reference mode a bare mention is
			// low and the "exfiltrate-to" rule judges intent.
			ours := SeverityLow
			if i == 7 { // include the contents of
				ours = SeverityHigh
			}
			st.add(Threat{
				Type: ThreatDescriptionInjection, Severity: st.sev(SeverityCritical, ours), Rule: "exfiltration",
				Message:        "Data exfiltration pattern in description: " + r.exfil[i].source,
				MatchedPattern: r.exfil[i].source,
			})
		}
	}
	return nil
}

// errSchemaShape reports a schema the reference cannot scan (it raises,
// and the scan fails closed).
var errSchemaShape = errors.New("schema has the wrong shape")

func (s *MCPScanner) checkSchema(st *scanState, schema *jsonNode) error {
	if schema.kind != jsonObject {
		return fmt.Errorf("%w: inputSchema is not an object", errSchemaShape)
	}
	props := schema.member("properties")
	if typ := schema.member("type"); typ != nil && typ.kind == jsonString && typ.str == "object" {
		ap := schema.member("additionalProperties")
		if (props == nil || pyFalsy(props)) && !(ap != nil && ap.kind == jsonBool && !ap.boolean) {
			st.add(Threat{
				Type: ThreatToolPoisoning, Severity: st.sev(SeverityMedium, SeverityLow), Rule: "permissive_schema",
				Message: "Overly permissive schema: object type with no defined properties",
			})
		}
	}
	if props == nil {
		return nil
	}
	if props.kind != jsonObject {
		return fmt.Errorf("%w: properties is not an object", errSchemaShape)
	}
	var required requiredSet
	required.init(schema.member("required"), s.meter)
	for i := range props.kids {
		p := &props.kids[i]
		if p.kind != jsonObject {
			continue
		}
		s.meter.add(len(p.key))
		in, err := required.contains(p.key)
		if err != nil {
			return err
		}
		if in {
			// An ASCII name that lacks a letter of a substring cannot
			// contain it.
			have, ascii := letterSet(p.key)
			lower := ""
			for j, sub := range suspiciousRequired {
				if ascii && s.rules.requiredLetters[j]&^have != 0 {
					continue
				}
				if lower == "" {
					lower = strings.ToLower(p.key)
				}
				if strings.Contains(lower, sub) {
					sv := SeverityCritical
					if benignRequired(sub) {
						sv = st.sev(SeverityCritical, SeverityLow)
					}
					st.add(Threat{
						Type: ThreatToolPoisoning, Severity: sv, Rule: "suspicious_required",
						Message: "Suspicious required field: '" + p.key + "'", Details: ThreatDetails{FieldName: p.key},
					})
				}
			}
		}
		if d := p.member("default"); d != nil && d.kind == jsonString && utf8.RuneCountInString(d.str) > 10 {
			if src, ok := s.schemaInstruction(st, d.str); ok {
				st.add(Threat{
					Type: ThreatToolPoisoning, Severity: SeverityCritical, Rule: "poisoned_default",
					Message:        "Instruction in default value for field '" + p.key + "'",
					MatchedPattern: src, Details: ThreatDetails{FieldName: p.key},
				})
			}
		}
		if d := p.member("description"); d != nil && d.kind == jsonString {
			if src, ok := s.schemaInstruction(st, d.str); ok {
				st.add(Threat{
					Type: ThreatToolPoisoning, Severity: SeverityCritical, Rule: "property_description",
					Message:        "Hidden instruction in property '" + p.key + "' description",
					MatchedPattern: src, Details: ThreatDetails{FieldName: p.key},
				})
			}
		}
	}
	return nil
}

// foldString returns foldInto of s as a string: s itself when folding
// changes nothing (no upper-case ASCII and no non-ASCII), else a copy
// built in *buf.
func foldString(buf *[]byte, s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			*buf = foldInto((*buf)[:0], s)
			return string(*buf)
		}
	}
	return s
}

// requiredSet answers the reference's `name in required` for every property
// of one schema in work linear in the schema's size: list items and object
// keys go into a set once, instead of a scan of the list per property. A
// list of at most smallRequired items is scanned instead, which is cheaper
// than building the set and still bounded.
type requiredSet struct {
	node  *jsonNode
	names map[string]struct{} // list items or object keys; nil otherwise
	// budget is the substring-search work left when required is a string;
	// once it is spent every name counts as required (fail closed: the
	// suspicious-required rule then judges every property).
	budget int
	meter  *workMeter
}

// requiredSlack is the fixed part of requiredSet's substring budget.
const requiredSlack = 64 << 10

// smallRequired is the longest list or object requiredSet scans.
const smallRequired = 8

func newRequiredSet(required *jsonNode, meter *workMeter) *requiredSet {
	r := new(requiredSet)
	r.init(required, meter)
	return r
}

// init sets r up for required (see newRequiredSet).
func (r *requiredSet) init(required *jsonNode, meter *workMeter) {
	*r = requiredSet{node: required, meter: meter}
	if required == nil {
		return
	}
	switch required.kind {
	case jsonArray, jsonObject:
		if len(required.kids) <= smallRequired {
			for i := range required.kids {
				meter.add(len(required.kids[i].str) + len(required.kids[i].key) + 1)
			}
			return
		}
		r.names = make(map[string]struct{}, len(required.kids))
		for i := range required.kids {
			k := &required.kids[i]
			meter.add(len(k.str) + len(k.key) + 1)
			switch {
			case required.kind == jsonObject:
				r.names[k.key] = struct{}{}
			case k.kind == jsonString:
				r.names[k.str] = struct{}{}
			}
		}
	case jsonString:
		r.budget = 4*len(required.str) + requiredSlack
	}
}

// contains is pyContains with the work bound described on requiredSet.
func (r *requiredSet) contains(name string) (bool, error) {
	if r.node == nil {
		return false, nil
	}
	switch r.node.kind {
	case jsonArray, jsonObject:
		if r.names == nil {
			return pyContains(r.node, name) // a short list: a scan
		}
		_, ok := r.names[name]
		return ok, nil
	case jsonString:
		if r.budget <= 0 {
			return true, nil
		}
		cost := len(r.node.str) + len(name)
		r.budget -= cost
		r.meter.add(cost)
		return strings.Contains(r.node.str, name), nil
	}
	return pyContains(r.node, name)
}

// pyContains evaluates the reference's `name in required`: membership for
// a list or an object's keys, substring for a string; other types raise.
func pyContains(required *jsonNode, name string) (bool, error) {
	if required == nil {
		return false, nil
	}
	switch required.kind {
	case jsonArray:
		for i := range required.kids {
			if k := &required.kids[i]; k.kind == jsonString && k.str == name {
				return true, nil
			}
		}
		return false, nil
	case jsonObject:
		return required.member(name) != nil, nil
	case jsonString:
		return strings.Contains(required.str, name), nil
	}
	return false, fmt.Errorf("%w: required is neither a list nor a string", errSchemaShape)
}

// firstInstruction returns the first instruction rule that matches text.
func (s *MCPScanner) firstInstruction(st *scanState, text string) (string, bool) {
	folded := foldString(&st.buf, text)
	present := s.rules.pyPresent(folded)
	s.meter.add(len(text) + len(folded))
	return s.firstInstructionIn(folded, present)
}

// firstInstructionIn is firstInstruction on the folded text, given the
// pyRules whose literal occurs in it.
func (s *MCPScanner) firstInstructionIn(folded string, present uint32) (string, bool) {
	for i := range s.rules.instruction {
		if present&(1<<i) != 0 && s.rules.instruction[i].matchLit(folded, s.meter) {
			return s.rules.instruction[i].source, true
		}
	}
	return "", false
}

// schemaInstruction is firstInstruction for a string of the schema: every
// such string is part of the schema's joined strings, so when no
// instruction literal occurs there none occurs in text.
func (s *MCPScanner) schemaInstruction(st *scanState, text string) (string, bool) {
	if st.schema.mask.py()&(1<<len(s.rules.instruction)-1) == 0 {
		return "", false
	}
	return s.firstInstruction(st, text)
}

// eachPropertyName calls fn with the name of every property of every
// "properties" object in the schema, in the order of the schema's joined
// strings (jsonStrings).
func eachPropertyName(n *jsonNode, depth int, fn func(string)) {
	if depth > maxJSONDepth {
		return
	}
	switch n.kind {
	case jsonArray:
		for i := range n.kids {
			eachPropertyName(&n.kids[i], depth+1, fn)
		}
	case jsonObject:
		for i := range n.kids {
			k := &n.kids[i]
			if n.key == "properties" {
				fn(k.key)
			}
			eachPropertyName(k, depth+1, fn)
		}
	}
}

// checkExtended runs our own rules over the description and over every
// string in the schema (jsonStrings), on normalised text, so each rule
// runs once per tool. Each rule reports at most once per tool.
func (s *MCPScanner) checkExtended(st *scanState, schema *jsonNode) {
	var fired [32 + 2]bool // len(s.rules.extended)+2 <= 32: a ruleMask holds one bit per rule
	s.extendedText(st, fired[:], &st.desc, "description")
	if schema == nil {
		return
	}
	// A property name is part of the joined strings: when they are plain
	// and hold no selfName literal, no name can match it.
	self := uint32(1) << len(s.rules.extended)
	if !st.schema.plain || st.schema.mask.ext()&self != 0 {
		eachPropertyName(schema, 0, func(name string) { s.checkPropertyName(st, fired[:], name) })
	}
	s.extendedText(st, fired[:], &st.schema, "inputSchema")
}

// checkPropertyName flags a property whose name asks the model about itself
// (llm_model_name, system_prompt, conversation_history, ...): a tool has no
// business asking which model calls it or what it was told.
func (s *MCPScanner) checkPropertyName(st *scanState, fired []bool, name string) {
	idx := len(s.rules.extended)
	if fired[idx] {
		return
	}
	folded := foldName(name)
	if s.rules.extPresent(folded)&(1<<idx) == 0 || !s.rules.selfName.MatchString(folded) {
		return
	}
	fired[idx] = true
	st.add(Threat{
		Type: ThreatToolPoisoning, Severity: SeverityHigh, Rule: "model-self-disclosure",
		Message: "Parameter '" + name + "' asks the model to disclose its identity, prompt or conversation",
		Details: ThreatDetails{FieldName: name},
	})
}

func (s *MCPScanner) extendedText(st *scanState, fired []bool, rt *ruleText, where string) {
	if rt.size == 0 {
		return
	}
	// The rules whose literals occur run only around those occurrences.
	want := rt.mask.ext() & (1<<len(s.rules.extended) - 1)
	for i := range s.rules.extended {
		if fired[i] {
			want &^= 1 << i
		}
	}
	if want != 0 {
		norm := rt.normText()
		s.meter.add(len(norm))
		spans := s.rules.extSpans(norm, want)
		for i := range s.rules.extended {
			r := &s.rules.extended[i]
			if want&(1<<i) == 0 || !r.win.matchAround(norm, spans[i], s.meter) {
				continue
			}
			fired[i] = true
			st.add(Threat{Type: r.typ, Severity: r.severity, Rule: r.id, Message: r.message + " (" + where + ")"})
		}
	}
	if where == "description" {
		return
	}
	// Schema strings get the reference's description checks too.
	idx := len(s.rules.extended) + 1
	if fired[idx] {
		return
	}
	if py := rt.mask.py() & (1<<len(s.rules.instruction) - 1); py != 0 {
		if src, ok := s.firstInstructionIn(rt.foldedText(), py); ok {
			fired[idx] = true
			st.add(Threat{Type: ThreatToolPoisoning, Severity: SeverityCritical, Rule: "schema_instruction",
				Message: "Hidden instruction in schema (" + where + ")", MatchedPattern: src})
			return
		}
	}
	s.meter.add(3 * rt.size) // the comment and invisible-character checks
	if rt.mask&trigComment != 0 && strings.Contains(rt.text(), "<!--") && s.rules.comments[0].MatchString(rt.text()) {
		fired[idx] = true
		st.add(Threat{Type: ThreatHiddenInstruction, Severity: SeverityCritical, Rule: "hidden_comment",
			Message: "Hidden comment in schema (" + where + ")", MatchedPattern: s.rules.commentSrc[0]})
		return
	}
	if rt.plain {
		return // ASCII: no invisible characters
	}
	if pattern, ch, ok := findInvisible(rt.text(), true); ok {
		fired[idx] = true
		st.add(Threat{Type: ThreatHiddenInstruction, Severity: SeverityCritical, Rule: "invisible_unicode",
			Message: "Invisible unicode characters in schema (" + where + ")", MatchedPattern: pattern,
			Details: ThreatDetails{CharOrd: ch}})
	}
}

func (s *MCPScanner) checkCrossServer(st *scanState, name string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var scratch [8]crossMatch
	// Names compare case-insensitively in both modes: the reference lets
	// "Search" impersonate "search" (a deliberate deviation).
	matches := s.names.lookup(scratch[:0], foldName(name), st.server, !s.opts.ReferenceOnly)
	for _, m := range matches {
		e := m.entry
		switch {
		case m.kind == crossImpersonation:
			st.add(Threat{
				Type: ThreatCrossServer, Severity: SeverityCritical, Rule: "impersonation",
				Message: "Tool '" + name + "' already registered from server '" + e.server + "' — potential impersonation",
				Details: ThreatDetails{OriginalServer: e.server},
			})
		case m.kind == crossTyposquat:
			st.add(Threat{
				Type: ThreatCrossServer, Severity: SeverityMedium, Rule: "typosquat",
				Message: "Tool name '" + name + "' resembles '" + e.name + "' from server '" + e.server + "' — potential typosquatting",
				Details: ThreatDetails{SimilarTool: e.name, SimilarServer: e.server},
			})
		case m.kind == crossShadow:
			st.add(Threat{
				Type: ThreatCrossServer, Severity: SeverityHigh, Rule: "shadowing",
				Message: "Tool name '" + name + "' is a variant of '" + e.name + "' from server '" + e.server + "' — potential shadowing",
				Details: ThreatDetails{SimilarTool: e.name, SimilarServer: e.server},
			})
		}
	}
}

// rugPull compares a definition with its registered fingerprint.
func (s *MCPScanner) rugPull(server, name, desc string, schema *jsonNode) (Threat, bool) {
	s.mu.RLock()
	fp, ok := s.registry[registryKey{server, name}]
	var dh, sh [32]byte
	var version int
	if ok {
		dh, sh, version = fp.DescriptionHash, fp.SchemaHash, fp.Version
	}
	s.mu.RUnlock()
	if !ok {
		return Threat{}, false
	}
	var changed []string
	if sha256.Sum256([]byte(desc)) != dh {
		changed = append(changed, "description")
	}
	if schemaHash(schema) != sh {
		changed = append(changed, "schema")
	}
	if changed == nil {
		return Threat{}, false
	}
	return Threat{
		Type: ThreatRugPull, Severity: SeverityCritical, ToolName: name, ServerName: server, Rule: "rug_pull",
		Message: fmt.Sprintf("Tool definition changed since registration: %s modified (version %d)", strings.Join(changed, ", "), version),
		Details: ThreatDetails{ChangedFields: changed, Version: version},
	}, true
}

// CheckRugPull reports whether t differs from the definition registered
// for (server, t.Name); ok is false when it is unchanged or unregistered.
func (s *MCPScanner) CheckRugPull(server string, t Tool) (Threat, bool, error) {
	schema, err := parseSchema(t.InputSchema)
	if err != nil {
		return Threat{}, false, err
	}
	th, ok := s.rugPull(server, t.Name, t.Description, schema)
	return th, ok, nil
}

func parseSchema(raw json.RawMessage) (*jsonNode, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	n, err := parseJSON(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: field inputSchema: %w", ErrMalformedTool, err)
	}
	if n.kind == jsonNull {
		return nil, nil
	}
	return &n, nil
}

// RegisterTool records (pins) the definition of t from server. Registering
// an unchanged definition only updates LastSeen; a changed one bumps
// Version. A new (server, tool) beyond MaxTools fails with
// ErrRegistryFull.
func (s *MCPScanner) RegisterTool(server string, t Tool) (Fingerprint, error) {
	schema, err := parseSchema(t.InputSchema)
	if err != nil {
		return Fingerprint{}, err
	}
	dh := sha256.Sum256([]byte(t.Description))
	sh := schemaHash(schema)
	now := s.opts.Clock()
	key := registryKey{server, t.Name}
	s.mu.Lock()
	defer s.mu.Unlock()
	if fp, ok := s.registry[key]; ok {
		if fp.DescriptionHash != dh || fp.SchemaHash != sh {
			fp.DescriptionHash, fp.SchemaHash = dh, sh
			fp.Version++
		}
		fp.LastSeen = now
		return *fp, nil
	}
	if len(s.registry) >= s.opts.MaxTools {
		return Fingerprint{}, fmt.Errorf("%w: %d tools registered", ErrRegistryFull, len(s.registry))
	}
	fp := &Fingerprint{ToolName: t.Name, ServerName: server, DescriptionHash: dh, SchemaHash: sh,
		FirstSeen: now, LastSeen: now, Version: 1}
	s.registry[key] = fp
	s.seq++
	s.names.add(nameEntry{seq: s.seq, server: server, name: t.Name, folded: foldName(t.Name)})
	return *fp, nil
}

// Fingerprint returns the registered fingerprint of (server, name).
func (s *MCPScanner) Fingerprint(server, name string) (Fingerprint, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fp, ok := s.registry[registryKey{server, name}]
	if !ok {
		return Fingerprint{}, false
	}
	return *fp, true
}

// ScanServer scans every tool of one server, as the reference's
// scan_server does.
func (s *MCPScanner) ScanServer(ctx context.Context, server string, tools []Tool) (ServerScan, error) {
	res := ServerScan{ToolsScanned: len(tools)}
	flagged := make(map[string]bool)
	var firstErr error
	for _, t := range tools {
		th, err := s.ScanTool(ctx, server, t)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("tool %q: %w", t.Name, err)
		}
		if len(th) > 0 {
			flagged[t.Name] = true
		}
		res.Threats = append(res.Threats, th...)
	}
	res.ToolsFlagged = len(flagged)
	res.Safe = len(res.Threats) == 0
	return res, firstErr
}

func (s *MCPScanner) recordAudit(server, name string, threats []Threat) {
	if len(s.audit) == 0 {
		return
	}
	types := make([]ThreatType, len(threats))
	for i := range threats {
		types[i] = threats[i].Type
	}
	rec := AuditRecord{Timestamp: s.opts.Clock(), Action: "scan_tool", ToolName: name, ServerName: server,
		ThreatsFound: len(threats), ThreatTypes: types}
	s.mu.Lock()
	s.audit[s.auditPos] = rec
	s.auditPos = (s.auditPos + 1) % len(s.audit)
	s.auditLen = min(s.auditLen+1, len(s.audit))
	s.mu.Unlock()
}

// AuditLog returns the retained scan records, oldest first.
func (s *MCPScanner) AuditLog() []AuditRecord {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]AuditRecord, 0, s.auditLen)
	start := (s.auditPos - s.auditLen + len(s.audit)) % max(len(s.audit), 1)
	for i := 0; i < s.auditLen; i++ {
		out = append(out, s.audit[(start+i)%len(s.audit)])
	}
	return out
}

// Name implements Detector.
func (s *MCPScanner) Name() string { return "mcp" }

// Scan implements Detector: input is a tools/list result, an array of
// tool definitions or one definition, scanned as coming from server
// "input". A definition that does not decode is an error (callers fail
// closed).
func (s *MCPScanner) Scan(ctx context.Context, input string) ([]Finding, error) {
	tools, err := ParseTools([]byte(input))
	if err != nil {
		return nil, err
	}
	res, err := s.ScanServer(ctx, "input", tools)
	if err != nil {
		return nil, err
	}
	fs := make([]Finding, len(res.Threats))
	for i := range res.Threats {
		fs[i] = res.Threats[i].Finding()
	}
	return fs, nil
}

// Blocking reports whether threats should stop the tool from being
// offered to a model: any threat of at least high severity.
func Blocking(threats []Threat) bool {
	for i := range threats {
		if threats[i].Severity >= SeverityHigh {
			return true
		}
	}
	return false
}

func firstRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
