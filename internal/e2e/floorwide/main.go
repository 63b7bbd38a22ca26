// Command floorwide is ../shared/bench-floor with partnerbilling_operation's
// schema shape: a framework provider whose one data source,
// floorwide_operation, has the same nine string attributes (id required,
// wait_timeout optional, seven computed) and answers a succeeded operation
// at once, with no network. `make bench` times it beside ours and the
// two-attribute floor: the difference between the two floors is what
// Terraform core and the framework cost for the schema alone, the
// difference between it and ours is what our reads cost (HTTP, JSON).
package main

import (
	"context"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type floorProvider struct{}

func (floorProvider) Metadata(_ context.Context, _ provider.MetadataRequest, r *provider.MetadataResponse) {
	r.TypeName = "floorwide"
}

func (floorProvider) Schema(_ context.Context, _ provider.SchemaRequest, r *provider.SchemaResponse) {
	r.Schema = pschema.Schema{}
}

func (floorProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (floorProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{func() datasource.DataSource { return operation{} }}
}

func (floorProvider) Resources(context.Context) []func() resource.Resource { return nil }

type operation struct{}

type operationModel struct {
	ID                 types.String `tfsdk:"id"`
	WaitTimeout        types.String `tfsdk:"wait_timeout"`
	Status             types.String `tfsdk:"status"`
	CreatedDateTime    types.String `tfsdk:"created_date_time"`
	LastActionDateTime types.String `tfsdk:"last_action_date_time"`
	ErrorCode          types.String `tfsdk:"error_code"`
	ErrorMessage       types.String `tfsdk:"error_message"`
	ResourceLocation   types.String `tfsdk:"resource_location"`
	ManifestID         types.String `tfsdk:"manifest_id"`
}

func (operation) Metadata(_ context.Context, _ datasource.MetadataRequest, r *datasource.MetadataResponse) {
	r.TypeName = "floorwide_operation"
}

func (operation) Schema(_ context.Context, _ datasource.SchemaRequest, r *datasource.SchemaResponse) {
	computed := schema.StringAttribute{Computed: true}
	r.Schema = schema.Schema{Attributes: map[string]schema.Attribute{
		"id":                    schema.StringAttribute{Required: true},
		"wait_timeout":          schema.StringAttribute{Optional: true},
		"status":                computed,
		"created_date_time":     computed,
		"last_action_date_time": computed,
		"error_code":            computed,
		"error_message":         computed,
		"resource_location":     computed,
		"manifest_id":           computed,
	}}
}

func (operation) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m operationModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	m.Status = types.StringValue("succeeded")
	m.CreatedDateTime = types.StringValue("2022-06-14T12:00:00.1234567Z")
	m.LastActionDateTime = types.StringValue("2022-06-14T12:05:00.1234567Z")
	m.ErrorCode, m.ErrorMessage = types.StringNull(), types.StringNull()
	m.ResourceLocation = types.StringValue("https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/8fe347d7-1e0f-4bd6-9091-4672691f32db")
	m.ManifestID = types.StringValue("8fe347d7-1e0f-4bd6-9091-4672691f32db")
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func main() {
	err := providerserver.Serve(context.Background(), func() provider.Provider { return floorProvider{} },
		providerserver.ServeOpts{Address: "registry.terraform.io/floorwide/floorwide"})
	if err != nil {
		log.Fatal(err)
	}
}
