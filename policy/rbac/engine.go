package rbac

import (
	"errors"
	"sync/atomic"
)

// EngineOptions configures an [Engine].
type EngineOptions struct {
	// Snapshot is the policy to start with. Required.
	Snapshot *Snapshot
}

// Engine serves the current [Snapshot] to concurrent callers and lets a
// new one be swapped in atomically: reads never lock, and a reload either
// installs a complete snapshot or nothing.
type Engine struct {
	cur atomic.Pointer[Snapshot]
}

// NewEngine returns an engine serving opts.Snapshot.
func NewEngine(opts EngineOptions) (*Engine, error) {
	if opts.Snapshot == nil {
		return nil, errors.New("rbac: EngineOptions.Snapshot is nil")
	}
	e := &Engine{}
	e.cur.Store(opts.Snapshot)
	return e, nil
}

// Snapshot returns the snapshot currently served.
func (e *Engine) Snapshot() *Snapshot { return e.cur.Load() }

// Swap installs s and returns the previous snapshot. A nil s is refused
// and the current snapshot keeps serving.
func (e *Engine) Swap(s *Snapshot) (*Snapshot, error) {
	if s == nil {
		return nil, errors.New("rbac: swap to a nil snapshot")
	}
	return e.cur.Swap(s), nil
}

// Check decides with the current snapshot; see [Snapshot.Check].
func (e *Engine) Check(role, tool string, args map[string]any) Decision {
	return e.cur.Load().Check(role, tool, args)
}

// CheckViolation decides with the current snapshot; see
// [Snapshot.CheckViolation].
func (e *Engine) CheckViolation(role, tool string, args map[string]any) (string, bool) {
	return e.cur.Load().CheckViolation(role, tool, args)
}

// ValidateRisk validates with the current snapshot; see
// [Snapshot.ValidateRisk].
func (e *Engine) ValidateRisk(params map[string]any, score float64) Decision {
	return e.cur.Load().ValidateRisk(params, score)
}
