package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/auth"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// addGraphError turns a Graph client error into one diagnostic, attached to
// the attribute the user can fix where there is one. kind is "operation" or
// "manifest"; waitTimeout is the configured value ("" when not waiting).
//
// Every diagnostic that carries text from a server is made here, so that
// it passes through one sanitiser (cleanDiagnostics): the error types cut
// each server-provided field at 1,000 runes when they render, and nothing
// with a control character reaches the terminal.
func addGraphError(diags *diag.Diagnostics, err error, kind, id, waitTimeout string) {
	addGraphErrorAt(diags, err, kind, id, waitTimeout, path.Root("id"))
}

// addGraphErrorAt is addGraphError for a type whose id argument is not
// called id (partnerbilling_manifest_files' manifest_id): idPath is where a
// not-found error points.
func addGraphErrorAt(diags *diag.Diagnostics, err error, kind, id, waitTimeout string, idPath path.Path) {
	var out diag.Diagnostics
	graphDiagnostic(&out, err, kind, id, waitTimeout, idPath)
	diags.Append(cleanDiagnostics(out)...)
}

// cleanDiagnostics strips control characters (C0 but newline and tab, DEL,
// C1) from the summary and detail of each diagnostic: a server must not be
// able to clear the screen, recolour it or retitle the window.
func cleanDiagnostics(in diag.Diagnostics) diag.Diagnostics {
	out := make(diag.Diagnostics, 0, len(in))
	for _, d := range in {
		summary, detail := safetext.Strip(d.Summary()), safetext.Strip(d.Detail())
		var p path.Path
		if wp, ok := d.(diag.DiagnosticWithPath); ok {
			p = wp.Path()
		}
		switch {
		case d.Severity() == diag.SeverityWarning && !p.Equal(path.Empty()):
			out.AddAttributeWarning(p, summary, detail)
		case d.Severity() == diag.SeverityWarning:
			out.AddWarning(summary, detail)
		case !p.Equal(path.Empty()):
			out.AddAttributeError(p, summary, detail)
		default:
			out.AddError(summary, detail)
		}
	}
	return out
}

func graphDiagnostic(diags *diag.Diagnostics, err error, kind, id, waitTimeout string, idPath path.Path) {
	var (
		wte *graph.WaitTimeoutError
		de  *graph.DecodeError
		ue  *auth.UnreachableError
	)
	switch {
	case errors.As(err, &wte) && wte.NeverFound:
		// SPEC §3: a wrong id or tenant; a longer wait would not help.
		diags.AddAttributeError(idPath, capitalize(kind)+" Not Found",
			fmt.Sprintf("Microsoft Graph never found the partner-billing %s %q: every poll during the %s wait answered 404 Not Found. "+
				"Check the id (copy it from the export's operation_id or the Location header) and that the provider signs in to the partner "+
				"tenant that started the export (tenant_id). A new export is listed within seconds, so waiting longer would not help.\n\n%s",
				kind, id, waitTimeout, capitalize(err.Error())))
	case errors.As(err, &wte):
		diags.AddAttributeError(path.Root("wait_timeout"), capitalize(kind)+" Did Not Finish In Time",
			fmt.Sprintf("The %s %s did not finish within wait_timeout (%s); its last status was %q.\n\n"+
				"Raise wait_timeout if exports of this size take longer, or read it again later.\n\n%s",
				kind, id, waitTimeout, orNone(wte.LastStatus), capitalize(err.Error())))
	case errors.Is(err, context.Canceled):
		diags.AddError("Read Cancelled", fmt.Sprintf("Reading %s %s was cancelled before it finished.\n\n%s", kind, id, capitalize(err.Error())))
	case errors.Is(err, graph.ErrNotFound):
		hint := "if the export was started moments ago, set wait_timeout so that the read waits until the " + kind + " is listed"
		if kind == "manifest" {
			hint = "use the manifest_id of a succeeded export, and start a new export if that one is old (the service forgets old exports)"
		}
		diags.AddAttributeError(idPath, capitalize(kind)+" Not Found",
			fmt.Sprintf("Microsoft Graph has no partner-billing %s with id %q in this tenant. Check the id and the tenant; %s.\n\n%s",
				kind, id, hint, capitalize(err.Error())))
	case errors.Is(err, graph.ErrForbidden):
		diags.AddError("Access Denied By Microsoft Graph",
			"Microsoft Graph refused the request. The app registration needs the PartnerBilling.Read.All permission "+
				"(application permission with admin consent, or delegated work/school) in the partner (CSP) tenant.\n\n"+capitalize(err.Error()))
	case errors.As(err, &ue):
		diags.AddError("Cannot Reach Microsoft Entra ID", unreachableDetail(ue.Host)+"\n\n"+capitalize(err.Error()))
	case errors.Is(err, graph.ErrAuthentication):
		diags.AddError("Authentication Failed",
			"No access token could be acquired for Microsoft Graph. The message below names the authentication method in use: "+
				"check the settings of that method (for an app registration: tenant_id, client_id and the credential).\n\n"+capitalize(err.Error()))
	case errors.Is(err, graph.ErrUnauthorized):
		diags.AddError("Authentication Failed",
			"Microsoft Graph rejected the access token, also after a fresh one was acquired. Check that the token is issued "+
				"for Microsoft Graph in the partner tenant.\n\n"+capitalize(err.Error()))
	case errors.As(err, &de):
		diags.AddError("Unexpected Response From Microsoft Graph",
			"Microsoft Graph (or a proxy in between) answered with a body that is not the expected JSON. "+
				"If this persists, report the request-id to Microsoft support.\n\n"+capitalize(err.Error()))
	case errors.Is(err, graph.ErrDeadline), errors.Is(err, context.DeadlineExceeded):
		diags.AddError("Microsoft Graph Did Not Answer In Time",
			"The request could not complete in time: Microsoft Graph is throttling or failing. A read without wait_timeout gives up "+
				"after 5 minutes in all, and at once when the service asks to wait longer than that. Try again later, or set wait_timeout to wait longer.\n\n"+
				capitalize(err.Error()))
	default:
		diags.AddError("Microsoft Graph Request Failed", fmt.Sprintf("Reading %s %s failed.\n\n%s", kind, id, capitalize(err.Error())))
	}
}

// unreachableDetail explains a login host that could not be reached: a
// network matter, never a sign of wrong credentials (SPEC §2).
func unreachableDetail(host string) string {
	return fmt.Sprintf("No access token could be requested: the Microsoft Entra ID sign-in host %s could not be reached "+
		"(its name did not resolve, it refused the connection, TLS failed, or it did not answer in time). "+
		"This is a network problem, not a sign of wrong credentials.\n\n"+
		"Check that this machine can reach https://%s: a firewall or network security rule that allows it, "+
		"the HTTPS_PROXY and NO_PROXY environment variables when outbound traffic must go through a proxy, "+
		"and %s, which must name your cloud's login host (default %s).",
		host, host, argWithEnv(auth.ArgAuthorityHost), auth.DefaultAuthorityHost)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// withCause names why ctx was cancelled (an interrupt) in err.
func withCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && errors.Is(err, context.Canceled) && !errors.Is(err, cause) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}
