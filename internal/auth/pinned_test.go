package auth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestSecretIsOnlyPostedToTheAuthority: an OpenID configuration that names a
// token endpoint on another host (or port) must not receive the secret.
func TestSecretIsOnlyPostedToTheAuthority(t *testing.T) {
	t.Parallel()
	elsewhere := startFake(t)
	elsewhere.AddClient(testTenant, testClientID, testSecret)
	authority := httptest.NewUnstartedServer(nil)
	authority.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"authorization_endpoint":%q,"token_endpoint":%q,"issuer":%q}`,
			authority.URL+"/"+testTenant+"/oauth2/v2.0/authorize",
			elsewhere.URL()+"/"+testTenant+"/oauth2/v2.0/token",
			authority.URL+"/"+testTenant+"/v2.0")
	})
	authority.StartTLS()
	defer authority.Close()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(elsewhere.CACertPEM())
	pool.AddCert(authority.Certificate())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}

	cfg := Config{TenantID: testTenant, ClientID: testClientID, ClientSecret: testSecret,
		AuthorityHost: authority.URL, HTTPClient: client, Sleep: instant}
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.Token(t.Context())
	if err == nil || !strings.Contains(err.Error(), "refusing to send an identity request to "+strings.TrimPrefix(elsewhere.URL(), "https://")) {
		t.Fatalf("error = %v, want the foreign token endpoint refused", err)
	}
	if n := len(elsewhere.Requests()); n != 0 {
		t.Errorf("the foreign host received %d requests", n)
	}
}

// TestTokenErrorsQuoteNoToken: a token response MSAL cannot use (no
// expires_in) is quoted by MSAL verbatim; the error must not carry it.
func TestTokenErrorsQuoteNoToken(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.LEAKEDSIGNATURE"
	for name, body := range map[string]string{
		"no expires_in": `{"token_type":"Bearer","access_token":"` + token + `"}`,
		"opaque token":  `{"token_type":"Bearer","access_token":"opaque-token-value-123","expires_in":"soon"}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := startFake(t)
			srv.AddClient(testTenant, testClientID, testSecret)
			srv.ScriptToken(fakegraph.OK(body))
			cfg := appConfig(srv)
			cfg.ClientSecret = testSecret
			cred, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cred.Token(t.Context())
			if err == nil {
				t.Fatal("a token response without a usable expiry was accepted")
			}
			for _, leak := range []string{token, "LEAKEDSIGNATURE", "opaque-token-value-123", testSecret} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error quotes %q: %v", leak, err)
				}
			}
		})
	}
}
