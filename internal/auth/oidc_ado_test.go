package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const (
	adoConnection  = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
	adoAccessToken = "ado-system-access-token-never-leak"
)

// pipelineApp registers an app whose federated credential trusts the
// service connection, and enables the fake Azure Pipelines endpoint; cfg is
// what an Azure Pipelines job gives the provider.
func pipelineApp(t *testing.T) (*fakegraph.Server, Config) {
	t.Helper()
	srv := startFake(t)
	srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID})
	cfg := appConfig(srv)
	cfg.UseOIDC = true
	cfg.OIDCRequestURL = srv.EnableAzurePipelinesOIDC(fakegraph.AzurePipelines{
		AccessToken: adoAccessToken, ServiceConnectionID: adoConnection, TenantID: testTenant, ClientID: testClientID,
	})
	cfg.OIDCRequestToken = adoAccessToken
	cfg.ADOServiceConnectionID = adoConnection
	return srv, cfg
}

// TestOIDCAzurePipelines requests the federated token the way the Azure SDKs
// and go-azure-sdk do, and a fresh one for every Entra token request.
func TestOIDCAzurePipelines(t *testing.T) {
	t.Parallel()
	srv, cfg := pipelineApp(t)
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok1 := mustToken(t, cred)
	if tok2 := mustToken(t, cred); tok2 != tok1 {
		t.Error("the access token was not cached")
	}
	cred.Invalidate(tok1)
	mustToken(t, cred)

	reqs := srv.AzurePipelinesOIDCRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d Azure Pipelines requests for 2 Entra token requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		q, err := url.ParseQuery(r.RawQuery)
		switch {
		case r.Method != http.MethodPost:
			t.Errorf("method %s, want POST", r.Method)
		case err != nil || q.Get("api-version") != "7.1" || q.Get("serviceConnectionId") != adoConnection || len(q) != 2:
			t.Errorf("query %q, want api-version=7.1&serviceConnectionId=%s", r.RawQuery, adoConnection)
		case r.Header.Get("Authorization") != "Bearer "+adoAccessToken:
			t.Error("Authorization is not the System.AccessToken")
		case r.Header.Get("X-TFS-FedAuthRedirect") != "Suppress" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != "application/json":
			t.Errorf("headers %v", r.Header)
		case len(r.Body) != 0:
			t.Errorf("body %q, want none", r.Body)
		}
	}
	issued := srv.AzurePipelinesOIDCTokens()
	got := assertions(srv)
	if len(got) != 2 || len(issued) != 2 || got[0] != issued[0] || got[1] != issued[1] || got[0] == got[1] {
		t.Errorf("the client assertions are not the two fresh Azure Pipelines tokens")
	}
}

// TestOIDCAzurePipelinesKeepsQuery: a query already in the request URL is
// kept as written.
func TestOIDCAzurePipelinesKeepsQuery(t *testing.T) {
	t.Parallel()
	srv, cfg := pipelineApp(t)
	cfg.OIDCRequestURL += "?tracing=a%2Fb"
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustToken(t, cred)
	reqs := srv.AzurePipelinesOIDCRequests()
	if len(reqs) != 1 || reqs[0].RawQuery != "tracing=a%2Fb&api-version=7.1&serviceConnectionId="+adoConnection {
		t.Errorf("requests %v", reqs)
	}
}

func TestOIDCAzurePipelinesErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		change   func(*Config)
		script   []fakegraph.Response
		want     []string
		requests int // to the Azure Pipelines endpoint
	}{
		"access token rejected": {
			change:   func(c *Config) { c.OIDCRequestToken = "expired-access-token-never-leak" },
			want:     []string{"Azure Pipelines OIDC token endpoint", "answered HTTP 401", "X-VSS-E2EID: ", "X-MSEdge-Ref: Ref A:", "rejected oidc_request_token", "SYSTEM_ACCESSTOKEN: $(System.AccessToken)"},
			requests: 1,
		},
		"unknown service connection": {
			change:   func(c *Config) { c.ADOServiceConnectionID = "00000000-0000-0000-0000-0000000000cc" },
			want:     []string{"answered HTTP 404", "No service connection found with identifier 00000000-0000-0000-0000-0000000000cc", "ado_pipeline_service_connection_id names no service connection"},
			requests: 1,
		},
		"pipeline not allowed to use the connection": {
			script: []fakegraph.Response{fakegraph.Status(403, `{"$id":"1","message":"The pipeline is not valid. Job Job: Step AzureCLI input connectedServiceNameARM references service connection 3f2504e0 which could not be found. The service connection does not exist, has been disabled or has not been authorized for use.","typeKey":"PipelineValidationException"}`,
				"X-VSS-E2EID", "e2e-1")},
			want:     []string{"answered HTTP 403", "has not been authorized for use", "PipelineValidationException", "X-VSS-E2EID: e2e-1", "names no service connection this pipeline may use"},
			requests: 1,
		},
		"forbidden without a message": {
			script:   []fakegraph.Response{fakegraph.Status(403, ``)},
			want:     []string{"answered HTTP 403", "Pipeline permissions"},
			requests: 1,
		},
		"sign-in redirect": {
			script:   []fakegraph.Response{fakegraph.Status(302, ``, "Location", "https://spsprodweu5.vssps.visualstudio.com/_signin")},
			want:     []string{"answered HTTP 302 (a redirect, which is never followed)", "rejected oidc_request_token"},
			requests: 1,
		},
		"an error body quoting the bearer": {
			script:   []fakegraph.Response{fakegraph.Status(400, `{"message":"bad request for token `+adoAccessToken+` and eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}`)},
			want:     []string{"answered HTTP 400", "[redacted]", "[redacted token]"},
			requests: 1,
		},
		"200 without oidcToken": {
			script:   []fakegraph.Response{fakegraph.OK(`{"value":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}`)},
			want:     []string{`answered HTTP 200 without a token (expected JSON {"oidcToken": "..."})`},
			requests: 1,
		},
		"transient failures are retried": {
			script:   []fakegraph.Response{fakegraph.Status(503, ``), fakegraph.Status(500, ``), fakegraph.Status(503, ``)},
			want:     []string{"answered HTTP 503"},
			requests: 3,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := pipelineApp(t)
			if tc.change != nil {
				tc.change(&cfg)
			}
			srv.ScriptAzurePipelinesOIDC(tc.script...)
			cred, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cred.Token(t.Context())
			if err == nil {
				t.Fatal("Token succeeded")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if n := len(srv.AzurePipelinesOIDCRequests()); n != tc.requests {
				t.Errorf("%d Azure Pipelines requests, want %d", n, tc.requests)
			}
			if n := len(srv.TokenRequests()); n != 0 {
				t.Errorf("%d Entra token requests without a federated token", n)
			}
			assertNoLeak(t, err.Error(), adoAccessToken, cfg.OIDCRequestToken, "eyJhbGciOiJSUzI1NiJ9")
		})
	}
}

// TestOIDCAzurePipelinesRetryThenToken: a 503 is retried and the next
// answer's token is used.
func TestOIDCAzurePipelinesRetryThenToken(t *testing.T) {
	t.Parallel()
	srv, cfg := pipelineApp(t)
	srv.ScriptAzurePipelinesOIDC(fakegraph.Status(503, ``))
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustToken(t, cred)
	if n := len(srv.AzurePipelinesOIDCRequests()); n != 2 {
		t.Errorf("%d Azure Pipelines requests, want 2 (a 503, then the token)", n)
	}
}

// TestOIDCAzurePipelinesConfig: what is missing or wrong is reported before
// any request, naming the step's env a pipeline needs.
func TestOIDCAzurePipelinesConfig(t *testing.T) {
	t.Parallel()
	const adoURL = "https://dev.azure.com/org/6f0d1f1c-8c49-4d6b-9f3c-2d3b4a5c6d7e/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken"
	tests := map[string]struct {
		url, token, connection string
		want                   map[string][]string // argument → texts of its error
	}{
		"no access token (the usual pipeline mistake)": {
			url: adoURL, connection: adoConnection,
			want: map[string][]string{ArgOIDCRequestToken: {"ado_pipeline_service_connection_id is set but oidc_request_token is not", "`SYSTEM_ACCESSTOKEN: $(System.AccessToken)`"}},
		},
		"no request URL": {
			token: adoAccessToken, connection: adoConnection,
			want: map[string][]string{ArgOIDCRequestURL: {"SYSTEM_OIDCREQUESTURI", "`SYSTEM_OIDCREQUESTURI: $(System.OidcRequestUri)`", "`SYSTEM_ACCESSTOKEN: $(System.AccessToken)`"}},
		},
		"only the service connection id": {
			connection: adoConnection,
			want: map[string][]string{
				ArgOIDCRequestURL:   {"SYSTEM_OIDCREQUESTURI"},
				ArgOIDCRequestToken: {"`SYSTEM_ACCESSTOKEN: $(System.AccessToken)`"},
			},
		},
		"a service connection name instead of its id": {
			url: adoURL, token: adoAccessToken, connection: "partner-billing",
			want: map[string][]string{ArgADOServiceConnectionID: {`"partner-billing" is not the id of a service connection`, "resourceId"}},
		},
		"plain http": {
			url: "http://dev.azure.com/x/oidctoken", token: adoAccessToken, connection: adoConnection,
			want: map[string][]string{ArgOIDCRequestURL: {"https URL (the Azure Pipelines OIDC token endpoint)"}},
		},
		"an Azure Pipelines URL without a service connection id": {
			url: adoURL,
			want: map[string][]string{
				ArgADOServiceConnectionID: {"oidc_request_url is an Azure Pipelines OIDC endpoint (SYSTEM_OIDCREQUESTURI)"},
				ArgOIDCRequestToken:       {"`SYSTEM_ACCESSTOKEN: $(System.AccessToken)`"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{TenantID: testTenant, ClientID: testClientID, UseOIDC: true,
				OIDCRequestURL: tc.url, OIDCRequestToken: tc.token, ADOServiceConnectionID: tc.connection}
			_, err := New(cfg)
			if err == nil {
				t.Fatal("New succeeded")
			}
			got := map[string]string{}
			for _, ce := range configErrors(t, err) {
				got[ce.Argument] = ce.Err.Error()
			}
			if len(got) != len(tc.want) {
				t.Errorf("errors on %v, want on %d arguments: %v", got, len(tc.want), err)
			}
			for arg, texts := range tc.want {
				for _, w := range texts {
					if !strings.Contains(got[arg], w) {
						t.Errorf("%s: %q lacks %q", arg, got[arg], w)
					}
				}
			}
			assertNoLeak(t, err.Error(), adoAccessToken)
		})
	}
}

// TestServiceConnectionAloneSelectsNothing: SPEC §2 chooses OIDC only on an
// explicit use_oidc; the service connection id only says how to ask for
// the token. Without use_oidc the error says so.
func TestServiceConnectionAloneSelectsNothing(t *testing.T) {
	t.Parallel()
	cfg := Config{TenantID: testTenant, ClientID: testClientID, OIDCRequestURL: "https://dev.azure.com/o/p/_apis/x/oidctoken",
		OIDCRequestToken: adoAccessToken, ADOServiceConnectionID: adoConnection}
	_, err := cfg.SelectMethod()
	if !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("SelectMethod = %v, want ErrNoCredentials", err)
	}
	for _, w := range []string{"oidc_request_url and ado_pipeline_service_connection_id are set but use_oidc is not true", "ARM_USE_OIDC=true"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	cfg.ClientSecret = testSecret
	if m, err := cfg.SelectMethod(); m != MethodClientSecret || err != nil {
		t.Errorf("with a secret too: %s, %v; the service connection id must not choose OIDC", m, err)
	}
	cfg.UseOIDC = true
	if m, err := cfg.SelectMethod(); m != MethodOIDC || err != nil {
		t.Errorf("with use_oidc: %s, %v", m, err)
	}
}

// TestAzurePipelinesAccessTokenDoesNotFollowRedirects: the System.AccessToken
// must not reach a redirect target, on another host or the same one.
func TestAzurePipelinesAccessTokenDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var leaked atomic.Value
	plain := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
	}))
	defer plain.Close()
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirecting := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/again") {
				leaked.Store(r.Header.Get("Authorization"))
				return
			}
			target := plain.URL + "/oidctoken"
			if code == http.StatusTemporaryRedirect {
				target = "/again" // the same host: Go would keep Authorization
			}
			http.Redirect(w, r, target, code)
		}))
		srv := startFake(t)
		srv.AddClient(testTenant, testClientID, testSecret) // the tenant must exist for MSAL to ask for an assertion
		pool := x509.NewCertPool()
		pool.AddCert(redirecting.Certificate())
		pool.AppendCertsFromPEM(srv.CACertPEM())
		cfg := appConfig(srv)
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		cfg.UseOIDC, cfg.OIDCRequestURL, cfg.OIDCRequestToken, cfg.ADOServiceConnectionID = true, redirecting.URL+"/org/proj/_apis/x/oidctoken", adoAccessToken, adoConnection
		cred, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cred.Token(t.Context())
		redirecting.Close()
		if err == nil {
			t.Fatalf("%d: a redirect from the Azure Pipelines endpoint was accepted", code)
		}
		if v, _ := leaked.Load().(string); v != "" {
			t.Errorf("%d: the redirect target received Authorization %q", code, v)
		}
		if want := fmt.Sprintf("answered HTTP %d", code); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "never followed") {
			t.Errorf("%d: error = %v, want the redirect reported", code, err)
		}
		assertNoLeak(t, err.Error(), adoAccessToken)
	}
}
