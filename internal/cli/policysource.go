package cli

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/agentos/agentos/policy"
	"github.com/agentos/agentos/policy/cedar"
	"github.com/agentos/agentos/policy/rego"
)

// policySource says where a command's policy comes from: policy files and
// directories, and the external Rego and Cedar backends consulted when no
// rule matches.
type policySource struct {
	paths      []string
	regoFiles  []string
	regoQuery  string
	cedarFiles []string
}

// addFlags registers --policy, --rego, --rego-query and --cedar on fs.
func (s *policySource) addFlags(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&s.paths, "policy", "p", nil, "policy file or directory (repeatable); default: the built-in default policy")
	fs.StringArrayVar(&s.regoFiles, "rego", nil, "Rego v1 module consulted when no rule matches (repeatable)")
	fs.StringVar(&s.regoQuery, "rego-query", "", "Rego query giving the decision (default data.agentos.allow)")
	fs.StringArrayVar(&s.cedarFiles, "cedar", nil, "Cedar policy file consulted when no rule matches (repeatable)")
}

// load loads and compiles the policy. With no policy paths the built-in
// default policy is used, unless backends are given, in which case the
// backends alone decide.
func (s *policySource) load() (*policy.Set, []*policy.Document, error) {
	backends, err := s.backends()
	if err != nil {
		return nil, nil, err
	}
	var docs []*policy.Document
	switch {
	case len(s.paths) > 0:
		if err := checkPathsExist(s.paths); err != nil {
			return nil, nil, err
		}
		docs, err = policy.LoadFiles(s.paths...)
	case len(backends) == 0:
		docs, err = policy.DefaultDocuments()
	}
	if err != nil {
		return nil, nil, err
	}
	set, err := policy.Compile(docs, policy.CompileOptions{Backends: backends})
	if err != nil {
		return nil, nil, err
	}
	return set, docs, nil
}

// backends builds the Rego and Cedar backends, Rego first.
func (s *policySource) backends() ([]policy.Backend, error) {
	var out []policy.Backend
	if len(s.regoFiles) > 0 {
		if err := checkPathsExist(s.regoFiles); err != nil {
			return nil, err
		}
		b, err := rego.New(rego.Options{Files: s.regoFiles, Query: s.regoQuery})
		if err != nil {
			return nil, backendError("rego", err)
		}
		out = append(out, b)
	} else if s.regoQuery != "" {
		return nil, exitf(ExitUsage, "--rego-query needs --rego")
	}
	if len(s.cedarFiles) > 0 {
		if err := checkPathsExist(s.cedarFiles); err != nil {
			return nil, err
		}
		b, err := cedar.New(cedar.Options{Files: s.cedarFiles})
		if err != nil {
			return nil, backendError("cedar", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// backendError turns a backend's load error into an exit error; its
// located problems are already formatted file:line:col.
func backendError(name string, err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return exitf(ExitFailure, "%s: %v", name, err)
}
