package azurite_test

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/azurite"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// start runs a fake Graph and an Azurite that serves its certificate, and a
// client that trusts only the fake's CA.
func start(t *testing.T) (*azurite.Server, *http.Client) {
	t.Helper()
	fg, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fg.Close) // registered first, so it runs after Azurite has stopped
	az := azurite.Start(t, fg)
	return az, fg.HTTPClient()
}

// answer is what Azurite sent; its String never includes the request's SAS.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// storageError is the XML error body of the Blob service.
type storageError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	Detail  string `xml:"AuthenticationErrorDetail"`
}

func (a answer) errorBody() storageError {
	var e storageError
	_ = xml.Unmarshal(bytes.TrimPrefix(a.body, []byte("\xef\xbb\xbf")), &e)
	return e
}

// describe is the status, the error headers and the XML error, for logs: what
// the download code has to recognise.
func (a answer) describe() string {
	e := a.errorBody()
	msg, _, _ := strings.Cut(e.Message, "\n") // the rest is RequestId and Time
	return fmt.Sprintf("%d, x-ms-error-code %q, <Code> %q, <Message> %q, <AuthenticationErrorDetail> %q, Content-Type %q",
		a.status, a.header.Get("x-ms-error-code"), e.Code, msg, e.Detail, a.header.Get("Content-Type"))
}

// sasRefused is Azurite 3.37.0's error code for every SAS it refuses (expired,
// bad signature, another container, none at all): 403 with the one message
// "Server failed to authenticate the request. ..." and no
// AuthenticationErrorDetail. Azure itself answers AuthenticationFailed, with
// a detail that tells expiry from a bad signature; Azurite does not, so the
// download code must accept both codes and tell an expired SAS by its se=.
const sasRefused = "AuthorizationFailure"

// refusedSAS reports whether a is Azurite's refusal of a SAS.
func (a answer) refusedSAS() bool {
	return a.status == http.StatusForbidden && a.header.Get("x-ms-error-code") == sasRefused && a.errorBody().Code == sasRefused
}

// get GETs rawURL (which holds a SAS: a transport error is reported without
// the URL).
func get(t *testing.T, hc *http.Client, rawURL string, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatalf("new request: %v", errors.Unwrap(err))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		t.Fatalf("GET %s: %v", req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", req.URL.Path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return out
}

func rows(n int) []byte { return fakegraph.ReconciliationRows("G000000001", 0, n) }

// TestAzuriteServesAndValidatesSAS: Azurite, not our code, accepts the
// service SAS Publish signs, and refuses it expired, tampered or for another
// container. One Azurite serves every subtest.
func TestAzuriteServesAndValidatesSAS(t *testing.T) {
	az, hc := start(t)
	content := rows(5)
	m := az.Publish(t, "partnerbilling", "0f4e8d3c-manifest", time.Now().Add(time.Hour),
		fakegraph.BlobFile{Name: "part-00000.json.gz", Content: content},
		fakegraph.BlobFile{Name: "sub folder/part 00001.json.gz", Content: rows(2)},
	)

	t.Run("manifest", func(t *testing.T) {
		if want := az.BlobEndpoint() + "/partnerbilling/0f4e8d3c-manifest"; m.RootDirectory != want {
			t.Errorf("RootDirectory = %q, want %q", m.RootDirectory, want)
		}
		if !strings.HasPrefix(az.BlobEndpoint(), "https://127.0.0.1:") || !strings.HasSuffix(az.BlobEndpoint(), "/devstoreaccount1") {
			t.Errorf("BlobEndpoint = %q, want https://127.0.0.1:PORT/devstoreaccount1", az.BlobEndpoint())
		}
		q, err := url.ParseQuery(m.SASToken)
		if err != nil || strings.HasPrefix(m.SASToken, "?") {
			t.Fatalf("SASToken is not a query string without '?' (%v)", err)
		}
		// A service SAS for the container, read only, HTTPS only.
		for k, want := range map[string]string{"sr": "c", "sp": "r", "spr": "https"} {
			if got := q.Get(k); got != want {
				t.Errorf("SAS %s = %q, want %q", k, got, want)
			}
		}
		for _, k := range []string{"sv", "st", "se", "sig"} {
			if q.Get(k) == "" {
				t.Errorf("SAS has no %s", k)
			}
		}
		if len(m.Blobs) != 2 || m.Blobs[0].ItemCount != 5 || m.Blobs[1].ItemCount != 2 || m.Blobs[0].PartitionValue != "default" {
			t.Errorf("Blobs = %+v, want 5 and 2 rows, partition default", m.Blobs)
		}
	})

	t.Run("download", func(t *testing.T) {
		a := get(t, hc, azurite.BlobURL(m.RootDirectory, m.Blobs[0].Name, m.SASToken), nil)
		if a.status != http.StatusOK {
			t.Fatalf("GET = %s, want 200", a.describe())
		}
		if int64(len(a.body)) != m.Blobs[0].SizeInBytes {
			t.Errorf("body is %d bytes, manifest says %d", len(a.body), m.Blobs[0].SizeInBytes)
		}
		if got := a.header.Get("Content-Length"); got != strconv.Itoa(len(a.body)) {
			t.Errorf("Content-Length = %q, body is %d bytes", got, len(a.body))
		}
		sum := md5.Sum(a.body)
		if got, want := a.header.Get("Content-MD5"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
			t.Errorf("Content-MD5 = %q, want %q (the MD5 of the bytes sent)", got, want)
		}
		if got := gunzip(t, a.body); !bytes.Equal(got, content) {
			t.Errorf("gunzipped body differs from the published content:\n%s", got)
		}
		t.Logf("200: Content-Type %q, Content-Encoding %q, ETag %q, x-ms-blob-type %q",
			a.header.Get("Content-Type"), a.header.Get("Content-Encoding"), a.header.Get("ETag"), a.header.Get("x-ms-blob-type"))
	})

	t.Run("range", func(t *testing.T) {
		blobURL := azurite.BlobURL(m.RootDirectory, m.Blobs[0].Name, m.SASToken)
		full := get(t, hc, blobURL, nil).body
		a := get(t, hc, blobURL, http.Header{"Range": {"bytes=10-"}})
		if a.status != http.StatusPartialContent {
			t.Fatalf("GET with Range = %s, want 206", a.describe())
		}
		if !bytes.Equal(a.body, full[10:]) {
			t.Errorf("206 body is %d bytes, want the last %d of the blob", len(a.body), len(full)-10)
		}
		if got, want := a.header.Get("Content-Range"), fmt.Sprintf("bytes 10-%d/%d", len(full)-1, len(full)); got != want {
			t.Errorf("Content-Range = %q, want %q", got, want)
		}
		if got := a.header.Get("Content-Length"); got != strconv.Itoa(len(full)-10) {
			t.Errorf("Content-Length = %q, want %d", got, len(full)-10)
		}
		t.Logf("206: Content-MD5 %q, x-ms-blob-content-md5 %q, ETag %q",
			a.header.Get("Content-MD5"), a.header.Get("x-ms-blob-content-md5"), a.header.Get("ETag"))
	})

	t.Run("escaped name with a space and a folder", func(t *testing.T) {
		blobURL := azurite.BlobURL(m.RootDirectory, m.Blobs[1].Name, m.SASToken)
		if !strings.Contains(blobURL, "/sub%20folder/part%2000001.json.gz?") {
			t.Fatalf("BlobURL does not escape each segment: %s", strings.SplitN(blobURL, "?", 2)[0])
		}
		a := get(t, hc, blobURL, nil)
		if a.status != http.StatusOK {
			t.Fatalf("GET = %s, want 200", a.describe())
		}
		if got := gunzip(t, a.body); !bytes.Equal(got, rows(2)) {
			t.Errorf("gunzipped body differs from the published content:\n%s", got)
		}
	})

	t.Run("expired SAS", func(t *testing.T) {
		old := az.SAS(t, "partnerbilling", time.Now().Add(-time.Minute))
		a := get(t, hc, azurite.BlobURL(m.RootDirectory, m.Blobs[0].Name, old), nil)
		t.Logf("expired SAS: %s", a.describe())
		if !a.refusedSAS() {
			t.Errorf("GET with an expired SAS = %s, want 403 "+sasRefused, a.describe())
		}
	})

	t.Run("SAS that expires while in use", func(t *testing.T) {
		// se= has whole seconds: this SAS ends at the start of a second 2-3 s from now.
		expiry := time.Now().Add(3 * time.Second).Truncate(time.Second)
		short := az.SAS(t, "partnerbilling", expiry)
		blobURL := azurite.BlobURL(m.RootDirectory, m.Blobs[0].Name, short)
		if a := get(t, hc, blobURL, nil); a.status != http.StatusOK {
			t.Fatalf("GET before expiry = %s, want 200", a.describe())
		}
		time.Sleep(time.Until(expiry.Add(time.Second))) // Azurite's clock is ours: no skew to allow for
		a := get(t, hc, blobURL, nil)
		t.Logf("SAS expired after issue: %s", a.describe())
		if !a.refusedSAS() {
			t.Errorf("GET after expiry = %s, want 403 "+sasRefused, a.describe())
		}
	})

	t.Run("tampered signature", func(t *testing.T) {
		q, _ := url.ParseQuery(m.SASToken)
		sig, err := base64.StdEncoding.DecodeString(q.Get("sig"))
		if err != nil {
			t.Fatalf("sig is not base64: %v", err)
		}
		sig[0] ^= 1
		q.Set("sig", base64.StdEncoding.EncodeToString(sig))
		a := get(t, hc, azurite.BlobURL(m.RootDirectory, m.Blobs[0].Name, q.Encode()), nil)
		t.Logf("tampered sig: %s", a.describe())
		if !a.refusedSAS() {
			t.Errorf("GET with a tampered sig = %s, want 403 "+sasRefused, a.describe())
		}
	})

	t.Run("SAS of another container", func(t *testing.T) {
		other := az.Publish(t, "other", "x", time.Now().Add(time.Hour), fakegraph.BlobFile{Name: "a.json.gz", Content: rows(1)})
		a := get(t, hc, azurite.BlobURL(m.RootDirectory, m.Blobs[0].Name, other.SASToken), nil)
		t.Logf("SAS of another container: %s", a.describe())
		if !a.refusedSAS() {
			t.Errorf("GET with another container's SAS = %s, want 403 "+sasRefused, a.describe())
		}
	})

	t.Run("no SAS", func(t *testing.T) {
		a := get(t, hc, m.RootDirectory+"/"+m.Blobs[0].Name, nil)
		t.Logf("no SAS: %s", a.describe())
		if !a.refusedSAS() {
			t.Errorf("GET without a SAS = %s, want 403 "+sasRefused, a.describe())
		}
	})

	t.Run("missing blob", func(t *testing.T) {
		a := get(t, hc, azurite.BlobURL(m.RootDirectory, "part-99999.json.gz", m.SASToken), nil)
		t.Logf("missing blob: %s", a.describe())
		if a.status != http.StatusNotFound || a.header.Get("x-ms-error-code") != "BlobNotFound" {
			t.Errorf("GET of a missing blob = %s, want 404 BlobNotFound", a.describe())
		}
	})

	t.Run("PutRaw", func(t *testing.T) {
		raw := []byte("\x1f\x8b not really gzip")
		az.PutRaw(t, "partnerbilling", "0f4e8d3c-manifest/corrupt.json.gz", raw)
		a := get(t, hc, azurite.BlobURL(m.RootDirectory, "corrupt.json.gz", m.SASToken), nil)
		if a.status != http.StatusOK || !bytes.Equal(a.body, raw) {
			t.Errorf("GET = %d %q, want 200 and the raw bytes", a.status, a.body)
		}
	})
}
