package rbac

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
)

// Stage names the check that produced a [Decision].
type Stage uint8

// The stages of [Snapshot.Check], in evaluation order, and of
// [Snapshot.ValidateRisk].
const (
	StageNone      Stage = iota // allowed: no stage objected
	StageAllowList              // the role may not use the tool
	StageABAC                   // a conditional permission's conditions are not met
	StagePath                   // a file path argument is protected or malformed
	StageCode                   // code or a command matches a dangerous pattern
	StageSQL                    // a query matches a destructive pattern or the SQL policy
	StageEndpoint               // an internal endpoint
	StageRisk                   // a risk policy (ValidateRisk only)
)

var stageNames = [...]string{"none", "allow_list", "abac", "path", "code", "sql", "endpoint", "risk"}

// String returns the stage's snake_case name, as logged and audited.
func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return "unknown"
}

// Decision is the outcome of a check.
type Decision struct {
	// Allowed is true when no stage objected.
	Allowed bool
	// Stage is the stage that denied; StageNone when allowed.
	Stage Stage
	// Reason is the violation message (the reference's text where the
	// reference has one); "" when allowed.
	Reason string
}

func deny(stage Stage, reason string) Decision {
	return Decision{Stage: stage, Reason: reason}
}

// Tool names the argument stages apply to.
const (
	toolReadFile      = "read_file"
	toolWriteFile     = "write_file"
	toolDeleteFile    = "delete_file"
	toolFileRead      = "file_read"
	toolFileWrite     = "file_write"
	toolExecuteCode   = "execute_code"
	toolRunCommand    = "run_command"
	toolDatabaseQuery = "database_query"
	toolDatabaseWrite = "database_write"
	toolAPICall       = "api_call"
)

// Messages for argument types the reference cannot handle (it raises
// TypeError or AttributeError out of check_violation). Go denies instead.
const (
	msgCodeType     = "Code Validation Error: code and command must be strings"
	msgSQLType      = "SQL Validation Error: query must be a string"
	msgEndpointType = "Endpoint Validation Error: endpoint must be a string"
	internalPrefix  = "internal://"
	msgInternal     = "Internal endpoint blocked: "
)

// namedPattern is a compiled dangerous-code or destructive-SQL pattern.
type namedPattern struct {
	re     *regexp.Regexp
	expr   string // the RE2 expression re was compiled from
	reason string // precomputed message naming the reference's pattern text
}

// Snapshot is an immutable, compiled policy: allow-lists, conditional
// permissions, agent contexts, argument rules and risk policies. Build one
// with a [Builder]. All methods are safe for concurrent use; Check does not
// allocate on the allow path.
type Snapshot struct {
	allow    map[string]map[string]struct{}
	perms    map[string]map[string][]Permission // role → tool → permissions, in insertion order
	contexts map[string]map[string]any
	paths    pathRules
	code     []namedPattern
	sql      []namedPattern
	codeAny  *regexp.Regexp // alternation of code: one scan on the allow path; nil if none
	sqlAny   *regexp.Regexp // alternation of sql
	sqlCheck *SQLChecker    // nil: no SQL policy stage
	risk     []compiledRisk
	frozen   bool
	log      *slog.Logger

	evalErrors atomic.Uint64
}

// Frozen reports whether the snapshot came from [Builder.Freeze].
func (s *Snapshot) Frozen() bool { return s.frozen }

// EvalErrors is the number of condition evaluations that erred (type
// mismatches, unknown operators) since the snapshot was built. Each such
// condition counted as not met.
func (s *Snapshot) EvalErrors() uint64 { return s.evalErrors.Load() }

// CheckViolation is the reference's check_violation: it returns the
// violation message and true, or "" and false when the call is allowed.
func (s *Snapshot) CheckViolation(role, tool string, args map[string]any) (string, bool) {
	d := s.Check(role, tool, args)
	return d.Reason, !d.Allowed
}

// Check decides whether role may call tool with args. The stages run in
// the reference's order, and the first objection is returned:
//
//  1. allow-list: "Role {role} cannot use tool {tool}";
//  2. ABAC: every conditional permission of the role for the tool must
//     hold: "Conditional permission denied for {tool}: Conditions not met";
//  3. paths (read_file, write_file, delete_file, file_read, file_write,
//     with a "path" argument);
//  4. code (execute_code, run_command: both "code" and "command");
//  5. SQL (database_query, database_write: "query"), then the SQL policy if
//     one is set;
//  6. endpoints (api_call: an "endpoint" starting with "internal://").
func (s *Snapshot) Check(role, tool string, args map[string]any) Decision {
	if _, ok := s.allow[role][tool]; !ok {
		return deny(StageAllowList, "Role "+role+" cannot use tool "+tool)
	}
	if perms := s.perms[role][tool]; len(perms) > 0 {
		ctx := s.contexts[role]
		for i := range perms {
			if !s.permits(&perms[i], args, ctx) {
				return deny(StageABAC, "Conditional permission denied for "+tool+": Conditions not met")
			}
		}
	}
	switch tool {
	case toolReadFile, toolWriteFile, toolDeleteFile, toolFileRead, toolFileWrite:
		if p, ok := args["path"]; ok {
			if reason, bad := s.paths.check(p); bad {
				return deny(StagePath, reason)
			}
		}
	case toolExecuteCode, toolRunCommand:
		for _, key := range [...]string{"code", "command"} {
			v, ok := args[key]
			if !ok {
				continue
			}
			text, isStr := v.(string)
			if !isStr {
				return deny(StageCode, msgCodeType)
			}
			if s.codeAny != nil && !s.codeAny.MatchString(text) {
				continue
			}
			for i := range s.code {
				if s.code[i].re.MatchString(text) {
					return deny(StageCode, s.code[i].reason)
				}
			}
		}
	case toolDatabaseQuery, toolDatabaseWrite:
		v, ok := args["query"]
		if !ok {
			break
		}
		q, isStr := v.(string)
		if !isStr {
			return deny(StageSQL, msgSQLType)
		}
		if s.sqlAny == nil || s.sqlAny.MatchString(q) {
			for i := range s.sql {
				if s.sql[i].re.MatchString(q) {
					return deny(StageSQL, s.sql[i].reason)
				}
			}
		}
		if s.sqlCheck != nil {
			if rule, blocked := s.sqlCheck.Match(q); blocked {
				return deny(StageSQL, "SQL policy blocked: "+rule)
			}
		}
	case toolAPICall:
		v, ok := args["endpoint"]
		if !ok {
			break
		}
		ep, isStr := v.(string)
		if !isStr {
			return deny(StageEndpoint, msgEndpointType)
		}
		if strings.HasPrefix(ep, internalPrefix) {
			return deny(StageEndpoint, msgInternal+ep)
		}
	}
	return Decision{Allowed: true}
}

// permits evaluates one conditional permission. The evaluation context is
// the reference's {"args": args, "context": agent context} with the agent
// context's keys merged on top, except that "args" and "context" are
// reserved: an agent-context key of either name cannot shadow them.
func (s *Snapshot) permits(p *Permission, args, ctx map[string]any) bool {
	for i := range p.Conditions {
		c := &p.Conditions[i]
		held, err := s.evalCondition(c, args, ctx)
		if err != nil {
			s.evalErrors.Add(1)
			if s.log.Enabled(context.Background(), slog.LevelDebug) {
				s.log.LogAttrs(context.Background(), slog.LevelDebug, "condition evaluation error",
					slog.String("tool", p.ToolName), slog.String("attribute", c.AttributePath),
					slog.String("error", err.Error()))
			}
		}
		if p.Any && held {
			return true
		}
		if !p.Any && !held {
			return false
		}
	}
	return !p.Any
}

func (s *Snapshot) evalCondition(c *Condition, args, ctx map[string]any) (bool, error) {
	first, rest, nested := strings.Cut(c.AttributePath, ".")
	var v any
	switch first {
	case "args":
		v = args
	case "context":
		v = ctx
	default:
		var ok bool
		if v, ok = ctx[first]; !ok {
			return false, nil
		}
	}
	if nested {
		var ok bool
		if v, ok = walk(v, rest); !ok {
			return false, nil
		}
	}
	return c.test(v)
}

// ValidateRisk is the reference's validate_risk: every risk policy must
// accept the request. A policy denies when score ≥ its DenyAbove (or the
// score is NaN), when a high-risk pattern occurs in the parameters, or when
// the "url" parameter (else "domain") names a blocked host or, given an
// allow-list, a host not on it. Deliberate deviation: hosts are parsed and
// matched exactly or as subdomains, lower-cased, not as URL substrings.
// With no risk policies every request is accepted.
func (s *Snapshot) ValidateRisk(params map[string]any, score float64) Decision {
	for i := range s.risk {
		if reason, bad := s.risk[i].validate(params, score); bad {
			return deny(StageRisk, reason)
		}
	}
	return Decision{Allowed: true}
}

// alternation compiles one regexp matching wherever any of ps matches. It
// returns nil for no patterns. The parts compiled on their own, so their
// alternation compiles too; if it somehow does not, nil disables the
// prefilter and every pattern is tried.
func alternation(ps []namedPattern) *regexp.Regexp {
	if len(ps) == 0 {
		return nil
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = "(?:" + p.expr + ")"
	}
	re, err := regexp.Compile(strings.Join(parts, "|"))
	if err != nil {
		return nil
	}
	return re
}
