package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/partnercenter"
)

const invoicesAddr = "data.partnerbilling_invoices.test"

// invoicesFactories is factories with Partner Center pages of 2, so that
// the documented invoices span pages.
func (e *env) invoicesFactories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"partnerbilling": fastFactory(newProvider("test",
			WithHTTPClient(e.srv.HTTPClient()),
			WithGraphOptions(graph.WithClock(e.clock)),
			WithAuthSleep(e.clock.Sleep),
			WithPartnerCenterOptions(partnercenter.WithPageSize(2)),
		)),
	}
}

// invoicesRun runs steps against e with invoicesFactories.
func (e *env) invoicesRun(t *testing.T, steps ...resource.TestStep) {
	t.Helper()
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.invoicesFactories(), Steps: steps})
}

// invoicesConfig is a provider block pointing Graph and Partner Center at
// the fake, then blocks.
func (e *env) invoicesConfig(blocks string) string {
	return fmt.Sprintf(`
provider "partnerbilling" {
  tenant_id               = %q
  client_id               = %q
  client_secret           = %q
  graph_endpoint          = %q
  authority_host          = %q
  partner_center_endpoint = %q
}
`, testTenant, testClientID, testSecret, e.srv.URL(), e.srv.URL(), e.srv.URL()) + blocks
}

func invoicesBlock(name, args string) string {
	return fmt.Sprintf("\ndata \"partnerbilling_invoices\" %q {\n%s\n}\n", name, args)
}

// invoiceValue is one element of invoices as Terraform holds it; "" is null.
func invoiceValue(id, date, start, end, typ, doc, currency, total, paid, amends string) knownvalue.Check {
	s := func(v string) knownvalue.Check {
		if v == "" {
			return knownvalue.Null()
		}
		return knownvalue.StringExact(v)
	}
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"id": s(id), "invoice_date": s(date), "billing_period_start_date": s(start), "billing_period_end_date": s(end),
		"invoice_type": s(typ), "document_type": s(doc), "currency_code": s(currency),
		"total_charges": s(total), "paid_amount": s(paid), "amends_of": s(amends),
	})
}

// docInvoiceValues is fakegraph.DocInvoices as the data source lists them:
// newest first, amendments once each, money as sent, timestamps normalised.
var docInvoiceValues = map[string]knownvalue.Check{
	"G017301218": invoiceValue("G017301218", "2026-11-20T10:02:13.12Z", "2026-10-01T00:00:00Z", "2026-10-31T23:59:59Z", "OneTime", "adjustment_note", "USD", "-1021.40", "0", "G016907411"),
	"G016907411": invoiceValue("G016907411", "2026-11-08T07:11:45.3468231Z", "2026-10-01T00:00:00Z", "2026-10-31T23:59:59Z", "OneTime", "invoice", "USD", "24606.35", "0", ""),
	"D02005YFHI": invoiceValue("D02005YFHI", "2026-11-08T01:22:47.603895Z", "2026-10-09T00:00:00Z", "2026-11-08T00:00:00Z", "Recurring", "invoice", "EUR", "586366", "586366", ""),
	"G015500001": invoiceValue("G015500001", "2026-10-15T12:00:00Z", "", "", "OneTime", "void_note", "USD", "-318.00", "0", "G015012345"),
	"G015012345": invoiceValue("G015012345", "2026-10-08T06:40:02.5Z", "2026-09-01T00:00:00Z", "2026-09-30T23:59:59Z", "OneTime", "invoice", "USD", "318.00", "0", ""),
}

func invoiceList(ids ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, len(ids))
	for i, id := range ids {
		checks[i] = docInvoiceValues[id]
	}
	return knownvalue.ListExact(checks)
}

// pcRequests counts the GETs of /v1/invoices so far.
func (e *env) pcRequests() int { return len(e.srv.PartnerCenterRequests()) }

func TestInvoicesDataSourcePagesAndAmendments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoices(fakegraph.DocInvoices...)
	e.invoicesRun(t, resource.TestStep{
		Config: e.invoicesConfig(invoicesBlock("test", "")),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"),
				invoiceList("G017301218", "G016907411", "D02005YFHI", "G015500001", "G015012345")),
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{32}$`))),
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("since"), knownvalue.Null()),
		},
	})
	// Every read is two pages (size 2, 4 invoices at the top level), with
	// one correlation id per read.
	reads := map[string][]string{}
	for _, r := range e.srv.PartnerCenterRequests() {
		c := r.Header.Get("MS-CorrelationId")
		reads[c] = append(reads[c], r.RawQuery)
	}
	for c, qs := range reads {
		if strings.Join(qs, " ") != "size=2&offset=0 size=2&offset=2" {
			t.Errorf("read %s asked for %v, want the two pages in order", c, qs)
		}
	}
	if len(reads) == 0 {
		t.Fatal("no Partner Center request")
	}
	t.Logf("%d reads of the invoices, %d Partner Center GETs", len(reads), e.pcRequests())
}

func TestInvoicesDataSourceFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoices(fakegraph.DocInvoices...)
	blocks := invoicesBlock("since_date", `since = "2026-11-08"`) +
		invoicesBlock("since_timestamp", `since = "2026-11-08T02:00:00Z"`) +
		invoicesBlock("since_offset", `since = "2026-11-08T03:00:00+02:00"`) +
		invoicesBlock("onetime", `invoice_type = "onetime"`) +
		invoicesBlock("recurring", `invoice_type = "Recurring"`) +
		invoicesBlock("void_notes", `document_type = "VOID_NOTE"`) +
		invoicesBlock("adjustments", `document_type = "adjustment_note"`) +
		invoicesBlock("close", `
  since         = "2026-11-01"
  invoice_type  = "OneTime"
  document_type = "invoice"`) +
		invoicesBlock("close_other_spelling", `
  since         = "2026-11-01T00:00:00Z"
  invoice_type  = "ONETIME"
  document_type = "Invoice"`) +
		invoicesBlock("none", `since = "2027-01-01"`)
	list := func(name string, ids ...string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("data.partnerbilling_invoices."+name, tfjsonpath.New("invoices"), invoiceList(ids...))
	}
	e.invoicesRun(t, resource.TestStep{
		Config: e.invoicesConfig(blocks),
		ConfigStateChecks: []statecheck.StateCheck{
			list("since_date", "G017301218", "G016907411", "D02005YFHI"),
			list("since_timestamp", "G017301218", "G016907411"),
			list("since_offset", "G017301218", "G016907411", "D02005YFHI"),
			list("onetime", "G017301218", "G016907411", "G015500001", "G015012345"),
			list("recurring", "D02005YFHI"),
			list("void_notes", "G015500001"),
			list("adjustments", "G017301218"),
			list("close", "G016907411"),
			list("none"),
			statecheck.ExpectKnownValue("data.partnerbilling_invoices.onetime", tfjsonpath.New("invoice_type"), knownvalue.StringExact("onetime")),
			// The same filter in another spelling has the same id.
			statecheck.CompareValuePairs("data.partnerbilling_invoices.close", tfjsonpath.New("id"),
				"data.partnerbilling_invoices.close_other_spelling", tfjsonpath.New("id"), compare.ValuesSame()),
			statecheck.CompareValuePairs("data.partnerbilling_invoices.close", tfjsonpath.New("id"),
				"data.partnerbilling_invoices.since_date", tfjsonpath.New("id"), compare.ValuesDiffer()),
		},
	})
}

func TestInvoicesDataSourceValidatesFiltersAtPlanTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct{ args, want string }{
		{`since = "2026-13-01"`, `Invalid Since`},
		{`since = "01/11/2026"`, `Expected a date (YYYY-MM-DD, midnight UTC) such as 2026-11-01, or an RFC 3339 timestamp such as 2026-11-01T00:00:00Z, got "01/11/2026"`},
		{`since = "2026-11-01T00:00:00"`, `Invalid Since`},
		{`invoice_type = "Monthly"`, `value must be one of: ["OneTime" "Recurring"]`},
		{`document_type = "credit_note"`, `value must be one of: ["invoice" "void_note" "adjustment_note"]`},
	} {
		e.invoicesRun(t, resource.TestStep{
			Config:      e.invoicesConfig(invoicesBlock("test", tc.args)),
			PlanOnly:    true,
			ExpectError: wantError(tc.want),
		})
	}
	if n := e.pcRequests() + len(e.srv.TokenRequests()); n != 0 {
		t.Errorf("%d requests before the filters were valid", n)
	}
}

func TestInvoicesDataSourceNextLinks(t *testing.T) {
	t.Parallel()
	foreign, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()

	t.Run("a foreign host is never called", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.srv.SetInvoices(fakegraph.DocInvoices...)
		e.srv.SetInvoiceNextLinkBase(foreign.URL() + "/v1")
		e.invoicesRun(t, resource.TestStep{
			Config: e.invoicesConfig(invoicesBlock("test", "")),
			ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"),
				invoiceList("G017301218", "G016907411", "D02005YFHI", "G015500001", "G015012345"))},
		})
		if n := len(foreign.Requests()); n != 0 {
			t.Errorf("the foreign host got %d requests", n)
		}
	})
	t.Run("a foreign path fails the read", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.srv.ScriptInvoices(fakegraph.OK(fakegraph.InvoicePage(foreign.URL()+"/steal?token=1", fakegraph.DocInvoiceOneTime)))
		e.invoicesRun(t, resource.TestStep{
			Config: e.invoicesConfig(invoicesBlock("test", "")),
			ExpectError: wantError("Incomplete Invoice Listing", `next link "`+foreign.URL()+`/steal?token=1"`,
				"only links under /v1/invoices or /invoices are followed"),
		})
		if n := len(foreign.Requests()); n != 0 {
			t.Errorf("the foreign host got %d requests", n)
		}
		if n := e.pcRequests(); n != 1 {
			t.Errorf("%d Partner Center requests, want 1", n)
		}
	})
	t.Run("a repeated next link fails the read", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.srv.ScriptInvoices(
			fakegraph.OK(fakegraph.InvoicePage("/invoices?size=2&offset=2", fakegraph.DocInvoiceOneTime)),
			fakegraph.OK(fakegraph.InvoicePage("/invoices?size=2&offset=2", fakegraph.DocInvoiceRecurring)))
		e.invoicesRun(t, resource.TestStep{
			Config: e.invoicesConfig(invoicesBlock("test", "")),
			ExpectError: wantError("Incomplete Invoice Listing", `next link "/invoices?size=2&offset=2": it points at a page already read`,
				"partial list"),
		})
		if n := e.pcRequests(); n != 2 {
			t.Errorf("%d Partner Center requests, want 2", n)
		}
	})
}

func TestInvoicesDataSourceForbiddenExplainsAppManagement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.ScriptInvoices(fakegraph.PartnerCenterError(http.StatusForbidden, "600012", "Partner is not authorized to access this resource.",
		"MS-RequestId", "5b0d5a8e-1b6a-4d7e-9a3c-2f1e0d9c8b7a", "MS-CorrelationId", "9c8b7a6d-5e4f-4a3b-8c1d-0e9f8a7b6c5d"))
	e.invoicesRun(t, resource.TestStep{
		Config: e.invoicesConfig(invoicesBlock("test", "")),
		ExpectError: wantError("Access Denied By Partner Center", "registered in Partner Center",
			"partner tenant "+testTenant, "Account settings → App management",
			"HTTP 403 Forbidden: 600012: Partner is not authorized to access this resource.",
			"MS-RequestId: 5b0d5a8e-1b6a-4d7e-9a3c-2f1e0d9c8b7a", "MS-CorrelationId: 9c8b7a6d-5e4f-4a3b-8c1d-0e9f8a7b6c5d"),
	})
	if n := e.pcRequests(); n != 1 {
		t.Errorf("%d Partner Center requests, want 1 (403 is not retried)", n)
	}
}

func TestInvoicesDataSourceThrottling(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoices(fakegraph.DocInvoiceRecurring)
	e.srv.ScriptInvoices(
		fakegraph.PartnerCenterError(http.StatusTooManyRequests, "429", "Rate limit is exceeded.", "Retry-After", "2.5"),
		fakegraph.PartnerCenterError(http.StatusTooManyRequests, "429", "Rate limit is exceeded.", "Retry-After", "7"))
	e.invoicesRun(t, resource.TestStep{
		Config: e.invoicesConfig(invoicesBlock("test", "")),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"), invoiceList("D02005YFHI")),
		},
	})
	sleeps := fmt.Sprint(e.clock.Sleeps())
	if !strings.HasPrefix(sleeps, "[2.5s 7s") {
		t.Errorf("waits %s, want Retry-After's 2.5s then 7s first", sleeps)
	}

	// A Retry-After past the 5-minute budget fails the read at once.
	e2 := newEnv(t)
	e2.srv.ScriptInvoices(fakegraph.PartnerCenterError(http.StatusTooManyRequests, "429", "Rate limit is exceeded.", "Retry-After", "3600"))
	e2.invoicesRun(t, resource.TestStep{
		Config: e2.invoicesConfig(invoicesBlock("test", "")),
		ExpectError: wantError("Partner Center Did Not Answer In Time", "Partner Center asked to wait 1h0m0s (3600 s) (Retry-After)",
			"HTTP 429 Too Many Requests: 429: Rate limit is exceeded."),
	})
	if n := len(e2.clock.Sleeps()); n != 0 {
		t.Errorf("slept %v before failing", e2.clock.Sleeps())
	}
}

// TestInvoicesAndGraphTokensPerScope: a run that reads invoices and an
// operation gets one Partner Center token and one Graph token per provider
// process, and each token goes only to its own service; a run that reads
// no invoice asks for no Partner Center token.
func TestInvoicesAndGraphTokensPerScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoices(fakegraph.DocInvoices...)
	e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
	blocks := invoicesBlock("test", `invoice_type = "OneTime"`) + invoicesBlock("second", `document_type = "invoice"`) +
		"\ndata \"partnerbilling_operation\" \"op\" {\n  id = \"" + docID + "\"\n}\n"
	e.invoicesRun(t, resource.TestStep{
		Config: e.invoicesConfig(blocks),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"), invoiceList("G017301218", "G016907411", "G015500001", "G015012345")),
			statecheck.ExpectKnownValue("data.partnerbilling_operation.op", tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
		},
	})
	pcTokens := len(e.srv.TokenRequestsFor(fakegraph.PartnerCenterResource))
	graphTokens := len(e.srv.TokenRequestsFor(fakegraph.GraphResource))
	if all := len(e.srv.TokenRequests()); all != pcTokens+graphTokens {
		t.Errorf("%d token requests, %d of them for Partner Center and %d for Graph", all, pcTokens, graphTokens)
	}
	pcUsed := bearersAt(t, e.srv.PartnerCenterRequests(), fakegraph.PartnerCenterResource)
	graphUsed := bearersAt(t, e.srv.GraphRequests(), fakegraph.GraphResource)
	if pcTokens == 0 || pcTokens != len(pcUsed) || graphTokens != len(graphUsed) || pcTokens != graphTokens {
		t.Errorf("token requests: %d Partner Center, %d Graph; distinct tokens used: %d at Partner Center, %d at Graph; want one of each per provider process",
			pcTokens, graphTokens, len(pcUsed), len(graphUsed))
	}
	t.Logf("measured: %d provider processes read; token requests %d Partner Center + %d Graph; %d Partner Center GETs, %d Graph GETs",
		pcTokens, pcTokens, graphTokens, e.pcRequests(), len(e.srv.GraphRequests()))

	// Without invoices, no Partner Center token.
	e2 := newEnv(t)
	e2.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
	e2.invoicesRun(t, resource.TestStep{Config: e2.invoicesConfig("\ndata \"partnerbilling_operation\" \"op\" {\n  id = \"" + docID + "\"\n}\n")})
	if n := len(e2.srv.TokenRequestsFor(fakegraph.PartnerCenterResource)); n != 0 || e2.pcRequests() != 0 {
		t.Errorf("a run without invoices asked for %d Partner Center tokens and sent %d requests", n, e2.pcRequests())
	}
}

// bearersAt returns the distinct bearer tokens of reqs, checking that each
// was issued for resource.
func bearersAt(t *testing.T, reqs []fakegraph.Request, resource string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, r := range reqs {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if aud := fakegraph.TokenAudience(tok); aud != resource {
			t.Errorf("%s %s carried a token for %q, want %q", r.Method, r.Path, aud, resource)
		}
		out[tok] = true
	}
	return out
}

// TestInvoicesMonthlyClose is SPEC §4.9's pattern through the real CLI:
// two invoices → two POSTs; a second plan with no new invoice is empty and
// sends no POST; a new invoice → one POST; an invoice that leaves the window
// → its export leaves the state with no request.
func TestInvoicesMonthlyClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoices(fakegraph.DocInvoices...)
	e.srv.SetExportDefault(fakegraph.ExportOperation{Polls: 1, RetryAfter: fakegraph.ExportRetryAfter})
	cfg := e.invoicesConfig(invoicesBlock("test", `
  since         = "2026-10-01"
  invoice_type  = "OneTime"
  document_type = "invoice"`) + `
resource "partnerbilling_billed_reconciliation_export" "invoice" {
  for_each   = toset([for i in data.partnerbilling_invoices.test.invoices : i.id])
  invoice_id = each.key
}
`)
	var counts []string
	posts := func(n int) statecheck.StateCheck { return postsCheck{e, n, &counts} }
	e.invoicesRun(t,
		resource.TestStep{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{posts(2)}},
		resource.TestStep{
			Config:           cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			ConfigStateChecks: []statecheck.StateCheck{
				posts(2),
				statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"), invoiceList("G016907411", "G015012345")),
			},
		},
		resource.TestStep{
			PreConfig: func() {
				e.srv.SetInvoices(append([]string{strings.ReplaceAll(strings.ReplaceAll(fakegraph.DocInvoiceOneTime,
					"G016907411", "G018000001"), "2026-11-08T07", "2026-12-08T07")}, fakegraph.DocInvoices...)...)
			},
			Config:            cfg,
			ConfigStateChecks: []statecheck.StateCheck{posts(3)},
		},
		// An invoice that leaves the window: its export leaves the state,
		// with no request (exports send nothing on delete).
		resource.TestStep{
			Config:            strings.Replace(cfg, `"2026-10-01"`, `"2026-11-01"`, 1),
			ConfigStateChecks: []statecheck.StateCheck{posts(3), noDeletes{e}},
		},
		// The test framework cannot read for_each instances from the final
		// state (its legacy shim): leave none there. Removing exports sends
		// nothing.
		resource.TestStep{Config: e.invoicesConfig(invoicesBlock("test", "")), ConfigStateChecks: []statecheck.StateCheck{posts(3)}},
	)
	if posts := e.srv.ExportRequests(); len(posts) == 3 && !strings.Contains(string(posts[2].Body), `"G018000001"`) {
		t.Errorf("the third POST was %s, want the new invoice's", posts[2].Body)
	}
	for i, c := range counts {
		t.Logf("measured, cumulative after step %d: %s", i+1, c)
	}
}

// postsCheck is a state check: exactly n export POSTs so far in the test
// (the legacy Check functions cannot read for_each instances); it records a
// summary of the requests so far in log.
type postsCheck struct {
	e   *env
	n   int
	log *[]string
}

func (c postsCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if got := c.e.posts(); got != c.n {
		resp.Error = fmt.Errorf("%d export POSTs so far, want %d", got, c.n)
	}
	*c.log = append(*c.log, c.e.requestCounts())
}

// requestCounts is a one-line summary of the requests so far.
func (e *env) requestCounts() string {
	return fmt.Sprintf("%d POSTs, %d Partner Center GETs, %d Graph requests, token requests %d Partner Center + %d Graph",
		e.posts(), e.pcRequests(), len(e.srv.GraphRequests()),
		len(e.srv.TokenRequestsFor(fakegraph.PartnerCenterResource)), len(e.srv.TokenRequestsFor(fakegraph.GraphResource)))
}

// noDeletes is a state check: nothing but GET and POST reached Graph.
type noDeletes struct{ e *env }

func (c noDeletes) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	for _, r := range c.e.srv.GraphRequests() {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			resp.Error = fmt.Errorf("%s %s reached Graph", r.Method, r.Path)
		}
	}
}
