package detect

import (
	"regexp"
	"strings"
)

// shellCmd is one simple command of a shell line: its words, and whether
// its input is piped from the previous command.
type shellCmd struct {
	words      []string
	start, end int // byte span in the scanned text
	piped      bool
	prev       *shellCmd // the command piping into this one
}

// maxShellWords bounds the words kept per command.
const maxShellWords = 256

// splitShell splits text into simple commands at ; & | && || newlines,
// parentheses, backquotes and $( ; quotes group words. It is a tokenizer
// for detection, not a shell parser: it never fails.
func splitShell(text string) []shellCmd {
	var cmds []shellCmd
	var cur shellCmd
	var word strings.Builder
	inWord := false
	wordStart := -1
	cur.start = -1
	flushWord := func(i int) {
		if inWord {
			if len(cur.words) < maxShellWords {
				cur.words = append(cur.words, word.String())
			}
			word.Reset()
			inWord = false
		}
		_ = i
	}
	flushCmd := func(i int, pipedNext bool) {
		flushWord(i)
		if len(cur.words) > 0 {
			cur.end = i
			cmds = append(cmds, cur)
		}
		cur = shellCmd{start: -1, piped: pipedNext && len(cmds) > 0}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case '\'', '"':
			j := strings.IndexByte(text[i+1:], c)
			if j < 0 {
				j = len(text) - i - 1
			}
			if cur.start < 0 {
				cur.start = i
			}
			if !inWord {
				wordStart = i
			}
			inWord = true
			word.WriteString(text[i+1 : i+1+j])
			i += j + 1
		case ' ', '\t', '\r':
			flushWord(i)
		case '\\':
			if i+1 < len(text) && text[i+1] == '\n' {
				i++ // line continuation
				flushWord(i)
				continue
			}
			if i+1 < len(text) {
				if !inWord {
					wordStart = i
				}
				inWord = true
				word.WriteByte(text[i+1])
				i++
			}
		case ';', '\n', '(', ')', '`', '{', '}':
			flushCmd(i, false)
		case '&':
			if i+1 < len(text) && text[i+1] == '&' {
				i++
			}
			if i > 0 && text[i-1] == '>' || i+1 < len(text) && text[i+1] == '>' {
				word.WriteByte(c)
				inWord = true
				continue
			}
			flushCmd(i, false)
		case '|':
			if i+1 < len(text) && text[i+1] == '|' {
				i++
				flushCmd(i, false)
				continue
			}
			flushCmd(i, true)
		case '$':
			if i+1 < len(text) && text[i+1] == '(' {
				flushCmd(i, false)
				i++
				continue
			}
			fallthrough
		default:
			if cur.start < 0 {
				cur.start = i
			}
			if !inWord {
				wordStart = i
			}
			inWord = true
			word.WriteByte(c)
		}
	}
	_ = wordStart
	flushCmd(len(text), false)
	for i := range cmds {
		if cmds[i].piped && i > 0 {
			cmds[i].prev = &cmds[i-1]
		}
	}
	return cmds
}

// commandName returns the index of the real command word, skipping
// wrappers such as sudo, env, nohup, time, exec and VAR=value assignments,
// and the command's base name.
func commandName(words []string) (int, string) {
	i := 0
	for i < len(words) {
		w := words[i]
		base := w
		if k := strings.LastIndexByte(w, '/'); k >= 0 {
			base = w[k+1:]
		}
		switch {
		case base == "sudo" || base == "doas" || base == "nohup" || base == "time" || base == "exec" ||
			base == "command" || base == "builtin" || base == "nice" || base == "ionice" || base == "busybox" || base == "xargs":
			i++
			for i < len(words) && strings.HasPrefix(words[i], "-") {
				i++
				if base == "sudo" && i < len(words) && (words[i-1] == "-u" || words[i-1] == "-g") {
					i++
				}
			}
			continue
		case base == "env":
			i++
			for i < len(words) && (strings.HasPrefix(words[i], "-") || strings.Contains(words[i], "=")) {
				i++
			}
			continue
		case strings.Contains(w, "=") && !strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "="):
			i++
			continue
		}
		return i, base
	}
	return -1, ""
}

// rootLike reports whether a path argument names the file-system root, a
// home directory, everything in the current directory, or a top-level
// system directory.
func rootLike(p string) bool {
	p = strings.TrimRight(p, "/")
	if p == "" { // "/" or "//"
		return true
	}
	switch p {
	case "/*", "~", "~/*", "$home", "${home}", "$home/*", "${home}/*", "*", ".", "..", "./*", "/.", "/..", ".*":
		return true
	}
	switch strings.TrimSuffix(p, "/*") {
	case "/etc", "/usr", "/var", "/bin", "/sbin", "/boot", "/lib", "/lib64", "/home", "/root", "/opt",
		"/sys", "/proc", "/dev", "/srv", "/mnt", "/media", "/usr/bin", "/usr/lib", "/var/lib", "~", "$home", "${home}":
		return true
	}
	return false
}

// blockDevice reports whether p names a disk or partition device.
func blockDevice(p string) bool {
	for _, pre := range []string{"/dev/sd", "/dev/hd", "/dev/vd", "/dev/xvd", "/dev/nvme", "/dev/mmcblk", "/dev/disk", "/dev/rdisk", "/dev/md", "/dev/mapper/", "/dev/dm-", "/dev/loop"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

func hasShortFlag(words []string, flag byte) bool {
	for _, w := range words {
		if len(w) > 1 && w[0] == '-' && w[1] != '-' && strings.IndexByte(w[1:], flag) >= 0 {
			return true
		}
	}
	return false
}

func hasWord(words []string, ws ...string) bool {
	for _, w := range words {
		for _, x := range ws {
			if w == x {
				return true
			}
		}
	}
	return false
}

var shellInterpreters = map[string]bool{"sh": true, "bash": true, "zsh": true, "dash": true, "ksh": true,
	"fish": true, "python": true, "python3": true, "perl": true, "ruby": true, "node": true, "php": true}

var securityServices = map[string]bool{"firewalld": true, "ufw": true, "apparmor": true, "auditd": true,
	"iptables": true, "nftables": true, "selinux": true, "fail2ban": true, "clamav-daemon": true,
	"clamd": true, "falco": true, "osqueryd": true, "crowdstrike": true, "falcon-sensor": true, "wazuh-agent": true}

var forkBombRE = regexp.MustCompile(`([a-z_:][a-z0-9_:]*)\(\)\s*\{\s*([a-z_:][a-z0-9_:]*)\s*\|\s*([a-z_:][a-z0-9_:]*)\s*&\s*\}`)

// shellFinding is a dangerous shell command found by analyzeShell.
type shellFinding struct {
	rule, expl, suggestion string
	sev                    Severity
	start, end             int
}

// analyzeShell inspects every simple command of the (normalised,
// lower-cased) text.
func analyzeShell(text string, meter *workMeter) []shellFinding {
	var out []shellFinding
	add := func(c *shellCmd, rule string, sev Severity, expl, sugg string) {
		out = append(out, shellFinding{rule: rule, sev: sev, expl: expl, suggestion: sugg, start: c.start, end: c.end})
	}
	if strings.Contains(text, "()") {
		for _, m := range forkBombRE.FindAllStringSubmatchIndex(text, 8) {
			n1, n2, n3 := text[m[2]:m[3]], text[m[4]:m[5]], text[m[6]:m[7]]
			if n1 == n2 && n2 == n3 {
				out = append(out, shellFinding{rule: "fork-bomb", sev: SeverityCritical, start: m[0], end: m[1],
					expl:       "fork bomb: a function that pipes into itself in the background exhausts the process table",
					suggestion: "do not run this; set process limits (ulimit -u) for agent sandboxes"})
			}
		}
	}
	cmds := splitShell(text)
	meter.add(len(text))
	for ci := range cmds {
		meter.add(len(cmds[ci].words))
		c := &cmds[ci]
		i, name := commandName(c.words)
		if i < 0 {
			continue
		}
		args := c.words[i+1:]
		if strings.HasPrefix(name, "mkfs.") || strings.HasPrefix(name, "mkfs_") {
			name = "mkfs"
		}
		switch name {
		case "rm":
			recursive := hasShortFlag(args, 'r') || hasShortFlag(args, 'R') || hasWord(args, "--recursive")
			if hasWord(args, "--no-preserve-root") {
				add(c, "rm-no-preserve-root", SeverityCritical, "rm with --no-preserve-root deletes the whole file system",
					"never pass --no-preserve-root; delete specific paths")
				continue
			}
			if recursive {
				for _, a := range args {
					if !strings.HasPrefix(a, "-") && rootLike(a) {
						add(c, "rm-rf-root", SeverityCritical, "recursive delete of the root, a home or a system directory ("+a+")",
							"delete only the specific paths you mean, and prefer moving them to a trash directory")
						break
					}
				}
			}
		case "mkfs", "mke2fs", "mkswap", "newfs", "mkdosfs", "mkntfs":
			onDevice := false
			for _, a := range args {
				if blockDevice(a) {
					onDevice = true
				}
			}
			if !onDevice {
				continue
			}
			add(c, "mkfs", SeverityCritical, "formats a file system, destroying its data",
				"double-check the device; formatting must be done by a person, not an agent")
		case "dd":
			for _, a := range args {
				if strings.HasPrefix(a, "of=") && (blockDevice(a[3:]) || a[3:] == "/dev/mem" || a[3:] == "/dev/kmem") {
					add(c, "dd-device", SeverityCritical, "dd writes directly to a disk device ("+a[3:]+"), destroying its data",
						"write to a file instead, or have a person verify the target device")
					break
				}
			}
		case "shred", "wipefs", "blkdiscard", "sgdisk":
			for _, a := range args {
				if (name != "sgdisk" && name != "wipefs" && blockDevice(a)) || (name == "shred" && (strings.Contains(a, "history") || rootLike(a))) {
					add(c, name+"-device", SeverityCritical, name+" on "+a+" destroys data irrecoverably",
						"have a person verify the target; agents must not wipe devices")
					break
				}
			}
			if name == "wipefs" && (hasShortFlag(args, 'a') || hasWord(args, "--all")) && !hasShortFlag(args, 'n') && !hasWord(args, "--no-act") {
				add(c, "wipefs-all", SeverityHigh, "wipefs --all erases file-system signatures", "have a person verify the target device")
			}
			if name == "sgdisk" && (hasWord(args, "--zap-all") || hasShortFlag(args, 'Z')) {
				add(c, "sgdisk-zap", SeverityCritical, "sgdisk --zap-all destroys the partition table", "have a person verify the target device")
			}
		case "chmod":
			perm777 := hasWord(args, "777", "0777", "a+rwx", "ugo+rwx", "-r", "-R", "--recursive")
			if hasWord(args, "777", "0777", "a+rwx", "ugo+rwx") && perm777 {
				root := false
				for _, a := range args {
					if !strings.HasPrefix(a, "-") && rootLike(a) {
						root = true
					}
				}
				if root {
					add(c, "chmod-777-root", SeverityCritical, "makes the root, a home or a system directory world-writable",
						"grant the narrowest permissions needed (e.g. 755 for directories, 644 for files)")
				} else {
					add(c, "chmod-777", SeverityMedium, "makes files world-writable (chmod 777)",
						"grant the narrowest permissions needed (e.g. 755 or 644)")
				}
			}
		case "chown", "chgrp":
			if hasShortFlag(args, 'r') || hasShortFlag(args, 'R') || hasWord(args, "--recursive") {
				for _, a := range args[1:] {
					if !strings.HasPrefix(a, "-") && rootLike(a) {
						add(c, name+"-root", SeverityCritical, "recursive ownership change of the root or a system directory",
							"change ownership of the specific paths you mean")
						break
					}
				}
			}
		case "setenforce":
			if hasWord(args, "0", "permissive") {
				add(c, "selinux-disable", SeverityHigh, "turns SELinux enforcement off", "keep SELinux enforcing; adjust the policy instead")
			}
		case "ufw":
			if hasWord(args, "disable", "reset") && !hasWord(args, "--dry-run") {
				add(c, "firewall-disable", SeverityHigh, "disables the firewall (ufw)", "keep the firewall on; add a specific rule instead")
			}
		case "systemctl", "service", "rc-service", "chkconfig":
			if hasWord(args, "stop", "disable", "mask", "off", "kill") {
				for _, a := range args {
					if securityServices[strings.TrimSuffix(a, ".service")] {
						add(c, "security-service-stop", SeverityHigh, "stops or disables a security service ("+a+")",
							"leave security services running; change their configuration instead")
						break
					}
				}
			}
		case "auditctl":
			if hasWord(args, "-d", "-D") || hasWord(args, "-e") && hasWord(args, "0") {
				add(c, "audit-disable", SeverityHigh, "deletes audit rules or disables auditing", "keep auditing enabled")
			}
		case "iptables", "ip6tables", "nft":
			if hasWord(args, "-f", "-F", "--flush", "flush") {
				add(c, "firewall-flush", SeverityHigh, "flushes all firewall rules", "remove specific rules instead of flushing")
			}
		case "history":
			if hasWord(args, "-c", "-w") && hasWord(args, "-c") {
				add(c, "history-wipe", SeverityHigh, "clears the shell history (covering tracks)", "do not erase history on shared systems")
			}
		case "unset":
			if hasWord(args, "histfile") {
				add(c, "history-wipe", SeverityHigh, "disables shell history (covering tracks)", "do not disable history on shared systems")
			}
		case "export":
			for _, a := range args {
				if a == "histfile=/dev/null" || a == "histsize=0" || a == "histfilesize=0" {
					add(c, "history-wipe", SeverityHigh, "disables shell history (covering tracks)", "do not disable history on shared systems")
				}
			}
		case "kill", "pkill":
			if name == "kill" && hasWord(args, "-1") && (hasWord(args, "-9", "-kill", "-s") || len(args) >= 1) {
				add(c, "kill-all", SeverityCritical, "kill -1 signals every process the user can reach",
					"kill specific process ids")
			}
		case "killall5":
			add(c, "kill-all", SeverityCritical, "signals every process", "kill specific process ids")
		case "crontab":
			if hasWord(args, "-r") {
				add(c, "crontab-remove", SeverityHigh, "removes the user's whole crontab", "edit specific entries with crontab -e")
			}
		case "git":
			if len(args) > 0 && args[0] == "push" && (hasWord(args, "--force", "-f") || anyPrefix(args, "+")) &&
				(hasWord(args, "main", "master") || anyPrefix(args, "+main", "+master") || anySuffix(args, ":main", ":master")) {
				add(c, "git-force-push-main", SeverityHigh, "force-pushes to the main branch, rewriting shared history",
					"push to a branch and open a pull request, or use --force-with-lease on your own branch")
			}
		case "sh", "bash", "zsh", "dash", "ksh":
			// bash <(curl ...) and sh -c "$(curl ...)" leave the download
			// in a separate command; see the pipe check below.
		}
		if shellInterpreters[name] && c.prev != nil {
			if pi, pn := commandName(c.prev.words); pi >= 0 && (pn == "curl" || pn == "wget" || pn == "fetch") {
				out = append(out, shellFinding{rule: "curl-pipe-shell", sev: SeverityCritical, start: c.prev.start, end: c.end,
					expl:       "downloads a script and runs it unseen (" + pn + " | " + name + ")",
					suggestion: "download to a file, verify its checksum or signature, read it, then run it"})
			}
		}
		if (name == "curl" || name == "wget") && ci > 0 {
			// sh -c "$(curl ...)" and bash <(curl ...): the previous command is the interpreter.
			if _, pn := commandName(cmds[ci-1].words); shellInterpreters[pn] && cmds[ci-1].end <= c.start &&
				strings.Contains(text[cmds[ci-1].start:c.start], "$(") || strings.Contains(text[max(0, c.start-3):c.start], "<(") {
				if _, pn2 := commandName(cmds[ci-1].words); shellInterpreters[pn2] {
					out = append(out, shellFinding{rule: "curl-pipe-shell", sev: SeverityCritical, start: cmds[ci-1].start, end: c.end,
						expl:       "downloads a script and runs it unseen (" + pn2 + " with " + name + ")",
						suggestion: "download to a file, verify its checksum or signature, read it, then run it"})
				}
			}
		}
		// Redirection onto a disk device: > /dev/sda
		for k, w := range c.words {
			if (w == ">" || w == ">>") && k+1 < len(c.words) && blockDevice(c.words[k+1]) ||
				(strings.HasPrefix(w, ">") && blockDevice(strings.TrimLeft(w, ">"))) {
				add(c, "redirect-device", SeverityCritical, "overwrites a disk device with a redirection",
					"write to a file, never to a raw device")
				break
			}
		}
	}
	return out
}

func anyPrefix(ws []string, pre ...string) bool {
	for _, w := range ws {
		for _, p := range pre {
			if strings.HasPrefix(w, p) {
				return true
			}
		}
	}
	return false
}

func anySuffix(ws []string, suf ...string) bool {
	for _, w := range ws {
		for _, s := range suf {
			if strings.HasSuffix(w, s) {
				return true
			}
		}
	}
	return false
}
