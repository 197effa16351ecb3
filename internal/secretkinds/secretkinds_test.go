package secretkinds

import (
	"slices"
	"testing"
)

func TestFamily(t *testing.T) {
	tests := []struct {
		kind string
		want []string
		ok   bool
	}{
		{"aws_key", []string{"aws_access_key"}, true},
		{"gitleaks-fp:anthropic-admin-api-key", []string{"anthropic_admin_key"}, true},
		{"generic-api-key", []string{Any}, true},
		{"no-such-kind", nil, false},
	}
	for _, tt := range tests {
		got, ok := Family(tt.kind)
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("Family(%q) = %v, %v; want %v, %v", tt.kind, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		found, family []string
		want          bool
	}{
		{[]string{"jwt", "github_token"}, []string{"github_token"}, true},
		{[]string{"jwt"}, []string{"github_token"}, false},
		{nil, []string{Any}, false},
		{[]string{"anything"}, []string{Any}, true},
	}
	for _, tt := range tests {
		if got := Answers(tt.found, tt.family); got != tt.want {
			t.Errorf("Answers(%v, %v) = %v, want %v", tt.found, tt.family, got, tt.want)
		}
	}
}
