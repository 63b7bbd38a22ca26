package auth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// secretHeaders are the headers that carry an identity secret.
var secretHeaders = []string{"Authorization", "X-Identity-Header", "Secret", "Metadata"}

// redirectPair is an identity endpoint that redirects every request to a
// second host, which records what reaches it.
type redirectPair struct {
	first, second *httptest.Server
	mu            sync.Mutex
	leaked        []string
}

func newRedirectPair(t *testing.T) *redirectPair {
	t.Helper()
	p := &redirectPair{}
	p.second = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.leaked = append(p.leaked, r.Method+" "+r.URL.Path)
		if body, _ := io.ReadAll(r.Body); len(body) > 0 {
			p.leaked = append(p.leaked, "body: "+string(body))
		}
		for _, h := range secretHeaders {
			if v := r.Header.Get(h); v != "" {
				p.leaked = append(p.leaked, h+": "+v)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"stolen","expires_in":"3600","expires_on":"9999999999","resource":"https://graph.microsoft.com","token_type":"Bearer"}`))
	}))
	t.Cleanup(p.second.Close)
	p.first = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p.second.URL+r.URL.Path+"?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(p.first.Close)
	return p
}

func (p *redirectPair) check(t *testing.T, err error) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.leaked) > 0 {
		t.Errorf("the redirect was followed; the second host received %q", p.leaked)
	}
	if err == nil {
		t.Fatal("a redirecting identity endpoint handed out a token")
	}
	if !strings.Contains(err.Error(), "307") {
		t.Errorf("error = %v, want the redirect (HTTP 307) reported", err)
	}
	if strings.Contains(err.Error(), strings.TrimPrefix(p.second.URL, "http://")) {
		t.Errorf("error names the redirect target: %v", err)
	}
}

// TestManagedIdentityDoesNotFollowRedirects: for every managed identity
// source that sends a secret header, with the provider's own HTTP client and
// with one handed in (as tests and the provider's options do). Not parallel:
// MSAL reads the process environment. (Cloud Shell sends no secret header and
// has only a system-assigned identity, whose MSAL cache other tests fill.)
func TestManagedIdentityDoesNotFollowRedirects(t *testing.T) {
	sources := map[string]func(endpoint string) []string{
		"App Service": func(e string) []string {
			return []string{"IDENTITY_ENDPOINT", e + "/msi/token", "IDENTITY_HEADER", "app-service-identity-header-secret"}
		},
		"Azure ML": func(e string) []string {
			return []string{"MSI_ENDPOINT", e + "/msi/token", "MSI_SECRET", "azure-ml-secret-value"}
		},
	}
	clients := map[string]func() *http.Client{
		"default client": func() *http.Client { return nil },
		"given client":   func() *http.Client { return &http.Client{} },
	}
	n := 0
	for name, env := range sources {
		for cname, client := range clients {
			n++
			clientID := "00000000-0000-0000-0000-0000000d" + strings.Repeat("0", 3-len(itoa(n))) + itoa(n)
			t.Run(name+"/"+cname, func(t *testing.T) {
				p := newRedirectPair(t)
				msiEnv(t, env(p.first.URL)...)
				cred, err := New(Config{UseMSI: true, ClientID: clientID, HTTPClient: client(), Sleep: instant})
				if err != nil {
					t.Fatal(err)
				}
				_, err = cred.Token(t.Context())
				p.check(t, err)
			})
		}
	}
}

// TestAppRegistrationDoesNotFollowRedirects: the MSAL confidential client
// (secret, certificate and OIDC share it) never resends its credential to
// a redirect target.
func TestAppRegistrationDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	srv := startFake(t)
	srv.AddClient(testTenant, testClientID, testSecret)
	p := newRedirectPair(t)
	srv.ScriptToken(fakegraph.Status(http.StatusTemporaryRedirect, "", "Location", p.second.URL+"/"+testTenant+"/oauth2/v2.0/token"))
	cfg := appConfig(srv)
	cfg.ClientSecret = testSecret
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.Token(t.Context())
	p.check(t, err)
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
