package auth

import (
	"crypto/x509"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// scopeRig is one sign-in method set up against the fake, for the
// per-scope checks of checkScopes.
type scopeRig struct {
	srv  *fakegraph.Server
	cred *Credential
	// requests counts the token requests (of any kind: Entra, managed
	// identity, az) that asked for resource.
	requests func(resource string) int
	// failStorage makes the Storage token request fail definitely.
	failStorage func()
	// perEntraRequest, when set, checks what each Entra token request
	// needed besides itself (a fresh federated token).
	perEntraRequest func(t *testing.T)
	// sameToken: every request of a scope returns the same token (the fake
	// az prints tokens issued when it was written).
	sameToken bool
}

// entraRequests counts token endpoint requests per resource.
func entraRequests(srv *fakegraph.Server) func(string) int {
	return func(resource string) int { return len(srv.TokenRequestsFor(resource)) }
}

// invalidClient is a definite token endpoint failure.
var invalidClient = fakegraph.Status(401, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)

// concurrentTokens runs n concurrent Token calls of one scope and returns
// the token they all got.
func concurrentTokens(t *testing.T, s *ScopedToken, n int) string {
	t.Helper()
	var wg sync.WaitGroup
	toks := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { toks[i], errs[i] = s.Token(t.Context()) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("%s: caller %d: %v", s.Scope(), i, errs[i])
		}
		if toks[i] != toks[0] {
			t.Fatalf("%s: callers got different tokens", s.Scope())
		}
	}
	return toks[0]
}

// checkScopes: a Storage token that fails does not poison Graph or Partner
// Center; each scope's token is requested once, on first use, shared by
// concurrent callers, issued for its own resource, and cached; an
// invalidated Graph token costs one Graph request and nothing else; the
// azcore view serves its scope only.
func checkScopes(t *testing.T, rig scopeRig) {
	t.Helper()
	c := rig.cred
	count := func() [3]int {
		return [3]int{rig.requests(fakegraph.GraphResource), rig.requests(fakegraph.PartnerCenterResource), rig.requests(fakegraph.StorageResource)}
	}
	want := func(step string, graph, pc, storage int) {
		t.Helper()
		if got := count(); got != [3]int{graph, pc, storage} {
			t.Fatalf("%s: token requests (Graph, Partner Center, Storage) = %v, want %v", step, got, [3]int{graph, pc, storage})
		}
	}
	want("before any use", 0, 0, 0)

	rig.failStorage()
	_, err := c.Scope(StorageScope).Token(t.Context())
	if err == nil || !strings.Contains(err.Error(), "token for https://storage.azure.com") {
		t.Fatalf("Storage token: %v, want a failure naming the storage resource", err)
	}
	want("after the Storage failure", 0, 0, 1)

	graph := concurrentTokens(t, c.Scope(GraphScope), 8)
	want("after 8 concurrent Graph callers", 1, 0, 1)
	if _, err := c.Scope(StorageScope).Token(t.Context()); err == nil {
		t.Fatal("the remembered Storage failure was forgotten")
	}
	want("after the Storage failure was answered from memory", 1, 0, 1)

	pc := concurrentTokens(t, c.Scope(PartnerCenterScope), 8)
	want("after 8 concurrent Partner Center callers", 1, 1, 1)
	for tok, aud := range map[string]string{graph: fakegraph.GraphResource, pc: fakegraph.PartnerCenterResource} {
		if got := fakegraph.TokenAudience(tok); got != aud {
			t.Errorf("token audience %q, want %q", got, aud)
		}
	}
	if first, again := c.Scope(GraphScope), c.Scope(GraphScope); first != again {
		t.Error("Scope returned two sources for one scope")
	}
	if tok := mustToken(t, c); tok != graph {
		t.Error("Credential.Token is not the Graph scope's token")
	}
	want("after cached reads", 1, 1, 1)

	c.Invalidate(graph)
	if again := mustToken(t, c); (again == graph && !rig.sameToken) || fakegraph.TokenAudience(again) != fakegraph.GraphResource {
		t.Error("after Invalidate, the Graph token was not replaced by a new Graph token")
	}
	if again, err := c.Scope(PartnerCenterScope).Token(t.Context()); err != nil || again != pc {
		t.Errorf("the Partner Center token changed when the Graph token was invalidated (%v)", err)
	}
	want("after the Graph token was invalidated", 2, 1, 1)

	tc := c.TokenCredential(PartnerCenterScope)
	at, err := tc.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{PartnerCenterScope}})
	if err != nil || at.Token != pc || time.Until(at.ExpiresOn) < 30*time.Minute {
		t.Errorf("TokenCredential: %v, token is the shared one: %v, expires in %v", err, at.Token == pc, time.Until(at.ExpiresOn))
	}
	if _, err := tc.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{GraphScope}}); err == nil ||
		!strings.Contains(err.Error(), "only serves the scope "+PartnerCenterScope) {
		t.Errorf("a Partner Center TokenCredential asked for Graph: %v", err)
	}
	want("after the azcore view", 2, 1, 1)
	if rig.perEntraRequest != nil {
		rig.perEntraRequest(t)
	}
}

func TestScopesClientSecret(t *testing.T) {
	t.Parallel()
	srv := startFake(t)
	srv.AddClient(testTenant, testClientID, testSecret)
	cfg := appConfig(srv)
	cfg.ClientSecret = testSecret
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkScopes(t, scopeRig{srv: srv, cred: cred, requests: entraRequests(srv), failStorage: func() { srv.ScriptToken(invalidClient) }})
}

func TestScopesClientCertificate(t *testing.T) {
	t.Parallel()
	cc := newClientCert(t)
	srv := startFake(t)
	srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID, Certificates: []*x509.Certificate{cc.leaf}})
	cfg := appConfig(srv)
	cfg.ClientCertificate = certPEM(cc.leaf) + keyPEM(t, cc.key, "PRIVATE KEY")
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkScopes(t, scopeRig{srv: srv, cred: cred, requests: entraRequests(srv), failStorage: func() { srv.ScriptToken(invalidClient) }})
}

func TestScopesOIDC(t *testing.T) {
	t.Parallel()
	// Every Entra token request carries a federated token of its own.
	freshAssertions := func(srv *fakegraph.Server, federated func() int) func(t *testing.T) {
		return func(t *testing.T) {
			if n, entra := federated(), len(srv.TokenRequests()); n != entra {
				t.Errorf("%d federated token requests for %d Entra token requests", n, entra)
			}
		}
	}
	tests := map[string]func(t *testing.T) (*fakegraph.Server, Config, func(t *testing.T)){
		"token (as HCP Terraform's TFC_WORKLOAD_IDENTITY_TOKEN)": func(t *testing.T) (*fakegraph.Server, Config, func(t *testing.T)) {
			fed := fakegraph.NewFederatedToken("https://app.terraform.io", "organization:partner:project:billing:workspace:close:run_phase:apply", fakegraph.AzureADTokenExchange)
			srv, cfg := federatedApp(t, fed)
			cfg.OIDCToken = fed
			return srv, cfg, nil
		},
		"token file": func(t *testing.T) (*fakegraph.Server, Config, func(t *testing.T)) {
			fed := fakegraph.NewFederatedToken("https://oidc.aks.example", "system:serviceaccount:billing:terraform", fakegraph.AzureADTokenExchange)
			srv, cfg := federatedApp(t, fed)
			cfg.OIDCTokenFilePath = writeTemp(t, "token", []byte(fed))
			return srv, cfg, nil
		},
		"GitHub Actions": func(t *testing.T) (*fakegraph.Server, Config, func(t *testing.T)) {
			idToken := fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, ghSubject, fakegraph.AzureADTokenExchange)
			srv, cfg := federatedApp(t, idToken)
			cfg.OIDCRequestURL = srv.EnableGitHubOIDC("gh-request-token-never-leak", idToken, ghSubject)
			cfg.OIDCRequestToken = "gh-request-token-never-leak"
			return srv, cfg, freshAssertions(srv, func() int { return len(srv.GitHubOIDCRequests()) })
		},
		"Azure Pipelines": func(t *testing.T) (*fakegraph.Server, Config, func(t *testing.T)) {
			srv, cfg := pipelineApp(t)
			return srv, cfg, freshAssertions(srv, func() int { return len(srv.AzurePipelinesOIDCRequests()) })
		},
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, cfg, per := setup(t)
			cred, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if cred.Method() != MethodOIDC {
				t.Fatalf("method %s", cred.Method())
			}
			checkScopes(t, scopeRig{srv: srv, cred: cred, requests: entraRequests(srv), failStorage: func() { srv.ScriptToken(invalidClient) }, perEntraRequest: per})
		})
	}
}

// TestScopesManagedIdentity asks for resources (the scope without
// "/.default"). MSAL's process-wide cache is keyed by identity and
// resource: this test's user-assigned identity is its own.
func TestScopesManagedIdentity(t *testing.T) {
	const id = "00000000-0000-0000-0000-00000000a5e9"
	srv := startFake(t)
	srv.AddManagedIdentity(id)
	appServiceEnv(t, srv)
	cred, err := New(msiConfig(srv, id))
	if err != nil {
		t.Fatal(err)
	}
	checkScopes(t, scopeRig{srv: srv, cred: cred, requests: entraRequests(srv), failStorage: func() {
		srv.ScriptManagedIdentity(fakegraph.Status(400, `{"statusCode":400,"message":"No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."}`))
	}})
	if n := len(srv.TokenRequests()); n != 0 {
		t.Errorf("%d requests to the Entra token endpoint with managed identity", n)
	}
}
