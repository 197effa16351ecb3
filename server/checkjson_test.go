package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// slowDecodeCheck decodes body as decodeBytes does without the fast path.
func slowDecodeCheck(body []byte) (CheckRequest, error) {
	var req CheckRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return req, err
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) != 0 {
		return req, errors.New("trailing data after the JSON value")
	}
	return req, nil
}

// checkFastDecode fails unless the fast decoder either declines body
// (leaving the request untouched) or decodes it exactly as encoding/json.
func checkFastDecode(t *testing.T, body []byte) (accepted bool) {
	t.Helper()
	sentinel := CheckRequest{AgentID: "untouched"}
	got := sentinel
	if !got.decodeFast(body) {
		if !reflect.DeepEqual(got, sentinel) {
			t.Errorf("decodeFast(%q) declined but changed the request to %+v", body, got)
		}
		return false
	}
	want, err := slowDecodeCheck(body)
	if err != nil {
		t.Errorf("decodeFast(%q) accepted a body encoding/json rejects: %v", body, err)
		return true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decodeFast(%q)\n got %#v\nwant %#v", body, got, want)
	}
	return true
}

func TestCheckRequestDecodeFast(t *testing.T) {
	tests := []struct {
		body   string
		accept bool
	}{
		{checkBody, true},
		{` {"agent_id":"a1","action":"search"} `, true},
		{"{\n\t\"agent_id\" : \"a1\" ,\r\n \"action\":\"x\"}\n", true},
		{`{}`, true},
		{`{"agent_id":"a1","action":"read","target":"/tmp/x","approval_id":"ap-1","args":{}}`, true},
		{`{"agent_id":"a1","action":"q","args":{"n":-12.5e+3,"z":0,"b":true,"f":false,"nil":null,"s":"héllo","a":[1,[],{},["x"]],"o":{"k":{"k":"v"}}}}`, true},
		{`{"agent_id":"a1","action":"q","args":{"k":1,"k":2}}`, true},
		// Declined: encoding/json decides (and words the error).
		{`{"agent_id":"a1","agent_id":"a2"}`, false},
		{`{"AGENT_ID":"a1"}`, false},
		{`{"agent_id":"a\"1"}`, false},
		{`{"agent_id":"a\u00e91"}`, false},
		{"{\"agent_id\":\"a\xff\"}", false},
		{"{\"agent_id\":\"a\x01\"}", false},
		{`{"agent_id":null}`, false},
		{`{"agent_id":1}`, false},
		{`{"args":null}`, false},
		{`{"args":[1]}`, false},
		{`{"args":"x"}`, false},
		{`{"args":{"n":01}}`, false},
		{`{"args":{"n":1.}}`, false},
		{`{"args":{"n":-}}`, false},
		{`{"args":{"n":1e}}`, false},
		{`{"args":{"n":tru}}`, false},
		{`{"unknown":"x"}`, false},
		{`{"agent_id":"a1",}`, false},
		{`{"agent_id":"a1"} x`, false},
		{`{"agent_id":"a1"}{}`, false},
		{`[]`, false},
		{`{"agent_id":"a1"`, false},
		{`{"args":{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}`, false},
	}
	for _, tt := range tests {
		if got := checkFastDecode(t, []byte(tt.body)); got != tt.accept {
			t.Errorf("decodeFast(%s) accepted=%v, want %v", tt.body, got, tt.accept)
		}
	}
}

// TestDecodeBytesFastPathErrors checks that bodies the fast path declines
// still get encoding/json's errors.
func TestDecodeBytesFastPathErrors(t *testing.T) {
	for _, body := range []string{`{"agent_id":"a1","bogus":1}`, `{"agent_id":1}`, `{"agent_id":"a1"} trailing`} {
		var req CheckRequest
		err := decodeBytes([]byte(body), &req, false)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("decodeBytes(%s) = %v, want a *FieldError", body, err)
		}
	}
}

func FuzzCheckRequestDecodeFast(f *testing.F) {
	f.Add([]byte(checkBody))
	f.Add([]byte(`{"agent_id":"a1","action":"q","args":{"n":-12.5e+3,"a":[1,[],{},["x",null,true]],"o":{"k":"v","k":"w"}}}`))
	f.Add([]byte(`{"agent_id":"a1","action":"read","target":"/x","approval_id":"ap"}`))
	f.Add([]byte(`{"Agent_id":"a1","action":"\u0041"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastDecode(t, body)
	})
}

func BenchmarkDecodeCheckRequest(b *testing.B) {
	body := []byte(checkBody)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req CheckRequest
			if err := decodeBytes(body, &req, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := slowDecodeCheck(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// checkResponseEncoding fails unless appendJSON encodes r exactly as
// json.Encoder does, or declines it.
func checkResponseEncoding(t *testing.T, r *CheckResponse) {
	t.Helper()
	var want bytes.Buffer
	if err := json.NewEncoder(&want).Encode(r); err != nil {
		t.Fatal(err)
	}
	got, ok := r.appendJSON([]byte("x"))
	if !ok {
		if string(got) != "x" {
			t.Errorf("appendJSON declined but wrote %q", got)
		}
		if r.Approval == nil && r.RetryAfterSeconds == 0 {
			t.Errorf("appendJSON declined the plain answer %+v", r)
		}
		return
	}
	if !bytes.Equal(got[1:], want.Bytes()) {
		t.Errorf("appendJSON(%+v)\n got %s\nwant %s", r, got[1:], want.Bytes())
	}
}

func TestCheckResponseAppendJSON(t *testing.T) {
	for _, r := range []CheckResponse{
		{Allowed: true, AgentID: "a1", Action: "search"},
		{AgentID: "a1", Action: "rm", Decision: "deny", Rule: "no-rm", Policy: "bench", Reason: "<no> & \"never\"\n",
			PolicyVersion: "abc123"},
		{Allowed: true, AgentID: "a\u2028\u2029", Action: "x\x00\x1f\x7f\b\f\t\r\\", Reason: "héllo \xff\xfe 世界"},
		{AgentID: "a1", Action: "pay", Approval: &CheckApproval{ID: "ap-1", Status: "pending", Quorum: 1}},
		{AgentID: "a1", Action: "search", RetryAfterSeconds: 1.5},
	} {
		checkResponseEncoding(t, &r)
	}
}

func FuzzCheckResponseAppendJSON(f *testing.F) {
	f.Add(true, "a1", "search", "allow", "r", "p", "ok <&>", "v1")
	f.Add(false, "\xff", "\u2028", "", "", "", "\x00", "")
	f.Fuzz(func(t *testing.T, allowed bool, agent, action, decision, rule, policy, reason, version string) {
		checkResponseEncoding(t, &CheckResponse{Allowed: allowed, AgentID: agent, Action: action, Decision: decision,
			Rule: rule, Policy: policy, Reason: reason, PolicyVersion: version})
	})
}
