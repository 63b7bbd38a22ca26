package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

var (
	_ datasource.DataSource              = &manifestDataSource{}
	_ datasource.DataSourceWithConfigure = &manifestDataSource{}
)

// NewManifestDataSource is the partnerbilling_manifest data source. It has
// no SAS token and no blob URLs: a data source's values go to the state and
// the plan, and the token grants read access to the billing data. The
// ephemeral resource of the same name adds them.
func NewManifestDataSource() datasource.DataSource {
	return &manifestDataSource{}
}

type manifestDataSource struct {
	data *providerData
}

// manifestFields are the attributes the data source and the ephemeral
// resource share, minus the blob list, whose elements differ.
type manifestFields struct {
	ID              types.String `tfsdk:"id"`
	SchemaVersion   types.String `tfsdk:"schema_version"`
	DataFormat      types.String `tfsdk:"data_format"`
	CreatedDateTime types.String `tfsdk:"created_date_time"`
	ETag            types.String `tfsdk:"etag"`
	PartnerTenantID types.String `tfsdk:"partner_tenant_id"`
	RootDirectory   types.String `tfsdk:"root_directory"`
	PartitionType   types.String `tfsdk:"partition_type"`
	BlobCount       types.Int64  `tfsdk:"blob_count"`
}

type manifestModel struct {
	manifestFields
	Blobs []manifestBlobModel `tfsdk:"blobs"`
}

type manifestBlobModel struct {
	Name           types.String `tfsdk:"name"`
	PartitionValue types.String `tfsdk:"partition_value"`
}

// Descriptions shared by the data source and the ephemeral resource.
const (
	manifestPermission = "Requires `PartnerBilling.Read.All` (application, with admin consent, or delegated work/school) in the partner tenant."
	descManifestID     = "The manifest id: the `manifest_id` of a succeeded export operation (letters, digits and `-` only, at most 128 characters, " +
		"so it can never change the request path)."
	descSchemaVersion   = "The manifest's schema version, as the service sent it."
	descDataFormat      = "The format of the blobs, as the service sent it (Microsoft documents both `compressedJSONLines` and `compressedJSON`; both mean gzip-compressed JSON Lines)."
	descCreatedDateTime = "When the manifest was created, RFC 3339. A timestamp without offset is UTC and gets `Z`; fraction digits are kept as sent."
	descETag            = "The manifest's entity tag; it changes when the exported data changes. Use it in `triggers_replace` to download again only when the data changed."
	descPartnerTenantID = "The partner tenant the data belongs to."
	descRootDirectory   = "The URL of the blob directory (Azure Blob Storage) that holds the blobs. It grants nothing without the SAS token; the provider never calls it."
	descPartitionType   = "How the blobs are partitioned, as the service sent it (`default` and `Default` both occur)."
	descBlobCount       = "The number of blobs the service reports (sent as a number or a string); null if it sent no whole number."
	descBlobs           = "The blobs of the export, in the service's order. Each is a gzip-compressed JSON Lines file."
	descBlobName        = "The blob's name (a path under `root_directory`; it may contain `/` and spaces), as the service sent it."
	descPartitionValue  = "The blob's partition value, as the service sent it."
)

func (d *manifestDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_manifest"
}

func (d *manifestDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the manifest of a succeeded export (`GET /reports/partners/billing/manifests/{id}`): where its blobs are, how many, " +
			"and an `etag` that changes with the data. It has no SAS token and no download URLs, so nothing secret reaches the state or a plan: " +
			"the `partnerbilling_manifest` ephemeral resource (Terraform 1.10 or later) adds them. " + manifestPermission,
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: descManifestID,
				Validators:          []validator.String{manifestIDValidator},
			},
			"schema_version":    str(descSchemaVersion),
			"data_format":       str(descDataFormat),
			"created_date_time": str(descCreatedDateTime),
			"etag":              str(descETag),
			"partner_tenant_id": str(descPartnerTenantID),
			"root_directory":    str(descRootDirectory),
			"partition_type":    str(descPartitionType),
			"blob_count":        schema.Int64Attribute{Computed: true, MarkdownDescription: descBlobCount},
			"blobs": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: descBlobs,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":            str(descBlobName),
						"partition_value": str(descPartitionValue),
					},
				},
			},
		},
	}
}

func (d *manifestDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if data, ok := providerDataFrom(req.ProviderData, kindDataSource, &resp.Diagnostics); ok {
		d.data = data
	}
}

func (d *manifestDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg manifestModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if notConfigured(d.data, "this data source was read", &resp.Diagnostics) {
		return
	}
	m, ok := readManifest(ctx, d.data, cfg.ID.ValueString(), &resp.Diagnostics)
	if !ok {
		return
	}
	state := manifestModelFrom(m, cfg.ID)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// readManifest reads manifest id for the data source and the ephemeral
// resource alike; on failure it adds the diagnostic and returns false.
func readManifest(ctx context.Context, data *providerData, id string, diags *diag.Diagnostics) (*graph.Manifest, bool) {
	ctx = tflog.SetField(ctx, "manifest_id", id)
	ctx, cancel := data.interruptible(ctx)
	defer cancel()
	m, err := data.client.GetManifest(ctx, id)
	if err != nil {
		addGraphError(diags, withCause(ctx, err), "manifest", id, "")
		return nil, false
	}
	// The blob names and the token stay out of the log: names are the
	// user's data, the token is a secret.
	tflog.Debug(ctx, "read manifest", map[string]any{"blobs": len(m.Blobs), "etag": m.ETag})
	return m, true
}

// manifestModelFrom maps a manifest to the data source's state; the
// ephemeral resource builds its result on it. Absent values are null; an
// absent blob list is an empty one.
func manifestModelFrom(m *graph.Manifest, id types.String) manifestModel {
	out := manifestModel{
		manifestFields: manifestFields{
			ID:              id,
			SchemaVersion:   optionalString(m.SchemaVersion),
			DataFormat:      optionalString(m.DataFormat),
			CreatedDateTime: optionalString(m.CreatedDateTime),
			ETag:            optionalString(m.ETag),
			PartnerTenantID: optionalString(m.PartnerTenantID),
			RootDirectory:   optionalString(m.RootDirectory),
			PartitionType:   optionalString(m.PartitionType),
			BlobCount:       types.Int64PointerValue(m.BlobCount),
		},
		Blobs: make([]manifestBlobModel, len(m.Blobs)),
	}
	for i, b := range m.Blobs {
		out.Blobs[i] = manifestBlobModel{Name: optionalString(b.Name), PartitionValue: optionalString(b.PartitionValue)}
	}
	return out
}
