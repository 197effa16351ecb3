package mcp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

var (
	testStateKey = []byte("0123456789abcdef0123456789abcdef")
	testNow      = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
)

func testClaims() stateClaims {
	return stateClaims{ID: "REQ0123456789ABCDEFGHIJKLM", Principal: "alice", Server: "fixture", Agent: testAgent, Tool: "tool_2",
		ArgsHash: strings.Repeat("ab", 32), Expires: testNow.Add(time.Minute).Unix()}
}

// signedState signs an arbitrary body as the gateway would.
func signedState(key, body []byte) string {
	signed := stateTag + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(stateMAC(key, signed))
}

func TestRequestState(t *testing.T) {
	t.Parallel()
	withServer := testClaims()
	withServer.UpState = json.RawMessage(`"server-state"`)
	withServer.UpResponses = map[string]json.RawMessage{"colour": json.RawMessage(`{"action":"accept","content":{"colour":"teal"}}`)}
	valid, err := sealState(testStateKey, withServer)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := openState(testStateKey, valid, testNow); err != nil || !reflect.DeepEqual(got, withServer) {
		t.Fatalf("openState(sealState(c)) = %+v, %v; want %+v", got, err, withServer)
	}
	badUp := testClaims()
	badUp.UpState = json.RawMessage(`7`)
	badUpState, _ := sealState(testStateKey, badUp)
	tests := []struct {
		name  string
		state string
		want  error
	}{
		{"another key", func() string { s, _ := sealState([]byte(strings.Repeat("x", 32)), testClaims()); return s }(), errStateForged},
		{"expired", func() string {
			c := testClaims()
			c.Expires = testNow.Unix()
			s, _ := sealState(testStateKey, c)
			return s
		}(), errStateExpired},
		{"no tag", strings.TrimPrefix(valid, stateTag), errStateMalformed},
		{"no signature", valid[:strings.LastIndexByte(valid, '.')], errStateMalformed},
		{"empty signature", valid[:strings.LastIndexByte(valid, '.')+1], errStateForged},
		{"padded signature", valid + "=", errStateMalformed},
		{"too long", stateTag + strings.Repeat("A", maxStateBytes), errStateMalformed},
		{"unknown claim", signedState(testStateKey, []byte(`{"id":"x","p":"alice","exp":9999999999,"admin":true}`)), errStateMalformed},
		{"no request ID", signedState(testStateKey, []byte(`{"p":"alice","exp":9999999999}`)), errStateMalformed},
		{"not JSON", signedState(testStateKey, []byte(`id=x`)), errStateMalformed},
		{"server state not a string", badUpState, errStateMalformed},
		{"just the tag", stateTag, errStateMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := openState(testStateKey, tt.state, testNow); !errors.Is(err, tt.want) {
				t.Errorf("openState = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("every one-byte change is refused", func(t *testing.T) {
		for i := len(stateTag); i < len(valid); i++ {
			b := []byte(valid)
			b[i] ^= 0x01
			if _, err := openState(testStateKey, string(b), testNow); err == nil {
				t.Fatalf("state changed at byte %d opened", i)
			}
		}
	})
	t.Run("too large to issue", func(t *testing.T) {
		c := testClaims()
		c.UpState = json.RawMessage(`"` + strings.Repeat("s", maxStateBytes) + `"`)
		if _, err := sealState(testStateKey, c); err == nil {
			t.Error("sealState issued a state beyond maxStateBytes")
		}
	})
}

func TestEditObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		set  map[string]json.RawMessage
		drop []string
		want string
	}{
		{"kept byte for byte", `{"b": 1, "a":{"x" : [1, 2]}}`, nil, nil, `{"b":1,"a":{"x" : [1, 2]}}`},
		{"replaced in place", `{"a":1,"s":"old","z":2}`, map[string]json.RawMessage{"s": json.RawMessage(`"new"`)}, nil, `{"a":1,"s":"new","z":2}`},
		{"appended in key order", `{"a":1}`, map[string]json.RawMessage{"z": json.RawMessage(`2`), "m": json.RawMessage(`3`)}, nil, `{"a":1,"m":3,"z":2}`},
		{"dropped", `{"a":1,"requestState":"x","b":2}`, nil, []string{"requestState"}, `{"a":1,"b":2}`},
		{"all dropped", `{"requestState":"x"}`, nil, []string{"requestState"}, `{}`},
		{"second occurrence dropped", `{"s":1,"s":2}`, map[string]json.RawMessage{"s": json.RawMessage(`3`)}, nil, `{"s":3}`},
		{"escaped key", `{"\u0061":1}`, nil, []string{"a"}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := editObject(json.RawMessage(tt.in), tt.set, tt.drop...)
			if err != nil || string(got) != tt.want {
				t.Errorf("editObject(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a":1} {}`, `{"a":1`} {
		if got, err := editObject(json.RawMessage(bad), nil); err == nil {
			t.Errorf("editObject(%q) = %s, want an error", bad, got)
		}
	}
}

// mrtrRequest builds a tools/call request with params and reads its
// members as governCall does.
func mrtrRequest(t testing.TB, params string) (*jsonrpc.Request, map[string]json.RawMessage, error) {
	id, _ := jsonrpc.MakeID(float64(9))
	req := &jsonrpc.Request{ID: id, Method: methodToolsCall, Params: json.RawMessage(params)}
	pm, err := strictMembers(req.Params, "name", "arguments", memberInputResponses, memberRequestState)
	return req, pm, err
}

func TestParseMRTR(t *testing.T) {
	t.Parallel()
	ours, err := sealState(testStateKey, testClaims())
	if err != nil {
		t.Fatal(err)
	}
	oursJSON, _ := json.Marshal(ours)
	meta := func(caps string) string {
		return `"_meta":{"io.modelcontextprotocol/clientCapabilities":` + caps + `,"io.modelcontextprotocol/clientInfo":{"name":"cli\u0001ent"}}`
	}
	tests := []struct {
		name       string
		params     string
		canAsk     bool
		client     string
		state      bool   // the gateway's state is read
		answer     string // the answer read
		upState    string
		upResponse string // a server response kept
		upstream   string // the params sent upstream; "": as they came
		wantErr    bool
	}{
		{name: "plain call", params: `{"name":"t","arguments":{}}`},
		{name: "empty elicitation capability", params: `{"name":"t",` + meta(`{"elicitation":{}}`) + `}`, canAsk: true, client: "cli\x01ent"},
		{name: "form capability", params: `{"name":"t",` + meta(`{"elicitation":{"form":{},"url":{}}}`) + `}`, canAsk: true, client: "cli\x01ent"},
		{name: "URL only", params: `{"name":"t",` + meta(`{"elicitation":{"url":{}}}`) + `}`, client: "cli\x01ent"},
		{name: "no elicitation", params: `{"name":"t",` + meta(`{"sampling":{}}`) + `}`, client: "cli\x01ent"},
		{name: "server's own members pass", params: `{"name":"t","requestState":"srv","inputResponses":{"k":{"action":"decline"}}}`,
			upState: `"srv"`, upResponse: "k"},
		{name: "gateway's answer", params: `{"name":"t","arguments":{"b":1,"a":2},"requestState":` + string(oursJSON) +
			`,"inputResponses":{"` + ApprovalInputKey + `":{"action":"accept"},"k":1}}`,
			state: true, answer: `{"action":"accept"}`, upResponse: "k",
			upstream: `{"name":"t","arguments":{"b":1,"a":2},"inputResponses":{"k":1}}`},
		{name: "gateway's state without answer", params: `{"requestState":` + string(oursJSON) + `,"name":"t"}`, state: true, upstream: `{"name":"t"}`},
		{name: "gateway's key without its state passes", params: `{"name":"t","inputResponses":{"` + ApprovalInputKey + `":1}}`, upResponse: ApprovalInputKey},
		{name: "state not a string", params: `{"name":"t","requestState":7}`, wantErr: true},
		{name: "responses not an object", params: `{"name":"t","inputResponses":[1]}`, wantErr: true},
		{name: "response twice", params: `{"name":"t","inputResponses":{"k":1,"k":2}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, pm, err := mrtrRequest(t, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			mc, up, err := parseMRTR(req, pm)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseMRTR(%s) accepted it", tt.params)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			canAsk, client := metaElicitation(mc.meta)
			if canAsk != tt.canAsk || client != tt.client || (mc.state != "") != tt.state || string(mc.answer) != tt.answer ||
				string(mc.upState) != tt.upState {
				t.Errorf("parseMRTR = ask %v client %q state %v answer %s upState %s", canAsk, client, mc.state != "", mc.answer, mc.upState)
			}
			if _, ok := mc.upResponses[tt.upResponse]; tt.upResponse != "" && !ok {
				t.Errorf("server response %q lost: %v", tt.upResponse, mc.upResponses)
			}
			if tt.upstream == "" {
				if up != nil {
					t.Errorf("the call was rewritten: %s", up)
				}
				return
			}
			m, err := jsonrpc.DecodeMessage(up)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(m.(*jsonrpc.Request).Params); got != tt.upstream {
				t.Errorf("upstream params = %s, want %s", got, tt.upstream)
			}
		})
	}
}

// FuzzRequestState checks request states: opening never panics, a state
// that opens under one key never opens under another, and its claims seal
// and open again unchanged.
func FuzzRequestState(f *testing.F) {
	valid, _ := sealState(testStateKey, testClaims())
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(stateTag)
	f.Add(stateTag + "e30.")
	f.Add(signedState(testStateKey, []byte(`{"id":"x","exp":9999999999,"us":"s","ur":{"k":{}}}`)))
	f.Add(signedState(testStateKey, []byte(`{"id":"x","exp":9999999999,"us":{}}`)))
	other := []byte(strings.Repeat("o", 32))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := openState(testStateKey, s, testNow)
		if err != nil {
			return
		}
		if _, err := openState(other, s, testNow); err == nil {
			t.Fatalf("state %q opens under two keys", s)
		}
		again, err := sealState(testStateKey, c)
		if err != nil {
			t.Fatalf("claims %+v of an open state do not seal: %v", c, err)
		}
		if c2, err := openState(testStateKey, again, testNow); err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("claims changed on a round trip: %+v, %+v, %v", c, c2, err)
		}
	})
}

// FuzzParseMRTR checks the multi round-trip members of a call: parsing
// never panics; a call rewritten for upstream keeps its name, arguments
// and _meta byte for byte, and carries neither the gateway's request
// state nor its answer.
func FuzzParseMRTR(f *testing.F) {
	ours, _ := sealState(testStateKey, testClaims())
	f.Add(`{"name":"t","arguments":{}}`)
	f.Add(`{"name":"t","requestState":"srv","inputResponses":{"k":{"action":"decline"}}}`)
	f.Add(`{"name":"t","arguments":{"a":1},"_meta":{"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}},"requestState":"` +
		ours + `","inputResponses":{"` + ApprovalInputKey + `":{"action":"accept","content":{"approve":true}}}}`)
	f.Add(`{"requestState":"` + ours + `","inputResponses":{"k":1,"` + ApprovalInputKey + `":2},"name":"t"}`)
	f.Add(`{"name":"t","inputResponses":{"k":1,"k":2}}`)
	f.Add(`{"name":"t","requestState":7}`)
	f.Fuzz(func(t *testing.T, params string) {
		req, pm, err := mrtrRequest(t, params)
		if err != nil {
			return
		}
		mc, up, err := parseMRTR(req, pm)
		if err != nil || up == nil {
			return
		}
		if mc.state == "" {
			t.Fatalf("a call without the gateway's state was rewritten: %s", up)
		}
		m, err := jsonrpc.DecodeMessage(up)
		if err != nil {
			t.Fatalf("rewritten call %s: %v", up, err)
		}
		npm, err := strictMembers(m.(*jsonrpc.Request).Params, "name", "arguments", memberInputResponses, memberRequestState)
		if err != nil {
			t.Fatalf("rewritten params %s: %v", m.(*jsonrpc.Request).Params, err)
		}
		for _, k := range []string{"name", "arguments", memberMeta} {
			if !bytes.Equal(npm[k], pm[k]) {
				t.Fatalf("member %s changed: %s → %s", k, pm[k], npm[k])
			}
		}
		if _, ok := npm[memberRequestState]; ok {
			t.Fatalf("the gateway's state was forwarded: %s", up)
		}
		if ir, ok := npm[memberInputResponses]; ok {
			resp, err := uniqueMembers(ir)
			if err != nil || resp[ApprovalInputKey] != nil {
				t.Fatalf("the gateway's answer was forwarded: %s (%v)", up, err)
			}
		}
	})
}

// BenchmarkParseMRTR measures what a stateless client's tools/call costs
// the gateway when approvals go through the client: nearly nothing on a
// call (its _meta is read only when the call is held); on a retry, reading
// the answer and rewriting the call.
func BenchmarkParseMRTR(b *testing.B) {
	ours, _ := sealState(testStateKey, testClaims())
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},` +
		`"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}`
	for _, bc := range []struct{ name, params string }{
		{"call", `{"name":"tool_2","arguments":{"id":"1"},` + meta + `}`},
		{"retry", `{"name":"tool_2","arguments":{"id":"1"},` + meta + `,"requestState":"` + ours + `","inputResponses":{"` +
			ApprovalInputKey + `":{"action":"accept","content":{"approve":true}}}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req, pm, err := mrtrRequest(b, bc.params)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := parseMRTR(req, pm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenState measures checking a retry's request state.
func BenchmarkOpenState(b *testing.B) {
	s, err := sealState(testStateKey, testClaims())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := openState(testStateKey, s, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
