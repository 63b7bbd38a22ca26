package graph_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// TestStartExportHeadersDecide: once a 202 names its operation in Location,
// the export has started and its id is kept, whatever the body does next
// (SPEC §4.1 "The status line and headers decide"): a body that stalls, is
// cut by a reset or passes the size cap is ignored, waited on at most the
// accepted-body wait, and the POST is never sent again.
func TestStartExportHeadersDecide(t *testing.T) {
	t.Parallel()
	const id = "0b4f2c1e-1111-4222-8333-444455556666"
	location := "https://graph.microsoft.com/v1.0/reports/partners/billing/operations/" + id
	jsonBody := `{"id":"` + id + `","status":"notStarted","padding":"` + strings.Repeat("x", 4096) + `"}`
	accepted := func(r fakegraph.Response, withLocation bool) fakegraph.Response {
		r.Status = 202
		if withLocation {
			r.Header = map[string][]string{"Location": {location}, "Content-Type": {"application/json"}}
		}
		return r
	}
	tests := map[string]struct {
		answer   fakegraph.Response
		location bool
		opts     []graph.Option
		wantErr  []string // "" : the id is kept
		maxTime  time.Duration
	}{
		"stalling body": {
			answer: fakegraph.Response{Stall: true, Body: jsonBody}, location: true,
			opts:    []graph.Option{graph.WithAcceptedBodyWait(300 * time.Millisecond)},
			maxTime: 3 * time.Second,
		},
		"stalling body, default wait of 5 s": {
			answer: fakegraph.Response{Stall: true, Body: jsonBody}, location: true,
			maxTime: 6 * time.Second,
		},
		"reset body": {
			answer: fakegraph.Response{Cut: true, Body: jsonBody}, location: true,
			maxTime: 3 * time.Second,
		},
		"body over the cap": {
			answer: fakegraph.Response{Body: jsonBody}, location: true,
			opts:    []graph.Option{graph.WithMaxBodyBytes(1024)},
			maxTime: 3 * time.Second,
		},
		"body over the default cap (4 MiB)": {
			answer: fakegraph.Response{Body: `{"padding":"` + strings.Repeat("x", 5<<20) + `"}`}, location: true,
			maxTime: 5 * time.Second,
		},
		"not JSON": {
			answer: fakegraph.Response{Body: "<html>proxy</html>"}, location: true,
			maxTime: 3 * time.Second,
		},
		"no Location and a stalling body": {
			answer: fakegraph.Response{Stall: true, Body: jsonBody},
			opts:   []graph.Option{graph.WithAcceptedBodyWait(300 * time.Millisecond)},
			wantErr: []string{"the export was accepted (HTTP 202) but the answer named no operation",
				"no Location header", "the body could not be read"},
			maxTime: 3 * time.Second,
		},
		"no Location and a body over the cap": {
			answer:  fakegraph.Response{Body: jsonBody},
			opts:    []graph.Option{graph.WithMaxBodyBytes(1024)},
			wantErr: []string{"accepted (HTTP 202)", "no Location header", "exceeds 1024 bytes"},
			maxTime: 3 * time.Second,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.opts...)
			f.srv.ScriptExport(billedUsage, accepted(tc.answer, tc.location))
			start := time.Now()
			started, err := f.client.StartExport(t.Context(), graph.ExportRequest{Path: billedUsage, Body: billedBody}, 30*time.Minute)
			elapsed := time.Since(start)
			t.Logf("StartExport took %s", elapsed.Round(time.Millisecond))
			if n := len(f.exportPosts()); n != 1 {
				t.Errorf("POSTs = %d, want 1", n)
			}
			if elapsed > tc.maxTime {
				t.Errorf("StartExport took %s, want at most %s", elapsed, tc.maxTime)
			}
			if tc.wantErr != nil {
				var ae *graph.AmbiguousStartError
				if !errors.As(err, &ae) || !ae.Accepted {
					t.Fatalf("error = %v, want an accepted export without an operation id", err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("StartExport: %v (the 202 named operation %s)", err, id)
			}
			if started.OperationID != id || started.RequestID == "" {
				t.Errorf("started = %+v, want operation %s and the 202's request-id", started, id)
			}
		})
	}
}
