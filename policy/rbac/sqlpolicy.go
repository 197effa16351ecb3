package rbac

import (
	"fmt"
	"regexp"
	"strings"
)

// SQLPolicyConfig drives the regex SQL check ([SQLChecker]), the reference's
// SQLPolicyConfig. Statement and type names are matched upper-case.
type SQLPolicyConfig struct {
	// BlockedStatements are statement kinds blocked outright. Known kinds:
	// DROP (of a TABLE, DATABASE, INDEX, VIEW, SCHEMA, PROCEDURE, FUNCTION or
	// TRIGGER), TRUNCATE, ALTER (of a TABLE, DATABASE or SCHEMA), GRANT,
	// REVOKE, MERGE (MERGE INTO), INSERT (INSERT INTO), UPDATE and DELETE
	// (any occurrence). Other names are ignored, as in the reference.
	BlockedStatements []string
	// RequireWhereClause are statement kinds blocked only without a WHERE:
	// DELETE ("DELETE FROM t" ending the statement) and UPDATE (no WHERE
	// after SET on the same line). Other names are ignored.
	RequireWhereClause []string
	// BlockedCreateTypes are object types whose CREATE, ALTER and DROP are
	// blocked (USER, ROLE, LOGIN, ...).
	BlockedCreateTypes []string
	// BlockedPatterns are extra regexps searched in the upper-cased query
	// with its comments removed. They are written in the reference's Python
	// dialect: \s, \w and \d are Unicode classes; otherwise RE2 syntax applies
	// (no lookaround or back-references).
	BlockedPatterns []string
	// Disclaimer is free text shown to operators; it does not affect checks.
	Disclaimer string
}

// DefaultSQLPolicyConfig returns the reference's defaults.
func DefaultSQLPolicyConfig() SQLPolicyConfig {
	return SQLPolicyConfig{
		BlockedStatements:  []string{"DROP", "TRUNCATE", "ALTER", "GRANT", "REVOKE", "MERGE"},
		RequireWhereClause: []string{"DELETE", "UPDATE"},
		BlockedCreateTypes: []string{"USER", "ROLE", "LOGIN"},
		BlockedPatterns: []string{
			`\bEXEC(UTE)?\s+XP_CMDSHELL\b`,
			`\bEXEC(UTE)?\s+SP_CONFIGURE\b`,
			`\bEXEC(UTE)?\s+SP_ADDROLEMEMBER\b`,
			`\bLOAD_FILE\s*\(`,
			`\bINTO\s+(OUT|DUMP)FILE\b`,
			`\bLOAD\s+DATA\b`,
			`\bMERGE\s+INTO\b`,
		},
	}
}

// Source patterns of the reference's SQL fallback.
const (
	sqlUpdateSet = `\bUPDATE\s+\w+\s+SET\b`
	// sqlUpdateNoWhere is how the reference writes the rule (with a
	// lookahead RE2 lacks); it names the rule in reasons.
	sqlUpdateNoWhere = `\bUPDATE\s+\w+\s+SET\b(?!.*\bWHERE\b)`
)

// sqlRule is one compiled rule of an [SQLChecker].
type sqlRule struct {
	source string         // the reference's pattern text
	re     *regexp.Regexp // compiled RE2 form
	// noWhereAfter makes the rule the hand-written form of
	// "re(?!.*\bWHERE\b)": a match counts only if the rest of its line
	// holds no WHERE word.
	noWhereAfter bool
}

// SQLChecker is the compiled form of an [SQLPolicyConfig]: the reference's
// _fallback_sql_check. It is immutable and safe for concurrent use.
//
// Semantics, kept from the reference: the query is upper-cased, /*...*/
// and --... comments are removed, and any rule that matches blocks it.
// Keywords inside string literals therefore count ("SELECT 'DROP TABLE x'"
// is blocked), and the UPDATE-without-WHERE rule looks for the WHERE on the
// same line only.
type SQLChecker struct {
	rules []sqlRule
}

var (
	sqlBlockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	sqlLineComment  = regexp.MustCompile(`(?m)--.*$`)
	sqlWhereWord    = regexp.MustCompile(`\bWHERE\b`)
)

// NewSQLChecker compiles cfg. Every pattern is compiled here; an error
// (matching [ErrInvalidArgument]) names the pattern that failed.
func NewSQLChecker(cfg SQLPolicyConfig) (*SQLChecker, error) {
	var sources []string
	noWhere := map[int]bool{}
	for _, stmt := range cfg.BlockedStatements {
		switch stmt {
		case "DROP":
			sources = append(sources, `\bDROP\s+(TABLE|DATABASE|INDEX|VIEW|MATERIALIZED\s+VIEW|SCHEMA|PROCEDURE|FUNCTION|TRIGGER)\b`)
		case "TRUNCATE":
			sources = append(sources, `\bTRUNCATE\s+(TABLE\s+)?\w+`)
		case "ALTER":
			sources = append(sources, `\bALTER\s+(TABLE|DATABASE|SCHEMA)\b`)
		case "GRANT":
			sources = append(sources, `\bGRANT\b`)
		case "REVOKE":
			sources = append(sources, `\bREVOKE\b`)
		case "MERGE":
			sources = append(sources, `\bMERGE\s+INTO\b`)
		case "INSERT":
			sources = append(sources, `\bINSERT\s+INTO\b`)
		case "UPDATE", "DELETE":
			sources = append(sources, `\b`+stmt+`\b`)
		}
	}
	for _, stmt := range cfg.RequireWhereClause {
		switch stmt {
		case "DELETE":
			sources = append(sources, `\bDELETE\s+FROM\s+\w+\s*(;|$)`)
		case "UPDATE":
			noWhere[len(sources)] = true
			sources = append(sources, sqlUpdateNoWhere)
		}
	}
	for _, ct := range cfg.BlockedCreateTypes {
		q := regexp.QuoteMeta(ct)
		sources = append(sources, `\bCREATE\s+`+q+`\b`, `\bALTER\s+`+q+`\b`, `\bDROP\s+`+q+`\b`)
	}
	sources = append(sources, cfg.BlockedPatterns...)

	c := &SQLChecker{rules: make([]sqlRule, len(sources))}
	for i, src := range sources {
		compileSrc := src
		if noWhere[i] {
			compileSrc = sqlUpdateSet
		}
		re, err := compilePython(compileSrc, false)
		if err != nil {
			return nil, fmt.Errorf("%w: sql pattern %q: %v", ErrInvalidArgument, src, err)
		}
		c.rules[i] = sqlRule{source: src, re: re, noWhereAfter: noWhere[i]}
	}
	return c, nil
}

// Allowed reports whether query passes every rule.
func (c *SQLChecker) Allowed(query string) bool {
	_, blocked := c.Match(query)
	return !blocked
}

// Match returns the source of the first rule that blocks query, and true;
// or "", false if the query is allowed.
func (c *SQLChecker) Match(query string) (rule string, blocked bool) {
	q := normalizeSQL(query)
	for i := range c.rules {
		r := &c.rules[i]
		if r.noWhereAfter {
			if matchNoWhereAfter(r.re, q) {
				return r.source, true
			}
			continue
		}
		if r.re.MatchString(q) {
			return r.source, true
		}
	}
	return "", false
}

// normalizeSQL upper-cases the query (Unicode-aware, as Python's str.upper,
// including ß → SS) and strips comments.
func normalizeSQL(query string) string {
	q := strings.ToUpper(query)
	if strings.ContainsRune(q, 'ß') {
		q = strings.ReplaceAll(q, "ß", "SS")
	}
	if strings.Contains(q, "/*") {
		q = sqlBlockComment.ReplaceAllString(q, "")
	}
	if strings.Contains(q, "--") {
		q = sqlLineComment.ReplaceAllString(q, "")
	}
	return q
}

// matchNoWhereAfter implements re(?!.*\bWHERE\b) without lookahead: some
// match of re must be followed, on the rest of its line, by no WHERE word.
//
// Only non-overlapping matches are tried. That is enough: a match of
// \bUPDATE\s+\w+\s+SET\b overlapping an earlier one ends, at most, one
// whitespace run and one SET later, so if a WHERE follows the earlier match
// on its line, either that line ends first (the earlier match already
// qualifies) or the WHERE also follows the later match.
func matchNoWhereAfter(re *regexp.Regexp, q string) bool {
	for _, m := range re.FindAllStringIndex(q, -1) {
		rest := q[m[1]:]
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[:nl]
		}
		if !sqlWhereWord.MatchString(rest) {
			return true
		}
	}
	return false
}

// FallbackSQLCheck is the reference's _fallback_sql_check(query, cfg):
// true when query is allowed. It compiles cfg on every call; hot paths
// build an [SQLChecker] once instead. A configuration that does not
// compile blocks every query (fail closed).
func FallbackSQLCheck(query string, cfg SQLPolicyConfig) bool {
	c, err := NewSQLChecker(cfg)
	if err != nil {
		return false
	}
	return c.Allowed(query)
}
