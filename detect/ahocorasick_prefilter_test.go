package detect

import (
	"slices"
	"strings"
	"testing"
)

// prefilterSeeds exercise every reference pattern and its literals in
// several cases, next to word characters and after fold-sensitive text.
var prefilterSeeds = []string{
	"Token: abcdefgh1234 and api_key=\"0123456789abcdef\"",
	"CLIENT_SECRET = 'qwertyuiop' ; Api-Key: zzzzzzzzzzzz",
	"AccountKey=abcdefghijklmnopqrstuvwxyz0123456789+/== ; SharedAccessSignature=sv=2020&sig=abc",
	"Password=hunter22;pwd = s3cr3t!!",
	"Basic dXNlcjpwYXNzd29yZA== and ftp://user:pa55@host/",
	"xsk-abcdefghijklmnopqrstuvwxyz sk-abcdefghijklmnopqrstuvwxyz_",
	"ghp_abcdefghijklmnopqrstuvwxyz0123 ghs_ABCDEFGHIJKLMNOPQRSTUV",
	"AKIAABCDEFGHIJKLMNOP AKIAabcdefghijklmnop",
	"Bearer abcdefghijklmnopqrstuvwxyz bearer abcdefghijklmnopqrst",
	"eyJhbGciOi.eyJzdWIiOi.signature_",
	"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----",
	"paſſword=hunter22 \u212aey toKen=abcdefgh",
	"apı_key=abcdefghijkl clİent_secret=abcdefghij",
	"secrettoken:=====abcdefgh tokentoken=xyzxyzxyz",
	"",
}

// TestReferencePrefilterExact checks that the literal prefilter never
// changes what the reference patterns match.
func TestReferencePrefilterExact(t *testing.T) {
	t.Parallel()
	r := NewCredentialRedactor(CredentialRedactorOptions{})
	for _, s := range slices.Concat(prefilterSeeds, secretSeeds) {
		for _, in := range []string{s, strings.ToUpper(s), strings.ToLower(s), "x" + s + "x"} {
			got := r.matches(in, r.anchors.positions(in))
			want := r.matches(in, nil)
			if !slices.Equal(got, want) {
				t.Errorf("%q: prefiltered %v, full %v", in, got, want)
			}
		}
	}
}

func FuzzReferencePrefilter(f *testing.F) {
	for _, s := range prefilterSeeds {
		f.Add(s)
	}
	r := NewCredentialRedactor(CredentialRedactorOptions{MaxInput: 1 << 16})
	f.Fuzz(func(t *testing.T, s string) {
		got := r.matches(s, r.anchors.positions(s))
		want := r.matches(s, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("%q: prefiltered %v, full %v", s, got, want)
		}
	})
}
