package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

var (
	_ action.Action              = &exportAction{}
	_ action.ActionWithConfigure = &exportAction{}
)

// exportActions is one constructor per row of exportKinds: each kind is a
// resource and an action of the same type name.
func exportActions() []func() action.Action {
	return perKind(func(k exportKind) action.Action { return &exportAction{exportType{kind: k}} })
}

// exportAction starts one export (one POST), waits for it and reports its
// progress to the CLI (Terraform >= 1.14: `terraform apply -invoke`, or an
// action_trigger). It writes no state.
type exportAction struct {
	exportType
}

const attrTimeout = "timeout"

func (a *exportAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = a.typeName(req.ProviderTypeName)
}

func (a *exportAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	k := a.kind
	attrs := map[string]schema.Attribute{}
	for _, f := range k.fields {
		// Action schemas have no defaults: Invoke applies f.def (exportBody),
		// which f.description names.
		attrs[f.attr] = schema.StringAttribute{Required: f.def == "", Optional: f.def != "", MarkdownDescription: f.description, Validators: f.validators}
	}
	attrs[attrTimeout] = schema.StringAttribute{
		Optional: true,
		MarkdownDescription: "How long the action waits for the export to finish (the POST included), as a Go duration (`\"45m\"`, `\"2h\"`); " +
			"default `30m`. When it passes, the invocation fails naming the operation id; the export goes on at Microsoft.",
		Validators: []validator.String{timeoutValidator},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: fmt.Sprintf("Starts a partner-billing %s export (`POST /reports/partners/billing/%s`), waits until it finishes "+
			"and reports its progress: the operation id, the status of each poll and the manifest id. It sends exactly one POST per invocation "+
			"and writes no state; a failed export, a timeout or Ctrl-C fails the invocation, naming the operation id. "+
			"Needs Terraform 1.14 or later (`terraform apply -invoke=action.partnerbilling_%s.<name>`, or an `action_trigger`). "+
			"Requires `PartnerBilling.Read.All`.", k.what, k.path, k.typeName),
		Attributes: attrs,
	}
}

func (a *exportAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.configure(req.ProviderData, kindAction, &resp.Diagnostics)
}

// Invoke sends the one POST, waits, and reports each step as progress; a
// failed, timed-out or interrupted export fails the invocation with a
// diagnostic that names the operation id. Once the export has succeeded,
// finish does the rest.
func (a *exportAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	if notConfigured(a.data, "this action was invoked", &resp.Diagnostics) {
		return
	}
	body, diags := exportBody(ctx, req.Config, a.kind)
	resp.Diagnostics.Append(diags...)
	var to types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(attrTimeout), &to)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout := defaultCreateTimeout
	if !to.IsNull() {
		d, err := parseActionTimeout(to.ValueString())
		if err != nil { // validated already; never wait on a bad value
			resp.Diagnostics.AddAttributeError(path.Root(attrTimeout), timeoutValidator.summary, capitalize(err.Error())+".")
			return
		}
		timeout = d
	}
	progress := func(msg string) {
		if resp.SendProgress != nil {
			resp.SendProgress(action.InvokeProgressEvent{Message: safetext.Strip(msg)})
		}
	}
	ctx = tflog.SetField(ctx, "export", a.kind.typeName)
	ctx, cancel := a.data.interruptible(ctx)
	defer cancel()

	run := exportRun{kind: a.kind, data: a.data, timeout: timeout, site: actionSite}
	ctx, started := run.start(ctx, body, &resp.Diagnostics)
	if started == nil {
		return
	}
	id := started.OperationID
	progress(fmt.Sprintf("Started the %s export: operation %s (waiting up to %s).", a.kind.what, id, timeout))
	polls := 0
	op, err := run.wait(ctx, started, graph.OnPoll(func(op *graph.Operation) {
		polls++
		progress(fmt.Sprintf("Operation %s: %s (poll %d).", id, orNone(safetext.Field(op.Status)), polls))
	}))
	if !run.succeeded(ctx, id, op, err, &resp.Diagnostics) {
		return
	}
	a.finish(ctx, req.Config, op.ManifestID, progress, &resp.Diagnostics)
}

// finish runs once the export has succeeded, with the action's
// configuration: it reports the manifest id. An argument that acts on the
// manifest (such as downloading its files) is read from config and done
// here, reporting each step through progress.
func (a *exportAction) finish(_ context.Context, _ tfsdk.Config, manifestID string, progress func(string), _ *diag.Diagnostics) {
	progress(fmt.Sprintf("Export succeeded: manifest %s.", orNone(safetext.Field(manifestID))))
}
