package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

var (
	_ datasource.DataSource              = &operationDataSource{}
	_ datasource.DataSourceWithConfigure = &operationDataSource{}
)

// NewOperationDataSource is the partnerbilling_operation data source.
func NewOperationDataSource() datasource.DataSource {
	return &operationDataSource{}
}

type operationDataSource struct {
	data *providerData
}

// operationSchema is the data source's schema and its Terraform type,
// computed once (the framework's Read and fastServer share it).
var operationSchema = sync.OnceValues(func() (datasource.SchemaResponse, tftypes.Type) {
	ctx := context.Background()
	var resp datasource.SchemaResponse
	NewOperationDataSource().Schema(ctx, datasource.SchemaRequest{}, &resp)
	return resp, resp.Schema.Type().TerraformType(ctx)
})

// operationModel's timestamps are plain strings, not timetypes.RFC3339: its
// semantic equality compares whole seconds, so a resource refresh would keep
// the old text when the service's differs only in fraction digits or in
// "+00:00" for "Z" (TestExportRefreshKeepsTheServicesTimestampText).
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

// attributes are the model's values by attribute name (see raw_values.go).
func (m operationModel) attributes() map[string]attr.Value {
	return map[string]attr.Value{
		"id": m.ID, "wait_timeout": m.WaitTimeout, "status": m.Status,
		"created_date_time": m.CreatedDateTime, "last_action_date_time": m.LastActionDateTime,
		"error_code": m.ErrorCode, "error_message": m.ErrorMessage,
		"resource_location": m.ResourceLocation, "manifest_id": m.ManifestID,
	}
}

func (d *operationDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_operation"
}

func (d *operationDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a partner-billing export operation (`GET /reports/partners/billing/operations/{id}`) and, " +
			"with `wait_timeout`, waits until it finishes. A failed operation is data, not an error: test `manifest_id != null` " +
			"in a `postcondition` to stop the run. Requires `PartnerBilling.Read.All`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The operation id (a GUID in practice): letters, digits and `-` only, at most 128 characters, so it can never change the request path.",
				Validators:          []validator.String{operationIDValidator},
			},
			"wait_timeout": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "How long to wait for the operation to finish, as a Go duration (`\"90s\"`, `\"30m\"`, `\"1h\"`). " +
					"Null or `\"0s\"` reads once, within a budget of 5 minutes in all. Any positive value makes at least one request. While waiting, polls honour the service's `Retry-After` (otherwise back off from about 2 s to 30 s), " +
					"and a not-yet-visible operation (404) is retried. If the operation has not finished by then, the read fails with its last status.",
				Validators: []validator.String{waitTimeoutValidator},
			},
			"status": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The operation status as the service sent it: `notStarted`, `running`, `succeeded`, `failed`, " +
					"or a newer value verbatim.",
			},
			"created_date_time": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the operation was created, RFC 3339. A timestamp without offset is UTC and gets `Z`; fraction digits are kept as sent.",
			},
			"last_action_date_time": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the operation last changed, RFC 3339 (same rules as `created_date_time`).",
			},
			"error_code": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The service's error code (e.g. `\"5000\"`); null unless the operation failed.",
			},
			"error_message": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The service's error message (e.g. `No data available`); null unless the operation failed.",
			},
			"resource_location": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The manifest URL as the service reported it; null unless the operation succeeded. " +
					"The provider never calls this URL: use `manifest_id`.",
			},
			"manifest_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The id of the export's manifest; null unless the operation succeeded.",
			},
		},
	}
}

func (d *operationDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if data, ok := providerDataFrom(req.ProviderData, kindDataSource, &resp.Diagnostics); ok {
		d.data = data
	}
}

func (d *operationDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	_, typ := operationSchema()
	raw, diags := readOperation(ctx, d.data, req.Config.Raw, typ)
	resp.Diagnostics.Append(diags...)
	if !diags.HasError() {
		resp.State.Raw = raw
	}
}

// readOperation is the data source's read, from its configuration to its
// state, for the framework's Read and for fastServer alike.
func readOperation(ctx context.Context, data *providerData, config tftypes.Value, typ tftypes.Type) (tftypes.Value, diag.Diagnostics) {
	var diags diag.Diagnostics
	vals, err := rawStrings(config, "id", "wait_timeout")
	if err != nil {
		diags.AddError("Unreadable Configuration",
			"The provider could not read the data source's configuration: "+err.Error()+". Please report this issue to the provider developers.")
		return tftypes.Value{}, diags
	}
	cfg := operationModel{ID: vals[0], WaitTimeout: vals[1]}
	if notConfigured(data, "this data source was read", &diags) {
		return tftypes.Value{}, diags
	}
	id := cfg.ID.ValueString()
	var timeout time.Duration
	if !cfg.WaitTimeout.IsNull() {
		timeout, err = parseWaitTimeout(cfg.WaitTimeout.ValueString())
	}
	if err != nil {
		diags.AddAttributeError(path.Root("wait_timeout"), "Invalid Wait Timeout", err.Error())
		return tftypes.Value{}, diags
	}
	if data.debugLines {
		ctx = tflog.SetField(ctx, "operation_id", id)
	}
	ctx, cancel := data.interruptible(ctx)
	defer cancel()

	var op *graph.Operation
	if timeout > 0 {
		tflog.Debug(ctx, "waiting for operation", map[string]any{"timeout": timeout.String()})
		op, err = data.client.WaitOperation(ctx, id, timeout)
	} else {
		op, err = data.client.GetOperation(ctx, id)
	}
	if err != nil {
		addGraphError(&diags, withCause(ctx, err), "operation", id, cfg.WaitTimeout.ValueString())
		return tftypes.Value{}, diags
	}
	state := operationModelFrom(op, cfg.ID, cfg.WaitTimeout)
	if data.debugLines {
		tflog.Debug(ctx, "read operation", map[string]any{"status": op.Status, "state": op.State().String()})
	}
	raw, err := rawObject(ctx, typ, state.attributes())
	if err != nil {
		diags.AddError("Unwritable State",
			"The provider could not build the data source's state: "+err.Error()+". Please report this issue to the provider developers.")
		return tftypes.Value{}, diags
	}
	return raw, diags
}

// operationModelFrom maps an operation to the data source's state. The
// error attributes are set only for a failed operation, the manifest ones
// only for a succeeded one; absent values are null.
func operationModelFrom(op *graph.Operation, id, waitTimeout types.String) operationModel {
	m := operationModel{
		ID:                 id,
		WaitTimeout:        waitTimeout,
		Status:             optionalString(op.Status),
		CreatedDateTime:    optionalString(op.CreatedDateTime),
		LastActionDateTime: optionalString(op.LastActionDateTime),
		ErrorCode:          types.StringNull(),
		ErrorMessage:       types.StringNull(),
		ResourceLocation:   types.StringNull(),
		ManifestID:         types.StringNull(),
	}
	switch op.State() {
	case graph.StateFailed:
		if op.Error != nil {
			m.ErrorCode = optionalString(op.Error.Code)
			m.ErrorMessage = optionalString(op.Error.Message)
		}
	case graph.StateSucceeded:
		m.ResourceLocation = optionalString(op.ResourceLocation)
		m.ManifestID = optionalString(op.ManifestID)
	}
	return m
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// parseWaitTimeout reads wait_timeout: zero means "read once".
func parseWaitTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New(`"" is not a duration: leave wait_timeout out (or use "0s") to read once, or give a duration such as ` + durationExamples)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, notADuration(s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative: use \"0s\" (or leave wait_timeout out) to read once, or a positive duration such as %s to wait", s, durationExamples)
	}
	return d, nil
}
