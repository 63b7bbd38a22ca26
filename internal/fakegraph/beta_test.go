package fakegraph_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestBetaAggregatedUsageExport: the preview export takes {"invoiceId"}
// alone, answers a Location at /beta, and its operation and manifest are
// served at /beta only.
func TestBetaAggregatedUsageExport(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.SetExportDefault(fakegraph.ExportOperation{Polls: 0})
	post := fakegraph.BetaBasePath + fakegraph.AggregatedUsagePath
	for name, body := range map[string]string{
		"attributeSet": `{"invoiceId":"G1","attributeSet":"full"}`,
		"no invoice":   `{}`,
	} {
		if st, resp, _ := do(t, s, "POST", post, tok, body, "Content-Type", "application/json"); st != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s, want 400", name, st, resp)
		}
	}
	st, _, hdr := do(t, s, "POST", post, tok, `{"invoiceId":"G000000001"}`, "Content-Type", "application/json")
	if st != http.StatusAccepted {
		t.Fatalf("POST: HTTP %d", st)
	}
	id, ok := strings.CutPrefix(hdr.Get("Location"), s.URL()+fakegraph.BetaBasePath+"operations/")
	if !ok {
		t.Fatalf("Location %q, want one under /beta", hdr.Get("Location"))
	}
	acc := s.AcceptedExports()
	if len(acc) != 1 || !acc[0].Beta || acc[0].Path != fakegraph.AggregatedUsagePath || acc[0].OperationID != id {
		t.Fatalf("accepted %+v", acc)
	}
	if st, _, _ := do(t, s, "GET", fakegraph.BasePath+"operations/"+id, tok, ""); st != http.StatusNotFound {
		t.Errorf("v1.0 GET of the beta operation: HTTP %d, want 404", st)
	}
	st, body, _ := do(t, s, "GET", fakegraph.BetaBasePath+"operations/"+id, tok, "")
	if st != http.StatusOK || !strings.Contains(body, s.BetaManifestURL(acc[0].ManifestID)) {
		t.Errorf("beta GET of the operation: HTTP %d %s", st, body)
	}
	if st, _, _ := do(t, s, "GET", fakegraph.BasePath+"manifests/"+acc[0].ManifestID, tok, ""); st != http.StatusNotFound {
		t.Errorf("v1.0 GET of the beta manifest: HTTP %d, want 404", st)
	}
	if st, _, _ := do(t, s, "GET", fakegraph.BetaBasePath+"manifests/"+acc[0].ManifestID, tok, ""); st != http.StatusOK {
		t.Errorf("beta GET of the manifest: HTTP %d", st)
	}
	if n := len(s.ExportRequests()); n != 3 {
		t.Errorf("ExportRequests = %d, want 3", n)
	}
}
