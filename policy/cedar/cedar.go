package cedar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"

	cedargo "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/agentos/agentos/policy"
)

// DefaultName is the backend name when Options.Name is empty.
const DefaultName = "cedar"

// Options configures [New]. The zero value of each field has the meaning
// its comment gives; Policies or Files must give at least one source.
type Options struct {
	// Name is the backend's name, reported as "external:<Name>" and used
	// as the prefix of every reason. "" means [DefaultName].
	Name string

	// Policies is Cedar policy text. Its problems are located as
	// line:col without a file name. "": only Files are loaded.
	Policies string

	// Files are paths of Cedar policy files read once by New, in order,
	// after Policies. nil: only Policies is loaded.
	Files []string

	// Entities is the entity store as Cedar's JSON entity format (an
	// array of {"uid", "attrs", "parents"}), used for `in` and attribute
	// lookups on principals, actions and resources. nil or empty: no
	// entities.
	Entities []byte

	// Logger receives a record when the backend is built. nil discards.
	Logger *slog.Logger
}

// policyEntry is one loaded policy with the reasons naming it.
type policyEntry struct {
	id     cedargo.PolicyID
	policy *cedargo.Policy
	reason string // "<name>: allowed by permit <id> (<pos>)" or "denied by forbid"
	label  string // "<id> (<pos>)", for reasons naming several policies
}

// policyList evaluates policies in load order, so that reasons and
// diagnostics are deterministic.
type policyList []policyEntry

// All implements cedargo.PolicyIterator.
func (l policyList) All() iter.Seq2[cedargo.PolicyID, *cedargo.Policy] {
	return func(yield func(cedargo.PolicyID, *cedargo.Policy) bool) {
		for _, e := range l {
			if !yield(e.id, e.policy) {
				return
			}
		}
	}
}

// Backend decides actions by Cedar policies. Policies and entities are
// parsed once, by [New]; [Backend.Decide] maps the input to a request
// ([MapRequest]) and authorizes it. Unlike the reference's built-in
// matcher, when and unless clauses are honoured. A Backend is immutable
// and safe for concurrent use.
type Backend struct {
	name     string
	policies policyList
	index    map[cedargo.PolicyID]int // id → position in policies
	entities types.EntityMap

	reasonNoPermit string
}

// New parses the policies and entities in opts. Problems are returned
// together as [policy.Errors], each located as file:line:col or naming the
// option; with no policy source at all the error is [ErrNoPolicies].
//
// A policy's id is its @id("...") annotation, else "policy<N>" where N
// counts policies from 0 in load order; ids must be unique.
func New(opts Options) (*Backend, error) {
	if opts.Policies == "" && len(opts.Files) == 0 {
		return nil, ErrNoPolicies
	}
	b := &Backend{name: opts.Name, index: map[cedargo.PolicyID]int{}}
	if b.name == "" {
		b.name = DefaultName
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	var errs policy.Errors
	type source struct{ file, text string }
	var sources []source
	if opts.Policies != "" {
		sources = append(sources, source{"", opts.Policies})
	}
	for _, path := range opts.Files {
		text, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &policy.Error{Loc: policy.Location{File: path}, Field: "Files", Msg: err.Error()})
			continue
		}
		sources = append(sources, source{path, string(text)})
	}
	n := 0
	for _, src := range sources {
		list, err := cedargo.NewPolicyListFromBytes(src.file, []byte(src.text))
		if err != nil {
			errs = append(errs, parseError(src.file, err))
			continue
		}
		for _, p := range list {
			id := cedargo.PolicyID("policy" + strconv.Itoa(n))
			n++
			if v, ok := p.Annotations()["id"]; ok {
				id = cedargo.PolicyID(v)
			}
			pos := p.Position()
			if prev, dup := b.index[id]; dup {
				errs = append(errs, &policy.Error{Loc: policy.Location{File: pos.Filename, Line: pos.Line, Col: pos.Column},
					Msg: fmt.Sprintf("policy id %q already used at %s", id, position(b.policies[prev].policy.Position()))})
				continue
			}
			label := string(id) + " (" + position(pos) + ")"
			verb := b.name + ": allowed by permit policy "
			if p.Effect() == cedargo.Forbid {
				verb = b.name + ": denied by forbid policy "
			}
			b.index[id] = len(b.policies)
			b.policies = append(b.policies, policyEntry{id: id, policy: p, reason: verb + label, label: label})
		}
	}
	if len(opts.Entities) > 0 {
		if err := json.Unmarshal(opts.Entities, &b.entities); err != nil {
			errs = append(errs, &policy.Error{Field: "Entities", Msg: err.Error()})
		}
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	b.reasonNoPermit = b.name + ": no permit policy matched (default deny)"
	logger.LogAttrs(context.Background(), slog.LevelInfo, "cedar backend loaded",
		slog.String("backend", b.name),
		slog.Int("policies", len(b.policies)),
		slog.Int("entities", len(b.entities)))
	return b, nil
}

// parseErrorAt finds the position in cedar-go's parse error text, which
// carries it only as "parse error at <file>:<line>:<col> ".
var parseErrorAt = regexp.MustCompile(`parse error at [^ ]*?:(\d+):(\d+) (.*)$`)

// parseError locates a parse error in file. cedar-go reports the position
// only inside its message, so it is read from there; when it cannot be,
// the whole message is kept and the position is left unknown.
func parseError(file string, err error) *policy.Error {
	msg := err.Error()
	m := parseErrorAt.FindStringSubmatch(msg)
	if m == nil {
		return &policy.Error{Loc: policy.Location{File: file}, Msg: msg}
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	return &policy.Error{Loc: policy.Location{File: file, Line: line, Col: col}, Msg: "parse error at " + m[3]}
}

// position renders a policy position as file:line:col, or line:col for
// Options.Policies.
func position(p cedargo.Position) string {
	s := strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column)
	if p.Filename != "" {
		s = p.Filename + ":" + s
	}
	return s
}

// Name returns the backend's name.
func (b *Backend) Name() string { return b.name }

// Decide maps input to a Cedar request ([MapRequest]) and authorizes it.
//
// Allow gives true and a reason naming the permit policies that
// determined it; deny gives false and a reason naming the forbid policies
// that matched, or saying no permit matched. Anything else fails closed
// with an error: an input that cannot be mapped ([ErrInput]), any
// diagnostic error from any policy, a cancelled context, or a panic
// ([ErrEval]). allowed is false whenever err is non-nil. Cedar
// evaluation has no loops, so it is not bounded by a timeout; ctx is
// checked before it starts.
func (b *Backend) Decide(ctx context.Context, input map[string]any) (allowed bool, reason string, err error) {
	defer func() {
		if r := recover(); r != nil {
			allowed, reason, err = false, "", fmt.Errorf("%w: panic: %v", ErrEval, r)
		}
	}()
	if cerr := ctx.Err(); cerr != nil {
		return false, "", fmt.Errorf("%w: %w", ErrEval, cerr)
	}
	req, err := MapRequest(input)
	if err != nil {
		return false, "", err
	}
	decision, diag := cedargo.Authorize(b.policies, b.entities, req)
	if len(diag.Errors) > 0 {
		return false, "", b.diagnosticError(diag.Errors)
	}
	switch {
	case decision == cedargo.Allow && len(diag.Reasons) > 0:
		return true, b.because(diag.Reasons, b.name+": allowed by permit policies "), nil
	case decision == cedargo.Deny && len(diag.Reasons) > 0:
		return false, b.because(diag.Reasons, b.name+": denied by forbid policies "), nil
	case decision == cedargo.Deny:
		return false, b.reasonNoPermit, nil
	default:
		return false, "", fmt.Errorf("%w: decision %v without a determining policy", ErrEval, decision)
	}
}

// because names the determining policies: the precomputed reason of a
// single one, or prefix and their labels.
func (b *Backend) because(reasons []cedargo.DiagnosticReason, prefix string) string {
	if len(reasons) == 1 {
		if i, ok := b.index[reasons[0].PolicyID]; ok {
			return b.policies[i].reason
		}
	}
	var s strings.Builder
	s.WriteString(prefix)
	for i, r := range reasons {
		if i > 0 {
			s.WriteString(", ")
		}
		if j, ok := b.index[r.PolicyID]; ok {
			s.WriteString(b.policies[j].label)
		} else {
			s.WriteString(string(r.PolicyID))
		}
	}
	return s.String()
}

// diagnosticError reports every policy that could not be evaluated.
func (b *Backend) diagnosticError(diags []cedargo.DiagnosticError) error {
	errs := make([]error, len(diags))
	for i, d := range diags {
		errs[i] = fmt.Errorf("policy %s (%s): %s", d.PolicyID, position(d.Position), d.Message)
	}
	return fmt.Errorf("%w: %w", ErrEval, errors.Join(errs...))
}
