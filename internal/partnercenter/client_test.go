package partnercenter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/partnercenter"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/testclock"
)

const (
	tenant   = "00000000-0000-0000-0000-00000000000a"
	clientID = "00000000-0000-0000-0000-00000000000b"
	secret   = "fake-secret-value-1234567890"
)

// fakeTokens gets real Partner Center tokens from the fake's token endpoint,
// caching one and dropping it on Invalidate, as auth.ScopedToken does.
type fakeTokens struct {
	srv *fakegraph.Server

	mu       sync.Mutex
	token    string
	requests int
}

func (f *fakeTokens) Token(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.token != "" {
		return f.token, nil
	}
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {secret}, "scope": {fakegraph.PartnerCenterScope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL()+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := f.srv.HTTPClient().Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %d (%w)", res.StatusCode, err)
	}
	f.requests++
	f.token = body.AccessToken
	return f.token, nil
}

func (f *fakeTokens) Invalidate(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token == f.token {
		f.token = ""
	}
}

type fixture struct {
	srv    *fakegraph.Server
	tokens *fakeTokens
	clock  *testclock.Clock
	client *partnercenter.Client
}

func newFixture(t *testing.T, opts ...partnercenter.Option) *fixture {
	t.Helper()
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddClient(tenant, clientID, secret)
	f := &fixture{srv: srv, tokens: &fakeTokens{srv: srv}, clock: testclock.New()}
	base := []partnercenter.Option{
		partnercenter.WithEndpoint(srv.URL()),
		partnercenter.WithHTTPClient(srv.HTTPClient()),
		partnercenter.WithUserAgent("terraform-provider-partnerbilling/test Terraform/1.11.4"),
		partnercenter.WithRetryPolicy(httpx.RetryPolicy{
			MaxRetries: 3, Clock: f.clock, MinInterval: httpx.MinAttemptInterval,
			Backoff: httpx.Backoff{Initial: time.Second, Max: 4 * time.Second, Factor: 2},
		}),
		partnercenter.WithPageSize(2),
	}
	f.client, err = partnercenter.New(f.tokens, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// row is what a test compares of an invoice.
type row struct {
	ID, Date, Start, End, Type, Doc, Currency, Total, Paid, AmendsOf string
}

func rows(in []partnercenter.Invoice) []row {
	out := make([]row, len(in))
	for i, v := range in {
		out[i] = row{v.ID, v.InvoiceDate, v.BillingPeriodStartDate, v.BillingPeriodEndDate, v.InvoiceType, v.DocumentType,
			v.CurrencyCode, v.TotalCharges, v.PaidAmount, v.AmendsOf}
	}
	return out
}

// docRows is fakegraph.DocInvoices listed: amendments flattened once each,
// newest first, money exactly as sent.
var docRows = []row{
	{"G017301218", "2026-11-20T10:02:13.12Z", "2026-10-01T00:00:00Z", "2026-10-31T23:59:59Z", "OneTime", "adjustment_note", "USD", "-1021.40", "0", "G016907411"},
	{"G016907411", "2026-11-08T07:11:45.3468231Z", "2026-10-01T00:00:00Z", "2026-10-31T23:59:59Z", "OneTime", "invoice", "USD", "24606.35", "0", ""},
	{"D02005YFHI", "2026-11-08T01:22:47.603895Z", "2026-10-09T00:00:00", "2026-11-08T00:00:00", "Recurring", "invoice", "EUR", "586366", "586366", ""},
	{"G015500001", "2026-10-15T12:00:00Z", "", "", "OneTime", "void_note", "USD", "-318.00", "0", "G015012345"},
	{"G015012345", "2026-10-08T06:40:02.5Z", "2026-09-01T00:00:00Z", "2026-09-30T23:59:59Z", "OneTime", "invoice", "USD", "318.00", "0", ""},
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestListInvoicesPagesAndAmendments(t *testing.T) {
	f := newFixture(t)
	f.srv.SetInvoices(fakegraph.DocInvoices...)
	got, err := f.client.ListInvoices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(docRows, rows(got)); diff != "" {
		t.Errorf("invoices (-want +got):\n%s", diff)
	}
	reqs := f.srv.PartnerCenterRequests()
	var queries []string
	reqIDs := map[string]bool{}
	corr := map[string]bool{}
	for _, r := range reqs {
		queries = append(queries, r.Method+" "+r.Path+"?"+r.RawQuery)
		h := r.Header
		if h.Get("Accept") != "application/json" || h.Get("User-Agent") != "terraform-provider-partnerbilling/test Terraform/1.11.4" {
			t.Errorf("headers %v", h)
		}
		if !guidRE.MatchString(h.Get("MS-RequestId")) || !guidRE.MatchString(h.Get("MS-CorrelationId")) {
			t.Errorf("MS-RequestId %q, MS-CorrelationId %q: want GUIDs", h.Get("MS-RequestId"), h.Get("MS-CorrelationId"))
		}
		reqIDs[h.Get("MS-RequestId")] = true
		corr[h.Get("MS-CorrelationId")] = true
		tok, _ := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
		if aud := fakegraph.TokenAudience(tok); aud != fakegraph.PartnerCenterResource {
			t.Errorf("bearer token of audience %q went to Partner Center", aud)
		}
	}
	want := []string{"GET /v1/invoices?size=2&offset=0", "GET /v1/invoices?size=2&offset=2"}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if len(reqIDs) != 2 || len(corr) != 1 {
		t.Errorf("%d MS-RequestIds and %d MS-CorrelationIds over 2 requests of one read; want 2 and 1", len(reqIDs), len(corr))
	}
	// A second read has its own correlation id.
	f.srv.Reset()
	if _, err := f.client.ListInvoices(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.srv.PartnerCenterRequests() {
		if corr[r.Header.Get("MS-CorrelationId")] {
			t.Errorf("the second read reused the first read's MS-CorrelationId")
		}
	}
	if f.tokens.requests != 1 {
		t.Errorf("%d token requests, want 1", f.tokens.requests)
	}
}

func TestListInvoicesEmpty(t *testing.T) {
	f := newFixture(t)
	got, err := f.client.ListInvoices(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want no invoices", got, err)
	}
}

func TestNextLinks(t *testing.T) {
	foreign, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	one := fakegraph.InvoicePage("", fakegraph.DocInvoiceRecurring)
	for name, tc := range map[string]struct {
		next      string
		wantQuery string // the second request's path and query; "" when the read fails
		wantErr   string
	}{
		"relative to /v1":          {next: "/invoices?size=2&offset=2", wantQuery: "/v1/invoices?size=2&offset=2"},
		"with /v1":                 {next: "/v1/invoices?size=2&offset=2", wantQuery: "/v1/invoices?size=2&offset=2"},
		"without a leading slash":  {next: "invoices?size=2&offset=2", wantQuery: "/v1/invoices?size=2&offset=2"},
		"absolute, this endpoint":  {next: "SELF/v1/invoices?size=2&offset=2", wantQuery: "/v1/invoices?size=2&offset=2"},
		"absolute, a foreign host": {next: "FOREIGN/v1/invoices?size=2&offset=2", wantQuery: "/v1/invoices?size=2&offset=2"},
		"foreign host, another path": {next: "FOREIGN/steal?size=2",
			wantErr: `next link "FOREIGN/steal\?size=2": only links under /v1/invoices or /invoices are followed`},
		"another resource":  {next: "/v1/customers?size=2", wantErr: `next link "/v1/customers\?size=2": only links under`},
		"a dot segment":     {next: "/invoices/../customers", wantErr: `"/invoices/../customers": its path has a dot segment`},
		"an encoded slash":  {next: "/invoices%2Fcustomers", wantErr: `encoded or backward slash`},
		"encoded dots":      {next: "/invoices%2F..%2Fcustomers", wantErr: `dot segment`},
		"scheme-relative":   {next: "//evil.example/v1/invoices?size=2&offset=2", wantQuery: "/v1/invoices?size=2&offset=2"},
		"userinfo redacted": {next: "https://user:hunter2@evil.example/x", wantErr: `next link "https://evil.example/x": only links under`},
		"repeated":          {next: "/invoices?size=2&offset=0", wantErr: `next link "/invoices\?size=2&offset=0": it points at a page already read \(/v1/invoices\?size=2&offset=0\)`},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			next := strings.NewReplacer("SELF", f.srv.URL(), "FOREIGN", foreign.URL()).Replace(tc.next)
			f.srv.ScriptInvoices(fakegraph.OK(fakegraph.InvoicePage(next, fakegraph.DocInvoiceOneTime)), fakegraph.OK(one))
			foreign.Reset()
			got, err := f.client.ListInvoices(context.Background())
			reqs := f.srv.PartnerCenterRequests()
			if len(foreign.Requests()) != 0 {
				t.Errorf("the foreign host received %d requests", len(foreign.Requests()))
			}
			if tc.wantErr != "" {
				want := strings.ReplaceAll(tc.wantErr, "FOREIGN", regexp.QuoteMeta(foreign.URL()))
				if err == nil || !regexp.MustCompile(want).MatchString(err.Error()) || !errors.Is(err, partnercenter.ErrListing) {
					t.Fatalf("error %v, want one matching %s", err, want)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error repeats the link's password: %v", err)
				}
				if len(reqs) != 1 {
					t.Errorf("%d requests, want 1 (the link is not followed)", len(reqs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || len(reqs) != 2 || reqs[1].Path+"?"+reqs[1].RawQuery != tc.wantQuery {
				t.Fatalf("%d invoices, requests %v; want 3 invoices, second request %s", len(got), reqs, tc.wantQuery)
			}
		})
	}
}

func TestAHundredAndFirstPageFails(t *testing.T) {
	f := newFixture(t)
	for i := range partnercenter.MaxPages {
		f.srv.ScriptInvoices(fakegraph.OK(fakegraph.InvoicePage(fmt.Sprintf("/invoices?size=2&offset=%d", 2*(i+1)))))
	}
	_, err := f.client.ListInvoices(context.Background())
	if err == nil || !strings.Contains(err.Error(), `next link "/invoices?size=2&offset=200": it would be page 101; a listing reads at most 100 pages`) {
		t.Fatalf("error %v", err)
	}
	if n := len(f.srv.PartnerCenterRequests()); n != 100 {
		t.Errorf("%d requests, want 100", n)
	}
}

func TestThrottling(t *testing.T) {
	f := newFixture(t)
	f.srv.SetInvoices(fakegraph.DocInvoiceOneTime)
	f.srv.ScriptInvoices(
		fakegraph.PartnerCenterError(http.StatusTooManyRequests, "429", "Rate limit is exceeded.", "Retry-After", "2.128"),
		fakegraph.PartnerCenterError(http.StatusServiceUnavailable, "503", "Service unavailable."),
	)
	got, err := f.client.ListInvoices(context.Background())
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d invoices, %v", len(got), err)
	}
	sleeps := f.clock.Sleeps()
	if len(sleeps) != 2 || sleeps[0] != 2128*time.Millisecond || sleeps[1] < time.Second || sleeps[1] > 2*time.Second {
		t.Errorf("sleeps %v, want [2.128s, the second backoff in 1s..2s]", sleeps)
	}
	if n := len(f.srv.PartnerCenterRequests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetryAfterPastTheBudgetFailsAtOnce(t *testing.T) {
	f := newFixture(t)
	f.srv.ScriptInvoices(fakegraph.PartnerCenterError(http.StatusTooManyRequests, "429", "Rate limit is exceeded.", "Retry-After", "600"))
	_, err := f.client.ListInvoices(context.Background())
	if err == nil || !errors.Is(err, partnercenter.ErrDeadline) ||
		!strings.Contains(err.Error(), "Partner Center asked to wait 10m0s (600 s) (Retry-After) before retrying, longer than the 5m0s a read of the invoices may take") {
		t.Fatalf("error %v", err)
	}
	if len(f.clock.Sleeps()) != 0 {
		t.Errorf("slept %v", f.clock.Sleeps())
	}
}

func TestGivingUpNamesTheLastError(t *testing.T) {
	f := newFixture(t)
	f.srv.ScriptInvoices(
		fakegraph.PartnerCenterError(500, "500", "a"), fakegraph.PartnerCenterError(500, "500", "b"),
		fakegraph.PartnerCenterError(500, "500", "c"), fakegraph.PartnerCenterError(500, "500", "d"))
	_, err := f.client.ListInvoices(context.Background())
	if err == nil || !strings.Contains(err.Error(), "giving up after 4 attempts: GET /v1/invoices?size=2&offset=0: HTTP 500 Internal Server Error: 500: d") {
		t.Fatalf("error %v", err)
	}
}

func TestErrorsNameStatusCodeDescriptionAndIDs(t *testing.T) {
	f := newFixture(t)
	f.srv.ScriptInvoices(fakegraph.PartnerCenterError(http.StatusForbidden, "600012",
		"Partner is not authorized.\x1b[2J", "MS-RequestId", "11111111-2222-4333-8444-555555555555", "MS-CorrelationId", "66666666-7777-4888-9999-000000000000"))
	_, err := f.client.ListInvoices(context.Background())
	var pe *partnercenter.Error
	if !errors.As(err, &pe) || !errors.Is(err, partnercenter.ErrForbidden) {
		t.Fatalf("error %v, want a 403 *partnercenter.Error", err)
	}
	want := "GET /v1/invoices?size=2&offset=0: HTTP 403 Forbidden: 600012: Partner is not authorized.[2J " +
		"(MS-RequestId: 11111111-2222-4333-8444-555555555555, MS-CorrelationId: 66666666-7777-4888-9999-000000000000)"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	if n := len(f.srv.PartnerCenterRequests()); n != 1 {
		t.Errorf("%d requests, want 1 (403 is not retried)", n)
	}
}

func TestEchoedIDs(t *testing.T) {
	f := newFixture(t)
	f.srv.ScriptInvoices(fakegraph.PartnerCenterError(http.StatusBadRequest, "600039", "The size parameter must be between 1 and 200."))
	_, err := f.client.ListInvoices(context.Background())
	req := f.srv.PartnerCenterRequests()[0]
	for _, h := range []string{"MS-RequestId", "MS-CorrelationId"} {
		if !strings.Contains(fmt.Sprint(err), h+": "+req.Header.Get(h)) {
			t.Errorf("error %v does not name %s %s", err, h, req.Header.Get(h))
		}
	}
}

func TestUnauthorizedRefreshesTheTokenOnce(t *testing.T) {
	f := newFixture(t)
	f.srv.SetInvoices(fakegraph.DocInvoiceRecurring)
	if _, err := f.client.ListInvoices(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.srv.RevokeTokens()
	got, err := f.client.ListInvoices(context.Background())
	if err != nil || len(got) != 1 {
		t.Fatalf("after revocation: %d invoices, %v", len(got), err)
	}
	if f.tokens.requests != 2 {
		t.Errorf("%d token requests, want 2", f.tokens.requests)
	}
	// A 401 that persists fails after one refresh.
	f.srv.ScriptInvoices(fakegraph.PartnerCenterError(401, "401", "Unauthorized"), fakegraph.PartnerCenterError(401, "401", "Unauthorized"))
	f.srv.Reset()
	_, err = f.client.ListInvoices(context.Background())
	if !errors.Is(err, partnercenter.ErrUnauthorized) || len(f.srv.PartnerCenterRequests()) != 2 || f.tokens.requests != 3 {
		t.Errorf("error %v after %d requests and %d token requests; want 401 after 2 and 3", err, len(f.srv.PartnerCenterRequests()), f.tokens.requests)
	}
}

func TestUnreadableBodies(t *testing.T) {
	for name, tc := range map[string]struct {
		resp fakegraph.Response
		want string
	}{
		"html":      {fakegraph.Status(200, "<html>proxy</html>", "Content-Type", "text/html"), `HTTP 200 with an unreadable body (text/html): not an invoice collection`},
		"truncated": {fakegraph.OK(`{"items": [`), "not an invoice collection: unexpected end of JSON input"},
		"no items":  {fakegraph.OK(`{}`), `no "items" array`},
		"money as text that is no number": {fakegraph.OK(fakegraph.InvoicePage("", `{"id":"G1","invoiceDate":"2026-11-01T00:00:00Z","totalCharges":"lots"}`)),
			"not an invoice collection"},
		"no invoice date": {fakegraph.OK(fakegraph.InvoicePage("", `{"id":"G1"}`)), `invoice "G1" has no readable invoiceDate`},
		"no id":           {fakegraph.OK(fakegraph.InvoicePage("", `{"invoiceDate":"2026-11-01T00:00:00Z"}`)), "an invoice without an id"},
		"too large":       {fakegraph.OK(fakegraph.InvoicePage("", strings.Repeat(fakegraph.DocInvoiceOneTime+",", 400)+fakegraph.DocInvoiceOneTime)), "response body exceeds 65536 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, partnercenter.WithMaxBodyBytes(64<<10))
			f.srv.ScriptInvoices(tc.resp)
			_, err := f.client.ListInvoices(context.Background())
			var de *partnercenter.DecodeError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a DecodeError containing %q", err, tc.want)
			}
			sent := f.srv.PartnerCenterRequests()[0].Header
			if !strings.Contains(err.Error(), "(MS-RequestId: "+sent.Get("MS-RequestId")+", MS-CorrelationId: "+sent.Get("MS-CorrelationId")+")") {
				t.Errorf("error %v does not name the request's MS-RequestId and MS-CorrelationId", err)
			}
		})
	}
}

func TestMoneyAsAStringNumber(t *testing.T) {
	f := newFixture(t)
	f.srv.ScriptInvoices(fakegraph.OK(fakegraph.InvoicePage("", `{"id":"G1","invoiceDate":"2026-11-01T00:00:00Z","totalCharges":"12.50","paidAmount":1e3}`)))
	got, err := f.client.ListInvoices(context.Background())
	if err != nil || len(got) != 1 || got[0].TotalCharges != "12.50" || got[0].PaidAmount != "1e3" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestFilter(t *testing.T) {
	f := newFixture(t)
	f.srv.SetInvoices(fakegraph.DocInvoices...)
	all, err := f.client.ListInvoices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := func(in []partnercenter.Invoice) []string {
		out := []string{}
		for _, v := range in {
			out = append(out, v.ID)
		}
		return out
	}
	since := func(s string) time.Time {
		t.Helper()
		v, err := partnercenter.ParseSince(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for name, tc := range map[string]struct {
		f    partnercenter.Filter
		want []string
	}{
		"none":                   {partnercenter.Filter{}, []string{"G017301218", "G016907411", "D02005YFHI", "G015500001", "G015012345"}},
		"since a date":           {partnercenter.Filter{Since: since("2026-11-08")}, []string{"G017301218", "G016907411", "D02005YFHI"}},
		"since a timestamp":      {partnercenter.Filter{Since: since("2026-11-08T02:00:00Z")}, []string{"G017301218", "G016907411"}},
		"since, with an offset":  {partnercenter.Filter{Since: since("2026-11-08T03:00:00+02:00")}, []string{"G017301218", "G016907411", "D02005YFHI"}},
		"since the exact moment": {partnercenter.Filter{Since: since("2026-10-15T12:00:00Z")}, []string{"G017301218", "G016907411", "D02005YFHI", "G015500001"}},
		"onetime":                {partnercenter.Filter{InvoiceType: "onetime"}, []string{"G017301218", "G016907411", "G015500001", "G015012345"}},
		"Recurring":              {partnercenter.Filter{InvoiceType: "Recurring"}, []string{"D02005YFHI"}},
		"invoice":                {partnercenter.Filter{DocumentType: "INVOICE"}, []string{"G016907411", "D02005YFHI", "G015012345"}},
		"void notes":             {partnercenter.Filter{DocumentType: "void_note"}, []string{"G015500001"}},
		"all three":              {partnercenter.Filter{Since: since("2026-11-01"), InvoiceType: "OneTime", DocumentType: "invoice"}, []string{"G016907411"}},
		"nothing matches":        {partnercenter.Filter{Since: since("2027-01-01")}, []string{}},
	} {
		if diff := cmp.Diff(tc.want, ids(tc.f.Apply(all)), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestParseSince(t *testing.T) {
	for _, ok := range []string{"2026-11-01", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00.5+01:00"} {
		if _, err := partnercenter.ParseSince(ok); err != nil {
			t.Errorf("ParseSince(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "2026-13-01", "2026-11-1", "11/01/2026", "2026-11-01T00:00:00", "yesterday"} {
		if _, err := partnercenter.ParseSince(bad); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
			t.Errorf("ParseSince(%q) = %v", bad, err)
		}
	}
	d, _ := partnercenter.ParseSince("2026-11-01")
	if !d.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("2026-11-01 is %s, want midnight UTC", d)
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, ok := range []string{"https://api.partnercenter.microsoft.com", "https://api.partnercenter.microsoft.com/", "https://127.0.0.1:8443"} {
		if _, err := partnercenter.ParseEndpoint(ok); err != nil {
			t.Errorf("ParseEndpoint(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"http://api.partnercenter.microsoft.com", "https://api.partnercenter.microsoft.com/v1", "https://user:hunter2@host",
		"https://host?x=1", "https://host#f", "api.partnercenter.microsoft.com", "https://user:hun%zzter2@host", "https://"} {
		_, err := partnercenter.ParseEndpoint(bad)
		if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "hun%zz") {
			t.Errorf("ParseEndpoint(%q) = %v", bad, err)
		}
	}
}

func TestInterruptStopsAThrottledRead(t *testing.T) {
	f := newFixture(t, partnercenter.WithRetryPolicy(httpx.DefaultRetryPolicy()))
	f.srv.ScriptInvoices(fakegraph.PartnerCenterError(http.StatusTooManyRequests, "429", "slow down", "Retry-After", "30"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := f.client.ListInvoices(ctx)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("error %v after %s", err, time.Since(start))
	}
}
