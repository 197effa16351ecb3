package detect

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/paritytest"
)

type credCase struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Expected struct {
		Redacted string `json:"redacted"`
		Types    []string
		Matches  []struct {
			Name        string `json:"name"`
			MatchedText string `json:"matched_text"`
		} `json:"matches"`
		ContainsCredentials bool `json:"contains_credentials"`
	} `json:"expected"`
	Deviation      string   `json:"deviation"`
	DeviationKinds []string `json:"deviation_kinds"`
}

var residueRE = regexp.MustCompile(`\[REDACTED\](?:==?|'|")`)

type credNestedCase struct {
	ID       string `json:"id"`
	Value    any    `json:"value"`
	Expected struct {
		RedactDataStructure any `json:"redact_data_structure"`
		RedactMapping       any `json:"redact_mapping"`
	} `json:"expected"`
}

type credFile struct {
	Redactor []credCase       `json:"credential_redactor"`
	Nested   []credNestedCase `json:"credential_redactor_nested"`
}

// stripResidue turns the reference's redaction (which leaves '=' padding or
// a closing quote after the placeholder) into the whole-token redaction Go
// performs.
func stripResidue(s string) string {
	return residueRE.ReplaceAllString(s, RedactedPlaceholder)
}

func TestParityCredentialRedactor(t *testing.T) {
	t.Parallel()
	var f credFile
	paritytest.Load(t, "detectors.json", &f)
	if len(f.Redactor) != 140 {
		t.Fatalf("loaded %d credential_redactor cases, want 140", len(f.Redactor))
	}
	r := NewCredentialRedactor(CredentialRedactorOptions{})
	var passed, deviations int
	for _, c := range f.Redactor {
		name := c.ID
		if c.Deviation != "" {
			name += "/deviation=" + strings.Join(c.DeviationKinds, ",")
		}
		t.Run(name, func(t *testing.T) {
			got := r.Redact(c.Text)
			want := c.Expected.Redacted
			if c.Deviation != "" {
				// redaction-residue: the whole token is removed.
				want = stripResidue(want)
				for _, m := range c.Expected.Matches {
					if strings.Contains(got, m.MatchedText) {
						t.Errorf("Redact(%q) = %q still contains %q", c.Text, got, m.MatchedText)
					}
				}
			}
			if got != want {
				t.Errorf("Redact(%q) = %q, want %q", c.Text, got, want)
			}
			types := r.Types(c.Text)
			wantTypes := c.Expected.Types
			if len(wantTypes) == 0 {
				wantTypes = nil
			}
			if !reflect.DeepEqual(types, wantTypes) {
				t.Errorf("Types(%q) = %q, want %q", c.Text, types, wantTypes)
			}
			ms := r.Matches(c.Text)
			if len(ms) != len(c.Expected.Matches) {
				t.Fatalf("Matches(%q) = %d matches, want %d", c.Text, len(ms), len(c.Expected.Matches))
			}
			for i, m := range ms {
				em := c.Expected.Matches[i]
				gotText := c.Text[m.Start:m.End]
				if m.Name != em.Name {
					t.Errorf("match %d name = %q, want %q", i, m.Name, em.Name)
				}
				if c.Deviation != "" {
					if !strings.HasPrefix(gotText, em.MatchedText) {
						t.Errorf("match %d = %q, want it to cover %q", i, gotText, em.MatchedText)
					}
				} else if gotText != em.MatchedText {
					t.Errorf("match %d = %q, want %q", i, gotText, em.MatchedText)
				}
			}
			if got := r.ContainsCredentials(c.Text); got != c.Expected.ContainsCredentials {
				t.Errorf("ContainsCredentials(%q) = %v, want %v", c.Text, got, c.Expected.ContainsCredentials)
			}
		})
		if c.Deviation != "" {
			deviations++
		} else {
			passed++
		}
	}
	t.Logf("credential_redactor: %d reference cases, %d redaction-residue deviation cases", passed, deviations)
}

func TestParityCredentialRedactorNested(t *testing.T) {
	t.Parallel()
	var f credFile
	paritytest.Load(t, "detectors.json", &f)
	if len(f.Nested) == 0 {
		t.Fatal("no credential_redactor_nested cases")
	}
	r := NewCredentialRedactor(CredentialRedactorOptions{})
	for _, c := range f.Nested {
		t.Run(c.ID, func(t *testing.T) {
			got := normJSON(t, r.RedactValue(normJSON(t, c.Value)))
			for _, want := range []any{c.Expected.RedactDataStructure, c.Expected.RedactMapping} {
				if w := normJSON(t, want); !reflect.DeepEqual(got, w) {
					t.Errorf("RedactValue(%v) = %v, want %v", c.Value, got, w)
				}
			}
			// The same through RedactJSON on the encoded document, in
			// reference mode (values only, no secret-named keys).
			raw, err := json.Marshal(c.Value)
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := r.RedactJSON(raw)
			if err != nil {
				t.Fatalf("RedactJSON: %v", err)
			}
			var back any
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("RedactJSON output is not JSON: %v\n%s", err, out)
			}
			if w := normJSON(t, c.Expected.RedactDataStructure); !reflect.DeepEqual(normJSON(t, back), w) {
				t.Errorf("RedactJSON(%s) = %s, want %v", raw, out, w)
			}
		})
	}
}

// normJSON round-trips v through JSON so numbers and containers compare
// equal regardless of how they were decoded.
func normJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
