package graph_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

func TestWaitOperation(t *testing.T) {
	t.Parallel()
	running := func(retryAfter string) fakegraph.Response {
		if retryAfter == "" {
			return fakegraph.OK(fakegraph.DocRunning)
		}
		return fakegraph.OK(fakegraph.DocRunning, "Retry-After", retryAfter)
	}
	notFound := fakegraph.ErrorResponse(404, "NotFound", "not yet")
	tests := map[string]struct {
		script     []fakegraph.Response
		timeout    time.Duration
		wantStatus string
		wantErr    []string
		wantGets   int
		check      func(t *testing.T, sleeps []time.Duration)
	}{
		"succeeds after running answers with Retry-After": {
			script:     []fakegraph.Response{running("1"), running("1.5"), running("1"), fakegraph.OK(fakegraph.DocSucceeded)},
			timeout:    time.Minute,
			wantStatus: "succeeded", wantGets: 4,
			check: func(t *testing.T, s []time.Duration) {
				assertSleeps(t, s, time.Second, 1500*time.Millisecond, time.Second)
			},
		},
		"failed is a result": {
			script:     []fakegraph.Response{running(""), fakegraph.OK(fakegraph.DocFailed)},
			timeout:    time.Minute,
			wantStatus: "failed", wantGets: 2,
		},
		"backs off without Retry-After": {
			script:     []fakegraph.Response{running(""), running(""), running(""), running(""), running(""), running(""), running(""), running(""), running(""), running(""), fakegraph.OK(fakegraph.DocSucceeded)},
			timeout:    time.Hour,
			wantStatus: "succeeded", wantGets: 11,
			check: func(t *testing.T, s []time.Duration) {
				if len(s) != 10 {
					t.Fatalf("sleeps = %v", s)
				}
				if s[0] < time.Second || s[0] > 2*time.Second {
					t.Errorf("first poll wait %v, want 1-2s", s[0])
				}
				for i, d := range s {
					if d > 30*time.Second {
						t.Errorf("wait %d = %v exceeds the 30s cap", i, d)
					}
				}
				if s[9] < 15*time.Second {
					t.Errorf("wait 10 = %v, want it grown to the cap range (15-30s)", s[9])
				}
			},
		},
		"404 while waiting is retried": {
			script:     []fakegraph.Response{notFound, notFound, fakegraph.OK(fakegraph.DocSucceeded)},
			timeout:    time.Minute,
			wantStatus: "succeeded", wantGets: 3,
		},
		"times out": {
			script:   []fakegraph.Response{running("")},
			timeout:  2 * time.Minute,
			wantErr:  []string{"operation " + opID + " did not finish within 2m0s", "last status seen: running"},
			wantGets: -1,
			check: func(t *testing.T, s []time.Duration) {
				var total time.Duration
				for _, d := range s {
					total += d
				}
				if total != 2*time.Minute-time.Second {
					t.Errorf("waited %v in total, want a last poll one second before the 2m deadline", total)
				}
			},
		},
		"times out while not found": {
			script:   []fakegraph.Response{notFound},
			timeout:  30 * time.Second,
			wantErr:  []string{"operation " + fakegraph.DocOperationID + " was never found within 30s", "404 Not Found to every poll", "HTTP 404"},
			wantGets: -1,
		},
		"times out after it was found, then not found": {
			script:   []fakegraph.Response{fakegraph.OK(fakegraph.DocRunning), notFound},
			timeout:  30 * time.Second,
			wantErr:  []string{"did not finish within 30s", "last status seen: not found (HTTP 404)", "HTTP 404"},
			wantGets: -1,
		},
		"Retry-After past the deadline ends the wait": {
			script:   []fakegraph.Response{running("600")},
			timeout:  time.Minute,
			wantErr:  []string{"did not finish within 1m0s", "last status seen: running", "asked to poll again in 10m0s, after the deadline"},
			wantGets: 1,
			check: func(t *testing.T, s []time.Duration) {
				assertSleeps(t, s)
			},
		},
		"throttled past the deadline": {
			script:   []fakegraph.Response{running("10"), fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", "120")},
			timeout:  time.Minute,
			wantErr:  []string{"did not finish within 1m0s", "last status seen: running", "the service asked to retry in 2m0s, after the deadline", "HTTP 429"},
			wantGets: 2,
		},
		"an outage longer than one poll's retries is ridden out": {
			script: []fakegraph.Response{running("1"), fakegraph.ErrorResponse(503, "ServiceUnavailable", "down"), fakegraph.ErrorResponse(503, "ServiceUnavailable", "down"),
				fakegraph.ErrorResponse(503, "ServiceUnavailable", "down"), fakegraph.ErrorResponse(503, "ServiceUnavailable", "down"),
				fakegraph.ErrorResponse(503, "ServiceUnavailable", "down"), fakegraph.ErrorResponse(503, "ServiceUnavailable", "down"),
				fakegraph.ErrorResponse(503, "ServiceUnavailable", "down"), fakegraph.OK(fakegraph.DocSucceeded)},
			timeout:    time.Hour,
			wantStatus: "succeeded", wantGets: 9,
		},
		"an outage to the deadline names the last error": {
			script:   []fakegraph.Response{running("1"), fakegraph.ErrorResponse(503, "ServiceUnavailable", "down")},
			timeout:  10 * time.Minute,
			wantErr:  []string{"did not finish within 10m0s", "last status seen: running", "HTTP 503 Service Unavailable: ServiceUnavailable: down"},
			wantGets: -1,
		},
		"Retry-After: 0 does not make a hot loop": {
			script:     []fakegraph.Response{running("0"), running("0"), fakegraph.OK(fakegraph.DocSucceeded)},
			timeout:    time.Minute,
			wantStatus: "succeeded", wantGets: 3,
			check: func(t *testing.T, s []time.Duration) {
				assertSleeps(t, s, 100*time.Millisecond, 100*time.Millisecond)
			},
		},
		"other errors end the wait": {
			script:   []fakegraph.Response{running("1"), fakegraph.ErrorResponse(403, "Forbidden", "no")},
			timeout:  time.Minute,
			wantErr:  []string{"HTTP 403"},
			wantGets: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.srv.ScriptOperation(opID, tc.script...)
			op, err := f.client.WaitOperation(t.Context(), opID, tc.timeout)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("WaitOperation: %v", err)
				}
				if op.Status != tc.wantStatus {
					t.Errorf("status = %q, want %q", op.Status, tc.wantStatus)
				}
			} else {
				if err == nil {
					t.Fatalf("WaitOperation succeeded with %+v", op)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
			}
			if tc.wantGets >= 0 {
				if got := f.opGets(opID); got != tc.wantGets {
					t.Errorf("GETs = %d, want %d", got, tc.wantGets)
				}
			}
			if tc.check != nil {
				tc.check(t, f.clock.Sleeps())
			}
		})
	}
}

func TestWaitTimeoutErrorIsTyped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptOperation(opID, fakegraph.OK(fakegraph.DocRunning))
	_, err := f.client.WaitOperation(t.Context(), opID, 10*time.Second)
	var wte *graph.WaitTimeoutError
	if !errors.As(err, &wte) || !errors.Is(err, graph.ErrDeadline) {
		t.Fatalf("error %v is not a WaitTimeoutError", err)
	}
	if wte.OperationID != opID || wte.LastStatus != "running" || wte.Timeout != 10*time.Second {
		t.Errorf("got %+v", wte)
	}
}

// TestWaitCancellation interrupts a wait with the real clock: it must
// return within a second and leave no goroutine behind.
func TestWaitCancellation(t *testing.T) {
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddClient(tenant, clientID, secret)
	srv.ScriptOperation(opID, fakegraph.OK(fakegraph.DocRunning, "Retry-After", "30"))
	client, err := graph.New(&fakeTokens{srv: srv}, graph.WithEndpoint(srv.URL()), graph.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	for _, phase := range []string{"sleeping between polls", "inside a slow request"} {
		if phase == "inside a slow request" {
			srv.ScriptOperation(opID, fakegraph.Response{Delay: 30 * time.Second, Body: fakegraph.DocRunning})
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := client.WaitOperation(ctx, opID, time.Hour)
			done <- err
		}()
		time.Sleep(300 * time.Millisecond)
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: error = %v, want context.Canceled", phase, err)
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("%s: returned %v after cancel, want < 1s", phase, el)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: still waiting 2s after cancel", phase)
		}
	}
	// No goroutine may still run client code (the fake's own connection
	// goroutines live in this process too, so count ours by their frames).
	deadline := time.Now().Add(2 * time.Second)
	for {
		stacks := allStacks()
		if !strings.Contains(stacks, "internal/graph.(*Client)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a client goroutine outlived the cancelled wait:\n%s", stacks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// TestWaitBoundsAHangingRequest: a response that never comes cannot hold a
// wait past its deadline (the per-request timeout is a minute).
func TestWaitBoundsAHangingRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptOperation(opID, fakegraph.Response{Delay: time.Minute, Body: fakegraph.DocRunning})
	start := time.Now()
	_, err := f.client.WaitOperation(t.Context(), opID, time.Second)
	elapsed := time.Since(start)
	var wte *graph.WaitTimeoutError
	if !errors.As(err, &wte) || !strings.Contains(err.Error(), "no answer from Microsoft Graph before the deadline") {
		t.Fatalf("error = %v, want a WaitTimeoutError for the hanging request", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("returned after %v, want about the 1s wait_timeout", elapsed)
	}
}

// TestWaitOnPoll: OnPoll sees each answered poll in order, the finished one
// included, and neither a 404 nor a failed request.
func TestWaitOnPoll(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptOperation(opID,
		fakegraph.ErrorResponse(404, "NotFound", "not yet"),
		fakegraph.OK(fakegraph.DocRunning, "Retry-After", "1"),
		fakegraph.ErrorResponse(500, "InternalServerError", "hiccup"),
		fakegraph.OK(fakegraph.DocRunning),
		fakegraph.OK(fakegraph.DocSucceeded))
	var seen []string
	op, err := f.client.WaitOperation(t.Context(), opID, time.Hour, graph.OnPoll(func(op *graph.Operation) {
		seen = append(seen, op.Status)
	}))
	if err != nil {
		t.Fatalf("WaitOperation: %v", err)
	}
	if want := []string{"running", "running", "succeeded"}; strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("OnPoll saw %q, want %q", seen, want)
	}
	if op.Status != "succeeded" {
		t.Errorf("status = %q", op.Status)
	}
}
