package detect

import (
	"reflect"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
)

type responseParityThreat struct {
	Category       string            `json:"category"`
	Description    string            `json:"description"`
	MatchedPattern string            `json:"matched_pattern"`
	Details        map[string]string `json:"details"`
}

func toResponseParity(ts []ResponseThreat) []responseParityThreat {
	out := make([]responseParityThreat, 0, len(ts))
	for _, t := range ts {
		p := responseParityThreat{Category: string(t.Category), Description: t.Description,
			MatchedPattern: t.MatchedPattern, Details: map[string]string{}}
		if t.CredentialType != "" {
			p.Details["credential_type"] = t.CredentialType
		}
		out = append(out, p)
	}
	return out
}

func normResponseExpected(ts []responseParityThreat) []responseParityThreat {
	out := make([]responseParityThreat, 0, len(ts))
	for _, t := range ts {
		if t.Details == nil {
			t.Details = map[string]string{}
		}
		out = append(out, t)
	}
	return out
}

// TestResponseScannerParity runs the reference's scan_response and
// sanitize_response vectors.
func TestResponseScannerParity(t *testing.T) {
	t.Parallel()
	var file struct {
		Cases []struct {
			ID       string `json:"id"`
			Text     string `json:"text"`
			Expected struct {
				IsSafe    bool                   `json:"is_safe"`
				ToolName  string                 `json:"tool_name"`
				Threats   []responseParityThreat `json:"threats"`
				Sanitized string                 `json:"sanitized"`
				Stripped  []responseParityThreat `json:"stripped"`
			} `json:"expected"`
		} `json:"mcp_response"`
	}
	paritytest.Load(t, "detectors.json", &file)
	if len(file.Cases) != 69 {
		t.Fatalf("loaded %d mcp_response cases, want 69", len(file.Cases))
	}
	s, err := NewResponseScanner(ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range file.Cases {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			res := s.ScanResponse(t.Context(), c.Text, "tool_r")
			if res.Safe != c.Expected.IsSafe || res.ToolName != c.Expected.ToolName {
				t.Errorf("ScanResponse(%q) safe %v tool %q, want %v %q", c.Text, res.Safe, res.ToolName, c.Expected.IsSafe, c.Expected.ToolName)
			}
			if got, want := toResponseParity(res.Threats), normResponseExpected(c.Expected.Threats); !reflect.DeepEqual(got, want) {
				t.Errorf("ScanResponse(%q) threats\n got %+v\nwant %+v", c.Text, got, want)
			}
			clean, stripped := s.SanitizeResponse(c.Text)
			if clean != c.Expected.Sanitized {
				t.Errorf("SanitizeResponse(%q) = %q, want %q", c.Text, clean, c.Expected.Sanitized)
			}
			if got, want := toResponseParity(stripped), normResponseExpected(c.Expected.Stripped); !reflect.DeepEqual(got, want) {
				t.Errorf("SanitizeResponse(%q) stripped\n got %+v\nwant %+v", c.Text, got, want)
			}
		})
	}
}
