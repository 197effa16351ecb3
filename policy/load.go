package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/agentos/agentos/limit"
)

// Limits on what the loader reads.
const (
	// MaxFileSize is the largest policy file Parse and LoadFiles accept.
	MaxFileSize = 4 << 20
	// MaxFiles is the most policy files one LoadFiles call reads.
	MaxFiles = 1000
	// maxDepth bounds the nesting of mappings and lists in a document.
	maxDepth = 100
	// maxAliasNodes bounds how many nodes YAML aliases may expand to in one
	// document, so that a small file cannot expand exponentially.
	maxAliasNodes = 10000
)

// Reference defaults for fields a document leaves out.
const (
	defaultVersion             = "1.0"
	defaultName                = "unnamed"
	defaultMaxTokens           = 4096
	defaultMaxToolCalls        = 10
	defaultConfidenceThreshold = 0.8
)

// Parse reads the policy documents in data, which came from the file name.
// A name ending in ".json" is read as one JSON object; anything else as a
// YAML stream of one or more documents. Empty YAML documents (an empty file,
// a file of comments, a bare "---") contribute nothing, so an empty file is
// an empty document set.
//
// Every document is validated against the embedded JSON Schema ([Schema])
// and the checks it cannot express; on any problem Parse returns no
// documents and an [Errors] naming every problem with file, line, column and
// field path. Plain YAML scalars are resolved with YAML 1.1 rules, as the
// reference's PyYAML loader does: yes/no/on/off are booleans, 017 is octal,
// 1_000 is 1000, 1:30 is 90, 1e3 is a string; an unquoted date is an error.
// Duplicate keys and unknown keys are errors; merge keys (<<) are applied.
//
// Fields left out take the reference defaults: version "1.0", name
// "unnamed", max_tokens 4096, max_tool_calls 10, confidence_threshold 0.8.
// The default action, strategy, scope and on_violation stay empty, which
// their types document as allow, priority_first_match, global and deny.
func Parse(name string, data []byte) ([]*Document, error) {
	if len(data) > MaxFileSize {
		return nil, Errors{{Loc: Location{File: name}, Msg: fmt.Sprintf("file is %d bytes; policy files are limited to %d", len(data), MaxFileSize)}}
	}
	var raws []*rawDoc
	var errs Errors
	if isJSONName(name) {
		raws, errs = parseJSON(name, data)
	} else {
		raws, errs = parseYAML(name, data)
	}
	docs := make([]*Document, 0, len(raws))
	for _, r := range raws {
		d, des := r.document()
		errs = append(errs, des...)
		docs = append(docs, d)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return docs, nil
}

// LoadFiles parses the named files and directories, in argument order. A
// directory contributes its *.yaml, *.yml and *.json files in lexical order
// (not recursively); a file named twice is read once. Every file is read and
// every problem reported, as an [Errors]; on any problem no documents are
// returned. Files larger than [MaxFileSize], more than [MaxFiles] files, and
// paths that are neither regular files nor directories are errors.
func LoadFiles(paths ...string) ([]*Document, error) {
	var errs Errors
	var files []string
	seen := make(map[string]bool)
	add := func(p string) {
		key := p
		if abs, err := filepath.Abs(p); err == nil {
			key = abs
		}
		if !seen[key] {
			seen[key] = true
			files = append(files, p)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fileError(p, err))
			continue
		}
		switch {
		case fi.IsDir():
			entries, err := os.ReadDir(p)
			if err != nil {
				errs = append(errs, fileError(p, err))
				continue
			}
			for _, e := range entries { // ReadDir sorts by name
				if !e.IsDir() && isPolicyName(e.Name()) {
					add(filepath.Join(p, e.Name()))
				}
			}
		case fi.Mode().IsRegular():
			add(p)
		default:
			errs = append(errs, &Error{Loc: Location{File: p}, Msg: "not a regular file or directory"})
		}
	}
	if len(files) > MaxFiles {
		errs = append(errs, &Error{Loc: Location{File: paths[0]}, Msg: fmt.Sprintf("%d policy files; at most %d can be loaded at once", len(files), MaxFiles)})
		return nil, errs.Err()
	}
	var docs []*Document
	for _, f := range files {
		data, err := readCapped(f)
		if err != nil {
			errs = append(errs, fileError(f, err))
			continue
		}
		ds, err := Parse(f, data)
		if err != nil {
			errs = append(errs, AsErrors(err)...)
			continue
		}
		docs = append(docs, ds...)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return docs, nil
}

// errFileTooLarge is reported for files over MaxFileSize.
var errFileTooLarge = fmt.Errorf("file is larger than %d bytes, the limit for policy files", MaxFileSize)

// readCapped reads at most MaxFileSize bytes of the regular file name.
func readCapped(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > MaxFileSize {
		return nil, errFileTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, errFileTooLarge
	}
	return data, nil
}

// fileError turns an I/O error about path into a located *Error whose
// message does not repeat the path.
func fileError(path string, err error) *Error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &Error{Loc: Location{File: path}, Msg: err.Error()}
}

func isJSONName(name string) bool { return strings.EqualFold(filepath.Ext(name), ".json") }

func isPolicyName(name string) bool {
	switch filepath.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// rawDoc is one document as a generic tree (nil, bool, int64, *big.Int,
// float64, string, []any, map[string]any) with the source position of every
// node, before validation and decoding.
type rawDoc struct {
	file  string
	loc   Location
	root  any
	nodes map[string]*nodeInfo
	// errs are problems found while building the tree (duplicate keys,
	// scalars the reference reads as dates, bad tags).
	errs Errors
}

// nodeInfo is where a node was written.
type nodeInfo struct {
	key   Location // the mapping key, if the node is a mapping value
	val   Location // the node itself
	text  string   // a scalar's source text
	plain bool     // a plain (unquoted, untagged) YAML scalar
}

// join appends a path element to a dotted path.
func join(path, elem string) string {
	if path == "" {
		return elem
	}
	return path + "." + elem
}

// valLoc returns where field was written: its value, else the closest
// ancestor's, else the document's start.
func (r *rawDoc) valLoc(field string) Location {
	for {
		if n, ok := r.nodes[field]; ok {
			return n.val
		}
		if field == "" {
			if r.loc.File == "" {
				return Location{File: r.file}
			}
			return r.loc
		}
		i := strings.LastIndexByte(field, '.')
		if i < 0 {
			field = ""
		} else {
			field = field[:i]
		}
	}
}

// keyLoc returns where field's key was written, else valLoc(field).
func (r *rawDoc) keyLoc(field string) Location {
	if n, ok := r.nodes[field]; ok && n.key.Line > 0 {
		return n.key
	}
	return r.valLoc(field)
}

// document validates r and decodes it. Problems found while building the
// tree and by decoding take precedence over schema errors on the same field,
// which would only restate them less helpfully.
func (r *rawDoc) document() (*Document, Errors) {
	d := &docDecoder{r: r}
	doc := d.document()
	primary := append(r.errs, d.errs...)
	fields := make(map[string]bool, len(primary))
	for _, e := range primary {
		fields[e.Field] = true
	}
	for _, e := range validateSchema(r) {
		if !fields[e.Field] {
			primary = append(primary, e)
		}
	}
	doc.Fields = make(map[string]Location, len(r.nodes))
	for p, n := range r.nodes {
		doc.Fields[p] = n.val
	}
	return doc, primary
}

// ---- YAML ----

// yamlLineRE finds the line yaml.v3 names in its syntax errors, which carry
// no structured position.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML splits data into documents and builds their trees.
func parseYAML(file string, data []byte) (docs []*rawDoc, errs Errors) {
	defer func() {
		// yaml.v3 reports malformed input by panicking internally and
		// recovering; should a panic ever escape it, the file is rejected
		// rather than the process brought down.
		if p := recover(); p != nil {
			docs, errs = nil, Errors{{Loc: Location{File: file}, Msg: fmt.Sprintf("malformed YAML: %v", p)}}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, errs
		}
		if err != nil {
			return nil, Errors{yamlSyntaxError(file, err)}
		}
		if len(n.Content) == 0 || isEmptyNode(n.Content[0]) {
			continue
		}
		b := &yamlBuilder{r: &rawDoc{file: file, nodes: make(map[string]*nodeInfo)}, anchors: make(map[*yaml.Node]bool)}
		top := n.Content[0]
		b.r.loc = Location{File: file, Line: top.Line, Col: top.Column}
		b.r.root = b.node(top, "", Location{}, 0)
		docs = append(docs, b.r)
	}
}

// isEmptyNode reports whether n is the empty plain scalar of an empty
// document ("---" followed by nothing).
func isEmptyNode(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "" && n.Style == 0 && n.Tag == "!!null"
}

func yamlSyntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Loc: Location{File: file, Line: line}, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{Loc: Location{File: file}, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// yamlBuilder turns a yaml.v3 node tree into a generic tree.
type yamlBuilder struct {
	r       *rawDoc
	anchors map[*yaml.Node]bool // aliased nodes being expanded (cycle check)
	aliased int                 // nodes built under an alias
	inAlias int
}

func (b *yamlBuilder) errorf(loc Location, field, format string, args ...any) {
	b.r.errs = append(b.r.errs, &Error{Loc: loc, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (b *yamlBuilder) loc(n *yaml.Node) Location {
	return Location{File: b.r.file, Line: n.Line, Col: n.Column}
}

// node builds the value of n at path; key is where its mapping key was
// written (zero for list items and the root).
func (b *yamlBuilder) node(n *yaml.Node, path string, key Location, depth int) any {
	loc := b.loc(n)
	info := &nodeInfo{key: key, val: loc}
	b.r.nodes[path] = info
	if depth > maxDepth {
		b.errorf(loc, path, "nested more than %d levels deep", maxDepth)
		return nil
	}
	if b.inAlias > 0 {
		b.aliased++
		if b.aliased > maxAliasNodes {
			if b.aliased == maxAliasNodes+1 {
				b.errorf(loc, path, "aliases expand to more than %d nodes", maxAliasNodes)
			}
			return nil
		}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if b.anchors[n.Alias] {
			b.errorf(loc, path, "alias *%s refers to a node that contains it", n.Value)
			return nil
		}
		b.anchors[n.Alias] = true
		b.inAlias++
		v := b.node(n.Alias, path, key, depth+1)
		b.inAlias--
		delete(b.anchors, n.Alias)
		b.r.nodes[path].val = loc
		return v
	case yaml.ScalarNode:
		info.text = n.Value
		return b.scalar(n, path, loc)
	case yaml.SequenceNode:
		if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!seq" {
			b.errorf(loc, path, "unsupported YAML tag %s", n.Tag)
		}
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			out[i] = b.node(c, join(path, strconv.Itoa(i)), Location{}, depth+1)
		}
		return out
	case yaml.MappingNode:
		if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!map" {
			b.errorf(loc, path, "unsupported YAML tag %s", n.Tag)
		}
		return b.mapping(n, path, depth)
	}
	b.errorf(loc, path, "unexpected YAML node")
	return nil
}

// scalar resolves a scalar node at path and records a problem, if any.
func (b *yamlBuilder) scalar(n *yaml.Node, path string, loc Location) any {
	v, plain, err := scalarValue(n)
	b.r.nodes[path].plain = plain
	if err != nil {
		b.errorf(loc, path, "%v", err)
		return n.Value
	}
	return v
}

// scalarValue resolves a scalar node: quoted, literal and folded scalars are
// strings; explicitly tagged scalars follow their tag; plain scalars follow
// YAML 1.1 as in the reference. plain reports a plain scalar.
func scalarValue(n *yaml.Node) (v any, plain bool, err error) {
	if n.Style&yaml.TaggedStyle != 0 {
		v, err := resolveTagged(n.Tag, n.Value)
		return v, false, err
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value, false, nil
	}
	if n.Value == "<<" {
		return nil, true, errors.New("a plain << is YAML's merge key and cannot be a value; quote it: \"<<\"")
	}
	v, _, err = resolvePlain(n.Value)
	return v, true, err
}

// mapping builds a mapping, applying YAML merge keys (<<) as PyYAML does:
// keys written in the mapping win over merged ones, and earlier merged
// mappings win over later ones. Duplicate keys are an error (PyYAML keeps
// the last silently, hiding the first).
func (b *yamlBuilder) mapping(n *yaml.Node, path string, depth int) map[string]any {
	out := make(map[string]any, len(n.Content)/2)
	info := b.r.nodes[path]
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" && k.Style&yaml.TaggedStyle == 0 {
			v := n.Content[i+1]
			if v.Kind == yaml.SequenceNode {
				merges = append(merges, v.Content...)
			} else {
				merges = append(merges, v)
			}
		}
	}
	// Earlier merged mappings win, so apply them last.
	for i := len(merges) - 1; i >= 0; i-- {
		m := merges[i]
		target := m
		if m.Kind == yaml.AliasNode {
			target = m.Alias
		}
		if target == nil || target.Kind != yaml.MappingNode {
			b.errorf(b.loc(m), path, "a merge key (<<) must refer to a mapping")
			continue
		}
		v := b.node(m, path, Location{}, depth+1)
		if mv, ok := v.(map[string]any); ok {
			maps.Copy(out, mv)
		}
	}
	b.r.nodes[path] = info // merged mappings recorded their own position
	seen := make(map[string]Location, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" && k.Style&yaml.TaggedStyle == 0 {
			continue
		}
		kloc := b.loc(k)
		name, ok := b.key(k, path, kloc)
		if !ok {
			continue
		}
		child := join(path, name)
		if first, dup := seen[name]; dup {
			b.errorf(kloc, child, "duplicate key %q (first written at line %d)", name, first.Line)
			continue
		}
		seen[name] = kloc
		out[name] = b.node(v, child, kloc, depth+1)
	}
	return out
}

// key returns a mapping key as a string. Keys must be strings as YAML 1.1
// reads them: an unquoted "on" or "1" would be a boolean or number key in
// the reference.
func (b *yamlBuilder) key(k *yaml.Node, path string, loc Location) (string, bool) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		b.errorf(loc, path, "mapping keys must be strings")
		return "", false
	}
	v, _, err := scalarValue(k)
	if err != nil {
		b.errorf(loc, join(path, k.Value), "%v", err)
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		b.errorf(loc, join(path, k.Value), "key %s is read as %s by YAML 1.1 (as the reference does); quote it: %q", k.Value, withArticle(classifyPlain(k.Value).String()), k.Value)
		return "", false
	}
	return s, true
}

// withArticle prefixes a noun with "a" or "an".
func withArticle(noun string) string {
	if noun != "" && strings.IndexByte("aeiou", noun[0]) >= 0 {
		return "an " + noun
	}
	return "a " + noun
}

// ---- JSON ----

// parseJSON builds the tree of a JSON policy file: one object.
func parseJSON(file string, data []byte) ([]*rawDoc, Errors) {
	jb := &jsonBuilder{data: data, r: &rawDoc{file: file, nodes: make(map[string]*nodeInfo)}}
	jb.dec = json.NewDecoder(bytes.NewReader(data))
	jb.dec.UseNumber()
	start := jb.start()
	if start >= len(data) {
		return nil, Errors{{Loc: Location{File: file, Line: 1, Col: 1}, Msg: "invalid JSON: empty file"}}
	}
	jb.r.loc = jb.locAt(start)
	root, err := jb.value("", Location{}, 0)
	if err == nil {
		off := jb.start()
		if _, terr := jb.dec.Token(); !errors.Is(terr, io.EOF) {
			err = jb.errAt(off, "invalid JSON: unexpected data after the document")
		}
	}
	if err != nil {
		return nil, Errors{err}
	}
	jb.r.root = root
	return []*rawDoc{jb.r}, nil
}

type jsonBuilder struct {
	data  []byte
	dec   *json.Decoder
	r     *rawDoc
	lines []int // byte offsets at which lines start
	// cur is the last offset locAt converted, with its line and column,
	// so that converting the ascending offsets of a parse costs one pass
	// over the input in total.
	cur, curLine, curCol int
}

// start returns the offset of the next token: the JSON decoder's offset past
// white space and the separators the JSON decoder consumes implicitly.
func (jb *jsonBuilder) start() int {
	off := int(jb.dec.InputOffset())
	for off < len(jb.data) {
		switch jb.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

// locAt converts a byte offset to a line and (rune) column. Offsets at or
// after the previous one continue from it; the column counts runes as
// utf8.RuneCount does from the line's start, which gives the same count
// when continued from any offset that is not a UTF-8 continuation byte
// (no rune straddles it).
func (jb *jsonBuilder) locAt(off int) Location {
	off = min(max(off, 0), len(jb.data))
	if jb.curLine == 0 {
		jb.cur, jb.curLine, jb.curCol = 0, 1, 1
	}
	if off >= jb.cur && (jb.cur == len(jb.data) || utf8.RuneStart(jb.data[jb.cur])) {
		seg := jb.data[jb.cur:off]
		if i := bytes.LastIndexByte(seg, '\n'); i >= 0 {
			jb.curLine += bytes.Count(seg, []byte{'\n'})
			jb.curCol = 1 + utf8.RuneCount(seg[i+1:])
		} else {
			jb.curCol += utf8.RuneCount(seg)
		}
		jb.cur = off
		return Location{File: jb.r.file, Line: jb.curLine, Col: jb.curCol}
	}
	return jb.locSearch(off)
}

// locSearch is locAt for any offset, from the table of line starts.
func (jb *jsonBuilder) locSearch(off int) Location {
	if jb.lines == nil {
		jb.lines = []int{0}
		for i, c := range jb.data {
			if c == '\n' {
				jb.lines = append(jb.lines, i+1)
			}
		}
	}
	off = min(max(off, 0), len(jb.data))
	i := sort.SearchInts(jb.lines, off+1) - 1
	col := utf8.RuneCount(jb.data[jb.lines[i]:off]) + 1
	return Location{File: jb.r.file, Line: i + 1, Col: col}
}

func (jb *jsonBuilder) errAt(off int, format string, args ...any) *Error {
	return &Error{Loc: jb.locAt(off), Msg: fmt.Sprintf(format, args...)}
}

// tokenError locates a JSON decoder error.
func (jb *jsonBuilder) tokenError(err error, off int) *Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// The streaming decoder's offsets can point before the offending
		// byte; the whole-input scanner of Unmarshal locates it exactly.
		var v any
		if uerr := json.Unmarshal(jb.data, &v); errors.As(uerr, &se) {
			return jb.errAt(int(se.Offset)-1, "invalid JSON: %v", se)
		}
		return jb.errAt(int(se.Offset), "invalid JSON: %v", se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return jb.errAt(len(jb.data), "invalid JSON: unexpected end of file")
	}
	return jb.errAt(off, "invalid JSON: %v", err)
}

// value reads one JSON value at path. Errors here are syntax errors and
// end the parse; problems with well-formed values are recorded in jb.r.errs.
func (jb *jsonBuilder) value(path string, key Location, depth int) (any, *Error) {
	off := jb.start()
	loc := jb.locAt(off)
	info := &nodeInfo{key: key, val: loc}
	jb.r.nodes[path] = info
	tok, err := jb.dec.Token()
	if err != nil {
		return nil, jb.tokenError(err, off)
	}
	if depth > maxDepth {
		return nil, jb.errAt(off, "invalid JSON: nested more than %d levels deep", maxDepth)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out := make(map[string]any)
			seen := make(map[string]Location)
			for jb.dec.More() {
				koff := jb.start()
				kt, err := jb.dec.Token()
				if err != nil {
					return nil, jb.tokenError(err, koff)
				}
				name, _ := kt.(string) // the JSON decoder only yields string keys
				kloc := jb.locAt(koff)
				child := join(path, name)
				v, verr := jb.value(child, kloc, depth+1)
				if verr != nil {
					return nil, verr
				}
				if first, dup := seen[name]; dup {
					jb.r.errs = append(jb.r.errs, &Error{Loc: kloc, Field: child, Msg: fmt.Sprintf("duplicate key %q (first written at line %d)", name, first.Line)})
					continue
				}
				seen[name] = kloc
				out[name] = v
			}
			if _, err := jb.dec.Token(); err != nil {
				return nil, jb.tokenError(err, jb.start())
			}
			jb.r.nodes[path] = info
			return out, nil
		case '[':
			out := []any{}
			for i := 0; jb.dec.More(); i++ {
				v, verr := jb.value(join(path, strconv.Itoa(i)), Location{}, depth+1)
				if verr != nil {
					return nil, verr
				}
				out = append(out, v)
			}
			if _, err := jb.dec.Token(); err != nil {
				return nil, jb.tokenError(err, jb.start())
			}
			jb.r.nodes[path] = info
			return out, nil
		}
		return nil, jb.errAt(off, "invalid JSON: unexpected %v", t)
	case json.Number:
		info.text = string(t)
		return jsonNumber(t), nil
	case string:
		info.text = t
		return t, nil
	case bool, nil:
		return t, nil
	}
	return nil, jb.errAt(off, "invalid JSON: unexpected token")
}

// jsonNumber converts a JSON number as Python's json module does: with a
// fraction or exponent it is a float (overflowing to ±Inf), otherwise an
// integer of any size.
func jsonNumber(n json.Number) any {
	s := string(n)
	if strings.ContainsAny(s, ".eE") {
		f, _ := strconv.ParseFloat(s, 64) // well-formed; overflow gives ±Inf
		return f
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	b, _ := new(big.Int).SetString(s, 10)
	return b
}

// ---- decoding ----

// docDecoder turns a validated-or-not tree into a Document. It reads only
// values of the right type, leaving type errors to the schema, and reports
// what the schema cannot express.
type docDecoder struct {
	r    *rawDoc
	errs Errors
}

func (d *docDecoder) errorf(field string, format string, args ...any) {
	d.errs = append(d.errs, &Error{Loc: d.r.valLoc(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (d *docDecoder) errorAt(loc Location, field string, format string, args ...any) {
	d.errs = append(d.errs, &Error{Loc: loc, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (d *docDecoder) str(m map[string]any, path, key string, dst *string) bool {
	s, ok := m[key].(string)
	if ok {
		*dst = s
	}
	return ok
}

func (d *docDecoder) strs(m map[string]any, key string) []string {
	l, ok := m[key].([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// integer reads an integer field. A float, even a whole one, is an error:
// the reference coerces 7.0 to 7, which hides a typo; so is an integer
// beyond int64.
func (d *docDecoder) integer(m map[string]any, path, key string) (int64, bool) {
	field := join(path, key)
	switch v := m[key].(type) {
	case int64:
		return v, true
	case *big.Int:
		d.errorf(field, "%s does not fit in a 64-bit integer", v)
	case float64:
		d.errorf(field, "must be an integer, not %s", reprFloat(v))
	}
	return 0, false
}

func (d *docDecoder) document() *Document {
	doc := &Document{
		Version: defaultVersion,
		Name:    defaultName,
		Defaults: Defaults{
			MaxTokens:           defaultMaxTokens,
			MaxToolCalls:        defaultMaxToolCalls,
			ConfidenceThreshold: defaultConfidenceThreshold,
		},
		Loc: d.r.loc,
	}
	m, ok := d.r.root.(map[string]any)
	if !ok {
		return doc // the schema reports the type
	}
	d.str(m, "", "version", &doc.Version)
	d.str(m, "", "name", &doc.Name)
	d.str(m, "", "description", &doc.Description)
	var s string
	if d.str(m, "", "strategy", &s) {
		doc.Strategy = Strategy(s)
	}
	doc.Policies = d.strs(m, "policies")
	if dm, ok := m["defaults"].(map[string]any); ok {
		if d.str(dm, "defaults", "action", &s) {
			doc.Defaults.Action = Action(s)
		}
		if v, ok := d.integer(dm, "defaults", "max_tokens"); ok {
			doc.Defaults.MaxTokens = v
		}
		if v, ok := d.integer(dm, "defaults", "max_tool_calls"); ok {
			doc.Defaults.MaxToolCalls = v
		}
		switch v := dm["confidence_threshold"].(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				d.errorf("defaults.confidence_threshold", "must be a number from 0 to 1, not %s", reprFloat(v))
			} else {
				doc.Defaults.ConfidenceThreshold = v
			}
		case int64:
			doc.Defaults.ConfidenceThreshold = float64(v)
		}
	}
	if rules, ok := m["rules"].([]any); ok {
		doc.Rules = make([]Rule, 0, len(rules))
		for i, item := range rules {
			if rm, ok := item.(map[string]any); ok {
				doc.Rules = append(doc.Rules, d.rule(rm, "rules."+strconv.Itoa(i)))
			}
		}
	}
	return doc
}

func (d *docDecoder) rule(m map[string]any, path string) Rule {
	r := Rule{Loc: d.r.valLoc(path)}
	d.str(m, path, "name", &r.Name)
	if v, ok := d.integer(m, path, "priority"); ok {
		r.Priority = v
	}
	if cm, ok := m["condition"].(map[string]any); ok {
		c := d.condition(cm)
		r.Condition = &c
	}
	if cl, ok := m["conditions"].([]any); ok {
		r.Conditions = make([]Condition, 0, len(cl))
		for _, item := range cl {
			if cm, ok := item.(map[string]any); ok {
				r.Conditions = append(r.Conditions, d.condition(cm))
			}
		}
	}
	if mm, ok := m["match"].(map[string]any); ok {
		r.Match = &Match{Tools: d.strs(mm, "tools"), Agents: d.strs(mm, "agents"), Syscalls: d.strs(mm, "syscalls")}
	}
	d.str(m, path, "when", &r.When)
	var s string
	if d.str(m, path, "action", &s) {
		r.Action = Action(s)
	}
	d.str(m, path, "message", &r.Message)
	d.str(m, path, "on_violation", &r.OnViolation)
	r.Approvers = d.strs(m, "approvers")
	if d.str(m, path, "scope", &s) {
		r.Scope = Scope(s)
	}
	if v, ok := d.integer(m, path, "quorum"); ok && v >= 0 && v <= math.MaxInt32 {
		r.Quorum = int(v)
	}

	// Checks across fields.
	actionLoc := d.r.valLoc(join(path, "action"))
	_, hasLimit := m["limit"]
	if d.str(m, path, "limit", &r.Limit) {
		if _, err := limit.ParseRate(r.Limit); err != nil {
			d.errorf(join(path, "limit"), "%v", err)
		}
	}
	switch r.Action {
	case ActionRateLimit:
		if !hasLimit {
			d.errorAt(actionLoc, join(path, "limit"), "a rate_limit rule needs a limit such as \"100/hour\"")
		}
	case "":
	default:
		if hasLimit {
			d.errorf(join(path, "limit"), "limit only applies to rate_limit rules, not %s", r.Action)
		}
	}
	if r.Action != "" && r.Action != ActionRequireApproval {
		for _, k := range []string{"approvers", "quorum", "timeout"} {
			if _, ok := m[k]; ok {
				d.errorf(join(path, k), "%s only applies to require_approval rules, not %s", k, r.Action)
			}
		}
	}
	if (r.Action == ActionAllow || r.Action == ActionAudit) && r.OnViolation != "" {
		d.errorf(join(path, "on_violation"), "on_violation only applies to rules that deny, not %s", r.Action)
	}
	if _, ok := m["approvers"]; ok && r.Quorum > len(r.Approvers) {
		d.errorf(join(path, "quorum"), "quorum %d is more than the %d approvers listed", r.Quorum, len(r.Approvers))
	}
	var ts string
	if d.str(m, path, "timeout", &ts) {
		t, err := time.ParseDuration(ts)
		switch {
		case err != nil:
			d.errorf(join(path, "timeout"), "%q is not a duration; write one such as \"10m\" or \"1h30m\"", ts)
		case t <= 0:
			d.errorf(join(path, "timeout"), "must be positive, not %s", ts)
		default:
			r.Timeout = t
		}
	}
	return r
}

func (d *docDecoder) condition(m map[string]any) Condition {
	var c Condition
	c.Field, _ = m["field"].(string)
	op, _ := m["operator"].(string)
	c.Operator = Operator(op)
	c.Value = m["value"]
	return c
}

// reprFloat formats f as Python's repr does: 7.0, 1e+16, inf, nan.
func reprFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exps, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(exps)
	if exp < -4 || exp >= 16 {
		es := strconv.Itoa(max(exp, -exp))
		if len(es) < 2 {
			es = "0" + es
		}
		sign := "+"
		if exp < 0 {
			sign = "-"
		}
		return mant + "e" + sign + es
	}
	s = strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
