package approval_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/approval"
)

func TestConsumeID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{DefaultTimeout: time.Minute})
	ctx := t.Context()
	first := mustSubmit(t, e.b, req(nil))
	second := mustSubmit(t, e.b, req(nil))
	pending := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Tool = "other" }))
	for _, id := range []string{first.ID, second.ID} {
		if _, err := e.b.Decide(ctx, id, vote("ops", true)); err != nil {
			t.Fatal(err)
		}
	}
	h := hash(`{"v":1}`)
	tests := []struct {
		name                  string
		id, agent, tool, hash string
		want                  error
	}{
		{"unknown ID", "NOPE", "a", "deploy", h, approval.ErrNotFound},
		{"another agent", second.ID, "b", "deploy", h, approval.ErrNotApproved},
		{"another tool", second.ID, "a", "delete", h, approval.ErrNotApproved},
		{"other arguments", second.ID, "a", "deploy", hash(`{"v":2}`), approval.ErrNotApproved},
		{"still pending", pending.ID, "a", "other", h, approval.ErrNotApproved},
		{"the named request, upper-case hash", second.ID, "a", "deploy", strings.ToUpper(h), nil},
		{"second use", second.ID, "a", "deploy", h, approval.ErrConsumed},
	}
	for _, tt := range tests {
		got, err := e.b.ConsumeID(ctx, tt.id, tt.agent, tt.tool, tt.hash)
		switch {
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: ConsumeID = %+v, %v; want %v", tt.name, got, err, tt.want)
		case tt.want == nil && (err != nil || got.ID != tt.id || !got.Consumed()):
			t.Errorf("%s: ConsumeID = %+v, %v; want request %s used", tt.name, got, err, tt.id)
		}
	}
	// The mismatches used nothing: the first approval is still there.
	if tk, _ := e.b.Get(first.ID); tk.Consumed() || tk.Status != approval.Approved {
		t.Errorf("first request = %+v, want approved and unused", tk)
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := e.b.ConsumeID(ctx, first.ID, "a", "deploy", h); !errors.Is(err, approval.ErrExpired) {
		t.Errorf("ConsumeID after expiry = %v, want ErrExpired", err)
	}
	e.b.Close()
	if _, err := e.b.ConsumeID(ctx, first.ID, "a", "deploy", h); !errors.Is(err, approval.ErrClosed) {
		t.Errorf("ConsumeID after Close = %v, want ErrClosed", err)
	}
}

func TestSourceValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, approval.Options{})
	_, err := e.b.Submit(t.Context(), req(func(r *approval.Request) { r.Source = "mcp:\x01" }))
	var fe *approval.FieldError
	if !errors.As(err, &fe) || fe.Field != "Request.Source" {
		t.Fatalf("Submit with a control character in Source = %v, want a FieldError for Request.Source", err)
	}
	tk := mustSubmit(t, e.b, req(func(r *approval.Request) { r.Source = "mcp:filesystem" }))
	if tk.Request.Source != "mcp:filesystem" {
		t.Errorf("Source = %q", tk.Request.Source)
	}
	if ev := <-e.sink.ch; ev.Source != "mcp:filesystem" {
		t.Errorf("event Source = %q, want mcp:filesystem", ev.Source)
	}
}
