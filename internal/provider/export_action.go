package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
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

const (
	attrTimeout           = "timeout"
	attrDownloadDirectory = "download_directory"
	attrDecompress        = "decompress"
)

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
			"default `30m`. When it passes, the invocation fails naming the operation id; the export goes on at Microsoft. " +
			"With `download_directory`, the download then has the same time again.",
		Validators: []validator.String{timeoutValidator},
	}
	attrs[attrDownloadDirectory] = schema.StringAttribute{
		Optional: true,
		MarkdownDescription: "When set, the action downloads the export's files into this directory once it has succeeded, exactly as " +
			"`partnerbilling_manifest_files` does (the same code: verified, temporary files renamed into place, hostile names refused, " +
			"the SAS token never a value), and reports each file with its rows. Nothing is recorded: the files are not managed by Terraform.",
		Validators: []validator.String{namedString("Invalid Download Directory", stringvalidator.LengthAtLeast(1))},
	}
	attrs[attrDecompress] = schema.BoolAttribute{
		Optional:            true,
		MarkdownDescription: "With `download_directory`: `true` writes JSON Lines without the `.gz`; `false` (default) keeps each blob as served.",
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: fmt.Sprintf("Starts a partner-billing %s export (`POST %s`), waits until it finishes "+
			"and reports its progress: the operation id, the status of each poll and the manifest id. It sends exactly one POST per invocation "+
			"and writes no state; a failed export, a timeout or Ctrl-C fails the invocation, naming the operation id. "+
			"Needs Terraform 1.14 or later (`terraform apply -invoke=action.partnerbilling_%s.<name>`, or an `action_trigger`). "+
			"Requires `PartnerBilling.Read.All`.%s", k.what, k.endpoint(), k.typeName, k.previewNote()),
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
	a.finish(ctx, req.Config, op.ManifestID, timeout, progress, &resp.Diagnostics)
}

// finish runs once the export has succeeded: with download_directory it
// downloads the files through downloadManifest (partnerbilling_manifest_files'
// code), reporting each file, then it reports the manifest id.
func (a *exportAction) finish(ctx context.Context, cfg tfsdk.Config, manifestID string, timeout time.Duration, progress func(string), diags *diag.Diagnostics) {
	var dir types.String
	var decompress types.Bool
	diags.Append(cfg.GetAttribute(ctx, path.Root(attrDownloadDirectory), &dir)...)
	diags.Append(cfg.GetAttribute(ctx, path.Root(attrDecompress), &decompress)...)
	if diags.HasError() {
		return
	}
	if dir.IsNull() || dir.IsUnknown() {
		progress(fmt.Sprintf("Export succeeded: manifest %s.", orNone(safetext.Field(manifestID))))
		return
	}
	progress(fmt.Sprintf("Export succeeded; downloading manifest %s into %s.", orNone(safetext.Field(manifestID)), dir.ValueString()))
	// The wait's deadline was its own (WaitOperation's): the download gets
	// timeout too, so that "Download Did Not Finish In Time" is true.
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := a.data.downloadManifest(ctx, downloadRequest{
		manifestID: manifestID, directory: dir.ValueString(), decompress: decompress.ValueBool(), concurrency: download.DefaultConcurrency,
		onFile: func(f download.File) {
			progress(fmt.Sprintf("Downloaded %s: %d rows, %d bytes.", f.Path, f.Rows, f.Size))
		},
		manifestAttr: path.Root(attrDownloadDirectory), directoryAttr: path.Root(attrDownloadDirectory),
		timeoutAttr: path.Root(attrTimeout), timeout: timeout,
	}, diags)
	if res == nil {
		return
	}
	progress(fmt.Sprintf("Export succeeded: manifest %s, %d files, %d rows in %s.",
		orNone(safetext.Field(manifestID)), len(res.Files), res.TotalRows, dir.ValueString()))
}
