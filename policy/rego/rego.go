package rego

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	opa "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/agentos/agentos/policy"
)

// Defaults applied by [New] to zero [Options] fields.
const (
	// DefaultName is the backend name when Options.Name is empty.
	DefaultName = "rego"
	// DefaultQuery is the query evaluated when Options.Query is empty.
	DefaultQuery = "data.agentos.allow"
	// DefaultTimeout caps one evaluation when Options.Timeout is zero.
	DefaultTimeout = 100 * time.Millisecond
)

// Options configures [New]. The zero value of each field has the meaning
// its comment gives; at least one module (Modules or Files) is required.
type Options struct {
	// Name is the backend's name, reported as "external:<Name>" and used
	// as the prefix of every reason. "" means [DefaultName].
	Name string

	// Modules maps a file name, used in error locations, to Rego v1
	// source. nil or empty: only Files are loaded.
	Modules map[string]string

	// Files are paths of Rego v1 modules read once by New; each path is
	// also the module's file name in error locations. nil: only Modules
	// are loaded. A name may appear in Modules or Files, not both.
	Files []string

	// Query is the Rego query that decides, a single expression whose
	// value is either a boolean (true allows) or an object
	// {"allow": bool, "reason": string}. "" means [DefaultQuery].
	Query string

	// Data is the base document visible to policies under data. It must
	// be JSON-compatible; it is copied, so later changes to the map are
	// not seen. nil: no data besides the modules.
	Data map[string]any

	// Timeout caps the duration of one evaluation, on top of any deadline
	// the caller's context already has. 0 means [DefaultTimeout]; a
	// negative value is an error.
	Timeout time.Duration

	// Now returns the time policies see through time.now_ns. nil means
	// time.Now.
	Now func() time.Time

	// Logger receives a record when the backend is built. nil discards.
	Logger *slog.Logger
}

// Backend decides actions with an embedded OPA engine. Its modules and
// query are parsed, compiled and prepared once, by [New]; [Backend.Decide]
// only evaluates. A Backend is immutable and safe for concurrent use.
type Backend struct {
	name     string
	query    string
	timeout  time.Duration
	now      func() time.Time
	prepared opa.PreparedEvalQuery

	// Reasons are built once so that Decide does not format them.
	reasonTrue, reasonFalse, reasonUndefined string
	reasonObjTrue, reasonObjFalse            string
}

// unsafeBuiltins lists the built-in functions a policy may not call: they
// reach the network, expose the host, or are random, and a policy decision
// must be deterministic and local. A module calling one fails to compile.
func unsafeBuiltins() map[string]struct{} {
	return map[string]struct{}{
		ast.HTTPSend.Name:        {},
		ast.NetLookupIPAddr.Name: {},
		ast.OPARuntime.Name:      {},
		ast.RandIntn.Name:        {},
		ast.UUIDRFC4122.Name:     {},
	}
}

// New loads, parses and compiles the modules in opts and prepares the
// query for evaluation. Problems in the modules or options are returned
// together as [policy.Errors], each located as file:line:col or naming the
// option; with no module at all the error is [ErrNoModules].
func New(opts Options) (*Backend, error) {
	b := &Backend{
		name:    opts.Name,
		query:   opts.Query,
		timeout: opts.Timeout,
		now:     opts.Now,
	}
	if b.name == "" {
		b.name = DefaultName
	}
	if b.query == "" {
		b.query = DefaultQuery
	}
	if b.now == nil {
		b.now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	var errs policy.Errors
	if b.timeout < 0 {
		errs = append(errs, &policy.Error{Field: "Timeout", Msg: "must not be negative, got " + b.timeout.String()})
	}
	if b.timeout == 0 {
		b.timeout = DefaultTimeout
	}

	modules, merrs := parseModules(opts)
	errs = append(errs, merrs...)
	if len(modules) == 0 && len(merrs) == 0 {
		return nil, ErrNoModules
	}
	errs = append(errs, checkQuery(b.query)...)
	data, err := copyData(opts.Data)
	if err != nil {
		errs = append(errs, &policy.Error{Field: "Data", Msg: err.Error()})
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}

	regoOpts := []func(*opa.Rego){
		opa.Query(b.query),
		opa.SetRegoVersion(ast.RegoV1),
		opa.UnsafeBuiltins(unsafeBuiltins()),
		opa.StrictBuiltinErrors(true),
		opa.EnablePrintStatements(false),
		opa.Store(inmem.NewFromObject(data)),
	}
	for _, m := range modules {
		regoOpts = append(regoOpts, opa.ParsedModule(m))
	}
	// Preparing compiles and runs no policy code, so it needs no caller
	// context.
	prepared, err := opa.New(regoOpts...).PrepareForEval(context.Background())
	if err != nil {
		if es := fromAST(err); len(es) > 0 {
			return nil, es.Err()
		}
		return nil, fmt.Errorf("rego: prepare %s: %w", b.query, err)
	}
	b.prepared = prepared

	b.reasonTrue = b.name + ": " + b.query + " is true"
	b.reasonFalse = b.name + ": " + b.query + " is false"
	b.reasonUndefined = b.name + ": " + b.query + " is undefined"
	b.reasonObjTrue = b.name + ": " + b.query + ".allow is true"
	b.reasonObjFalse = b.name + ": " + b.query + ".allow is false"

	logger.LogAttrs(context.Background(), slog.LevelInfo, "rego backend prepared",
		slog.String("backend", b.name),
		slog.String("query", b.query),
		slog.Int("modules", len(modules)))
	return b, nil
}

// parseModules reads Files, then parses Modules and Files as Rego v1,
// in file-name order.
func parseModules(opts Options) ([]*ast.Module, policy.Errors) {
	var errs policy.Errors
	sources := make(map[string]string, len(opts.Modules)+len(opts.Files))
	for name, src := range opts.Modules {
		sources[name] = src
	}
	for _, path := range opts.Files {
		if _, dup := sources[path]; dup {
			errs = append(errs, &policy.Error{Loc: policy.Location{File: path}, Field: "Files", Msg: "module loaded twice"})
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &policy.Error{Loc: policy.Location{File: path}, Field: "Files", Msg: err.Error()})
			continue
		}
		sources[path] = string(src)
	}
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	slices.Sort(names)

	modules := make([]*ast.Module, 0, len(names))
	for _, name := range names {
		m, err := ast.ParseModuleWithOpts(name, sources[name], ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			if es := fromAST(err); len(es) > 0 {
				errs = append(errs, es...)
			} else {
				errs = append(errs, &policy.Error{Loc: policy.Location{File: name}, Msg: err.Error()})
			}
			continue
		}
		if m == nil {
			errs = append(errs, &policy.Error{Loc: policy.Location{File: name}, Msg: "empty module: a module starts with a package declaration"})
			continue
		}
		modules = append(modules, m)
	}
	return modules, errs
}

// checkQuery parses q and requires a single expression, so that a result
// has exactly one value to judge.
func checkQuery(q string) policy.Errors {
	body, err := ast.ParseBodyWithOpts(q, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		es := fromAST(err)
		if len(es) == 0 {
			return policy.Errors{{Field: "Query", Msg: err.Error()}}
		}
		for _, e := range es {
			e.Loc.File = ""
			e.Field = "Query"
		}
		return es
	}
	if len(body) != 1 {
		return policy.Errors{{Field: "Query", Msg: fmt.Sprintf("%q has %d expressions, want 1", q, len(body))}}
	}
	return nil
}

// copyData deep-copies data through JSON, so the store holds only JSON
// values and the caller's map is not shared.
func copyData(data map[string]any) (map[string]any, error) {
	if data == nil {
		return map[string]any{}, nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("not JSON-compatible: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("not JSON-compatible: %v", err)
	}
	return out, nil
}

// fromAST converts OPA's located errors (possibly wrapped) to
// [policy.Errors].
func fromAST(err error) policy.Errors {
	var aes ast.Errors
	if !errors.As(err, &aes) {
		var ae *ast.Error
		if !errors.As(err, &ae) {
			return nil
		}
		aes = ast.Errors{ae}
	}
	es := make(policy.Errors, 0, len(aes))
	for _, ae := range aes {
		e := &policy.Error{Msg: ae.Message}
		if ae.Code != "" {
			e.Msg = ae.Code + ": " + ae.Message
		}
		if loc := ae.Location; loc != nil {
			e.Loc = policy.Location{File: loc.File, Line: loc.Row, Col: loc.Col}
		}
		es = append(es, e)
	}
	return es
}

// Name returns the backend's name.
func (b *Backend) Name() string { return b.name }

// Decide evaluates the query with input as the Rego input document.
//
// A boolean result true allows and false denies; an undefined result
// denies. An object result {"allow": bool, "reason": string} decides by
// its allow field and gives its reason (a default reason when reason is
// absent or empty; other fields are ignored). Anything else fails closed
// with an error: an input that cannot be converted ([ErrInput]), an
// evaluation error, cancellation, timeout or panic ([ErrEval]), and
// several results or a result of another type ([ErrResult]). allowed is
// false whenever err is non-nil.
func (b *Backend) Decide(ctx context.Context, input map[string]any) (allowed bool, reason string, err error) {
	defer func() {
		if r := recover(); r != nil {
			allowed, reason, err = false, "", fmt.Errorf("%w: %s: panic: %v", ErrEval, b.query, r)
		}
	}()
	if cerr := ctx.Err(); cerr != nil {
		return false, "", fmt.Errorf("%w: %s: %w", ErrEval, b.query, cerr)
	}
	in, err := inputValue(input)
	if err != nil {
		return false, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	rs, err := b.prepared.Eval(ctx, opa.EvalParsedInput(in), opa.EvalTime(b.now()))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return false, "", fmt.Errorf("%w: %s: %w", ErrEval, b.query, cerr)
		}
		return false, "", fmt.Errorf("%w: %s: %w", ErrEval, b.query, err)
	}
	return b.judge(rs)
}

// judge turns a result set into a decision.
func (b *Backend) judge(rs opa.ResultSet) (bool, string, error) {
	switch len(rs) {
	case 0:
		return false, b.reasonUndefined, nil
	case 1:
	default:
		return false, "", fmt.Errorf("%w: %s produced %d results, want 1", ErrResult, b.query, len(rs))
	}
	exprs := rs[0].Expressions
	if len(exprs) != 1 {
		return false, "", fmt.Errorf("%w: %s produced %d values, want 1", ErrResult, b.query, len(exprs))
	}
	switch v := exprs[0].Value.(type) {
	case bool:
		if v {
			return true, b.reasonTrue, nil
		}
		return false, b.reasonFalse, nil
	case map[string]any:
		return b.judgeObject(v)
	default:
		return false, "", fmt.Errorf("%w: %s is %s, want a boolean or an object with a boolean \"allow\"",
			ErrResult, b.query, kind(v))
	}
}

// judgeObject decides by an {"allow": bool, "reason": string} object.
func (b *Backend) judgeObject(obj map[string]any) (bool, string, error) {
	raw, ok := obj["allow"]
	if !ok {
		return false, "", fmt.Errorf("%w: %s has no \"allow\" field", ErrResult, b.query)
	}
	allow, ok := raw.(bool)
	if !ok {
		return false, "", fmt.Errorf("%w: %s.allow is %s, want a boolean", ErrResult, b.query, kind(raw))
	}
	reason := ""
	if r, present := obj["reason"]; present {
		s, ok := r.(string)
		if !ok {
			return false, "", fmt.Errorf("%w: %s.reason is %s, want a string", ErrResult, b.query, kind(r))
		}
		reason = s
	}
	if reason == "" {
		reason = b.reasonObjFalse
		if allow {
			reason = b.reasonObjTrue
		}
	}
	return allow, reason, nil
}

// kind names the JSON kind of a result value.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64, int, int64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
