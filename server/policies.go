package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/limit"
	"github.com/agentos/agentos/policy"
)

// ruleInfo is what the server needs to know of a loaded rule for
// POST /v1/check: its action, rate and approval settings.
type ruleInfo struct {
	action   policy.Action
	rate     limit.Rate
	approval *policy.Approval
}

// policyState is the loaded policy set as the API shows it.
type policyState struct {
	docs     []*policy.Document
	version  string
	rules    int
	loadedAt time.Time
	index    map[string]ruleInfo // policy + "\x00" + rule
}

// policies owns the policy engine: the first load, reloads (API and file
// watcher) and what GET /v1/policies shows. Reloads are serialised; the
// engine swaps sets atomically, so evaluation never waits.
type policies struct {
	engine *policy.Engine
	load   policy.LoadFunc
	source string
	log    *slog.Logger
	clock  Clock

	reloadMu sync.Mutex // serialises reloads
	pending  []*policy.Document

	mu      sync.RWMutex
	state   policyState // guarded by mu
	lastErr string      // guarded by mu
	errAt   time.Time   // guarded by mu
}

func newPolicies(load policy.LoadFunc, source string, copts policy.CompileOptions, log *slog.Logger, clock Clock) *policies {
	p := &policies{load: load, source: source, log: log, clock: clock}
	p.engine = policy.NewEngine(policy.EngineOptions{
		Load: func(ctx context.Context) ([]*policy.Document, error) {
			docs, err := p.load(ctx)
			p.pending = docs // reloadMu is held by reload
			return docs, err
		},
		Compile: copts,
		Logger:  log,
	})
	return p
}

// reload loads, compiles and swaps the policy set. On failure the last
// good set keeps serving and the error is kept for GET /v1/policies.
func (p *policies) reload(ctx context.Context) (oldVersion, newVersion string, err error) {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if cur := p.engine.Current(); cur != nil {
		oldVersion = cur.Version()
	}
	p.pending = nil
	err = p.engine.Reload(ctx)
	now := p.clock.Now().UTC()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.lastErr, p.errAt = err.Error(), now
		return oldVersion, oldVersion, err
	}
	set := p.engine.Current()
	idx := indexRules(p.pending)
	p.state = policyState{docs: p.pending, version: set.Version(), rules: set.Len(), loadedAt: now,
		index: idx}
	p.lastErr, p.errAt = "", time.Time{}
	return oldVersion, set.Version(), nil
}

// indexRules maps each rule to what /v1/check needs of it.
func indexRules(docs []*policy.Document) map[string]ruleInfo {
	idx := map[string]ruleInfo{}
	for _, d := range docs {
		for i := range d.Rules {
			r := &d.Rules[i]
			key := d.Name + "\x00" + r.Name
			if _, dup := idx[key]; dup {
				continue
			}
			ri := ruleInfo{action: r.Action}
			if r.Action == policy.ActionRateLimit {
				ri.rate, _ = limit.ParseRate(r.Limit) // validated at load; a zero rate admits nothing
			}
			if r.Action == policy.ActionRequireApproval {
				ri.approval = &policy.Approval{Approvers: r.Approvers, Quorum: max(r.Quorum, 1), Timeout: r.Timeout}
			}
			idx[key] = ri
		}
	}
	return idx
}

// rule returns what is known of a rule of the current set.
func (p *policies) rule(pol, name string) (ruleInfo, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	ri, ok := p.state.index[pol+"\x00"+name]
	return ri, ok
}

// snapshot returns the current state and the last reload error.
func (p *policies) snapshot() (policyState, string, time.Time) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.state, p.lastErr, p.errAt
}

// Reload reloads the policy set now, audits the outcome (kind
// policy_reload, with the old and new version or the error) and publishes
// it on the hub. A failed reload leaves the last good set serving.
func (s *Server) Reload(ctx context.Context, trigger string) error {
	oldV, newV, err := s.pol.reload(ctx)
	result := "ok"
	ev := map[string]any{"trigger": trigger, "old_version": oldV, "new_version": newV, "source": s.pol.source}
	dec := audit.Decision{Action: "reload", Allowed: err == nil, Policy: s.pol.source, PolicyVersion: newV,
		Reason: "policy set " + newV + " loaded"}
	out := audit.Outcome{}
	if err != nil {
		result = "error"
		ev["error"] = err.Error()
		dec.Reason = "reload rejected; the last good policy set keeps serving"
		out = audit.Outcome{Code: 1, Error: boundString(err.Error(), 2048)}
		s.log.LogAttrs(ctx, slog.LevelError, "policy reload failed; keeping the last good set",
			slog.String("trigger", trigger), slog.String("version", oldV), slog.String("error", err.Error()))
	} else {
		s.log.LogAttrs(ctx, slog.LevelInfo, "policy reloaded", slog.String("trigger", trigger),
			slog.String("old_version", oldV), slog.String("new_version", newV))
	}
	s.m.reloads.WithLabelValues(result).Inc()
	args, _ := json.Marshal(map[string]any{"trigger": trigger, "old_version": oldV, "new_version": newV})
	if aerr := s.tap.Append(ctx, &audit.Event{Kind: audit.KindPolicyReload, AgentID: "kernel", Tool: "policy_reload",
		Args: args, Decision: dec, Outcome: out}); aerr != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "policy reload not recorded", slog.String("error", aerr.Error()))
	}
	s.hub.Publish(EventPolicyReload, ev)
	return err
}

// boundString cuts s to at most n bytes.
func boundString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// watch reloads the policy when a watched file or directory changes,
// debounced, until ctx ends.
func (s *Server) watch(ctx context.Context, paths []string, debounce time.Duration) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch policies: %w", err)
	}
	// Watch each path's directory too: editors replace files by rename,
	// which drops a watch on the file itself.
	var dirs []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			w.Close()
			return fmt.Errorf("watch policies: %w", err)
		}
		d := p
		if !st.IsDir() {
			d = filepath.Dir(p)
		}
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
			if err := w.Add(d); err != nil {
				w.Close()
				return fmt.Errorf("watch policies %s: %w", d, err)
			}
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer w.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				if timer != nil {
					timer.Stop()
				}
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if !relevant(ev.Name, paths) {
					continue
				}
				if timer == nil {
					timer = time.NewTimer(debounce)
				} else {
					timer.Reset(debounce)
				}
				fire = timer.C
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.LogAttrs(ctx, slog.LevelWarn, "policy watcher", slog.String("error", err.Error()))
			case <-fire:
				fire = nil
				_ = s.Reload(ctx, "file_change") // the outcome is logged, audited and published
			}
		}
	}()
	return nil
}

// relevant reports whether a changed file is one of the watched policy
// files or in a watched directory with a policy extension.
func relevant(name string, paths []string) bool {
	base := filepath.Base(name)
	if len(base) > 0 && (base[0] == '.' || base[len(base)-1] == '~') {
		return false
	}
	for _, p := range paths {
		if filepath.Clean(p) == filepath.Clean(name) {
			return true
		}
		if filepath.Dir(filepath.Clean(name)) == filepath.Clean(p) {
			switch filepath.Ext(name) {
			case ".yaml", ".yml", ".json":
				return true
			}
		}
	}
	return false
}
