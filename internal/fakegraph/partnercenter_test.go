package fakegraph_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestDocInvoicesAreValidJSON: every literal invoice is a JSON object with
// the fields SPEC §6 names.
func TestDocInvoicesAreValidJSON(t *testing.T) {
	t.Parallel()
	for _, inv := range append(fakegraph.DocInvoices, fakegraph.InvoicePage("/invoices?size=1&offset=1", fakegraph.DocInvoices...)) {
		var m map[string]any
		if err := json.Unmarshal([]byte(inv), &m); err != nil {
			t.Fatalf("%v in\n%s", err, inv)
		}
	}
}

// TestInvoicesEndpoint: paging by size and offset with relative next links,
// Partner Center's error shape, the MS-* headers echoed, and only a Partner
// Center token accepted.
func TestInvoicesEndpoint(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetInvoices(fakegraph.DocInvoices...)
	_, pc := tokenOf(t, s, fakegraph.PartnerCenterScope)
	graphTok := tokenFor(t, s)

	status, body, h := do(t, s, http.MethodGet, "/v1/invoices?size=3&offset=0", pc, "", "MS-RequestId", "req-1", "MS-CorrelationId", "corr-1")
	if status != 200 || h.Get("MS-RequestId") != "req-1" || h.Get("MS-CorrelationId") != "corr-1" {
		t.Fatalf("status %d, headers %v", status, h)
	}
	var page struct {
		TotalCount int               `json:"totalCount"`
		Items      []json.RawMessage `json:"items"`
		Links      struct {
			Next struct{ URI string } `json:"next"`
		} `json:"links"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 4 || len(page.Items) != 3 || page.Links.Next.URI != "/invoices?size=3&offset=3" {
		t.Errorf("page: total %d, %d items, next %q", page.TotalCount, len(page.Items), page.Links.Next.URI)
	}
	_, body, _ = do(t, s, http.MethodGet, "/v1/invoices?size=3&offset=3", pc, "")
	if strings.Contains(body, `"next"`) || !strings.Contains(body, fakegraph.DocInvoiceVoidedID) {
		t.Errorf("last page:\n%s", body)
	}

	status, body, h = do(t, s, http.MethodGet, "/v1/invoices", graphTok, "")
	if status != 401 || !strings.Contains(body, `"description": "Unauthorized: Access token validation failure. Invalid audience."`) || h.Get("MS-RequestId") == "" {
		t.Errorf("a Graph token: %d %s", status, body)
	}
	if status, body, _ = do(t, s, http.MethodGet, "/v1/invoices?size=500", pc, ""); status != 400 || !strings.Contains(body, `"code": 600039`) {
		t.Errorf("size 500: %d %s", status, body)
	}
	s.ScriptInvoices(fakegraph.PartnerCenterError(429, "429", "Rate limit is exceeded.", "Retry-After", "3"))
	if status, _, h = do(t, s, http.MethodGet, "/v1/invoices", pc, ""); status != 429 || h.Get("Retry-After") != "3" {
		t.Errorf("scripted throttling: %d %v", status, h)
	}
	s.SetInvoiceNextLinkBase(s.URL() + "/v1")
	if _, body, _ = do(t, s, http.MethodGet, "/v1/invoices?size=1", pc, ""); !strings.Contains(body, `"uri": "`+s.URL()+`/v1/invoices?size=1&offset=1"`) {
		t.Errorf("absolute next link:\n%s", body)
	}
	if n := len(s.PartnerCenterRequests()); n != 6 {
		t.Errorf("%d Partner Center requests recorded, want 6", n)
	}
}
