package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/partnercenter"
)

var (
	_ datasource.DataSource              = &invoicesDataSource{}
	_ datasource.DataSourceWithConfigure = &invoicesDataSource{}
)

// NewInvoicesDataSource is the partnerbilling_invoices data source: the
// partner's invoices from Partner Center, so that a scheduled run can export
// each new one without anybody typing its id.
func NewInvoicesDataSource() datasource.DataSource {
	return &invoicesDataSource{}
}

type invoicesDataSource struct {
	data *providerData
}

type invoicesModel struct {
	ID           types.String   `tfsdk:"id"`
	Since        types.String   `tfsdk:"since"`
	InvoiceType  types.String   `tfsdk:"invoice_type"`
	DocumentType types.String   `tfsdk:"document_type"`
	Invoices     []invoiceModel `tfsdk:"invoices"`
}

type invoiceModel struct {
	ID                     types.String `tfsdk:"id"`
	InvoiceDate            types.String `tfsdk:"invoice_date"`
	BillingPeriodStartDate types.String `tfsdk:"billing_period_start_date"`
	BillingPeriodEndDate   types.String `tfsdk:"billing_period_end_date"`
	InvoiceType            types.String `tfsdk:"invoice_type"`
	DocumentType           types.String `tfsdk:"document_type"`
	CurrencyCode           types.String `tfsdk:"currency_code"`
	TotalCharges           types.String `tfsdk:"total_charges"`
	PaidAmount             types.String `tfsdk:"paid_amount"`
	AmendsOf               types.String `tfsdk:"amends_of"`
}

func (d *invoicesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_invoices"
}

func (d *invoicesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	const timestamp = " RFC 3339; a timestamp without offset is UTC and gets `Z`; fraction digits are kept as sent."
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the partner's invoices from the Partner Center REST API (`GET {partner_center_endpoint}/v1/invoices`, every page), " +
			"newest first, with amendments (void and adjustment notes) listed as invoices of their own. Feed the ids to the billed exports with `for_each`: " +
			"a scheduled run then exports each new invoice once, and a run with no new invoice changes nothing. " +
			"Uses the provider's credential with the Partner Center scope `https://api.partnercenter.microsoft.com/.default`: the application must be " +
			"registered in Partner Center (**Account settings → App management**) for app-only access.",
		Attributes: map[string]schema.Attribute{
			"id": str("A digest of the filters (the framework's convention for a data source without an id of its own)."),
			"since": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Only invoices dated on or after this moment: a date `YYYY-MM-DD` (midnight UTC) or an RFC 3339 timestamp. " +
					"Invalid text is rejected at validate time, before any request.",
				Validators: []validator.String{sinceValidator{}},
			},
			"invoice_type": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Only invoices of this type: `OneTime` (new commerce; the invoices the billed exports take) or `Recurring` (legacy). " +
					"Written in any case (`onetime` is accepted) and compared case-insensitively.",
				Validators: []validator.String{namedString("Invalid Invoice Type", stringvalidator.OneOfCaseInsensitive(partnercenter.InvoiceTypes...))},
			},
			"document_type": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Only documents of this type: `invoice`, `void_note` or `adjustment_note`. " +
					"Written in any case and compared case-insensitively.",
				Validators: []validator.String{namedString("Invalid Document Type", stringvalidator.OneOfCaseInsensitive(partnercenter.DocumentTypes...))},
			},
			"invoices": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "The invoices that match, newest first (by `invoice_date`, then `id` descending); an empty list when none does. " +
					"An amendment nested in an invoice is listed once, with `amends_of`.",
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"id":                        str("The invoice id, such as `G016907411` (new commerce, `OneTime`) or `D02005YFHI` (`Recurring`): the `invoice_id` of the billed exports."),
						"invoice_date":              str("When the invoice was issued." + timestamp),
						"billing_period_start_date": str("Start of the billing period; null when the service sends none." + timestamp),
						"billing_period_end_date":   str("End of the billing period; null when the service sends none." + timestamp),
						"invoice_type":              str("`OneTime` or `Recurring`, as the service sent it."),
						"document_type":             str("`invoice`, `void_note` or `adjustment_note`, as the service sent it."),
						"currency_code":             str("The invoice's currency, such as `USD`."),
						"total_charges":             str("The total, as the exact number the service sent (`\"24606.35\"`): money is never rounded through a float. Null when absent."),
						"paid_amount":               str("The amount paid, exactly as sent. Null when absent."),
						"amends_of":                 str("The id of the invoice this document amends; null unless it is an amendment."),
					},
				},
			},
		},
	}
}

func (d *invoicesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if data, ok := providerDataFrom(req.ProviderData, kindDataSource, &resp.Diagnostics); ok {
		d.data = data
	}
}

func (d *invoicesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg invoicesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if notConfigured(d.data, "this data source was read", &resp.Diagnostics) {
		return
	}
	filter, err := invoiceFilterFrom(cfg)
	if err != nil { // the validator has already refused it; kept for a value it never saw
		resp.Diagnostics.AddError("Invalid Since", capitalize(err.Error())+".")
		return
	}
	ctx, cancel := d.data.interruptible(ctx)
	defer cancel()
	all, err := d.data.invoices.ListInvoices(ctx)
	if err != nil {
		addPartnerCenterError(&resp.Diagnostics, withCause(ctx, err), d.data.tenantID)
		return
	}
	selected := filter.Apply(all)
	tflog.Debug(ctx, "listed invoices", map[string]any{"listed": len(all), "selected": len(selected)})
	state := invoicesModelFrom(cfg, filter, selected)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// invoiceFilterFrom reads the filters; the validators have checked them.
func invoiceFilterFrom(cfg invoicesModel) (partnercenter.Filter, error) {
	f := partnercenter.Filter{InvoiceType: cfg.InvoiceType.ValueString(), DocumentType: cfg.DocumentType.ValueString()}
	if s := cfg.Since.ValueString(); s != "" {
		t, err := partnercenter.ParseSince(s)
		if err != nil {
			return f, fmt.Errorf("since: %w", err)
		}
		f.Since = t
	}
	return f, nil
}

// invoicesModelFrom maps the selected invoices to the state. Timestamps are
// normalised as the operation's are; absent values are null.
func invoicesModelFrom(cfg invoicesModel, f partnercenter.Filter, in []partnercenter.Invoice) invoicesModel {
	out := invoicesModel{
		ID: types.StringValue(invoicesID(f)), Since: cfg.Since, InvoiceType: cfg.InvoiceType, DocumentType: cfg.DocumentType,
		Invoices: make([]invoiceModel, len(in)),
	}
	ts := func(s string) types.String { return optionalString(graph.NormalizeTimestamp(s)) }
	for i, v := range in {
		out.Invoices[i] = invoiceModel{
			ID:                     types.StringValue(v.ID),
			InvoiceDate:            ts(v.InvoiceDate),
			BillingPeriodStartDate: ts(v.BillingPeriodStartDate),
			BillingPeriodEndDate:   ts(v.BillingPeriodEndDate),
			InvoiceType:            optionalString(v.InvoiceType),
			DocumentType:           optionalString(v.DocumentType),
			CurrencyCode:           optionalString(v.CurrencyCode),
			TotalCharges:           optionalString(v.TotalCharges),
			PaidAmount:             optionalString(v.PaidAmount),
			AmendsOf:               optionalString(v.AmendsOf),
		}
	}
	return out
}

// invoicesID is a digest of the filters as they select: the same instant
// and the same types in another spelling give the same id.
func invoicesID(f partnercenter.Filter) string {
	since := ""
	if !f.Since.IsZero() {
		since = f.Since.UTC().Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256([]byte("since=" + since + "\ninvoice_type=" + strings.ToLower(f.InvoiceType) + "\ndocument_type=" + strings.ToLower(f.DocumentType)))
	return hex.EncodeToString(sum[:16])
}

// sinceValidator checks since with the parser the read uses. Hand-written:
// the validators library has no date rule.
type sinceValidator struct{}

func (sinceValidator) Description(context.Context) string {
	return "must be a date YYYY-MM-DD (midnight UTC) or an RFC 3339 timestamp"
}

func (v sinceValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (sinceValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := partnercenter.ParseSince(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Since", capitalize(err.Error())+".")
	}
}
