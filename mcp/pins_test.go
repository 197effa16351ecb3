package mcp

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestNewDefinition(t *testing.T) {
	t.Parallel()
	base := `{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{"type":"number"}}}}`
	same := []string{
		`{"inputSchema":{"properties":{"a":{"type":"number"}},"type":"object"},"description":"d","name":"t"}`,
		"{ \"name\" : \"t\",\n \"description\":\"d\", \"inputSchema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":1e0}}}}",
		`{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{"type":"number"}}},"icons":[{"src":"x"}],"_meta":{"k":1}}`,
	}
	differ := []string{
		`{"name":"t","description":"d2","inputSchema":{"type":"object","properties":{"a":{"type":"number"}}}}`,
		`{"name":"t","description":"d","title":"T","inputSchema":{"type":"object","properties":{"a":{"type":"number"}}}}`,
		`{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{"type":"string"}}}}`,
		`{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{"type":"number"}}},"annotations":{"readOnlyHint":true}}`,
		`{"name":"t","description":"d","inputSchema":{"type":"object","properties":{"a":{"type":"number"}}},"outputSchema":{"type":"object"}}`,
	}
	b, err := NewDefinition(json.RawMessage(base))
	if err != nil {
		t.Fatal(err)
	}
	if b.Tool != "t" || len(b.Hash) != 64 {
		t.Fatalf("NewDefinition = %+v", b)
	}
	// The type "number" written as 1e0 is a different value, so use it
	// as a difference, not a sameness, check.
	same = append(same[:1], same[2:]...)
	for _, s := range same {
		d, err := NewDefinition(json.RawMessage(s))
		if err != nil || d.Hash != b.Hash {
			t.Errorf("NewDefinition(%s) hash = %s, %v; want %s", s, d.Hash, err, b.Hash)
		}
	}
	for _, s := range differ {
		d, err := NewDefinition(json.RawMessage(s))
		if err != nil || d.Hash == b.Hash {
			t.Errorf("NewDefinition(%s) hash = %s, %v; want a different hash", s, d.Hash, err)
		}
	}
	for _, bad := range []string{`[]`, `{"name":1}`, `{"description":"x"}`, `{"name":""}`, `{"name":"t","inputSchema":{"a":1,"a":2}}`, `{`} {
		if _, err := NewDefinition(json.RawMessage(bad)); err == nil {
			t.Errorf("NewDefinition(%s) = nil error, want one", bad)
		}
	}
}

func def(t *testing.T, name, desc string) Definition {
	t.Helper()
	d, err := NewDefinition(json.RawMessage(`{"name":"` + name + `","description":"` + desc + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPinStoreLifecycle(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", PinFileName)
	s, err := OpenPins(PinOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	a1, b1 := def(t, "a", "one"), def(t, "b", "two")
	steps := []struct {
		name       string
		defs       []Definition
		approveNew bool
		untrusted  []bool
		want       []PinState
	}{
		{"first use trusts", []Definition{a1}, false, nil, []PinState{PinTrusted}},
		{"same again matches", []Definition{a1}, false, nil, []PinState{PinMatch}},
		{"new tool held when approval required", []Definition{a1, b1}, true, nil, []PinState{PinMatch, PinNew}},
		{"held tool stays new", []Definition{b1}, false, nil, []PinState{PinNew}},
		{"changed definition", []Definition{def(t, "a", "evil")}, false, nil, []PinState{PinChanged}},
		{"back to approved clears pending", []Definition{a1}, false, nil, []PinState{PinMatch}},
		{"flagged new tool is not trusted", []Definition{def(t, "c", "x")}, false, []bool{true}, []PinState{PinNew}},
	}
	for _, st := range steps {
		got, err := s.Check("srv", st.defs, st.approveNew, st.untrusted)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for i := range got {
			if got[i] != st.want[i] {
				t.Errorf("%s: state[%d] = %v, want %v", st.name, i, got[i], st.want[i])
			}
		}
	}
	if p, err := s.Get("srv", "a"); err != nil || p.PendingHash != "" || p.Hash != a1.Hash {
		t.Errorf("pin a = %+v, %v; want approved one, nothing pending", p, err)
	}
	// Another store (another process) approves b; the first sees it.
	other, err := OpenPins(PinOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Approve("srv", "b", "0000"); err == nil {
		t.Error("Approve with a wrong hash succeeded")
	}
	if _, err := other.Approve("srv", "b", b1.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Approve("srv", "b", ""); !errors.Is(err, ErrNothingToApprove) {
		t.Errorf("second Approve = %v, want ErrNothingToApprove", err)
	}
	if _, err := other.Approve("srv", "zz", ""); !errors.Is(err, ErrPinNotFound) {
		t.Errorf("Approve of unknown = %v, want ErrPinNotFound", err)
	}
	got, err := s.Check("srv", []Definition{b1}, true, nil)
	if err != nil || got[0] != PinMatch {
		t.Errorf("after approval elsewhere: %v, %v; want match", got, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("pin file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	n, err := s.Reset("srv", "a")
	if err != nil || n != 1 {
		t.Errorf("Reset one = %d, %v", n, err)
	}
	n, err = other.Reset("", "")
	if err != nil || n != 2 {
		t.Errorf("Reset all = %d, %v; want 2", n, err)
	}
	if l, err := s.List(); err != nil || len(l) != 0 {
		t.Errorf("List after reset = %v, %v", l, err)
	}
}

func TestOpenPinsInvalid(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"not json":      `{`,
		"wrong version": `{"version":2,"pins":[]}`,
		"unknown field": `{"version":1,"pins":[],"x":1}`,
		"missing tool":  `{"version":1,"pins":[{"server":"s","hash":"h","definition":{}}]}`,
		"hash alone":    `{"version":1,"pins":[{"server":"s","tool":"t","hash":"h"}]}`,
		"duplicate":     `{"version":1,"pins":[{"server":"s","tool":"t","hash":"h","definition":{}},{"server":"s","tool":"t","hash":"h","definition":{}}]}`,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), PinFileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := OpenPins(PinOptions{Path: path}); !errors.Is(err, ErrInvalidPins) {
				t.Errorf("OpenPins(%s) = %v, want ErrInvalidPins", content, err)
			}
		})
	}
}
