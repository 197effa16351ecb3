package detect

import (
	"slices"
	"strings"
)

// sqlToken is one token of a SQL statement: a keyword or identifier
// (upper-cased), a number, a string literal, or one punctuation byte.
type sqlToken struct {
	text       string
	str        bool // string or quoted identifier
	start, end int
}

// maxSQLTokens bounds the tokens examined per statement.
const maxSQLTokens = 4096

// tokenizeSQL splits text from pos into tokens up to the end of the
// statement: a ';' outside strings and comments, or stop (a closing quote
// of the host language), or the end of text. Comments are skipped. It
// returns the tokens and the index after the statement.
func tokenizeSQL(text string, pos int, stop byte) ([]sqlToken, int) {
	return tokenizeSQLLimit(text, pos, stop, len(text))
}

// tokenizeSQLLimit is tokenizeSQL reading no further than limit (bytes
// inside a comment or string that starts before limit may be skipped past
// it).
func tokenizeSQLLimit(text string, pos int, stop byte, limit int) ([]sqlToken, int) {
	var toks []sqlToken
	i := pos
	for i < len(text) && i < limit && len(toks) < maxSQLTokens {
		c := text[i]
		switch {
		case c == stop && stop != 0:
			return toks, i
		case c == ';':
			return toks, i + 1
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(text) && text[i+1] == '-', c == '#' && stop == 0:
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				return toks, len(text)
			}
			i += j + 1
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			j := strings.Index(text[i+2:], "*/")
			if j < 0 {
				return toks, len(text)
			}
			i += j + 4
		case (c == '\'' || c == '"' || c == '`') && c != stop:
			j := i + 1
			for j < len(text) {
				if text[j] == c {
					if j+1 < len(text) && text[j+1] == c {
						j += 2
						continue
					}
					break
				}
				if text[j] == '\\' {
					j++
				}
				j++
			}
			end := min(j+1, len(text))
			toks = append(toks, sqlToken{text: text[i+1 : min(j, len(text))], str: true, start: i, end: end})
			i = end
		case c == '[' && stop == 0:
			// A bracketed identifier; an unclosed one runs to the end.
			inner, end := text[i+1:], len(text)
			if j := strings.IndexByte(inner, ']'); j >= 0 {
				inner, end = inner[:j], i+1+j+1
			}
			toks = append(toks, sqlToken{text: inner, str: true, start: i, end: end})
			i = end
		case isAlnum(c) || c == '_' || c == '$' || c == '@' || c >= 0x80:
			j := i
			for j < len(text) && (isAlnum(text[j]) || text[j] == '_' || text[j] == '$' || text[j] == '@' || text[j] == '.' || text[j] >= 0x80) {
				j++
			}
			toks = append(toks, sqlToken{text: strings.ToUpper(text[i:j]), start: i, end: j})
			i = j
		default:
			toks = append(toks, sqlToken{text: text[i : i+1], start: i, end: i + 1})
			i++
		}
	}
	return toks, i
}

// sqlFinding is a dangerous SQL statement.
type sqlFinding struct {
	rule, expl, suggestion string
	sev                    Severity
	start, end             int
}

func tokIs(toks []sqlToken, i int, words ...string) bool {
	if i >= len(toks) || toks[i].str {
		return false
	}
	for _, w := range words {
		if toks[i].text == w {
			return true
		}
	}
	return false
}

func hasTok(toks []sqlToken, from int, w string) int {
	for i := from; i < len(toks); i++ {
		if !toks[i].str && toks[i].text == w {
			return i
		}
	}
	return -1
}

// analyzeSQLStatement judges one tokenised statement.
func analyzeSQLStatement(toks []sqlToken) []sqlFinding {
	if len(toks) == 0 {
		return nil
	}
	// Skip a leading WITH ... AS (...) and EXPLAIN: judge the main verb.
	var out []sqlFinding
	span := func() (int, int) { return toks[0].start, toks[len(toks)-1].end }
	add := func(rule string, sev Severity, expl, sugg string) {
		a, b := span()
		out = append(out, sqlFinding{rule: rule, sev: sev, expl: expl, suggestion: sugg, start: a, end: b})
	}
	v := 0
	for v < len(toks) && tokIs(toks, v, "(") {
		v++
	}
	switch {
	case tokIs(toks, v, "DROP"):
		obj := ""
		if v+1 < len(toks) {
			obj = toks[v+1].text
		}
		switch obj {
		case "TABLE", "DATABASE", "SCHEMA", "INDEX", "VIEW", "USER", "ROLE", "TABLESPACE", "COLLECTION", "KEYSPACE", "MATERIALIZED", "FUNCTION", "PROCEDURE", "TRIGGER", "SEQUENCE", "TYPE", "EXTENSION", "OWNED", "EXTERNAL", "TEMPORARY", "TEMP":
			add("sql-drop", SeverityCritical, "DROP "+obj+" destroys a database object and its data",
				"-- Consider using soft delete or archiving instead; take a backup and get approval first")
		}
	case tokIs(toks, v, "TRUNCATE") && truncateTarget(toks[v+1:]):
		add("sql-truncate", SeverityCritical, "TRUNCATE removes every row of a table",
			"-- Delete specific rows with a WHERE clause, or archive the table first")
	case tokIs(toks, v, "DELETE"):
		w := hasTok(toks, v, "WHERE")
		switch {
		case w < 0 && hasTok(toks, v, "USING") < 0 && hasTok(toks, v, "LIMIT") < 0:
			add("sql-delete-without-where", SeverityCritical, "DELETE without a WHERE clause removes every row",
				"-- Add a WHERE clause to limit the rows deleted")
		case w >= 0 && tautology(toks[w+1:]):
			add("sql-delete-where-true", SeverityCritical, "DELETE with an always-true WHERE clause removes every row",
				"-- Use a WHERE clause that selects the rows you mean")
		}
	case tokIs(toks, v, "UPDATE"):
		if hasTok(toks, v, "SET") > v {
			w := hasTok(toks, v, "WHERE")
			if w < 0 && hasTok(toks, v, "LIMIT") < 0 {
				add("sql-update-without-where", SeverityHigh, "UPDATE without a WHERE clause changes every row",
					"-- Add a WHERE clause to limit the rows updated")
			} else if w >= 0 && tautology(toks[w+1:]) {
				add("sql-update-where-true", SeverityHigh, "UPDATE with an always-true WHERE clause changes every row",
					"-- Use a WHERE clause that selects the rows you mean")
			}
		}
	case tokIs(toks, v, "GRANT"):
		if tokIs(toks, v+1, "ALL") || hasTok(toks, v, "SUPERUSER") >= 0 || (hasTok(toks, v, "WITH") >= 0 && hasTok(toks, v, "ADMIN") >= 0) {
			add("sql-grant-all", SeverityHigh, "GRANT ALL gives every privilege", "-- Grant only the privileges the role needs")
		} else if to := hasTok(toks, v, "TO"); to >= 0 && tokIs(toks, to+1, "PUBLIC") {
			add("sql-grant-public", SeverityMedium, "grants privileges to PUBLIC (every role)", "-- Grant to a specific role")
		}
	case tokIs(toks, v, "ALTER"):
		if tokIs(toks, v+1, "TABLE") {
			for i := v + 2; i < len(toks); i++ {
				if tokIs(toks, i, "DROP") && (tokIs(toks, i+1, "COLUMN", "CONSTRAINT", "PARTITION", "PRIMARY", "FOREIGN") || (i+1 < len(toks) && !toks[i+1].str && toks[i+1].text != "DEFAULT" && toks[i+1].text != "NOT" && toks[i+1].text != "IDENTITY" && toks[i+1].text != "EXPRESSION")) {
					add("sql-alter-drop", SeverityHigh, "ALTER TABLE ... DROP removes a column, constraint or partition and its data",
						"-- Take a backup and get approval for schema changes that drop data")
					break
				}
			}
		} else if tokIs(toks, v+1, "USER", "ROLE") && (hasTok(toks, v, "SUPERUSER") >= 0) {
			add("sql-grant-all", SeverityHigh, "makes a role a superuser", "-- Grant only the privileges the role needs")
		}
	}
	for i := range toks {
		if toks[i].str {
			continue
		}
		switch toks[i].text {
		case "XP_CMDSHELL", "MASTER..XP_CMDSHELL", "MASTER.DBO.XP_CMDSHELL", "SYS.XP_CMDSHELL":
			add("sql-xp-cmdshell", SeverityCritical, "xp_cmdshell runs operating-system commands from SQL",
				"-- Keep xp_cmdshell disabled")
		case "OUTFILE", "DUMPFILE":
			if i > 0 && tokIs(toks, i-1, "INTO") {
				add("sql-into-outfile", SeverityHigh, "SELECT ... INTO OUTFILE writes query results to the server's file system",
					"-- Export through the application, not the database server's file system")
			}
		case "PROGRAM":
			if hasTok(toks, 0, "COPY") >= 0 {
				add("sql-copy-program", SeverityCritical, "COPY ... PROGRAM runs a shell command on the database server",
					"-- Do not run programs from SQL")
			}
		case "LOAD_FILE":
			add("sql-load-file", SeverityMedium, "LOAD_FILE reads files from the database server", "-- Do not read server files from SQL")
		}
	}
	return dedupeSQL(out)
}

func dedupeSQL(fs []sqlFinding) []sqlFinding {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		if !seen[f.rule] {
			seen[f.rule] = true
			out = append(out, f)
		}
	}
	return out
}

// tautology reports whether a WHERE clause is always true: 1=1, TRUE,
// 'a'='a', 1 or the like, alone.
func tautology(toks []sqlToken) bool {
	end := len(toks)
	for i, t := range toks {
		if !t.str && (t.text == "AND" || t.text == "ORDER" || t.text == "LIMIT" || t.text == "RETURNING") {
			end = i
			break
		}
	}
	toks = toks[:end]
	switch len(toks) {
	case 1:
		return !toks[0].str && (toks[0].text == "TRUE" || toks[0].text == "1")
	case 3:
		return toks[1].text == "=" && toks[0].text == toks[2].text && toks[0].str == toks[2].str
	}
	return false
}

// sqlVerbs start statements worth judging.
func sqlVerbs() []string {
	return []string{"drop", "truncate", "delete", "update", "grant", "alter", "select", "copy", "exec", "execute"}
}

// newSQLVerbSet returns the literal set of sqlVerbs (text is lower-cased
// before matching).
func newSQLVerbSet() *literalSet {
	v := sqlVerbs()
	return newLiteralSet(v, make([]bool, len(v)))
}

// sqlWorkFactor bounds the bytes the tokenizer reads per scan to this many
// times the input plus maxSQLWork: a statement holding many verb starts is
// re-read from each, and the bound keeps the scan linear.
const (
	sqlWorkFactor = 16
	maxSQLWork    = 1 << 20
)

// analyzeSQL finds statements in (normalised, lower-case) text. A
// statement is judged where a verb starts it: at the start of the text or
// a line, after ';', or at the start of a quoted string (SQL held in
// code). When the work bound is reached the rest is not judged and one
// high-severity finding says so (fail closed).
func analyzeSQL(verbs *literalSet, text string, meter *workMeter) []sqlFinding {
	type cand struct{ p, verb int }
	var cands []cand
	verbList := sqlVerbs()
	verbs.each(text, func(v, p int) bool {
		cands = append(cands, cand{p, v})
		return true
	})
	slices.SortFunc(cands, func(a, b cand) int { return a.p - b.p })
	var out []sqlFinding
	budget := sqlWorkFactor*len(text) + maxSQLWork
	for _, c := range cands {
		verb, p := verbList[c.verb], c.p
		from := p + len(verb)
		if !(from >= len(text) || text[from] == ' ' || text[from] == '\t' || text[from] == '\n' || text[from] == '\r' || text[from] == '(') {
			continue
		}
		stop, ok := statementStart(text, p)
		if !ok {
			continue
		}
		if budget <= 0 {
			out = append(out, sqlFinding{rule: "sql-analysis-limit", sev: SeverityHigh, start: p, end: len(text),
				expl:       "too many SQL statement starts to analyse; the rest of the text was not judged",
				suggestion: "-- Split the SQL into separate, smaller requests"})
			break
		}
		toks, end := tokenizeSQLLimit(text, p, stop, p+budget)
		budget -= end - p
		meter.add(end - p)
		if verb == "select" || verb == "exec" || verb == "execute" {
			// Only the embedded checks (xp_cmdshell, INTO OUTFILE, ...)
			// apply to these verbs.
			for _, f := range analyzeSQLStatement(toks) {
				if f.rule == "sql-xp-cmdshell" || f.rule == "sql-into-outfile" || f.rule == "sql-load-file" {
					out = append(out, f)
				}
			}
			continue
		}
		out = append(out, analyzeSQLStatement(toks)...)
	}
	return out
}

// statementStart reports whether a verb at p starts a statement, and which
// quote ends it when it starts a string literal of the host language.
func statementStart(text string, p int) (byte, bool) {
	j := p - 1
	for j >= 0 && (text[j] == ' ' || text[j] == '\t') {
		j--
	}
	if j < 0 {
		return 0, true
	}
	switch c := text[j]; c {
	case '\n', '\r', ';':
		return 0, true
	case '"', '\'', '`':
		// The verb opens a string literal if the quote is itself preceded
		// by something that is not a word character.
		// (SQL held in code): the quote follows '(' '=' ',' ':' '[' '{'
		// or starts the line.
		q := j - 1
		for q >= 0 && (text[q] == ' ' || text[q] == '\t') {
			q--
		}
		if q < 0 || strings.IndexByte("(=,:[{\n\r+", text[q]) >= 0 {
			return c, true
		}
	}
	// After keywords that introduce a statement.
	k := j
	for k >= 0 && (isAlpha(text[k]) || text[k] == '_') {
		k--
	}
	switch text[k+1 : j+1] {
	case "begin", "exec", "execute", "prepare":
		return 0, true
	}
	return 0, false
}

// truncateTarget reports whether the tokens after TRUNCATE name a table
// (TRUNCATE [TABLE] [ONLY] name[, name...] [options]), which tells the
// statement from the truncate(1) shell command.
func truncateTarget(toks []sqlToken) bool {
	i := 0
	if tokIs(toks, i, "TABLE") {
		i++
	}
	if tokIs(toks, i, "ONLY") {
		i++
	}
	if i >= len(toks) {
		return false
	}
	t := toks[i]
	if !t.str && (len(t.text) == 0 || !(isAlpha(t.text[0]) || t.text[0] == '_' || t.text[0] >= 0x80)) {
		return false
	}
	if i+1 < len(toks) && !toks[i+1].str && toks[i+1].text == ")" {
		return false
	}
	return true
}
