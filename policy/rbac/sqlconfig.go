package rbac

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/agentos/agentos/policy"
)

// LoadSQLPolicyConfig reads an SQL policy from YAML (the reference's
// load_sql_policy_config). The document must be a mapping with a
// "sql_policy" section:
//
//	sql_policy:
//	  blocked_statements: [DROP, TRUNCATE]   # upper-cased on load
//	  require_where_clause: [DELETE, UPDATE] # upper-cased on load
//	  blocked_create_types: [USER]           # upper-cased on load
//	  blocked_patterns: ['\bSLEEP\s*\(']     # kept as written
//	disclaimer: "..."                       # top level, as in the reference
//
// A key missing from the section means an empty list, as in the reference
// (not the defaults). Unlike the reference, unknown keys and non-string
// entries are errors, and every pattern is compiled here. Errors are
// [*policy.Error] values naming file, line, column and field (a cause such
// as a YAML syntax or regexp error is part of the message); name is used
// only in messages.
func LoadSQLPolicyConfig(r io.Reader, name string) (SQLPolicyConfig, error) {
	var cfg SQLPolicyConfig
	data, err := io.ReadAll(r)
	if err != nil {
		return cfg, fmt.Errorf("read sql policy %s: %w", name, err)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, &policy.Error{Loc: policy.Location{File: name}, Msg: "file must contain a 'sql_policy' section"}
		}
		return cfg, &policy.Error{Loc: policy.Location{File: name}, Msg: "invalid YAML: " + err.Error()}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return cfg, &policy.Error{Loc: policy.Location{File: name, Line: root.Line, Col: root.Column}, Msg: "file must contain a 'sql_policy' section"}
	}
	var section *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "sql_policy":
			section = v
		case "disclaimer":
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				return cfg, &policy.Error{Loc: policy.Location{File: name, Line: v.Line, Col: v.Column}, Field: "disclaimer", Msg: "must be a string"}
			}
			cfg.Disclaimer = v.Value
		}
	}
	if section == nil {
		return cfg, &policy.Error{Loc: policy.Location{File: name, Line: root.Line, Col: root.Column}, Msg: "file must contain a 'sql_policy' section"}
	}
	if section.Kind != yaml.MappingNode {
		return cfg, &policy.Error{Loc: policy.Location{File: name, Line: section.Line, Col: section.Column}, Field: "sql_policy", Msg: "must be a mapping"}
	}
	for i := 0; i+1 < len(section.Content); i += 2 {
		k, v := section.Content[i], section.Content[i+1]
		field := "sql_policy." + k.Value
		var dst *[]string
		upper := true
		switch k.Value {
		case "blocked_statements":
			dst = &cfg.BlockedStatements
		case "require_where_clause":
			dst = &cfg.RequireWhereClause
		case "blocked_create_types":
			dst = &cfg.BlockedCreateTypes
		case "blocked_patterns":
			dst, upper = &cfg.BlockedPatterns, false
		default:
			return cfg, &policy.Error{Loc: policy.Location{File: name, Line: k.Line, Col: k.Column}, Field: field, Msg: "unknown field"}
		}
		list, err := stringList(v, name, field)
		if err != nil {
			return cfg, err
		}
		if upper {
			for j := range list {
				list[j] = strings.ToUpper(list[j])
			}
		}
		*dst = list
	}
	for j, p := range cfg.BlockedPatterns {
		if _, err := compilePython(p, false); err != nil {
			n := patternNode(section, j)
			return cfg, &policy.Error{Loc: policy.Location{File: name, Line: n.Line, Col: n.Column},
				Field: "sql_policy.blocked_patterns." + strconv.Itoa(j), Msg: "pattern does not compile: " + err.Error()}
		}
	}
	return cfg, nil
}

func stringList(v *yaml.Node, file, field string) ([]string, error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, &policy.Error{Loc: policy.Location{File: file, Line: v.Line, Col: v.Column}, Field: field, Msg: "must be a list of strings"}
	}
	out := make([]string, 0, len(v.Content))
	for j, e := range v.Content {
		if e.Kind != yaml.ScalarNode || e.Tag != "!!str" {
			return nil, &policy.Error{Loc: policy.Location{File: file, Line: e.Line, Col: e.Column},
				Field: field + "." + strconv.Itoa(j), Msg: "must be a string"}
		}
		out = append(out, e.Value)
	}
	return out, nil
}

func patternNode(section *yaml.Node, j int) *yaml.Node {
	for i := 0; i+1 < len(section.Content); i += 2 {
		if section.Content[i].Value == "blocked_patterns" {
			if v := section.Content[i+1]; j < len(v.Content) {
				return v.Content[j]
			}
			return section.Content[i+1]
		}
	}
	return section
}
