package provider

import (
	"fmt"
	"regexp"
	"strings"
)

// exportKind is one export resource: SPEC §4.1 is this table. The four kinds
// differ only in type name, POST path and body fields; everything else is
// exportResource. A new kind (such as the beta aggregatedUsage export, whose
// body is {"invoiceId"} alone) is one new row.
type exportKind struct {
	typeName string        // after "partnerbilling_"
	what     string        // for descriptions and messages: "billed usage"
	path     string        // POST path under /v1.0/reports/partners/billing/
	fields   []exportField // the body, in the order the docs list them
}

// exportField is one input of an export: a Terraform argument that becomes
// one string field of the POST body and forces a new export when changed.
type exportField struct {
	attr        string // Terraform argument, e.g. "invoice_id"
	json        string // body field, e.g. "invoiceId"
	description string
	def         string // default for an optional field; "" means required
	check       func(string) error
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
}

var (
	invoiceIDField = exportField{
		attr: "invoice_id", json: "invoiceId",
		description: "The invoice to export, such as `G000000001` (Partner Center lists them; Microsoft serves invoices from " +
			"September 2023 on). Letters, digits and `-`, 1 to 64 characters.",
		check: checkInvoiceID,
	}
	currencyCodeField = exportField{
		attr: "currency_code", json: "currencyCode",
		description: "The billing currency, as an ISO 4217 code in upper case: `USD`, `EUR`, ...",
		check:       checkCurrencyCode,
	}
	billingPeriodField = exportField{
		attr: "billing_period", json: "billingPeriod",
		description: "`current` (the open billing period) or `last` (the one before it).",
		check:       oneOf("billing_period", "current", "last"),
	}
	attributeSetField = exportField{
		attr: "attribute_set", json: "attributeSet", def: "full",
		description: "`full` (every attribute, the default) or `basic` (a smaller set).",
		check:       oneOf("attribute_set", "full", "basic"),
	}
)

var invoiceIDRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

func checkInvoiceID(v string) error {
	if !invoiceIDRE.MatchString(v) {
		return fmt.Errorf("%q is not an invoice id: use the id Partner Center shows, such as \"G000000001\" "+
			"(letters, digits and '-' only, 1 to 64 characters)", v)
	}
	return nil
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func checkCurrencyCode(v string) error {
	if currencyRE.MatchString(v) {
		return nil
	}
	if up := strings.ToUpper(v); currencyRE.MatchString(up) {
		return fmt.Errorf("%q is not an ISO 4217 currency code: write it in upper case, %q", v, up)
	}
	return fmt.Errorf("%q is not an ISO 4217 currency code: use three upper-case letters, such as \"USD\" or \"EUR\"", v)
}

// oneOf accepts exactly one of vals; a value that differs only in case is
// told the right spelling.
func oneOf(attr string, vals ...string) func(string) error {
	return func(v string) error {
		for _, x := range vals {
			if v == x {
				return nil
			}
		}
		for _, x := range vals {
			if strings.EqualFold(v, x) {
				return fmt.Errorf("%s must be %s (lower case), got %q: use %q", attr, quotedOr(vals), v, x)
			}
		}
		return fmt.Errorf("%s must be %s, got %q", attr, quotedOr(vals), v)
	}
}

func quotedOr(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return orList(q)
}
