package detect

import (
	"regexp"
	"strings"
)

// codeRule is a dangerous code construct. Rules match the normalised,
// lower-cased text and run only when one of their literal anchors occurs
// (every match contains one).
type codeRule struct {
	id, expl, suggestion string
	anchors              []string
	sev                  Severity
	re                   *regexp.Regexp
	// unless, if set, suppresses a match whose line contains it.
	unless []string
}

// codeRules returns the code rules. The table is built from constants.
func codeRules() []codeRule {
	re := regexp.MustCompile
	return []codeRule{
		{id: "eval-input", anchors: []string{"eval"}, sev: SeverityHigh, re: re(`(?:^|[^a-z0-9_.])eval\s*\(\s*[^)'"\s]`),
			expl: "eval of a non-literal value runs arbitrary code", suggestion: "parse the data (json.loads, ast.literal_eval) instead of evaluating it"},
		{id: "exec-input", anchors: []string{"exec"}, sev: SeverityHigh, re: re(`(?:^|[^a-z0-9_.])exec\s*\(\s*[^)'"\s]`),
			expl: "exec of a non-literal value runs arbitrary code", suggestion: "do not execute generated code; map inputs to fixed functions"},
		{id: "new-function", anchors: []string{"function"}, sev: SeverityHigh, re: re(`\bnew\s+function\s*\(`),
			expl: "new Function compiles a string into code", suggestion: "do not build functions from strings"},
		{id: "pickle-load", anchors: []string{"pickle.", "dill.", "joblib.", "shelve.", "marshal."}, sev: SeverityHigh, re: re(`\b(?:c?pickle|dill|joblib|shelve|marshal|_pickle)\.(?:loads?|unpickler|open)\s*\(`),
			expl: "unpickling untrusted data runs arbitrary code", suggestion: "use a data-only format such as JSON"},
		{id: "yaml-unsafe-load", anchors: []string{"yaml."}, sev: SeverityHigh, re: re(`\byaml\.(?:unsafe_load|load_all|load|full_load)\s*\(`),
			unless: []string{"safeloader", "safe_load", "csafeloader", "loader=yaml.baseloader"},
			expl:   "yaml.load without SafeLoader can construct arbitrary objects", suggestion: "use yaml.safe_load"},
		{id: "subprocess-shell", anchors: []string{"shell"}, sev: SeverityHigh, re: re(`\bsubprocess\.[a-z_]+\s*\(.*shell\s*=\s*true|\bpopen\s*\(.*shell\s*=\s*true`),
			expl: "subprocess with shell=True passes the command through a shell (injection)", suggestion: "pass an argument list and shell=False"},
		{id: "os-system", anchors: []string{"os."}, sev: SeverityHigh, re: re(`\bos\.(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?)\s*\(`),
			expl: "os.system and friends run a command through a shell", suggestion: "use subprocess.run with an argument list"},
		{id: "child-process-exec", anchors: []string{"exec"}, sev: SeverityHigh, re: re(`\b(?:child_process|cp)\.exec(?:sync)?\s*\(|require\s*\(\s*['"]child_process['"]\s*\)\.exec(?:sync)?\s*\(`),
			expl: "child_process.exec runs a command through a shell", suggestion: "use execFile or spawn with an argument array"},
		{id: "runtime-exec", anchors: []string{"getruntime"}, sev: SeverityHigh, re: re(`runtime\.getruntime\(\)\.exec\s*\(`),
			expl: "Runtime.exec runs an operating-system command", suggestion: "use ProcessBuilder with a fixed command and validated arguments"},
		{id: "java-deserialization", anchors: []string{"objectinputstream"}, sev: SeverityHigh, re: re(`\bnew\s+objectinputstream\s*\(`),
			expl: "Java native deserialisation of untrusted data can run code", suggestion: "use a data format such as JSON with a fixed schema"},
		{id: "dotnet-binaryformatter", anchors: []string{"binaryformatter"}, sev: SeverityHigh, re: re(`\bbinaryformatter\b`),
			expl: "BinaryFormatter deserialisation is unsafe", suggestion: "use System.Text.Json"},
		{id: "php-unserialize", anchors: []string{"unserialize"}, sev: SeverityHigh, re: re(`(?:^|[^a-z0-9_])unserialize\s*\(\s*\$`),
			expl: "unserialize of user data can instantiate arbitrary objects", suggestion: "use json_decode"},
		{id: "ruby-marshal-load", anchors: []string{"marshal.load"}, sev: SeverityHigh, re: re(`\bmarshal\.load\s*\(`),
			expl: "Marshal.load of untrusted data can run code", suggestion: "use JSON"},
		{id: "php-shell", anchors: []string{"shell_exec", "passthru", "proc_open"}, sev: SeverityHigh, re: re(`(?:^|[^a-z0-9_>:.])(?:shell_exec|passthru|proc_open)\s*\(`),
			expl: "runs an operating-system command through a shell", suggestion: "avoid shell commands; use library functions"},
	}
}

// codeFinding is a dangerous code construct.
type codeFinding struct {
	rule, expl, suggestion string
	sev                    Severity
	start, end             int
}

func analyzeCode(rules []codeRule, text string, meter *workMeter) []codeFinding {
	var out []codeFinding
	for i := range rules {
		r := &rules[i]
		if !containsAny(text, r.anchors) {
			continue
		}
		meter.add(len(text))
		for _, m := range r.re.FindAllStringIndex(text, 64) {
			ls := strings.LastIndexByte(text[:m[0]], '\n') + 1
			le := strings.IndexByte(text[m[0]:], '\n')
			if le < 0 {
				le = len(text)
			} else {
				le += m[0]
			}
			line := text[ls:le]
			skip := false
			for _, u := range r.unless {
				if strings.Contains(line, u) {
					skip = true
				}
			}
			if skip {
				continue
			}
			a := m[0]
			for a < m[1] && !isAlnum(text[a]) && text[a] != '_' {
				a++
			}
			out = append(out, codeFinding{rule: r.id, sev: r.sev, expl: r.expl, suggestion: r.suggestion, start: a, end: m[1]})
		}
	}
	return out
}
