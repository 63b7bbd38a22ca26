package fakegraph_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

func startStore(t *testing.T, s *fakegraph.Server) *fakegraph.BlobStore {
	t.Helper()
	b, err := s.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// get fetches rawURL with a client that trusts s's CA.
func get(t *testing.T, s *fakegraph.Server, rawURL string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBlobStoreChecksTheSAS(t *testing.T) {
	t.Parallel()
	s := start(t)
	b := startStore(t, s)
	rows := fakegraph.ReconciliationRows("G016907411", 0, 3)
	m := s.PublishManifest(b, "m-1",
		fakegraph.BlobFile{Name: "part-00000.json.gz", Content: rows},
		fakegraph.BlobFile{Name: "2023 03/sub/part 1.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 3, 1)})
	other := b.Publish("m-2", time.Now().Add(time.Hour), fakegraph.BlobFile{Name: "x.json.gz", Content: rows})
	expired := b.SAS(fakegraph.BlobContainer+"/m-1", time.Now().Add(-time.Minute))

	if m.RootDirectory != b.URL()+"/partnerbilling/m-1" || !strings.HasPrefix(b.URL(), "https://127.0.0.1:") || b.URL() == s.URL() {
		t.Errorf("root directory %q, store %q, graph %q", m.RootDirectory, b.URL(), s.URL())
	}
	for _, p := range []string{"sv=2021-08-06&", "&se=", "%3A", "&sr=d&sp=rl&sdd=2&sig="} {
		if !strings.Contains(m.SASToken, p) {
			t.Errorf("SAS token %q lacks %q", m.SASToken, p)
		}
	}
	tampered := strings.Replace(m.SASToken, "sp=rl", "sp=rwl", 1)
	blob := m.RootDirectory + "/part-00000.json.gz?"
	tests := map[string]struct {
		url      string
		want     int
		wantCode string
	}{
		"valid":                       {blob + m.SASToken, 200, ""},
		"valid, escaped nested name":  {m.RootDirectory + "/2023%2003/sub/part%201.json.gz?" + m.SASToken, 200, ""},
		"no token":                    {m.RootDirectory + "/part-00000.json.gz", 403, "AuthenticationFailed"},
		"tampered permission":         {blob + tampered, 403, "AuthenticationFailed"},
		"another directory's token":   {blob + other.SASToken, 403, "AuthenticationFailed"},
		"expired":                     {blob + expired, 403, "AuthenticationFailed"},
		"signature decoded once more": {blob + strings.ReplaceAll(m.SASToken, "%", "%25"), 403, "AuthenticationFailed"},
		"unknown blob":                {m.RootDirectory + "/nope.json.gz?" + m.SASToken, 404, "BlobNotFound"},
		"unescaped name does not parse as the same blob": {m.RootDirectory + "/2023+03/sub/part+1.json.gz?" + m.SASToken, 404, "BlobNotFound"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { // not parallel: the request count below includes them
			st, body, hdr := get(t, s, tc.url)
			if st != tc.want || hdr.Get("x-ms-error-code") != tc.wantCode {
				t.Fatalf("status %d code %q, want %d %q: %s", st, hdr.Get("x-ms-error-code"), tc.want, tc.wantCode, body)
			}
			if st == 200 && !bytes.Contains(gunzip(t, body), []byte(`"InvoiceNumber":"G016907411"`)) {
				t.Errorf("blob content: %s", gunzip(t, body))
			}
			if strings.Contains(string(body), "sig=") {
				t.Errorf("the error echoes the token: %s", body)
			}
		})
	}

	st, body, _ := get(t, s, blob+m.SASToken)
	if st != 200 || !bytes.Equal(gunzip(t, body), rows) {
		t.Errorf("blob = %d %s, want the published rows", st, body)
	}
	var reqs int
	for _, r := range b.Requests() {
		if r.Method == http.MethodGet {
			reqs++
		}
	}
	if reqs != len(tests)+1 {
		t.Errorf("recorded %d requests, want %d", reqs, len(tests)+1)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("the Graph fake saw %d blob requests", n)
	}
}

func TestReconciliationRows(t *testing.T) {
	t.Parallel()
	rows := fakegraph.ReconciliationRows("G1", 2, 4)
	lines := strings.Split(strings.TrimSuffix(string(rows), "\n"), "\n")
	if len(lines) != 4 || !bytes.Equal(rows, fakegraph.ReconciliationRows("G1", 2, 4)) {
		t.Fatalf("rows = %q", rows)
	}
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		sub, _ := r["Subtotal"].(float64)
		tax, _ := r["TaxTotal"].(float64)
		total, _ := r["TotalForCustomer"].(float64)
		if r["InvoiceNumber"] != "G1" || r["Currency"] != "USD" || sub <= 0 || total < sub || total-sub-tax > 0.011 || total-sub-tax < -0.011 {
			t.Errorf("row %s", l)
		}
	}
}

func TestScriptManifest(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	path := fakegraph.BasePath + "manifests/m-1"
	m := fakegraph.NewManifest("m-1", "https://acct.blob.core.windows.net/d", "sv=1&sig=x", "a b/c.json.gz")
	m.BlobCountAsString = true
	s.SetManifest("m-1", `{"id":"static"}`)
	s.ScriptManifest("m-1", fakegraph.ErrorResponse(429, "TooManyRequests", "slow", "Retry-After", "1"), fakegraph.OK(m.Body()))
	if st, _, hdr := do(t, s, "GET", path, tok, ""); st != 429 || hdr.Get("Retry-After") != "1" {
		t.Errorf("first answer %d %v", st, hdr)
	}
	for range 2 {
		st, body, _ := do(t, s, "GET", path, tok, "")
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil || st != 200 {
			t.Fatalf("%d %s: %v", st, body, err)
		}
		blobs, _ := got["blobs"].([]any)
		first, _ := blobs[0].(map[string]any)
		if got["blobCount"] != "1" || got["sasToken"] != "sv=1&sig=x" || first["name"] != "a b/c.json.gz" || first["sizeInBytes"] == nil {
			t.Errorf("manifest %s", body)
		}
	}
	s.ScriptManifest("m-1")
	if _, body, _ := do(t, s, "GET", path, tok, ""); body != `{"id":"static"}` {
		t.Errorf("without a script: %s", body)
	}
}

// TestExportManifestsUseTheBlobStore: with UseBlobStore, an export's
// manifest points at the store, and its blobs download with its token.
func TestExportManifestsUseTheBlobStore(t *testing.T) {
	t.Parallel()
	s := start(t)
	b := startStore(t, s)
	s.UseBlobStore(b)
	tok := tokenFor(t, s)
	_, _, hdr := do(t, s, "POST", fakegraph.BasePath+"reconciliation/billed/export", tok, `{"invoiceId":"G1","attributeSet":"full"}`, "Content-Type", "application/json")
	opID := hdr.Get("Location")[strings.LastIndex(hdr.Get("Location"), "/")+1:]
	var op map[string]any
	for range 3 {
		_, body, _ := do(t, s, "GET", opPath(opID), tok, "")
		op = nil
		_ = json.Unmarshal([]byte(body), &op)
	}
	link, _ := op["resourceLocation@odata.navigationLink"].(string)
	_, body, _ := do(t, s, "GET", strings.TrimPrefix(link, s.URL()), tok, "")
	var m struct {
		RootDirectory string `json:"rootDirectory"`
		SASToken      string `json:"sasToken"`
		Blobs         []struct {
			Name      string `json:"name"`
			ItemCount int    `json:"itemCount"`
		} `json:"blobs"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil || len(m.Blobs) != 2 || !strings.HasPrefix(m.RootDirectory, b.URL()) {
		t.Fatalf("manifest %s: %v", body, err)
	}
	for _, blob := range m.Blobs {
		st, data, _ := get(t, s, m.RootDirectory+"/"+url.PathEscape(blob.Name)+"?"+m.SASToken)
		if st != 200 || bytes.Count(gunzip(t, data), []byte("\n")) != blob.ItemCount || blob.ItemCount == 0 {
			t.Errorf("blob %s: %d, %d rows", blob.Name, st, blob.ItemCount)
		}
	}
}
