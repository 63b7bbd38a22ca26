package provider

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// The preview kind's operation lives in Graph beta, which the
// partnerbilling_operation data source does not read (it reads /v1.0): no
// message about a preview export sends the user there.

// TestPreviewExportFailedNamesNoOperationDataSource: a failed preview
// export, through the CLI, resource and action.
func TestPreviewExportFailedNamesNoOperationDataSource(t *testing.T) {
	t.Parallel()
	failing := fakegraph.ExportOperation{FailCode: "5000", FailMessage: "No data available"}
	t.Run("resource", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.srv.ScriptExportOperations("", failing)
		check, mustFail := errorText(t, []string{"Error: Export Failed", `error code "5000"`, "kept in state", "tainted"},
			[]string{"partnerbilling_operation"})
		resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), ErrorCheck: check,
			Steps: []resource.TestStep{{Config: e.exportConfig("billed_aggregated_usage_export", `invoice_id = "G000000002"`)}}})
		mustFail()
	})
	t.Run("action", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.srv.ScriptExportOperations("", failing)
		check, mustFail := errorText(t, []string{"Export Failed", `error code "5000"`, "An action writes no state"},
			[]string{"partnerbilling_operation"})
		resource.UnitTest(t, resource.TestCase{
			TerraformVersionChecks:   []tfversion.TerraformVersionCheck{actionsCLI{}},
			ProtoV6ProviderFactories: e.factories(), ErrorCheck: check,
			Steps: []resource.TestStep{{Config: e.triggeredAction("billed_aggregated_usage_export", `invoice_id = "G000000002"`)}}})
		mustFail()
	})
}

// TestExportNotesFitTheKind: every diagnostic of a started or maybe-started
// export names the operation data source for the v1.0 kinds and never for
// the preview kind.
func TestExportNotesFitTheKind(t *testing.T) {
	t.Parallel()
	for _, k := range exportKinds {
		for siteName, site := range map[string]exportSite{"resource": resourceSite, "action": actionSite} {
			var diags diag.Diagnostics
			addExportFailed(&diags, k, "op-1", &graph.Operation{Status: "failed"}, site)
			addExportWaitError(&diags, &graph.WaitTimeoutError{OperationID: "op-1", Timeout: time.Minute, LastStatus: "running"}, k, "op-1", time.Minute, site)
			addExportWaitError(&diags, errors.New("boom"), k, "op-1", time.Minute, site)
			addExportStartError(&diags, &graph.AmbiguousStartError{}, k)
			for _, d := range diags {
				names := strings.Contains(d.Detail(), "partnerbilling_operation")
				if k.api == graph.Beta && names {
					t.Errorf("%s %s: %q names the operation data source, which cannot read a beta operation:\n%s", k.typeName, siteName, d.Summary(), d.Detail())
				}
			}
		}
	}
}
