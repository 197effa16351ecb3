package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentos/agentos/approval"
)

// agentosBuild is the agentos binary built once per test process.
var agentosBuild struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// buildAgentos returns the agentos binary, built once per test process.
// Under go test it is built next to the test binary, in the work directory
// go test removes afterwards; a test binary run elsewhere builds it into
// the test's temporary directory each time. It skips the test when the go
// command is missing.
func buildAgentos(t testing.TB) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("building the agentos binary needs the go command: %v", err)
	}
	build := func(bin string) (string, []byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/agentos/agentos/cmd/agentos").CombinedOutput()
		return bin, out, err
	}
	exe, err := os.Executable()
	if err != nil || !strings.HasPrefix(exe, os.TempDir()+string(filepath.Separator)) {
		bin, out, err := build(filepath.Join(t.TempDir(), "agentos"))
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		return bin
	}
	agentosBuild.once.Do(func() {
		agentosBuild.path, agentosBuild.out, agentosBuild.err = build(filepath.Join(filepath.Dir(exe), "agentos-e2e"))
	})
	if agentosBuild.err != nil {
		t.Fatalf("go build: %v\n%s", agentosBuild.err, agentosBuild.out)
	}
	return agentosBuild.path
}

// lockedBuffer is a bytes.Buffer safe for a process's output copier and
// the test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// approvalPolicy asks a person before every write_file.
const approvalPolicy = `version: "1.0"
name: e2e-approval
defaults:
  action: allow
rules:
  - name: ask-before-writing
    condition: {field: tool_name, operator: eq, value: write_file}
    action: require_approval
    message: writes need a person
`

// webhookSecret signs the approval webhook of the approval test.
const webhookSecret = "e2e-webhook-secret"

// TestE2EApprovalServerFilesystem runs the real agentos binary (mcp wrap
// --approve-webhook) in front of server-filesystem: a write_file call
// waits for a person; a vote cast with `agentos mcp approve` lets it write
// the file, a denial leaves no file, and every step is in the audit log.
func TestE2EApprovalServerFilesystem(t *testing.T) {
	prefix := e2ePrefix(t)
	agentos := buildAgentos(t)
	root, data := t.TempDir(), t.TempDir()
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte(approvalPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The webhook: verify each post's signature and pass the event on.
	events := make(chan approval.Event, 64)
	badHook := make(chan error, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = approval.VerifyWebhook([]byte(webhookSecret), r.Header, body)
		}
		var e approval.Event
		if err == nil {
			err = json.Unmarshal(body, &e)
		}
		if err != nil {
			select {
			case badHook <- err:
			default:
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		events <- e
	}))
	defer hook.Close()

	fsServer := filepath.Join(prefix, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
	wrap := exec.CommandContext(ctx, agentos, "mcp", "wrap", "--data-dir", data, "--policy", pol,
		"--server-name", "filesystem", "--approve-webhook", hook.URL, "--approval-timeout", "1m",
		"--", "node", fsServer, root)
	wrap.Env = append(os.Environ(), "AGENTOS_WEBHOOK_SECRET="+webhookSecret)
	var wrapErr lockedBuffer
	wrap.Stderr = &wrapErr
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil).
		Connect(ctx, &sdk.CommandTransport{Command: wrap}, nil)
	if err != nil {
		t.Fatalf("connect through mcp wrap: %v\n%s", err, wrapErr.String())
	}
	defer cs.Close()

	// agentos runs the approve command and returns its stdout.
	agentosCmd := func(t *testing.T, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, agentos, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("agentos %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}
	// next waits for the webhook's next event of a kind.
	next := func(t *testing.T, kind approval.EventKind) approval.Event {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Kind == kind {
					return e
				}
			case err := <-badHook:
				t.Fatalf("webhook post refused: %v", err)
			case <-ctx.Done():
				t.Fatalf("no %s webhook event: %v\n%s", kind, ctx.Err(), wrapErr.String())
			}
		}
	}

	for _, tc := range []struct {
		name    string
		file    string
		vote    []string
		approve bool
	}{
		{"approved call writes the file", "approved.txt", []string{"--approver", "alice", "--comment", "fine"}, true},
		{"denied call writes nothing", "denied.txt", []string{"--approver", "alice", "--deny"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(root, tc.file)
			type callResult struct {
				r   *sdk.CallToolResult
				err error
			}
			done := make(chan callResult, 1)
			go func() {
				r, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "write_file",
					Arguments: map[string]any{"path": path, "content": "written after review"}})
				done <- callResult{r, err}
			}()
			sub := next(t, approval.EventSubmitted)
			if sub.Tool != "write_file" || sub.Rule != "ask-before-writing" || sub.Status != approval.Pending {
				t.Fatalf("submitted event = %+v", sub)
			}
			// The webhook tells what the call would do.
			if !strings.Contains(string(sub.ArgsPreview), `"content":"written after review"`) {
				t.Errorf("submitted event args_preview = %s, want the call's arguments", sub.ArgsPreview)
			}
			// The call is held: no answer and no file while the vote is
			// outstanding.
			select {
			case r := <-done:
				t.Fatalf("the call returned before any vote: %+v, %v", r.r, r.err)
			default:
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s exists before the vote: %v", tc.file, err)
			}
			list := agentosCmd(t, "mcp", "approve", "--data-dir", data)
			if !strings.Contains(list, sub.RequestID) || !strings.Contains(list, "write_file") ||
				!strings.Contains(list, `"content":"written after review"`) {
				t.Fatalf("agentos mcp approve lists %q, want request %s", list, sub.RequestID)
			}
			agentosCmd(t, append([]string{"mcp", "approve", sub.RequestID, "--data-dir", data}, tc.vote...)...)
			voted := next(t, approval.EventVoted)
			if voted.RequestID != sub.RequestID || voted.Approver != "alice" {
				t.Errorf("voted event = %+v", voted)
			}
			var r callResult
			select {
			case r = <-done:
			case <-ctx.Done():
				t.Fatalf("the call did not return after the vote\n%s", wrapErr.String())
			}
			b, ferr := os.ReadFile(path)
			if tc.approve {
				if r.err != nil || r.r.IsError {
					t.Fatalf("approved call = %+v, %v", r.r, r.err)
				}
				if ferr != nil || string(b) != "written after review" {
					t.Errorf("approved write left %q, %v", b, ferr)
				}
				return
			}
			var werr *jsonrpc.Error
			if !errors.As(r.err, &werr) || werr.Code != CodeDenied || !strings.Contains(string(werr.Data), `"stage":"approval"`) {
				t.Errorf("denied call = %+v, %v; want a -32000 denial at stage approval", r.r, r.err)
			}
			if !errors.Is(ferr, os.ErrNotExist) {
				t.Errorf("denied write left a file: %q, %v", b, ferr)
			}
		})
	}
	// Closing the client closes wrap's stdin and waits for it to exit.
	if err := cs.Close(); err != nil {
		t.Logf("close: %v", err)
	}

	// The audit log of the data directory holds both decisions and every
	// approval step.
	var evs []struct {
		Kind string `json:"kind"`
		Args struct {
			Step     string `json:"step"`
			Approver string `json:"approver"`
		} `json:"args"`
		Decision struct {
			Allowed bool   `json:"allowed"`
			Rule    string `json:"rule"`
		} `json:"decision"`
	}
	out := agentosCmd(t, "audit", "query", "--data-dir", data, "--tool", "write_file", "--limit", "0", "--json")
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatalf("audit query output %q: %v", out, err)
	}
	for _, c := range []struct {
		what                 string
		kind, step, approver string
		allowed              bool
		want                 int
	}{
		{"submitted approval requests", "approval", "submitted", "", false, 2},
		{"approving votes by alice", "approval", "voted", "alice", true, 1},
		{"denying votes by alice", "approval", "voted", "alice", false, 1},
		{"approvals used by their call", "approval", "consumed", "", true, 1},
		{"allowed write_file calls", "tool_call", "", "", true, 1},
		{"denied write_file calls", "tool_call", "", "", false, 1},
	} {
		n := 0
		for _, e := range evs {
			if e.Kind == c.kind && e.Args.Step == c.step && e.Args.Approver == c.approver && e.Decision.Allowed == c.allowed &&
				e.Decision.Rule == "ask-before-writing" {
				n++
			}
		}
		if n != c.want {
			t.Errorf("audit log: %d %s, want %d\n%s", n, c.what, c.want, out)
		}
	}
}
