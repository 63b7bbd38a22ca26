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

// TestExportNeverListedGivesNoTimeoutAdvice: an export whose operation
// every poll answered 404 does not advise raising the timeout (SPEC §3's
// rule for the data source's wait, held for the export's wait too).
func TestExportNeverListedGivesNoTimeoutAdvice(t *testing.T) {
	t.Parallel()
	t.Run("through the CLI", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.srv.ScriptExportOperations("", fakegraph.ExportOperation{NotListed: 1 << 20})
		check, mustFail := errorText(t, []string{"Export Did Not Finish In Time", "never listed its operation", "404 Not Found",
			"waiting longer would not help", "kept in state"}, []string{"Raise timeouts.create"})
		resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), ErrorCheck: check,
			Steps: []resource.TestStep{{Config: e.exportConfig("billed_usage_export", "invoice_id = \"G000000001\"\ntimeouts {\n  create = \"10m\"\n}")}}})
		mustFail()
	})
	for siteName, site := range map[string]exportSite{"resource": resourceSite, "action": actionSite} {
		var diags diag.Diagnostics
		addExportWaitError(&diags, &graph.WaitTimeoutError{OperationID: "op-1", Timeout: time.Minute, NeverFound: true,
			LastStatus: "not found (HTTP 404)"}, exportKinds[0], "op-1", time.Minute, site)
		if len(diags) != 1 || strings.Contains(diags[0].Detail(), "Raise") || !strings.Contains(diags[0].Detail(), "never listed") ||
			!strings.Contains(diags[0].Detail(), "op-1") {
			t.Errorf("%s: %v", siteName, diags)
		}
	}
}
