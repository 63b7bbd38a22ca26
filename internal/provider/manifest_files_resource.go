package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
)

var (
	_ resource.Resource                   = &manifestFilesResource{}
	_ resource.ResourceWithConfigure      = &manifestFilesResource{}
	_ resource.ResourceWithValidateConfig = &manifestFilesResource{}
)

// NewManifestFilesResource is partnerbilling_manifest_files: a manifest's
// blobs on disk, complete and verified. Its state is the files (name, path,
// size, SHA-256, rows); the SAS token it downloads with never becomes a
// Terraform value.
func NewManifestFilesResource() resource.Resource {
	return &manifestFilesResource{}
}

type manifestFilesResource struct {
	data *providerData
}

// privateModTimes is the private-state key of the files' modification
// times: Read trusts a file whose size and time are as recorded without
// hashing it.
const privateModTimes = "mod_times"

type manifestFilesModel struct {
	ManifestID        types.String   `tfsdk:"manifest_id"`
	Directory         types.String   `tfsdk:"directory"`
	Decompress        types.Bool     `tfsdk:"decompress"`
	Concurrency       types.Int64    `tfsdk:"concurrency"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
	Files             types.List     `tfsdk:"files"`
	TotalRows         types.Int64    `tfsdk:"total_rows"`
	ETag              types.String   `tfsdk:"etag"`
	SASExpiredRetries types.Int64    `tfsdk:"sas_expired_retries"`
	RetainOnDestroy   types.Bool     `tfsdk:"retain_on_destroy"`
}

type manifestFileModel struct {
	Name   types.String `tfsdk:"name"`
	Path   types.String `tfsdk:"path"`
	Size   types.Int64  `tfsdk:"size"`
	SHA256 types.String `tfsdk:"sha256"`
	Rows   types.Int64  `tfsdk:"rows"`
}

var manifestFileType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"name": types.StringType, "path": types.StringType, "size": types.Int64Type, "sha256": types.StringType, "rows": types.Int64Type,
}}

// manifestFilesFrom maps a download's result into the model's computed part.
func manifestFilesFrom(ctx context.Context, res *downloaded, m *manifestFilesModel) diag.Diagnostics {
	files := make([]manifestFileModel, len(res.Files))
	for i, f := range res.Files {
		files[i] = manifestFileModel{
			Name: types.StringValue(f.Name), Path: types.StringValue(f.Path), Size: types.Int64Value(f.Size),
			SHA256: types.StringValue(f.SHA256), Rows: types.Int64Value(f.Rows),
		}
	}
	list, diags := types.ListValueFrom(ctx, manifestFileType, files)
	m.Files = list
	m.TotalRows = types.Int64Value(res.TotalRows)
	m.ETag = types.StringValue(res.etag)
	m.SASExpiredRetries = types.Int64Value(int64(res.SASExpiredRetries))
	return diags
}

func (r *manifestFilesResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_manifest_files"
}

func (r *manifestFilesResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Downloads every blob of an export's manifest into a directory, complete and verified: the files on disk from " +
			"`terraform apply` alone. Create reads the manifest (one GET, for a fresh SAS token) and streams each blob to a temporary file " +
			"that is renamed into place only once its gzip decoded to the end, its rows are counted and its SHA-256 is known (and the blob " +
			"service's Content-MD5 and Content-Length agree). The SAS token and the signed URLs never become Terraform values: not in state, " +
			"plan, diagnostics or logs. Refresh checks the files on disk and never calls the network; destroy removes only the files still " +
			"as downloaded (or nothing, with `retain_on_destroy`). " + manifestPermission + "\n\n" + manifestFilesReplacement,
		Attributes: map[string]schema.Attribute{
			"manifest_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: descManifestID + " Changing it downloads the new manifest (replaces the resource).",
				Validators:          []validator.String{manifestIDValidator},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"directory": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The directory to write the files into (created when missing), e.g. `\"${path.root}/recon/march\"`. " +
					"A blob's sub-folders are kept under it; nothing is ever written outside it (a hostile blob name or a symlink inside it is " +
					"refused). Changing it downloads again (replaces the resource).",
				Validators:    []validator.String{namedString("Invalid Directory", stringvalidator.LengthAtLeast(1))},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"decompress": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "`false` (default): keep each blob as served (`.json.gz`). `true`: write the JSON Lines without the `.gz` " +
					"(gzip is still checked to the end). Changing it downloads again.",
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			},
			"concurrency": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(download.DefaultConcurrency),
				MarkdownDescription: fmt.Sprintf("How many blobs download at once, 1 to %d; default %d. Changing it downloads nothing.",
					download.MaxConcurrency, download.DefaultConcurrency),
				Validators: []validator.Int64{namedInt64("Invalid Concurrency", int64validator.Between(1, download.MaxConcurrency))},
			},
			"retain_on_destroy": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: retainOnDestroyDescription,
			},
			"files": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The files written, in the manifest's blob order.",
				PlanModifiers:       []planmodifier.List{listplanmodifier.UseStateForUnknown()},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":   schema.StringAttribute{Computed: true, MarkdownDescription: descBlobName},
					"path":   schema.StringAttribute{Computed: true, MarkdownDescription: "The file: `directory`, then the blob's name (without `.gz` with `decompress`)."},
					"size":   schema.Int64Attribute{Computed: true, MarkdownDescription: "The file's size in bytes."},
					"sha256": schema.StringAttribute{Computed: true, MarkdownDescription: "The SHA-256 of the file as written, lower-case hex (`sha256sum` prints the same)."},
					"rows":   schema.Int64Attribute{Computed: true, MarkdownDescription: "The JSON Lines rows in the file: its non-empty lines, counted on the decompressed content."},
				}},
			},
			"total_rows": keep("The rows of all files together."),
			"etag": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The manifest's entity tag when the files were downloaded.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"sas_expired_retries": keep("How many times the manifest was read again because the blob service refused its SAS token as expired " +
				"(0 or 1: one re-read serves every blob)."),
		},
		Blocks: map[string]schema.Block{
			attrTimeouts: createTimeoutsBlock(ctx, timeouts.Opts{
				Create: true,
				CreateDescription: "How long create may take to read the manifest and download every blob, as a Go duration (`\"1h\"`); default `30m`. " +
					"Changing it downloads nothing.",
			}),
		},
	}
}

func (r *manifestFilesResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data, ok := providerDataFrom(req.ProviderData, kindResource, &resp.Diagnostics); ok {
		r.data = data
	}
}

// ValidateConfig rejects a create timeout that is not positive.
func (r *manifestFilesResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	validateCreateTimeout(ctx, req.Config.GetAttribute, &resp.Diagnostics)
}

// Create reads the manifest and downloads every blob.
func (r *manifestFilesResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if notConfigured(r.data, "this resource was used", &resp.Diagnostics) {
		return
	}
	var m manifestFilesModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := r.data.interruptible(ctx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	defer cancelTimeout()
	res := r.data.downloadManifest(ctx, downloadRequest{
		manifestID: m.ManifestID.ValueString(), directory: m.Directory.ValueString(),
		decompress: m.Decompress.ValueBool(), concurrency: int(m.Concurrency.ValueInt64()),
		manifestAttr: path.Root("manifest_id"), directoryAttr: path.Root("directory"),
		timeoutAttr: path.Root(attrTimeouts).AtName("create"), timeout: timeout,
	}, &resp.Diagnostics)
	if res == nil {
		return
	}
	resp.Diagnostics.Append(manifestFilesFrom(ctx, res, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	resp.Diagnostics.Append(setModTimes(ctx, resp.Private, res.Files)...)
	resp.Diagnostics.Append(setCreatedFolders(ctx, resp.Private, res.Created)...)
	tflog.Info(ctx, "manifest downloaded", map[string]any{
		"manifest_id": m.ManifestID.ValueString(), "files": len(res.Files), "total_rows": res.TotalRows, "sas_expired_retries": res.SASExpiredRetries,
	})
}

// Read checks the files on disk and never calls the network: size and
// modification time first, the hash only when those changed. A missing or
// changed file removes the resource from state (with a warning in the log),
// so that the next plan downloads again.
func (r *manifestFilesResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	m, files := stateFiles(ctx, req.State, req.Private, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	dir := m.Directory.ValueString()
	touched := false
	for i, f := range files {
		st, mt, err := download.Check(dir, f)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("files").AtListIndex(i), "Cannot Check Downloaded File",
				fmt.Sprintf("The file %s of manifest %s could not be read to check it is as downloaded: %s", f.Path, m.ManifestID.ValueString(), err))
			return
		}
		if st != download.Unchanged {
			tflog.Warn(ctx, "a downloaded file is "+st.String()+"; removing partnerbilling_manifest_files from state so that the next apply downloads again",
				map[string]any{"file": f.Path, "manifest_id": m.ManifestID.ValueString()})
			resp.State.RemoveResource(ctx)
			return
		}
		if !mt.Equal(f.ModTime) {
			files[i].ModTime, touched = mt, true
		}
	}
	if touched {
		resp.Diagnostics.Append(setModTimes(ctx, resp.Private, files)...)
	}
	if m.RetainOnDestroy.IsNull() {
		// Recorded by a version without retain_on_destroy: its default, so
		// that the upgrade plans no change.
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("retain_on_destroy"), false)...)
	}
}

// Update can only be a change of concurrency, retain_on_destroy or
// timeouts: recorded, nothing downloaded.
func (r *manifestFilesResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.State.Raw = req.Plan.Raw.Copy()
}

// Delete removes the files that are still as downloaded and keeps every
// other file; a changed one is named in a warning. The folders the download
// created go too when they are then empty. With retain_on_destroy it
// removes nothing.
func (r *manifestFilesResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	m, files := stateFiles(ctx, req.State, req.Private, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.RetainOnDestroy.ValueBool() {
		tflog.Info(ctx, "retain_on_destroy is true: the downloaded files and their folders were kept", map[string]any{
			"manifest_id": m.ManifestID.ValueString(), "directory": m.Directory.ValueString(), "files": len(files),
		})
		return
	}
	rm, err := download.Remove(m.Directory.ValueString(), files, createdFolders(ctx, req.Private))
	if len(rm.Kept) > 0 {
		resp.Diagnostics.AddWarning("Changed Files Kept",
			fmt.Sprintf("%d file(s) in %q changed since they were downloaded and were kept: %s. Every other downloaded file was removed.",
				len(rm.Kept), m.Directory.ValueString(), fileList(rm.Kept)))
	}
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("directory"), "Cannot Remove Downloaded Files",
			fmt.Sprintf("Some downloaded files in %q could not be removed: %s", m.Directory.ValueString(), err))
	}
	tflog.Info(ctx, "downloaded files removed", map[string]any{"removed": len(rm.Removed), "kept": len(rm.Kept)})
}

// stateFiles reads the resource's state and its files (Read and Delete).
func stateFiles(ctx context.Context, st tfsdk.State, private privateGetter, diags *diag.Diagnostics) (*manifestFilesModel, []download.File) {
	var m manifestFilesModel
	diags.Append(st.Get(ctx, &m)...)
	if diags.HasError() {
		return nil, nil
	}
	files, d := recordedFiles(ctx, &m, private)
	diags.Append(d...)
	return &m, files
}

// recordedFiles is the state's files as download.File values, with the
// modification times of the private state.
func recordedFiles(ctx context.Context, m *manifestFilesModel, private privateGetter) ([]download.File, diag.Diagnostics) {
	var list []manifestFileModel
	diags := m.Files.ElementsAs(ctx, &list, false)
	if diags.HasError() {
		return nil, diags
	}
	times := map[string]time.Time{}
	if raw, d := private.GetKey(ctx, privateModTimes); !d.HasError() && len(raw) > 0 {
		_ = json.Unmarshal(raw, &times) // unreadable times only cost a hash
	}
	out := make([]download.File, 0, len(list))
	for i, f := range list {
		local, err := download.LocalName(f.Name.ValueString(), m.Decompress.ValueBool())
		if err != nil {
			diags.AddAttributeError(path.Root("files").AtListIndex(i), "Invalid File In State",
				fmt.Sprintf("The state lists a file this provider would not have written (%s). Remove the resource from state (terraform state rm).", err))
			return nil, diags
		}
		out = append(out, download.File{
			Name: f.Name.ValueString(), Local: local, Path: f.Path.ValueString(), Size: f.Size.ValueInt64(),
			SHA256: f.SHA256.ValueString(), Rows: f.Rows.ValueInt64(), ModTime: times[local],
		})
	}
	return out, diags
}

type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func setModTimes(ctx context.Context, private privateSetter, files []download.File) diag.Diagnostics {
	times := make(map[string]time.Time, len(files))
	for _, f := range files {
		times[f.Local] = f.ModTime
	}
	raw, err := json.Marshal(times)
	if err != nil {
		var d diag.Diagnostics
		d.AddError("Internal Error", "Encoding the files' modification times: "+err.Error())
		return d
	}
	return private.SetKey(ctx, privateModTimes, raw)
}
