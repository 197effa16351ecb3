package mcp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/audit"
)

// e2eScript copies testdata/e2e/name into the npm prefix (so that node
// resolves its imports from the prefix's node_modules) under a name
// carrying a hash of its content, written through a rename so that
// concurrent test processes never run a half-written script. It returns
// the copy's path.
func e2eScript(t *testing.T, prefix, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "e2e", name))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(src)
	path := filepath.Join(prefix, "e2e-"+hex.EncodeToString(h[:6])+"-"+name)
	if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, src) {
		return path
	}
	f, err := os.CreateTemp(prefix, ".script-*")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := f.Write(src)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		t.Fatal(werr)
	}
	return path
}

// peerRun is what runPeer gives back.
type peerRun struct {
	out    []byte // the JSON the peer wrote
	stderr string // the peer's stderr, for failure messages
	runErr error  // what Session.Run returned
}

// runPeer runs a gateway session between the client script peer (node,
// speaking over its stdin and stdout) and the server argv (a child
// process), until the peer exits; it returns what the peer wrote to its
// output file. Everything is bounded by timeout.
func runPeer(t *testing.T, g *Gateway, server string, argv []string, peer string, timeout time.Duration) peerRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	child, err := StartChild(ChildOptions{Argv: argv, Stderr: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Stop(context.Background())
	s, err := g.NewSession(SessionOptions{Server: server})
	if err != nil {
		t.Fatal(err)
	}
	// Pipes of our own, not exec's: the session reads the peer's stdout
	// until EOF, which exec.Cmd.Wait would race with.
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(t.TempDir(), "peer.json")
	cmd := exec.CommandContext(ctx, "node", peer, outFile)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, NewStreamConn(outR, inW, StreamOptions{}), child.Conn()) }()
	werr := cmd.Wait()
	// The peer exited: its stdout is at EOF, so the session ends on the
	// client side.
	r := peerRun{stderr: stderr.String(), runErr: <-done}
	if werr != nil {
		b, _ := os.ReadFile(outFile)
		t.Fatalf("peer: %v (context: %v)\noutput: %s\nstderr: %s", werr, ctx.Err(), b, r.stderr)
	}
	r.out, err = os.ReadFile(outFile)
	if err != nil {
		t.Fatalf("peer output: %v\nstderr: %s", err, r.stderr)
	}
	return r
}

// peerResult is a tool result as the TypeScript client reports it.
type peerResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	IsError bool `json:"isError"`
}

func (r peerResult) text() string {
	var b strings.Builder
	for _, c := range r.Content {
		b.WriteString(c.Text)
	}
	return b.String()
}

// peerAttempt is a call that may have been refused.
type peerAttempt struct {
	Result *peerResult `json:"result"`
	Error  *struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// peerOutput is what peer.mjs writes.
type peerOutput struct {
	Steps    []string   `json:"steps"`
	Failure  string     `json:"failure"`
	Before   []string   `json:"before"`
	After    []string   `json:"after"`
	Add      peerResult `json:"add"`
	Count    peerResult `json:"count"`
	Progress []struct {
		Progress float64 `json:"progress"`
		Total    float64 `json:"total"`
		Message  string  `json:"message"`
	} `json:"progress"`
	Sampling *struct {
		Messages []struct {
			Role    string `json:"role"`
			Content struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"messages"`
		SystemPrompt string `json:"systemPrompt"`
	} `json:"sampling"`
	Elicitation *struct {
		Message         string         `json:"message"`
		RequestedSchema map[string]any `json:"requestedSchema"`
	} `json:"elicitation"`
	AskModel peerAttempt `json:"askModel"`
	AskUser  peerAttempt `json:"askUser"`
	Toggle   peerResult  `json:"toggle"`
	Pulled   peerAttempt `json:"pulled"`
	// PulledUnlisted is the call of the changed tool made before listing
	// the tools again.
	PulledUnlisted peerAttempt `json:"pulledUnlisted"`
	Clean          peerAttempt `json:"clean"`
}

// TestE2ETypeScriptPeers runs a TypeScript-SDK client and a
// TypeScript-SDK server (both real node processes) through the gateway:
// progress passes through, sampling and elicitation requests reach the
// client and the answers reach the server (the sampling request scanned),
// and a rug pull announced with list_changed hides the changed tool and
// denies its calls.
func TestE2ETypeScriptPeers(t *testing.T) {
	prefix := e2ePrefix(t)
	server := e2eScript(t, prefix, "server.mjs")
	peer := e2eScript(t, prefix, "peer.mjs")
	g, log := e2eGateway(t)
	run := runPeer(t, g, "ts-server", []string{"node", server}, peer, 60*time.Second)
	var out peerOutput
	if err := json.Unmarshal(run.out, &out); err != nil {
		t.Fatalf("peer output %s: %v", run.out, err)
	}
	if out.Failure != "" || !slices.Contains(out.Steps, "done") {
		t.Fatalf("peer stopped after %v: %s\nstderr: %s", out.Steps, out.Failure, run.stderr)
	}
	var end *EndError
	if !errors.As(run.runErr, &end) || end.Side != SideClient {
		t.Errorf("session ended with %v, want the client side", run.runErr)
	}
	all := []string{"add", "get_weather", "toggle", "count", "ask_model", "ask_user"}
	if !slices.Equal(out.Before, all) {
		t.Errorf("tools before the rug pull = %v, want %v", out.Before, all)
	}
	if got := out.Add.text(); got != "42" {
		t.Errorf("add = %q, want 42", got)
	}

	t.Run("progress passes through", func(t *testing.T) {
		if got := out.Count.text(); got != "counted to 3" {
			t.Errorf("count = %q", got)
		}
		if len(out.Progress) != 3 {
			t.Fatalf("progress notifications = %+v, want 3", out.Progress)
		}
		for i, p := range out.Progress {
			if p.Progress != float64(i+1) || p.Total != 3 || p.Message != fmt.Sprintf("step %d", i+1) {
				t.Errorf("progress %d = %+v", i, p)
			}
		}
	})

	t.Run("sampling scanned, answer reaches the server", func(t *testing.T) {
		if out.Sampling == nil || len(out.Sampling.Messages) != 1 {
			t.Fatalf("the client got no sampling request: %+v", out.Sampling)
		}
		got := out.Sampling.Messages[0].Content.Text
		if strings.Contains(got, "AKIAIOSFODNN7EXAMPLE") || strings.Contains(strings.ToLower(got), "ignore previous instructions") {
			t.Errorf("planted content reached the client: %q", got)
		}
		if !strings.Contains(got, "Summarise the ticket.") || !strings.Contains(got, "[REDACTED") {
			t.Errorf("sampling request not sanitized as expected: %q", got)
		}
		if out.Sampling.SystemPrompt != "You are a helpful assistant." {
			t.Errorf("clean system prompt changed: %q", out.Sampling.SystemPrompt)
		}
		if out.AskModel.Result == nil {
			t.Fatalf("ask_model refused: %+v", out.AskModel.Error)
		}
		var answer struct {
			Model   string `json:"model"`
			Role    string `json:"role"`
			Content struct {
				Text string `json:"text"`
			} `json:"content"`
		}
		if err := json.Unmarshal([]byte(out.AskModel.Result.text()), &answer); err != nil {
			t.Fatalf("ask_model result %q: %v", out.AskModel.Result.text(), err)
		}
		if answer.Model != "e2e-model" || answer.Role != "assistant" || answer.Content.Text != "the ticket asks for a refund" {
			t.Errorf("the server got %+v, not the client's answer", answer)
		}
		ev := findEvent(log, func(e audit.Event) bool {
			return e.Kind == audit.KindMCPMessage && e.Tool == methodSampling && e.Decision.Action == "sanitize"
		})
		if ev == nil {
			t.Error("no audit event for the sanitized sampling request")
		} else if strings.Contains(string(ev.Args), "AKIAIOSFODNN7EXAMPLE") {
			t.Errorf("the audit event holds the planted key: %s", ev.Args)
		}
	})

	t.Run("elicitation round trip", func(t *testing.T) {
		if out.Elicitation == nil || out.Elicitation.Message != "Which colour do you like best?" {
			t.Fatalf("the client got elicitation %+v", out.Elicitation)
		}
		if props, _ := out.Elicitation.RequestedSchema["properties"].(map[string]any); props["colour"] == nil {
			t.Errorf("the elicitation's schema lost its field: %v", out.Elicitation.RequestedSchema)
		}
		if out.AskUser.Result == nil {
			t.Fatalf("ask_user refused: %+v", out.AskUser.Error)
		}
		var answer struct {
			Action  string            `json:"action"`
			Content map[string]string `json:"content"`
		}
		if err := json.Unmarshal([]byte(out.AskUser.Result.text()), &answer); err != nil {
			t.Fatalf("ask_user result %q: %v", out.AskUser.Result.text(), err)
		}
		if answer.Action != "accept" || answer.Content["colour"] != "teal" {
			t.Errorf("the server got %+v, not the client's answer", answer)
		}
	})

	t.Run("rug pull after list_changed", func(t *testing.T) {
		if out.Toggle.text() != "toggled" {
			t.Fatalf("toggle = %+v", out.Toggle)
		}
		if want := without(all, "get_weather"); !slices.Equal(out.After, want) {
			t.Errorf("tools after the rug pull = %v, want %v", out.After, want)
		}
		for _, c := range []struct {
			when string
			a    peerAttempt
		}{{"before listing again", out.PulledUnlisted}, {"after listing again", out.Pulled}} {
			e := c.a.Error
			if e == nil || e.Code == nil || *e.Code != CodeDenied {
				t.Errorf("call of the changed tool %s = %+v, want a -32000 denial", c.when, c.a)
				continue
			}
			var data struct{ Stage, Reason string }
			if err := json.Unmarshal(e.Data, &data); err != nil || data.Stage != StagePin {
				t.Errorf("denial %s: data = %s (%v), want stage %q", c.when, e.Data, err, StagePin)
			}
		}
		if e := out.Pulled.Error; e != nil && !strings.Contains(string(e.Data), "get_weather") {
			t.Errorf("denial after listing again does not name the tool: %s", e.Data)
		}
		if out.Clean.Result == nil || out.Clean.Result.text() != "2" {
			t.Errorf("an unchanged tool after the rug pull = %+v", out.Clean)
		}
		if findEvent(log, func(e audit.Event) bool {
			return e.Kind == audit.KindMCPMessage && e.Tool == "get_weather" && e.Decision.Rule == "rug_pull" && !e.Decision.Allowed
		}) == nil {
			t.Error("no rug_pull audit event for get_weather")
		}
		if findEvent(log, func(e audit.Event) bool {
			return e.Kind == audit.KindMCPMessage && e.Tool == "get_weather" && strings.Contains(string(e.Args), `"method":"tools/call"`) &&
				strings.Contains(string(e.Args), `"stage":"pin"`)
		}) == nil {
			t.Error("the denied call of get_weather was not audited")
		}
		pin, err := g.Pins().Get("ts-server", "get_weather")
		if err != nil || pin.Hash == "" || pin.PendingHash == "" || pin.PendingHash == pin.Hash ||
			!strings.Contains(string(pin.PendingDefinition), "id_rsa") {
			t.Errorf("pin of get_weather = %+v, %v; want the approved definition and the changed one pending", pin, err)
		}
	})
}

// findEvent returns the first audit event that matches, or nil.
func findEvent(log *audit.Memory, match func(audit.Event) bool) *audit.Event {
	for _, ev := range log.Events(0, uint64(log.Len())) {
		if match(ev) {
			return &ev
		}
	}
	return nil
}
