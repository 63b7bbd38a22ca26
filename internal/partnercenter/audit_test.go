package partnercenter_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/partnercenter"
)

// TestRFC3339LowerCaseAndSpace: RFC 3339 allows "t" and "z" in lower case;
// since takes them, and an invoiceDate in any form the state's
// normalisation keeps (a space between date and time too) is read, not
// refused as unreadable.
func TestRFC3339LowerCaseAndSpace(t *testing.T) {
	want := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for _, s := range []string{"2026-11-01t10:00:00z", "2026-11-01T10:00:00z", "2026-11-01t11:00:00+01:00"} {
		got, err := partnercenter.ParseSince(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %s, %v", s, got, err)
		}
	}
	if _, err := partnercenter.ParseSince("2026-11-01 10:00:00Z"); err == nil {
		t.Error("ParseSince accepted a space, which RFC 3339 does not allow")
	}

	f := newFixture(t)
	f.srv.ScriptInvoices(fakegraph.OK(fakegraph.InvoicePage("",
		`{"id":"G1","invoiceDate":"2026-11-01t10:00:00z"}`,
		`{"id":"G2","invoiceDate":"2026-11-01 10:30:00"}`,
		`{"id":"G3","invoiceDate":"2026-11-01T09:00:00.5Z"}`)))
	got, err := f.client.ListInvoices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, inv := range got {
		ids = append(ids, inv.ID)
	}
	if len(got) != 3 || ids[0] != "G2" || ids[1] != "G1" || ids[2] != "G3" || !got[1].Date.Equal(want) {
		t.Errorf("got %v (%+v), want G2, G1, G3 with G1 at %s", ids, got, want)
	}
}

// TestPageWithoutLinks: a page without "links", with "links" but no
// "next", or with a null next ends the listing.
func TestPageWithoutLinks(t *testing.T) {
	for name, body := range map[string]string{
		"no links":  `{"totalCount":1,"items":[{"id":"G1","invoiceDate":"2026-11-01T00:00:00Z"}]}`,
		"no next":   `{"totalCount":7,"items":[{"id":"G1","invoiceDate":"2026-11-01T00:00:00Z"}],"links":{"self":{"uri":"/invoices"}}}`,
		"null next": `{"totalCount":1,"items":[{"id":"G1","invoiceDate":"2026-11-01T00:00:00Z"}],"links":{"next":null}}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.srv.ScriptInvoices(fakegraph.OK(body))
			got, err := f.client.ListInvoices(context.Background())
			if err != nil || len(got) != 1 || len(f.srv.PartnerCenterRequests()) != 1 {
				t.Errorf("got %+v, %v after %d requests", got, err, len(f.srv.PartnerCenterRequests()))
			}
		})
	}
}

// TestRetryStatusesAndRetryAfterForms: 408, 429, 500, 502, 503 and 504 are
// retried (a GET is idempotent); 400 and 404 are not. Retry-After is read
// in seconds with a fraction or as an HTTP-date; anything else falls back to
// backoff; no two attempts are closer than 100 ms.
func TestRetryStatusesAndRetryAfterForms(t *testing.T) {
	for _, status := range []int{408, 429, 500, 502, 503, 504} {
		f := newFixture(t)
		f.srv.SetInvoices(fakegraph.DocInvoiceRecurring)
		f.srv.ScriptInvoices(fakegraph.PartnerCenterError(status, "x", "transient", "Retry-After", "0.5"))
		if got, err := f.client.ListInvoices(context.Background()); err != nil || len(got) != 1 {
			t.Errorf("HTTP %d: %d invoices, %v", status, len(got), err)
		}
		if n := len(f.srv.PartnerCenterRequests()); n != 2 || fmt.Sprint(f.clock.Sleeps()) != "[500ms]" {
			t.Errorf("HTTP %d: %d requests, sleeps %v; want 2 and [500ms]", status, n, f.clock.Sleeps())
		}
	}
	for _, status := range []int{400, 404, 409} {
		f := newFixture(t)
		f.srv.ScriptInvoices(fakegraph.PartnerCenterError(status, "600039", "no", "Retry-After", "1"))
		if _, err := f.client.ListInvoices(context.Background()); err == nil || len(f.srv.PartnerCenterRequests()) != 1 {
			t.Errorf("HTTP %d: %v after %d requests, want an error after 1", status, err, len(f.srv.PartnerCenterRequests()))
		}
	}
	for header, want := range map[string]func(time.Duration) bool{
		"http-date": func(d time.Duration) bool { return d > 2*time.Second && d <= 3*time.Second }, // the date has whole seconds,
		"0":         func(d time.Duration) bool { return d == 100*time.Millisecond },
		"1e3":       func(d time.Duration) bool { return d >= 500*time.Millisecond && d <= 1500*time.Millisecond },
		"-2":        func(d time.Duration) bool { return d >= 500*time.Millisecond && d <= 1500*time.Millisecond },
		"inf":       func(d time.Duration) bool { return d >= 500*time.Millisecond && d <= 1500*time.Millisecond },
	} {
		f := newFixture(t)
		f.srv.SetInvoices(fakegraph.DocInvoiceRecurring)
		v := header
		if header == "http-date" {
			v = f.clock.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
		}
		f.srv.ScriptInvoices(fakegraph.PartnerCenterError(429, "429", "slow down", "Retry-After", v))
		if _, err := f.client.ListInvoices(context.Background()); err != nil {
			t.Errorf("Retry-After %q: %v", v, err)
			continue
		}
		if s := f.clock.Sleeps(); len(s) != 1 || !want(s[0]) {
			t.Errorf("Retry-After %q: sleeps %v", v, s)
		}
	}
}

// TestByteOrderMark: a body that starts with a UTF-8 byte order mark, as
// .NET services such as Partner Center may send, is read (RFC 8259 §8.1
// lets a parser ignore it), on a page and on an error alike.
func TestByteOrderMark(t *testing.T) {
	f := newFixture(t)
	f.srv.ScriptInvoices(
		fakegraph.Status(http.StatusBadRequest, "\ufeff"+`{"code":600039,"description":"The size parameter is invalid."}`, "Content-Type", "application/json"),
		fakegraph.OK("\ufeff"+fakegraph.InvoicePage("", fakegraph.DocInvoiceRecurring)))
	_, err := f.client.ListInvoices(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HTTP 400 Bad Request: 600039: The size parameter is invalid.") {
		t.Errorf("error %v, want the code and description of the body", err)
	}
	got, err := f.client.ListInvoices(context.Background())
	if err != nil || len(got) != 1 || got[0].ID != fakegraph.DocInvoiceRecurringID {
		t.Errorf("got %+v, %v", got, err)
	}
}

// TestLogLinesNameTheIDs: each attempt's log line names the MS-RequestId
// and MS-CorrelationId; when the service echoes none, the ones sent.
func TestLogLinesNameTheIDs(t *testing.T) {
	var lines []map[string]any
	f := newFixture(t, partnercenter.WithLogger(func(_ context.Context, msg string, fields map[string]any) {
		if msg == "Partner Center request" {
			lines = append(lines, fields)
		}
	}))
	f.srv.ScriptInvoices(fakegraph.OK(fakegraph.InvoicePage("", fakegraph.DocInvoiceRecurring)))
	if _, err := f.client.ListInvoices(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := f.srv.PartnerCenterRequests()[0].Header
	if len(lines) != 1 || lines[0]["ms_request_id"] != sent.Get("MS-RequestId") || lines[0]["ms_correlation_id"] != sent.Get("MS-CorrelationId") ||
		lines[0]["status"] != 200 || lines[0]["attempt"] != 1 {
		t.Errorf("log lines %v, want one naming %s and %s", lines, sent.Get("MS-RequestId"), sent.Get("MS-CorrelationId"))
	}
}
