package fakegraph_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestScriptExportOperations scripts what the operations behind accepted
// exports report, per path and for any path, and records the exports.
func TestScriptExportOperations(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.ScriptExportOperations("reconciliation/billed/export",
		fakegraph.ExportOperation{NotListed: 1, Polls: 1, RetryAfter: "2", AcceptRetryAfter: "5"})
	s.ScriptExportOperations("", fakegraph.ExportOperation{FailCode: "5000", FailMessage: "No data available"})
	s.SetExportDefault(fakegraph.ExportOperation{Polls: 0})
	post := func(path, body string) (string, http.Header) {
		t.Helper()
		st, _, hdr := do(t, s, "POST", fakegraph.BasePath+path, tok, body, "Content-Type", "application/json")
		if st != http.StatusAccepted {
			t.Fatalf("POST %s: %d", path, st)
		}
		id, ok := strings.CutPrefix(hdr.Get("Location"), s.URL()+fakegraph.BasePath+"operations/")
		if !ok {
			t.Fatalf("Location %q", hdr.Get("Location"))
		}
		return id, hdr
	}
	polls := func(id string, n int) []string {
		t.Helper()
		var out []string
		for range n {
			st, body, hdr := do(t, s, "GET", opPath(id), tok, "")
			var op struct{ Status string }
			_ = json.Unmarshal([]byte(body), &op)
			out = append(out, strings.TrimSpace(http.StatusText(st)+" "+op.Status+" "+hdr.Get("Retry-After")))
		}
		return out
	}
	billed := `{"invoiceId":"G1","attributeSet":"full"}`
	unbilled := `{"currencyCode":"USD","billingPeriod":"last","attributeSet":"basic"}`

	// Any path's queue is used by the unbilled export; the path's own queue
	// by the billed reconciliation export, even though it came second.
	failID, _ := post("usage/unbilled/export", unbilled)
	recID, hdr := post("reconciliation/billed/export", billed)
	defID, _ := post("usage/billed/export", billed)
	if got := hdr.Get("Retry-After"); got != "5" {
		t.Errorf("202 Retry-After = %q, want 5", got)
	}
	if diff := cmp.Diff([]string{"Not Found", "OK running 2", "OK succeeded", "OK succeeded"}, polls(recID, 4)); diff != "" {
		t.Errorf("scripted operation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"OK failed", "OK failed"}, polls(failID, 2)); diff != "" {
		t.Errorf("failing operation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"OK succeeded"}, polls(defID, 1)); diff != "" {
		t.Errorf("default operation (-want +got):\n%s", diff)
	}

	acc := s.AcceptedExports()
	if len(acc) != 3 || acc[0].OperationID != failID || acc[0].ManifestID != "" || string(acc[0].Body) != unbilled ||
		acc[1].Path != "reconciliation/billed/export" || acc[1].ManifestID == "" || acc[2].OperationID != defID {
		t.Fatalf("accepted exports = %+v", acc)
	}
	st, body, _ := do(t, s, "GET", fakegraph.BasePath+"manifests/"+acc[1].ManifestID, tok, "")
	if st != http.StatusOK || !strings.Contains(body, `"blobCount": 2`) {
		t.Errorf("manifest of the succeeded export: %d %s", st, body)
	}

	// A scripted refusal is recorded as a POST but creates no export.
	s.ScriptExport("usage/billed/export", fakegraph.Response{Drop: true})
	req, _ := http.NewRequest(http.MethodPost, s.URL()+fakegraph.BasePath+"usage/billed/export", strings.NewReader(billed))
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := s.HTTPClient().Do(req); err == nil {
		resp.Body.Close()
		t.Error("a dropped POST got an answer")
	}
	if n, m := len(s.ExportRequests()), len(s.AcceptedExports()); n != 4 || m != 3 {
		t.Errorf("%d export requests, %d accepted; want 4 and 3", n, m)
	}
}
