package rbac

import (
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Reference pattern texts, quoted verbatim in violation messages.
var (
	defaultCodePatterns = []string{
		`\brm\s+-rf\b`,
		`\bdel\s+/f\b`,
		`\bformat\s+`,
		`\bdrop\s+table\b`,
		`\bdrop\s+database\b`,
		`\btruncate\s+table\b`,
		`\bdelete\s+from\b`,
	}
	defaultSQLPatterns = []string{
		`\bDROP\s+`,
		`\bDELETE\s+FROM\b`,
		`\bTRUNCATE\s+`,
		`\bALTER\s+TABLE\b.*\bDROP\b`,
		`\bUPDATE\s+.*\bSET\b.*\bWHERE\s+1\s*=\s*1`,
	}
)

// Options configures a [Builder].
type Options struct {
	// Logger receives freeze notices, blocked-mutation warnings and (at
	// debug level) condition evaluation errors. nil: logs are discarded.
	Logger *slog.Logger
	// Now stamps mutation-log entries. nil: time.Now.
	Now func() time.Time
}

// MutationEntry is one record of a [Builder]'s mutation log.
type MutationEntry struct {
	// Operation is the reference's name: "add_constraint",
	// "add_conditional_permission", "set_agent_context",
	// "update_agent_context", "freeze", or one of the Go-only mutators
	// ("set_protected_paths", "add_code_pattern", "set_base_dir",
	// "set_risk_policy", "set_sql_policy").
	Operation string
	// Details are the reference's details (role, tools, tool, keys); nil for
	// blocked attempts, which the reference records without details.
	Details map[string]any
	// Time is when the mutation was applied or refused.
	Time time.Time
	// Blocked is true for a mutation refused because the builder was frozen.
	Blocked bool
}

// Builder collects policy state and compiles it into a [Snapshot]. It is
// the mutable half of the reference's PolicyEngine: the same mutators, a
// mutation log, and an irreversible [Builder.Freeze]. After Freeze every
// mutator returns a [*FrozenError] and records a blocked attempt; the frozen
// snapshot cannot change at all (this also covers what the reference leaves
// mutable: risk policies, protected paths and dangerous patterns). A
// Builder is safe for concurrent use.
type Builder struct {
	logger *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	allow    map[string]map[string]struct{}
	perms    map[string][]Permission
	contexts map[string]map[string]any
	baseDir  string
	paths    []protectedPath
	code     []namedPattern
	sql      []namedPattern
	sqlCheck *SQLChecker
	riskIDs  []string
	risk     map[string]compiledRisk
	log      []MutationEntry
	frozen   *Snapshot // non-nil once frozen
}

// NewBuilder returns a builder holding the reference's defaults: no roles,
// the protected paths [DefaultProtectedPaths], the seven dangerous code
// patterns and five destructive SQL patterns, no risk policies, no SQL
// policy, and relative paths resolved against "/".
func NewBuilder(opts Options) *Builder {
	b := &Builder{
		logger:   opts.Logger,
		now:      opts.Now,
		allow:    map[string]map[string]struct{}{},
		perms:    map[string][]Permission{},
		contexts: map[string]map[string]any{},
		baseDir:  "/",
		risk:     map[string]compiledRisk{},
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	for _, p := range DefaultProtectedPaths {
		pp, _ := compileProtected(p)
		b.paths = append(b.paths, pp)
	}
	for _, src := range defaultCodePatterns {
		p, err := compileNamed(src, "Dangerous pattern detected: ")
		if err != nil {
			panic("rbac: built-in code pattern does not compile: " + err.Error()) // constant input
		}
		b.code = append(b.code, p)
	}
	for _, src := range defaultSQLPatterns {
		p, err := compileNamed(src, "Destructive SQL blocked: ")
		if err != nil {
			panic("rbac: built-in SQL pattern does not compile: " + err.Error()) // constant input
		}
		b.sql = append(b.sql, p)
	}
	return b
}

// mutableLocked refuses a mutation on a frozen builder, recording the
// attempt as the reference does.
func (b *Builder) mutableLocked(op string) error {
	if b.frozen == nil {
		return nil
	}
	b.log = append(b.log, MutationEntry{Operation: op, Time: b.now(), Blocked: true})
	b.logger.Warn("blocked mutation on frozen policy engine", slog.String("operation", op))
	return &FrozenError{Op: op}
}

func (b *Builder) recordLocked(op string, details map[string]any) {
	b.log = append(b.log, MutationEntry{Operation: op, Details: details, Time: b.now()})
}

// AddConstraint replaces the allow-list of role with tools (the reference's
// add_constraint). Every tool not listed is denied to the role, except
// those later granted by [Builder.AddConditionalPermission].
func (b *Builder) AddConstraint(role string, tools []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mutableLocked("add_constraint"); err != nil {
		return err
	}
	set := make(map[string]struct{}, len(tools))
	for _, t := range tools {
		set[t] = struct{}{}
	}
	b.allow[role] = set
	b.recordLocked("add_constraint", map[string]any{"role": role, "tools": slices.Clone(tools)})
	return nil
}

// AddConditionalPermission appends an ABAC permission for role and adds its
// tool to the role's allow-list (the reference's add_conditional_permission).
// Unlike the reference it validates the permission: an unknown operator or
// an unsupported value type is an error matching [ErrInvalidArgument], and
// nothing is applied.
func (b *Builder) AddConditionalPermission(role string, p Permission) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mutableLocked("add_conditional_permission"); err != nil {
		return err
	}
	for i, c := range p.Conditions {
		if !c.Operator.Known() {
			return fmt.Errorf("%w: permission for %q: conditions[%d]: unknown operator %q", ErrInvalidArgument, p.ToolName, i, c.Operator)
		}
		if !supportedValue(c.Value) {
			return fmt.Errorf("%w: permission for %q: conditions[%d]: unsupported value type %T", ErrInvalidArgument, p.ToolName, i, c.Value)
		}
	}
	b.perms[role] = append(b.perms[role], p.clone())
	if b.allow[role] == nil {
		b.allow[role] = map[string]struct{}{}
	}
	b.allow[role][p.ToolName] = struct{}{}
	b.recordLocked("add_conditional_permission", map[string]any{"role": role, "tool": p.ToolName})
	return nil
}

// supportedValue reports whether v (and everything inside it) is a value
// conditions can compare.
func supportedValue(v any) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if !supportedValue(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !supportedValue(e) {
				return false
			}
		}
		return true
	}
	k, _ := classify(v)
	return k != kindOther
}

// SetAgentContext replaces the ABAC context of role (the reference's
// set_agent_context). The map is copied. Keys named "args" and "context"
// are kept (reachable as "context.args", "context.context") but never
// shadow the call's arguments or the context itself.
func (b *Builder) SetAgentContext(role string, ctx map[string]any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mutableLocked("set_agent_context"); err != nil {
		return err
	}
	c := cloneMap(ctx)
	if c == nil {
		c = map[string]any{}
	}
	b.contexts[role] = c
	b.recordLocked("set_agent_context", map[string]any{"role": role})
	return nil
}

// UpdateAgentContext merges updates into the ABAC context of role (the
// reference's update_agent_context). The log lists the updated keys sorted.
func (b *Builder) UpdateAgentContext(role string, updates map[string]any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mutableLocked("update_agent_context"); err != nil {
		return err
	}
	c := b.contexts[role]
	if c == nil {
		c = map[string]any{}
		b.contexts[role] = c
	}
	keys := make([]string, 0, len(updates))
	for k, v := range updates {
		c[k] = cloneValue(v)
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.recordLocked("update_agent_context", map[string]any{"role": role, "keys": keys})
	return nil
}

// SetProtectedPaths replaces the protected directories. Each must be
// absolute: a POSIX path ("/etc/") or a Windows path ("C:\Windows"), which
// matches case-insensitively with either separator. The reference's list is
// [DefaultProtectedPaths].
func (b *Builder) SetProtectedPaths(paths []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mutableLocked("set_protected_paths"); err != nil {
		return err
	}
	out := make([]protectedPath, 0, len(paths))
	for i, p := range paths {
		pp, ok := compileProtected(p)
		if !ok {
			return fmt.Errorf("%w: protected path [%d] %q is not absolute", ErrInvalidArgument, i, p)
		}
		out = append(out, pp)
	}
	b.paths = out
	b.recordLocked("set_protected_paths", map[string]any{"paths": slices.Clone(paths)})
	return nil
}

// SetBaseDir sets the directory relative paths resolve against in the path
// stage (default "/"). The reference resolves them against the process's
// working directory, so its result depends on where it runs; ours does not.
// dir must be absolute and must not contain control characters.
func (b *Builder) SetBaseDir(dir string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mutableLocked("set_base_dir"); err != nil {
		return err
	}
	if !strings.HasPrefix(dir, "/") || strings.ContainsFunc(dir, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: base dir %q is not an absolute path", ErrInvalidArgument, dir)
	}
	b.baseDir = path.Clean(dir)
	b.recordLocked("set_base_dir", map[string]any{"dir": b.baseDir})
	return nil
}

// AddCodePattern appends a dangerous code/command pattern, written in the
// reference's Python dialect (\s, \w, \d are Unicode classes) and matched
// case-insensitively. Violations quote pattern verbatim.
func (b *Builder) AddCodePattern(pattern string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mutableLocked("add_code_pattern"); err != nil {
		return err
	}
	p, err := compileNamed(pattern, "Dangerous pattern detected: ")
	if err != nil {
		return fmt.Errorf("%w: code pattern %q: %v", ErrInvalidArgument, pattern, err)
	}
	b.code = append(b.code, p)
	b.recordLocked("add_code_pattern", map[string]any{"pattern": pattern})
	return nil
}

// SetRiskPolicy adds or replaces the risk policy id (the reference's
// set_risk_policy). Policies are applied in the order first added.
func (b *Builder) SetRiskPolicy(id string, p RiskPolicy) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mutableLocked("set_risk_policy"); err != nil {
		return err
	}
	c, err := compileRisk(id, p)
	if err != nil {
		return err
	}
	if _, ok := b.risk[id]; !ok {
		b.riskIDs = append(b.riskIDs, id)
	}
	b.risk[id] = c
	b.recordLocked("set_risk_policy", map[string]any{"policy_id": id})
	return nil
}

// SetSQLPolicy enables (cfg non-nil) or disables (nil) an extra SQL stage:
// after the reference's five destructive patterns, database_query and
// database_write queries must pass an [SQLChecker] built from cfg, else
// the violation is "SQL policy blocked: {rule}". The reference accepts such
// a configuration but never applies it in check_violation; it is off by
// default so that check_violation keeps the reference's results.
func (b *Builder) SetSQLPolicy(cfg *SQLPolicyConfig) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mutableLocked("set_sql_policy"); err != nil {
		return err
	}
	if cfg == nil {
		b.sqlCheck = nil
		b.recordLocked("set_sql_policy", map[string]any{"enabled": false})
		return nil
	}
	c, err := NewSQLChecker(*cfg)
	if err != nil {
		return err
	}
	b.sqlCheck = c
	b.recordLocked("set_sql_policy", map[string]any{"enabled": true})
	return nil
}

// Frozen reports whether [Builder.Freeze] has been called (the reference's
// is_frozen).
func (b *Builder) Frozen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.frozen != nil
}

// MutationLog returns a copy of the mutation log, blocked attempts
// included.
func (b *Builder) MutationLog() []MutationEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]MutationEntry, len(b.log))
	for i, e := range b.log {
		e.Details = cloneMap(e.Details)
		out[i] = e
	}
	return out
}

// Freeze makes the builder read-only and returns the frozen snapshot. It is
// irreversible; calling it again logs another "freeze" (as the reference
// does) and returns the same snapshot.
func (b *Builder) Freeze() *Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.frozen == nil {
		b.frozen = b.buildLocked(true)
	}
	b.recordLocked("freeze", map[string]any{})
	b.logger.Info("policy engine frozen")
	return b.frozen
}

// Build compiles the current state into a snapshot without freezing the
// builder; later mutations do not affect it. On a frozen builder it returns
// the frozen snapshot.
func (b *Builder) Build() *Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.frozen != nil {
		return b.frozen
	}
	return b.buildLocked(false)
}

func (b *Builder) buildLocked(frozen bool) *Snapshot {
	s := &Snapshot{
		allow:    make(map[string]map[string]struct{}, len(b.allow)),
		perms:    make(map[string]map[string][]Permission, len(b.perms)),
		contexts: make(map[string]map[string]any, len(b.contexts)),
		paths:    pathRules{base: b.baseDir, entries: slices.Clone(b.paths)},
		code:     slices.Clone(b.code),
		sql:      slices.Clone(b.sql),
		sqlCheck: b.sqlCheck,
		frozen:   frozen,
		log:      b.logger,
	}
	s.codeAny = alternation(s.code)
	s.sqlAny = alternation(s.sql)
	if s.paths.base == "/" {
		s.paths.base = "" // base + "/" + rel then starts with a single slash
	}
	for _, e := range s.paths.entries {
		s.paths.windows = s.paths.windows || e.windows
	}
	for role, tools := range b.allow {
		set := make(map[string]struct{}, len(tools))
		for t := range tools {
			set[t] = struct{}{}
		}
		s.allow[role] = set
	}
	for role, list := range b.perms {
		byTool := map[string][]Permission{}
		for _, p := range list {
			byTool[p.ToolName] = append(byTool[p.ToolName], p.clone())
		}
		s.perms[role] = byTool
	}
	for role, ctx := range b.contexts {
		s.contexts[role] = cloneMap(ctx)
	}
	for _, id := range b.riskIDs {
		s.risk = append(s.risk, b.risk[id])
	}
	return s
}

// compileNamed compiles a case-insensitive Python-dialect pattern whose
// violation message is prefix followed by the pattern's text.
func compileNamed(src, prefix string) (namedPattern, error) {
	expr := "(?i)" + translatePython(src)
	re, err := regexp.Compile(expr)
	if err != nil {
		return namedPattern{}, err
	}
	return namedPattern{re: re, expr: expr, reason: prefix + src}, nil
}
