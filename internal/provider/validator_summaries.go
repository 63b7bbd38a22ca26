package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// namedString runs library validators and gives their errors a summary of our own, one that
// names the argument ("Invalid Invoice ID" rather than the library's "Invalid Attribute Value
// Match"): the summary is what a user searches the docs' error tables for. The library's detail
// (the rule and the value given) is kept as it is.
func namedString(summary string, inner ...validator.String) validator.String {
	return namedStringValidator{summary: summary, inner: inner}
}

type namedStringValidator struct {
	summary string
	inner   []validator.String
}

func (v namedStringValidator) Description(ctx context.Context) string {
	return joinDescriptions(ctx, v.inner)
}

func (v namedStringValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v namedStringValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	for _, in := range v.inner {
		var r validator.StringResponse
		in.ValidateString(ctx, req, &r)
		resp.Diagnostics.Append(renamed(r.Diagnostics, v.summary)...)
	}
}

// namedInt64 is namedString for number arguments.
func namedInt64(summary string, inner ...validator.Int64) validator.Int64 {
	return namedInt64Validator{summary: summary, inner: inner}
}

type namedInt64Validator struct {
	summary string
	inner   []validator.Int64
}

func (v namedInt64Validator) Description(ctx context.Context) string {
	return joinDescriptions(ctx, v.inner)
}

func (v namedInt64Validator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v namedInt64Validator) ValidateInt64(ctx context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	for _, in := range v.inner {
		var r validator.Int64Response
		in.ValidateInt64(ctx, req, &r)
		resp.Diagnostics.Append(renamed(r.Diagnostics, v.summary)...)
	}
}

func joinDescriptions[V interface{ Description(context.Context) string }](ctx context.Context, vs []V) string {
	out := ""
	for i, v := range vs {
		if i > 0 {
			out += "; "
		}
		out += v.Description(ctx)
	}
	return out
}

// renamed gives every error of in the summary, keeping its path and detail; warnings pass as
// they are.
func renamed(in diag.Diagnostics, summary string) diag.Diagnostics {
	out := make(diag.Diagnostics, 0, len(in))
	for _, d := range in {
		if d.Severity() != diag.SeverityError {
			out = append(out, d)
			continue
		}
		if wp, ok := d.(diag.DiagnosticWithPath); ok {
			out.AddAttributeError(wp.Path(), summary, d.Detail())
			continue
		}
		out.AddError(summary, d.Detail())
	}
	return out
}
