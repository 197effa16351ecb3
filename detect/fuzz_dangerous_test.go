package detect

import "testing"

// FuzzDangerous checks the dangerous-operation detector: no panic, spans
// in bounds of the original input, and every finding has a suggestion.
func FuzzDangerous(f *testing.F) {
	for _, s := range []string{"rm -rf /", "rm\u00a0-rf ~", ":(){ :|:& };:", "curl x | sh", "DELETE FROM t", "UPDATE t SET a=1 WHERE 1=1",
		"cur.execute(\"DROP TABLE x\")", "eval(x)", "subprocess.run(c, shell=True)", "ｒｍ -rf /", "'unterminated DELETE FROM"} {
		f.Add(s)
	}
	d := NewDangerous(DangerousOptions{MaxInput: 1 << 16})
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := d.Scan(t.Context(), s)
		if err != nil {
			return
		}
		for _, x := range fs {
			if x.Start < 0 || x.End > len(s) || x.Start > x.End || x.Suggestion == "" {
				t.Fatalf("bad finding %+v for %q", x, s)
			}
		}
	})
}

// FuzzCheckRules checks the `agentos check` rules never panic and report
// lines inside the file.
func FuzzCheckRules(f *testing.F) {
	f.Add("DROP TABLE users;\nrm -rf /x\n", "sql")
	f.Add("password = 'x'\neval(y)\n", "python")
	c := NewCheckRules()
	f.Fuzz(func(t *testing.T, content, lang string) {
		lines := 1
		for i := 0; i < len(content); i++ {
			if content[i] == '\n' {
				lines++
			}
		}
		for _, v := range c.Check(content, lang) {
			if v.Line < 1 || v.Line > lines {
				t.Fatalf("line %d outside 1..%d", v.Line, lines)
			}
		}
	})
}
