package auth

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const ghSubject = "repo:partner/billing:ref:refs/heads/main"

// federatedApp registers an app whose federated credential accepts tokens.
func federatedApp(t *testing.T, tokens ...string) (*fakegraph.Server, Config) {
	t.Helper()
	srv := startFake(t)
	srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID, FederatedTokens: tokens})
	cfg := appConfig(srv)
	cfg.UseOIDC = true
	return srv, cfg
}

// assertions is the client_assertion of each token request, in order.
func assertions(srv *fakegraph.Server) []string {
	var out []string
	for _, r := range srv.TokenRequests() {
		form, _ := url.ParseQuery(string(r.Body))
		out = append(out, form.Get("client_assertion"))
	}
	return out
}

func TestOIDCToken(t *testing.T) {
	t.Parallel()
	fed := fakegraph.NewFederatedToken("https://gitlab.example.com", "project_path:partner/billing", fakegraph.AzureADTokenExchange)
	srv, cfg := federatedApp(t, fed)
	cfg.OIDCToken = fed
	cfg.ClientSecret = testSecret // use_oidc wins over a secret
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Method() != MethodOIDC {
		t.Errorf("method %s", cred.Method())
	}
	if _, err := cred.Token(t.Context()); err != nil {
		t.Fatalf("Token: %v", err)
	}
	if got := assertions(srv); len(got) != 1 || got[0] != fed {
		t.Errorf("the token request did not carry the OIDC token as client assertion")
	}
}

// TestOIDCTokenFileRotation: the file is read again for every token
// request, so a token rotated by Kubernetes is used once the access token
// is refreshed.
func TestOIDCTokenFileRotation(t *testing.T) {
	t.Parallel()
	first := fakegraph.NewFederatedToken("https://oidc.aks.example", "system:serviceaccount:billing:terraform", fakegraph.AzureADTokenExchange)
	second := fakegraph.NewFederatedToken("https://oidc.aks.example", "system:serviceaccount:billing:terraform", fakegraph.AzureADTokenExchange)
	srv, cfg := federatedApp(t, first)
	cfg.OIDCTokenFilePath = writeTemp(t, "azure-identity-token", []byte(first+"\n"))
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok1, err := cred.Token(t.Context())
	if err != nil {
		t.Fatalf("first Token: %v", err)
	}
	// Kubernetes replaces the projected token; the old one is no longer accepted.
	if err := fakegraph.WriteFileAtomic(cfg.OIDCTokenFilePath, []byte(second), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID, FederatedTokens: []string{second}})
	cred.Invalidate(tok1)
	if _, err := cred.Token(t.Context()); err != nil {
		t.Fatalf("Token after rotation: %v", err)
	}
	got := assertions(srv)
	if len(got) != 2 || got[0] != first || got[1] != second {
		t.Errorf("assertions were not the file's content at each request (%d requests)", len(got))
	}

	// A file that disappears later is an error at token time that names it.
	if err := os.Remove(cfg.OIDCTokenFilePath); err != nil {
		t.Fatal(err)
	}
	cred.Invalidate(mustToken(t, cred))
	_, err = cred.Token(t.Context())
	if err == nil || !strings.Contains(err.Error(), "cannot read the OIDC token file") {
		t.Fatalf("Token with the file gone = %v", err)
	}
}

func mustToken(t *testing.T, c *Credential) string {
	t.Helper()
	tok, err := c.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestOIDCGitHubActions requests the token from the GitHub Actions endpoint
// the way the azure/login action does, and checks the request.
func TestOIDCGitHubActions(t *testing.T) {
	t.Parallel()
	const requestToken = "gh-request-token-never-leak"
	idToken := fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, ghSubject, fakegraph.AzureADTokenExchange)
	srv, cfg := federatedApp(t, idToken)
	cfg.OIDCRequestURL = srv.EnableGitHubOIDC(requestToken, idToken, ghSubject)
	cfg.OIDCRequestToken = requestToken
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.Token(t.Context()); err != nil {
		t.Fatalf("Token: %v", err)
	}
	reqs := srv.GitHubOIDCRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d GitHub token requests, want 1", len(reqs))
	}
	q, _ := url.ParseQuery(reqs[0].RawQuery)
	if q.Get("audience") != fakegraph.AzureADTokenExchange || q.Get("api-version") != "2.0" {
		t.Errorf("GitHub request query = %v, want the original api-version and audience %s", q, fakegraph.AzureADTokenExchange)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+requestToken {
		t.Errorf("Authorization header is not the request token")
	}
	if got := assertions(srv); len(got) != 1 || got[0] != idToken {
		t.Errorf("the client assertion is not the GitHub ID token")
	}
}

func TestOIDCGitHubErrors(t *testing.T) {
	t.Parallel()
	idToken := fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, ghSubject, fakegraph.AzureADTokenExchange)
	tests := map[string]struct {
		requestToken string // what the provider sends
		script       []fakegraph.Response
		accepted     []string // federated tokens of the app
		want         []string
		ghRequests   int
	}{
		"wrong request token": {
			requestToken: "expired-request-token-never-leak", accepted: []string{idToken},
			want:       []string{"answered HTTP 401", "Bad credentials", "id-token: write"},
			ghRequests: 1,
		},
		"app trusts another subject": {
			requestToken: "gh-request-token-never-leak", accepted: []string{"some-other-token"},
			want:       []string{"AADSTS700213", ghSubject},
			ghRequests: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := federatedApp(t, tc.accepted...)
			cfg.OIDCRequestURL = srv.EnableGitHubOIDC("gh-request-token-never-leak", idToken, ghSubject)
			cfg.OIDCRequestToken = tc.requestToken
			cred, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cred.Token(t.Context())
			if err == nil {
				t.Fatal("Token succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if n := len(srv.GitHubOIDCRequests()); n != tc.ghRequests {
				t.Errorf("%d GitHub requests, want %d", n, tc.ghRequests)
			}
			assertNoLeak(t, err.Error(), idToken, tc.requestToken, "gh-request-token-never-leak")
		})
	}
}

// TestOIDCGitHubTransient: a 5xx from the GitHub endpoint is retried like
// one from the identity platform.
func TestOIDCGitHubTransient(t *testing.T) {
	t.Parallel()
	idToken := fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, ghSubject, fakegraph.AzureADTokenExchange)
	srv, cfg := federatedApp(t, idToken)
	cfg.OIDCRequestURL = srv.EnableGitHubOIDC("rt", idToken, ghSubject)
	cfg.OIDCRequestToken = "rt"
	srv.ScriptGitHubOIDC(fakegraph.Status(503, `{"message":"Service Unavailable"}`))
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.Token(t.Context()); err != nil {
		t.Fatalf("Token: %v", err)
	}
	if n := len(srv.GitHubOIDCRequests()); n != 2 {
		t.Errorf("%d GitHub requests, want 2 (a 503, then the token)", n)
	}
}
