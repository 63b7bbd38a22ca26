package provider

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// exportKind is one export resource and action: SPEC §4.1 is this table.
// The kinds differ only in type name, API version, POST path and body fields
// (with their validators); everything else is exportResource and
// exportAction. A new kind is one new row.
type exportKind struct {
	typeName string        // after "partnerbilling_"
	what     string        // for descriptions and messages: "billed usage"
	api      graph.API     // "" (v1.0) or graph.Beta: a Microsoft preview, POSTed and polled at /beta
	path     string        // POST path under /{api}/reports/partners/billing/
	fields   []exportField // the body, in the order the docs list them
}

// endpoint is the kind's POST path as the docs show it.
func (k exportKind) endpoint() string {
	if k.api == graph.Beta {
		return "/beta/reports/partners/billing/" + k.path
	}
	return "/reports/partners/billing/" + k.path
}

// previewNote is what a preview kind's descriptions say about it ("" for
// the others).
func (k exportKind) previewNote() string {
	if k.api != graph.Beta {
		return ""
	}
	return " **Preview:** this is a Microsoft preview API (Graph beta): Microsoft may change or withdraw it, " +
		"and this resource and action follow it as it changes."
}

// exportField is one input of an export: a Terraform argument that becomes
// one string field of the POST body and forces a new export when changed.
type exportField struct {
	attr        string // Terraform argument, e.g. "invoice_id"
	json        string // body field, e.g. "invoiceId"
	description string
	def         string             // default for an optional field; "" means required
	validators  []validator.String // terraform-plugin-framework-validators, or validators.go's
}

var exportKinds = []exportKind{
	{typeName: "billed_usage_export", what: "billed usage", path: "usage/billed/export",
		fields: []exportField{invoiceIDField, attributeSetField}},
	{typeName: "unbilled_usage_export", what: "unbilled usage", path: "usage/unbilled/export",
		fields: []exportField{currencyCodeField, billingPeriodField, attributeSetField}},
	{typeName: "billed_reconciliation_export", what: "billed reconciliation", path: "reconciliation/billed/export",
		fields: []exportField{invoiceIDField, attributeSetField}},
	{typeName: "unbilled_reconciliation_export", what: "unbilled reconciliation", path: "reconciliation/unbilled/export",
		fields: []exportField{currencyCodeField, billingPeriodField, attributeSetField}},
	// Microsoft's preview (Graph beta only): the body is the invoice alone.
	{typeName: "billed_aggregated_usage_export", what: "billed aggregated usage (preview)", api: graph.Beta,
		path: "aggregatedUsage/billed/export", fields: []exportField{invoiceIDField}},
}

var (
	invoiceIDField = exportField{
		attr: "invoice_id", json: "invoiceId",
		description: "The invoice to export, such as `G000000001` (Partner Center lists them; Microsoft serves invoices from " +
			"September 2023 on). Letters, digits and `-`, 1 to 64 characters.",
		// Length and characters apart, so that each message says the one
		// thing wrong (RegexMatches prints the value unquoted: "" would
		// show as nothing).
		validators: []validator.String{namedString("Invalid Invoice ID",
			stringvalidator.LengthBetween(1, 64),
			stringvalidator.RegexMatches(regexp.MustCompile(`^[A-Za-z0-9-]*$`),
				`must be an invoice id as Partner Center shows it, such as "G000000001": letters, digits and '-' only`),
		)},
	}
	currencyCodeField = exportField{
		attr: "currency_code", json: "currencyCode",
		description: "The billing currency, as an ISO 4217 code in upper case: `USD`, `EUR`, ...",
		validators:  []validator.String{currencyCodeValidator{}},
	}
	billingPeriodField = exportField{
		attr: "billing_period", json: "billingPeriod",
		description: "`current` (the open billing period) or `last` (the one before it).",
		validators:  []validator.String{namedString("Invalid Billing Period", stringvalidator.OneOf("current", "last"))},
	}
	attributeSetField = exportField{
		attr: "attribute_set", json: "attributeSet", def: "full",
		description: "`full` (every attribute, the default) or `basic` (a smaller set).",
		validators:  []validator.String{namedString("Invalid Attribute Set", stringvalidator.OneOf("full", "basic"))},
	}
)

// perKind is one constructor per row of exportKinds: every kind is a
// resource and an action.
func perKind[T any](build func(exportKind) T) []func() T {
	out := make([]func() T, len(exportKinds))
	for i, k := range exportKinds {
		out[i] = func() T { return build(k) }
	}
	return out
}

// exportType is what an export resource and an export action are made of:
// their kind, and the provider's data once configured.
type exportType struct {
	kind exportKind
	data *providerData
}

// typeName is the Terraform type name of the kind: the resource's and the
// action's.
func (t *exportType) typeName(providerTypeName string) string {
	return providerTypeName + "_" + t.kind.typeName
}

// configure is their Configure (STYLE rule 3); kind is kindResource or
// kindAction.
func (t *exportType) configure(providerData any, kind string, diags *diag.Diagnostics) {
	if data, ok := providerDataFrom(providerData, kind, diags); ok {
		t.data = data
	}
}
