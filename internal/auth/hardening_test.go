package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHungAuthorityTimesOut: a login host that accepts the connection and
// never answers must not hang the read (and every read queued behind it).
func TestHungAuthorityTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hung := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release)
	var sleeps []time.Duration
	var mu sync.Mutex
	cfg := Config{TenantID: testTenant, ClientID: testClientID, ClientSecret: testSecret, AuthorityHost: hung.URL,
		HTTPClient: hung.Client(), TokenTimeout: 200 * time.Millisecond,
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			sleeps = append(sleeps, d)
			mu.Unlock()
			return nil
		}}
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = cred.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no answer from the identity endpoint in time (200ms)") {
		t.Fatalf("error = %v, want a token timeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v; want three attempts of 200ms", el)
	}
	if len(sleeps) != tokenAttempts-1 {
		t.Errorf("sleeps = %v: a timed-out attempt is transient and retried", sleeps)
	}
}

// TestUntrustedAuthorityIsNotRetried: a certificate failure is final.
func TestUntrustedAuthorityIsNotRetried(t *testing.T) {
	t.Parallel()
	srv := startFake(t)
	srv.AddClient(testTenant, testClientID, testSecret)
	var slept atomic.Int32
	cfg := appConfig(srv)
	cfg.ClientSecret = testSecret
	cfg.HTTPClient = &http.Client{} // system roots only: the fake's CA is not among them
	cfg.Sleep = func(context.Context, time.Duration) error { slept.Add(1); return nil }
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("error = %v, want a certificate failure", err)
	}
	if n := slept.Load(); n != 0 {
		t.Errorf("retried a certificate failure %d times", n)
	}
}

// TestGitHubRequestTokenDoesNotFollowRedirects: the GitHub request token
// must not be resent to a redirect target (Go would keep it for the same
// host, even over plain http).
func TestGitHubRequestTokenDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var leaked atomic.Value
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
	}))
	defer plain.Close()
	redirecting := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/token", http.StatusFound)
	}))
	defer redirecting.Close()
	srv := startFake(t)
	srv.AddClient(testTenant, testClientID, testSecret) // the tenant must exist for MSAL to ask for an assertion
	pool := x509.NewCertPool()
	pool.AddCert(redirecting.Certificate())
	pool.AppendCertsFromPEM(srv.CACertPEM())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	cfg := appConfig(srv)
	cfg.UseOIDC, cfg.OIDCRequestURL, cfg.OIDCRequestToken = true, redirecting.URL+"/idtoken?api-version=2.0", "gh-request-token-secret"
	cfg.HTTPClient = client
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.Token(t.Context())
	if err == nil {
		t.Fatal("a redirect from the OIDC endpoint was accepted")
	}
	if v, _ := leaked.Load().(string); v != "" {
		t.Errorf("the redirect target received Authorization %q", v)
	}
	if !strings.Contains(err.Error(), "302") {
		t.Errorf("error = %v, want the redirect (302) reported", err)
	}
	if strings.Contains(err.Error(), "gh-request-token-secret") {
		t.Errorf("error quotes the request token: %v", err)
	}
}

func TestWithParams(t *testing.T) {
	t.Parallel()
	audience := [2]string{"audience", TokenExchangeAudience}
	ado := [][2]string{{"api-version", "7.1"}, {"serviceConnectionId", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"}}
	tests := map[string]struct {
		raw    string
		params [][2]string
		want   string
	}{
		"GitHub, no query":             {"", [][2]string{audience}, "audience=api%3A%2F%2FAzureADTokenExchange"},
		"GitHub's own query kept":      {"api-version=2.0", [][2]string{audience}, "api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange"},
		"unparsable query kept":        {"a=1;b=2", [][2]string{audience}, "a=1;b=2&audience=api%3A%2F%2FAzureADTokenExchange"},
		"audience replaced":            {"audience=x&api-version=2.0", [][2]string{audience}, "api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange"},
		"Azure Pipelines, no query":    {"", ado, "api-version=7.1&serviceConnectionId=3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
		"Azure Pipelines, query kept":  {"x=%2F1", ado, "x=%2F1&api-version=7.1&serviceConnectionId=3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
		"Azure Pipelines, id replaced": {"serviceConnectionId=old&api-version=6.0", ado, "api-version=7.1&serviceConnectionId=3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
	}
	for name, tc := range tests {
		if got := withParams(tc.raw, tc.params...); got != tc.want {
			t.Errorf("%s: withParams(%q) = %q, want %q", name, tc.raw, got, tc.want)
		}
	}
}

// TestDefiniteFailureIsRemembered: many reads with a wrong secret cost one
// token request, not one each; a transient failure is not remembered.
func TestDefiniteFailureIsRemembered(t *testing.T) {
	t.Parallel()
	srv := startFake(t)
	srv.AddClient(testTenant, testClientID, testSecret)
	cfg := appConfig(srv)
	cfg.ClientSecret = "wrong-secret"
	now := time.Now()
	var mu sync.Mutex
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := cred.Token(t.Context())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Fatalf("error = %v, want the invalid-secret error for every caller", err)
		}
	}
	if n := len(srv.TokenRequests()); n != 1 {
		t.Errorf("%d token requests for 20 callers, want 1", n)
	}
	mu.Lock()
	now = now.Add(definiteFailureMemory + time.Second)
	mu.Unlock()
	if _, err := cred.Token(t.Context()); err == nil {
		t.Fatal("the wrong secret worked")
	}
	if n := len(srv.TokenRequests()); n != 2 {
		t.Errorf("%d token requests after the memory expired, want 2", n)
	}
}
