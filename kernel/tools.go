package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// MaxToolNameLen bounds a tool's name.
const MaxToolNameLen = 128

// ToolFunc is a tool's implementation. It receives the validated arguments
// (a JSON object) and must honour ctx: it is cancelled when the tool's
// timeout passes, the caller gives up, or the agent is killed. The result
// must be encodable as JSON.
type ToolFunc func(ctx context.Context, args json.RawMessage) (any, error)

// Tool is a registered tool.
type Tool struct {
	// Name identifies the tool: 1 to 128 characters from [A-Za-z0-9_.:/-],
	// starting with a letter or digit. Required.
	Name string
	// Description says what the tool does, for people and models.
	Description string
	// Schema is the JSON Schema the arguments must satisfy, compiled once
	// at registration; nil means any JSON object.
	Schema json.RawMessage
	// Timeout bounds one call; 0 means Options.DefaultToolTimeout.
	Timeout time.Duration
	// Func runs the tool. Required.
	Func ToolFunc
}

// ToolInfo describes a registered tool.
type ToolInfo struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Timeout     time.Duration   `json:"timeout"`
}

// tool is a registered tool with its compiled schema.
type tool struct {
	Tool
	schema    *jsonschema.Schema // nil: any object
	nameValue any                // Name as an interface value, for policy inputs
}

// registry maps tool names to tools. Reads are lock-free (an immutable map
// behind an atomic pointer); writers copy the map under mu.
type registry struct {
	mu    sync.Mutex
	tools atomic.Pointer[map[string]*tool]
}

func (r *registry) lookup(name string) *tool {
	m := r.tools.Load()
	if m == nil {
		return nil
	}
	return (*m)[name]
}

func (r *registry) register(t *tool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.tools.Load()
	var n map[string]*tool
	if old == nil {
		n = make(map[string]*tool, 1)
	} else {
		if _, dup := (*old)[t.Name]; dup {
			return fmt.Errorf("register tool %q: %w", t.Name, ErrToolExists)
		}
		n = make(map[string]*tool, len(*old)+1)
		for k, v := range *old {
			n[k] = v
		}
	}
	n[t.Name] = t
	r.tools.Store(&n)
	return nil
}

func (r *registry) unregister(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.tools.Load()
	if old == nil {
		return false
	}
	if _, ok := (*old)[name]; !ok {
		return false
	}
	n := make(map[string]*tool, len(*old))
	for k, v := range *old {
		if k != name {
			n[k] = v
		}
	}
	r.tools.Store(&n)
	return true
}

func (r *registry) list() []ToolInfo {
	m := r.tools.Load()
	if m == nil {
		return nil
	}
	out := make([]ToolInfo, 0, len(*m))
	for _, t := range *m {
		out = append(out, ToolInfo{Name: t.Name, Description: t.Description, Schema: t.Schema, Timeout: t.Timeout})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// validToolName reports whether name is a valid tool name.
func validToolName(name string) bool {
	if name == "" || len(name) > MaxToolNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == ':' || c == '/' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// compileTool validates t and compiles its schema.
func compileTool(t Tool) (*tool, error) {
	if !validToolName(t.Name) {
		return nil, fmt.Errorf("register tool %s: name must be 1 to %d characters from [A-Za-z0-9_.:/-], starting with a letter or digit",
			quoteBounded(t.Name), MaxToolNameLen)
	}
	if t.Func == nil {
		return nil, fmt.Errorf("register tool %q: Func is nil", t.Name)
	}
	if t.Timeout < 0 {
		return nil, fmt.Errorf("register tool %q: Timeout is negative", t.Name)
	}
	ct := &tool{Tool: t, nameValue: t.Name}
	ct.Schema = bytes.Clone(t.Schema)
	if len(bytes.TrimSpace(t.Schema)) == 0 {
		ct.Schema = nil
		return ct, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(t.Schema))
	if err != nil {
		return nil, fmt.Errorf("register tool %q: schema is not JSON: %v", t.Name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// No loader: a schema may not fetch remote or file references.
	c.UseLoader(noLoader{})
	url := "tool:///" + t.Name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("register tool %q: schema: %v", t.Name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("register tool %q: invalid schema: %v", t.Name, err)
	}
	ct.schema = s
	return ct, nil
}

// noLoader refuses every external schema reference.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, errors.New("external schema references are not allowed: " + url)
}

// validateArgs checks decoded args against t's schema and returns an
// ErrBadArgs error naming each offending field.
func (t *tool) validateArgs(args any) error {
	if t.schema == nil {
		if _, ok := args.(map[string]any); !ok {
			return refine(ErrBadArgs, "args: want a JSON object")
		}
		return nil
	}
	err := t.schema.Validate(args)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return refineCause(ErrBadArgs, "args: "+err.Error(), err)
	}
	return refineCause(ErrBadArgs, "invalid arguments for tool '"+t.Name+"': "+describeValidation(ve), err)
}

// describeValidation lists the leaf problems of ve as "at /field: message".
func describeValidation(ve *jsonschema.ValidationError) string {
	p := message.NewPrinter(language.English)
	var parts []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			parts = append(parts, "at "+quoteBounded(loc)+": "+e.ErrorKind.LocalizedString(p))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(parts) > 8 {
		parts = append(parts[:8], fmt.Sprintf("and %d more", len(parts)-8))
	}
	return strings.Join(parts, "; ")
}
