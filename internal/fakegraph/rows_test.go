package fakegraph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestExportRowsFollowTheKind: each export kind's blobs hold that kind's
// rows (usage rows for usage exports, reconciliation rows for
// reconciliation exports), for the invoice and in the currency it asked for.
func TestExportRowsFollowTheKind(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		path, body        string
		beta              bool
		field             string // a field only this kind's rows have
		invoice, currency string
	}{
		"billed usage":            {"usage/billed/export", `{"invoiceId":"G000000123","attributeSet":"full"}`, false, "MeterCategory", "G000000123", "USD"},
		"unbilled usage":          {"usage/unbilled/export", `{"currencyCode":"EUR","billingPeriod":"current","attributeSet":"full"}`, false, "MeterCategory", "", "EUR"},
		"billed reconciliation":   {"reconciliation/billed/export", `{"invoiceId":"G016907411","attributeSet":"basic"}`, false, "OrderId", "G016907411", "USD"},
		"unbilled reconciliation": {"reconciliation/unbilled/export", `{"currencyCode":"GBP","billingPeriod":"last","attributeSet":"full"}`, false, "OrderId", "", "GBP"},
		"billed aggregated usage": {fakegraph.AggregatedUsagePath, `{"invoiceId":"G000000777"}`, true, "MeterCategory", "G000000777", "USD"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			b := startStore(t, s)
			s.UseBlobStore(b)
			tok := tokenFor(t, s)
			base := fakegraph.BasePath
			if tc.beta {
				base = fakegraph.BetaBasePath
			}
			if st, body, _ := do(t, s, "POST", base+tc.path, tok, tc.body, "Content-Type", "application/json"); st != http.StatusAccepted {
				t.Fatalf("POST: %d %s", st, body)
			}
			acc := s.AcceptedExports()
			st, body, _ := do(t, s, "GET", base+"manifests/"+acc[0].ManifestID, tok, "")
			var m struct {
				RootDirectory, SASToken string
				Blobs                   []struct{ Name string }
			}
			if err := json.Unmarshal([]byte(body), &m); st != 200 || err != nil || len(m.Blobs) != 2 {
				t.Fatalf("manifest: %d %s (%v)", st, body, err)
			}
			rows := 0
			for _, blob := range m.Blobs {
				st, gz, _ := get(t, s, m.RootDirectory+"/"+blob.Name+"?"+m.SASToken)
				if st != 200 {
					t.Fatalf("blob %s: HTTP %d", blob.Name, st)
				}
				for _, line := range bytes.Split(bytes.TrimSpace(gunzip(t, gz)), []byte("\n")) {
					var row map[string]any
					if err := json.Unmarshal(line, &row); err != nil {
						t.Fatalf("row %s: %v", line, err)
					}
					rows++
					currency := row["Currency"]
					if currency == nil {
						currency = row["BillingCurrency"]
					}
					if _, ok := row[tc.field]; !ok || row["InvoiceNumber"] != tc.invoice || currency != tc.currency {
						t.Errorf("row %s: want a %s row for invoice %q in %s", line, tc.field, tc.invoice, tc.currency)
					}
				}
			}
			if rows != 5 {
				t.Errorf("%d rows, want 5 (3 and 2)", rows)
			}
		})
	}
}

// TestFailingInvoices: with EnableFailingInvoices, G000000404 is refused
// with a 400 and G000005000's operation fails "5000" "No data available";
// other invoices export as usual, and without it those two do too.
func TestFailingInvoices(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.SetExportDefault(fakegraph.ExportOperation{Polls: 0})
	post := func(invoice string) (int, string) {
		st, body, _ := do(t, s, "POST", fakegraph.BasePath+"usage/billed/export", tok,
			`{"invoiceId":"`+invoice+`","attributeSet":"full"}`, "Content-Type", "application/json")
		return st, body
	}
	if st, _ := post(fakegraph.InvoiceRefused); st != http.StatusAccepted {
		t.Fatalf("before EnableFailingInvoices: HTTP %d", st)
	}
	s.EnableFailingInvoices()
	st, body := post(fakegraph.InvoiceRefused)
	if st != http.StatusBadRequest || !strings.Contains(body, "G000000404") || !strings.Contains(body, `"code": "BadRequest"`) {
		t.Errorf("refused invoice: HTTP %d %s", st, body)
	}
	if st, _ := post(fakegraph.InvoiceNoData); st != http.StatusAccepted {
		t.Fatalf("no-data invoice: HTTP %d", st)
	}
	acc := s.AcceptedExports()
	if len(acc) != 2 || acc[1].ManifestID != "" {
		t.Fatalf("accepted %+v", acc)
	}
	_, op, _ := do(t, s, "GET", opPath(acc[1].OperationID), tok, "")
	if !strings.Contains(op, `"failed"`) || !strings.Contains(op, `"5000"`) || !strings.Contains(op, "No data available") {
		t.Errorf("operation of the no-data invoice: %s", op)
	}
	if st, _ := post("G000000001"); st != http.StatusAccepted {
		t.Errorf("another invoice: HTTP %d", st)
	}
}
