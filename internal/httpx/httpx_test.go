package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

func TestNoRedirects(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect was followed, Authorization %q", r.Header.Get("Authorization"))
	}))
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer redirect.Close()
	base := &http.Client{Timeout: time.Minute}
	c := httpx.NoRedirects(base)
	if base.CheckRedirect != nil {
		t.Error("NoRedirects changed the client it was given")
	}
	if c.Timeout != time.Minute {
		t.Error("NoRedirects lost the client's settings")
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, redirect.URL, nil)
	req.Header.Set("Authorization", "Bearer x")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Errorf("status %d, want the 302 itself", res.StatusCode)
	}
}

func TestCertificateError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	res, err := (&http.Client{}).Do(req) // the test server's certificate is not trusted
	if err == nil {
		res.Body.Close()
		t.Fatal("an untrusted certificate was accepted")
	}
	if httpx.CertificateError(err) == nil {
		t.Errorf("CertificateError(%v) = nil", err)
	}
	if httpx.CertificateError(errors.New("connection refused")) != nil {
		t.Error("a plain error was taken for a certificate failure")
	}
}

func TestSleepStopsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if err := httpx.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("Sleep on a cancelled context: %v after %v", err, time.Since(start))
	}
	if err := httpx.Sleep(t.Context(), time.Millisecond); err != nil {
		t.Error(err)
	}
}
