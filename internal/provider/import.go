package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// No resource of this provider can be imported (SPEC §4.1 Import): each
// one's ImportState answers "Import Not Supported" with the way that fits,
// never the framework's "Resource Import Not Implemented … contact the
// provider developer". A new resource calls addImportNotSupported from its
// own ImportState, with its own alternative.

var (
	_ resource.ResourceWithImportState = &exportResource{}
	_ resource.ResourceWithImportState = &manifestFilesResource{}
	_ resource.ResourceWithImportState = &manifestCopyResource{}
)

// addImportNotSupported is the one answer to `terraform import` and to an
// `import` block: typeName cannot be imported; instead says what to do.
func addImportNotSupported(diags *diag.Diagnostics, typeName, id, instead string) {
	var out diag.Diagnostics
	out.AddError("Import Not Supported",
		fmt.Sprintf("%s cannot be imported (import id %q): %s", typeName, id, instead))
	diags.Append(cleanDiagnostics(out)...) // the id is the user's, but it reaches the terminal
}

// applyAgainInstead is the alternative for resources whose result is data
// the provider put in place and verified itself (partnerbilling_manifest_files,
// partnerbilling_manifest_copy): declaring the resource and applying is the
// way to adopt what is there. what names those things ("files", "blobs");
// how says what apply does with the ones already there.
func applyAgainInstead(what, how string) string {
	return fmt.Sprintf("the provider records only %s that it put in place and verified itself, so there is nothing to adopt. "+
		"Declare the resource with the same arguments and apply again instead: %s.", what, how)
}

// ImportState: an export cannot be imported; the operation data source
// adopts one started elsewhere.
func (r *exportResource) ImportState(_ context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	instead := "an export is something that happened, not an object: its operation does not report the arguments it was started " +
		"with, so Terraform could not tell whether the configuration matches. To adopt an export started elsewhere, read its operation " +
		"with the partnerbilling_operation data source (id = the operation id, wait_timeout to wait for it); its manifest_id " +
		"feeds partnerbilling_manifest_files. To start a new export, apply the resource."
	if r.kind.api == graph.Beta {
		instead = "an export is something that happened, not an object, and a preview export's operation lives in Graph beta, which " +
			"the partnerbilling_operation data source does not read. Apply the resource to start a new export; a manifest id you " +
			"already have can be read with the partnerbilling_manifest data source or downloaded with partnerbilling_manifest_files."
	}
	addImportNotSupported(&resp.Diagnostics, "partnerbilling_"+r.kind.typeName, req.ID, instead)
}

// ImportState: the files resource records only files it downloaded and
// verified; applying is the way to adopt a directory.
func (r *manifestFilesResource) ImportState(_ context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	addImportNotSupported(&resp.Diagnostics, "partnerbilling_manifest_files", req.ID, applyAgainInstead("files",
		"create downloads every blob of the manifest again, checks each one to the end and renames it into place only when complete, "+
			"so the files already in the directory are re-verified (replaced by identical, verified copies) and nothing is duplicated"))
}
