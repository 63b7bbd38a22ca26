package provider

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobcopy"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

var (
	_ resource.Resource                   = &manifestCopyResource{}
	_ resource.ResourceWithConfigure      = &manifestCopyResource{}
	_ resource.ResourceWithValidateConfig = &manifestCopyResource{}
	_ resource.ResourceWithImportState    = &manifestCopyResource{}
)

// NewManifestCopyResource is partnerbilling_manifest_copy: a manifest's
// blobs copied server-side into a container the partner owns (SPEC §4.8).
// Its state is the destination blobs (names, URLs without a query, sizes,
// Content-MD5, ETags); the SAS the service reads the sources with never
// becomes a Terraform value.
func NewManifestCopyResource() resource.Resource {
	return &manifestCopyResource{}
}

type manifestCopyResource struct {
	data *providerData
}

type manifestCopyModel struct {
	ManifestID        types.String   `tfsdk:"manifest_id"`
	ContainerURL      types.String   `tfsdk:"container_url"`
	Prefix            types.String   `tfsdk:"prefix"`
	Concurrency       types.Int64    `tfsdk:"concurrency"`
	RetainOnDestroy   types.Bool     `tfsdk:"retain_on_destroy"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
	Blobs             types.List     `tfsdk:"blobs"`
	BlobCount         types.Int64    `tfsdk:"blob_count"`
	TotalBytes        types.Int64    `tfsdk:"total_bytes"`
	ETag              types.String   `tfsdk:"etag"`
	SASExpiredRetries types.Int64    `tfsdk:"sas_expired_retries"`
}

type copiedBlobModel struct {
	Name            types.String `tfsdk:"name"`
	DestinationName types.String `tfsdk:"destination_name"`
	URL             types.String `tfsdk:"url"`
	Size            types.Int64  `tfsdk:"size"`
	ContentMD5      types.String `tfsdk:"content_md5"`
	ETag            types.String `tfsdk:"etag"`
}

var copiedBlobType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"name": types.StringType, "destination_name": types.StringType, "url": types.StringType,
	"size": types.Int64Type, "content_md5": types.StringType, "etag": types.StringType,
}}

// manifestCopyFrom maps a copy's result into the model's computed part.
func manifestCopyFrom(ctx context.Context, res *blobcopy.Result, etag string, m *manifestCopyModel) diag.Diagnostics {
	blobs := make([]copiedBlobModel, len(res.Blobs))
	for i, b := range res.Blobs {
		md5 := types.StringNull()
		if len(b.ContentMD5) > 0 {
			md5 = types.StringValue(base64.StdEncoding.EncodeToString(b.ContentMD5))
		}
		blobs[i] = copiedBlobModel{
			Name: types.StringValue(b.Name), DestinationName: types.StringValue(b.Dest), URL: types.StringValue(b.URL),
			Size: types.Int64Value(b.Size), ContentMD5: md5, ETag: types.StringValue(b.ETag),
		}
	}
	list, diags := types.ListValueFrom(ctx, copiedBlobType, blobs)
	m.Blobs = list
	m.BlobCount = types.Int64Value(int64(len(res.Blobs)))
	m.TotalBytes = types.Int64Value(res.TotalBytes)
	m.ETag = types.StringValue(etag)
	m.SASExpiredRetries = types.Int64Value(int64(res.SASExpiredRetries))
	return diags
}

func (r *manifestCopyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_manifest_copy"
}

func (r *manifestCopyResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}}
	}
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Copies every blob of an export's manifest into an Azure Storage container the partner owns, **server-side**: " +
			"Azure Storage reads each source with the manifest's SAS token, so no blob byte passes through the machine that runs Terraform " +
			"(an HCP Terraform remote run included), however large the export. Up to 256 MiB a blob is copied with Copy Blob From URL, larger " +
			"ones with Copy Blob, polled until done. Each copy carries the metadata `partnerbilling_manifest_id` and `partnerbilling_source_etag` " +
			"and is verified (size, Content-MD5); a blob already in the container that this resource copied from the same source is skipped, " +
			"and a blob it did not write is never overwritten. Refresh checks the destination blobs (one `HEAD` each, no Graph call); destroy " +
			"keeps the blobs unless `retain_on_destroy = false`. The SAS token never becomes a Terraform value. " + manifestPermission +
			" The identity also needs **Storage Blob Data Contributor** on the container (or its storage account).",
		Attributes: map[string]schema.Attribute{
			"manifest_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: descManifestID + " Changing it copies the new manifest (replaces the resource).",
				Validators:          []validator.String{manifestIDValidator},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"container_url": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The destination container's URL, `https://{account}.blob.core.windows.net/{container}` (for an emulator " +
					"at an IP address or `localhost`, also `https://127.0.0.1:10000/{account}/{container}`). No query: a SAS is refused, the " +
					"provider signs in with its own credential (token scope `https://storage.azure.com/.default`, sent to this host only). " +
					"Changing it copies again (replaces the resource).",
				Validators:    []validator.String{containerURLValidator{}},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"prefix": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Each blob lands at `{prefix}{blob name}`; default `\"{manifest_id}/\"`. No leading `/`, no `.` or `..` " +
					"segment, no backslash or control character, at most 512 characters; `\"\"` puts the blobs at the container's root. " +
					"Changing it copies again (replaces the resource).",
				Validators:    []validator.String{prefixValidator{}},
				PlanModifiers: []planmodifier.String{defaultPrefix{}, stringplanmodifier.RequiresReplace()},
			},
			"concurrency": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(blobcopy.DefaultConcurrency),
				MarkdownDescription: fmt.Sprintf("How many blobs are copied (or checked) at once, 1 to %d; default %d. Changing it copies nothing.",
					blobcopy.MaxConcurrency, blobcopy.DefaultConcurrency),
				Validators: []validator.Int64{namedInt64("Invalid Concurrency", int64validator.Between(1, blobcopy.MaxConcurrency))},
			},
			"retain_on_destroy": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "`true` (default): destroy and replacement leave the copied blobs in place — billing records are kept " +
					"for years, and next month's replacement must never delete last month's data. `false`: destroy deletes the blobs whose " +
					"ETag still matches the recorded one; a changed blob is kept and named in a warning. Changing it copies nothing.",
			},
			"blobs": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The destination blobs, in the manifest's blob order.",
				PlanModifiers:       []planmodifier.List{listplanmodifier.UseStateForUnknown()},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":             schema.StringAttribute{Computed: true, MarkdownDescription: descBlobName},
					"destination_name": computed("The destination blob's name: `{prefix}{name}`."),
					"url":              computed("The destination blob's URL (no query, no token)."),
					"size":             schema.Int64Attribute{Computed: true, MarkdownDescription: "The blob's size in bytes (source and copy agree)."},
					"content_md5":      computed("The source's Content-MD5, base64 as Azure reports it (the copy's agrees); null when the source has none."),
					"etag":             computed("The destination blob's ETag: refresh compares it, and destroy with `retain_on_destroy = false` deletes only a blob that still has it."),
				}},
			},
			"blob_count":  keep("How many blobs were copied (or found already copied)."),
			"total_bytes": keep("The size of all blobs together, in bytes."),
			"etag": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The manifest's entity tag when the blobs were copied.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"sas_expired_retries": keep("How many times the manifest was read again because Azure Storage refused its SAS token as expired " +
				"(0 or 1: one re-read serves every blob)."),
		},
		Blocks: map[string]schema.Block{
			attrTimeouts: createTimeoutsBlock(ctx, timeouts.Opts{
				Create: true,
				CreateDescription: "How long create may take to read the manifest and copy every blob, as a Go duration (`\"2h\"`); default `30m`. " +
					"Changing it copies nothing.",
			}),
		},
	}
}

func (r *manifestCopyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data, ok := providerDataFrom(req.ProviderData, kindResource, &resp.Diagnostics); ok {
		r.data = data
	}
}

// ValidateConfig rejects a create timeout that is not positive.
func (r *manifestCopyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	validateCreateTimeout(ctx, req.Config.GetAttribute, &resp.Diagnostics)
}

// copyOptions are the blobcopy options of this provider instance.
func (d *providerData) copyOptions(concurrency int64) blobcopy.Options {
	o := blobcopy.Options{
		Credential: d.storage, HTTPClient: d.blobHTTP, Concurrency: int(concurrency), Retry: d.client.RetryPolicy(), UserAgent: d.userAgent,
		Info: func(ctx context.Context, msg string, fields map[string]any) { tflog.Info(ctx, msg, fields) },
	}
	if d.debugLines {
		o.Debug = func(ctx context.Context, msg string, fields map[string]any) { tflog.Debug(ctx, msg, fields) }
	}
	return o
}

// Create reads the manifest and copies every blob.
func (r *manifestCopyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if notConfigured(r.data, "this resource was used", &resp.Diagnostics) || noStorageCredential(r.data, &resp.Diagnostics) {
		return
	}
	var m manifestCopyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := blobcopy.ParseContainerURL(m.ContainerURL.ValueString())
	if err != nil { // validated at plan time; an unknown value may reach here
		resp.Diagnostics.AddAttributeError(path.Root("container_url"), "Invalid Container URL", capitalize(err.Error())+".")
		return
	}
	id := m.ManifestID.ValueString()
	ctx = tflog.SetField(ctx, "manifest_id", id)
	ctx, cancel := r.data.interruptible(ctx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	defer cancelTimeout()
	man, err := r.data.client.GetManifest(ctx, id)
	if err != nil {
		addGraphErrorAt(&resp.Diagnostics, withCause(ctx, err), "manifest", id, "", path.Root("manifest_id"))
		return
	}
	opts := r.data.copyOptions(m.Concurrency.ValueInt64())
	opts.Refresh = func(ctx context.Context) (*graph.Manifest, error) {
		tflog.Info(ctx, "Azure Storage refused the SAS token as expired; reading the manifest again for a fresh one")
		return r.data.client.GetManifest(ctx, id)
	}
	tflog.Info(ctx, "copying the manifest's blobs", map[string]any{
		"blobs": len(man.Blobs), "container": c.URL, "prefix": m.Prefix.ValueString(), "concurrency": opts.Concurrency,
	})
	res, err := blobcopy.Copy(ctx, man, blobcopy.Target{Container: c, Prefix: m.Prefix.ValueString(), ManifestID: id}, opts)
	if err != nil {
		addCopyError(&resp.Diagnostics, withCause(ctx, err), copyContext{
			manifestID: id, container: c.URL, clientID: r.data.clientID, blobs: len(man.Blobs), timeout: timeout.String(),
		})
		return
	}
	resp.Diagnostics.Append(manifestCopyFrom(ctx, res, man.ETag, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	tflog.Info(ctx, "manifest copied", map[string]any{
		"blobs": len(res.Blobs), "total_bytes": res.TotalBytes, "sas_expired_retries": res.SASExpiredRetries,
	})
}

// Read HEADs every destination blob (no Graph call). A missing or changed
// blob removes the resource from state with a warning, so that the next
// apply copies again (skipping what is still there).
func (r *manifestCopyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if notConfigured(r.data, "this resource was read", &resp.Diagnostics) || noStorageCredential(r.data, &resp.Diagnostics) {
		return
	}
	m, c, recorded := copyState(ctx, req.State, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := r.data.interruptible(ctx)
	defer cancel()
	states, err := blobcopy.Check(ctx, c, recorded, r.data.copyOptions(m.Concurrency.ValueInt64()))
	if err != nil {
		addCopyError(&resp.Diagnostics, withCause(ctx, err), copyContext{
			manifestID: m.ManifestID.ValueString(), container: c.URL, clientID: r.data.clientID, reading: true,
		})
		return
	}
	for i, st := range states {
		if st == blobcopy.Unchanged {
			continue
		}
		summary := "Copied Blob Changed"
		if st == blobcopy.Missing {
			summary = "Copied Blob Missing"
		}
		resp.Diagnostics.AddWarning(summary,
			fmt.Sprintf("The copied blob %s of manifest %s is %s in the container. partnerbilling_manifest_copy is removed from state, "+
				"so that the next apply copies the manifest again (blobs still in place and unchanged are skipped).",
				recorded[i].Dest, m.ManifestID.ValueString(), st))
		resp.State.RemoveResource(ctx)
		return
	}
}

// Update can only be a change of concurrency, retain_on_destroy or
// timeouts: recorded, no request.
func (r *manifestCopyResource) Update(_ context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.State.Raw = req.Plan.Raw.Copy()
}

// Delete keeps the blobs (retain_on_destroy, the default), or deletes the
// ones whose ETag still matches and names the changed ones it kept.
func (r *manifestCopyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	m, c, recorded := copyState(ctx, req.State, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.RetainOnDestroy.IsNull() || m.RetainOnDestroy.ValueBool() {
		tflog.Info(ctx, "retain_on_destroy: the copied blobs stay in the container", map[string]any{
			"blobs": len(recorded), "container": c.URL, "manifest_id": m.ManifestID.ValueString(),
		})
		return
	}
	if notConfigured(r.data, "this resource was destroyed", &resp.Diagnostics) || noStorageCredential(r.data, &resp.Diagnostics) {
		return
	}
	ctx, cancel := r.data.interruptible(ctx)
	defer cancel()
	rm, err := blobcopy.Remove(ctx, c, recorded, r.data.copyOptions(m.Concurrency.ValueInt64()))
	if rm != nil && len(rm.Kept) > 0 {
		resp.Diagnostics.AddWarning("Changed Blobs Kept",
			fmt.Sprintf("%d copied blob(s) in %s changed since they were copied and were kept: %s. Every other copied blob was deleted.",
				len(rm.Kept), c.URL, fileList(rm.Kept)))
	}
	if err != nil {
		addCopyError(&resp.Diagnostics, withCause(ctx, err), copyContext{
			manifestID: m.ManifestID.ValueString(), container: c.URL, clientID: r.data.clientID, deleting: true,
		})
		return
	}
	tflog.Info(ctx, "copied blobs deleted", map[string]any{"deleted": len(rm.Removed), "kept": len(rm.Kept), "already_gone": len(rm.Gone)})
}

// ImportState is not offered: applying the configuration adopts blobs this
// provider copied before (they are skipped), and refuses any other.
func (r *manifestCopyResource) ImportState(_ context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	addImportNotSupported(&resp.Diagnostics, "partnerbilling_manifest_copy", req.ID, applyAgainInstead("blobs",
		"create finds every blob already in the container that this provider copied from the same source by its metadata, "+
			"re-verifies its size and Content-MD5 and skips it, so nothing is copied twice and the state is built from what is there"))
}

// copyState reads the state, its container and its recorded blobs (Read and Delete).
func copyState(ctx context.Context, st tfsdk.State, diags *diag.Diagnostics) (*manifestCopyModel, *blobcopy.Container, []blobcopy.Recorded) {
	var m manifestCopyModel
	diags.Append(st.Get(ctx, &m)...)
	if diags.HasError() {
		return nil, nil, nil
	}
	c, err := blobcopy.ParseContainerURL(m.ContainerURL.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("container_url"), "Invalid Container URL In State",
			fmt.Sprintf("The state holds a container URL this provider would not have used (%s). Remove the resource from state (terraform state rm).", err))
		return nil, nil, nil
	}
	var list []copiedBlobModel
	diags.Append(m.Blobs.ElementsAs(ctx, &list, false)...)
	if diags.HasError() {
		return nil, nil, nil
	}
	out := make([]blobcopy.Recorded, len(list))
	for i, b := range list {
		out[i] = blobcopy.Recorded{Name: b.Name.ValueString(), Dest: b.DestinationName.ValueString(), ETag: b.ETag.ValueString()}
	}
	return &m, c, out
}
