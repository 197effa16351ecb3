package detect

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
)

// TestSecretsRules checks one rule at a time on examples written for this
// test (not taken from the labelled corpora): each case names the kind of
// the one finding expected and the text it must cover, or no finding.
func TestSecretsRules(t *testing.T) {
	t.Parallel()
	s := NewSecrets(SecretsOptions{})
	// A 1Password service account token is "ops_" and the base64 of a
	// JSON object of about 600 bytes.
	opsJSON := `{"signInAddress":"acme-corp.1password.com","userAuth":{"method":"SRPg-4096","alg":"PBES2g-HS256",` +
		`"iterations":650000,"salt":"Tq3Z0bW9xLr8vN2c"},"email":"k7fq2x1m@1passwordserviceaccounts.com",` +
		`"srpX":"9c4e1f7a2b3d8e60f5a1c7d9e2b4f6a80c3e5d7f9b1a2c4e6d8f0a1b3c5d7e9f","muk":{"alg":"A256GCM",` +
		`"ext":true,"k":"Zr4m9Qx2Lp7Wv1Ks8Tn3Yb6Hc0Jd5Fg","key_ops":["encrypt","decrypt"],"kty":"oct","kid":"mp"},` +
		`"secretKey":"A3-7KQ2PX-M4ZT9R-WQ8LN-5VJ3H-RB6TC-Y2D4E","throttleSecret":{"seed":"4b1e9d","uuid":"x2m9k7"},"deviceUuid":"p4q8r2s6t0v3w7y1z5"}`
	opsToken := "ops_" + base64.StdEncoding.EncodeToString([]byte(opsJSON))
	basicCreds := base64.StdEncoding.EncodeToString([]byte("ci-bot:Qm9x7!pLr2"))
	antBody := "PtYgjmUhBel31iEl2hpChYgCfrL1spNxnyVmihA-2O76UMFxFkM-R5Kjp1vRt_1fjORS-6ilI8ihN5KXSc7Tvo-hBKqFY"

	tests := []struct {
		name, in string
		kind     string // "" means no finding
		want     string // the text the finding covers
	}{
		// Slack: the numeric ids may repeat a digit; the random part may not.
		{"slack ids with repeated digits", "SLACK=xoxa-2-711111111-21111111111-5111111111111-9f3c2a7e1d0b84c6a5",
			"slack_token", "xoxa-2-711111111-21111111111-5111111111111-9f3c2a7e1d0b84c6a5"},
		{"slack placeholder random part", "xoxb-222222222-3333333333-xxxxxxxxxxxxxxxxxxxxxxxx", "", ""},

		// Anthropic: admin keys are a kind of their own.
		{"anthropic api key", "ANTHROPIC_API_KEY=sk-ant-api03-" + antBody + "AA", "anthropic_api_key", "sk-ant-api03-" + antBody + "AA"},
		{"anthropic admin key", "key: sk-ant-admin01-" + antBody + "AA", "anthropic_admin_key", "sk-ant-admin01-" + antBody + "AA"},
		{"anthropic key without the AA suffix", "sk-ant-api03-" + antBody + "QZ", "", ""},

		// curl -u: one shell word, quoted parts joined; braces around a
		// random value are not a template.
		{"curl user quoted parts", `curl -u 'deploy':"Zr8#kQ2vLm" https://repo.internal/api`, "basic_auth", `'deploy':"Zr8#kQ2vLm"`},
		{"curl user bare then quoted", `curl --user ops:'t7Vq2#mLx9' -X DELETE https://api.internal/v1/cache`, "basic_auth", `ops:'t7Vq2#mLx9'`},
		{"curl user braced values", `curl --user "{9c1e4b7a-55d2-4f0e-b3a1-7d2c8e6f9a01}":"{hT4pW9xLq2}" https://gw.internal`, "basic_auth",
			`"{9c1e4b7a-55d2-4f0e-b3a1-7d2c8e6f9a01}":"{hT4pW9xLq2}"`},
		{"curl user braced names", `curl -u {username}:{password} https://gw.internal`, "", ""},
		{"curl user shell variables", `curl -u "$DEPLOY_USER":"$DEPLOY_PASS" https://gw.internal`, "", ""},

		// Basic credentials must decode to user:password, not to JSON.
		{"basic header", `curl -H "Authorization: Basic ` + basicCreds + `" https://ci.internal`, "basic_auth", basicCreds},
		{"basic scheme carrying a JWT", `-H "Authorization: Basic eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaS1ib3QiLCJpYXQiOjE3MDAwMDAwMDB9.Xk2v9LqT0pW7mZr4YcB1nHs8dJf3gAe6uKo5iNtRwQy"`,
			"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaS1ib3QiLCJpYXQiOjE3MDAwMDAwMDB9.Xk2v9LqT0pW7mZr4YcB1nHs8dJf3gAe6uKo5iNtRwQy"},

		// Generic assignments.
		{"header value inside one quoted argument", `curl -H "X-Api-Token: Jd83kLq0Pz" https://api.internal`, "generic_secret", "Jd83kLq0Pz"},
		{"short hex token in a header", `curl -H 'Token: 9b1f04c2e7d3a865' https://api.internal/jobs`, "generic_secret", "9b1f04c2e7d3a865"},
		{"head noun before a preposition", "  keyVaultToStoreSecrets: prod-kv-2231908", "", ""},
		{"secret head noun before a preposition", `tokenForUser = "a8Kd02LmQz93Xv"`, "generic_secret", "a8Kd02LmQz93Xv"},
		{"identifier as unquoted value", "sshPassword(credentialsId: 'deploy-key', passwordVariable: 'PW')", "", ""},
		{"value naming a credential", `{"dbPassword": "DB_ADMIN_PASSWORD"}`, "", ""},
		{"elided value", `"api_key": "sk-7Hc9Q2mVx...",`, "", ""},
		{"elided and redacted value", "secret: Hc9Q2mVx7Lp..[REDACTED]", "", ""},
		{"sequential value", `client_secret = "0123456789abcdefXYZ"`, "", ""},
		{"call result assigned", "\tmasterSecret = kdf.DeriveSecret2(hs.suite, transcript)", "", ""},
		{"expression passed to a secret-named call", "key, err := ParsePrivateKey(curves.P521v2(), seed[:66])", "", ""},
		{"literal passed to a secret-named call", `setApiKey("Vq7Lm2Xc9Rt4Wz8P")`, "generic_secret", "Vq7Lm2Xc9Rt4Wz8P"},
		{"host name as value", `storeCredential("registry.corp-int.net/v2", hdr)`, "", ""},
		{"bare variable naming a key", "	PrivateKey: testP384v2PrivateKey,", "", ""},
		{"quoted weak password with digits", `password = "Summer2024Pass"`, "generic_secret", "Summer2024Pass"},

		// Vendor tokens.
		{"1password service account token", "export OP_SERVICE_ACCOUNT_TOKEN=" + opsToken + "\n", "onepassword_token", opsToken},
		{"clojars token", "CLOJARS_TOKEN=CLOJARS_tdbm50fqo1xo5cv0xzmas6en5mtmo3oqsg5lo50djzdnbj0ddlz2uhfkvml7",
			"clojars_token", "CLOJARS_tdbm50fqo1xo5cv0xzmas6en5mtmo3oqsg5lo50djzdnbj0ddlz2uhfkvml7"},
		{"vault legacy token", "vault login s.VDctQUy1xvCkgafrfwA94hJ9", "vault_token", "s.VDctQUy1xvCkgafrfwA94hJ9"},
		{"vault-like attribute without digits", "  this.s.AttributeNameForTheWidgetX = 1", "", ""},
		{"vault-like method call", "\tif !s.ReadUint32LengthPrefixed(&body) {", "", ""},
		{"vault-like camel-case name", "see s.ParseUint16HeaderFieldsX, then", "", ""},
		{"sourcegraph legacy token", "sourcegraph_access: 6cb9d21f6be6abf0d7c1c1e21862ab8a18a89020", "sourcegraph_token",
			"6cb9d21f6be6abf0d7c1c1e21862ab8a18a89020"},
		{"bare 40 hex digits", "commit 6cb9d21f6be6abf0d7c1c1e21862ab8a18a89020", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := s.scan(tc.in)
			if tc.kind == "" {
				for _, f := range fs {
					t.Errorf("unexpected %s finding %q", f.Kind, tc.in[f.Start:f.End])
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("got %d findings %v, want one %s", len(fs), fs, tc.kind)
			}
			if f := fs[0]; f.Kind != tc.kind || tc.in[f.Start:f.End] != tc.want {
				t.Errorf("got %s %q, want %s %q", f.Kind, tc.in[f.Start:f.End], tc.kind, tc.want)
			}
		})
	}
}

// TestSecretNameHead checks how identifiers are judged: the named thing is
// the part before a preposition.
func TestSecretNameHead(t *testing.T) {
	t.Parallel()
	for ident, want := range map[string]bool{
		"keyVaultToStoreSecrets": false,
		"urlForToken":            false,
		"passwordForAdmin":       true,
		"token_for_ci":           true,
		"apiKeyOfService":        true,
		"withCredentials":        true, // "with" leads: nothing comes before it
		"secret_name":            false,
		"sign_in_token":          true,
	} {
		if got := secretName(ident); got != want {
			t.Errorf("secretName(%q) = %v, want %v", ident, got, want)
		}
	}
}

func TestValueHelpers(t *testing.T) {
	t.Parallel()
	hex := map[string]bool{
		"9b1f04c2e7d3a865":                     true,
		"c4ed6c21-9dd5-4a05-8e3f-c56d1151cce8": true,
		"9b1f04c2e7d3a86":                      false, // too short
		"abcdefabcdefabcdef":                   false, // no digit
		"9b1f04c2e7d3a86g":                     false,
	}
	for v, want := range hex {
		if got := isHexToken(v); got != want {
			t.Errorf("isHexToken(%q) = %v, want %v", v, got, want)
		}
	}
	for v, want := range map[string]bool{"api.github.com": true, "registry.corp-int.net/v2/auth": true,
		"a8Kd02.LmQz93": false, "example": false, "10.0.0.1": false} {
		if got := hostOrPath(v); got != want {
			t.Errorf("hostOrPath(%q) = %v, want %v", v, got, want)
		}
	}
	for v, want := range map[string]int{"ReadUint16LengthPrefixed": 4, "VDctQUy1xvCkgafrfwA94hJ9": 1, "abc": 0} {
		if got := capitalWords(v); got != want {
			t.Errorf("capitalWords(%q) = %d, want %d", v, got, want)
		}
	}
	seq := map[string]bool{"pw12345678x": true, "xabcdefghy": true, "a1b2c3d4e5f6g7h8": false, "1234567": false}
	for v, want := range seq {
		if got := hasSequentialRun(v, 8); got != want {
			t.Errorf("hasSequentialRun(%q) = %v, want %v", v, got, want)
		}
	}
	for v, want := range map[string]string{"{k3Y-9x}": "k3Y-9x", "{password}": "{password}", "{${PW}1}": "{${PW}1}", "ab": "ab"} {
		if got := unbrace(v); got != want {
			t.Errorf("unbrace(%q) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[string]bool{
		base64.StdEncoding.EncodeToString([]byte("ci-bot:Qm9x7!pLr2")):               true,
		base64.RawStdEncoding.EncodeToString([]byte("ci-bot:Qm9x7!pLr2")):            true,
		base64.StdEncoding.EncodeToString([]byte(`{"alg":"HS256"}`)):                 false,
		base64.StdEncoding.EncodeToString([]byte("user\x00:pass")):                   false,
		base64.StdEncoding.EncodeToString([]byte("no separator in this credential")): false,
	} {
		if got := validBasic(v); got != want {
			t.Errorf("validBasic(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestSecretsPEMBlocks checks that each BEGIN line is closed by the first
// later END line of its own label, whatever other labels come between.
func TestSecretsPEMBlocks(t *testing.T) {
	key := strings.Repeat("MIIEowIBAAKCAQEAx3Jv9Qk2Lm8", 4) + "\n"
	block := func(label string) string {
		return "-----BEGIN " + label + "-----\n" + key + "-----END " + label + "-----\n"
	}
	tests := []struct {
		name, in  string
		wantBlock string // the text of the one finding, "" for none
	}{
		{"one block", "x\n" + block("RSA PRIVATE KEY") + "y", block("RSA PRIVATE KEY")[:len(block("RSA PRIVATE KEY"))-1]},
		{"an END of the label before the BEGIN does not count",
			"-----END EC PRIVATE KEY-----\n" + block("EC PRIVATE KEY"), block("EC PRIVATE KEY")[:len(block("EC PRIVATE KEY"))-1]},
		{"other labels between", "-----BEGIN OPENSSH PRIVATE KEY-----\n-----END DSA PRIVATE KEY-----\n" +
			block("ENCRYPTED PRIVATE KEY"), ""},
	}
	s := NewSecrets(SecretsOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := s.Scan(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var pem []string
			for _, f := range fs {
				if f.Rule == "private-key" {
					pem = append(pem, tt.in[f.Start:f.End])
				}
			}
			if tt.wantBlock != "" && (len(pem) != 1 || pem[0] != tt.wantBlock) {
				t.Errorf("private-key findings %q, want exactly %q", pem, tt.wantBlock)
			}
			if tt.wantBlock == "" && len(pem) == 0 {
				t.Errorf("no private-key finding in %q", tt.in)
			}
		})
	}
	// Many differently labelled BEGIN lines without END lines, then a
	// real block: still found (and each label is looked up, not searched).
	var b strings.Builder
	for i := range 2000 {
		b.WriteString("-----BEGIN K" + strconv.Itoa(i) + " PRIVATE KEY-----\n")
	}
	b.WriteString(block("RSA PRIVATE KEY"))
	fs, err := s.Scan(context.Background(), b.String())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fs {
		found = found || f.Rule == "private-key" && strings.Contains(b.String()[f.Start:f.End], "END RSA PRIVATE KEY")
	}
	if !found {
		t.Error("the real block after 2000 unclosed BEGIN lines was not found")
	}
}
