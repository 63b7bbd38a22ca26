package partnercenter

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Invoice is one Partner Center invoice (or an amendment of one: a void or
// adjustment note), with the strings as the service sent them.
type Invoice struct {
	ID                     string
	InvoiceDate            string // as sent (see Date)
	BillingPeriodStartDate string // "" when absent
	BillingPeriodEndDate   string // "" when absent
	InvoiceType            string // OneTime, Recurring, or what the service sends
	DocumentType           string // invoice, void_note, adjustment_note, …
	CurrencyCode           string
	// TotalCharges and PaidAmount hold the JSON number exactly as sent
	// ("24606.35", "-318.00"): money is never a float. "" when absent.
	TotalCharges, PaidAmount string
	AmendsOf                 string // "" unless it amends another invoice
	// Date is InvoiceDate parsed (no offset means UTC).
	Date time.Time
}

// ListInvoices reads every page of GET {endpoint}/v1/invoices and returns
// the invoices with their amendments flattened (each id once), newest first
// (by invoice date, then id descending). A listing is complete or it fails:
// a next link off /v1/invoices, a repeated one or a 101st page is an error
// naming the link. Without a deadline in ctx the whole listing has the read
// budget (5 minutes).
func (c *Client) ListInvoices(ctx context.Context) ([]Invoice, error) {
	rd := &read{correlationID: newGUID(), outer: ctx}
	if d, ok := ctx.Deadline(); ok {
		rd.deadline = d
	} else {
		rd.budget = c.readBudget
		rd.deadline = c.retry.Clock.Now().Add(c.readBudget)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.readBudget)
		defer cancel()
	}
	rel := fmt.Sprintf("%s/invoices?size=%d&offset=0", apiPrefix, c.pageSize)
	fetched := map[string]bool{}
	var items []rawInvoice
	for page := 1; ; page++ {
		fetched[rel] = true
		resp, err := c.get(ctx, rd, rel)
		if err != nil {
			return nil, err
		}
		pageItems, link, err := decodePage(resp.body)
		if err != nil {
			return nil, resp.decodeError(err)
		}
		if err := checkInvoices(pageItems); err != nil {
			return nil, resp.decodeError(err)
		}
		items = append(items, pageItems...)
		if link == "" {
			break
		}
		next, reason := nextPath(link)
		switch {
		case reason != "":
			return nil, &ListingError{Link: link, Reason: reason}
		case fetched[next]:
			return nil, &ListingError{Link: link, Reason: "it points at a page already read (" + next + "), so the listing would never end"}
		case page == MaxPages:
			return nil, &ListingError{Link: link, Reason: fmt.Sprintf("it would be page %d; a listing reads at most %d pages", MaxPages+1, MaxPages)}
		}
		rel = next
	}
	return flatten(items)
}

// nextPath reduces a next link to the path and query to request under the
// endpoint, or says why it is not followed. A relative link is relative to
// {endpoint}/v1 ("/invoices?size=200&offset=200"); an absolute one loses its
// scheme and host (the token never leaves the endpoint); only paths under
// /v1/invoices or /invoices are followed.
func nextPath(link string) (string, string) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || u.Opaque != "" {
		return "", "it is not a valid URL"
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return "", "its path has a dot segment"
		}
	}
	if strings.ContainsAny(u.Path, `\`) || strings.Contains(strings.ToLower(p), "%2f") {
		return "", "its path has an encoded or backward slash"
	}
	under := func(prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }
	switch {
	case under(apiPrefix + "/invoices"):
	case under("/invoices"):
		p = apiPrefix + p
	default:
		return "", "only links under /v1/invoices or /invoices are followed, on the configured partner_center_endpoint"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, ""
}

// redactLink drops a userinfo part from a link before it is shown.
func redactLink(link string) string {
	if u, err := url.Parse(link); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return link
}

type rawInvoice struct {
	ID                     *string      `json:"id"`
	InvoiceDate            *string      `json:"invoiceDate"`
	BillingPeriodStartDate *string      `json:"billingPeriodStartDate"`
	BillingPeriodEndDate   *string      `json:"billingPeriodEndDate"`
	TotalCharges           json.Number  `json:"totalCharges"`
	PaidAmount             json.Number  `json:"paidAmount"`
	CurrencyCode           *string      `json:"currencyCode"`
	DocumentType           *string      `json:"documentType"`
	InvoiceType            *string      `json:"invoiceType"`
	AmendsOf               *string      `json:"amendsOf"`
	Amendments             []rawInvoice `json:"amendments"`
}

type rawPage struct {
	Items *[]rawInvoice `json:"items"`
	Links struct {
		Next *struct {
			URI string `json:"uri"`
		} `json:"next"`
	} `json:"links"`
}

// decodePage reads one collection page: its items and its next link ("" for none).
func decodePage(body []byte) ([]rawInvoice, string, error) {
	var raw rawPage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, "", fmt.Errorf("not an invoice collection: %w", err)
	}
	if raw.Items == nil {
		return nil, "", errors.New(`not an invoice collection: no "items" array`)
	}
	next := ""
	if raw.Links.Next != nil {
		next = strings.TrimSpace(raw.Links.Next.URI)
	}
	return *raw.Items, next, nil
}

// flatten lists each invoice and, after it, its amendments (recursively),
// each id once; an amendment without amendsOf amends the invoice it is
// nested in. Then it sorts newest first.
func flatten(items []rawInvoice) ([]Invoice, error) {
	var out []Invoice
	index := map[string]int{}
	var walk func(r rawInvoice, parent string) error
	walk = func(r rawInvoice, parent string) error {
		inv, err := invoiceFrom(r)
		if err != nil {
			return err
		}
		if inv.AmendsOf == "" {
			inv.AmendsOf = parent
		}
		if i, seen := index[inv.ID]; seen {
			if out[i].AmendsOf == "" {
				out[i].AmendsOf = inv.AmendsOf
			}
		} else {
			index[inv.ID] = len(out)
			out = append(out, inv)
		}
		for _, a := range r.Amendments {
			if err := walk(a, inv.ID); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range items {
		if err := walk(r, ""); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(out, func(a, b Invoice) int {
		if c := b.Date.Compare(a.Date); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// checkInvoices refuses a page with an invoice (or a nested amendment)
// that has no id or no readable invoiceDate: it could be neither keyed nor
// placed in time.
func checkInvoices(items []rawInvoice) error {
	for _, r := range items {
		if _, err := invoiceFrom(r); err != nil {
			return err
		}
		if err := checkInvoices(r.Amendments); err != nil {
			return err
		}
	}
	return nil
}

func invoiceFrom(r rawInvoice) (Invoice, error) {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	inv := Invoice{
		ID: str(r.ID), InvoiceDate: str(r.InvoiceDate),
		BillingPeriodStartDate: str(r.BillingPeriodStartDate), BillingPeriodEndDate: str(r.BillingPeriodEndDate),
		InvoiceType: str(r.InvoiceType), DocumentType: str(r.DocumentType), CurrencyCode: str(r.CurrencyCode),
		TotalCharges: r.TotalCharges.String(), PaidAmount: r.PaidAmount.String(), AmendsOf: str(r.AmendsOf),
	}
	if strings.TrimSpace(inv.ID) == "" {
		return Invoice{}, errors.New("an invoice without an id")
	}
	d, ok := parseTime(inv.InvoiceDate)
	if !ok {
		return Invoice{}, fmt.Errorf("invoice %q has no readable invoiceDate (%q)", inv.ID, inv.InvoiceDate)
	}
	inv.Date = d
	return inv, nil
}

// parseTime reads an RFC 3339 date-time; without an offset it is UTC (the
// service sometimes omits it). It reads every form the state's
// normalisation (graph.NormalizeTimestamp) keeps: "t", "z" and a space
// between date and time as well.
func parseTime(s string) (time.Time, bool) {
	s = canonicalTime(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// The values the filters take (compared case-insensitively).
var (
	InvoiceTypes  = []string{"OneTime", "Recurring"}
	DocumentTypes = []string{"invoice", "void_note", "adjustment_note"}
)

// Filter selects invoices after listing; zero fields select everything.
type Filter struct {
	Since        time.Time // invoices dated at or after
	InvoiceType  string    // compared case-insensitively
	DocumentType string    // compared case-insensitively
}

// Apply returns the invoices f selects, in their order.
func (f Filter) Apply(in []Invoice) []Invoice {
	out := []Invoice{}
	for _, inv := range in {
		switch {
		case !f.Since.IsZero() && inv.Date.Before(f.Since):
		case f.InvoiceType != "" && !strings.EqualFold(f.InvoiceType, inv.InvoiceType):
		case f.DocumentType != "" && !strings.EqualFold(f.DocumentType, inv.DocumentType):
		default:
			out = append(out, inv)
		}
	}
	return out
}

// ParseSince reads a since filter: YYYY-MM-DD (midnight UTC) or RFC 3339.
func ParseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, canonicalTime(s)); err == nil && strings.IndexByte(s, ' ') < 0 {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expected a date (YYYY-MM-DD, midnight UTC) such as 2026-11-01, or an RFC 3339 timestamp such as 2026-11-01T00:00:00Z, got %q", s)
}

// canonicalTime upper-cases the "t" and "z" RFC 3339 allows in lower case
// (RFC 3339 §5.6) and turns a space between date and time into "T", so that
// Go's parser, which wants "T" and "Z", reads them.
func canonicalTime(s string) string {
	if len(s) > 10 && (s[10] == 't' || s[10] == ' ') {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	return s
}
