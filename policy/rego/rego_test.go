package rego_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/policy/rego"
)

// examplePolicy is the example shipped with the repository.
var examplePolicy = filepath.Join("..", "..", "examples", "policies", "agents.rego")

// testTimeout replaces the default evaluation cap in tests, which run
// under the race detector on loaded machines: only the timeout test
// depends on a cap.
const testTimeout = time.Minute

func newBackend(t testing.TB, opts rego.Options) *rego.Backend {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = testTimeout
	}
	b, err := rego.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func module(src string) map[string]string {
	return map[string]string{"policy.rego": src}
}

// referenceBuiltin is the reference's toy-parser vector, in Rego v1.
const referenceBuiltin = `package agentos

default allow := false

allow if input.tool_name == "file_read"

allow if input.role == "admin"
`

const conditional = `package agentos

import rego.v1

allow if {
	input.tool_name in {"file_read", "search"}
	not input.context.env == "prod"
}

allow if {
	input.agent.role == "admin"
	input.token_count <= 4096
}

allow if {
	some tag in input.args.tags
	tag == "public"
	startswith(input.tool_name, "read_")
}
`

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       rego.Options
		input      map[string]any
		wantAllow  bool
		wantReason string
	}{
		{
			name:       "reference-builtin/file_read-allowed",
			opts:       rego.Options{Modules: module(referenceBuiltin)},
			input:      map[string]any{"tool_name": "file_read"},
			wantAllow:  true,
			wantReason: "rego: data.agentos.allow is true",
		},
		{
			name:       "reference-builtin/file_delete-denied",
			opts:       rego.Options{Modules: module(referenceBuiltin)},
			input:      map[string]any{"tool_name": "file_delete"},
			wantReason: "rego: data.agentos.allow is false",
		},
		{
			name:       "reference-builtin/admin-role-allowed",
			opts:       rego.Options{Modules: module(referenceBuiltin)},
			input:      map[string]any{"tool_name": "x", "role": "admin"},
			wantAllow:  true,
			wantReason: "rego: data.agentos.allow is true",
		},
		{
			name:       "v1-syntax/in-set-outside-prod",
			opts:       rego.Options{Modules: module(conditional)},
			input:      map[string]any{"tool_name": "search", "context": map[string]any{"env": "dev"}},
			wantAllow:  true,
			wantReason: "rego: data.agentos.allow is true",
		},
		{
			name:       "v1-syntax/condition-on-context-denies",
			opts:       rego.Options{Modules: module(conditional)},
			input:      map[string]any{"tool_name": "search", "context": map[string]any{"env": "prod"}},
			wantReason: "rego: data.agentos.allow is undefined",
		},
		{
			name:      "v1-syntax/admin-under-token-budget",
			opts:      rego.Options{Modules: module(conditional)},
			input:     map[string]any{"tool_name": "shell", "agent": map[string]any{"role": "admin"}, "token_count": json.Number("4096")},
			wantAllow: true, wantReason: "rego: data.agentos.allow is true",
		},
		{
			name:       "v1-syntax/admin-over-token-budget",
			opts:       rego.Options{Modules: module(conditional)},
			input:      map[string]any{"tool_name": "shell", "agent": map[string]any{"role": "admin"}, "token_count": 5000},
			wantReason: "rego: data.agentos.allow is undefined",
		},
		{
			name:       "v1-syntax/some-in-list",
			opts:       rego.Options{Modules: module(conditional)},
			input:      map[string]any{"tool_name": "read_doc", "args": map[string]any{"tags": []any{"x", "public"}}},
			wantAllow:  true,
			wantReason: "rego: data.agentos.allow is true",
		},
		{
			name:       "undefined-denies",
			opts:       rego.Options{Modules: module("package agentos\n\nallow if input.never\n")},
			input:      map[string]any{},
			wantReason: "rego: data.agentos.allow is undefined",
		},
		{
			name:       "custom-name-and-query",
			opts:       rego.Options{Name: "opa", Query: "data.team.permit", Modules: module("package team\n\npermit if input.agent_id == \"bot\"\n")},
			input:      map[string]any{"agent_id": "bot"},
			wantAllow:  true,
			wantReason: "opa: data.team.permit is true",
		},
		{
			name: "data-document",
			opts: rego.Options{
				Modules: module("package agentos\n\nallow if input.agent_id in data.trusted\n"),
				Data:    map[string]any{"trusted": []any{"alice", "bob"}},
			},
			input:      map[string]any{"agent_id": "bob"},
			wantAllow:  true,
			wantReason: "rego: data.agentos.allow is true",
		},
		{
			name: "data-document-miss",
			opts: rego.Options{
				Modules: module("package agentos\n\nallow if input.agent_id in data.trusted\n"),
				Data:    map[string]any{"trusted": []any{"alice", "bob"}},
			},
			input:      map[string]any{"agent_id": "mallory"},
			wantReason: "rego: data.agentos.allow is undefined",
		},
		{
			name:       "object/allow-with-reason",
			opts:       rego.Options{Query: "data.agentos.decision", Modules: module("package agentos\n\ndecision := {\"allow\": true, \"reason\": \"reads are fine\"}\n")},
			wantAllow:  true,
			wantReason: "reads are fine",
		},
		{
			name:       "object/deny-with-reason",
			opts:       rego.Options{Query: "data.agentos.decision", Modules: module("package agentos\n\ndecision := {\"allow\": false, \"reason\": sprintf(\"%s may not\", [input.agent_id])}\n")},
			input:      map[string]any{"agent_id": "bot"},
			wantReason: "bot may not",
		},
		{
			name:       "object/no-reason-gets-default",
			opts:       rego.Options{Query: "data.agentos.decision", Modules: module("package agentos\n\ndecision := {\"allow\": false}\n")},
			wantReason: "rego: data.agentos.decision.allow is false",
		},
		{
			name:       "object/extra-fields-ignored",
			opts:       rego.Options{Query: "data.agentos.decision", Modules: module("package agentos\n\ndecision := {\"allow\": true, \"reason\": \"\", \"rule\": \"r1\"}\n")},
			wantAllow:  true,
			wantReason: "rego: data.agentos.decision.allow is true",
		},
		{
			name:       "object/undefined-denies",
			opts:       rego.Options{Query: "data.agentos.decision", Modules: module("package agentos\n\ndecision := {\"allow\": true} if input.x\n")},
			wantReason: "rego: data.agentos.decision is undefined",
		},
		{
			name: "time-now-reads-injected-clock",
			opts: rego.Options{
				Modules: module("package agentos\n\nallow if time.now_ns() == time.parse_rfc3339_ns(\"2030-01-02T03:04:05Z\")\n"),
				Now:     func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) },
			},
			wantAllow:  true,
			wantReason: "rego: data.agentos.allow is true",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, tt.opts)
			allowed, reason, err := b.Decide(t.Context(), tt.input)
			if err != nil {
				t.Fatalf("Decide(%v) error: %v", tt.input, err)
			}
			if allowed != tt.wantAllow || reason != tt.wantReason {
				t.Errorf("Decide(%v) = %v, %q, want %v, %q", tt.input, allowed, reason, tt.wantAllow, tt.wantReason)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.rego")
	if err := os.WriteFile(bad, []byte("package agentos\n\nallow if {\n\tinput.x ==\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts rego.Options
		want []string // substrings of the error, in order of the sorted problems
	}{
		{
			name: "parse-error-located",
			opts: rego.Options{Modules: map[string]string{"a.rego": "package agentos\n\nallow if {\n  input.x ==\n}\n"}},
			want: []string{"a.rego:5:1: rego_parse_error"},
		},
		{
			name: "parse-error-in-file-located",
			opts: rego.Options{Files: []string{bad}},
			want: []string{bad + ":5:1: rego_parse_error"},
		},
		{
			name: "v0-syntax-rejected",
			opts: rego.Options{Modules: map[string]string{"old.rego": "package agentos\n\nallow { input.x == 1 }\n"}},
			want: []string{"old.rego:3:"},
		},
		{
			name: "every-module-reported-sorted",
			opts: rego.Options{Modules: map[string]string{
				"b.rego": "package agentos\n\nallow if {\n",
				"a.rego": "package agentos\nallow if input.x ==\n",
			}},
			want: []string{"a.rego:", "b.rego:"},
		},
		{
			name: "unsafe-variable-located",
			opts: rego.Options{Modules: map[string]string{"u.rego": "package agentos\n\nallow if {\n\ty == 1\n}\n"}},
			want: []string{"u.rego:4:2: rego_unsafe_var_error: var y is unsafe"},
		},
		{
			name: "http-send-forbidden",
			opts: rego.Options{Modules: map[string]string{"net.rego": "package agentos\n\nallow if http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1/\"}).status_code == 200\n"}},
			want: []string{"net.rego:3:", "http.send"},
		},
		{
			name: "dns-lookup-forbidden",
			opts: rego.Options{Modules: map[string]string{"dns.rego": "package agentos\n\nallow if count(net.lookup_ip_addr(\"example.com\")) > 0\n"}},
			want: []string{"dns.rego:3:", "net.lookup_ip_addr"},
		},
		{
			name: "opa-runtime-forbidden",
			opts: rego.Options{Modules: map[string]string{"rt.rego": "package agentos\n\nallow if opa.runtime().env.HOME\n"}},
			want: []string{"rt.rego:3:", "opa.runtime"},
		},
		{
			name: "random-forbidden",
			opts: rego.Options{Modules: map[string]string{"rand.rego": "package agentos\n\nallow if rand.intn(\"k\", 2) == 0\n"}},
			want: []string{"rand.rego:3:", "rand.intn"},
		},
		{
			name: "bad-query-named",
			opts: rego.Options{Query: "data.agentos.allow ==", Modules: module("package agentos\n")},
			want: []string{"1:", "Query: rego_parse_error"},
		},
		{
			name: "query-with-two-expressions",
			opts: rego.Options{Query: "data.agentos.allow; data.agentos.other", Modules: module("package agentos\n")},
			want: []string{"Query: \"data.agentos.allow; data.agentos.other\" has 2 expressions, want 1"},
		},
		{
			name: "negative-timeout",
			opts: rego.Options{Timeout: -time.Second, Modules: module("package agentos\n")},
			want: []string{"Timeout: must not be negative"},
		},
		{
			name: "data-not-json",
			opts: rego.Options{Data: map[string]any{"f": func() {}}, Modules: module("package agentos\n")},
			want: []string{"Data: not JSON-compatible"},
		},
		{
			name: "missing-file",
			opts: rego.Options{Files: []string{filepath.Join(dir, "absent.rego")}},
			want: []string{"absent.rego: Files:"},
		},
		{
			name: "same-module-twice",
			opts: rego.Options{Modules: map[string]string{bad: "package agentos\n"}, Files: []string{bad}},
			want: []string{bad + ": Files: module loaded twice"},
		},
		{
			name: "empty-module",
			opts: rego.Options{Modules: map[string]string{"empty.rego": "# nothing\n"}},
			want: []string{"empty.rego: rego_parse_error: empty module"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := rego.New(tt.opts)
			if err == nil {
				t.Fatalf("New() = %v, want error", b)
			}
			var es policy.Errors
			if !errors.As(err, &es) || len(policy.AsErrors(err)) == 0 {
				t.Fatalf("New() error %T %q, want policy.Errors", err, err)
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("New() error %q, want it to contain %q (in order)", msg, w)
				}
				at += i + len(w)
			}
		})
	}
	t.Run("no-modules", func(t *testing.T) {
		t.Parallel()
		if _, err := rego.New(rego.Options{}); !errors.Is(err, rego.ErrNoModules) {
			t.Errorf("New(Options{}) error = %v, want ErrNoModules", err)
		}
	})
}

// expensive never finishes in practice: 10^10 iterations.
const expensive = `package agentos

allow if {
	count([1 |
		some i in numbers.range(1, 100000)
		some j in numbers.range(1, 100000)
		i == j + 1000000
	]) > 0
}
`

func TestDecideFailsClosed(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		opts    rego.Options
		ctx     context.Context
		input   map[string]any
		wantErr []error
	}{
		{
			name:    "builtin-error-is-strict",
			opts:    rego.Options{Modules: module("package agentos\n\nallow if to_number(input.amount) > 0\n")},
			input:   map[string]any{"amount": "lots"},
			wantErr: []error{rego.ErrEval},
		},
		{
			name:    "conflicting-rules",
			opts:    rego.Options{Modules: module("package agentos\n\nallow := true if input.a\n\nallow := false if input.b\n")},
			input:   map[string]any{"a": true, "b": true},
			wantErr: []error{rego.ErrEval},
		},
		{
			name:    "non-boolean-result",
			opts:    rego.Options{Modules: module("package agentos\n\nallow := \"yes\"\n")},
			wantErr: []error{rego.ErrResult},
		},
		{
			name:    "number-result",
			opts:    rego.Options{Modules: module("package agentos\n\nallow := 1\n")},
			wantErr: []error{rego.ErrResult},
		},
		{
			name:    "several-results",
			opts:    rego.Options{Query: "data.agentos.answers[_]", Modules: module("package agentos\n\nanswers := [true, true]\n")},
			wantErr: []error{rego.ErrResult},
		},
		{
			name:    "object-without-allow",
			opts:    rego.Options{Query: "data.agentos.decision", Modules: module("package agentos\n\ndecision := {\"reason\": \"fine\"}\n")},
			wantErr: []error{rego.ErrResult},
		},
		{
			name:    "object-allow-not-boolean",
			opts:    rego.Options{Query: "data.agentos.decision", Modules: module("package agentos\n\ndecision := {\"allow\": \"true\"}\n")},
			wantErr: []error{rego.ErrResult},
		},
		{
			name:    "object-reason-not-string",
			opts:    rego.Options{Query: "data.agentos.decision", Modules: module("package agentos\n\ndecision := {\"allow\": true, \"reason\": 7}\n")},
			wantErr: []error{rego.ErrResult},
		},
		{
			name:    "context-cancelled",
			opts:    rego.Options{Modules: module("package agentos\n\nallow := true\n")},
			ctx:     cancelled,
			wantErr: []error{rego.ErrEval, context.Canceled},
		},
		{
			name:    "timeout-on-expensive-policy",
			opts:    rego.Options{Timeout: 5 * time.Millisecond, Modules: module(expensive)},
			wantErr: []error{rego.ErrEval, context.DeadlineExceeded},
		},
		{
			name:    "input-unsupported-type",
			opts:    rego.Options{Modules: module("package agentos\n\nallow := true\n")},
			input:   map[string]any{"args": map[string]any{"ch": make(chan int)}},
			wantErr: []error{rego.ErrInput},
		},
		{
			name:    "input-not-finite",
			opts:    rego.Options{Modules: module("package agentos\n\nallow := true\n")},
			input:   map[string]any{"confidence": []any{1.0, func() float64 { var z float64; return 1 / z }()}},
			wantErr: []error{rego.ErrInput},
		},
		{
			name:    "input-bad-json-number",
			opts:    rego.Options{Modules: module("package agentos\n\nallow := true\n")},
			input:   map[string]any{"n": json.Number("12abc")},
			wantErr: []error{rego.ErrInput},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, tt.opts)
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			allowed, reason, err := b.Decide(ctx, tt.input)
			if err == nil || allowed {
				t.Fatalf("Decide(%v) = %v, %q, %v, want deny with error", tt.input, allowed, reason, err)
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("Decide(%v) error = %v, want errors.Is %v", tt.input, err, want)
				}
			}
		})
	}
}

func TestInputErrorNamesPath(t *testing.T) {
	t.Parallel()
	b := newBackend(t, rego.Options{Modules: module("package agentos\n\nallow := true\n")})
	_, _, err := b.Decide(t.Context(), map[string]any{"args": map[string]any{"list": []any{1, struct{}{}}}})
	if want := `input.args.list[1]: unsupported type struct {}`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Decide error = %v, want it to contain %q", err, want)
	}
	deep := map[string]any{}
	cur := deep
	for range 100 {
		next := map[string]any{}
		cur["n"] = next
		cur = next
	}
	if _, _, err := b.Decide(t.Context(), deep); !errors.Is(err, rego.ErrInput) {
		t.Errorf("Decide(100 levels) error = %v, want ErrInput", err)
	}
}

func TestExamplePolicy(t *testing.T) {
	t.Parallel()
	payments := map[string]any{"id": "refunder", "labels": map[string]any{"team": "payments"}}
	sales := map[string]any{"id": "seller", "labels": map[string]any{"team": "sales"}}
	tests := []struct {
		name       string
		input      map[string]any
		wantAllow  bool
		wantReason string
	}{
		{"read-only-tool", map[string]any{"tool_name": "file_read", "agent": sales}, true, `tool "file_read" is read-only`},
		{"refund-by-payments", map[string]any{"tool_name": "refund_payment", "agent": payments, "args": map[string]any{"amount": 120}}, true, "refund within the limit by a payments agent"},
		{"refund-by-sales", map[string]any{"tool_name": "refund_payment", "agent": sales, "args": map[string]any{"amount": 120}}, false, "refund_payment needs an agent labelled team=payments and 0 < amount <= 500"},
		{"refund-over-limit", map[string]any{"tool_name": "refund_payment", "agent": payments, "args": map[string]any{"amount": 501}}, false, "refund_payment needs an agent labelled team=payments and 0 < amount <= 500"},
		{"refund-amount-as-string", map[string]any{"tool_name": "refund_payment", "agent": payments, "args": map[string]any{"amount": "100"}}, false, "refund_payment needs an agent labelled team=payments and 0 < amount <= 500"},
		{"refund-without-labels", map[string]any{"tool_name": "refund_payment", "agent": map[string]any{"id": "x"}}, false, "refund_payment needs an agent labelled team=payments and 0 < amount <= 500"},
		{"delete-prefix", map[string]any{"tool_name": "delete_file", "agent": payments}, false, `tool "delete_file" is destructive and never allowed`},
		{"drop-prefix", map[string]any{"tool_name": "drop_table", "agent": payments}, false, `tool "drop_table" is destructive and never allowed`},
		{"delete-suffix", map[string]any{"tool_name": "record_delete", "agent": payments}, false, `tool "record_delete" is destructive and never allowed`},
		{"unknown-tool", map[string]any{"tool_name": "shell", "agent": payments}, false, `tool "shell" is not allowed by agents.rego`},
		{"no-tool", map[string]any{}, false, "rego: data.agentos.decision is undefined"},
	}
	allowOnly := newBackend(t, rego.Options{Files: []string{examplePolicy}})
	withReason := newBackend(t, rego.Options{Files: []string{examplePolicy}, Query: "data.agentos.decision"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			allowed, reason, err := withReason.Decide(t.Context(), tt.input)
			if err != nil || allowed != tt.wantAllow || reason != tt.wantReason {
				t.Errorf("Decide(%v) = %v, %q, %v, want %v, %q", tt.input, allowed, reason, err, tt.wantAllow, tt.wantReason)
			}
			allowed, _, err = allowOnly.Decide(t.Context(), tt.input)
			if err != nil || allowed != tt.wantAllow {
				t.Errorf("Decide(%v) with data.agentos.allow = %v, %v, want %v", tt.input, allowed, err, tt.wantAllow)
			}
		})
	}
}

func TestDecideConcurrent(t *testing.T) {
	t.Parallel()
	b := newBackend(t, rego.Options{Files: []string{examplePolicy}, Query: "data.agentos.decision"})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				tool := "file_read"
				if (g+i)%2 == 1 {
					tool = "delete_file"
				}
				allowed, _, err := b.Decide(context.Background(), map[string]any{"tool_name": tool})
				if err != nil || allowed != (tool == "file_read") {
					errs <- fmt.Errorf("Decide(%s) = %v, %v", tool, allowed, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDataIsCopied(t *testing.T) {
	t.Parallel()
	data := map[string]any{"trusted": []any{"alice"}}
	b := newBackend(t, rego.Options{Modules: module("package agentos\n\nallow if input.agent_id in data.trusted\n"), Data: data})
	data["trusted"] = []any{"mallory"}
	if allowed, _, err := b.Decide(t.Context(), map[string]any{"agent_id": "mallory"}); allowed || err != nil {
		t.Errorf("Decide(mallory) after mutating Data = %v, %v, want deny", allowed, err)
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	if got := newBackend(t, rego.Options{Modules: module("package agentos\n")}).Name(); got != rego.DefaultName {
		t.Errorf("Name() = %q, want %q", got, rego.DefaultName)
	}
	if got := newBackend(t, rego.Options{Name: "opa", Modules: module("package agentos\n")}).Name(); got != "opa" {
		t.Errorf("Name() = %q, want %q", got, "opa")
	}
}
