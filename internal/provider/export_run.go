package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// exportRun is one export started and waited for: by an export resource's
// Create or by an export action's Invoke, which differ only in where the
// inputs come from, where the outcome goes (state, progress messages) and
// what the diagnostics say about the operation id (site).
type exportRun struct {
	kind    exportKind
	data    *providerData
	timeout time.Duration // bounds the POST and the wait together
	site    exportSite
}

// attributeGetter is a plan or a configuration.
type attributeGetter interface {
	GetAttribute(ctx context.Context, p path.Path, target any) diag.Diagnostics
}

// exportBody reads the POST body of k from src: one string per field, a
// null optional field being its default (a resource's plan has it already;
// an action's configuration, whose schema has no defaults, does not).
func exportBody(ctx context.Context, src attributeGetter, k exportKind) (map[string]string, diag.Diagnostics) {
	var diags diag.Diagnostics
	body := map[string]string{}
	for _, f := range k.fields {
		var v types.String
		diags.Append(src.GetAttribute(ctx, path.Root(f.attr), &v)...)
		body[f.json] = v.ValueString()
		if v.IsNull() {
			body[f.json] = f.def
		}
	}
	return body, diags
}

// start sends the one POST that starts the export (graph.StartExport never
// sends a second one when the first may have reached the service). A
// failure is reported in diags, and start returns nil. ctx comes back with
// the operation id as a log field.
func (r exportRun) start(ctx context.Context, body map[string]string, diags *diag.Diagnostics) (context.Context, *graph.StartedExport) {
	started, err := r.data.client.StartExport(ctx, graph.ExportRequest{API: r.kind.api, Path: r.kind.path, Body: body}, r.timeout)
	if err != nil {
		addExportStartError(diags, withCause(ctx, err), r.kind)
		return ctx, nil
	}
	ctx = tflog.SetField(ctx, "operation_id", started.OperationID)
	tflog.Info(ctx, "export started; waiting for it to finish", map[string]any{
		"timeout": r.timeout.String(), "first_poll_after": started.RetryAfter.String(),
	})
	return ctx, started
}

// wait polls the started export's operation until it finishes, within what
// the POST left of the timeout. op is what was last read (nil if nothing).
func (r exportRun) wait(ctx context.Context, started *graph.StartedExport, opts ...graph.WaitOption) (*graph.Operation, error) {
	opts = append([]graph.WaitOption{graph.FirstPollAfter(started.RetryAfter), graph.In(r.kind.api)}, opts...)
	return r.data.client.WaitOperation(ctx, started.OperationID, r.timeout-started.Elapsed, opts...)
}

// succeeded reports a wait that did not end in a succeeded export (it
// failed, timed out, was interrupted) in diags, naming the operation id.
func (r exportRun) succeeded(ctx context.Context, id string, op *graph.Operation, err error, diags *diag.Diagnostics) bool {
	switch {
	case err != nil:
		addExportWaitError(diags, withCause(ctx, err), r.kind, id, r.timeout, r.site)
		return false
	case op.State() == graph.StateFailed:
		addExportFailed(diags, r.kind, id, op, r.site)
		return false
	}
	tflog.Info(ctx, "export succeeded", map[string]any{"manifest_id": op.ManifestID})
	return true
}
