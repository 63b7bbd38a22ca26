package blobclient

import (
	"context"
	"net/http"
	"net/http/httptest"
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
