package rbac

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// DefaultDenyAbove is the reference's RiskPolicy.deny_above.
const DefaultDenyAbove = 0.9

// RiskPolicy is the reference's RiskPolicy: a score threshold, text
// patterns and domain lists checked by [Snapshot.ValidateRisk].
type RiskPolicy struct {
	// DenyAbove denies any score greater than or equal to it. 0 means
	// [DefaultDenyAbove]; it must lie in (0, +Inf) otherwise.
	DenyAbove float64
	// HighRiskPatterns deny a request when one of them occurs,
	// case-insensitively, in a parameter's key or in the text of a parameter
	// value (at any depth).
	HighRiskPatterns []string
	// AllowedDomains, when non-empty, restricts the "url" parameter (or, if
	// there is none, "domain") to these hosts and their subdomains.
	AllowedDomains []string
	// BlockedDomains deny these hosts and their subdomains.
	BlockedDomains []string
}

// compiledRisk is a validated RiskPolicy.
type compiledRisk struct {
	id        string
	denyAbove float64
	patterns  []string // lower-cased
	allowed   []string // lower-cased, no trailing dot
	blocked   []string
}

func compileRisk(id string, p RiskPolicy) (compiledRisk, error) {
	c := compiledRisk{id: id, denyAbove: p.DenyAbove}
	if c.denyAbove == 0 {
		c.denyAbove = DefaultDenyAbove
	}
	if math.IsNaN(c.denyAbove) || c.denyAbove < 0 {
		return c, fmt.Errorf("%w: risk policy %q: deny_above %v is not a non-negative number", ErrInvalidArgument, id, p.DenyAbove)
	}
	for _, s := range p.HighRiskPatterns {
		c.patterns = append(c.patterns, strings.ToLower(s))
	}
	norm := func(field string, in []string) ([]string, error) {
		var out []string
		for i, d := range in {
			d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
			if d == "" || strings.ContainsAny(d, "/:@ ") {
				return nil, fmt.Errorf("%w: risk policy %q: %s[%d] %q is not a host name", ErrInvalidArgument, id, field, i, in[i])
			}
			out = append(out, d)
		}
		return out, nil
	}
	var err error
	if c.allowed, err = norm("allowed_domains", p.AllowedDomains); err != nil {
		return c, err
	}
	if c.blocked, err = norm("blocked_domains", p.BlockedDomains); err != nil {
		return c, err
	}
	return c, nil
}

// hostOf extracts the lower-cased host from a URL ("https://a.b/x") or a
// bare domain ("a.b", "a.b:8080/x"). ok is false if none can be found.
func hostOf(v any) (string, bool) {
	s, isStr := v.(string)
	if !isStr {
		return "", false
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false
	}
	if !strings.Contains(s, "://") {
		s = "//" + s // parse a bare domain as an authority
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", false
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return h, h != ""
}

// hostMatches reports whether host is domain or one of its subdomains.
func hostMatches(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// validate applies one policy. It returns the reason for a denial.
func (c *compiledRisk) validate(params map[string]any, score float64) (string, bool) {
	if math.IsNaN(score) || score >= c.denyAbove {
		return "Risk score " + strconv.FormatFloat(score, 'g', -1, 64) +
			" is at or above deny_above " + strconv.FormatFloat(c.denyAbove, 'g', -1, 64) +
			" (risk policy '" + c.id + "')", true
	}
	for _, p := range c.patterns {
		if textContains(params, p) {
			return "High-risk pattern '" + p + "' in parameters (risk policy '" + c.id + "')", true
		}
	}
	if len(c.allowed) == 0 && len(c.blocked) == 0 {
		return "", false
	}
	v, hasURL := params["url"]
	if !hasURL {
		var hasDomain bool
		if v, hasDomain = params["domain"]; !hasDomain {
			return "", false
		}
	}
	host, ok := hostOf(v)
	if !ok {
		// An empty value names no host, so only an allow-list denies it;
		// anything else without a host cannot be checked and is denied.
		if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" && len(c.allowed) == 0 {
			return "", false
		}
		return "Domain not allowed: no host in " + describe(v) + " (risk policy '" + c.id + "')", true
	}
	for _, d := range c.blocked {
		if hostMatches(host, d) {
			return "Domain blocked: " + host + " (risk policy '" + c.id + "')", true
		}
	}
	if len(c.allowed) > 0 {
		for _, d := range c.allowed {
			if hostMatches(host, d) {
				return "", false
			}
		}
		return "Domain not allowed: " + host + " (risk policy '" + c.id + "')", true
	}
	return "", false
}

func describe(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return typeName(v)
}

// textContains reports whether the lower-cased pattern occurs in a key or a
// scalar's text anywhere in v. Scalars are rendered as Python's str() does
// for them (True, False, None, 5, 2.5).
func textContains(v any, pattern string) bool {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.Contains(strings.ToLower(k), pattern) || textContains(x[k], pattern) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range x {
			if textContains(e, pattern) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range x {
			if strings.Contains(strings.ToLower(e), pattern) {
				return true
			}
		}
		return false
	case string:
		return strings.Contains(strings.ToLower(x), pattern)
	case nil:
		return strings.Contains("none", pattern)
	case bool:
		if x {
			return strings.Contains("true", pattern)
		}
		return strings.Contains("false", pattern)
	case json.Number:
		return strings.Contains(strings.ToLower(x.String()), pattern)
	}
	return strings.Contains(strings.ToLower(fmt.Sprint(v)), pattern)
}
