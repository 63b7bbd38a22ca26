package fakegraph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Invoice ids with which an export fails on request, once
// EnableFailingInvoices was called (cmd/fakegraph does), so that users can
// rehearse failures against the demo fake.
const (
	// InvoiceRefused makes the export POST answer 400, as Graph does for an
	// unknown invoice or one older than September 2023.
	InvoiceRefused = "G000000404"
	// InvoiceNoData makes the export's operation fail with code "5000",
	// "No data available".
	InvoiceNoData = "G000005000"
)

// EnableFailingInvoices makes exports of InvoiceRefused and InvoiceNoData
// fail as those constants say; every other invoice exports as usual.
func (s *Server) EnableFailingInvoices() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failingInvoices = true
}

// exportRequest is what the fake reads from an accepted export's body.
type exportRequest struct {
	InvoiceID    string `json:"invoiceId"`
	CurrencyCode string `json:"currencyCode"`
}

// refusal is the answer to an export of a failing invoice (nil: none), and
// whether its operation is to fail with "No data available". The caller
// holds s.mu.
func (s *Server) failingInvoiceLocked(body []byte) (refuse *Response, noData bool) {
	if !s.failingInvoices {
		return nil, false
	}
	var req exportRequest
	_ = json.Unmarshal(body, &req)
	switch req.InvoiceID {
	case InvoiceRefused:
		r := Status(http.StatusBadRequest, GraphError("BadRequest",
			fmt.Sprintf("Invoice '%s' was not found, or it is older than September 2023.", req.InvoiceID)))
		return &r, false
	case InvoiceNoData:
		return nil, true
	}
	return nil, false
}

// exportRows is the rows generator of an export to path with body: usage
// rows for the usage exports, reconciliation rows for the reconciliation
// ones, for the invoice the request named (none for an unbilled export) and
// in its currency.
func exportRows(path string, body []byte) func(first, n int) []byte {
	var req exportRequest
	_ = json.Unmarshal(body, &req)
	currency := req.CurrencyCode
	if currency == "" {
		currency = "USD"
	}
	if strings.HasPrefix(path, "reconciliation/") {
		return func(first, n int) []byte { return reconciliationRows(req.InvoiceID, currency, first, n) }
	}
	return func(first, n int) []byte { return UsageRows(req.InvoiceID, currency, first, n) }
}

// usageRow is one line of a (billed or unbilled) daily rated usage export,
// with the fields partners look at most (the full export has more).
type usageRow struct {
	PartnerID               string  `json:"PartnerId"`
	PartnerName             string  `json:"PartnerName"`
	CustomerID              string  `json:"CustomerId"`
	CustomerName            string  `json:"CustomerName"`
	CustomerDomainName      string  `json:"CustomerDomainName"`
	CustomerCountry         string  `json:"CustomerCountry"`
	MpnID                   string  `json:"MpnId"`
	InvoiceNumber           string  `json:"InvoiceNumber"`
	ProductID               string  `json:"ProductId"`
	SkuID                   string  `json:"SkuId"`
	AvailabilityID          string  `json:"AvailabilityId"`
	SkuName                 string  `json:"SkuName"`
	ProductName             string  `json:"ProductName"`
	PublisherName           string  `json:"PublisherName"`
	SubscriptionID          string  `json:"SubscriptionId"`
	SubscriptionDescription string  `json:"SubscriptionDescription"`
	ChargeStartDate         string  `json:"ChargeStartDate"`
	ChargeEndDate           string  `json:"ChargeEndDate"`
	UsageDate               string  `json:"UsageDate"`
	MeterType               string  `json:"MeterType"`
	MeterCategory           string  `json:"MeterCategory"`
	MeterID                 string  `json:"MeterId"`
	MeterSubCategory        string  `json:"MeterSubCategory"`
	MeterName               string  `json:"MeterName"`
	MeterRegion             string  `json:"MeterRegion"`
	Unit                    string  `json:"Unit"`
	ResourceLocation        string  `json:"ResourceLocation"`
	ConsumedService         string  `json:"ConsumedService"`
	ResourceGroup           string  `json:"ResourceGroup"`
	ChargeType              string  `json:"ChargeType"`
	UnitPrice               float64 `json:"UnitPrice"`
	Quantity                float64 `json:"Quantity"`
	UnitType                string  `json:"UnitType"`
	BillingPreTaxTotal      float64 `json:"BillingPreTaxTotal"`
	BillingCurrency         string  `json:"BillingCurrency"`
	PricingPreTaxTotal      float64 `json:"PricingPreTaxTotal"`
	PricingCurrency         string  `json:"PricingCurrency"`
	EffectiveUnitPrice      float64 `json:"EffectiveUnitPrice"`
}

// UsageRows returns n JSON Lines of made-up but realistically shaped daily
// rated usage (Azure meters) of invoice ("" for unbilled usage) in
// currency, starting at row first (the same arguments always give the same
// rows).
func UsageRows(invoice, currency string, first, n int) []byte {
	customers := []struct{ id, name, domain, country string }{
		{"3b33e682-00c3-41ee-9dd2-a548adf56438", "Contoso Ltd", "contoso.onmicrosoft.com", "US"},
		{"8e4ea8b2-1a9d-4c55-a6c4-3f0e7d1f2b6a", "Fabrikam Inc", "fabrikam.onmicrosoft.com", "GB"},
	}
	meters := []struct {
		id, category, sub, name, region, unit, service, location string
		price                                                    float64
	}{
		{"a149966f-73b4-4e1d-b335-d2a572b1e6bd", "Virtual Machines", "Dv5 Series", "D4s v5", "US East", "1 Hour",
			"Microsoft.Compute", "eastus", 0.192},
		{"3ad41a4b-7ec3-4e4c-8ef9-9b3c6d7b0a51", "Storage", "Standard SSD Managed Disks", "E10 LRS Disk", "US East", "1/Month",
			"Microsoft.Compute", "eastus", 0.3},
		{"9995d93a-7d35-4d3f-9c69-7a7fea447ef4", "Bandwidth", "Rtn Preference: MGN", "Standard Data Transfer Out", "Zone 1", "1 GB",
			"Microsoft.Network", "westeurope", 0.087},
	}
	var buf bytes.Buffer
	for i := first; i < first+n; i++ {
		c, m := customers[i%len(customers)], meters[(i/2)%len(meters)]
		qty := float64(1+(i*13)%48) / 2
		total := round2(m.price * qty)
		row := usageRow{
			PartnerID: "0e195b37-4574-4539-bc42-0e539b9684c0", PartnerName: "Contoso Partner", CustomerID: c.id, CustomerName: c.name,
			CustomerDomainName: c.domain, CustomerCountry: c.country, MpnID: "4390934", InvoiceNumber: invoice,
			ProductID: "DZH318Z0BQPS", SkuID: "0001", AvailabilityID: "DZH318Z0BQ34", SkuName: "Azure plan", ProductName: "Azure plan",
			PublisherName: "Microsoft", SubscriptionID: fmt.Sprintf("5d1a3d0e-8c1f-4b2a-9e7d-%012d", 3000+i%2),
			SubscriptionDescription: "Azure plan", ChargeStartDate: "2026-11-01T00:00:00Z", ChargeEndDate: "2026-11-30T00:00:00Z",
			UsageDate: fmt.Sprintf("2026-11-%02dT00:00:00Z", 1+i%30), MeterType: "1 Compute Hour", MeterCategory: m.category,
			MeterID: m.id, MeterSubCategory: m.sub, MeterName: m.name, MeterRegion: m.region, Unit: m.unit,
			ResourceLocation: m.location, ConsumedService: m.service, ResourceGroup: "rg-" + strings.ToLower(strings.Fields(c.name)[0]),
			ChargeType: "new", UnitPrice: m.price, Quantity: qty, UnitType: m.unit, BillingPreTaxTotal: total, BillingCurrency: currency,
			PricingPreTaxTotal: total, PricingCurrency: currency, EffectiveUnitPrice: m.price,
		}
		line, _ := json.Marshal(row)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}
