package policy

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// LoadFunc reads the policy documents for a reload, for example with
// LoadFiles over the daemon's policy paths.
type LoadFunc func(ctx context.Context) ([]*Document, error)

// EngineOptions configure [NewEngine].
type EngineOptions struct {
	// Load reads the documents on Reload. nil: LoadFiles(Files...) if
	// Files is set; otherwise Reload returns ErrNoLoader and sets are
	// installed with Swap only.
	Load LoadFunc
	// Files are the policy files Reload reads when Load is nil.
	Files []string
	// Compile configures compiling on Reload (backends, CEL cost limit,
	// named policies).
	Compile CompileOptions
	// Permissive makes the engine allow, rather than deny, while no policy
	// is loaded. false: deny with NoPolicyReason (fail closed).
	Permissive bool
	// Logger receives reload outcomes. nil: logs are discarded.
	Logger *slog.Logger
}

// Engine holds the current policy set behind an atomic pointer: readers
// never block, and a reload builds the new set in full before swapping it,
// so a bad policy never replaces a good one.
type Engine struct {
	cur      atomic.Pointer[Set]
	opts     EngineOptions
	log      *slog.Logger
	reloadMu sync.Mutex // serializes Reload; Evaluate never takes it
	noPolicy Decision
}

// NewEngine returns an engine with no policy loaded. Call Reload or Swap to
// install one.
func NewEngine(opts EngineOptions) *Engine {
	if opts.Load == nil && len(opts.Files) > 0 {
		files := append([]string(nil), opts.Files...)
		opts.Load = func(context.Context) ([]*Document, error) { return LoadFiles(files...) }
	}
	e := &Engine{opts: opts, log: opts.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.noPolicy = Decision{Action: ActionDeny, Reason: NoPolicyReason, Error: true}
	if opts.Permissive {
		e.noPolicy = Decision{Allowed: true, Action: ActionAllow, Reason: "No policy loaded; permissive mode allows"}
	}
	return e
}

// Current returns the set in force, or nil if none is loaded.
func (e *Engine) Current() *Set { return e.cur.Load() }

// Swap installs s (nil unloads) and returns the set it replaced.
func (e *Engine) Swap(s *Set) *Set { return e.cur.Swap(s) }

// Evaluate decides input against the current set. With no policy loaded
// (no set, or a set of no documents and no backends) it denies with
// NoPolicyReason, or allows if the engine is permissive.
func (e *Engine) Evaluate(ctx context.Context, input map[string]any) Decision {
	s := e.cur.Load()
	if s == nil || (len(s.policies) == 0 && len(s.backends) == 0) {
		return e.noPolicy
	}
	return s.Evaluate(ctx, input)
}

// Reload loads and compiles the documents and swaps the new set in. On any
// error the current set stays in force and the error is returned (and
// logged); the caller decides whether to audit it.
func (e *Engine) Reload(ctx context.Context) error {
	if e.opts.Load == nil {
		return ErrNoLoader
	}
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	docs, err := e.opts.Load(ctx)
	if err != nil {
		e.log.LogAttrs(ctx, slog.LevelError, "policy reload failed; keeping the current policy", slog.String("stage", "load"), slog.Any("error", err))
		return fmt.Errorf("load policy: %w", err)
	}
	s, err := Compile(docs, e.opts.Compile)
	if err != nil {
		e.log.LogAttrs(ctx, slog.LevelError, "policy reload failed; keeping the current policy", slog.String("stage", "compile"), slog.Any("error", err))
		return fmt.Errorf("compile policy: %w", err)
	}
	old := e.cur.Swap(s)
	oldVersion := ""
	if old != nil {
		oldVersion = old.Version()
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "policy reloaded", slog.String("version", s.Version()), slog.String("previous_version", oldVersion), slog.Int("rules", s.Len()))
	return nil
}
