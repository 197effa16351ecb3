package mcp

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
)

// checkEncodePins: encodePins writes the same JSON value json.Marshal
// writes for the file, and it decodes back to the same pins.
func checkEncodePins(t *testing.T, pins []*Pin) {
	t.Helper()
	got, err := encodePins(pins)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(pinFile{Version: pinFileVersion, Pins: pins})
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("encodePins wrote invalid JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("encodePins:\n%s\njson.Marshal:\n%s", got, want)
	}
	back, err := decodePins("pins.json", got)
	if err != nil {
		t.Fatalf("decodePins: %v\n%s", err, got)
	}
	if len(back) != len(pins) {
		t.Fatalf("decoded %d pins, want %d", len(back), len(pins))
	}
	for _, p := range pins {
		q := back[pinKey{p.Server, p.Tool}]
		if q == nil || q.Hash != p.Hash || string(q.Definition) != string(p.Definition) ||
			q.PendingHash != p.PendingHash || string(q.PendingDefinition) != string(p.PendingDefinition) ||
			!q.FirstSeen.Equal(p.FirstSeen) || !q.Updated.Equal(p.Updated) {
			t.Fatalf("pin %s/%s decoded as %+v, want %+v", p.Server, p.Tool, q, p)
		}
	}
}

func TestEncodePins(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 3, 4, 5, 123456789, time.UTC)
	def := json.RawMessage(`{"description":"Reads \"files\" <b> & \u2028 more","inputSchema":{"type":"object"},"name":"read"}`)
	tests := []struct {
		name string
		pins []*Pin
	}{
		{"none", []*Pin{}},
		{"approved", []*Pin{{Server: "fs", Tool: "read", Hash: "ab12", Definition: def, FirstSeen: t0, Updated: t0}}},
		{"pending only", []*Pin{{Server: "fs", Tool: "new", PendingHash: "cd34", PendingDefinition: def, FirstSeen: t0, Updated: t0.Add(time.Hour)}}},
		{"both", []*Pin{{Server: "fs", Tool: "read", Hash: "ab12", Definition: def, PendingHash: "cd34", PendingDefinition: json.RawMessage(`{"name":"read"}`),
			FirstSeen: t0.In(time.FixedZone("x", 3600)), Updated: t0}}},
		{"names to escape", []*Pin{
			{Server: `s"<&>\`, Tool: "prompt:t\u00e9\x01\u2028", Hash: "ab", Definition: def, FirstSeen: t0, Updated: t0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkEncodePins(t, tt.pins) })
	}
	if _, err := encodePins([]*Pin{{Server: "s", Tool: "t", Hash: "a", Definition: def, FirstSeen: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}); err == nil {
		t.Error("encodePins accepted a time JSON cannot hold")
	}
}

func FuzzEncodePins(f *testing.F) {
	f.Add("fs", "read", `{"name":"read"}`, int64(0))
	f.Add("s\"<>", "t\u2028\x01", `{"a":[1,"\u00e9"]}`, int64(1764471845123456789))
	f.Fuzz(func(t *testing.T, server, tool, def string, ns int64) {
		// Names come from decoded JSON: valid UTF-8.
		if server == "" || tool == "" || !utf8.ValidString(server) || !utf8.ValidString(tool) || !json.Valid([]byte(def)) {
			return
		}
		var v any
		if json.Unmarshal([]byte(def), &v) != nil {
			return
		}
		canon, err := json.Marshal(v) // kept definitions are canonical JSON
		if err != nil {
			return
		}
		ts := time.Unix(0, ns).UTC()
		if ts.Year() > 9999 || ts.Year() < 0 {
			return
		}
		checkEncodePins(t, []*Pin{{Server: server, Tool: tool, Hash: "ab", Definition: canon, FirstSeen: ts, Updated: ts}})
	})
}
