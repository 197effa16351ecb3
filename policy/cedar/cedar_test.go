package cedar_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/policy/cedar"
)

// examplePolicy is the example shipped with the repository.
var examplePolicy = filepath.Join("..", "..", "examples", "policies", "agents.cedar")

func newBackend(t testing.TB, opts cedar.Options) *cedar.Backend {
	t.Helper()
	b, err := cedar.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// referenceBuiltin is the reference's built-in matcher vector.
const referenceBuiltin = `permit (principal, action == Action::"ReadData", resource);
forbid (principal, action == Action::"DeleteFile", resource);
`

// conditional has a catch-all permit and conditional forbids, which the
// reference's built-in matcher got wrong by ignoring when/unless.
const conditional = `@id("allow-all")
permit (principal, action, resource);

@id("no-deletes-in-prod")
forbid (principal, action == Action::"DeleteFile", resource)
when { context has env && context.env == "prod" };

@id("writes-need-confidence")
forbid (principal, action == Action::"WriteFile", resource)
unless { context has confidence && context.confidence.greaterThanOrEqual(decimal("0.8")) };

@id("bot-no-shell")
forbid (principal == Agent::"bot", action == Action::"RunShell", resource);

@id("no-secrets")
forbid (principal, action, resource == Resource::"secrets");

@id("tagged")
forbid (principal, action == Action::"Publish", resource)
when { context has args && context.args has tags && context.args.tags.contains("internal") };
`

const withEntities = `@id("admins-anything")
permit (principal in Group::"admins", action, resource);

@id("readers-read")
permit (principal, action == Action::"FileRead", resource)
when { principal has clearance && principal.clearance >= 2 };
`

const entitiesJSON = `[
  {"uid": {"type": "Agent", "id": "root-bot"}, "attrs": {}, "parents": [{"type": "Group", "id": "admins"}]},
  {"uid": {"type": "Agent", "id": "reader"}, "attrs": {"clearance": 2}, "parents": []},
  {"uid": {"type": "Group", "id": "admins"}, "attrs": {}, "parents": []}
]`

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       cedar.Options
		input      map[string]any
		wantAllow  bool
		wantReason string
	}{
		{
			name:       "reference-builtin/permit-matched",
			opts:       cedar.Options{Policies: referenceBuiltin},
			input:      map[string]any{"tool_name": "read_data"},
			wantAllow:  true,
			wantReason: "cedar: allowed by permit policy policy0 (1:1)",
		},
		{
			name:       "reference-builtin/forbid-matched",
			opts:       cedar.Options{Policies: referenceBuiltin},
			input:      map[string]any{"tool_name": "delete_file"},
			wantReason: "cedar: denied by forbid policy policy1 (2:1)",
		},
		{
			name:       "reference-builtin/no-permit",
			opts:       cedar.Options{Policies: referenceBuiltin},
			input:      map[string]any{"tool_name": "write_file"},
			wantReason: "cedar: no permit policy matched (default deny)",
		},
		{
			// Deviation from the reference's built-in matcher, which
			// ignored when and allowed this.
			name:       "deviation:when-honoured/forbid-when-prod",
			opts:       cedar.Options{Policies: conditional},
			input:      map[string]any{"tool_name": "delete_file", "env": "prod"},
			wantReason: "cedar: denied by forbid policy no-deletes-in-prod (4:1)",
		},
		{
			name:       "deviation:when-honoured/forbid-when-not-prod",
			opts:       cedar.Options{Policies: conditional},
			input:      map[string]any{"tool_name": "delete_file", "env": "dev"},
			wantAllow:  true,
			wantReason: "cedar: allowed by permit policy allow-all (1:1)",
		},
		{
			name:       "unless-decimal-below",
			opts:       cedar.Options{Policies: conditional},
			input:      map[string]any{"tool_name": "write_file", "confidence": 0.5},
			wantReason: "cedar: denied by forbid policy writes-need-confidence (8:1)",
		},
		{
			name:       "unless-decimal-at-threshold",
			opts:       cedar.Options{Policies: conditional},
			input:      map[string]any{"tool_name": "write_file", "confidence": 0.8},
			wantAllow:  true,
			wantReason: "cedar: allowed by permit policy allow-all (1:1)",
		},
		{
			name:       "unless-absent-attribute",
			opts:       cedar.Options{Policies: conditional},
			input:      map[string]any{"tool_name": "write_file"},
			wantReason: "cedar: denied by forbid policy writes-need-confidence (8:1)",
		},
		{
			name:       "principal-mapping-matches",
			opts:       cedar.Options{Policies: conditional},
			input:      map[string]any{"tool_name": "run_shell", "agent_id": "bot"},
			wantReason: "cedar: denied by forbid policy bot-no-shell (12:1)",
		},
		{
			name:       "principal-mapping-other-agent",
			opts:       cedar.Options{Policies: conditional},
			input:      map[string]any{"tool_name": "run_shell", "agent_id": "bot2"},
			wantAllow:  true,
			wantReason: "cedar: allowed by permit policy allow-all (1:1)",
		},
		{
			name:       "resource-mapping",
			opts:       cedar.Options{Policies: conditional},
			input:      map[string]any{"tool_name": "file_read", "resource": "secrets"},
			wantReason: "cedar: denied by forbid policy no-secrets (15:1)",
		},
		{
			name:       "set-contains",
			opts:       cedar.Options{Policies: conditional},
			input:      map[string]any{"tool_name": "publish", "args": map[string]any{"tags": []any{"x", "internal"}}},
			wantReason: "cedar: denied by forbid policy tagged (18:1)",
		},
		{
			name:       "entities-group-membership",
			opts:       cedar.Options{Policies: withEntities, Entities: []byte(entitiesJSON)},
			input:      map[string]any{"tool_name": "drop_table", "agent_id": "root-bot"},
			wantAllow:  true,
			wantReason: "cedar: allowed by permit policy admins-anything (1:1)",
		},
		{
			name:       "entities-attribute",
			opts:       cedar.Options{Policies: withEntities, Entities: []byte(entitiesJSON)},
			input:      map[string]any{"tool_name": "file_read", "agent_id": "reader"},
			wantAllow:  true,
			wantReason: "cedar: allowed by permit policy readers-read (4:1)",
		},
		{
			name:       "entities-unknown-principal",
			opts:       cedar.Options{Policies: withEntities, Entities: []byte(entitiesJSON)},
			input:      map[string]any{"tool_name": "file_read", "agent_id": "stranger"},
			wantReason: "cedar: no permit policy matched (default deny)",
		},
		{
			name:       "several-permits-named",
			opts:       cedar.Options{Name: "authz", Policies: "permit (principal, action, resource);\n@id(\"also\")\npermit (principal, action, resource);\n"},
			wantAllow:  true,
			wantReason: "authz: allowed by permit policies policy0 (1:1), also (2:1)",
		},
		{
			name:       "empty-policy-set-denies",
			opts:       cedar.Options{Policies: "// nothing yet\n"},
			input:      map[string]any{"tool_name": "file_read"},
			wantReason: "cedar: no permit policy matched (default deny)",
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
	bad := filepath.Join(dir, "bad.cedar")
	if err := os.WriteFile(bad, []byte("permit (principal, action, resource);\n\nforbid (principal, actio, resource);\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.cedar")
	if err := os.WriteFile(good, []byte("@id(\"p\")\npermit (principal, action, resource);\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts cedar.Options
		want []string
	}{
		{
			name: "parse-error-located",
			opts: cedar.Options{Policies: "permit (principal, action, resource);\n\nforbid (principal, action, resource) when { context.a = };\n"},
			want: []string{"3:57: parse error at \"}\""},
		},
		{
			name: "parse-error-in-file-located",
			opts: cedar.Options{Files: []string{bad}},
			want: []string{bad + ":3:25: parse error at \",\""},
		},
		{
			name: "every-source-reported",
			opts: cedar.Options{Policies: "permit (", Files: []string{bad}},
			want: []string{"1:9:", bad + ":3:25:"},
		},
		{
			name: "duplicate-id",
			opts: cedar.Options{Policies: "@id(\"p\")\nforbid (principal, action, resource);\n", Files: []string{good}},
			want: []string{good + ":1:1: policy id \"p\" already used at 1:1"},
		},
		{
			name: "missing-file",
			opts: cedar.Options{Files: []string{filepath.Join(dir, "absent.cedar")}},
			want: []string{"absent.cedar: Files:"},
		},
		{
			name: "bad-entities",
			opts: cedar.Options{Policies: referenceBuiltin, Entities: []byte(`[{"uid": 7}]`)},
			want: []string{"Entities: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := cedar.New(tt.opts)
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
	t.Run("no-policies", func(t *testing.T) {
		t.Parallel()
		if _, err := cedar.New(cedar.Options{}); !errors.Is(err, cedar.ErrNoPolicies) {
			t.Errorf("New(Options{}) error = %v, want ErrNoPolicies", err)
		}
	})
}

func TestDecideFailsClosed(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		opts    cedar.Options
		ctx     context.Context
		input   map[string]any
		wantErr []error
	}{
		{
			// The permit would allow, but another policy cannot be
			// evaluated: the whole decision fails.
			name:    "missing-attribute",
			opts:    cedar.Options{Policies: "permit (principal, action, resource);\nforbid (principal, action, resource) when { context.env == \"prod\" };\n"},
			input:   map[string]any{"tool_name": "file_read"},
			wantErr: []error{cedar.ErrEval},
		},
		{
			name:    "type-error",
			opts:    cedar.Options{Policies: "permit (principal, action, resource) when { context.amount > 0 };\n"},
			input:   map[string]any{"amount": "lots"},
			wantErr: []error{cedar.ErrEval},
		},
		{
			name:    "overflow",
			opts:    cedar.Options{Policies: "permit (principal, action, resource) when { context.n + 1 > 0 };\n"},
			input:   map[string]any{"n": int64(9223372036854775807)},
			wantErr: []error{cedar.ErrEval},
		},
		{
			name:    "context-cancelled",
			opts:    cedar.Options{Policies: "permit (principal, action, resource);\n"},
			ctx:     cancelled,
			wantErr: []error{cedar.ErrEval, context.Canceled},
		},
		{
			name:    "unrepresentable-number",
			opts:    cedar.Options{Policies: "permit (principal, action, resource);\n"},
			input:   map[string]any{"confidence": 0.123456},
			wantErr: []error{cedar.ErrInput},
		},
		{
			name:    "bad-agent-uid",
			opts:    cedar.Options{Policies: "permit (principal, action, resource);\n"},
			input:   map[string]any{"agent_id": "a::b"},
			wantErr: []error{cedar.ErrInput},
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

func TestDiagnosticNamesPolicy(t *testing.T) {
	t.Parallel()
	b := newBackend(t, cedar.Options{Policies: "@id(\"env-check\")\nforbid (principal, action, resource) when { context.env == \"prod\" };\n"})
	_, _, err := b.Decide(t.Context(), map[string]any{})
	if want := "policy env-check (1:1)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Decide error = %v, want it to contain %q", err, want)
	}
}

func TestExamplePolicy(t *testing.T) {
	t.Parallel()
	payments := map[string]any{"id": "refunder", "labels": map[string]any{"team": "payments"}}
	sales := map[string]any{"id": "seller", "labels": map[string]any{"team": "sales"}}
	pos := func(id string, line int) string {
		return fmt.Sprintf("%s (%s:%d:1)", id, examplePolicy, line)
	}
	tests := []struct {
		name       string
		input      map[string]any
		wantAllow  bool
		wantReason string
		wantErr    error
	}{
		{name: "read-only-tool", input: map[string]any{"tool_name": "file_read", "agent": sales}, wantAllow: true, wantReason: "cedar: allowed by permit policy " + pos("read-only-tools", 14)},
		{name: "refund-by-payments", input: map[string]any{"tool_name": "refund_payment", "agent": payments, "args": map[string]any{"amount": 120}}, wantAllow: true, wantReason: "cedar: allowed by permit policy " + pos("payments-refunds", 22)},
		{name: "refund-by-sales", input: map[string]any{"tool_name": "refund_payment", "agent": sales, "args": map[string]any{"amount": 120}}, wantReason: "cedar: no permit policy matched (default deny)"},
		{name: "refund-without-agent", input: map[string]any{"tool_name": "refund_payment", "args": map[string]any{"amount": 120}}, wantReason: "cedar: no permit policy matched (default deny)"},
		{name: "refund-over-limit", input: map[string]any{"tool_name": "refund_payment", "agent": payments, "args": map[string]any{"amount": 501}}, wantReason: "cedar: denied by forbid policy " + pos("refund-limit", 33)},
		{name: "refund-without-amount", input: map[string]any{"tool_name": "refund_payment", "agent": payments}, wantReason: "cedar: denied by forbid policy " + pos("refund-limit", 33)},
		{name: "refund-amount-as-string", input: map[string]any{"tool_name": "refund_payment", "agent": payments, "args": map[string]any{"amount": "100"}}, wantErr: cedar.ErrEval},
		{name: "delete-file", input: map[string]any{"tool_name": "delete_file", "agent": payments}, wantReason: "cedar: denied by forbid policy " + pos("no-destructive-tools", 44)},
		{name: "drop-table", input: map[string]any{"tool_name": "drop_table"}, wantReason: "cedar: denied by forbid policy " + pos("no-destructive-tools", 44)},
		{name: "quarantined-agent", input: map[string]any{"tool_name": "file_read", "agent_id": "quarantined"}, wantReason: "cedar: denied by forbid policy " + pos("quarantine", 58)},
		{name: "unknown-tool", input: map[string]any{"tool_name": "shell"}, wantReason: "cedar: no permit policy matched (default deny)"},
		{name: "no-tool", input: map[string]any{}, wantReason: "cedar: no permit policy matched (default deny)"},
	}
	b := newBackend(t, cedar.Options{Files: []string{examplePolicy}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			allowed, reason, err := b.Decide(t.Context(), tt.input)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || allowed {
					t.Errorf("Decide(%v) = %v, %v, want deny with %v", tt.input, allowed, err, tt.wantErr)
				}
				return
			}
			if err != nil || allowed != tt.wantAllow || reason != tt.wantReason {
				t.Errorf("Decide(%v) = %v, %q, %v, want %v, %q", tt.input, allowed, reason, err, tt.wantAllow, tt.wantReason)
			}
		})
	}
}

func TestDecideConcurrent(t *testing.T) {
	t.Parallel()
	b := newBackend(t, cedar.Options{Files: []string{examplePolicy}})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
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

func TestName(t *testing.T) {
	t.Parallel()
	if got := newBackend(t, cedar.Options{Policies: referenceBuiltin}).Name(); got != cedar.DefaultName {
		t.Errorf("Name() = %q, want %q", got, cedar.DefaultName)
	}
	if got := newBackend(t, cedar.Options{Name: "authz", Policies: referenceBuiltin}).Name(); got != "authz" {
		t.Errorf("Name() = %q, want %q", got, "authz")
	}
}
