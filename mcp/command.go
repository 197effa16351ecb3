package mcp

import (
	"cmp"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/agentos/agentos/audit"
	"github.com/agentos/agentos/detect"
)

// CommandFinding is one reason a server command line is risky.
type CommandFinding struct {
	// Rule identifies the rule: pipe-to-shell, destructive-rm,
	// reverse-shell, inline-secret, env-secret, shell-command, sudo,
	// remote-package.
	Rule string `json:"rule"`
	// Severity ranks it; SeverityCritical refuses the launch unless the
	// user allows risky commands.
	Severity detect.Severity `json:"severity"`
	// Message says what was found, never the secret itself.
	Message string `json:"message"`
}

// Command-rating patterns (compiled from constants).
var (
	rePipeShell   = regexp.MustCompile(`\|\s*(?:sudo\s+)?(?:[\w./-]*/)?(?:ba|z|da|k|fi)?sh\b`)
	reFetch       = regexp.MustCompile(`\b(?:curl|wget|fetch|iwr|Invoke-WebRequest)\b`)
	reRmRF        = regexp.MustCompile(`\brm\s+(?:-[a-zA-Z]*\s+)*(?:-[a-zA-Z]*(?:r[a-zA-Z]*f|f[a-zA-Z]*r)|--recursive\s+--force|--force\s+--recursive|-r\s+-f|-f\s+-r)\b`)
	reReverse     = regexp.MustCompile(`/dev/tcp/|\bnc(?:at)?\b[^|;&]*\s-[a-zA-Z]*e\b|\bsocat\b[^|;&]*exec:`)
	reRemotePkg   = regexp.MustCompile(`^(?:https?://|git\+|github:|gitlab:|bitbucket:)`)
	shellPrograms = map[string]bool{"sh": true, "bash": true, "zsh": true, "dash": true, "ksh": true, "fish": true, "cmd": true, "cmd.exe": true, "powershell": true, "pwsh": true}
)

// RateCommand rates a server command line before it is launched: argv is
// the program and its arguments, env the environment entries the
// configuration sets for it (NAME=value; nil when the environment is
// merely inherited). Findings come most severe first. Critical: a pipe
// into a shell, a recursive forced rm, a reverse shell, a secret written
// inline in the arguments. High: a shell running an inline script, sudo,
// a package fetched from a URL or git, a secret written inline in the
// configured environment.
func RateCommand(argv []string, env []string) []CommandFinding {
	var out []CommandFinding
	add := func(rule string, sev detect.Severity, msg string) {
		out = append(out, CommandFinding{Rule: rule, Severity: sev, Message: msg})
	}
	if len(argv) == 0 {
		return nil
	}
	line := strings.Join(argv, " ")
	if rePipeShell.MatchString(line) {
		msg := "the command pipes data into a shell"
		if reFetch.MatchString(line) {
			msg = "the command downloads a script and pipes it into a shell"
		}
		add("pipe-to-shell", detect.SeverityCritical, msg)
	}
	if reRmRF.MatchString(line) {
		add("destructive-rm", detect.SeverityCritical, "the command runs a recursive, forced rm")
	}
	if reReverse.MatchString(line) {
		add("reverse-shell", detect.SeverityCritical, "the command opens a reverse shell")
	}
	secretNext := false
	for i, a := range argv[1:] {
		if secretNext || (audit.SecretShapes{}).IsSecret(a) || secretAssignment(a) {
			add("inline-secret", detect.SeverityCritical, "argument "+itoa(i+1)+" holds a secret in plain text (visible to every user of the machine); pass it in the environment")
		}
		secretNext = strings.HasPrefix(a, "-") && !strings.Contains(a, "=") && audit.SecretKey(strings.TrimLeft(a, "-"))
	}
	prog := strings.ToLower(filepath.Base(argv[0]))
	if prog == "sudo" || prog == "doas" {
		add("sudo", detect.SeverityHigh, "the server runs with elevated privileges")
	}
	if shellPrograms[prog] {
		for _, a := range argv[1:] {
			if a == "-c" || a == "/c" || strings.EqualFold(a, "-Command") {
				add("shell-command", detect.SeverityHigh, "the server is an inline shell script")
				break
			}
		}
	}
	if prog == "npx" || prog == "uvx" || prog == "bunx" || prog == "pnpx" {
		for _, a := range argv[1:] {
			if reRemotePkg.MatchString(a) {
				add("remote-package", detect.SeverityHigh, "the server package is fetched from a URL or git, not a registry")
				break
			}
		}
	}
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if ok && val != "" && (audit.SecretShapes{}.IsSecret(val) || (audit.SecretKey(name) && len(val) >= 8)) {
			add("env-secret", detect.SeverityHigh, "environment variable "+name+" holds a secret written in the configuration")
		}
	}
	slices.SortStableFunc(out, func(a, b CommandFinding) int { return cmp.Compare(b.Severity, a.Severity) })
	return out
}

// Critical reports whether any finding is critical.
func Critical(fs []CommandFinding) bool {
	for _, f := range fs {
		if f.Severity >= detect.SeverityCritical {
			return true
		}
	}
	return false
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
