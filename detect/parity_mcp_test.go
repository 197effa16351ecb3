package detect

import (
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/paritytest"
)

type mcpParityThreat struct {
	ThreatType     string         `json:"threat_type"`
	Severity       string         `json:"severity"`
	ToolName       string         `json:"tool_name"`
	ServerName     string         `json:"server_name"`
	Message        string         `json:"message"`
	MatchedPattern *string        `json:"matched_pattern"`
	Details        map[string]any `json:"details"`
}

type mcpParityCase struct {
	ID       string `json:"id"`
	Register []struct {
		ToolName    string          `json:"tool_name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		ServerName  string          `json:"server_name"`
	} `json:"register"`
	Tool struct {
		Name        string          `json:"name"`
		Description json.RawMessage `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Server      string          `json:"server"`
	} `json:"tool"`
	Expected struct {
		Threats []mcpParityThreat `json:"threats"`
		Audit   []json.RawMessage `json:"audit"`
		// Only in the fingerprint case, which records no audit.
		FingerprintVersion int    `json:"fingerprint_version"`
		DescriptionHashV2  string `json:"description_hash_v2"`
		SchemaHashNone     string `json:"schema_hash_none"`
	} `json:"expected"`
	Quirk string `json:"quirk"`
}

type mcpServerParityCase struct {
	ID       string            `json:"id"`
	Server   string            `json:"server"`
	Tools    []json.RawMessage `json:"tools"`
	Expected struct {
		Safe         bool              `json:"safe"`
		ToolsScanned int               `json:"tools_scanned"`
		ToolsFlagged int               `json:"tools_flagged"`
		Threats      []mcpParityThreat `json:"threats"`
	} `json:"expected"`
}

// refSeverity maps our severities to the reference's names.
func refSeverity(s Severity) string {
	switch s {
	case SeverityCritical:
		return "critical"
	case SeverityMedium:
		return "warning"
	case SeverityInfo:
		return "info"
	}
	return s.String()
}

// toParity converts a threat to the reference's dict shape.
func toParity(t Threat) mcpParityThreat {
	p := mcpParityThreat{
		ThreatType: string(t.Type), Severity: refSeverity(t.Severity), ToolName: t.ToolName,
		ServerName: t.ServerName, Message: t.Message, Details: map[string]any{},
	}
	if t.MatchedPattern != "" {
		mp := t.MatchedPattern
		p.MatchedPattern = &mp
	}
	d := t.Details
	if d.CharOrd != 0 {
		p.Details["char_ord"] = json.Number(jsonInt(int(d.CharOrd)))
	}
	if d.CommentPreview != "" {
		p.Details["comment_preview"] = d.CommentPreview
	}
	if d.InjectionType != "" {
		p.Details["injection_type"] = d.InjectionType
	}
	if d.FieldName != "" {
		p.Details["field_name"] = d.FieldName
	}
	if d.OriginalServer != "" {
		p.Details["original_server"] = d.OriginalServer
	}
	if d.SimilarTool != "" {
		p.Details["similar_tool"] = d.SimilarTool
		p.Details["similar_server"] = d.SimilarServer
	}
	if d.ChangedFields != nil {
		cf := make([]any, len(d.ChangedFields))
		for i, f := range d.ChangedFields {
			cf[i] = f
		}
		p.Details["changed_fields"] = cf
		p.Details["version"] = json.Number(jsonInt(d.Version))
	}
	return p
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// normalizeExpected makes decoded expected threats comparable with
// toParity's output.
func normalizeExpected(ts []mcpParityThreat) []mcpParityThreat {
	out := make([]mcpParityThreat, len(ts))
	for i, t := range ts {
		if t.Details == nil {
			t.Details = map[string]any{}
		}
		out[i] = t
	}
	return out
}

func parityClock() time.Time { return time.Unix(123, 0) }

// toolJSON rebuilds the tool definition of a parity case.
func toolJSON(t *testing.T, name string, desc, schema json.RawMessage) []byte {
	t.Helper()
	m := map[string]json.RawMessage{}
	n, _ := json.Marshal(name)
	m["name"] = n
	if desc != nil {
		m["description"] = desc
	}
	if schema != nil {
		m["inputSchema"] = schema
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMCPScannerParity runs the reference's scan_tool vectors on a
// reference-mode scanner (fresh per case, clock fixed at 123.0).
// The prompt-injection rule needs the injection detector; cases whose
// only difference comes from it are checked without that threat (see
// TestMCPScannerInjectionThreat).
func TestMCPScannerParity(t *testing.T) {
	t.Parallel()
	var file struct {
		Cases []mcpParityCase `json:"mcp_scanner"`
	}
	paritytest.Load(t, "detectors.json", &file)
	if len(file.Cases) < 160 {
		t.Fatalf("loaded %d mcp_scanner cases, want 163", len(file.Cases))
	}
	for _, c := range file.Cases {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			s, err := NewMCPScanner(MCPOptions{Clock: parityClock, ReferenceOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range c.Register {
				tool := Tool{Name: r.ToolName, Description: r.Description, InputSchema: r.Schema}
				if _, err := s.RegisterTool(r.ServerName, tool); err != nil {
					t.Fatalf("RegisterTool: %v", err)
				}
			}
			def := toolJSON(t, c.Tool.Name, c.Tool.Description, c.Tool.Schema)
			threats, err := s.ScanToolJSON(t.Context(), c.Tool.Server, def)
			want := normalizeExpected(c.Expected.Threats)
			if c.Quirk != "" && strings.Contains(c.Quirk, "case-variant") {
				// Deviation "case-insensitive-names": the reference lets
				// "Search" impersonate "search"; we report it.
				want = []mcpParityThreat{{
					ThreatType: "cross_server_attack", Severity: "critical", ToolName: c.Tool.Name,
					ServerName: c.Tool.Server,
					Message:    "Tool '" + c.Tool.Name + "' already registered from server 'server-a' — potential impersonation",
					Details:    map[string]any{"original_server": "server-a"},
				}}
			}
			want = dropInjectionThreats(want)
			got := make([]mcpParityThreat, 0, len(threats))
			for _, th := range threats {
				got = append(got, toParity(th))
			}
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.MarshalIndent(got, "", " ")
				wb, _ := json.MarshalIndent(want, "", " ")
				t.Fatalf("ScanTool(%s) threats (err %v)\n got %s\nwant %s", def, err, gb, wb)
			}
			isErr := len(want) == 1 && want[0].Message == "Scan error — fail closed"
			if isErr != (err != nil) {
				t.Errorf("ScanTool error = %v, want an error: %v", err, isErr)
			}
			if c.Expected.FingerprintVersion != 0 {
				fp, ok := s.Fingerprint("srv", "search")
				if !ok || fp.Version != c.Expected.FingerprintVersion {
					t.Errorf("Fingerprint version = %d (found %v), want %d", fp.Version, ok, c.Expected.FingerprintVersion)
				}
				if got := hex.EncodeToString(fp.DescriptionHash[:]); got != c.Expected.DescriptionHashV2 {
					t.Errorf("description hash = %s, want %s", got, c.Expected.DescriptionHashV2)
				}
				if got := schemaHash(nil); hex.EncodeToString(got[:]) != c.Expected.SchemaHashNone {
					t.Errorf("schema hash of none = %x, want %s", got, c.Expected.SchemaHashNone)
				}
				return // the reference case records no audit
			}
			// Audit records, in the reference's JSON shape.
			audit := s.AuditLog()
			if len(audit) != len(c.Expected.Audit) {
				t.Fatalf("audit has %d records, want %d", len(audit), len(c.Expected.Audit))
			}
			for i, rec := range audit {
				gotJSON, err := json.Marshal(rec)
				if err != nil {
					t.Fatal(err)
				}
				var g, w map[string]any
				_ = json.Unmarshal(gotJSON, &g)
				_ = json.Unmarshal(c.Expected.Audit[i], &w)
				if c.Quirk == "" && !reflect.DeepEqual(g, w) && !auditDiffersOnlyByInjection(g, w) {
					t.Errorf("audit[%d] = %s, want %s", i, gotJSON, c.Expected.Audit[i])
				}
			}
		})
	}
}

// dropInjectionThreats removes the threat produced by the reference's
// PromptInjectionDetector, which this test's scanner does not run.
func dropInjectionThreats(ts []mcpParityThreat) []mcpParityThreat {
	out := ts[:0:0]
	for _, t := range ts {
		if strings.HasPrefix(t.Message, "Prompt injection detected in description: ") {
			continue
		}
		out = append(out, t)
	}
	return out
}

func auditDiffersOnlyByInjection(g, w map[string]any) bool {
	gt, _ := g["threat_types"].([]any)
	wt, _ := w["threat_types"].([]any)
	if len(wt)-len(gt) != 1 {
		return false
	}
	for _, k := range []string{"timestamp", "action", "tool_name", "server_name"} {
		if g[k] != w[k] {
			return false
		}
	}
	return true
}

// TestMCPScannerServerParity runs the reference's scan_server vectors.
func TestMCPScannerServerParity(t *testing.T) {
	t.Parallel()
	var file struct {
		Cases []mcpServerParityCase `json:"mcp_scanner_server"`
	}
	paritytest.Load(t, "detectors.json", &file)
	if len(file.Cases) != 5 {
		t.Fatalf("loaded %d mcp_scanner_server cases, want 5", len(file.Cases))
	}
	for _, c := range file.Cases {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			s, err := NewMCPScanner(MCPOptions{Clock: parityClock, ReferenceOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			tools := make([]Tool, 0, len(c.Tools))
			for _, raw := range c.Tools {
				tool, err := ParseTool(raw)
				if err != nil {
					t.Fatalf("ParseTool(%s): %v", raw, err)
				}
				tools = append(tools, tool)
			}
			res, err := s.ScanServer(t.Context(), c.Server, tools)
			if err != nil {
				t.Fatalf("ScanServer: %v", err)
			}
			got := make([]mcpParityThreat, 0, len(res.Threats))
			for _, th := range res.Threats {
				got = append(got, toParity(th))
			}
			if want := normalizeExpected(c.Expected.Threats); !reflect.DeepEqual(got, want) {
				t.Errorf("threats = %+v, want %+v", got, want)
			}
			if res.Safe != c.Expected.Safe || res.ToolsScanned != c.Expected.ToolsScanned || res.ToolsFlagged != c.Expected.ToolsFlagged {
				t.Errorf("ScanServer = safe %v scanned %d flagged %d, want %v %d %d", res.Safe, res.ToolsScanned,
					res.ToolsFlagged, c.Expected.Safe, c.Expected.ToolsScanned, c.Expected.ToolsFlagged)
			}
		})
	}
}
