package detect

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// CheckViolation is one violation of the `agentos check` rules: the
// reference's PolicyChecker output, one per matching line.
type CheckViolation struct {
	// Line is the 1-based line number.
	Line int `json:"line"`
	// Code is the offending line with surrounding white space removed.
	Code string `json:"code"`
	// Violation is the rule's message.
	Violation string `json:"violation"`
	// Policy is the rule group, e.g. "block-destructive-sql".
	Policy string `json:"policy"`
	// Severity is "critical", "high", "medium" or "low".
	Severity string `json:"severity"`
	// Suggestion says how to fix it; empty when the rule has none.
	Suggestion string `json:"suggestion"`
	// RuleID identifies the individual pattern (stable, for SARIF).
	RuleID string `json:"-"`
}

// checkRule is one pattern of the reference `agentos check` rules.
type checkRule struct {
	id, policy, message, suggestion, severity string
	re                                        *regexp.Regexp
	langs                                     []string // nil: every language, unknown included
	// lits are lower-case ASCII literals one of which every match holds
	// (ASCII case-insensitively): the rule runs only on lines with one.
	lits []string
}

var (
	langsSQLHost = []string{"sql", "python", "javascript", "typescript", "php", "ruby", "java"}
	langsShell   = []string{"bash", "shell", "sh", "zsh"}
	langsEval    = []string{"python", "javascript", "typescript", "php", "ruby"}
	langsSQLi    = []string{"python", "javascript", "typescript", "php", "ruby", "java"}
	langsJS      = []string{"javascript", "typescript"}
)

// CheckRules is the compiled rule set of `agentos check`: the reference's
// default PolicyChecker rules, in its order. Every pattern is
// case-insensitive and matched per line. It is immutable and safe for
// concurrent use.
type CheckRules struct {
	rules []checkRule
	// lits finds every rule's literals in one pass; litRule maps each
	// literal to its rule.
	lits    *literalSet
	litRule []int
}

// NewCheckRules returns the reference's default check rules.
func NewCheckRules() *CheckRules {
	re := func(p string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + p) }
	c := &CheckRules{rules: []checkRule{
		{id: "destructive-sql-drop", lits: []string{"drop"}, policy: "block-destructive-sql", severity: "critical", langs: langsSQLHost,
			re: re(`\bDROP\s+(?:TABLE|DATABASE|SCHEMA|INDEX)\s+`), message: "Destructive SQL: DROP operation detected",
			suggestion: "-- Consider using soft delete or archiving instead"},
		{id: "destructive-sql-delete", lits: []string{"delete"}, policy: "block-destructive-sql", severity: "critical", langs: langsSQLHost,
			re: re(`\bDELETE\s+FROM\s+\w+\s*(?:;|$|WHERE\s+1\s*=\s*1)`), message: "Destructive SQL: DELETE without WHERE clause detected",
			suggestion: "-- Add a WHERE clause to limit the rows deleted"},
		{id: "destructive-sql-truncate", lits: []string{"truncate"}, policy: "block-destructive-sql", severity: "critical", langs: langsSQLHost,
			re: re(`\bTRUNCATE\s+TABLE\s+`), message: "Destructive SQL: TRUNCATE operation detected",
			suggestion: "-- Consider deleting specific rows or archiving the table instead"},
		{id: "file-delete-rm-rf", lits: []string{"rm"}, policy: "block-file-deletes", severity: "critical", langs: langsShell,
			re: re(`\brm\s+(?:-rf|-fr|--recursive\s+--force)\s+`), message: "Recursive file deletion detected (rm -rf)",
			suggestion: "# Delete specific files, or move them to a trash directory"},
		{id: "file-delete-rmtree", lits: []string{"rmtree"}, policy: "block-file-deletes", severity: "high", langs: []string{"python"},
			re: re(`\bshutil\.rmtree\s*\(`), message: "Recursive directory deletion detected (shutil.rmtree)",
			suggestion: "# Check the path is inside an allowed directory before deleting"},
		{id: "file-delete-os-remove", lits: []string{"os."}, policy: "block-file-deletes", severity: "medium", langs: []string{"python"},
			re: re(`\bos\.(?:remove|unlink|rmdir)\s*\(`), message: "File deletion detected (os.remove/unlink/rmdir)"},
		{id: "secret-api-key", lits: []string{"api"}, policy: "block-secret-exposure", severity: "critical",
			re: re(`\b(?:api_key|apikey|api_secret)\s*=\s*["'][A-Za-z0-9_\-]{20,}["']`), message: "Hardcoded API key detected",
			suggestion: "# Load the key from an environment variable or a secret store"},
		{id: "secret-password", lits: []string{"password", "passwd", "pwd"}, policy: "block-secret-exposure", severity: "critical",
			re: re(`\b(?:password|passwd|pwd)\s*=\s*["'][^"']+["']`), message: "Hardcoded password detected",
			suggestion: "# Load the password from an environment variable or a secret store"},
		{id: "secret-aws-key", lits: []string{"akia"}, policy: "block-secret-exposure", severity: "critical",
			re: re(`AKIA[0-9A-Z]{16}`), message: "AWS access key detected",
			suggestion: "# Remove the key, rotate it, and use IAM roles or environment variables"},
		{id: "secret-private-key", lits: []string{"-----begin"}, policy: "block-secret-exposure", severity: "critical",
			re: re(`-----BEGIN\s+(?:RSA|DSA|EC|OPENSSH)\s+PRIVATE\s+KEY-----`), message: "Private key detected",
			suggestion: "# Remove the key from the source and rotate it"},
		{id: "secret-github-token", lits: []string{"gh"}, policy: "block-secret-exposure", severity: "critical",
			re: re(`gh[pousr]_[A-Za-z0-9]{36,}`), message: "GitHub token detected",
			suggestion: "# Remove the token, revoke it, and use a secret store"},
		{id: "privilege-sudo", lits: []string{"sudo"}, policy: "block-privilege-escalation", severity: "high", langs: langsShell,
			re: re(`\bsudo\s+`), message: "Privilege escalation detected (sudo)",
			suggestion: "# Run with the least privilege needed"},
		{id: "privilege-chmod-777", lits: []string{"chmod"}, policy: "block-privilege-escalation", severity: "high", langs: langsShell,
			re: re(`\bchmod\s+777\s+`), message: "World-writable permissions detected (chmod 777)",
			suggestion: "# Use 755 for directories and 644 for files"},
		{id: "exec-eval", lits: []string{"eval"}, policy: "block-arbitrary-exec", severity: "high", langs: langsEval,
			re: re(`\beval\s*\(`), message: "Arbitrary code execution detected (eval)",
			suggestion: "# Parse data instead of evaluating it (e.g. json.loads, ast.literal_eval)"},
		{id: "exec-os-system", lits: []string{"os."}, policy: "block-arbitrary-exec", severity: "critical", langs: []string{"python"},
			re: re(`\bos\.system\s*\([^)]*(?:\+|%|\.format|\bf["'])`), message: "Command injection risk detected (os.system with string building)",
			suggestion: "# Use subprocess.run with an argument list"},
		{id: "exec-exec", lits: []string{"exec"}, policy: "block-arbitrary-exec", severity: "high", langs: []string{"python"},
			re: re(`\bexec\s*\(`), message: "Arbitrary code execution detected (exec)",
			suggestion: "# Do not execute generated code"},
		{id: "sql-injection-concat", lits: []string{"select", "insert", "update", "delete"}, policy: "block-sql-injection", severity: "high", langs: langsSQLi,
			re:         re(`["']\s*\+\s*[^+]+?\s*\+\s*["'].*\b(?:SELECT|INSERT|UPDATE|DELETE)\b|\b(?:SELECT|INSERT|UPDATE|DELETE)\b.*["']\s*\+\s*[^+]+?\s*\+\s*["']`),
			message:    "SQL injection risk: query built by string concatenation",
			suggestion: "# Use parameterised queries"},
		{id: "xss-innerhtml", lits: []string{".innerhtml"}, policy: "block-xss", severity: "medium", langs: langsJS,
			re: re(`\.innerHTML\s*=`), message: "XSS risk: assignment to innerHTML",
			suggestion: "// Use textContent, or sanitise the HTML first"},
	}}
	var lits []string
	var fold []bool
	for i, r := range c.rules {
		for _, l := range r.lits {
			lits = append(lits, l)
			fold = append(fold, true)
			c.litRule = append(c.litRule, i)
		}
	}
	c.lits = newLiteralSet(lits, fold)
	return c
}

// LanguageOf maps a file name to the check rules' language: python,
// javascript, typescript, sql, shell, bash, zsh, php, ruby, java, csharp,
// go, or "unknown" (only the rules for every language apply).
func LanguageOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".py":
		return "python"
	case ".js", ".jsx":
		return "javascript"
	case ".ts", ".tsx":
		return "typescript"
	case ".sql":
		return "sql"
	case ".sh":
		return "shell"
	case ".bash":
		return "bash"
	case ".zsh":
		return "zsh"
	case ".php":
		return "php"
	case ".rb":
		return "ruby"
	case ".java":
		return "java"
	case ".cs":
		return "csharp"
	case ".go":
		return "go"
	}
	return "unknown"
}

func (r *checkRule) applies(lang string) bool {
	if r.langs == nil {
		return true
	}
	for _, l := range r.langs {
		if l == lang {
			return true
		}
	}
	return false
}

// Check returns the violations in content for a file of the given
// language, in rule order and then line order, as the reference reports
// them.
func (c *CheckRules) Check(content, lang string) []CheckViolation {
	return c.check(content, lang, c.candidates(content))
}

// check is Check trying rule ri only on the lines in cand[ri]; nil cand
// tries every rule on every line.
func (c *CheckRules) check(content, lang string, cand []map[int]bool) []CheckViolation {
	lines := strings.Split(content, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	var out []CheckViolation
	for ri := range c.rules {
		r := &c.rules[ri]
		if !r.applies(lang) {
			continue
		}
		for li, line := range lines {
			if cand != nil && !cand[ri][li] {
				continue
			}
			if r.re.MatchString(line) {
				out = append(out, CheckViolation{Line: li + 1, Code: strings.TrimSpace(line), Violation: r.message,
					Policy: r.policy, Severity: r.severity, Suggestion: r.suggestion, RuleID: r.id})
			}
		}
	}
	return out
}

// candidates returns, per rule, the lines (0-based, split at \n) holding
// one of its literals; the other lines cannot match it. It returns nil
// when content has letters that Unicode case folding maps to ASCII ones
// (the Kelvin sign, long s, ...): the case-insensitive patterns could then
// match without an ASCII literal, and every line is tried.
func (c *CheckRules) candidates(content string) []map[int]bool {
	if hasFoldSensitive(content) {
		return nil
	}
	cand := make([]map[int]bool, len(c.rules))
	line, scanned := 0, 0
	c.lits.each(content, func(lit, start int) bool {
		// Hits come in order of end, and a literal holds no newline, so
		// counting newlines up to the end finds the line.
		end := start + len(c.lits.lits[lit])
		line += strings.Count(content[scanned:end], "\n")
		scanned = end
		r := c.litRule[lit]
		if cand[r] == nil {
			cand[r] = map[int]bool{}
		}
		cand[r][line] = true
		return true
	})
	return cand
}

// RuleInfo describes one check rule, for SARIF rule metadata.
type RuleInfo struct {
	ID, Policy, Message, Suggestion, Severity string
}

// Rules lists the rules in order.
func (c *CheckRules) Rules() []RuleInfo {
	out := make([]RuleInfo, len(c.rules))
	for i, r := range c.rules {
		out[i] = RuleInfo{ID: r.id, Policy: r.policy, Message: r.message, Suggestion: r.suggestion, Severity: r.severity}
	}
	return out
}

// DangerousPolicy is the Policy of the check violations that come from the
// [Dangerous] detector rather than from the reference's rules.
const DangerousPolicy = "block-dangerous-operations"

// DangerousRules describes the rules of the violations [CheckDangerous]
// reports, one per kind of operation, for SARIF rule metadata.
func DangerousRules() []RuleInfo {
	return []RuleInfo{
		{ID: "dangerous-shell", Policy: DangerousPolicy, Severity: "critical",
			Message:    "Destructive shell command",
			Suggestion: "Scope the command to the files it needs, or drop it"},
		{ID: "dangerous-sql", Policy: DangerousPolicy, Severity: "critical",
			Message:    "Destructive SQL statement",
			Suggestion: "Limit the statement with a WHERE clause, or archive instead of dropping"},
		{ID: "dangerous-code", Policy: DangerousPolicy, Severity: "high",
			Message:    "Code that runs commands or untrusted code",
			Suggestion: "Use an argument list instead of a shell, and parse data instead of evaluating it"},
	}
}

// CheckDangerous returns the findings of d in content as check
// violations, in line order: one per line and detector rule. Policy is
// [DangerousPolicy], RuleID "dangerous-" plus the kind (shell, sql, code),
// Violation the finding's explanation, naming its rule. An error from d
// (an input larger than its limit, a cancelled ctx) is returned: callers
// fail closed.
func CheckDangerous(ctx context.Context, d *Dangerous, content string) ([]CheckViolation, error) {
	fs, err := d.Scan(ctx, content)
	if err != nil {
		return nil, fmt.Errorf("dangerous-operation check: %w", err)
	}
	var out []CheckViolation
	seen := map[string]bool{}
	line, lineStart, pos := 1, 0, 0
	for _, f := range fs { // in order of position
		start := max(f.Start, 0)
		for ; pos < start && pos < len(content); pos++ {
			if content[pos] == '\n' {
				line++
				lineStart = pos + 1
			}
		}
		key := strconv.Itoa(line) + "\x00" + f.Rule
		if seen[key] {
			continue
		}
		seen[key] = true
		end := strings.IndexByte(content[lineStart:], '\n')
		if end < 0 {
			end = len(content) - lineStart
		}
		code := strings.TrimSpace(strings.TrimSuffix(content[lineStart:lineStart+end], "\r"))
		out = append(out, CheckViolation{Line: line, Code: code,
			Violation: "Dangerous operation (" + f.Rule + "): " + f.Explanation,
			Policy:    DangerousPolicy, Severity: f.Severity.String(), Suggestion: f.Suggestion,
			RuleID: "dangerous-" + f.Kind})
	}
	return out, nil
}

// CheckWith runs both rule sets of `agentos check`: the reference's rules
// (Check, whose output comes first and is unchanged) and then the
// violations of [CheckDangerous] on lines the reference's rules did not
// flag, so each line is reported by one rule set only. d's error is
// returned (fail closed).
func (c *CheckRules) CheckWith(ctx context.Context, d *Dangerous, content, lang string) ([]CheckViolation, error) {
	out := c.Check(content, lang)
	dv, err := CheckDangerous(ctx, d, content)
	if err != nil {
		return nil, err
	}
	flagged := make(map[int]bool, len(out))
	for _, v := range out {
		flagged[v.Line] = true
	}
	for _, v := range dv {
		if !flagged[v.Line] {
			out = append(out, v)
		}
	}
	return out, nil
}
