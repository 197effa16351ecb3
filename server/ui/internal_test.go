package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/audit"
)

func TestTemplatesParse(t *testing.T) {
	t.Parallel()
	pages, err := parsePages("/ui")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pageNames {
		tm, ok := pages[name]
		if !ok {
			t.Fatalf("page %s not parsed", name)
		}
		for _, sub := range []string{"layout", "content", "eventrow", "decision", "signalform", "notice"} {
			if tm.Lookup(sub) == nil {
				t.Errorf("page %s lacks template %q", name, sub)
			}
		}
		// Every page renders with its zero data (empty daemon).
		var buf bytes.Buffer
		data := map[string]any{
			"overview": overviewView{}, "agents": agentsView{}, "agent": agentView{ID: "a"}, "approvals": approvalsView{},
			"audit": auditView{}, "policies": policiesView{}, "error": errorView{Status: 404, Text: "Not Found", Message: "x"},
		}[name]
		if err := tm.ExecuteTemplate(&buf, "layout", view{Title: name, Page: name, User: principal{ID: "u", Role: RoleAdmin}, Data: data}); err != nil {
			t.Errorf("render %s with zero data: %v", name, err)
		}
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	s := newStats()
	t0 := time.Unix(1_700_000_000, 0)
	s.add(t0, "r1", "p", true)
	s.add(t0.Add(10*time.Second), "r1", "p", false)
	s.add(t0.Add(20*time.Second), "r2", "p", true)
	s.add(t0.Add(20*time.Second), "", "", false)
	tests := []struct {
		name              string
		at                time.Time
		minute, deniedMin int64
	}{
		{"same second", t0.Add(20 * time.Second), 4, 2},
		{"first bucket aged out", t0.Add(60 * time.Second), 3, 1},
		{"all aged out", t0.Add(90 * time.Second), 0, 0},
		{"clock went back", t0.Add(-time.Second), 0, 0},
	}
	for _, tt := range tests {
		v := s.snapshot(tt.at)
		if v.LastMinute != tt.minute || v.DeniedLastMinute != tt.deniedMin {
			t.Errorf("%s: last minute %d/%d denied, want %d/%d", tt.name, v.LastMinute, v.DeniedLastMinute, tt.minute, tt.deniedMin)
		}
		if v.Total != 4 || v.Denied != 2 {
			t.Errorf("%s: totals %d/%d, want 4/2", tt.name, v.Total, v.Denied)
		}
		if len(v.Top) != 2 || v.Top[0].Rule != "r1" || v.Top[0].Matched != 2 || v.Top[0].Denied != 1 || v.TopMax != 2 {
			t.Errorf("%s: top = %+v", tt.name, v.Top)
		}
	}
	if got := s.snapshot(t0.Add(20 * time.Second)).PerSecond; got != 4.0/60 {
		t.Errorf("PerSecond = %v, want %v", got, 4.0/60)
	}
	// A bucket reused a minute later starts from zero.
	s.add(t0.Add(60*time.Second), "r1", "p", false)
	// (t0's own decision is gone: 1 at +10s, 2 at +20s, 1 at +60s.)
	if v := s.snapshot(t0.Add(60 * time.Second)); v.LastMinute != 4 {
		t.Errorf("after reuse: last minute %d, want 4", v.LastMinute)
	}
	// The rule table is bounded.
	b := newStats()
	for i := range maxRules + 10 {
		b.add(t0, "rule-"+string(rune('a'+i%26))+strings.Repeat("x", i), "p", false)
	}
	if len(b.byRule) != maxRules {
		t.Errorf("rules counted = %d, want the bound %d", len(b.byRule), maxRules)
	}
	if v := b.snapshot(t0); v.Total != maxRules+10 || len(v.Top) != 10 {
		t.Errorf("bounded stats: total %d top %d", v.Total, len(v.Top))
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev, _ := json.Marshal(&audit.Event{Seq: 7, Time: at, Kind: audit.KindToolCall, AgentID: "a1", Tool: "rm",
		Args:     json.RawMessage(`{"secret":"hunter2"}`),
		Decision: audit.Decision{Action: "deny", Rule: "no-rm", Reason: strings.Repeat("r", 2000)}, Outcome: audit.Outcome{Code: -2}})
	tests := []struct {
		name string
		ev   Event
		ok   bool
		want liveEvent
	}{
		{"decision", Event{Type: EventDecision, Data: ev}, true, liveEvent{Type: "decision", Seq: 7, Time: "2026-01-02 03:04:05Z",
			AgentID: "a1", Kind: "tool_call", Tool: "rm", Action: "deny", Rule: "no-rm", Reason: cut(strings.Repeat("r", 2000), 512), Code: -2}},
		{"approval", Event{Type: EventApproval, Time: at, Data: json.RawMessage(`{"kind":"submitted","request_id":"R","agent_id":"a1","tool":"deploy","status":"pending"}`)},
			true, liveEvent{Type: "approval", Time: "2026-01-02 03:04:05Z", Kind: "submitted", RequestID: "R", AgentID: "a1", Tool: "deploy", Status: "pending"}},
		{"reload", Event{Type: EventPolicyReload, Time: at, Data: json.RawMessage(`{}`)}, true, liveEvent{Type: "policy_reload", Time: "2026-01-02 03:04:05Z"}},
		{"unknown type", Event{Type: "mystery", Data: json.RawMessage(`{}`)}, false, liveEvent{}},
		{"bad json", Event{Type: EventDecision, Data: json.RawMessage(`{`)}, false, liveEvent{}},
	}
	for _, tt := range tests {
		got, ok := summarize(tt.ev)
		if ok != tt.ok {
			t.Errorf("summarize(%s) ok = %v, want %v", tt.name, ok, tt.ok)
			continue
		}
		if ok && got != tt.want {
			t.Errorf("summarize(%s) = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestRelay(t *testing.T) {
	t.Parallel()
	type ev struct{ n int }
	in := make(chan ev, 4)
	cancelled := 0
	src := Relay(func(int) (<-chan ev, func()) { return in, func() { cancelled++ } },
		func(e ev) Event { return Event{ID: uint64(e.n), Type: EventDecision} })
	out, cancel := src.Subscribe(0)
	in <- ev{1}
	in <- ev{2}
	for want := uint64(1); want <= 2; want++ {
		if got := <-out; got.ID != want {
			t.Fatalf("relayed ID %d, want %d", got.ID, want)
		}
	}
	cancel()
	cancel()
	for range out { // closed after cancel, even with events pending upstream
	}
	if cancelled != 1 {
		t.Errorf("upstream cancelled %d times, want 1", cancelled)
	}
	// The relay ends when the source closes.
	in2 := make(chan ev)
	out2, cancel2 := Relay(func(int) (<-chan ev, func()) { return in2, func() {} },
		func(e ev) Event { return Event{} }).Subscribe(1)
	close(in2)
	if _, ok := <-out2; ok {
		t.Errorf("relay delivered after the source closed")
	}
	cancel2()
}

func TestParseFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		field string // "" for success
	}{
		{"", ""},
		{"agent=a&tool=t&rule=r&action=deny&limit=5&since=2026-01-01&until=2026-01-02T10:00", ""},
		{"since=2026-01-01T10:00:00.5%2B02:00", ""},
		{"action=nope", "action"},
		{"limit=x", "limit"},
		{"limit=-1", "limit"},
		{"since=1969-12-31", "since"},
		{"until=3000-01-01", "until"},
		{"tool=" + strings.Repeat("t", 257), "tool"},
	}
	for _, tt := range tests {
		vals, _ := url.ParseQuery(tt.query)
		_, q, err := parseFilter(vals)
		var ie *InputError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("parseFilter(%q) = %v", tt.query, err)
		case tt.field == "" && (q.Limit < 1 || q.Limit > MaxAuditRows):
			t.Errorf("parseFilter(%q): limit %d", tt.query, q.Limit)
		case tt.field != "" && (!errors.As(err, &ie) || ie.Field != tt.field || !errors.Is(err, ErrInvalid)):
			t.Errorf("parseFilter(%q) = %v, want an InputError on %s", tt.query, err, tt.field)
		}
	}
}

func TestCut(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"}, {"abcd", 3, "abc…"}, {"héllo", 2, "h…"}, {"", 0, ""},
	} {
		if got := cut(tt.s, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "agent=a&limit=5", "since=2026-01-01T10:00:00Z", "until=9999-12-31", "limit=1001", "action=deny"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		_, q, err := parseFilter(vals)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parseFilter(%q) error %v does not match ErrInvalid", s, err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > MaxAuditRows {
			t.Fatalf("parseFilter(%q): limit %d out of bounds", s, q.Limit)
		}
		for _, tm := range []time.Time{q.Since, q.Until} {
			if !tm.IsZero() && (tm.Before(minTime) || tm.After(maxTime)) {
				t.Fatalf("parseFilter(%q): time %v out of range", s, tm)
			}
		}
	})
}

func FuzzParseInput(f *testing.F) {
	for _, s := range []string{playgroundSample, `{}`, `null`, `[]`, `{"a":1e400}`, `{"n": 12345678901234567890}`, `{} x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := parseInput(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parseInput(%q) error %v does not match ErrInvalid", s, err)
			}
			if in != nil {
				t.Fatalf("parseInput(%q) returned input with an error", s)
			}
			return
		}
		if in == nil {
			t.Fatalf("parseInput(%q) = nil, nil", s)
		}
	})
}

func FuzzSummarize(f *testing.F) {
	ev, _ := json.Marshal(&audit.Event{Kind: audit.KindToolCall, AgentID: "a", Tool: "t", Decision: audit.Decision{Rule: "<script>"}})
	f.Add(EventDecision, ev)
	f.Add(EventApproval, []byte(`{"kind":"submitted","request_id":"R"}`))
	f.Add(EventSignal, []byte(`{"agent_id":"\u2028"}`))
	f.Add("x\ny", []byte(`{}`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		le, ok := summarize(Event{Type: typ, Data: data})
		if !ok {
			return
		}
		switch le.Type {
		case EventDecision, EventSignal, EventLifecycle, EventApproval, EventPolicyReload:
		default:
			t.Fatalf("summarize passed type %q", le.Type)
		}
		for _, s := range []string{le.AgentID, le.Tool, le.Rule, le.Policy, le.Kind, le.RequestID, le.Status} {
			if len(s) > 128+len("…") {
				t.Fatalf("field of %d bytes not bounded", len(s))
			}
		}
		if len(le.Reason) > 512+len("…") || !utf8.ValidString(le.Reason) && utf8.ValidString(string(data)) {
			t.Fatalf("reason not bounded or broken")
		}
		b, err := json.Marshal(le)
		if err != nil || bytes.ContainsAny(b, "\n\r") {
			t.Fatalf("summary %q cannot be one SSE data line (%v)", b, err)
		}
	})
}

func BenchmarkSummarize(b *testing.B) {
	ev, _ := json.Marshal(&audit.Event{Seq: 1, Time: time.Now(), Kind: audit.KindToolCall, AgentID: "agent-1", Tool: "read_file",
		Args: json.RawMessage(`{"path":"/etc/passwd"}`), Decision: audit.Decision{Action: "deny", Rule: "no-etc", Reason: "no /etc"}})
	e := Event{Type: EventDecision, Data: ev}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := summarize(e); !ok {
			b.Fatal("not summarized")
		}
	}
}

func BenchmarkStatsAdd(b *testing.B) {
	s := newStats()
	t0 := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.add(t0.Add(time.Duration(i)*time.Millisecond), "rule", "policy", i%3 == 0)
		i++
	}
}
