package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

const billedUsage = "usage/billed/export"

var billedBody = map[string]string{"invoiceId": "G000000001", "attributeSet": "full"}

func (f *fixture) exportPosts() []fakegraph.Request {
	return f.srv.ExportRequests()
}

// TestStartExportRetryRules covers every rule of SPEC §5 for the POST that
// starts an export: retried only when refused (429, 503) or never sent.
func TestStartExportRetryRules(t *testing.T) {
	t.Parallel()
	const scriptedID = "0b4f2c1e-1111-4222-8333-444455556666"
	accepted := func(headerKV ...string) fakegraph.Response { return fakegraph.Status(202, "", headerKV...) }
	tests := map[string]struct {
		script     []fakegraph.Response
		maxRetries int
		timeout    time.Duration // request timeout
		wantPosts  int
		wantID     string                  // "" with wantErr; "accepted" = the fake's own operation
		wantErr    []string                // substrings
		ambiguous  bool                    // *AmbiguousStartError
		wantSleeps []time.Duration         // nil: not checked
		check      func(*testing.T, error) // extra checks on the error
	}{
		"202": {wantPosts: 1, wantID: "accepted"},
		"429 then 202": {
			script:    []fakegraph.Response{fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "2.5")},
			wantPosts: 2, wantID: "accepted", wantSleeps: []time.Duration{2500 * time.Millisecond},
		},
		"503 then 202": {
			script:    []fakegraph.Response{fakegraph.ErrorResponse(503, "ServiceUnavailable", "busy", "Retry-After", "1")},
			wantPosts: 2, wantID: "accepted", wantSleeps: []time.Duration{time.Second},
		},
		"401 refreshes the token once": {
			script:    []fakegraph.Response{fakegraph.ErrorResponse(401, "InvalidAuthenticationToken", "expired")},
			wantPosts: 2, wantID: "accepted",
		},
		"429 until the retries are spent": {
			script: []fakegraph.Response{
				fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", "1"),
				fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", "1"),
				fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", "1"),
			},
			maxRetries: 2, wantPosts: 3, wantErr: []string{"giving up after 3 attempts", "HTTP 429"},
		},
		"500 is ambiguous": {
			script:    []fakegraph.Response{fakegraph.ErrorResponse(500, "InternalServerError", "boom")},
			wantPosts: 1, ambiguous: true,
			wantErr: []string{"POST /v1.0/reports/partners/billing/usage/billed/export", "the export may have started", "not sent again", "HTTP 500", "boom", "request-id: "},
		},
		"502 is ambiguous": {
			script:    []fakegraph.Response{{Status: 502, Header: http.Header{"Content-Type": {"text/html"}}, Body: "<html>bad gateway</html>"}},
			wantPosts: 1, ambiguous: true, wantErr: []string{"may have started", "HTTP 502"},
		},
		"504 is ambiguous": {
			script:    []fakegraph.Response{fakegraph.ErrorResponse(504, "GatewayTimeout", "x")},
			wantPosts: 1, ambiguous: true, wantErr: []string{"may have started", "HTTP 504"},
		},
		"408 is ambiguous": {
			script:    []fakegraph.Response{fakegraph.ErrorResponse(408, "RequestTimeout", "x")},
			wantPosts: 1, ambiguous: true, wantErr: []string{"may have started", "HTTP 408"},
		},
		"429 then 500 is ambiguous": {
			script: []fakegraph.Response{
				fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", "1"),
				fakegraph.ErrorResponse(500, "InternalServerError", "x"),
			},
			wantPosts: 2, ambiguous: true, wantErr: []string{"may have started", "HTTP 500"},
		},
		"reset after the request went out is ambiguous": {
			script:    []fakegraph.Response{{Drop: true}},
			wantPosts: 1, ambiguous: true, wantErr: []string{"may have started", "no answer came back", "client-request-id: "},
		},
		"timeout after the request went out is ambiguous": {
			script:    []fakegraph.Response{{Delay: 5 * time.Second, Status: 202}},
			timeout:   200 * time.Millisecond,
			wantPosts: 1, ambiguous: true, wantErr: []string{"may have started", "no response within 200ms"},
		},
		"400 is a refusal": {
			script:    []fakegraph.Response{fakegraph.ErrorResponse(400, "BadRequest", "Invalid invoice")},
			wantPosts: 1, wantErr: []string{"HTTP 400 Bad Request: BadRequest: Invalid invoice"},
		},
		"403 is a refusal": {
			script:    []fakegraph.Response{fakegraph.ErrorResponse(403, "Authorization_RequestDenied", "no role")},
			wantPosts: 1, wantErr: []string{"HTTP 403"},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, graph.ErrForbidden) {
					t.Errorf("errors.Is(err, ErrForbidden) = false")
				}
			},
		},
		"Location on another host: only the id is kept": {
			script:    []fakegraph.Response{accepted("Location", "https://elsewhere.example/beta/reports/partners/billing/operations/"+scriptedID)},
			wantPosts: 1, wantID: scriptedID,
		},
		"Location in OData key form": {
			script:    []fakegraph.Response{accepted("Location", "https://graph.microsoft.com/v1.0/reports/partners/billing/operations('"+scriptedID+"')")},
			wantPosts: 1, wantID: scriptedID,
		},
		"no Location, id in the body": {
			script:    []fakegraph.Response{fakegraph.Status(202, `{"id":"`+scriptedID+`","status":"notStarted"}`)},
			wantPosts: 1, wantID: scriptedID,
		},
		"no Location, no body": {
			script:    []fakegraph.Response{accepted()},
			wantPosts: 1, ambiguous: true,
			wantErr: []string{"the export was accepted (HTTP 202) but the answer named no operation", "no Location header and no id in the body", "request-id: "},
		},
		"unusable Location, no id": {
			script:    []fakegraph.Response{accepted("Location", "https://graph.microsoft.com/v1.0/reports/partners/billing/operations/..%2Fmanifests")},
			wantPosts: 1, ambiguous: true,
			wantErr: []string{"a Location header without an operation id", "request-id: "},
		},
		"unusable Location, unsafe body id": {
			script:    []fakegraph.Response{fakegraph.Status(202, `{"id":"../x"}`, "Location", "https://graph.microsoft.com/")},
			wantPosts: 1, ambiguous: true, wantErr: []string{"accepted (HTTP 202)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var opts []graph.Option
			if tc.maxRetries > 0 {
				opts = append(opts, graph.WithMaxRetries(tc.maxRetries))
			}
			if tc.timeout > 0 {
				opts = append(opts, graph.WithRequestTimeout(tc.timeout))
			}
			f := newFixture(t, opts...)
			f.srv.ScriptExport(billedUsage, tc.script...)
			started, err := f.client.StartExport(t.Context(), graph.ExportRequest{Path: billedUsage, Body: billedBody}, 30*time.Minute)
			if got := len(f.exportPosts()); got != tc.wantPosts {
				t.Errorf("POSTs = %d, want %d", got, tc.wantPosts)
			}
			if tc.wantSleeps != nil {
				assertSleeps(t, f.clock.Sleeps(), tc.wantSleeps...)
			}
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("StartExport succeeded (%+v), want an error", started)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error lacks %q:\n%v", want, err)
					}
				}
				var ae *graph.AmbiguousStartError
				if got := errors.As(err, &ae); got != tc.ambiguous {
					t.Errorf("ambiguous = %v, want %v: %v", got, tc.ambiguous, err)
				}
				if errors.Is(err, graph.ErrExportMayHaveStarted) != tc.ambiguous {
					t.Errorf("errors.Is(err, ErrExportMayHaveStarted) != %v", tc.ambiguous)
				}
				if strings.Contains(err.Error(), f.tokens.token) {
					t.Errorf("error leaks the token")
				}
				if tc.check != nil {
					tc.check(t, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("StartExport: %v", err)
			}
			want := tc.wantID
			if want == "accepted" {
				acc := f.srv.AcceptedExports()
				if len(acc) != 1 {
					t.Fatalf("the fake accepted %d exports", len(acc))
				}
				want = acc[0].OperationID
			}
			if started.OperationID != want {
				t.Errorf("operation id = %q, want %q", started.OperationID, want)
			}
			for _, r := range f.srv.Requests() {
				if !strings.HasPrefix(r.Path, "/v1.0/") && !strings.Contains(r.Path, "/oauth2/") && !strings.Contains(r.Path, "/.well-known/") && r.Path != "/common/discovery/instance" {
					t.Errorf("unexpected request %s %s", r.Method, r.Path)
				}
			}
		})
	}
}

// TestStartExportSendsTheBody checks the request itself: method, path,
// headers and a JSON body equal to the fields given, on every attempt.
func TestStartExportSendsTheBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptExport("reconciliation/unbilled/export", fakegraph.ErrorResponse(503, "ServiceUnavailable", "busy"))
	body := map[string]string{"currencyCode": "EUR", "billingPeriod": "last", "attributeSet": "basic"}
	started, err := f.client.StartExport(t.Context(), graph.ExportRequest{Path: "reconciliation/unbilled/export", Body: body}, 0)
	if err != nil {
		t.Fatal(err)
	}
	posts := f.exportPosts()
	if len(posts) != 2 {
		t.Fatalf("POSTs = %d, want 2", len(posts))
	}
	for i, r := range posts {
		var got map[string]string
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatalf("POST %d body %q: %v", i, r.Body, err)
		}
		if diff := cmp.Diff(body, got); diff != "" {
			t.Errorf("POST %d body (-want +got):\n%s", i, diff)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if r.Header.Get("Accept") != "application/json" || !guidRe.MatchString(r.Header.Get("client-request-id")) ||
			!strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			t.Errorf("headers = %v", r.Header)
		}
	}
	if posts[0].Header.Get("client-request-id") == posts[1].Header.Get("client-request-id") {
		t.Error("both attempts sent the same client-request-id")
	}
	if acc := f.srv.AcceptedExports(); len(acc) != 1 || acc[0].OperationID != started.OperationID || started.RequestID == "" {
		t.Errorf("accepted %+v, started %+v", acc, started)
	}
}

// TestStartExportRetriesAConnectionThatNeverOpened fails the first dial: the
// request was never sent, so it is sent again.
func TestStartExportRetriesAConnectionThatNeverOpened(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	hc := f.srv.HTTPClient()
	base, ok := hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("fake's transport is a %T", hc.Transport)
	}
	tr := base.Clone()
	var dials atomic.Int32
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, errors.New("connect: connection refused")
		}
		return d.DialContext(ctx, network, addr)
	}
	client, err := graph.New(f.tokens, graph.WithEndpoint(f.srv.URL()), graph.WithHTTPClient(&http.Client{Transport: tr}), graph.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.StartExport(t.Context(), graph.ExportRequest{Path: billedUsage, Body: billedBody}, 0); err != nil {
		t.Fatalf("StartExport: %v", err)
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("dials = %d, want 2", n)
	}
	if n := len(f.exportPosts()); n != 1 {
		t.Errorf("POSTs received = %d, want 1", n)
	}
}

// TestStartExportInterruptedInFlight cancels the context while the POST is
// unanswered: the export may have started.
func TestStartExportInterruptedInFlight(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptExport(billedUsage, fakegraph.Response{Delay: time.Minute, Status: 202})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for len(f.exportPosts()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := f.client.StartExport(ctx, graph.ExportRequest{Path: billedUsage, Body: billedBody}, 0)
	if !errors.Is(err, graph.ErrExportMayHaveStarted) || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want an ambiguous start wrapping context.Canceled", err)
	}
}

// TestStartExportRetryAfter returns the 202's Retry-After for the first poll.
func TestStartExportRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptExportOperations(billedUsage, fakegraph.ExportOperation{Polls: 1, RetryAfter: "1", AcceptRetryAfter: "7.5"})
	started, err := f.client.StartExport(t.Context(), graph.ExportRequest{Path: billedUsage, Body: billedBody}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if started.RetryAfter != 7500*time.Millisecond {
		t.Errorf("RetryAfter = %v, want 7.5s", started.RetryAfter)
	}
	op, err := f.client.WaitOperation(t.Context(), started.OperationID, time.Hour, graph.FirstPollAfter(started.RetryAfter))
	if err != nil || op.State() != graph.StateSucceeded {
		t.Fatalf("WaitOperation = %+v, %v", op, err)
	}
	assertSleeps(t, f.clock.Sleeps(), 7500*time.Millisecond, time.Second)
	if n := f.opGets(started.OperationID); n != 2 {
		t.Errorf("GETs = %d, want 2", n)
	}
}

func TestStartExportRejectsABadPath(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, p := range []string{"", "../manifests/x", "usage/billed/export?x=1", "/usage/billed/export", "usage//export"} {
		if _, err := f.client.StartExport(t.Context(), graph.ExportRequest{Path: p, Body: billedBody}, 0); err == nil {
			t.Errorf("StartExport(%q) succeeded", p)
		}
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestWaitFirstPollAfter(t *testing.T) {
	t.Parallel()
	t.Run("longer than the timeout ends the wait at once", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.srv.ScriptOperation(opID, fakegraph.OK(fakegraph.DocSucceeded))
		_, err := f.client.WaitOperation(t.Context(), opID, time.Minute, graph.FirstPollAfter(2*time.Minute))
		var wte *graph.WaitTimeoutError
		if !errors.As(err, &wte) || !strings.Contains(err.Error(), "asked to poll first in 2m0s, after the deadline") {
			t.Errorf("error = %v", err)
		}
		if n := f.opGets(opID); n != 0 || len(f.clock.Sleeps()) != 0 {
			t.Errorf("GETs %d, sleeps %v; want none", n, f.clock.Sleeps())
		}
	})
	t.Run("the last operation seen comes back with a timeout", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.srv.ScriptOperation(opID, fakegraph.OK(fakegraph.DocRunning, "Retry-After", "60"))
		op, err := f.client.WaitOperation(t.Context(), opID, 5*time.Minute)
		if !errors.Is(err, graph.ErrDeadline) {
			t.Fatalf("error = %v", err)
		}
		if op == nil || op.Status != "running" || op.ID != opID {
			t.Errorf("operation = %+v, want the last running answer", op)
		}
	})
}
