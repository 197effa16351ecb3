package detect

import (
	"fmt"
	"strings"
	"testing"
)

// schemaStrings is the definition jsonStrings must agree with: every
// string in a parsed schema (property names, titles, descriptions, enums,
// defaults, examples, at any depth) joined with NUL, by a walk of the
// tree.
func schemaStrings(schema *jsonNode) string {
	var b strings.Builder
	var walk func(n *jsonNode, depth int)
	walk = func(n *jsonNode, depth int) {
		if depth > maxJSONDepth {
			return
		}
		switch n.kind {
		case jsonString:
			b.WriteString(n.str)
			b.WriteByte(0)
		case jsonArray:
			for i := range n.kids {
				walk(&n.kids[i], depth+1)
			}
		case jsonObject:
			for i := range n.kids {
				k := &n.kids[i]
				if n.key == "properties" {
					b.WriteString(k.key)
					b.WriteByte(0)
				}
				walk(k, depth+1)
			}
		}
	}
	walk(schema, 0)
	return b.String()
}

// FuzzOrMaskPlain checks the one-pass literal search with stop bytes
// against its definition: plainASCII, then orMask, on strings and on
// bytes, for the MCP rules' set and for a small set with case-sensitive
// literals.
func FuzzOrMaskPlain(f *testing.F) {
	for _, s := range ruleTextSeeds {
		f.Add(s)
	}
	f.Add("xx <!-- c --> ]: \\X41 \n\n\n\n\n end")
	f.Add(strings.Repeat("abcdefg", 9) + "IGNORE")
	f.Add("0123456789abcdefAKIAzzzz token TOKEN\x1c")
	small := newStopLiteralSet([]string{"AKIA", "token", "ab", "b"}, []bool{false, true, true, true}, notPlain)
	bits := []uint64{1, 2, 4, 8}
	r := sharedMCPRules()
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			ls   *literalSet
			bits []uint64
		}{{r.lits, r.litBits}, {small, bits}} {
			wantOK := plainASCII(s)
			var want uint64
			if wantOK {
				want = c.ls.orMask(s, c.bits)
			}
			got, ok := orMaskPlain(c.ls, s, c.bits)
			gotB, okB := orMaskPlain(c.ls, []byte(s), c.bits)
			if ok != wantOK || okB != wantOK || ok && (got != want || gotB != want) {
				t.Fatalf("orMaskPlain(%q) = %#x, %v (bytes %#x, %v); want %#x, %v", s, got, ok, gotB, okB, want, wantOK)
			}
		}
	})
}

// TestOrMaskPlainLarge checks the path for an automaton too large for the
// fixed table.
func TestOrMaskPlainLarge(t *testing.T) {
	t.Parallel()
	var lits []string
	for i := range 4000 {
		lits = append(lits, fmt.Sprintf("w%dq%d", i, i*7))
	}
	fold := make([]bool, len(lits))
	bits := make([]uint64, len(lits))
	for i := range bits {
		fold[i], bits[i] = true, 1<<(i%64)
	}
	ls := newStopLiteralSet(lits, fold, notPlain)
	if ls.fixed != nil {
		t.Fatalf("%d transitions in the fixed table, want the large path", len(ls.trans))
	}
	for _, s := range []string{"", "none here", "a W12Q84 b w3999q27993", "w1q7\x80", "w5q35 \v"} {
		want, wantOK := ls.orMask(s, bits), plainASCII(s)
		if got, ok := orMaskPlain(ls, s, bits); ok != wantOK || ok && got != want {
			t.Errorf("orMaskPlain(%q) = %#x, %v; want %#x, %v", s, got, ok, want, wantOK)
		}
	}
}

// FuzzJSONStrings checks the strings collected while a schema is parsed
// against a walk of the parsed tree, and that a parser reused through
// reset gives the tree a fresh one gives.
func FuzzJSONStrings(f *testing.F) {
	f.Add(`{"type":"object","properties":{"q":{"type":"string","description":"Query","default":"x"},"n":{"enum":[1,"a",null]}},"required":["q"]}`)
	f.Add(`{"properties":{"properties":{"properties":{"a":{}}}},"x":["properties",{"properties":{"b\u0041":1}}]}`)
	f.Add(`["a","b\"c\\d\n\u00e9\ud83d\ude00",{"k":"v"}]`)
	f.Add(`{"a":"plain ascii text that is longer than eight bytes","b":"\u0000"}`)
	f.Add(`"just a string"`)
	var p jsonParser
	f.Fuzz(func(t *testing.T, doc string) {
		if len(doc) > 1<<14 {
			return
		}
		want, wantErr := parseJSON(doc)
		var strs jsonStrings
		p.strs = &strs
		got, err := p.parse(doc)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("parse(%q): error %v, parseJSON: %v", doc, err, wantErr)
		}
		if err == nil {
			if g, w := string(pyDumpSorted(nil, &got)), string(pyDumpSorted(nil, &want)); g != w {
				t.Fatalf("parse(%q) = %s, parseJSON %s", doc, g, w)
			}
			if g, w := string(strs.buf), schemaStrings(&want); g != w {
				t.Fatalf("strings of %q = %q, want %q", doc, g, w)
			}
		}
		p.reset(maxScratchNodes)
	})
}

// FuzzStrSpecial checks the word test of the JSON string reader against
// a byte-by-byte one.
func FuzzStrSpecial(f *testing.F) {
	f.Add(uint64(0x6867666564636261))
	f.Add(uint64(0x2268676665646362))
	f.Add(uint64(0x5c00ff801f20217f))
	f.Fuzz(func(t *testing.T, w uint64) {
		want := false
		for k := range 8 {
			c := byte(w >> (8 * k))
			want = want || c == '"' || c == '\\' || c < 0x20
		}
		if got := strSpecial(w); got != want {
			t.Fatalf("strSpecial(%#016x) = %v, want %v", w, got, want)
		}
	})
}

// FuzzLetterSet checks the suspicious-required prefilter: a substring it
// rules out never occurs in the lower-cased name.
func FuzzLetterSet(f *testing.F) {
	for _, s := range []string{"key_words", "System_Prompt", "EXEC_MODE", "callback_url", "ıNSTRUCTIONS", "\u212aey"} {
		f.Add(s)
	}
	r := sharedMCPRules()
	f.Fuzz(func(t *testing.T, key string) {
		have, ascii := letterSet(key)
		lower := strings.ToLower(key)
		for j, sub := range suspiciousRequired {
			if ascii && r.requiredLetters[j]&^have != 0 && strings.Contains(lower, sub) {
				t.Fatalf("letterSet(%q) rules out %q, which occurs", key, sub)
			}
		}
	})
}

// TestVersionWords checks isVersionWord against the list of version
// words, and the affix separators against the strings functions.
func TestVersionWords(t *testing.T) {
	t.Parallel()
	for _, w := range versionWords {
		if !isVersionWord(w) {
			t.Errorf("isVersionWord(%q) = false", w)
		}
	}
	for _, w := range []string{"", "news", "v2", "NEW", "pr", "safer", "alph"} {
		if isVersionWord(w) {
			t.Errorf("isVersionWord(%q) = true", w)
		}
	}
	for _, s := range []string{"", "abc", "a_b-c.d e", "_x", "x_", "é_é", "search-v2.1"} {
		if got, want := lastAffixSep(s), strings.LastIndexAny(s, "_-. "); got != want {
			t.Errorf("lastAffixSep(%q) = %d, want %d", s, got, want)
		}
		if got, want := firstAffixSep(s), strings.IndexAny(s, "_-. "); got != want {
			t.Errorf("firstAffixSep(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestNameIndexFilters checks the invariants that make the name index's
// bitsets safe to consult first: every key of exact and bases passes
// mayName, and every length in segs is in lens. Enough names are added
// for the bitset to grow several times.
func TestNameIndexFilters(t *testing.T) {
	t.Parallel()
	x := newNameIndex()
	for i := range 1500 {
		n := fmt.Sprintf("tool_%d_%s", i, strings.Repeat("y", i%17))
		switch i % 4 {
		case 1:
			n += "_v2"
		case 2:
			n = "new_" + n
		case 3:
			n = strings.Repeat("Ω", i%5) + n
		}
		f := foldName(n)
		x.add(nameEntry{seq: uint64(i), server: "a", name: n, folded: f})
		if i%10 != 0 {
			continue
		}
		// The entry just added is the last registered: it ends the matches.
		if got := x.lookup(nil, f, "b", true); len(got) == 0 || got[len(got)-1].entry.folded != f {
			t.Fatalf("lookup(%q) right after adding it: %d matches, not ending with it", f, len(got))
		}
	}
	for k := range x.exact {
		if !x.mayName(x.nameHash(k), len(k)) {
			t.Errorf("exact key %q fails mayName", k)
		}
	}
	for k := range x.bases {
		if !x.mayName(x.nameHash(k), len(k)) {
			t.Errorf("bases key %q fails mayName", k)
		}
	}
	for _, e := range x.entries {
		if n := len(e.folded); n >= typoMinLen-typoMaxDistance && n <= maxIndexedName && x.lens[n/64]&(1<<(n%64)) == 0 {
			t.Errorf("length %d of %q missing from lens", n, e.folded)
		}
	}
	if x.nnames*8 > len(x.names)*64 {
		t.Errorf("name bitset of %d bits for %d keys: want at least 8 bits per key", len(x.names)*64, x.nnames)
	}
}

// TestMCPScanToolOneAlloc checks that a scan of an ordinary tool
// allocates at most once (the schema's text; the rest of its memory comes
// from the scanner's scratch).
func TestMCPScanToolOneAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	s := newTestMCPScanner(t, false)
	if _, err := s.RegisterTool("other", Tool{Name: "search_pubmed"}); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// One allocation: the schema's text as a string, which the threats
	// may keep parts of. Everything else is reused scratch.
	other := benchTool
	other.InputSchema = []byte(`{"type": "object", "properties": {"q": {"type": "string"}}}`)
	i := 0
	if n := testing.AllocsPerRun(100, func() {
		i++
		t := benchTool
		if i%2 == 0 {
			t = other
		}
		_, _ = s.ScanTool(ctx, "bench", t)
	}); n > 1 {
		t.Errorf("scans of alternating tools: %v allocations, want at most 1", n)
	}
}
