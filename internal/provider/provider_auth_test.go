package provider

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// Terraform-driven tests of every authentication method: the real Terraform
// CLI runs the provider in-process against fakegraph, and the read succeeds
// only with a token the fake issued to that method.

const pfxPassword = "pfx-password-must-never-leak"

var (
	certOnce sync.Once
	certKey  *rsa.PrivateKey
	certLeaf *x509.Certificate
)

// appCertificate is an RSA client certificate and its key, made once.
func appCertificate(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	certOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "partnerbilling provider test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			panic(err)
		}
		if certLeaf, err = x509.ParseCertificate(der); err != nil {
			panic(err)
		}
		certKey = k
	})
	return certLeaf, certKey
}

func certificatePEM(t *testing.T) string {
	t.Helper()
	cert, key := appCertificate(t)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// writePFX writes the certificate as a password-protected .pfx in the
// format OpenSSL 3 writes by default.
func writePFX(t *testing.T) string {
	t.Helper()
	cert, key := appCertificate(t)
	b, err := pkcs12.Modern2023.Encode(key, cert, nil, pfxPassword)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "client.pfx")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readSucceeds is a test step that reads the documented operation.
func readSucceeds(providerBlock string) resource.TestStep {
	return resource.TestStep{
		Config: providerBlock + docRead,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.partnerbilling_operation.test", tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
		},
	}
}

// endpoints points the provider at the fake.
func (e *env) endpoints() string {
	return fmt.Sprintf("  graph_endpoint = %q\n  authority_host = %q\n", e.srv.URL(), e.srv.URL())
}

// assertionsSent is the client_assertion of every token request.
func (e *env) assertionsSent() []string {
	var out []string
	for _, r := range e.srv.TokenRequests() {
		form, _ := url.ParseQuery(string(r.Body))
		out = append(out, form.Get("client_assertion"))
	}
	return out
}

func TestProviderClientCertificate(t *testing.T) {
	t.Parallel()
	tests := map[string]func(t *testing.T) string{
		"pfx file with a password": func(t *testing.T) string {
			return fmt.Sprintf("  client_certificate_path     = %q\n  client_certificate_password = %q\n", writePFX(t), pfxPassword)
		},
		"base64 pem content": func(t *testing.T) string {
			return fmt.Sprintf("  client_certificate = %q\n", base64.StdEncoding.EncodeToString([]byte(certificatePEM(t))))
		},
	}
	for name, credential := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			cert, _ := appCertificate(t)
			// The app has a certificate and no secret.
			e.srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID, Certificates: []*x509.Certificate{cert}})
			e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
			cfg := fmt.Sprintf("provider \"partnerbilling\" {\n  tenant_id = %q\n  client_id = %q\n%s%s}\n", testTenant, testClientID, credential(t), e.endpoints())
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{readSucceeds(cfg)}})
			for _, a := range e.assertionsSent() {
				if a == "" {
					t.Error("a token request without client assertion")
				}
			}
		})
	}
}

func TestProviderOIDC(t *testing.T) {
	t.Parallel()
	const subject = "repo:partner/billing:environment:production"
	tests := map[string]func(t *testing.T, e *env, token string) string{
		"token": func(_ *testing.T, _ *env, token string) string {
			return fmt.Sprintf("  oidc_token = %q\n", token)
		},
		"token file": func(t *testing.T, _ *env, token string) string {
			p := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("  oidc_token_file_path = %q\n", p)
		},
		"GitHub Actions endpoint": func(_ *testing.T, e *env, token string) string {
			u := e.srv.EnableGitHubOIDC("gh-request-token-must-never-leak", token, subject)
			return fmt.Sprintf("  oidc_request_url   = %q\n  oidc_request_token = \"gh-request-token-must-never-leak\"\n", u)
		},
	}
	for name, credential := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			token := fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, subject, fakegraph.AzureADTokenExchange)
			e.srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID, FederatedTokens: []string{token}})
			e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
			cfg := fmt.Sprintf("provider \"partnerbilling\" {\n  use_oidc  = true\n  tenant_id = %q\n  client_id = %q\n%s%s}\n",
				testTenant, testClientID, credential(t, e, token), e.endpoints())
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{readSucceeds(cfg)}})
			sent := e.assertionsSent()
			if len(sent) == 0 {
				t.Fatal("no token request")
			}
			for _, a := range sent {
				if a != token {
					t.Error("a token request did not carry the OIDC token")
				}
			}
		})
	}
}

// TestProviderOIDCFromEnvironment configures OIDC the way pipelines do:
// only through environment variables, including the ones GitHub Actions
// and AKS workload identity set themselves.
func TestProviderOIDCFromEnvironment(t *testing.T) {
	const subject = "system:serviceaccount:billing:terraform"
	tests := map[string]func(t *testing.T, e *env, token string){
		"GitHub Actions variables": func(t *testing.T, e *env, token string) {
			t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", e.srv.EnableGitHubOIDC("gh-request-token-must-never-leak", token, subject))
			t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token-must-never-leak")
		},
		"AZURE_FEDERATED_TOKEN_FILE": func(t *testing.T, _ *env, token string) {
			p := filepath.Join(t.TempDir(), "azure-identity-token")
			if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("AZURE_FEDERATED_TOKEN_FILE", p)
		},
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			e := newEnv(t)
			token := fakegraph.NewFederatedToken("https://issuer.example", subject, fakegraph.AzureADTokenExchange)
			e.srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID, FederatedTokens: []string{token}})
			e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
			setup(t, e, token)
			t.Setenv("ARM_USE_OIDC", "true")
			t.Setenv("ARM_TENANT_ID", testTenant)
			t.Setenv("ARM_CLIENT_ID", testClientID)
			t.Setenv("ARM_CLIENT_SECRET", "a-secret-that-use-oidc-overrides")
			t.Setenv("PARTNERBILLING_GRAPH_ENDPOINT", e.srv.URL())
			t.Setenv("PARTNERBILLING_AUTHORITY_HOST", e.srv.URL())
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{readSucceeds(`provider "partnerbilling" {}`)}})
			for _, a := range e.assertionsSent() {
				if a != token {
					t.Error("a token request did not carry the OIDC token")
				}
			}
		})
	}
}

// TestProviderManagedIdentity uses the App Service style endpoint, which
// MSAL finds through IDENTITY_ENDPOINT and IDENTITY_HEADER. MSAL caches
// managed identity tokens process-wide, so each case has its own identity.
func TestProviderManagedIdentity(t *testing.T) {
	tests := map[string]struct {
		clientID string
		provider string
		env      []string
	}{
		"system-assigned from ARM_USE_MSI": {provider: `provider "partnerbilling" {}`, env: []string{"ARM_USE_MSI", "1"}},
		"user-assigned": {clientID: "00000000-0000-0000-0000-00000000a5f1", provider: `provider "partnerbilling" {
  use_msi   = true
  client_id = "00000000-0000-0000-0000-00000000a5f1"
}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			e := newEnv(t)
			e.srv.AddManagedIdentity(tc.clientID)
			e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
			for _, n := range msalSourceVars {
				t.Setenv(n, "")
			}
			t.Setenv("IDENTITY_ENDPOINT", e.srv.ManagedIdentityEndpoint())
			t.Setenv("IDENTITY_HEADER", e.srv.IdentityHeader())
			t.Setenv("PARTNERBILLING_GRAPH_ENDPOINT", e.srv.URL())
			for i := 0; i+1 < len(tc.env); i += 2 {
				t.Setenv(tc.env[i], tc.env[i+1])
			}
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{readSucceeds(tc.provider)}})
			reqs := e.srv.ManagedIdentityRequests()
			if len(reqs) == 0 {
				t.Fatal("no managed identity request")
			}
			if q, _ := url.ParseQuery(reqs[0].RawQuery); q.Get("client_id") != tc.clientID {
				t.Errorf("client_id %q, want %q", q.Get("client_id"), tc.clientID)
			}
			if n := len(e.srv.TokenRequests()); n != 0 {
				t.Errorf("%d app token requests", n)
			}
		})
	}
}
