package auth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// MSAL keeps managed identity tokens in a process-wide cache keyed by the
// identity, so every test here uses its own user-assigned client id, and
// only TestManagedIdentityAppService uses the system-assigned identity.
// They set the process environment (MSAL reads it), so none is parallel.

// msiEnv clears every variable MSAL uses to pick a managed identity source,
// then sets kv.
func msiEnv(t *testing.T, kv ...string) {
	t.Helper()
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET"} {
		t.Setenv(k, "")
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

func appServiceEnv(t *testing.T, srv *fakegraph.Server) {
	t.Helper()
	msiEnv(t, "IDENTITY_ENDPOINT", srv.ManagedIdentityEndpoint(), "IDENTITY_HEADER", srv.IdentityHeader())
}

func msiConfig(srv *fakegraph.Server, clientID string) Config {
	return Config{UseMSI: true, ClientID: clientID, HTTPClient: srv.HTTPClient(), Sleep: instant,
		TenantID: testTenant, ClientSecret: "ignored-secret-never-sent"}
}

func TestManagedIdentityAppService(t *testing.T) {
	tests := map[string]struct{ clientID, wantQueryID string }{
		"system-assigned": {clientID: "", wantQueryID: ""},
		"user-assigned":   {clientID: "00000000-0000-0000-0000-00000000a5e1", wantQueryID: "00000000-0000-0000-0000-00000000a5e1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startFake(t)
			srv.AddManagedIdentity(tc.clientID)
			appServiceEnv(t, srv)
			cred, err := New(msiConfig(srv, tc.clientID))
			if err != nil {
				t.Fatal(err)
			}
			if cred.Method() != MethodManagedIdentity {
				t.Errorf("method %s", cred.Method())
			}
			tok := mustToken(t, cred)
			if issued := srv.IssuedTokens(); len(issued) != 1 || issued[0] != tok {
				t.Fatalf("the token is not the one the managed identity endpoint issued")
			}
			reqs := srv.ManagedIdentityRequests()
			if len(reqs) != 1 {
				t.Fatalf("%d managed identity requests", len(reqs))
			}
			q, _ := url.ParseQuery(reqs[0].RawQuery)
			if q.Get("resource") != GraphResource || q.Get("client_id") != tc.wantQueryID || reqs[0].Header.Get("X-IDENTITY-HEADER") != srv.IdentityHeader() {
				t.Errorf("request %s?%s", reqs[0].Path, reqs[0].RawQuery)
			}
			if len(srv.TokenRequests()) != 0 {
				t.Errorf("the client secret was used")
			}
		})
	}
}

// imdsRedirect sends what MSAL addresses to the VM's Instance Metadata
// Service (plain http on 169.254.169.254) to the fake over TLS instead.
type imdsRedirect struct {
	to   *url.URL
	next http.RoundTripper
}

func (r imdsRedirect) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "169.254.169.254" {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	}
	return r.next.RoundTrip(req)
}

func TestManagedIdentityIMDS(t *testing.T) {
	const id = "00000000-0000-0000-0000-00000000a5e2"
	srv := startFake(t)
	srv.AddManagedIdentity(id)
	msiEnv(t) // no source variables: MSAL falls back to IMDS
	cfg := msiConfig(srv, id)
	to, _ := url.Parse(srv.URL())
	cfg.HTTPClient = &http.Client{Transport: imdsRedirect{to: to, next: srv.HTTPClient().Transport}}
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustToken(t, cred)
	reqs := srv.ManagedIdentityRequests()
	if len(reqs) != 1 || reqs[0].Path != fakegraph.IMDSTokenPath || reqs[0].Header.Get("Metadata") != "true" {
		t.Fatalf("IMDS requests: %v", reqs)
	}
}

// TestManagedIdentityRefreshAfterRejection: after the API rejects a token,
// the next one comes from the endpoint, not from MSAL's process-wide cache.
func TestManagedIdentityRefreshAfterRejection(t *testing.T) {
	const id = "00000000-0000-0000-0000-00000000a5e3"
	srv := startFake(t)
	srv.AddManagedIdentity(id)
	appServiceEnv(t, srv)
	cred, err := New(msiConfig(srv, id))
	if err != nil {
		t.Fatal(err)
	}
	first := mustToken(t, cred)
	if again := mustToken(t, cred); again != first {
		t.Fatal("a second Token call did not reuse the cached token")
	}
	cred.Invalidate(first)
	second := mustToken(t, cred)
	if second == first {
		t.Fatal("Invalidate did not lead to a new token")
	}
	if n := len(srv.ManagedIdentityRequests()); n != 2 {
		t.Errorf("%d managed identity requests, want 2", n)
	}
	// The bypass is one-off: a new credential for the same identity is
	// answered from MSAL's cache again.
	cred2, err := New(msiConfig(srv, id))
	if err != nil {
		t.Fatal(err)
	}
	if tok := mustToken(t, cred2); tok != second {
		t.Error("a new credential did not get the token MSAL cached")
	}
}

func TestManagedIdentityErrors(t *testing.T) {
	tests := map[string]struct {
		clientID string
		script   []fakegraph.Response
		want     []string
		requests int
	}{
		"identity not assigned": {
			clientID: "00000000-0000-0000-0000-00000000a5e4",
			want:     []string{"managed identity authentication", "No User Assigned or Delegated Managed Identity found"},
			requests: 1,
		},
		"endpoint busy, then fine": {
			clientID: "00000000-0000-0000-0000-00000000a5e5",
			script:   []fakegraph.Response{fakegraph.Status(503, `{"statusCode":503,"message":"busy"}`), fakegraph.Status(429, `{"statusCode":429,"message":"slow down"}`)},
			requests: 3,
		},
		"endpoint keeps failing": {
			clientID: "00000000-0000-0000-0000-00000000a5e6",
			script: []fakegraph.Response{fakegraph.Status(500, `{"statusCode":500}`), fakegraph.Status(500, `{"statusCode":500}`),
				fakegraph.Status(500, `{"statusCode":500}`)},
			want:     []string{"HTTP 500"},
			requests: 3,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startFake(t)
			if tc.want == nil || tc.script != nil {
				srv.AddManagedIdentity(tc.clientID)
			}
			srv.ScriptManagedIdentity(tc.script...)
			appServiceEnv(t, srv)
			cred, err := New(msiConfig(srv, tc.clientID))
			if err != nil {
				t.Fatal(err)
			}
			_, err = cred.Token(t.Context())
			if tc.want == nil && err != nil {
				t.Fatalf("Token: %v", err)
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v lacks %q", err, w)
				}
			}
			if n := len(srv.ManagedIdentityRequests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			if err != nil {
				assertNoLeak(t, err.Error(), srv.IdentityHeader())
			}
		})
	}
}

// TestManagedIdentityConfigErrors: MSAL's own checks of the source
// surface at Configure, on the argument to change.
func TestManagedIdentityConfigErrors(t *testing.T) {
	msiEnv(t, "MSI_ENDPOINT", "http://localhost:50342/oauth2/token") // Cloud Shell
	_, err := New(Config{UseMSI: true, ClientID: "00000000-0000-0000-0000-00000000a5e7"})
	ces := configErrors(t, err)
	if len(ces) != 1 || ces[0].Argument != ArgClientID || !strings.Contains(ces[0].Err.Error(), "Cloud Shell doesn't support user-assigned managed identities") {
		t.Fatalf("error = %v", err)
	}
}
