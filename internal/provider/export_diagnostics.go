package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// The diagnostics of the export resources. Errors that are the same for
// every request (access denied, authentication, unreadable answers) go
// through addGraphError.

// howToFindAnExport is said whenever an export may have started without its
// operation id reaching the provider.
// The operation data source reads /v1.0 only, so it is not offered for a
// preview (Graph beta) kind.
func howToFindAnExport(k exportKind) string {
	find := "; if you find its operation id, the partnerbilling_operation data source reads and waits for it"
	if k.api == graph.Beta {
		find = ""
	}
	return "Microsoft documents no way to list export operations, so the operation id was only in the answer that was lost. " +
		"If the export started, it finishes on its own at Microsoft and costs nothing but time. To look for it, check the billing exports in " +
		"Partner Center, or give Microsoft support the request-id and client-request-id below" + find + ". Running apply again starts a new export, which is safe: " +
		"a second export of the same data yields a second manifest of the same data."
}

// addExportStartError reports a POST that did not lead to an operation id;
// nothing is recorded in state.
func addExportStartError(into *diag.Diagnostics, err error, k exportKind) {
	// Through the one sanitiser, like every diagnostic with server text.
	diags := &diag.Diagnostics{}
	defer func() { into.Append(cleanDiagnostics(*diags)...) }()
	var ae *graph.AmbiguousStartError
	switch {
	case errors.As(err, &ae) && ae.Accepted:
		diags.AddError("Export Started Without An Operation ID",
			fmt.Sprintf("Microsoft Graph accepted the %s export, but its answer named no operation (no usable Location header, and no id in a body that could be read), "+
				"so the provider cannot follow it and nothing was recorded in state. The request was not sent again.\n\n%s\n\n%s",
				k.what, howToFindAnExport(k), capitalize(err.Error())))
	case errors.As(err, &ae):
		diags.AddError("Export May Have Started",
			fmt.Sprintf("Starting the %s export failed in a way that leaves its outcome unknown: Microsoft Graph may have accepted the request "+
				"before the failure. The provider did not send it again, because one apply must never start the same export twice, "+
				"and nothing was recorded in state.\n\n%s\n\n%s", k.what, howToFindAnExport(k), capitalize(err.Error())))
	case errors.Is(err, context.Canceled):
		diags.AddError("Export Not Started",
			fmt.Sprintf("The %s export was interrupted before Microsoft Graph accepted it; no export was started.\n\n%s", k.what, capitalize(err.Error())))
	case errors.Is(err, graph.ErrForbidden), errors.Is(err, graph.ErrAuthentication), errors.Is(err, graph.ErrUnauthorized):
		addGraphError(diags, err, "export", "", "")
	default:
		var ge *graph.Error
		hint := "Check the export's arguments; if Microsoft Graph was throttling or unavailable, run apply again later."
		if errors.As(err, &ge) && ge.StatusCode == http.StatusBadRequest {
			hint = "Microsoft Graph refused the export's arguments: check them (billed exports exist for invoices from September 2023 on)."
		}
		diags.AddError("Export Not Started",
			fmt.Sprintf("Microsoft Graph did not start the %s export; nothing was recorded in state. %s\n\n%s", k.what, hint, capitalize(err.Error())))
	}
}

// exportSite is what the diagnostics of a started export say differently
// for the resource and for the actions: which argument bounds the wait, and
// what became of the operation id.
type exportSite struct {
	timeoutPath path.Path
	timeoutName string // as the user writes it: "timeouts.create"
	// kept is a paragraph on what became of the operation id.
	kept func(k exportKind, id string) string
	// keptShort says it inside a wrapped error.
	keptShort string
	// goesOn is a sentence for a wait that ended while the export was still
	// running (a timeout, an interrupt): how to keep it if it then succeeds.
	goesOn func(k exportKind) string
}

var (
	resourceSite = exportSite{
		timeoutPath: path.Root(attrTimeouts).AtName("create"), timeoutName: "timeouts.create",
		kept: taintedNote, keptShort: "kept in state; the resource is tainted",
		goesOn: untaintNote,
	}
	actionSite = exportSite{
		timeoutPath: path.Root(attrTimeout), timeoutName: attrTimeout,
		kept: actionNote, keptShort: "not kept: an action writes no state",
		goesOn: func(exportKind) string { return "" },
	}
)

// untaintNote says how to keep an export that was still running when the
// wait ended, should it then succeed: untaint it, and the next refresh reads
// its final status (tried: it works).
func untaintNote(k exportKind) string {
	return fmt.Sprintf("\n\nThe export goes on at Microsoft. If it then succeeds, you can keep it instead of starting a new one: run "+
		"`terraform untaint partnerbilling_%s.<name>` (the address in the error's \"with\" line); the next plan or apply reads its final "+
		"status and manifest_id.", k.typeName)
}

// taintedNote says what Terraform does with the state create returned.
// The operation data source reads /v1.0 only: it is not offered for a
// preview (Graph beta) kind.
func taintedNote(k exportKind, id string) string {
	adopt := " To adopt this export instead, read it with the partnerbilling_operation data source."
	if k.api == graph.Beta {
		adopt = ""
	}
	return fmt.Sprintf("The operation id %s is kept in state and Terraform marks the resource as tainted: the next apply replaces it, "+
		"starting a new export.%s", id, adopt)
}

// actionNote says where the operation id of an action's export is: only
// here, since actions write no state.
func actionNote(k exportKind, id string) string {
	if k.api == graph.Beta {
		return fmt.Sprintf("An action writes no state: the operation id %s is only in this message (Microsoft Graph beta reports it at "+
			"/beta/reports/partners/billing/operations/%s); invoking the action again starts a new export.", id, id)
	}
	return fmt.Sprintf("An action writes no state: the operation id %s is only in this message. To follow this export, read it with the "+
		"partnerbilling_operation data source (id = %q, with wait_timeout to wait); invoking the action again starts a new export.", id, id)
}

// addExportFailed reports an export whose operation failed.
func addExportFailed(into *diag.Diagnostics, k exportKind, id string, op *graph.Operation, site exportSite) {
	// Through the one sanitiser, like every diagnostic with server text.
	diags := &diag.Diagnostics{}
	defer func() { into.Append(cleanDiagnostics(*diags)...) }()
	code, msg := "none", "none"
	if op.Error != nil {
		code, msg = orNone(safetext.Field(op.Error.Code)), orNone(safetext.Field(op.Error.Message))
	}
	diags.AddError("Export Failed",
		fmt.Sprintf("The %s export (operation %s) failed: error code %q, message %q.\n\n%s\n\n"+
			"\"No data available\" (5000) usually means that the invoice or billing period has no data yet: usage lands about 24 hours late.",
			k.what, id, code, msg, site.kept(k, id)))
}

// addExportWaitError reports a wait that ended without a finished operation.
func addExportWaitError(into *diag.Diagnostics, err error, k exportKind, id string, timeout time.Duration, site exportSite) {
	// Through the one sanitiser, like every diagnostic with server text.
	diags := &diag.Diagnostics{}
	defer func() { into.Append(cleanDiagnostics(*diags)...) }()
	var wte *graph.WaitTimeoutError
	switch {
	case errors.As(err, &wte) && wte.NeverFound:
		// As SPEC §3 for the data source: a longer wait would not help.
		diags.AddAttributeError(site.timeoutPath, "Export Did Not Finish In Time",
			fmt.Sprintf("Microsoft Graph accepted the %s export (operation %s) but never listed its operation: every poll within %s (%s) "+
				"answered 404 Not Found. A new operation is listed within seconds, so waiting longer would not help; the service may have "+
				"dropped the export. %s\n\n%s",
				k.what, id, site.timeoutName, timeout, site.kept(k, id), capitalize(err.Error())))
	case errors.As(err, &wte):
		diags.AddAttributeError(site.timeoutPath, "Export Did Not Finish In Time",
			fmt.Sprintf("The %s export (operation %s) did not finish within %s (%s); its last status was %q.\n\n%s "+
				"Raise %s if exports of this size take longer.%s\n\n%s",
				k.what, id, site.timeoutName, timeout, orNone(safetext.Field(wte.LastStatus)), site.kept(k, id), site.timeoutName,
				site.goesOn(k), capitalize(err.Error())))
	case errors.Is(err, context.Canceled):
		diags.AddError("Export Wait Interrupted",
			fmt.Sprintf("Waiting for the %s export (operation %s) was interrupted; the export goes on at Microsoft.\n\n%s%s\n\n%s",
				k.what, id, site.kept(k, id), site.goesOn(k), capitalize(err.Error())))
	default:
		addGraphError(diags, fmt.Errorf("waiting for the %s export (operation %s, %s): %w", k.what, id, site.keptShort, err),
			"operation", id, "")
	}
}
