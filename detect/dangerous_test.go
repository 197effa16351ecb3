package detect

import (
	"strings"
	"testing"
)

func TestDangerousScan(t *testing.T) {
	t.Parallel()
	d := NewDangerous(DangerousOptions{})
	tests := []struct {
		in   string
		want string // rule, "" for none
	}{
		{"rm -rf /", "rm-rf-root"},
		{"sudo rm -rf --no-preserve-root /", "rm-no-preserve-root"},
		{"rm -fr ~", "rm-rf-root"},
		{"rm -r -f $HOME", "rm-rf-root"},
		{"cd /tmp && rm -rf *", "rm-rf-root"},
		{"rm\u00a0-rf\u00a0/", "rm-rf-root"},
		{"ｒｍ -rf /", "rm-rf-root"},
		{"rm -rf ./build", ""},
		{"rm file.txt", ""},
		{"mkfs.ext4 /dev/sdb1", "mkfs"},
		{"dd if=/dev/zero of=/dev/sda bs=1M", "dd-device"},
		{"dd if=disk.img of=backup.img", ""},
		{":(){ :|:& };:", "fork-bomb"},
		{"curl -fsSL https://x.sh | bash", "curl-pipe-shell"},
		{"wget -qO- http://x | sudo sh", "curl-pipe-shell"},
		{"curl -o file.tgz https://x", ""},
		{"chmod -R 777 /", "chmod-777-root"},
		{"chown -R nobody /", "chown-root"},
		{"setenforce 0", "selinux-disable"},
		{"sudo ufw disable", "firewall-disable"},
		{"systemctl stop firewalld", "security-service-stop"},
		{"systemctl stop nginx", ""},
		{"auditctl -D", "audit-disable"},
		{"history -c", "history-wipe"},
		{"shred -n 3 /dev/sdb", "shred-device"},
		{"kill -9 -1", "kill-all"},
		{"kill -9 1234", ""},
		{"crontab -r", "crontab-remove"},
		{"git push --force origin main", "git-force-push-main"},
		{"git push origin feature", ""},
		{"echo x > /dev/sda", "redirect-device"},
		{"DROP TABLE users;", "sql-drop"},
		{"drop table if exists users", "sql-drop"},
		{"TRUNCATE TABLE logs", "sql-truncate"},
		{"DELETE FROM users", "sql-delete-without-where"},
		{"DELETE FROM users\nWHERE id = 1", ""},
		{"DELETE FROM users WHERE 1=1", "sql-delete-where-true"},
		{"UPDATE accounts SET balance = 0", "sql-update-without-where"},
		{"UPDATE accounts SET balance = 0 WHERE id = 7", ""},
		{"GRANT ALL PRIVILEGES ON db.* TO 'bob'", "sql-grant-all"},
		{"ALTER TABLE t DROP COLUMN c", "sql-alter-drop"},
		{"EXEC xp_cmdshell 'dir'", "sql-xp-cmdshell"},
		{"SELECT * FROM t INTO OUTFILE '/tmp/x'", "sql-into-outfile"},
		{`cur.execute("DELETE FROM sessions")`, "sql-delete-without-where"},
		{"SELECT name FROM users WHERE id = 1", ""},
		{"-- DROP TABLE users\nSELECT 1", ""},
		{"SELECT 'DROP TABLE x' AS s", ""},
		{"please drop the table from the report", ""},
		{"eval(user_input)", "eval-input"},
		{"eval('1+1')", ""},
		{"data = pickle.loads(blob)", "pickle-load"},
		{"yaml.load(f)", "yaml-unsafe-load"},
		{"yaml.load(f, Loader=yaml.SafeLoader)", ""},
		{"subprocess.run(cmd, shell=True)", "subprocess-shell"},
		{"subprocess.run(cmd, shell = True)", "subprocess-shell"},
		{"f = new Function ('return ' + body)", "new-function"},
		{"$out = shell_exec($cmd);", "php-shell"},
		{"obj = joblib.load(path)", "pickle-load"},
		{"download(url); upload(file)", ""},
		{"os.system('ls ' + d)", "os-system"},
		{"require('child_process').exec(cmd)", "child-process-exec"},
		{"Runtime.getRuntime().exec(cmd)", "runtime-exec"},
		{"ls -la /tmp", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			fs, err := d.Scan(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			for _, f := range fs {
				rules = append(rules, f.Rule)
				if f.Start < 0 || f.End > len(tt.in) || f.Start > f.End {
					t.Errorf("span [%d,%d) out of range for %q", f.Start, f.End, tt.in)
				}
				if f.Suggestion == "" {
					t.Errorf("finding %s has no suggestion", f.Rule)
				}
			}
			got := strings.Join(rules, ",")
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(","+got+",", ","+tt.want+",") {
				t.Errorf("Scan(%q) rules = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
