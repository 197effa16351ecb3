package detect

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
)

// refResult is the reference's detect() result as the vectors store it.
type refResult struct {
	IsInjection     bool        `json:"is_injection"`
	ThreatLevel     string      `json:"threat_level"`
	InjectionType   *string     `json:"injection_type"`
	Confidence      json.Number `json:"confidence"`
	MatchedPatterns []string    `json:"matched_patterns"`
	Explanation     string      `json:"explanation"`
	ConfigError     string      `json:"config_error"`
}

type injectionVectors struct {
	PromptInjection []struct {
		ID           string               `json:"id"`
		Group        string               `json:"group"`
		Text         string               `json:"text"`
		Canaries     []string             `json:"canary_tokens"`
		Expected     map[string]refResult `json:"expected"`
		RegexDialect json.RawMessage      `json:"regex_dialect"`
		Deviation    string               `json:"deviation"`
	} `json:"prompt_injection"`
	Configured []struct {
		ID     string `json:"id"`
		Config struct {
			Allowlist   []string `json:"allowlist"`
			Blocklist   []string `json:"blocklist"`
			Custom      []string `json:"custom_patterns"`
			Sensitivity string   `json:"sensitivity"`
		} `json:"config"`
		Text      string    `json:"text"`
		Canaries  []string  `json:"canary_tokens"`
		Expected  refResult `json:"expected"`
		Deviation string    `json:"deviation"`
	} `json:"prompt_injection_configured"`
}

func assertRefResult(t *testing.T, got InjectionResult, want refResult) {
	t.Helper()
	if got.IsInjection != want.IsInjection {
		t.Errorf("is_injection = %v, want %v", got.IsInjection, want.IsInjection)
	}
	if got.ThreatLevel() != want.ThreatLevel {
		t.Errorf("threat_level = %q, want %q", got.ThreatLevel(), want.ThreatLevel)
	}
	wantType := ""
	if want.InjectionType != nil {
		wantType = *want.InjectionType
	}
	if string(got.Type) != wantType {
		t.Errorf("injection_type = %q, want %q", got.Type, wantType)
	}
	wc, err := strconv.ParseFloat(string(want.Confidence), 64)
	if err != nil {
		t.Fatalf("bad confidence %q in vectors", want.Confidence)
	}
	if got.Confidence != wc {
		t.Errorf("confidence = %v, want %v", got.Confidence, wc)
	}
	if !slices.Equal(got.MatchedPatterns, want.MatchedPatterns) {
		t.Errorf("matched_patterns = %q, want %q", got.MatchedPatterns, want.MatchedPatterns)
	}
	if got.Explanation != want.Explanation {
		t.Errorf("explanation = %q, want %q", got.Explanation, want.Explanation)
	}
}

// TestParityPromptInjection runs the reference's 348 inputs at each
// sensitivity through the rules-only reference view. Strict keeps the
// reference's rule behaviour (it is stricter only in the model's threshold),
// so no case is a deviation.
func TestParityPromptInjection(t *testing.T) {
	t.Parallel()
	var v injectionVectors
	paritytest.Load(t, "detectors.json", &v)
	if len(v.PromptInjection) == 0 {
		t.Fatal("no prompt_injection vectors")
	}
	for _, sens := range []Sensitivity{SensitivityStrict, SensitivityBalanced, SensitivityPermissive} {
		d, err := NewInjection(InjectionOptions{Sensitivity: sens, DisableModel: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range v.PromptInjection {
			t.Run(string(sens)+"/"+c.ID, func(t *testing.T) {
				t.Parallel()
				if c.Deviation != "" {
					t.Fatalf("unexpected deviation %q: add a named deviation test", c.Deviation)
				}
				want, ok := c.Expected[string(sens)]
				if !ok {
					t.Fatalf("no %s expectation", sens)
				}
				assertRefResult(t, d.Reference(c.Text, c.Canaries), want)
			})
		}
	}
}

func TestParityPromptInjectionConfigured(t *testing.T) {
	t.Parallel()
	var v injectionVectors
	paritytest.Load(t, "detectors.json", &v)
	if len(v.Configured) == 0 {
		t.Fatal("no prompt_injection_configured vectors")
	}
	for _, c := range v.Configured {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			if c.Deviation != "" {
				t.Fatalf("unexpected deviation %q", c.Deviation)
			}
			d, err := NewInjection(InjectionOptions{
				Sensitivity: Sensitivity(c.Config.Sensitivity), Allowlist: c.Config.Allowlist,
				Blocklist: c.Config.Blocklist, CustomPatterns: c.Config.Custom, DisableModel: true,
			})
			if c.Expected.ConfigError != "" {
				var ce *InjectionConfigError
				if !errorsAs(err, &ce) {
					t.Fatalf("NewInjection error = %v, want an *InjectionConfigError", err)
				}
				if ce.Reason != c.Expected.ConfigError {
					t.Errorf("config error reason = %q, want %q", ce.Reason, c.Expected.ConfigError)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewInjection: %v", err)
			}
			assertRefResult(t, d.Reference(c.Text, c.Canaries), c.Expected)
		})
	}
}

func errorsAs(err error, target **InjectionConfigError) bool {
	return errors.As(err, target)
}
