//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// The download benchmarks' blobs: level-6 gzip of JSON Lines shaped like a
// billed invoice reconciliation export (52 keys, about 1.5 KB a row, values
// drawn from the small pools real exports repeat: a few hundred customers,
// dozens of products, the same dates and currencies; GUIDs and order ids
// that differ per row), about 7× compression as real exports have.
//
// Compressing gigabytes at level 6 on two loaded cores takes minutes, so the
// benchmarks build their blobs from a pool of gzip members (each a complete
// gzip stream of its own rows) generated once and cached in the temporary
// directory: a large blob is a concatenation of members, a multi-member gzip
// that every reader decodes to the end as one stream of rows. Decoding it
// costs what decoding one long member costs (a member boundary every 4 MiB
// is a new header and an empty window, nothing more).

// benchDataVersion names the cache: bump it when the rows or sizes change.
const benchDataVersion = "v1"

// billingRowPools are the values rows repeat.
type billingRowPools struct {
	customers []struct{ id, name, domain, country, tenant string }
	products  []struct {
		id, sku, avail, skuName, product, publisher, publisherID, category, term, meter string
		price                                                                           float64
	}
	charge   []string
	invoices []string
	currency []string
}

func newBillingRowPools() *billingRowPools {
	r := rand.New(rand.NewPCG(1, 2))
	p := &billingRowPools{
		charge:   []string{"new", "renew", "cycleCharge", "addQuantity", "removeQuantity", "cancelImmediate", "customerCredit"},
		currency: []string{"USD", "EUR", "GBP"},
	}
	for i := range 6 {
		p.invoices = append(p.invoices, fmt.Sprintf("G0%08d", 16907411+i*37))
	}
	names := []string{"Contoso", "Fabrikam", "Northwind Traders", "Adventure Works", "Tailspin Toys", "Wide World Importers", "Litware", "Proseware", "Woodgrove Bank", "Alpine Ski House", "Coho Winery", "Fourth Coffee", "Margie's Travel", "Relecloud", "Trey Research", "Wingtip Toys"}
	suffix := []string{"Ltd", "Inc", "GmbH", "LLC", "SA", "BV", "Pty Ltd", "AB"}
	countries := []string{"US", "GB", "DE", "FR", "NL", "SE", "AU", "CA", "JP", "BR"}
	for i := range 300 {
		n := names[i%len(names)] + " " + strconv.Itoa(i/len(names)+1) + " " + suffix[r.IntN(len(suffix))]
		dom := fmt.Sprintf("%s%d.onmicrosoft.com", bytes.ToLower(bytes.ReplaceAll([]byte(names[i%len(names)]), []byte(" "), nil)), i)
		p.customers = append(p.customers, struct{ id, name, domain, country, tenant string }{guid(r), n, dom, countries[r.IntN(len(countries))], guid(r)})
	}
	products := []string{"Microsoft 365 Business Premium", "Microsoft 365 E3", "Microsoft 365 E5", "Exchange Online (Plan 1)", "Exchange Online (Plan 2)", "Microsoft Teams Essentials", "Power BI Pro", "Visio Plan 2", "Project Plan 3", "Microsoft Defender for Endpoint P2", "Azure plan", "Dynamics 365 Business Central Essentials", "Windows 365 Enterprise 2 vCPU, 8 GB, 128 GB", "Microsoft Intune Suite"}
	cats := []string{"OnlineServicesNCE", "Azure", "Software", "OnlineServices"}
	meters := []string{"", "Compute Hours - D2s v3", "Data Transfer Out (GB)", "LRS Data Stored", "Standard IO - Block Blob Read Operation Units (in 10,000s)"}
	terms := []string{"P1M Monthly", "P1Y Annual", "P1Y Monthly", "P3Y Annual", "None"}
	for i := range 40 {
		p.products = append(p.products, struct {
			id, sku, avail, skuName, product, publisher, publisherID, category, term, meter string
			price                                                                           float64
		}{
			id: fmt.Sprintf("CFQ7TTC0%04X", 0x1F00+i*7), sku: fmt.Sprintf("%04d", 1+i%3), avail: fmt.Sprintf("CFQ7TTC0%04X", 0x4A00+i*13),
			skuName: products[i%len(products)], product: products[i%len(products)],
			publisher: "Microsoft Corporation", publisherID: "43f3b0b4-4e3b-4b9e-a1f8-1b9c5b1c8f5d", category: cats[i%len(cats)],
			term: terms[i%len(terms)], meter: meters[i%len(meters)], price: float64(100+r.IntN(5000)) / 100,
		})
	}
	return p
}

func guid(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, 0x8000|r.Uint32()&0x3fff, r.Uint64()&0xffffffffffff)
}

// appendBillingRow appends row i (one JSON object and "\n").
func (p *billingRowPools) appendBillingRow(b []byte, r *rand.Rand, i int) []byte {
	c := p.customers[r.IntN(len(p.customers))]
	pr := p.products[r.IntN(len(p.products))]
	qty := 1 + r.IntN(250)
	sub := pr.price * float64(qty)
	tax := sub * 0.08
	day := 1 + r.IntN(28)
	month := 1 + r.IntN(12)
	date := fmt.Sprintf("2024-%02d-%02dT00:00:00Z", month, day)
	str := func(k, v string) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":"`...)
		b = append(b, v...)
		b = append(b, `",`...)
	}
	rawv := func(k, v string) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = append(b, v...)
		b = append(b, ',')
	}
	num := func(k string, v float64) {
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendFloat(b, v, 'f', 2, 64)
		b = append(b, ',')
	}
	b = append(b, '{')
	str("PartnerId", "0e195b37-4574-4539-bc42-0e539b9684c0")
	str("CustomerId", c.id)
	str("CustomerName", c.name)
	str("CustomerDomainName", c.domain)
	str("CustomerCountry", c.country)
	str("InvoiceNumber", p.invoices[r.IntN(len(p.invoices))])
	str("MpnId", "4390934")
	str("Tier2MpnId", strconv.Itoa(4000000+r.IntN(40)))
	str("OrderId", fmt.Sprintf("%c%c%08X", 'A'+r.IntN(26), 'a'+r.IntN(26), r.Uint32()))
	str("OrderDate", fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02d.%07dZ", month, day, r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(10000000)))
	str("ProductId", pr.id)
	str("SkuId", pr.sku)
	str("AvailabilityId", pr.avail)
	str("SkuName", pr.skuName)
	str("ProductName", pr.product)
	str("ChargeType", p.charge[r.IntN(len(p.charge))])
	num("UnitPrice", pr.price)
	num("Quantity", float64(qty))
	num("Subtotal", sub)
	num("TaxTotal", tax)
	num("TotalForCustomer", sub+tax)
	str("Currency", p.currency[i%len(p.currency)])
	rawv("PriceAdjustmentDescription", `["15.0% Tier 1 discount","0.0% Promotional discount"]`)
	str("PublisherName", pr.publisher)
	str("SubscriptionDescription", pr.skuName+" for "+c.name)
	str("SubscriptionId", guid(r))
	str("ChargeStartDate", date)
	str("ChargeEndDate", fmt.Sprintf("2024-%02d-%02dT00:00:00Z", month, min(28, day+27)))
	str("TermAndBillingCycle", pr.term)
	num("EffectiveUnitPrice", pr.price*0.85)
	str("UnitType", "Licenses")
	str("AlternateId", fmt.Sprintf("%012x", r.Uint64()&0xffffffffffff))
	num("BillableQuantity", float64(qty))
	str("BillingFrequency", "Monthly")
	str("PricingCurrency", "USD")
	num("PCToBCExchangeRate", 1)
	str("MeterDescription", pr.meter)
	str("ReservationOrderId", "")
	str("CreditReasonCode", "")
	str("SubscriptionStartDate", "2023-06-01T00:00:00Z")
	str("ReferenceId", guid(r))
	rawv("ProductQualifiers", `["AddOn","Trial"]`)
	str("PromotionId", "")
	str("ProductCategory", pr.category)
	str("EntitlementId", guid(r))
	b = append(b, `"PartnerEarnedCreditPercentage":"0"}`...)
	return append(b, '\n')
}

// billingGzip is about raw bytes of rows (seeded by seed) as one level-6
// gzip member.
func billingGzip(p *billingRowPools, seed uint64, raw int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var out bytes.Buffer
	zw, _ := kgzip.NewWriterLevel(&out, 6)
	row := make([]byte, 0, 4096)
	for i, n := 0, 0; n < raw; i++ {
		row = p.appendBillingRow(row[:0], r, i)
		_, _ = zw.Write(row)
		n += len(row)
	}
	_ = zw.Close()
	return out.Bytes()
}

// benchPool is the cached gzip members: Large of about 4 MiB each (A, C),
// Small of about 288 KiB each (B); RawLarge and RawSmall their
// uncompressed sizes.
type benchPool struct {
	Large, Small [][]byte
}

const (
	benchLargeMembers = 16
	benchSmallMembers = 32
	benchLargeRaw     = 28 << 20   // about 4 MiB of gzip at 6.85×
	benchSmallRaw     = 1972 << 10 // about 288 KiB of gzip at 6.85×
)

var (
	benchPoolOnce sync.Once
	benchPoolVal  *benchPool
	benchPoolErr  error
)

// loadBenchPool returns the members, generating them (on both cores) the
// first time on this machine and caching them in the temporary directory.
func loadBenchPool(t *testing.T) *benchPool {
	t.Helper()
	benchPoolOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "partnerbilling-bench-"+benchDataVersion)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			benchPoolErr = err
			return
		}
		p := &benchPool{Large: make([][]byte, benchLargeMembers), Small: make([][]byte, benchSmallMembers)}
		rows := newBillingRowPools()
		type job struct {
			dst  *[]byte
			file string
			seed uint64
			raw  int
		}
		var jobs []job
		for i := range benchLargeMembers {
			jobs = append(jobs, job{&p.Large[i], fmt.Sprintf("large-%02d.gz", i), uint64(1000 + i), benchLargeRaw})
		}
		for i := range benchSmallMembers {
			jobs = append(jobs, job{&p.Small[i], fmt.Sprintf("small-%02d.gz", i), uint64(5000 + i), benchSmallRaw})
		}
		ch := make(chan job)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 2 {
			wg.Go(func() {
				for j := range ch {
					path := filepath.Join(dir, j.file)
					if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
						*j.dst = b
						continue
					}
					b := billingGzip(rows, j.seed, j.raw)
					if err := os.WriteFile(path+".tmp", b, 0o644); err == nil {
						_ = os.Rename(path+".tmp", path)
					}
					mu.Lock()
					*j.dst = b
					mu.Unlock()
				}
			})
		}
		for _, j := range jobs {
			ch <- j
		}
		close(ch)
		wg.Wait()
		benchPoolVal = p
	})
	if benchPoolErr != nil {
		t.Fatal(benchPoolErr)
	}
	return benchPoolVal
}

// largeBlob is a blob of about size bytes: members of the pool, starting at
// member first, concatenated.
func (p *benchPool) largeBlob(first, size int) []byte {
	out := make([]byte, 0, size+len(p.Large[0]))
	for i := first; len(out) < size; i++ {
		out = append(out, p.Large[i%len(p.Large)]...)
	}
	return out
}

// TestBenchDataShape pins what the download benchmarks claim of their data:
// rows of dozens of keys, about 1.5 KB each, and a level-6 compression
// ratio like a real export's (about 7×).
func TestBenchDataShape(t *testing.T) {
	t.Parallel()
	p := newBillingRowPools()
	gz := billingGzip(p, 7, 2<<20)
	zr, err := kgzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	if _, err := raw.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(raw.Bytes(), []byte("\n")), []byte("\n"))
	var m map[string]any
	if err := json.Unmarshal(lines[0], &m); err != nil {
		t.Fatalf("row 0 is not JSON: %v\n%s", err, lines[0])
	}
	perRow := float64(raw.Len()) / float64(len(lines))
	ratio := float64(raw.Len()) / float64(len(gz))
	t.Logf("%d keys, %.0f bytes a row, compression %.2f×", len(m), perRow, ratio)
	if len(m) < 40 || perRow < 1200 || perRow > 1800 || ratio < 5.5 || ratio > 9 {
		t.Errorf("rows of %d keys and %.0f bytes, compression %.2f×: want dozens of keys, about 1.5 KB, about 7×", len(m), perRow, ratio)
	}
}
