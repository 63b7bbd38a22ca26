package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/testclock"
)

const (
	tenant   = "00000000-0000-0000-0000-00000000000a"
	clientID = "00000000-0000-0000-0000-00000000000b"
	secret   = "fake-secret-value-1234567890"
	opID     = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
)

// fakeTokens gets real tokens from the fake's token endpoint over TLS,
// caching one and dropping it on Invalidate, the way auth.Credential does.
type fakeTokens struct {
	srv *fakegraph.Server

	mu       sync.Mutex
	token    string
	requests int
}

func (f *fakeTokens) Token(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.token != "" {
		return f.token, nil
	}
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL()+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := f.srv.HTTPClient().Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %d (%w)", res.StatusCode, err)
	}
	f.requests++
	f.token = body.AccessToken
	return f.token, nil
}

func (f *fakeTokens) Invalidate(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token == f.token {
		f.token = ""
	}
}

type fixture struct {
	srv    *fakegraph.Server
	clock  *testclock.Clock
	tokens *fakeTokens
	client *graph.Client
}

func newFixture(t *testing.T, opts ...graph.Option) *fixture {
	t.Helper()
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatalf("starting fakegraph: %v", err)
	}
	t.Cleanup(srv.Close)
	srv.AddClient(tenant, clientID, secret)
	f := &fixture{srv: srv, clock: testclock.New(), tokens: &fakeTokens{srv: srv}}
	base := []graph.Option{
		graph.WithEndpoint(srv.URL()),
		graph.WithHTTPClient(srv.HTTPClient()),
		graph.WithClock(f.clock),
		graph.WithUserAgent("terraform-provider-partnerbilling/test Terraform/1.11.4"),
	}
	f.client, err = graph.New(f.tokens, append(base, opts...)...)
	if err != nil {
		t.Fatalf("graph.New: %v", err)
	}
	return f
}

func (f *fixture) opGets(id string) int {
	n := 0
	for _, r := range f.srv.GraphRequests() {
		if r.Method == http.MethodGet && r.Path == fakegraph.BasePath+"operations/"+id {
			n++
		}
	}
	return n
}

var guidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestGetOperationSendsHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptOperation(opID, fakegraph.OK(fakegraph.DocRunning))
	for range 2 {
		if _, err := f.client.GetOperation(t.Context(), opID); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.srv.GraphRequests()
	if len(reqs) != 2 {
		t.Fatalf("got %d Graph requests, want 2", len(reqs))
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		if got, want := r.Header.Get("Authorization"), "Bearer "+f.tokens.token; got != want {
			t.Errorf("Authorization = %q, want %q", got, want)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q", got)
		}
		if got := r.Header.Get("User-Agent"); got != "terraform-provider-partnerbilling/test Terraform/1.11.4" {
			t.Errorf("User-Agent = %q", got)
		}
		crid := r.Header.Get("client-request-id")
		if !guidRe.MatchString(crid) || seen[crid] {
			t.Errorf("client-request-id %q is not a fresh GUID", crid)
		}
		seen[crid] = true
	}
	if f.tokens.requests != 1 {
		t.Errorf("token requests = %d, want 1", f.tokens.requests)
	}
}

// TestRetries is the request-level fault matrix: every row states the
// outcome and the number of requests allowed.
func TestRetries(t *testing.T) {
	t.Parallel()
	// Far enough ahead that whole-second truncation and a slow (-race) start
	// cannot bring it near the backoff range (under 1 s).
	httpDate := time.Now().Add(40 * time.Second).UTC().Format(http.TimeFormat)
	running := fakegraph.OK(fakegraph.DocRunning)
	tests := map[string]struct {
		script     []fakegraph.Response
		maxRetries int
		wantErr    string // substring; "" means success
		wantIs     error
		wantGets   int
		wantSleeps func(t *testing.T, sleeps []time.Duration)
	}{
		"429 Retry-After seconds": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "3"), running},
			wantGets: 2,
			wantSleeps: func(t *testing.T, s []time.Duration) {
				assertSleeps(t, s, 3*time.Second)
			},
		},
		"429 Retry-After fraction": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "2.128"), running},
			wantGets: 2,
			wantSleeps: func(t *testing.T, s []time.Duration) {
				assertSleeps(t, s, 2128*time.Millisecond)
			},
		},
		"429 Retry-After HTTP-date": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", httpDate), running},
			wantGets: 2,
			wantSleeps: func(t *testing.T, s []time.Duration) {
				if len(s) != 1 || s[0] < 30*time.Second || s[0] > 40*time.Second {
					t.Errorf("sleeps = %v, want one of 30-40s (the HTTP date, 40s ahead when the table was built)", s)
				}
			},
		},
		"429 without Retry-After backs off": {
			script: []fakegraph.Response{
				fakegraph.ErrorResponse(429, "TooManyRequests", "x"), fakegraph.ErrorResponse(429, "TooManyRequests", "x"),
				fakegraph.ErrorResponse(429, "TooManyRequests", "x"), running,
			},
			wantGets: 4,
			wantSleeps: func(t *testing.T, s []time.Duration) {
				bounds := [][2]time.Duration{{500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}, {2 * time.Second, 4 * time.Second}}
				if len(s) != 3 {
					t.Fatalf("sleeps = %v, want 3", s)
				}
				for i, b := range bounds {
					if s[i] < b[0] || s[i] > b[1] {
						t.Errorf("sleep %d = %v, want within %v", i, s[i], b)
					}
				}
			},
		},
		"500":                 {script: []fakegraph.Response{fakegraph.ErrorResponse(500, "InternalServerError", "x"), running}, wantGets: 2},
		"502 html from proxy": {script: []fakegraph.Response{{Status: 502, Header: http.Header{"Content-Type": {"text/html"}}, Body: "<html>bad gateway</html>"}, running}, wantGets: 2},
		"503":                 {script: []fakegraph.Response{fakegraph.ErrorResponse(503, "ServiceUnavailable", "x", "Retry-After", "1"), running}, wantGets: 2},
		"504":                 {script: []fakegraph.Response{fakegraph.ErrorResponse(504, "GatewayTimeout", "x"), running}, wantGets: 2},
		"408":                 {script: []fakegraph.Response{fakegraph.ErrorResponse(408, "RequestTimeout", "x"), running}, wantGets: 2},
		"dropped connection":  {script: []fakegraph.Response{{Drop: true}, running}, wantGets: 2},
		"retries exhausted": {
			script:     []fakegraph.Response{fakegraph.ErrorResponse(503, "ServiceUnavailable", "busy")},
			maxRetries: 2, wantGets: 3, wantErr: "giving up after 3 attempts", wantIs: nil,
		},
		"no retries configured": {
			script:     []fakegraph.Response{fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", "1")},
			maxRetries: -1, wantGets: 1, wantErr: "giving up after 1 attempt:", wantIs: graph.ErrThrottled,
		},
		"404 is not retried": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(404, "NotFound", "no such operation")},
			wantGets: 1, wantErr: "HTTP 404 Not Found: NotFound: no such operation (request-id: ", wantIs: graph.ErrNotFound,
		},
		"403 is not retried": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(403, "Authorization_RequestDenied", "Insufficient privileges")},
			wantGets: 1, wantErr: "HTTP 403 Forbidden: Authorization_RequestDenied: Insufficient privileges", wantIs: graph.ErrForbidden,
		},
		"400 is not retried": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(400, "BadRequest", "bad")},
			wantGets: 1, wantErr: "HTTP 400 Bad Request: BadRequest: bad",
		},
		"html 200": {
			script:   []fakegraph.Response{{Header: http.Header{"Content-Type": {"text/html"}}, Body: "<html>login</html>"}},
			wantGets: 1, wantErr: "unreadable body (text/html)",
		},
		"truncated json": {
			script:   []fakegraph.Response{fakegraph.OK(`{"id":"x","status":"runn`)},
			wantGets: 1, wantErr: "unexpected end of JSON input",
		},
		"body over the cap": {
			script:   []fakegraph.Response{fakegraph.OK(`{"id":"x","pad":"` + strings.Repeat("a", 5<<20) + `"}`)},
			wantGets: 1, wantErr: "response body exceeds 4194304 bytes",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var opts []graph.Option
			switch {
			case tc.maxRetries > 0:
				opts = append(opts, graph.WithMaxRetries(tc.maxRetries))
			case tc.maxRetries < 0:
				opts = append(opts, graph.WithMaxRetries(0))
			}
			f := newFixture(t, opts...)
			f.srv.ScriptOperation(opID, tc.script...)
			op, err := f.client.GetOperation(t.Context(), opID)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("GetOperation: %v", err)
				}
				if op.Status != "running" {
					t.Errorf("status = %q", op.Status)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
				}
				if strings.Contains(err.Error(), f.tokens.token) {
					t.Errorf("error leaks the token: %v", err)
				}
			}
			if got := f.opGets(opID); got != tc.wantGets {
				t.Errorf("GETs = %d, want %d", got, tc.wantGets)
			}
			if tc.wantSleeps != nil {
				tc.wantSleeps(t, f.clock.Sleeps())
			}
		})
	}
}

func assertSleeps(t *testing.T, got []time.Duration, want ...time.Duration) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestErrorCarriesRequestID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp := fakegraph.ErrorResponse(404, "NotFound", "gone")
	f.srv.ScriptOperation(opID, resp)
	_, err := f.client.GetOperation(t.Context(), opID)
	var ge *graph.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v is not a *graph.Error", err)
	}
	if ge.RequestID == "" || ge.RequestID != resp.Header.Get("request-id") {
		t.Errorf("RequestID = %q, want %q", ge.RequestID, resp.Header.Get("request-id"))
	}
	if !guidRe.MatchString(ge.ClientRequestID) {
		t.Errorf("ClientRequestID = %q", ge.ClientRequestID)
	}
	if !strings.Contains(ge.Error(), ge.RequestID) {
		t.Errorf("message %q does not name the request-id", ge.Error())
	}
}

func TestRetryAfterPastDeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptOperation(opID, fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", "300"), fakegraph.OK(fakegraph.DocRunning))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := f.client.GetOperation(ctx, opID)
	if err == nil || !errors.Is(err, graph.ErrDeadline) || !strings.Contains(err.Error(), "asked to wait 5m0s (300 s) (Retry-After) before retrying, which would pass the deadline") {
		t.Fatalf("error = %v, want a deadline error naming the 5m wait", err)
	}
	if !errors.Is(err, graph.ErrThrottled) {
		t.Errorf("error %v should still say it was throttled", err)
	}
	if len(f.clock.Sleeps()) != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("slept %v before giving up", f.clock.Sleeps())
	}
	if got := f.opGets(opID); got != 1 {
		t.Errorf("GETs = %d, want 1", got)
	}
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptOperation(opID, fakegraph.OK(fakegraph.DocRunning))
	if _, err := f.client.GetOperation(t.Context(), opID); err != nil {
		t.Fatal(err)
	}
	f.srv.RevokeTokens() // the cached token is now rejected with 401
	if _, err := f.client.GetOperation(t.Context(), opID); err != nil {
		t.Fatalf("after a revoked token: %v", err)
	}
	if f.tokens.requests != 2 {
		t.Errorf("token requests = %d, want 2 (one refresh)", f.tokens.requests)
	}
	if got := f.opGets(opID); got != 3 {
		t.Errorf("GETs = %d, want 3", got)
	}
}

func TestUnauthorizedTwiceIsAnError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptOperation(opID, fakegraph.ErrorResponse(401, "InvalidAuthenticationToken", "Access token validation failure."))
	_, err := f.client.GetOperation(t.Context(), opID)
	if !errors.Is(err, graph.ErrUnauthorized) {
		t.Fatalf("error = %v, want ErrUnauthorized", err)
	}
	if got := f.opGets(opID); got != 2 {
		t.Errorf("GETs = %d, want 2 (one retry with a fresh token)", got)
	}
	if f.tokens.requests != 2 {
		t.Errorf("token requests = %d, want 2", f.tokens.requests)
	}
}

func TestNeverCallsHostFromResponse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptOperation(opID, fakegraph.OK(fakegraph.Succeeded(opID, "https://attacker.invalid/steal/m-1")))
	op, err := f.client.WaitOperation(t.Context(), opID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if op.ManifestID != "m-1" || op.ResourceLocation != "https://attacker.invalid/steal/m-1" {
		t.Errorf("manifest = %q / %q", op.ManifestID, op.ResourceLocation)
	}
	for _, r := range f.srv.Requests() {
		if !strings.HasPrefix(r.Path, fakegraph.BasePath+"operations/") && !strings.HasSuffix(r.Path, "/token") {
			t.Errorf("unexpected request %s %s", r.Method, r.Path)
		}
	}
}

func TestInvalidIDIsNeverSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, id := range []string{"../manifests/x", "a?b=c", "", "a b"} {
		if _, err := f.client.GetOperation(t.Context(), id); err == nil {
			t.Errorf("GetOperation(%q) succeeded", id)
		}
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid ids", n)
	}
}

func TestSlowResponseIsRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, graph.WithRequestTimeout(time.Second))
	f.srv.ScriptOperation(opID, fakegraph.Response{Delay: 5 * time.Second, Body: fakegraph.DocRunning}, fakegraph.OK(fakegraph.DocRunning))
	start := time.Now()
	if _, err := f.client.GetOperation(t.Context(), opID); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v", el)
	}
	if got := f.opGets(opID); got != 2 {
		t.Errorf("GETs = %d, want 2", got)
	}
}

func TestParseEndpoint(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"https://graph.microsoft.com":     true,
		"https://graph.microsoft.com/":    true,
		"https://127.0.0.1:8443":          true,
		"http://graph.microsoft.com":      false,
		"https://graph.microsoft.com/x":   false,
		"https://u:p@graph.microsoft.com": false,
		"graph.microsoft.com":             false,
		"https://":                        false,
	} {
		_, err := graph.ParseEndpoint(in)
		if (err == nil) != ok {
			t.Errorf("ParseEndpoint(%q) error = %v, want ok=%v", in, err, ok)
		}
	}
}

// TestConcurrentReads shares one client between many goroutines under
// intermittent throttling and a token revocation (run it with -race).
func TestConcurrentReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 60
	for i := range n {
		id := fmt.Sprintf("op-%d", i)
		if i%3 == 0 {
			f.srv.ScriptOperation(id, fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", "0.01"), fakegraph.OK(fakegraph.Running(id)), fakegraph.OK(fakegraph.Succeeded(id, f.srv.ManifestURL("m-"+id))))
		} else {
			f.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Succeeded(id, f.srv.ManifestURL("m-"+id))))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("op-%d", i)
			if i == n/2 {
				f.srv.RevokeTokens()
			}
			op, err := f.client.WaitOperation(t.Context(), id, time.Minute)
			if err != nil {
				errs <- fmt.Errorf("%s: %w", id, err)
				return
			}
			if op.ManifestID != "m-"+id {
				errs <- fmt.Errorf("%s: manifest %q", id, op.ManifestID)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if f.tokens.requests > 2 {
		t.Errorf("%d token requests, want at most 2 (one refresh after the revocation)", f.tokens.requests)
	}
}

// TestRedirectIsNotFollowed: a Location header must never take the request,
// let alone the bearer token, to another host or port.
func TestRedirectIsNotFollowed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.ScriptOperation(opID, fakegraph.OK(fakegraph.DocSucceeded))
	f.srv.ScriptOperation(opID, fakegraph.Status(http.StatusFound, "", "Location", other.OperationURL(opID)))
	_, err = f.client.GetOperation(t.Context(), opID)
	if err == nil || !strings.Contains(err.Error(), "HTTP 302 Found") {
		t.Fatalf("error = %v, want the 302 reported", err)
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
	if got := f.opGets(opID); got != 1 {
		t.Errorf("GETs = %d, want 1 (a redirect is not retried)", got)
	}
}

func TestUntrustedCertificateIsNotRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	client, err := graph.New(f.tokens, graph.WithEndpoint(f.srv.URL()), graph.WithClock(f.clock)) // system roots only
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.GetOperation(t.Context(), opID)
	if err == nil || !strings.Contains(err.Error(), "is not trusted") || !strings.Contains(err.Error(), "SSL_CERT_FILE") {
		t.Fatalf("error = %v, want an untrusted-certificate error naming SSL_CERT_FILE", err)
	}
	if s := f.clock.Sleeps(); len(s) != 0 {
		t.Errorf("retried a certificate failure after %v", s)
	}
}

func TestOversizedErrorBodyKeepsItsStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptOperation(opID, fakegraph.Status(503, strings.Repeat("x", 5<<20)), fakegraph.OK(fakegraph.DocRunning))
	if _, err := f.client.GetOperation(t.Context(), opID); err != nil {
		t.Fatalf("a 503 with a 5 MiB body was not retried: %v", err)
	}
	if got := f.opGets(opID); got != 2 {
		t.Errorf("GETs = %d, want 2", got)
	}
	f.srv.ScriptOperation(opID, fakegraph.Status(404, strings.Repeat("x", 5<<20)))
	if _, err := f.client.GetOperation(t.Context(), opID); !errors.Is(err, graph.ErrNotFound) {
		t.Errorf("a 404 with a 5 MiB body: %v, want ErrNotFound", err)
	}
}
