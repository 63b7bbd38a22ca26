package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// tokenCallers runs n concurrent Token calls and returns their errors.
func tokenCallers(t *testing.T, cred *Credential, n int) []error {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = cred.Token(t.Context()) })
	}
	wg.Wait()
	return errs
}

// TestTransientFailureIsShared: 25 reads against a token endpoint that
// answers 503 cost one retry cycle (3 requests), not one cycle each; the
// outcome is remembered for 5 s, then a new cycle may start.
func TestTransientFailureIsShared(t *testing.T) {
	t.Parallel()
	srv := startFake(t)
	srv.AddClient(testTenant, testClientID, testSecret)
	unavailable := fakegraph.Status(503, `{"error":"temporarily_unavailable","error_description":"AADSTS90033: A transient error has occurred."}`)
	for range 200 {
		srv.ScriptToken(unavailable)
	}
	cfg := appConfig(srv)
	cfg.ClientSecret = testSecret
	now := time.Now()
	var mu sync.Mutex
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range tokenCallers(t, cred, 25) {
		if err == nil || !strings.Contains(err.Error(), "AADSTS90033") {
			t.Fatalf("error = %v, want the 503 for every caller", err)
		}
	}
	if n := len(srv.TokenRequests()); n != tokenAttempts {
		t.Errorf("%d token requests for 25 callers, want one cycle of %d", n, tokenAttempts)
	}
	mu.Lock()
	now = now.Add(4 * time.Second)
	mu.Unlock()
	if _, err := cred.Token(t.Context()); err == nil || len(srv.TokenRequests()) != tokenAttempts {
		t.Errorf("4 s later: %v after %d token requests, want the remembered failure and no new request", err, len(srv.TokenRequests()))
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if _, err := cred.Token(t.Context()); err == nil || len(srv.TokenRequests()) != 2*tokenAttempts {
		t.Errorf("6 s later: %v after %d token requests, want a new cycle of %d", err, len(srv.TokenRequests()), tokenAttempts)
	}
}

// TestDeadLoginHostCostsOneCycle: 10 reads queued behind a login host that
// never answers wait for one cycle, not ten in series.
func TestDeadLoginHostCostsOneCycle(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	hung := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		<-r.Context().Done()
	}))
	defer hung.Close()
	cfg := Config{TenantID: testTenant, ClientID: testClientID, ClientSecret: testSecret, AuthorityHost: hung.URL,
		HTTPClient: hung.Client(), TokenTimeout: 150 * time.Millisecond, Sleep: instant}
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, err := range tokenCallers(t, cred, 10) {
		if err == nil || !strings.Contains(err.Error(), "no answer from the identity endpoint in time") {
			t.Fatalf("error = %v, want the token timeout for every caller", err)
		}
	}
	// One cycle is 3 attempts of 150 ms; ten cycles would be 4.5 s.
	if el := time.Since(start); el > 3*time.Second { // two cycles at most, with room for a loaded machine
		t.Errorf("10 callers took %v, want about one cycle (450ms)", el)
	}
	if n := requests.Load(); n != tokenAttempts {
		t.Errorf("%d requests reached the login host, want %d", n, tokenAttempts)
	}
}

// TestCancelledCycleIsNotRemembered: a caller whose own context ended does
// not hand its failure to the next caller.
func TestCancelledCycleIsNotRemembered(t *testing.T) {
	t.Parallel()
	srv := startFake(t)
	srv.AddClient(testTenant, testClientID, testSecret)
	cfg := appConfig(srv)
	cfg.ClientSecret = testSecret
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := cred.Token(ctx); err == nil {
		t.Fatal("a cancelled caller got a token")
	}
	if _, err := cred.Token(t.Context()); err != nil {
		t.Fatalf("the next caller inherited the cancelled one's failure: %v", err)
	}
}
