package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

var (
	_ resource.Resource                   = &exportResource{}
	_ resource.ResourceWithConfigure      = &exportResource{}
	_ resource.ResourceWithValidateConfig = &exportResource{}
)

// exportResources is one constructor per row of exportKinds.
func exportResources() []func() resource.Resource {
	return perKind(func(k exportKind) resource.Resource { return &exportResource{exportType{kind: k}} })
}

// exportResource starts one partner-billing export (one POST) and waits for
// it; its kind decides the type name, path and body.
type exportResource struct {
	exportType
}

// defaultCreateTimeout is how long create waits when timeouts.create is not set.
const defaultCreateTimeout = 30 * time.Minute

const (
	attrTriggers    = "triggers"
	attrTimeouts    = "timeouts"
	attrOperationID = "operation_id"
)

// exportComputed is the computed part of an export resource's state: the
// operation id and the operation data source's attributes. (The inputs vary
// by kind and are read and written one attribute at a time.)
type exportComputed struct {
	ID                 types.String `tfsdk:"id"`
	OperationID        types.String `tfsdk:"operation_id"`
	Status             types.String `tfsdk:"status"`
	CreatedDateTime    types.String `tfsdk:"created_date_time"`
	LastActionDateTime types.String `tfsdk:"last_action_date_time"`
	ErrorCode          types.String `tfsdk:"error_code"`
	ErrorMessage       types.String `tfsdk:"error_message"`
	ResourceLocation   types.String `tfsdk:"resource_location"`
	ManifestID         types.String `tfsdk:"manifest_id"`
}

// exportComputedFrom maps what is known of an export's operation (op is nil
// when no poll was answered) through the data source's operationModelFrom.
func exportComputedFrom(id string, op *graph.Operation) exportComputed {
	m := operationModelFrom(&graph.Operation{}, types.StringValue(id), types.StringNull())
	if op != nil {
		m = operationModelFrom(op, types.StringValue(id), types.StringNull())
	}
	return exportComputed{
		ID: m.ID, OperationID: m.ID, Status: m.Status, CreatedDateTime: m.CreatedDateTime,
		LastActionDateTime: m.LastActionDateTime, ErrorCode: m.ErrorCode, ErrorMessage: m.ErrorMessage,
		ResourceLocation: m.ResourceLocation, ManifestID: m.ManifestID,
	}
}

// set writes every computed attribute into st.
func (c exportComputed) set(ctx context.Context, st *tfsdk.State) diag.Diagnostics {
	var diags diag.Diagnostics
	for attr, v := range map[string]types.String{
		"id": c.ID, attrOperationID: c.OperationID, "status": c.Status, "created_date_time": c.CreatedDateTime,
		"last_action_date_time": c.LastActionDateTime, "error_code": c.ErrorCode, "error_message": c.ErrorMessage,
		"resource_location": c.ResourceLocation, "manifest_id": c.ManifestID,
	} {
		diags.Append(st.SetAttribute(ctx, path.Root(attr), v)...)
	}
	return diags
}

func (r *exportResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = r.typeName(req.ProviderTypeName)
}

func (r *exportResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	k := r.kind
	attrs := map[string]schema.Attribute{}
	for _, f := range k.fields {
		a := schema.StringAttribute{
			MarkdownDescription: f.description + " Changing it starts a new export.",
			Validators:          f.validators,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		}
		if f.def == "" {
			a.Required = true
		} else {
			a.Optional, a.Computed = true, true
			a.Default = stringdefault.StaticString(f.def)
		}
		attrs[f.attr] = a
	}
	attrs[attrTriggers] = schema.MapAttribute{
		ElementType: types.StringType,
		Optional:    true,
		MarkdownDescription: "Arbitrary strings; any change starts a new export (replaces the resource). " +
			"Use it to re-run an export on a schedule (`formatdate(\"YYYY-MM\", plantimestamp())` changes once a month; `timestamp()` would start a new export on every apply) or on a new commit.",
		PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
	}
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{
			Computed:            true,
			MarkdownDescription: desc,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		}
	}
	attrs["id"] = computed("The export's operation id: the last path segment of the `Location` header the service answered the POST with.")
	attrs[attrOperationID] = computed("The export's operation id (same as `id`); the `partnerbilling_operation` data source reads it.")
	if k.api == graph.Beta { // that data source reads /v1.0 only
		attrs[attrOperationID] = computed("The export's operation id (same as `id`), polled at Microsoft Graph beta " +
			"(`/beta/reports/partners/billing/operations/{id}`).")
	}
	attrs["status"] = computed("The operation status as last read: `succeeded` after a successful create, or " +
		"`failed`, `running`, `notStarted` (or a newer value, verbatim) on a tainted resource.")
	attrs["created_date_time"] = computed("When the operation was created, RFC 3339 (as in the `partnerbilling_operation` data source).")
	attrs["last_action_date_time"] = computed("When the operation last changed, RFC 3339.")
	attrs["error_code"] = computed("The service's error code (e.g. `\"5000\"`) of a failed export; null otherwise.")
	attrs["error_message"] = computed("The service's error message of a failed export (e.g. `No data available`); null otherwise.")
	attrs["resource_location"] = computed("The manifest URL as the service reported it; null unless the export succeeded. " +
		"The provider never calls it: use `manifest_id`.")
	attrs["manifest_id"] = computed("The id of the export's manifest; null unless the export succeeded.")

	resp.Schema = schema.Schema{
		MarkdownDescription: fmt.Sprintf("Starts a partner-billing %s export (`POST %s`) and waits until it finishes. "+
			"Create sends exactly one POST and polls the operation; refresh reads the operation once and never starts an export; "+
			"destroy sends nothing. A failed export fails the apply and leaves the resource tainted (with its operation id), "+
			"so the next apply starts a new one. Requires `PartnerBilling.Read.All`.%s", k.what, k.endpoint(), k.previewNote()),
		Attributes: attrs,
		Blocks: map[string]schema.Block{
			attrTimeouts: createTimeoutsBlock(ctx, timeouts.Opts{
				Create: true,
				CreateDescription: "How long create waits for the export to finish, as a Go duration (`\"45m\"`, `\"2h\"`); default `30m`. " +
					"Changing it changes nothing at Microsoft and starts no export.",
			}),
		},
	}
}

func (r *exportResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, kindResource, &resp.Diagnostics)
}

// ValidateConfig rejects a create timeout that is not positive (the
// timeouts module checks only that it parses).
func (r *exportResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	validateCreateTimeout(ctx, req.Config.GetAttribute, &resp.Diagnostics)
}

// validateCreateTimeout rejects a timeouts.create that is not a positive
// duration, through the config's GetAttribute, with the message every
// duration argument gives (the timeouts module's own check, which offers
// "-1.5h" as an example, is taken out by createTimeoutsBlock).
func validateCreateTimeout(ctx context.Context, get func(context.Context, path.Path, any) diag.Diagnostics, diags *diag.Diagnostics) {
	p := path.Root(attrTimeouts).AtName("create")
	var create types.String
	if d := get(ctx, p, &create); d.HasError() || create.IsNull() || create.IsUnknown() {
		return
	}
	if _, err := parsePositiveDuration(create.ValueString()); err != nil {
		diags.AddAttributeError(p, "Invalid Create Timeout", "timeouts.create: "+err.Error()+".")
	}
}

// Create sends the one POST, then waits. Once the 202 has arrived the
// operation id is never lost: whatever ends the wait, the state is returned
// with it, and an error makes Terraform record the resource as tainted.
func (r *exportResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if notConfigured(r.data, "this resource was used", &resp.Diagnostics) {
		return
	}
	body, diags := exportBody(ctx, req.Plan, r.kind)
	resp.Diagnostics.Append(diags...)
	var to timeouts.Value
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root(attrTimeouts), &to)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := to.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx = tflog.SetField(ctx, "export", r.kind.typeName)
	ctx, cancel := r.data.interruptible(ctx)
	defer cancel()

	run := exportRun{kind: r.kind, data: r.data, timeout: timeout, site: resourceSite}
	ctx, started := run.start(ctx, body, &resp.Diagnostics)
	if started == nil {
		return
	}
	op, err := run.wait(ctx, started)

	// The state first: from here on, nothing is lost.
	resp.State.Raw = req.Plan.Raw.Copy()
	resp.Diagnostics.Append(exportComputedFrom(started.OperationID, op).set(ctx, &resp.State)...)
	run.succeeded(ctx, started.OperationID, op, err, &resp.Diagnostics)
}

// Read is one GET of the operation: never a POST, never a wait. A 404
// keeps the recorded values: the service forgets old operations, and the
// export still happened.
func (r *exportResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if notConfigured(r.data, "this resource was used", &resp.Diagnostics) {
		return
	}
	var id types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("id"), &id)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx = tflog.SetField(ctx, "operation_id", id.ValueString())
	if !graph.ValidID(id.ValueString()) {
		// Not ours (a hand-edited state): never put it in a request path.
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid Operation ID In State",
			fmt.Sprintf("The state holds %q as the operation id of this export, which is not an id. Remove the resource from state "+
				"(terraform state rm) and apply again to start a new export.", id.ValueString()))
		return
	}
	ctx, cancel := r.data.interruptible(ctx)
	defer cancel()
	op, err := r.data.client.GetOperationIn(ctx, r.kind.api, id.ValueString())
	if errors.Is(err, graph.ErrNotFound) {
		tflog.Warn(ctx, "Microsoft Graph no longer lists this export's operation (HTTP 404); keeping the recorded values", map[string]any{
			"export": r.kind.typeName,
		})
		return
	}
	if err != nil {
		addGraphError(&resp.Diagnostics, withCause(ctx, err), "operation", id.ValueString(), "")
		return
	}
	resp.Diagnostics.Append(exportComputedFrom(id.ValueString(), op).set(ctx, &resp.State)...)
}

// Update can only be a change of timeouts (every other input forces a new
// export): it is recorded, and nothing is sent.
func (r *exportResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var to timeouts.Value
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root(attrTimeouts), &to)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.State.Raw = req.State.Raw.Copy()
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attrTimeouts), to)...)
}

// Delete sends nothing: Microsoft documents no way to delete an export or
// its operation. The resource leaves the state.
func (r *exportResource) Delete(ctx context.Context, _ resource.DeleteRequest, _ *resource.DeleteResponse) {
	tflog.Info(ctx, "removing the export from state; nothing is sent to Microsoft Graph (exports cannot be deleted)", map[string]any{
		"export": r.kind.typeName,
	})
}
