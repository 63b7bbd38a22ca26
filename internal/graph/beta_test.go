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

// manifestGets counts the GETs of manifest id at v1.0 and at beta.
func (f *fixture) manifestGets(id string) (v1, beta int) {
	for _, r := range f.srv.Requests() {
		switch {
		case r.Method != http.MethodGet:
		case r.Path == fakegraph.BasePath+"manifests/"+id:
			v1++
		case r.Path == fakegraph.BetaBasePath+"manifests/"+id:
			beta++
		}
	}
	return v1, beta
}

// TestGetManifestBetaFallback (SPEC §4.1): the manifest is read at /v1.0
// and, only when that answers 404, once at /beta.
func TestGetManifestBetaFallback(t *testing.T) {
	t.Parallel()
	body := fakegraph.NewManifest(manifestID, "https://acct.blob.core.windows.net/d", testSAS, "a.json.gz").Body()
	tests := map[string]struct {
		v1, beta         []fakegraph.Response // nil: unknown (404)
		wantV1, wantBeta int
		wantErr          []string
		notFound         bool
	}{
		"v1.0 200: no beta call": {v1: []fakegraph.Response{fakegraph.OK(body)}, beta: []fakegraph.Response{fakegraph.OK(body)}, wantV1: 1},
		"v1.0 404, beta 200":     {beta: []fakegraph.Response{fakegraph.OK(body)}, wantV1: 1, wantBeta: 1},
		"both 404": {wantV1: 1, wantBeta: 1, notFound: true,
			wantErr: []string{"GET " + fakegraph.BasePath + "manifests/" + manifestID + ": HTTP 404", "GET " + fakegraph.BetaBasePath + "manifests/" + manifestID + ": HTTP 404"}},
		"v1.0 500: no beta call": {v1: []fakegraph.Response{fakegraph.ErrorResponse(500, "InternalServerError", "boom")},
			beta: []fakegraph.Response{fakegraph.OK(body)}, wantV1: 1, wantErr: []string{"HTTP 500"}},
		"v1.0 403: no beta call": {v1: []fakegraph.Response{fakegraph.ErrorResponse(403, "Forbidden", "no")},
			beta: []fakegraph.Response{fakegraph.OK(body)}, wantV1: 1, wantErr: []string{"HTTP 403"}},
		"v1.0 404, beta 403": {beta: []fakegraph.Response{fakegraph.ErrorResponse(403, "Forbidden", "no")}, wantV1: 1, wantBeta: 1,
			wantErr: []string{"GET " + fakegraph.BetaBasePath + "manifests/" + manifestID + ": HTTP 403"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, graph.WithMaxRetries(0))
			if tc.v1 != nil {
				f.srv.ScriptManifest(manifestID, tc.v1...)
			}
			if tc.beta != nil {
				f.srv.ScriptBetaManifest(manifestID, tc.beta...)
			}
			m, err := f.client.GetManifest(t.Context(), manifestID)
			v1, beta := f.manifestGets(manifestID)
			if v1 != tc.wantV1 || beta != tc.wantBeta {
				t.Errorf("GETs: %d at v1.0, %d at beta; want %d and %d", v1, beta, tc.wantV1, tc.wantBeta)
			}
			if tc.wantErr == nil {
				if err != nil || m.ID != manifestID {
					t.Fatalf("GetManifest = %+v, %v", m, err)
				}
				return
			}
			if err == nil {
				t.Fatal("GetManifest succeeded, want an error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if errors.Is(err, graph.ErrNotFound) != tc.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", !tc.notFound, tc.notFound)
			}
		})
	}
}

// TestBetaExport: a preview export is POSTed at /beta with its body as
// given, and its operation is polled at /beta.
func TestBetaExport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.ScriptExportOperations("", fakegraph.ExportOperation{Polls: 1, RetryAfter: "1"})
	started, err := f.client.StartExport(t.Context(), graph.ExportRequest{
		API: graph.Beta, Path: fakegraph.AggregatedUsagePath, Body: map[string]string{"invoiceId": "G000000001"},
	}, 0)
	if err != nil {
		t.Fatalf("StartExport: %v", err)
	}
	op, err := f.client.WaitOperation(t.Context(), started.OperationID, time.Hour, graph.In(graph.Beta))
	if err != nil || op.State() != graph.StateSucceeded {
		t.Fatalf("WaitOperation = %+v, %v", op, err)
	}
	if _, err := f.client.GetOperationIn(t.Context(), graph.Beta, started.OperationID); err != nil {
		t.Errorf("GetOperationIn(beta): %v", err)
	}
	var got []string
	for _, r := range f.srv.Requests() {
		if strings.HasPrefix(r.Path, "/v1.0/") || strings.HasPrefix(r.Path, "/beta/") {
			got = append(got, r.Method+" "+r.Path+" "+string(r.Body))
		}
	}
	want := []string{
		"POST " + fakegraph.BetaBasePath + fakegraph.AggregatedUsagePath + ` {"invoiceId":"G000000001"}`,
		"GET " + fakegraph.BetaBasePath + "operations/" + started.OperationID + " ",
		"GET " + fakegraph.BetaBasePath + "operations/" + started.OperationID + " ",
		"GET " + fakegraph.BetaBasePath + "operations/" + started.OperationID + " ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// An ambiguous start names the beta path.
	f.srv.ScriptExport(fakegraph.AggregatedUsagePath, fakegraph.ErrorResponse(502, "BadGateway", "x"))
	_, err = f.client.StartExport(t.Context(), graph.ExportRequest{API: graph.Beta, Path: fakegraph.AggregatedUsagePath, Body: map[string]string{"invoiceId": "G1"}}, 0)
	if !errors.Is(err, graph.ErrExportMayHaveStarted) || !strings.Contains(err.Error(), "POST /beta/reports/partners/billing/aggregatedUsage/billed/export: ") {
		t.Errorf("error = %v", err)
	}
}
