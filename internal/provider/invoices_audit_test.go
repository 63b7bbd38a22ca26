package provider

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestInvoicesOrderByInstant: invoices are ordered by invoice_date as an
// instant (offsets and fraction digits vary, so a string order is wrong),
// then by id descending; an amendment listed both nested and at the top
// level (on a later page, without amendsOf) is listed once, with
// amends_of; money is the JSON number as sent (0, 586366, -1021.40, 1e3;
// null when absent); billing period dates without offset get Z and absent
// ones are null; next links are absolute on the endpoint's own host.
func TestInvoicesOrderByInstant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoiceNextLinkBase(e.srv.URL() + "/v1")
	e.srv.SetInvoices(
		// 2026-11-07T23:00:00Z, though its string sorts after every other.
		`{"id":"G000000010","invoiceDate":"2026-11-08T01:00:00+02:00","billingPeriodStartDate":"2026-10-01T00:00:00",
		  "billingPeriodEndDate":"2026-10-31T23:59:59","totalCharges":0,"paidAmount":0,"currencyCode":"USD",
		  "documentType":"invoice","invoiceType":"OneTime",
		  "amendments":[{"id":"G000000020","invoiceDate":"2026-11-09T00:00:00Z","totalCharges":-1021.40,"paidAmount":0,
		    "currencyCode":"USD","documentType":"adjustment_note","invoiceType":"OneTime","amendsOf":"G000000010"}]}`,
		`{"id":"G000000011","invoiceDate":"2026-11-07T23:30:00Z","totalCharges":586366,"paidAmount":586366,
		  "currencyCode":"EUR","documentType":"invoice","invoiceType":"OneTime"}`,
		`{"id":"G000000013","invoiceDate":"2026-11-07T23:30:00.1Z","totalCharges":1e3,"paidAmount":null,
		  "currencyCode":"USD","documentType":"invoice","invoiceType":"onetime"}`,
		`{"id":"G000000009","invoiceDate":"2026-11-08T00:30:00.000+01:00","totalCharges":12.5,
		  "currencyCode":"USD","documentType":"invoice","invoiceType":"OneTime"}`,
		`{"id":"G000000020","invoiceDate":"2026-11-09T00:00:00Z","totalCharges":-1021.40,"paidAmount":0,
		  "currencyCode":"USD","documentType":"adjustment_note","invoiceType":"OneTime"}`,
	)
	inv := invoiceValue
	all := knownvalue.ListExact([]knownvalue.Check{
		inv("G000000020", "2026-11-09T00:00:00Z", "", "", "OneTime", "adjustment_note", "USD", "-1021.40", "0", "G000000010"),
		inv("G000000013", "2026-11-07T23:30:00.1Z", "", "", "onetime", "invoice", "USD", "1e3", "", ""),
		// Same instant: id descending.
		inv("G000000011", "2026-11-07T23:30:00Z", "", "", "OneTime", "invoice", "EUR", "586366", "586366", ""),
		inv("G000000009", "2026-11-08T00:30:00.000+01:00", "", "", "OneTime", "invoice", "USD", "12.5", "", ""),
		inv("G000000010", "2026-11-08T01:00:00+02:00", "2026-10-01T00:00:00Z", "2026-10-31T23:59:59Z", "OneTime", "invoice", "USD", "0", "0", ""),
	})
	e.invoicesRun(t, resource.TestStep{
		Config: e.invoicesConfig(invoicesBlock("test", "") +
			invoicesBlock("since_offset", `since = "2026-11-08T00:15:00+01:00"`) +
			invoicesBlock("onetime", `invoice_type = "ONETIME"`+"\n"+`document_type = "Invoice"`) +
			invoicesBlock("none", `since = "2027-01-01"`)),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"), all),
			// 2026-11-07T23:15:00Z: the two at 23:30 and the one after.
			statecheck.ExpectKnownValue("data.partnerbilling_invoices.since_offset", tfjsonpath.New("invoices").AtSliceIndex(3).AtMapKey("id"),
				knownvalue.StringExact("G000000009")),
			statecheck.ExpectKnownValue("data.partnerbilling_invoices.since_offset", tfjsonpath.New("invoices"), knownvalue.ListSizeExact(4)),
			statecheck.ExpectKnownValue("data.partnerbilling_invoices.onetime", tfjsonpath.New("invoices"), knownvalue.ListSizeExact(4)),
			statecheck.ExpectKnownValue("data.partnerbilling_invoices.none", tfjsonpath.New("invoices"), knownvalue.ListExact([]knownvalue.Check{})),
		},
	})
	for _, r := range e.srv.PartnerCenterRequests() {
		if r.Path != "/v1/invoices" {
			t.Errorf("GET %s, want only /v1/invoices", r.Path)
		}
	}
}

// TestInvoicesEmptyListing: no invoice at all is an empty list, not null
// and not an error.
func TestInvoicesEmptyListing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoices()
	e.invoicesRun(t, resource.TestStep{
		Config: e.invoicesConfig(invoicesBlock("test", `since = "2026-11-01"`)),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"), knownvalue.ListExact([]knownvalue.Check{})),
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("since"), knownvalue.StringExact("2026-11-01")),
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{32}$`))),
		},
	})
}

// TestInvoicesSinceLowerCaseRFC3339: RFC 3339 allows a lower-case "t" and
// "z" (RFC 3339 §5.6, NOTE); such a since is valid.
func TestInvoicesSinceLowerCaseRFC3339(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoices()
	e.invoicesRun(t, resource.TestStep{
		Config: e.invoicesConfig(invoicesBlock("test", `since = "2026-11-01t00:00:00z"`)),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"), knownvalue.ListExact([]knownvalue.Check{})),
		},
	})
}

// TestInvoicesHeadersThroughTerraform: every GET of a read carries the
// Partner Center token, Accept: application/json, the User-Agent with the
// running CLI's version, a fresh MS-RequestId (retries included) and the
// read's one MS-CorrelationId (pages and retries alike); two reads never
// share a correlation id.
func TestInvoicesHeadersThroughTerraform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoices(fakegraph.DocInvoices...)
	e.srv.ScriptInvoices(fakegraph.PartnerCenterError(http.StatusServiceUnavailable, "503", "Service unavailable.", "Retry-After", "0.25"))
	e.invoicesRun(t, resource.TestStep{Config: e.invoicesConfig(invoicesBlock("test", ""))})
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	ua := regexp.MustCompile(`^terraform-provider-partnerbilling/test (Terraform|OpenTofu)/\d+\.\d+\.\d+\S*$`)
	reqIDs := map[string]bool{}
	reads := map[string][]string{}
	var order []string
	reqs := e.srv.PartnerCenterRequests()
	for _, r := range reqs {
		h := r.Header
		if h.Get("Accept") != "application/json" || !ua.MatchString(h.Get("User-Agent")) {
			t.Errorf("Accept %q, User-Agent %q", h.Get("Accept"), h.Get("User-Agent"))
		}
		id, corr := h.Get("MS-RequestId"), h.Get("MS-CorrelationId")
		if !guid.MatchString(id) || !guid.MatchString(corr) || reqIDs[id] {
			t.Errorf("MS-RequestId %q (repeated: %v), MS-CorrelationId %q", id, reqIDs[id], corr)
		}
		reqIDs[id] = true
		if _, seen := reads[corr]; !seen {
			order = append(order, corr)
		}
		reads[corr] = append(reads[corr], r.RawQuery)
	}
	bearersAt(t, reqs, fakegraph.PartnerCenterResource)
	for i, c := range order {
		want := "size=2&offset=0 size=2&offset=2"
		if i == 0 {
			want = "size=2&offset=0 " + want // the 503, retried with the same correlation id
		}
		if got := strings.Join(reads[c], " "); got != want {
			t.Errorf("read %d (%s) asked for %s, want %s", i+1, c, got, want)
		}
	}
	if len(order) < 2 {
		t.Errorf("%d reads, want the plan's and the apply's at least", len(order))
	}
	if s := fmt.Sprint(e.clock.Sleeps()); !strings.HasPrefix(s, "[250ms") {
		t.Errorf("sleeps %s, want Retry-After's 250ms first", s)
	}
	t.Logf("measured: %d reads, %d Partner Center GETs, %d Partner Center token requests", len(order), len(reqs),
		len(e.srv.TokenRequestsFor(fakegraph.PartnerCenterResource)))
}

// TestInvoices401DropsOnlyThePartnerCenterToken: a 401 from Partner Center
// drops that scope's token and retries once with a new one; the Graph
// token of the same process is neither dropped nor requested again.
func TestInvoices401DropsOnlyThePartnerCenterToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetInvoices(fakegraph.DocInvoices...)
	e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
	e.srv.ScriptInvoices(fakegraph.PartnerCenterError(http.StatusUnauthorized, "401", "Unauthorized"))
	e.invoicesRun(t, resource.TestStep{
		Config: e.invoicesConfig(invoicesBlock("test", "") + "\ndata \"partnerbilling_operation\" \"op\" {\n  id = \"" + docID + "\"\n}\n"),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"), knownvalue.ListSizeExact(5)),
		},
	})
	pc, graphTokens := len(e.srv.TokenRequestsFor(fakegraph.PartnerCenterResource)), len(e.srv.TokenRequestsFor(fakegraph.GraphResource))
	if pc != graphTokens+1 {
		t.Errorf("token requests: %d Partner Center, %d Graph; want one more for Partner Center (the 401) and one per process otherwise", pc, graphTokens)
	}
	reqs := e.srv.PartnerCenterRequests()
	if len(reqs) < 2 || reqs[0].Header.Get("Authorization") == reqs[1].Header.Get("Authorization") ||
		reqs[0].RawQuery != reqs[1].RawQuery || reqs[0].Header.Get("MS-CorrelationId") != reqs[1].Header.Get("MS-CorrelationId") {
		t.Errorf("the 401 was not retried once, in the same read, with a new token")
	}
	bearersAt(t, reqs, fakegraph.PartnerCenterResource)
	bearersAt(t, e.srv.GraphRequests(), fakegraph.GraphResource)
}

// TestInvoicesCannotReachEntra: a login host that cannot be reached while
// acquiring the Partner Center token is "Cannot Reach Microsoft Entra ID",
// as for Graph (SPEC §2): it names the host, suggests proxy, firewall and
// authority_host, and never says the credentials are wrong.
func TestInvoicesCannotReachEntra(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "https://" + ln.Addr().String()
	_ = ln.Close()
	e := newEnv(t)
	host := strings.TrimPrefix(refused, "https://")
	cfg := strings.Replace(e.invoicesConfig(invoicesBlock("test", "")),
		fmt.Sprintf("authority_host          = %q", e.srv.URL()), fmt.Sprintf("authority_host          = %q", refused), 1)
	if !strings.Contains(cfg, refused) {
		t.Fatal("the config does not use the refused authority")
	}
	check, mustFail := errorText(t, []string{
		"Error: Cannot Reach Microsoft Entra ID",
		"the Microsoft Entra ID sign-in host " + host + " could not be reached",
		"This is a network problem, not a sign of wrong credentials.",
		"HTTPS_PROXY and NO_PROXY", "authority_host (PARTNERBILLING_AUTHORITY_HOST)",
		"token for https://api.partnercenter.microsoft.com", "connection refused",
	}, notAboutCredentials)
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.invoicesFactories(), ErrorCheck: check,
		Steps: []resource.TestStep{{Config: cfg}}})
	mustFail()
	if n := e.pcRequests(); n != 0 {
		t.Errorf("%d Partner Center requests without a token", n)
	}
}

// TestInvoicesShareOneFailedTokenCycle: five invoice reads in one plan,
// against a token endpoint that answers 503, cost the token requests of one
// read (one retry cycle, shared and remembered per scope), not five.
func TestInvoicesShareOneFailedTokenCycle(t *testing.T) {
	t.Parallel()
	tokenRequests := func(reads int) int {
		e := newEnv(t)
		e.srv.SetInvoices(fakegraph.DocInvoices...)
		fail := make([]fakegraph.Response, 200)
		for i := range fail {
			fail[i] = fakegraph.Status(http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`, "Content-Type", "application/json")
		}
		e.srv.ScriptToken(fail...)
		blocks := ""
		for i := range reads {
			blocks += invoicesBlock(fmt.Sprintf("r%d", i), "")
		}
		e.invoicesRun(t, resource.TestStep{Config: e.invoicesConfig(blocks), ExpectError: regexp.MustCompile(`Partner Center|partnercenter`)})
		if n := e.pcRequests(); n != 0 {
			t.Errorf("%d Partner Center requests without a token", n)
		}
		return len(e.srv.TokenRequestsFor(fakegraph.PartnerCenterResource))
	}
	one, five := tokenRequests(1), tokenRequests(5)
	if one == 0 || five != one {
		t.Errorf("token requests: %d for one read, %d for five; want the same, one cycle", one, five)
	}
	t.Logf("measured: one failed token cycle = %d token requests, for 1 read and for 5", one)
}
