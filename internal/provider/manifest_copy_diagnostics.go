package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/auth"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobcopy"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// containerURLValidator checks container_url at validate time (before any
// request): blobcopy.ParseContainerURL's rules.
type containerURLValidator struct{}

func (containerURLValidator) Description(context.Context) string {
	return "an https URL of a blob container, without a query"
}

func (v containerURLValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (containerURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := blobcopy.ParseContainerURL(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Container URL",
			fmt.Sprintf("container_url is not usable: %s.\n\nWrite it as https://{account}.blob.core.windows.net/{container} "+
				"(for an emulator at an IP address or localhost: https://127.0.0.1:10000/{account}/{container}).", err))
	}
}

// prefixValidator checks prefix at validate time: blobcopy.CheckPrefix.
type prefixValidator struct{}

func (prefixValidator) Description(context.Context) string {
	return "a blob name prefix: no leading '/', no '.' or '..' segment, no backslash or control character, at most 512 characters"
}

func (v prefixValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (prefixValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := blobcopy.CheckPrefix(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Prefix",
			fmt.Sprintf("prefix %q is not usable: %s. Each blob lands at {prefix}{blob name}, e.g. prefix = \"billed-reconciliation/G000000001/\".",
				safetext.Field(req.ConfigValue.ValueString()), err))
	}
}

// defaultPrefix plans prefix as "{manifest_id}/" when it is not set.
type defaultPrefix struct{}

func (defaultPrefix) Description(context.Context) string {
	return `defaults to "{manifest_id}/"`
}

func (m defaultPrefix) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (defaultPrefix) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var id types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("manifest_id"), &id)...)
	switch {
	case id.IsUnknown():
		resp.PlanValue = types.StringUnknown()
	case !id.IsNull():
		resp.PlanValue = types.StringValue(blobcopy.DefaultPrefix(id.ValueString()))
	}
}

// noStorageCredential reports a provider instance without a Storage token
// source (a provider bug: Configure always sets one).
func noStorageCredential(d *providerData, diags *diag.Diagnostics) bool {
	if d.storage != nil {
		return false
	}
	diags.AddError("Provider Not Configured For Azure Storage",
		"The partnerbilling provider has no credential for Azure Storage. Please report this issue to the provider developers.")
	return true
}

// copyContext is what a copy diagnostic names.
type copyContext struct {
	manifestID, container, clientID string
	blobs                           int
	timeout                         string
	reading, deleting               bool
}

// addCopyError is the diagnostic of a failed copy, refresh or delete,
// through the one sanitiser.
func addCopyError(into *diag.Diagnostics, err error, cc copyContext) {
	diags := &diag.Diagnostics{}
	defer func() { into.Append(cleanDiagnostics(*diags)...) }()
	var (
		ce *blobcopy.Error
		se *blobcopy.StorageError
		ee *blobcopy.ExistsError
		ve *blobcopy.VerifyError
		mc *graph.ManifestChangedError
		ne *blobcopy.NameError
		te *blobcopy.TokenError
		ue *auth.UnreachableError
	)
	left := ""
	if errors.As(err, &ce) {
		left = "\n\n" + partialText(ce, cc)
	}
	detail := capitalize(safetext.Field(err.Error()))
	containerAttr := path.Root("container_url")
	switch {
	case errors.Is(err, context.Canceled):
		diags.AddError("Copy Interrupted",
			fmt.Sprintf("Copying manifest %s into %s was interrupted.%s\n\n%s", cc.manifestID, cc.container, left, detail))
	case errors.Is(err, context.DeadlineExceeded):
		diags.AddAttributeError(path.Root(attrTimeouts).AtName("create"), "Copy Did Not Finish In Time",
			fmt.Sprintf("Copying manifest %s into %s did not finish within %s. Raise timeouts.create for exports of this size; "+
				"the next apply skips the blobs already copied.%s\n\n%s", cc.manifestID, cc.container, cc.timeout, left, detail))
	case errors.As(err, &mc):
		diags.AddAttributeError(path.Root("manifest_id"), "Manifest Changed During Copy",
			fmt.Sprintf("Manifest %s was read again for a fresh SAS token and is no longer the same (eTag %q first, %q now): the export's "+
				"data changed while it was being copied. Nothing of two versions is mixed: apply again to copy the current version "+
				"(into a new prefix if the old blobs must stay).%s\n\n%s", cc.manifestID, mc.FirstETag, mc.SecondETag, left, detail))
	case errors.As(err, &ue):
		// SPEC §2: a network problem, never a sign of wrong credentials.
		diags.AddError("Cannot Reach Microsoft Entra ID", unreachableDetail(ue.Host)+left+"\n\n"+detail)
	case errors.As(err, &te):
		diags.AddError("Authentication Failed",
			fmt.Sprintf("No access token could be acquired for Azure Storage (scope https://storage.azure.com/.default), with the "+
				"credential the provider signs in to Microsoft Graph with. The message below names the authentication method in use: "+
				"check its settings, and that the identity may get tokens for Azure Storage in the tenant of %s.%s\n\n%s",
				cc.container, left, detail))
	case errors.As(err, &ne):
		diags.AddAttributeError(path.Root("manifest_id"), "Unsafe Blob Name",
			fmt.Sprintf("Manifest %s lists a blob whose name cannot be a destination blob under the prefix: %s. Nothing was copied.\n\n"+
				"Blob names come from the service; report the manifest id to Microsoft support.", cc.manifestID, safetext.Field(ne.Error())))
	case errors.As(err, &ee):
		diags.AddAttributeError(path.Root("prefix"), "Destination Blob Exists",
			fmt.Sprintf("The container already holds %s, which this provider did not copy from this source, and the provider never "+
				"overwrites a blob it did not write. Choose another prefix, or delete that blob if it is not needed.%s\n\n%s",
				ee.URL, left, detail))
	case errors.As(err, &ve):
		diags.AddAttributeError(path.Root("manifest_id"), "Copy Verification Failed",
			fmt.Sprintf("The copy %s in %s does not match its source (%s). The bad copy was deleted; apply again to copy it again.%s\n\n%s",
				ve.Dest, cc.container, safetext.Field(ve.What), left, detail))
	case errors.As(err, &se) && se.Permission():
		who := "The identity the provider signs in with"
		if cc.clientID != "" {
			who = fmt.Sprintf("The identity the provider signs in with (client id %s)", cc.clientID)
		}
		diags.AddAttributeError(containerAttr, "Access Denied By Azure Storage",
			fmt.Sprintf("Azure Storage refused to let this provider %s blobs in the container %s. %s needs the Storage Blob Data "+
				"Contributor role on that container (or on its storage account); role assignments can take a few minutes to apply.%s\n\n%s",
				verb(cc), cc.container, who, left, detail))
	case errors.As(err, &se) && se.ContainerMissing():
		diags.AddAttributeError(containerAttr, "Container Not Found",
			fmt.Sprintf("The container %s does not exist. Create it first (for example with an azurerm_storage_container resource) "+
				"and check the account and container names.%s\n\n%s", cc.container, left, detail))
	case errors.As(err, &se) && se.Side == blobcopy.Source:
		hint := ""
		if se.StatusCode == http.StatusForbidden {
			hint = "\n\nThe export's storage refused the manifest's SAS token, also after one re-read of the manifest for a fresh one. " +
				"Read the manifest again later, or start a new export. The source SAS must stay valid until every copy is done."
		}
		if se.StatusCode == http.StatusNotFound {
			hint = "\n\nThe blob is not (or no longer) in the export's storage: exports are kept for a limited time. Start a new export."
		}
		diags.AddAttributeError(path.Root("manifest_id"), "Blob Copy Failed",
			fmt.Sprintf("Blob %q of manifest %s could not be read for the copy into %s.%s\n\n%s%s", se.Blob, cc.manifestID, cc.container, left, detail, hint))
	default:
		summary := "Blob Copy Failed"
		switch {
		case cc.reading:
			summary = "Cannot Check Copied Blobs"
		case cc.deleting:
			summary = "Cannot Delete Copied Blobs"
		}
		diags.AddAttributeError(containerAttr, summary,
			fmt.Sprintf("%s manifest %s's blobs in %s failed.%s\n\n%s", capitalize(verbing(cc)), cc.manifestID, cc.container, left, detail))
	}
}

func verb(cc copyContext) string {
	switch {
	case cc.reading:
		return "read"
	case cc.deleting:
		return "delete"
	}
	return "write"
}

func verbing(cc copyContext) string {
	switch {
	case cc.reading:
		return "checking"
	case cc.deleting:
		return "deleting"
	}
	return "copying"
}

// partialText says what a failed copy left: the blobs complete (kept; the
// next apply skips them) and the unfinished ones removed.
func partialText(ce *blobcopy.Error, cc copyContext) string {
	var b strings.Builder
	names := make([]string, len(ce.Complete))
	for i, c := range ce.Complete {
		names[i] = c.Dest
	}
	if len(names) == 0 {
		fmt.Fprintf(&b, "No blob of the %d was copied complete.", cc.blobs)
	} else {
		fmt.Fprintf(&b, "Already copied and verified (%d of %d, they stay and the next apply skips them): %s.", len(names), cc.blobs, fileList(names))
	}
	if len(ce.Removed) > 0 {
		fmt.Fprintf(&b, " Unfinished copies aborted and deleted: %s.", fileList(ce.Removed))
	}
	if len(ce.NotRemoved) > 0 {
		fmt.Fprintf(&b, " Unfinished copies that could not be deleted (delete them by hand): %s (%s).",
			fileList(ce.NotRemoved), safetext.Field(ce.CleanupErr.Error()))
	} else {
		b.WriteString(" Nothing half-copied is left under the prefix.")
	}
	return b.String()
}
