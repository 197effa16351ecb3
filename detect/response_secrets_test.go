package detect

import (
	"context"
	"strings"
	"testing"
)

// TestResponseSecrets: with ResponseOptions.Secrets, every credential the
// secrets detector knows is a credential leak, with the secret's span,
// once (a span a reference pattern already reports is not reported
// again); without it the scanner reports what the reference does.
func TestResponseSecrets(t *testing.T) {
	t.Parallel()
	withSecrets, err := NewResponseScanner(ResponseOptions{Secrets: NewSecrets(SecretsOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	reference, err := NewResponseScanner(ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8s7Vd2Lk"
	tests := []struct {
		name, text string
		// want: credential types with the secrets detector, in order;
		// ref: without it.
		want, ref []string
		// spans: the text each credential threat covers (with secrets).
		spans []string
	}{
		{name: "secret access key by name", text: "aws_secret_access_key = " + secret + "\n",
			want: []string{"generic_secret"}, spans: []string{secret}},
		{name: "access key id: one threat, the reference's", text: "key AKIA2ZXCV7B4N6M8Q1W3 here",
			want: []string{"AWS access key"}, ref: []string{"AWS access key"}, spans: []string{"AKIA2ZXCV7B4N6M8Q1W3"}},
		{name: "slack token", text: "token xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx in config",
			want: []string{"slack_token"}},
		{name: "stripe key", text: "STRIPE=" + "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
			want: []string{"stripe_key"}},
		{name: "ordinary text", text: "The meeting moved to Thursday; the secret of good soup is patience."},
		{name: "documentation placeholder", text: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
	}
	types := func(s *ResponseScanner, text string) ([]string, []string) {
		var got, spans []string
		for _, th := range s.ScanResponse(context.Background(), text, "t").Threats {
			if th.Category != ResponseCredentialLeak {
				continue
			}
			got = append(got, th.CredentialType)
			spans = append(spans, text[th.Start:th.End])
			if strings.Contains(th.MatchedPattern+th.Description, secret) {
				t.Errorf("threat %+v repeats the secret", th)
			}
		}
		return got, spans
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, spans := types(withSecrets, tt.text)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("with secrets: types %q, want %q", got, tt.want)
			}
			for i, want := range tt.spans {
				if i >= len(spans) || !strings.Contains(spans[i], want) {
					t.Errorf("with secrets: spans %q, want %q covered", spans, tt.spans)
				}
			}
			if got, _ := types(reference, tt.text); strings.Join(got, ",") != strings.Join(tt.ref, ",") {
				t.Errorf("reference: types %q, want %q", got, tt.ref)
			}
		})
	}
}
