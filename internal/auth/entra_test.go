package auth

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// closedPort is an https URL on loopback where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "https://" + addr
}

// TestUnreachableAuthority: a login host that cannot be reached (refused
// connection, unknown name, TLS failure, no answer) is an
// *UnreachableError naming the host, for every scope; an identity
// platform that answers is not.
func TestUnreachableAuthority(t *testing.T) {
	t.Parallel()
	srv := startFake(t)
	srv.AddClient(testTenant, testClientID, testSecret)
	hung := httptest.NewTLSServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hung.Close)
	tests := map[string]struct {
		authority string
		client    *http.Client
		want      string // in the message
	}{
		"connection refused": {authority: closedPort(t), client: srv.HTTPClient(), want: "connection refused"},
		"unknown host name":  {authority: "https://login.partnerbilling-test.invalid", client: srv.HTTPClient(), want: "login.partnerbilling-test.invalid"},
		"TLS failure":        {authority: srv.URL(), client: &http.Client{}, want: "certificate"},
		"no answer":          {authority: hung.URL, client: hung.Client(), want: "no answer from the identity endpoint in time"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cred, err := New(Config{TenantID: testTenant, ClientID: testClientID, ClientSecret: testSecret, AuthorityHost: tc.authority,
				HTTPClient: tc.client, Sleep: instant, TokenTimeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			host := strings.TrimPrefix(tc.authority, "https://")
			for _, scope := range []string{GraphScope, PartnerCenterScope} {
				_, err := cred.Scope(scope).Token(t.Context())
				var ue *UnreachableError
				if !errors.As(err, &ue) {
					t.Fatalf("%s: error %v (%T), want *UnreachableError", scope, err, err)
				}
				if ue.Host != host || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: host %q, error %q; want host %q and %q", scope, ue.Host, err, host, tc.want)
				}
				assertNoLeak(t, err.Error(), testSecret)
			}
		})
	}
	t.Run("an answer is not unreachable", func(t *testing.T) {
		t.Parallel()
		cred, err := New(Config{TenantID: testTenant, ClientID: testClientID, ClientSecret: "wrong-secret", AuthorityHost: srv.URL(),
			HTTPClient: srv.HTTPClient(), Sleep: instant})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cred.Token(t.Context())
		var ue *UnreachableError
		if err == nil || errors.As(err, &ue) {
			t.Fatalf("a rejected secret: %v (%T), want an error that is not *UnreachableError", err, err)
		}
	})
}

// TestUnreachableManagedIdentityIsNotEntra: no managed identity endpoint is
// a different problem than an unreachable login host.
func TestUnreachableManagedIdentityIsNotEntra(t *testing.T) {
	msiEnv(t, "IDENTITY_ENDPOINT", closedPort(t)+fakegraph.AppServiceTokenPath, "IDENTITY_HEADER", "h")
	cred, err := New(Config{UseMSI: true, ClientID: "00000000-0000-0000-0000-00000000a5ea", Sleep: instant})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.Token(t.Context())
	var ue *UnreachableError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "no managed identity endpoint answered") {
		t.Fatalf("error %v (%T)", err, err)
	}
}

// TestIdentityTextKeepsSupportIDs: an AADSTS description is cut at 1,000
// runes, not 400, so the Trace ID, Correlation ID and Timestamp at its end
// survive; a longer one is cut there, and the separate ids still follow.
func TestIdentityTextKeepsSupportIDs(t *testing.T) {
	t.Parallel()
	const ids = " Trace ID: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 Correlation ID: 1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809 Timestamp: 2026-12-07 14:00:00Z"
	long := "AADSTS7000222: The provided client secret keys for app '" + testClientID + "' are expired. " + strings.TrimSpace(strings.Repeat("Visit the Azure portal to create new keys for your app. ", 12))
	tests := map[string]struct {
		desc    string
		want    []string
		notWant []string
	}{
		"about 850 runes, kept whole": {desc: long + ids, want: []string{long + ids}},
		"1,500 runes, cut at 1,000": {desc: long + strings.Repeat("é", 1500-len([]rune(long))), want: []string{
			long + strings.Repeat("é", 1000-len([]rune(long))) + "…", "correlation_id: 1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"},
			notWant: []string{strings.Repeat("é", 1001-len([]rune(long)))}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := startFake(t)
			srv.AddClient(testTenant, testClientID, testSecret)
			srv.ScriptToken(fakegraph.Status(401, `{"error":"invalid_client","error_description":`+jsonQuote(t, tc.desc)+
				`,"error_codes":[7000222],"trace_id":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","correlation_id":"1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"}`))
			cfg := appConfig(srv)
			cfg.ClientSecret = testSecret
			cred, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cred.Token(t.Context())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %.60q…:\n%s", w, err)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error is not cut:\n%s", err)
				}
			}
		})
	}
}
