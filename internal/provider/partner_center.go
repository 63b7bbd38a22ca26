package provider

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/auth"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/partnercenter"
)

// WithPartnerCenterOptions adds options to the Partner Center client (tests:
// a small page size).
func WithPartnerCenterOptions(opts ...partnercenter.Option) Option {
	return func(p *partnerBillingProvider) { p.pcOptions = append(p.pcOptions, opts...) }
}

// partnerCenterClient builds the Partner Center client: the credential's
// Partner Center scope (its token is requested on first use only, and goes
// only to endpoint), and the Graph client's retry policy, so that
// max_retries and a test's clock govern both.
func (p *partnerBillingProvider) partnerCenterClient(cred *auth.Credential, retry httpx.RetryPolicy, endpoint, userAgent string) (*partnercenter.Client, error) {
	opts := []partnercenter.Option{
		partnercenter.WithEndpoint(endpoint),
		partnercenter.WithRetryPolicy(retry),
		partnercenter.WithUserAgent(userAgent),
	}
	if !p.noDebugLines {
		opts = append(opts, partnercenter.WithLogger(func(ctx context.Context, msg string, fields map[string]any) { tflog.Debug(ctx, msg, fields) }))
	}
	if p.httpClient != nil {
		opts = append(opts, partnercenter.WithHTTPClient(p.httpClient))
	}
	return partnercenter.New(cred.Scope(auth.PartnerCenterScope), append(opts, p.pcOptions...)...)
}

// addPartnerCenterError turns a Partner Center client error into one
// diagnostic, through the one sanitiser (cleanDiagnostics). tenantID names
// the partner tenant in the App management hint ("" when not configured).
func addPartnerCenterError(diags *diag.Diagnostics, err error, tenantID string) {
	var out diag.Diagnostics
	partnerCenterDiagnostic(&out, err, tenantID)
	diags.Append(cleanDiagnostics(out)...)
}

func partnerCenterDiagnostic(diags *diag.Diagnostics, err error, tenantID string) {
	var (
		de *partnercenter.DecodeError
		ue *auth.UnreachableError
	)
	msg := capitalize(err.Error())
	switch {
	case errors.Is(err, context.Canceled):
		diags.AddError("Read Cancelled", "Listing the invoices was cancelled before it finished.\n\n"+msg)
	case errors.As(err, &ue):
		// SPEC §2: a network problem, never a sign of wrong credentials.
		diags.AddError("Cannot Reach Microsoft Entra ID", unreachableDetail(ue.Host)+"\n\n"+msg)
	case errors.Is(err, partnercenter.ErrForbidden):
		tenant := "the partner tenant"
		if tenantID != "" {
			tenant = "the partner tenant " + tenantID
		}
		diags.AddError("Access Denied By Partner Center",
			"Partner Center refused the request. For app-only access the application must be registered in Partner Center: "+
				"sign in to Partner Center for "+tenant+", open Account settings → App management, and add the app registration (its client id) there. "+
				"The Microsoft Graph permission PartnerBilling.Read.All does not grant access to Partner Center.\n\n"+msg)
	case errors.Is(err, partnercenter.ErrAuthentication):
		diags.AddError("Authentication Failed",
			"No access token could be acquired for Partner Center (scope "+auth.PartnerCenterScope+"). The message below names the authentication method in use: "+
				"check the settings of that method.\n\n"+msg)
	case errors.Is(err, partnercenter.ErrUnauthorized):
		diags.AddError("Authentication Failed",
			"Partner Center rejected the access token, also after a fresh one was acquired. Check that the app is registered in Partner Center "+
				"(Account settings → App management) and that the token is issued in the partner tenant.\n\n"+msg)
	case errors.Is(err, partnercenter.ErrListing):
		diags.AddError("Incomplete Invoice Listing",
			"Partner Center's invoice listing could not be read to its end, so no list is returned: a partial list would look like missing invoices.\n\n"+msg)
	case errors.As(err, &de):
		diags.AddError("Unexpected Response From Partner Center",
			"Partner Center (or a proxy in between) answered with a body that is not the expected JSON. "+
				"If this persists, report the MS-RequestId and MS-CorrelationId to Microsoft support.\n\n"+msg)
	case errors.Is(err, partnercenter.ErrDeadline), errors.Is(err, context.DeadlineExceeded):
		diags.AddError("Partner Center Did Not Answer In Time",
			"The invoice listing could not complete in time: Partner Center is throttling or failing. A read gives up after 5 minutes in all, "+
				"and at once when the service asks to wait longer than that. Try again later.\n\n"+msg)
	default:
		diags.AddError("Partner Center Request Failed", "Listing the invoices failed.\n\n"+msg)
	}
}
