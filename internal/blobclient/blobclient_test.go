package blobclient

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

func TestUserAgent(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("User-Agent"))
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	for _, ua := range []string{"terraform-provider-partnerbilling/1.2.3 Terraform/1.11.4", ""} {
		c, err := blob.NewClientWithNoCredential(srv.URL+"/c/b", Options(srv.Client(), ua))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.GetProperties(context.Background(), nil)
	}
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	if got[0] != "terraform-provider-partnerbilling/1.2.3 Terraform/1.11.4" {
		t.Errorf("User-Agent %q, want the provider's alone", got[0])
	}
	if !strings.HasPrefix(got[1], "partnerbilling azsdk-go-azblob/") {
		t.Errorf("User-Agent without one %q, want azcore's with the application id", got[1])
	}
}

// TestErrorBodiesAreBounded: every client built with Options, the copy's Storage clients as much as
// the download's, reads at most MaxErrorBody bytes of an error answer (here 8 MiB long), and reads a
// blob's own answer whole.
func TestErrorBodiesAreBounded(t *testing.T) {
	const big = 8 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusServiceUnavailable
		if r.URL.Path == "/c/ok" {
			status = http.StatusOK
		}
		w.Header().Set("Content-Length", strconv.Itoa(big))
		w.WriteHeader(status)
		_, _ = w.Write(bytes.Repeat([]byte("x"), big))
	}))
	defer srv.Close()
	tr := Options(srv.Client(), "").Transport
	for path, want := range map[string]int{"/c/error": MaxErrorBody, "/c/ok": big} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		resp, err := tr.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if n != int64(want) {
			t.Errorf("%s: read %d bytes, want %d", path, n, want)
		}
	}
}
