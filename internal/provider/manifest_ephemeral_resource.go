package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

var (
	_ ephemeral.EphemeralResource              = &manifestEphemeralResource{}
	_ ephemeral.EphemeralResourceWithConfigure = &manifestEphemeralResource{}
)

// NewManifestEphemeralResource is the partnerbilling_manifest ephemeral
// resource: the data source's attributes plus the SAS token and the blob
// download URLs, which Terraform never writes to state or a plan file.
func NewManifestEphemeralResource() ephemeral.EphemeralResource {
	return &manifestEphemeralResource{}
}

type manifestEphemeralResource struct {
	data *providerData
}

type manifestEphemeralModel struct {
	manifestFields
	SASToken     types.String                 `tfsdk:"sas_token"`
	SASExpiresAt types.String                 `tfsdk:"sas_expires_at"`
	Blobs        []manifestEphemeralBlobModel `tfsdk:"blobs"`
}

type manifestEphemeralBlobModel struct {
	manifestBlobModel
	URL types.String `tfsdk:"url"`
}

func (r *manifestEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_manifest"
}

func (r *manifestEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the manifest of a succeeded export, like the `partnerbilling_manifest` data source, and adds what it takes to " +
			"download the blobs: the SAS token and one URL per blob. Terraform (1.10 or later) opens it whenever a run needs it and never " +
			"writes its values to the state or a plan file, so a `local-exec` provisioner, a provider block or a write-only argument can use " +
			"the URLs without the token being persisted. " + manifestPermission,
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
			"sas_token": schema.StringAttribute{
				Computed:  true,
				Sensitive: true,
				MarkdownDescription: "The SAS token that grants read access to the blobs: a query string without `?`, short-lived (see `sas_expires_at`). " +
					"Sensitive. Prefer the blobs' `url`.",
			},
			"sas_expires_at": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "When the SAS token expires: its `se=` parameter, percent-decoded, as RFC 3339 (`2023-12-13T12:37:17Z`; " +
					"a date without a time is midnight UTC). Null when the token has no `se=` or it is not a date.",
			},
			"blobs": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: descBlobs,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":            str(descBlobName),
						"partition_value": str(descPartitionValue),
						"url": schema.StringAttribute{
							Computed:  true,
							Sensitive: true,
							MarkdownDescription: "The blob's download URL, `{root_directory}/{name}?{sas_token}`: each `/`-separated segment of `name` is " +
								"percent-escaped as a URL path segment (a space becomes `%20`), the token is appended as sent, a trailing `/` of " +
								"`root_directory` is not doubled, and without a token there is no `?`. Sensitive: it carries the token. " +
								"Null for a blob without a name.",
						},
					},
				},
			},
		},
	}
}

func (r *manifestEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	if data, ok := providerDataFrom(req.ProviderData, kindEphemeralResource, &resp.Diagnostics); ok {
		r.data = data
	}
}

func (r *manifestEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var cfg manifestEphemeralModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if notConfigured(r.data, "this ephemeral resource was opened", &resp.Diagnostics) {
		return
	}
	m, ok := readManifest(ctx, r.data, cfg.ID.ValueString(), &resp.Diagnostics)
	if !ok {
		return
	}
	result := manifestEphemeralModelFrom(m, cfg.ID)
	resp.Diagnostics.Append(resp.Result.Set(ctx, &result)...)
}

// manifestEphemeralModelFrom is manifestModelFrom plus the secret fields:
// the only place where the SAS token and the URLs built from it are
// unwrapped, to be handed to Terraform as sensitive ephemeral values.
func manifestEphemeralModelFrom(m *graph.Manifest, id types.String) manifestEphemeralModel {
	base := manifestModelFrom(m, id)
	out := manifestEphemeralModel{
		manifestFields: base.manifestFields,
		SASToken:       optionalString(m.SASToken.Reveal()),
		SASExpiresAt:   types.StringNull(),
		Blobs:          make([]manifestEphemeralBlobModel, len(base.Blobs)),
	}
	if exp, ok := graph.SASExpiry(m.SASToken); ok {
		out.SASExpiresAt = types.StringValue(exp)
	}
	for i, b := range base.Blobs {
		out.Blobs[i] = manifestEphemeralBlobModel{manifestBlobModel: b, URL: types.StringNull()}
		if name := m.Blobs[i].Name; name != "" {
			out.Blobs[i].URL = types.StringValue(m.BlobURL(name).Reveal())
		}
	}
	return out
}
