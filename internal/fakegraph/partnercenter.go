package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The fake Partner Center invoice API (SPEC §6): GET /v1/invoices?size=&offset=
// on the same server as everything else, so that its URL serves as
// partner_center_endpoint too. Its answers carry MS-RequestId (the request's
// own, echoed, or a fresh one) and MS-CorrelationId (echoed); errors are
// Partner Center's {"code","description"} JSON.

// InvoicesPath is the path of the invoice collection.
const InvoicesPath = "/v1/invoices"

// Realistic invoices, shaped like Microsoft's documented examples: a
// new-commerce OneTime invoice with an adjustment note amending it, a
// legacy Recurring invoice, and an earlier OneTime invoice voided by a void
// note that Partner Center lists both inside it and at the top level.
// Money is sent as JSON numbers, as the service does.
const (
	DocInvoiceOneTimeID    = "G016907411"
	DocInvoiceAdjustmentID = "G017301218"
	DocInvoiceRecurringID  = "D02005YFHI"
	DocInvoiceVoidedID     = "G015012345"
	DocInvoiceVoidNoteID   = "G015500001"

	// DocInvoiceOneTime is DocInvoiceOneTimeID with its adjustment note as an amendment.
	DocInvoiceOneTime = `{
  "id": "G016907411",
  "invoiceDate": "2026-11-08T07:11:45.3468231Z",
  "billingPeriodStartDate": "2026-10-01T00:00:00Z",
  "billingPeriodEndDate": "2026-10-31T23:59:59Z",
  "totalCharges": 24606.35,
  "paidAmount": 0,
  "currencyCode": "USD",
  "currencySymbol": "$",
  "pdfDownloadLink": "/invoices/G016907411/documents/statement",
  "invoiceDetails": [
    {
      "invoiceLineItemType": "BillingLineItems",
      "billingProvider": "OneTime",
      "links": {"self": {"uri": "/invoices/G016907411/lineitems/OneTime/BillingLineItems", "method": "GET", "headers": []}},
      "attributes": {"objectType": "InvoiceDetail"}
    }
  ],
  "documentType": "invoice",
  "invoiceType": "OneTime",
  "amendments": [
    {
      "id": "G017301218",
      "invoiceDate": "2026-11-20T10:02:13.12Z",
      "billingPeriodStartDate": "2026-10-01T00:00:00Z",
      "billingPeriodEndDate": "2026-10-31T23:59:59Z",
      "totalCharges": -1021.40,
      "paidAmount": 0,
      "currencyCode": "USD",
      "currencySymbol": "$",
      "pdfDownloadLink": "/invoices/G017301218/documents/statement",
      "invoiceDetails": [],
      "documentType": "adjustment_note",
      "invoiceType": "OneTime",
      "amendsOf": "G016907411",
      "amendments": [],
      "links": {"self": {"uri": "/invoices/G017301218", "method": "GET", "headers": []}},
      "attributes": {"objectType": "Invoice"}
    }
  ],
  "links": {"self": {"uri": "/invoices/G016907411", "method": "GET", "headers": []}},
  "attributes": {"objectType": "Invoice"}
}`

	// DocInvoiceRecurring is a legacy (license-based) invoice; its billing
	// period has no offset, as the service sometimes sends.
	DocInvoiceRecurring = `{
  "id": "D02005YFHI",
  "invoiceDate": "2026-11-08T01:22:47.603895Z",
  "billingPeriodStartDate": "2026-10-09T00:00:00",
  "billingPeriodEndDate": "2026-11-08T00:00:00",
  "totalCharges": 586366,
  "paidAmount": 586366,
  "currencyCode": "EUR",
  "currencySymbol": "€",
  "pdfDownloadLink": "/invoices/D02005YFHI/documents/statement",
  "invoiceDetails": [
    {
      "invoiceLineItemType": "BillingLineItems",
      "billingProvider": "Office",
      "links": {"self": {"uri": "/invoices/D02005YFHI/lineitems/Office/BillingLineItems", "method": "GET", "headers": []}},
      "attributes": {"objectType": "InvoiceDetail"}
    },
    {
      "invoiceLineItemType": "UsageLineItems",
      "billingProvider": "Azure",
      "links": {"self": {"uri": "/invoices/D02005YFHI/lineitems/Azure/UsageLineItems", "method": "GET", "headers": []}},
      "attributes": {"objectType": "InvoiceDetail"}
    }
  ],
  "documentType": "invoice",
  "invoiceType": "Recurring",
  "amendments": [],
  "links": {"self": {"uri": "/invoices/D02005YFHI", "method": "GET", "headers": []}},
  "attributes": {"objectType": "Invoice"}
}`

	// DocInvoiceVoided is an October OneTime invoice with its void note
	// nested as an amendment.
	DocInvoiceVoided = `{
  "id": "G015012345",
  "invoiceDate": "2026-10-08T06:40:02.5Z",
  "billingPeriodStartDate": "2026-09-01T00:00:00Z",
  "billingPeriodEndDate": "2026-09-30T23:59:59Z",
  "totalCharges": 318.00,
  "paidAmount": 0,
  "currencyCode": "USD",
  "currencySymbol": "$",
  "pdfDownloadLink": "/invoices/G015012345/documents/statement",
  "invoiceDetails": [],
  "documentType": "invoice",
  "invoiceType": "OneTime",
  "amendments": [` + docVoidNote + `],
  "links": {"self": {"uri": "/invoices/G015012345", "method": "GET", "headers": []}},
  "attributes": {"objectType": "Invoice"}
}`

	// DocInvoiceVoidNote is the void note of DocInvoiceVoided, as the top
	// level lists it too.
	DocInvoiceVoidNote = docVoidNote

	docVoidNote = `{
      "id": "G015500001",
      "invoiceDate": "2026-10-15T12:00:00Z",
      "totalCharges": -318.00,
      "paidAmount": 0,
      "currencyCode": "USD",
      "currencySymbol": "$",
      "pdfDownloadLink": "/invoices/G015500001/documents/statement",
      "invoiceDetails": [],
      "documentType": "void_note",
      "invoiceType": "OneTime",
      "amendsOf": "G015012345",
      "amendments": [],
      "links": {"self": {"uri": "/invoices/G015500001", "method": "GET", "headers": []}},
      "attributes": {"objectType": "Invoice"}
    }`
)

// DocInvoices is the documented set, newest first as the service lists it.
var DocInvoices = []string{DocInvoiceOneTime, DocInvoiceRecurring, DocInvoiceVoidNote, DocInvoiceVoided}

// partnerCenter is the fake's Partner Center state (under Server.mu).
type partnerCenter struct {
	invoices []string   // literal invoice objects, in listing order
	nextBase string     // prefix of generated next links ("" : relative, "/invoices?...")
	queue    []Response // ScriptInvoices
}

func (s *Server) pcState() *partnerCenter {
	if s.pc == nil {
		s.pc = &partnerCenter{}
	}
	return s.pc
}

// SetInvoices sets the invoices GET /v1/invoices lists, in order (literal
// JSON objects such as DocInvoiceOneTime). Pages follow size and offset;
// each page but the last has a next link "/invoices?size=S&offset=O", which
// is relative to /v1 as Partner Center's are (see SetInvoiceNextLinkBase).
func (s *Server) SetInvoices(invoices ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pcState().invoices = append([]string(nil), invoices...)
}

// SetInvoiceNextLinkBase puts base before the generated next links: ""
// (the default) gives "/invoices?size=2&offset=2"; s.URL()+"/v1" an
// absolute link to this server; another host's URL a foreign link.
func (s *Server) SetInvoiceNextLinkBase(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pcState().nextBase = base
}

// ScriptInvoices queues answers for the next GETs of /v1/invoices, whatever
// their query, before the listing of SetInvoices; calls append. Use
// InvoicePage for pages with a next link of your choice, PartnerCenterError
// for errors, Status(429, ..., "Retry-After", "1") for throttling.
func (s *Server) ScriptInvoices(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pcState().queue = append(s.pcState().queue, rs...)
}

// PartnerCenterRequests is the requests to the Partner Center API (/v1/...).
func (s *Server) PartnerCenterRequests() []Request {
	return s.filter(func(r Request) bool { return strings.HasPrefix(r.Path, "/v1/") })
}

// InvoicePage is a collection page with the given items (literal invoice
// objects) and next link ("" for none), as Partner Center answers it.
func InvoicePage(next string, items ...string) string {
	return invoicePage(len(items), "/invoices", next, items)
}

func invoicePage(total int, self, next string, items []string) string {
	links := fmt.Sprintf(`"self": {"uri": %s, "method": "GET", "headers": []}`, linkString(self))
	if next != "" {
		links += fmt.Sprintf(`,
    "next": {"uri": %s, "method": "GET", "headers": []}`, linkString(next))
	}
	return fmt.Sprintf(`{
  "totalCount": %d,
  "items": [%s],
  "links": {
    %s
  },
  "attributes": {"objectType": "Collection"}
}`, total, strings.Join(items, ",\n"), links)
}

// linkString is a JSON string with "&" as is, the way Partner Center sends
// its links (jsonString would write \u0026).
func linkString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// PartnerCenterError is an error answer in Partner Center's shape, with
// extra headers as key, value pairs. A code of digits is sent as a JSON
// number, as the service does (600039); any other as a string.
func PartnerCenterError(status int, code, description string, headerKV ...string) Response {
	c := jsonString(code)
	if _, err := strconv.ParseUint(code, 10, 64); err == nil {
		c = code
	}
	return Status(status, fmt.Sprintf(`{"code": %s, "description": %s, "data": [], "source": "PartnerFD"}`,
		c, jsonString(description)), headerKV...)
}

func (s *Server) servePartnerCenter(w http.ResponseWriter, r *http.Request) int {
	reqID := r.Header.Get("MS-RequestId")
	if reqID == "" {
		reqID = newGUID()
	}
	answer := func(resp Response) int {
		h := http.Header{}
		h.Set("MS-RequestId", reqID)
		if c := r.Header.Get("MS-CorrelationId"); c != "" {
			h.Set("MS-CorrelationId", c)
		} else {
			h.Set("MS-CorrelationId", newGUID())
		}
		if resp.Body != "" {
			h.Set("Content-Type", "application/json; charset=utf-8")
		}
		return s.send(w, r, resp, h)
	}
	if msg := s.checkBearer(r.Header.Get("Authorization"), PartnerCenterResource); msg != "" {
		return answer(PartnerCenterError(http.StatusUnauthorized, "401", "Unauthorized: "+msg))
	}
	if r.URL.Path != InvoicesPath {
		return answer(PartnerCenterError(http.StatusNotFound, "600000", "The requested resource was not found."))
	}
	if r.Method != http.MethodGet {
		return answer(PartnerCenterError(http.StatusMethodNotAllowed, "600000", "The requested resource does not support http method '"+r.Method+"'.", "Allow", "GET"))
	}
	s.mu.Lock()
	pc := s.pcState()
	if len(pc.queue) > 0 {
		resp := pc.queue[0]
		pc.queue = pc.queue[1:]
		s.mu.Unlock()
		return answer(resp)
	}
	invoices, nextBase := pc.invoices, pc.nextBase
	s.mu.Unlock()

	q := r.URL.Query()
	size, offset := 200, 0
	var err error
	if v := q.Get("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 200 {
			return answer(PartnerCenterError(http.StatusBadRequest, "600039", "The size parameter must be between 1 and 200."))
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return answer(PartnerCenterError(http.StatusBadRequest, "600039", "The offset parameter must not be negative."))
		}
	}
	end := min(offset+size, len(invoices))
	var items []string
	if offset < len(invoices) {
		items = invoices[offset:end]
	}
	next := ""
	if end < len(invoices) {
		next = fmt.Sprintf("%s/invoices?size=%d&offset=%d", nextBase, size, end)
	}
	return answer(OK(invoicePage(len(invoices), fmt.Sprintf("/invoices?size=%d&offset=%d", size, offset), next, items)))
}
