package graph_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// The defects of the outside review (issue 8), one test each, at the client.

// A read without a deadline has a 5-minute budget: a Retry-After past it
// fails at once and says how long Graph asked to wait.
func TestSingleReadBudget(t *testing.T) {
	t.Parallel()
	throttle := func(after string) fakegraph.Response {
		return fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", after)
	}
	tests := map[string]struct {
		script     []fakegraph.Response
		wantErr    string
		wantGets   int
		wantSleeps []time.Duration
	}{
		"Retry-After of an hour fails at once": {
			script:   []fakegraph.Response{throttle("3600")},
			wantErr:  "Microsoft Graph asked to wait 1h0m0s (3600 s) (Retry-After) before retrying, longer than the 5m0s a read without wait_timeout may take",
			wantGets: 1,
		},
		"Retry-After just past the budget": {
			script:   []fakegraph.Response{throttle("300.5")},
			wantErr:  "asked to wait 5m0.5s (300.5 s)",
			wantGets: 1,
		},
		"the budget covers every sleep together": {
			script:     []fakegraph.Response{throttle("200"), throttle("200")},
			wantErr:    "asked to wait 3m20s (200 s)",
			wantGets:   2,
			wantSleeps: []time.Duration{200 * time.Second},
		},
		"within the budget the read succeeds": {
			script:     []fakegraph.Response{throttle("120"), throttle("120"), fakegraph.OK(fakegraph.DocSucceeded)},
			wantGets:   3,
			wantSleeps: []time.Duration{120 * time.Second, 120 * time.Second},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, graph.WithMaxRetries(100))
			f.srv.ScriptOperation(opID, tc.script...)
			start := time.Now()
			_, err := f.client.GetOperation(t.Context(), opID)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("GetOperation: %v", err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v\nwant it to contain %q", err, tc.wantErr)
				}
				if !errors.Is(err, graph.ErrDeadline) || !errors.Is(err, graph.ErrThrottled) {
					t.Errorf("error %v should match ErrDeadline and ErrThrottled", err)
				}
			}
			if got := f.opGets(opID); got != tc.wantGets {
				t.Errorf("GETs = %d, want %d", got, tc.wantGets)
			}
			assertSleeps(t, f.clock.Sleeps(), tc.wantSleeps...)
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v of real time", time.Since(start))
			}
		})
	}
}

// A service that never answers cannot hold a read past its budget.
func TestSingleReadBudgetBoundsAHangingService(t *testing.T) {
	t.Parallel()
	f := newFixture(t, graph.WithReadBudget(300*time.Millisecond))
	f.srv.ScriptOperation(opID, fakegraph.Response{Delay: time.Minute, Body: fakegraph.DocRunning})
	start := time.Now()
	_, err := f.client.GetOperation(t.Context(), opID)
	if err == nil || !errors.Is(err, graph.ErrDeadline) || !strings.Contains(err.Error(), "no answer from Microsoft Graph within 300ms, the budget of a read without wait_timeout") {
		t.Fatalf("error = %v, want the budget error", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("returned after %v, want about 300ms", elapsed)
	}
}

// A body that stops arriving is a timeout, retried like one, not malformed JSON.
func TestStalledBodyIsATimeout(t *testing.T) {
	t.Parallel()
	stall := fakegraph.Response{Stall: true, Body: fakegraph.DocSucceeded}
	t.Run("single read retries it", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, graph.WithRequestTimeout(200*time.Millisecond))
		f.srv.ScriptOperation(opID, stall, fakegraph.OK(fakegraph.DocSucceeded))
		op, err := f.client.GetOperation(t.Context(), opID)
		if err != nil {
			t.Fatalf("GetOperation: %v", err)
		}
		if op.ManifestID != fakegraph.DocManifestID {
			t.Errorf("manifest id = %q", op.ManifestID)
		}
		if got := f.opGets(opID); got != 2 {
			t.Errorf("GETs = %d, want 2", got)
		}
	})
	t.Run("retries exhausted name the stall", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, graph.WithRequestTimeout(100*time.Millisecond), graph.WithMaxRetries(1))
		f.srv.ScriptOperation(opID, stall)
		_, err := f.client.GetOperation(t.Context(), opID)
		if err == nil || !strings.Contains(err.Error(), "the body stopped arriving") || strings.Contains(err.Error(), "JSON") {
			t.Fatalf("error = %v, want a timeout that names the stalled body", err)
		}
		var de *graph.DecodeError
		if errors.As(err, &de) {
			t.Errorf("a stalled body must not be a DecodeError: %v", err)
		}
	})
	t.Run("a wait rides it out", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, graph.WithRequestTimeout(100*time.Millisecond), graph.WithMaxRetries(0))
		f.srv.ScriptOperation(opID, fakegraph.OK(fakegraph.DocRunning), stall, fakegraph.OK(fakegraph.DocSucceeded))
		op, err := f.client.WaitOperation(t.Context(), opID, 10*time.Minute)
		if err != nil {
			t.Fatalf("WaitOperation: %v", err)
		}
		if op.State() != graph.StateSucceeded || f.opGets(opID) != 3 {
			t.Errorf("state %v after %d GETs, want succeeded after 3", op.State(), f.opGets(opID))
		}
	})
}

// No two attempts are closer than 100 ms, whatever Retry-After says, and a
// malformed Retry-After means backoff.
func TestAttemptFloor(t *testing.T) {
	t.Parallel()
	t.Run("tiny Retry-After", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, graph.WithMaxRetries(100))
		f.srv.ScriptOperation(opID, fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", "0.0000001"))
		_, err := f.client.GetOperation(t.Context(), opID)
		if err == nil || !strings.Contains(err.Error(), "giving up after 101 attempts") {
			t.Fatalf("error = %v", err)
		}
		sleeps := f.clock.Sleeps()
		if len(sleeps) != 100 {
			t.Fatalf("%d sleeps, want 100", len(sleeps))
		}
		for i, d := range sleeps {
			if d < 100*time.Millisecond {
				t.Fatalf("sleep %d = %v, want at least 100ms", i, d)
			}
		}
	})
	for _, header := range []string{"inf", "0x1p4", "1_000", "-1", "1e3", "NaN"} {
		t.Run("malformed "+header, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.srv.ScriptOperation(opID, fakegraph.ErrorResponse(429, "TooManyRequests", "x", "Retry-After", header), fakegraph.OK(fakegraph.DocSucceeded))
			if _, err := f.client.GetOperation(t.Context(), opID); err != nil {
				t.Fatalf("GetOperation: %v", err)
			}
			// The first retry's backoff is drawn from [0.5 s, 1 s].
			if s := f.clock.Sleeps(); len(s) != 1 || s[0] < 500*time.Millisecond || s[0] > time.Second {
				t.Errorf("sleeps = %v, want one backoff of 0.5-1s", s)
			}
		})
	}
	t.Run("401 refresh", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.srv.ScriptOperation(opID, fakegraph.ErrorResponse(401, "InvalidAuthenticationToken", "expired"), fakegraph.OK(fakegraph.DocSucceeded))
		if _, err := f.client.GetOperation(t.Context(), opID); err != nil {
			t.Fatalf("GetOperation: %v", err)
		}
		assertSleeps(t, f.clock.Sleeps(), 100*time.Millisecond)
	})
}

// Failure wins when @odata.type and status disagree; a body for another id
// is an error, never data.
func TestContradictoryBodies(t *testing.T) {
	t.Parallel()
	const successType = `"@odata.type":"#microsoft.graph.partners.billing.exportSuccessOperation"`
	const failedType = `"@odata.type":"#microsoft.graph.partners.billing.failedOperation"`
	const link = `"resourceLocation@odata.navigationLink":"https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/` + fakegraph.DocManifestID + `"`
	tests := map[string]struct {
		body      string
		wantState graph.State
		wantErr   string
	}{
		"success type, failed status":   {body: `{` + successType + `,"id":"` + opID + `","status":"failed",` + link + `}`, wantState: graph.StateFailed},
		"failed type, succeeded status": {body: `{` + failedType + `,"id":"` + opID + `","status":"succeeded",` + link + `}`, wantState: graph.StateFailed},
		"failed type, completed status": {body: `{` + failedType + `,"status":"completed"}`, wantState: graph.StateFailed},
		"success type, running status":  {body: `{` + successType + `,"status":"running",` + link + `}`, wantState: graph.StateSucceeded},
		"id in other case":              {body: `{` + successType + `,"id":"` + strings.ToUpper(opID) + `","status":"succeeded",` + link + `}`, wantState: graph.StateSucceeded},
		"another id": {
			body:    `{` + successType + `,"id":"00000000-1111-2222-3333-444444444444","status":"succeeded",` + link + `}`,
			wantErr: `the body describes operation "00000000-1111-2222-3333-444444444444", not the requested ` + opID,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.srv.ScriptOperation(opID, fakegraph.OK(tc.body))
			op, err := f.client.GetOperation(t.Context(), opID)
			if tc.wantErr != "" {
				var de *graph.DecodeError
				if err == nil || !errors.As(err, &de) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want a DecodeError containing %q", err, tc.wantErr)
				}
				if f.opGets(opID) != 1 {
					t.Errorf("GETs = %d, want 1 (not retried)", f.opGets(opID))
				}
				return
			}
			if err != nil {
				t.Fatalf("GetOperation: %v", err)
			}
			if op.State() != tc.wantState {
				t.Errorf("state = %v, want %v", op.State(), tc.wantState)
			}
		})
	}
}

// Any positive wait makes at least one request.
func TestTinyWaitMakesARequest(t *testing.T) {
	t.Parallel()
	for _, timeout := range []time.Duration{time.Nanosecond, time.Millisecond} {
		f := newFixture(t)
		f.srv.ScriptOperation(opID, fakegraph.OK(fakegraph.DocSucceeded))
		op, err := f.client.WaitOperation(t.Context(), opID, timeout)
		if err != nil {
			t.Fatalf("WaitOperation(%v): %v", timeout, err)
		}
		if op.ManifestID != fakegraph.DocManifestID || f.opGets(opID) != 1 {
			t.Errorf("WaitOperation(%v): manifest %q after %d GETs, want %s after 1", timeout, op.ManifestID, f.opGets(opID), fakegraph.DocManifestID)
		}
	}
	f := newFixture(t)
	f.srv.ScriptOperation(opID, fakegraph.OK(fakegraph.DocRunning))
	_, err := f.client.WaitOperation(t.Context(), opID, time.Millisecond)
	var wte *graph.WaitTimeoutError
	if !errors.As(err, &wte) || wte.LastStatus != "running" || f.opGets(opID) != 1 {
		t.Errorf("a running operation with a 1ms wait: %v after %d GETs, want a timeout with status running after 1", err, f.opGets(opID))
	}
}

// Server text in an error is cleaned: no control characters, each field at
// most 1,000 runes.
func TestServerTextIsCleaned(t *testing.T) {
	t.Parallel()
	f := newFixture(t, graph.WithMaxRetries(0))
	msg := "\x1b[2J\x1b]0;pwned\x07\x1b[31mred" + strings.Repeat("m", 5000)
	f.srv.ScriptOperation(opID, fakegraph.Response{
		Status: 400, Header: http.Header{"Content-Type": {"application/json"}, "request-id": {"rid\u009b2J"}},
		Body: `{"error":{"code":"Bad\u001b[0mCode","message":"` + strings.ReplaceAll(strings.ReplaceAll(msg, "\x1b", `\u001b`), "\x07", `\u0007`) + `"}}`,
	})
	_, err := f.client.GetOperation(t.Context(), opID)
	if err == nil {
		t.Fatal("want an error")
	}
	s := err.Error()
	if strings.ContainsAny(s, "\x1b\x07") {
		t.Errorf("control characters in %q", s[:80])
	}
	if !strings.Contains(s, "Bad[0mCode: [2J]0;pwned[31mred") || !strings.Contains(s, "m…") || len(s) > 1400 {
		t.Errorf("error is %d bytes: %.200q…", len(s), s)
	}
	if !strings.Contains(s, "(request-id: rid2J") {
		t.Errorf("request-id not cleaned: %q", s[len(s)-120:])
	}
}

func TestParseEndpointRedactsCredentials(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"https://user:hunter2@graph.example", "https://hunter2@graph.example",
		"https://user:hun%zzter2@graph.example", "http://user:hunter2@graph.example", "https://u:hunter2@graph.example/x",
		"https://user:hun/ter2@graph.example", "https://user:hun%zz/ter2@graph.example",
	} {
		_, err := graph.ParseEndpoint(in)
		if err == nil {
			t.Errorf("ParseEndpoint(%q) accepted credentials", in)
			continue
		}
		if strings.Contains(err.Error(), "hun") || strings.Contains(err.Error(), "ter2") {
			t.Errorf("ParseEndpoint(%q) echoes the password: %v", in, err)
		}
		if !strings.Contains(err.Error(), "graph.example") {
			t.Errorf("ParseEndpoint(%q) should still name the host: %v", in, err)
		}
	}
}
