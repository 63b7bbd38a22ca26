//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestInvoicesTraceShowsNoToken runs the built provider under TF_LOG=TRACE
// over an apply that lists invoices (Partner Center) and reads an operation
// (Graph), then a plan that Partner Center refuses (403): the log lines name
// the Partner Center requests and their MS-RequestId, the 403 explains App
// management, and neither scope's token, nor the client secret, appears in
// the output, the TRACE logs or the state. Each run asks for one token per
// scope.
func TestInvoicesTraceShowsNoToken(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, `
data "partnerbilling_invoices" "recent" {
  since         = "2026-10-01"
  invoice_type  = "OneTime"
  document_type = "invoice"
}

data "partnerbilling_operation" "op" {
  id = "`+fakegraph.DocOperationID+`"
}

output "invoices" {
  value = [for i in data.partnerbilling_invoices.recent.invoices : "${i.id} ${i.total_charges}"]
}
`)
	w.env = append(w.env, "PARTNERBILLING_PARTNER_CENTER_ENDPOINT="+w.srv.URL())
	w.srv.SetInvoices(fakegraph.DocInvoices...)
	w.srv.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocSucceeded))

	texts := map[string]string{}
	out, log := tracedRun(t, w, nil, false, "apply", "-auto-approve", "-input=false", "-no-color")
	texts["output of apply"], texts["TRACE log of apply"] = out, log
	if !strings.Contains(out, `"G016907411 24606.35"`) || !strings.Contains(out, `"G015012345 318.00"`) {
		t.Fatalf("apply output lacks the invoices:\n%s", out)
	}
	if !strings.Contains(log, "Partner Center request: ") || !strings.Contains(log, "ms_request_id=") || !strings.Contains(log, "ms_correlation_id=") {
		t.Error("the TRACE log has no Partner Center request line with its MS-RequestId and MS-CorrelationId")
	}
	pc, graph := len(w.srv.TokenRequestsFor(fakegraph.PartnerCenterResource)), len(w.srv.TokenRequestsFor(fakegraph.GraphResource))
	if pc != 1 || graph != 1 {
		t.Errorf("apply asked for %d Partner Center and %d Graph tokens, want 1 and 1", pc, graph)
	}
	t.Logf("measured, one apply: %d Partner Center GETs, %d Graph GETs, token requests %d Partner Center + %d Graph",
		len(w.srv.PartnerCenterRequests()), len(w.srv.GraphRequests()), pc, graph)

	w.srv.ScriptInvoices(fakegraph.PartnerCenterError(403, "600012", "Partner is not authorized to access this resource."))
	out, log = tracedRun(t, w, nil, true, "plan", "-input=false", "-no-color")
	texts["output of a refused plan"], texts["TRACE log of a refused plan"] = out, log
	for _, want := range []string{"Access Denied By Partner Center", "App management", tenant, "600012", "MS-CorrelationId"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("the refused plan does not say %q:\n%s", want, out)
		}
	}
	state, err := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	texts["state"] = string(state)

	secrets := map[string]string{"client secret": secret}
	tokens := w.srv.IssuedTokens()
	if len(tokens) < 2 {
		t.Fatalf("%d tokens issued, want at least one per scope", len(tokens))
	}
	for i, tok := range tokens {
		secrets["access token "+string(rune('1'+i))+" ("+fakegraph.TokenAudience(tok)+")"] = tok
	}
	assertNoSecrets(t, texts, secrets)
}
