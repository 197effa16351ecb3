package policy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed schema/policy.schema.json
var schemaJSON []byte

// schemaURL names the embedded schema inside the compiler.
const schemaURL = "urn:agentos:policy"

// Schema returns the JSON Schema (draft 2020-12) of a policy document, as
// embedded in the binary. Editors can use it to check policy files; the
// loader applies it to every document, plus the checks it cannot express.
func Schema() []byte {
	return bytes.Clone(schemaJSON)
}

// compiledSchema compiles the embedded schema once. It is built from a
// constant and never changes; a failure is a build defect, reported by
// every Parse and by the tests.
var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("embedded policy schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("embedded policy schema: %w", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("embedded policy schema: %w", err)
	}
	return s, nil
})

// schemaPrinter formats the messages of schema error kinds this file does
// not phrase itself.
var schemaPrinter = message.NewPrinter(language.English)

// validateSchema checks r's tree against the schema and returns every
// violation, located.
func validateSchema(r *rawDoc) Errors {
	s, err := compiledSchema()
	if err != nil {
		return Errors{{Loc: r.valLoc(""), Msg: err.Error()}}
	}
	err = s.Validate(schemaValue(r.root))
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return Errors{{Loc: r.valLoc(""), Msg: err.Error()}}
	}
	var out Errors
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		out = append(out, schemaErrors(r, e)...)
	}
	walk(ve)
	return out
}

// schemaValue converts a tree to what the validator accepts: big integers
// become json.Number and non-finite floats their YAML spelling (the decoder
// reports them where a number is wanted). It copies only the mappings and
// lists on the way to a converted value; a tree without any is returned as
// it is (the validator only reads it).
func schemaValue(v any) any {
	out, _ := schemaConvert(v)
	return out
}

// schemaConvert is schemaValue, reporting whether anything changed.
func schemaConvert(v any) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		var m map[string]any
		for k, e := range v {
			ne, changed := schemaConvert(e)
			if !changed {
				continue
			}
			if m == nil {
				m = make(map[string]any, len(v))
				for k2, e2 := range v {
					m[k2] = e2
				}
			}
			m[k] = ne
		}
		if m == nil {
			return v, false
		}
		return m, true
	case []any:
		var l []any
		for i, e := range v {
			ne, changed := schemaConvert(e)
			if !changed {
				continue
			}
			if l == nil {
				l = append([]any(nil), v...)
			}
			l[i] = ne
		}
		if l == nil {
			return v, false
		}
		return l, true
	case *big.Int:
		return json.Number(v.String()), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return reprFloat(v), true
		}
	}
	return v, false
}

// knownKeys lists the keys a mapping may have, by its kind, for "did you
// mean" hints. It is derived from the schema's shape.
var knownKeys = map[string][]string{
	"document":  {"version", "name", "description", "strategy", "defaults", "policies", "rules", "a2a_conversation_policy"},
	"defaults":  {"action", "max_tokens", "max_tool_calls", "confidence_threshold"},
	"rule":      {"name", "priority", "condition", "conditions", "match", "when", "action", "message", "limit", "on_violation", "approvers", "quorum", "timeout", "scope"},
	"condition": {"field", "operator", "value"},
	"match":     {"tools", "agents", "syscalls"},
}

// mappingKind names the kind of mapping at a path such as "rules.0.match".
func mappingKind(path []string) string {
	switch {
	case len(path) == 0:
		return "document"
	case len(path) == 1 && path[0] == "defaults":
		return "defaults"
	case len(path) == 2 && path[0] == "rules":
		return "rule"
	case len(path) == 3 && path[0] == "rules" && path[2] == "condition",
		len(path) == 4 && path[0] == "rules" && path[2] == "conditions":
		return "condition"
	case len(path) == 3 && path[0] == "rules" && path[2] == "match":
		return "match"
	}
	return ""
}

// schemaErrors turns one leaf validation error into located errors.
func schemaErrors(r *rawDoc, e *jsonschema.ValidationError) Errors {
	field := strings.Join(e.InstanceLocation, ".")
	at := func(f, msg string) *Error { return &Error{Loc: r.valLoc(f), Field: f, Msg: msg} }
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		var out Errors
		for _, p := range k.Properties {
			f := join(field, p)
			msg := fmt.Sprintf("unknown field %q", p)
			if s := suggest(p, knownKeys[mappingKind(e.InstanceLocation)]); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			out = append(out, &Error{Loc: r.keyLoc(f), Field: f, Msg: msg})
		}
		return out
	case *kind.Required:
		var out Errors
		for _, p := range k.Missing {
			out = append(out, &Error{Loc: r.valLoc(field), Field: join(field, p), Msg: "required field is missing"})
		}
		return out
	case *kind.Type:
		if field == "" {
			return Errors{at(field, fmt.Sprintf("a policy document must be a mapping, not %s", typeName(k.Got)))}
		}
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = typeName(w)
		}
		msg := fmt.Sprintf("must be %s, not %s", strings.Join(want, " or "), typeName(k.Got))
		if n := r.nodes[field]; n != nil && n.plain && slices.Contains(k.Want, "string") {
			msg = fmt.Sprintf("must be a string; quote it: %q", n.text)
		}
		return Errors{at(field, msg)}
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		return Errors{at(field, fmt.Sprintf("must be one of %s; got %s", strings.Join(want, ", "), gotValue(k.Got)))}
	case *kind.Minimum:
		return Errors{at(field, fmt.Sprintf("must be at least %s, not %s", ratString(k.Want), ratString(k.Got)))}
	case *kind.Maximum:
		return Errors{at(field, fmt.Sprintf("must be at most %s, not %s", ratString(k.Want), ratString(k.Got)))}
	case *kind.MinLength:
		return Errors{at(field, "must not be empty")}
	case *kind.MinItems:
		return Errors{at(field, fmt.Sprintf("must have at least %d item(s)", k.Want))}
	case *kind.UniqueItems:
		return Errors{at(field, fmt.Sprintf("items %d and %d are the same; list each once", k.Duplicates[0], k.Duplicates[1]))}
	}
	return Errors{at(field, e.ErrorKind.LocalizedString(schemaPrinter))}
}

// typeName names a JSON type as a YAML author knows it.
func typeName(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "null":
		return "null"
	case "integer":
		return "an integer"
	case "boolean":
		return "a boolean"
	}
	return "a " + t
}

func gotValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return reprFloat(f)
}

// suggest returns the known key closest to s if it is a likely typo.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
