package partnercenter_test

import (
	"context"
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
