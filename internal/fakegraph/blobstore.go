package fakegraph

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BlobStore is a fake of the Azure Blob Storage directory that a manifest's
// rootDirectory points at. It listens on a loopback port of its own, with a
// certificate from the Server's CA (so whatever trusts the Server trusts
// it), and serves GET {URL}/{directory}/{blob name} to requests whose query
// is a SAS token it issued for that directory and that has not expired.
// Anything else is answered as Azure does: 403 AuthenticationFailed, 404
// BlobNotFound. It records every request.
type BlobStore struct {
	url       string
	key       []byte // signs the SAS tokens
	srv       *http.Server
	accessLog func(method, path string, status int, elapsed time.Duration)
	once      sync.Once

	mu       sync.Mutex
	blobs    map[string][]byte // "/{directory}/{name}" (decoded) -> gzip bytes
	requests []Request
	faults   map[string][]BlobFault // ScriptBlob: per path, consumed one per GET
	latency  time.Duration
	noMD5    bool
	cp       copyState // the destination side (blobstore_copy.go)
}

// BlobFault is one scripted misbehaviour of a GET of a blob (ScriptBlob).
// The zero value answers normally (and uses up the entry).
type BlobFault struct {
	// Status answers with this error status and an Azure XML error of Code
	// (default "ServerBusy") and Message instead of the blob.
	Status        int
	Code, Message string
	RetryAfter    string // Retry-After header of the error answer
	// TruncateAt sends the headers of the whole answer (Content-Length
	// included) and only the first TruncateAt bytes of the body, then
	// closes the connection: a body cut short.
	TruncateAt int
	// Stall sends the headers and the first half of the body, then nothing
	// until the client goes away.
	Stall bool
	// Corrupt sends the blob with one byte flipped in its middle, with the
	// Content-MD5 of the stored bytes (so only MD5 or gzip checks catch it).
	Corrupt bool
	// IgnoreRange answers a Range request with the whole blob (200).
	IgnoreRange bool
}

// ScriptBlob queues faults for GETs of blob name of directory dir: each GET
// takes the next one; once they are used up the blob is served normally.
func (b *BlobStore) ScriptBlob(dir, name string, faults ...BlobFault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.faults == nil {
		b.faults = map[string][]BlobFault{}
	}
	p := "/" + strings.Trim(dir, "/") + "/" + name
	b.faults[p] = append(b.faults[p], faults...)
}

// SetLatency delays every answer by d (the bench's per-request latency).
func (b *BlobStore) SetLatency(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.latency = d
}

// SetContentMD5 says whether answers carry Content-MD5 (default true, as
// Azure does for blobs uploaded whole).
func (b *BlobStore) SetContentMD5(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.noMD5 = !on
}

// PutRaw stores data as blob name of directory dir verbatim (no gzip): a
// corrupt or truncated blob.
func (b *BlobStore) PutRaw(dir, name string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blobs["/"+strings.Trim(dir, "/")+"/"+name] = append([]byte(nil), data...)
}

// BlobFile is one blob to publish: its name in the manifest (which may hold
// '/' and spaces) and its uncompressed JSON Lines content.
type BlobFile struct {
	Name    string
	Content []byte
}

// BlobContainer is the first path segment of every blob directory.
const BlobContainer = "partnerbilling"

// StartBlobStore starts a blob store on a new 127.0.0.1 port whose
// certificate the Server's CA signed. It logs requests (path only, never the
// query) to the Server's WithAccessLog function. Close it when done.
func (s *Server) StartBlobStore() (*BlobStore, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakegraph: blob store listen: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	b := &BlobStore{
		url:       "https://" + ln.Addr().String(),
		key:       key,
		accessLog: s.cfg.accessLog,
		blobs:     map[string][]byte{},
	}
	b.srv = &http.Server{
		Handler:           http.HandlerFunc(b.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{s.certs.leaf}, MinVersion: tls.VersionTLS12}
	go func() { _ = b.srv.Serve(tls.NewListener(ln, tlsCfg)) }()
	registerStore(b)
	return b, nil
}

// Close stops the blob store and closes its connections. It may be called
// more than once.
func (b *BlobStore) Close() { b.once.Do(func() { unregisterStore(b); _ = b.srv.Close() }) }

// URL is "https://127.0.0.1:PORT".
func (b *BlobStore) URL() string { return b.url }

// Requests is every request received, in order (a deep copy).
func (b *BlobStore) Requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Request, len(b.requests))
	for i, r := range b.requests {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// Put stores content (uncompressed JSON Lines) gzip-compressed as blob name
// of directory dir (a path such as "partnerbilling/{manifest id}").
func (b *BlobStore) Put(dir, name string, content []byte) {
	data := Gzip(content)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blobs["/"+strings.Trim(dir, "/")+"/"+name] = data
}

// Gzip is content gzip-compressed as the blob stores here keep it (the
// bytes a download of the blob must write when it keeps the .gz).
func Gzip(content []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(content) // a bytes.Buffer does not fail
	_ = zw.Close()
	return buf.Bytes()
}

// SAS issues a read/list SAS token (a query string without "?") for
// directory dir, expiring at expiry, shaped like the ones Graph hands out:
// sv, st, se (percent-encoded, e.g. se=2023-12-13T12%3A37%3A17Z), sr=d, sp=rl,
// sdd (the directory depth) and sig, a base64 HMAC-SHA256 over the other
// fields and the directory (percent-encoded, so it holds %2B, %2F or %3D).
func (b *BlobStore) SAS(dir string, expiry time.Time) string {
	dir = strings.Trim(dir, "/")
	f := sasFields{
		sv: "2021-08-06", st: time.Now().UTC().Add(-5 * time.Minute).Format(time.RFC3339),
		se: expiry.UTC().Format(time.RFC3339), sr: "d", sp: "rl", sdd: strconv.Itoa(strings.Count(dir, "/") + 1),
	}
	return "sv=" + url.QueryEscape(f.sv) + "&st=" + url.QueryEscape(f.st) + "&se=" + url.QueryEscape(f.se) +
		"&sr=" + f.sr + "&sp=" + f.sp + "&sdd=" + f.sdd + "&sig=" + url.QueryEscape(b.sign(f, dir))
}

// Publish stores files under the directory BlobContainer/{id}, issues a SAS
// token for it and returns a manifest of those blobs (NewManifest's
// defaults, rootDirectory and sasToken pointing here, sizes and row counts
// filled in). It does not register the manifest with a Server: see
// Server.PublishManifest.
func (b *BlobStore) Publish(id string, expiry time.Time, files ...BlobFile) Manifest {
	dir := BlobContainer + "/" + id
	m := NewManifest(id, b.url+"/"+dir, b.SAS(dir, expiry))
	for _, f := range files {
		b.Put(dir, f.Name, f.Content)
		b.mu.Lock()
		size := len(b.blobs["/"+dir+"/"+f.Name])
		b.mu.Unlock()
		m.Blobs = append(m.Blobs, ManifestBlob{
			Name: f.Name, PartitionValue: "default", SizeInBytes: int64(size), ItemCount: int64(bytes.Count(f.Content, []byte("\n"))),
		})
	}
	return m
}

type sasFields struct{ sv, st, se, sr, sp, sdd string }

func (b *BlobStore) sign(f sasFields, dir string) string {
	mac := hmac.New(sha256.New, b.key)
	_, _ = io.WriteString(mac, strings.Join([]string{f.sp, f.st, f.se, "/" + dir, f.sr, f.sv, f.sdd}, "\n"))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (b *BlobStore) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	b.mu.Lock()
	b.requests = append(b.requests, Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), At: start,
	})
	b.mu.Unlock()
	status := b.answer(b.counting(w, r), r)
	if b.accessLog != nil {
		b.accessLog(r.Method, r.URL.Path, status, time.Since(start))
	}
}

func (b *BlobStore) answer(w http.ResponseWriter, r *http.Request) int {
	w.Header().Set("x-ms-request-id", newGUID())
	w.Header().Set("x-ms-version", "2021-08-06")
	if status, ok := b.answerCopy(w, r); ok {
		return status
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return storageError(w, http.StatusMethodNotAllowed, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.")
	}
	if msg := b.authorize(r); msg != "" {
		return storageError(w, http.StatusForbidden, "AuthenticationFailed",
			"Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature. "+msg)
	}
	b.mu.Lock()
	data, ok := b.blobs[r.URL.Path]
	var fault BlobFault
	if q := b.faults[r.URL.Path]; len(q) > 0 && r.Method == http.MethodGet {
		fault, b.faults[r.URL.Path] = q[0], q[1:]
	}
	latency, noMD5 := b.latency, b.noMD5
	b.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return 0
		}
	}
	if !ok {
		return storageError(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
	}
	if fault.Status != 0 {
		code, msg := fault.Code, fault.Message
		if code == "" {
			code, msg = "ServerBusy", "The server is busy."
		}
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		return storageError(w, fault.Status, code, msg)
	}
	sum := md5.Sum(data) // Content-MD5 is what Azure sends
	etag := fmt.Sprintf("\"0x%X\"", sum[:8])
	if im := r.Header.Get("If-Match"); im != "" && im != etag && im != "*" {
		return storageError(w, http.StatusPreconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
	}
	body := data
	if fault.Corrupt && len(body) > 0 {
		body = append([]byte(nil), data...)
		body[len(body)/2] ^= 0xff
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	status := http.StatusOK
	rng := r.Header.Get("x-ms-range")
	if rng == "" {
		rng = r.Header.Get("Range")
	}
	if first, last, ranged := parseRange(rng, len(data)); ranged && !fault.IgnoreRange {
		if first < 0 {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			return storageError(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The range specified is invalid for the current size of the resource.")
		}
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(data)))
		if !noMD5 {
			h.Set("x-ms-blob-content-md5", base64.StdEncoding.EncodeToString(sum[:]))
		}
		body = body[first : last+1]
	} else if !noMD5 {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodGet {
		return status
	}
	switch {
	case fault.TruncateAt > 0 && fault.TruncateAt < len(body):
		_, _ = w.Write(body[:fault.TruncateAt])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
	case fault.Stall:
		_, _ = w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		<-r.Context().Done()
	default:
		_, _ = w.Write(body)
	}
	return status
}

// parseRange reads "bytes=first-" or "bytes=first-last" against a blob of
// size n; first is -1 when the range cannot be satisfied.
func parseRange(v string, n int) (first, last int, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found {
		return 0, 0, false
	}
	a, z, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	first, err := strconv.Atoi(a)
	if err != nil {
		return 0, 0, false
	}
	last = n - 1
	if z != "" {
		if last, err = strconv.Atoi(z); err != nil {
			return 0, 0, false
		}
		last = min(last, n-1)
	}
	if first >= n || first > last {
		return -1, 0, true
	}
	return first, last, true
}

// authorize checks the request's SAS token; it returns "" when the token
// grants reading the path, else why not (never the token itself).
func (b *BlobStore) authorize(r *http.Request) string {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "The query string is not a valid SAS token."
	}
	f := sasFields{sv: q.Get("sv"), st: q.Get("st"), se: q.Get("se"), sr: q.Get("sr"), sp: q.Get("sp"), sdd: q.Get("sdd")}
	sig := q.Get("sig")
	if sig == "" || f.se == "" || f.sr != "d" {
		return "Signature, expiry or resource type is missing."
	}
	depth, err := strconv.Atoi(f.sdd)
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if err != nil || depth < 1 || len(segs) <= depth {
		return "The signed directory depth does not fit the requested path."
	}
	dir := strings.Join(segs[:depth], "/")
	if !hmac.Equal([]byte(sig), []byte(b.sign(f, dir))) {
		return "Signature did not match."
	}
	if !strings.Contains(f.sp, "r") {
		return "This request is not authorized to perform this operation using this permission."
	}
	expiry, err := time.Parse(time.RFC3339, f.se)
	if err != nil || !time.Now().Before(expiry) {
		return "Signed expiry time must be after signed start time and in the future."
	}
	return ""
}

// storageError writes an Azure Storage XML error and returns the status.
func storageError(w http.ResponseWriter, status int, code, message string) int {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s</Message></Error>",
		code, message, w.Header().Get("x-ms-request-id"), time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))
	return status
}

// reconciliationRow is one line of a billed invoice reconciliation export,
// with the fields partners reconcile on most (the full export has more).
type reconciliationRow struct {
	PartnerID           string  `json:"PartnerId"`
	CustomerID          string  `json:"CustomerId"`
	CustomerName        string  `json:"CustomerName"`
	CustomerDomainName  string  `json:"CustomerDomainName"`
	CustomerCountry     string  `json:"CustomerCountry"`
	InvoiceNumber       string  `json:"InvoiceNumber"`
	MpnID               string  `json:"MpnId"`
	OrderID             string  `json:"OrderId"`
	OrderDate           string  `json:"OrderDate"`
	ProductID           string  `json:"ProductId"`
	SkuID               string  `json:"SkuId"`
	AvailabilityID      string  `json:"AvailabilityId"`
	SkuName             string  `json:"SkuName"`
	ProductName         string  `json:"ProductName"`
	ChargeType          string  `json:"ChargeType"`
	UnitPrice           float64 `json:"UnitPrice"`
	Quantity            int     `json:"Quantity"`
	Subtotal            float64 `json:"Subtotal"`
	TaxTotal            float64 `json:"TaxTotal"`
	TotalForCustomer    float64 `json:"TotalForCustomer"`
	Currency            string  `json:"Currency"`
	PublisherName       string  `json:"PublisherName"`
	SubscriptionID      string  `json:"SubscriptionId"`
	ChargeStartDate     string  `json:"ChargeStartDate"`
	ChargeEndDate       string  `json:"ChargeEndDate"`
	TermAndBillingCycle string  `json:"TermAndBillingCycle"`
	BillingFrequency    string  `json:"BillingFrequency"`
	UnitType            string  `json:"UnitType"`
}

// ReconciliationRows returns n JSON Lines of made-up but realistically
// shaped invoice reconciliation data for invoice, starting at row first
// (the same arguments always give the same rows).
func ReconciliationRows(invoice string, first, n int) []byte {
	return reconciliationRows(invoice, "USD", first, n)
}

// reconciliationRows is ReconciliationRows in currency.
func reconciliationRows(invoice, currency string, first, n int) []byte {
	customers := []struct{ id, name, domain, country string }{
		{"3b33e682-00c3-41ee-9dd2-a548adf56438", "Contoso Ltd", "contoso.onmicrosoft.com", "US"},
		{"8e4ea8b2-1a9d-4c55-a6c4-3f0e7d1f2b6a", "Fabrikam Inc", "fabrikam.onmicrosoft.com", "GB"},
		{"c2a6f0d3-5b7e-4f41-8e2d-9a1b3c4d5e6f", "Northwind Traders", "northwindtraders.onmicrosoft.com", "DE"},
	}
	products := []struct {
		id, sku, avail, skuName, product, term string
		price                                  float64
	}{
		{"CFQ7TTC0LF8Q", "0001", "CFQ7TTC0KS0W", "Microsoft 365 Business Premium", "Microsoft 365 Business Premium", "P1M Monthly", 22.00},
		{"CFQ7TTC0LH18", "0001", "CFQ7TTC0K8P5", "Microsoft 365 E3", "Microsoft 365 E3", "P1Y Annual", 36.00},
		{"CFQ7TTC0LFLX", "0002", "CFQ7TTC0HX99", "Exchange Online (Plan 1)", "Exchange Online (Plan 1)", "P1M Monthly", 4.00},
	}
	chargeTypes := []string{"new", "renew", "cycleCharge", "addQuantity"}
	var buf bytes.Buffer
	for i := first; i < first+n; i++ {
		c, p := customers[i%len(customers)], products[(i/2)%len(products)]
		qty := 5 + (i*7)%40
		sub := p.price * float64(qty)
		tax := round2(sub * 0.08)
		row := reconciliationRow{
			PartnerID: "0e195b37-4574-4539-bc42-0e539b9684c0", CustomerID: c.id, CustomerName: c.name,
			CustomerDomainName: c.domain, CustomerCountry: c.country, InvoiceNumber: invoice, MpnID: "4390934",
			OrderID: fmt.Sprintf("HJVuMmP%06dT", 100000+i), OrderDate: "2023-02-01T10:11:12.0000000Z",
			ProductID: p.id, SkuID: p.sku, AvailabilityID: p.avail, SkuName: p.skuName, ProductName: p.product,
			ChargeType: chargeTypes[i%len(chargeTypes)], UnitPrice: p.price, Quantity: qty,
			Subtotal: round2(sub), TaxTotal: tax, TotalForCustomer: round2(sub + tax), Currency: currency,
			PublisherName: "Microsoft Corporation", SubscriptionID: fmt.Sprintf("8f6b9a1c-2d3e-4f5a-9b8c-%012d", 7000+i),
			ChargeStartDate: "2023-02-01T00:00:00Z", ChargeEndDate: "2023-02-28T00:00:00Z",
			TermAndBillingCycle: p.term, BillingFrequency: "Monthly", UnitType: "Licenses",
		}
		line, _ := json.Marshal(row)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func round2(f float64) float64 {
	return float64(int64(f*100+0.5)) / 100
}
