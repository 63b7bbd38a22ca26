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

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"https://graph.microsoft.com":              "https://graph.microsoft.com",
		"https://user:hunter2@graph.example":       "https://graph.example",
		"https://hunter2@graph.example/v1.0":       "https://graph.example/v1.0",
		"https://user:pa%zzhunter2@graph.example":  "https://graph.example",
		"https://user:hun/ter2@graph.example:443":  "https://graph.example:443",
		"https://user:hun ter2@graph.example/x?y":  "https://graph.example/x?y",
		"user:hunter2@graph.example":               "graph.example",
		"https://graph.example/a?mail=x@y.example": "https://graph.example/a?mail=x@y.example",
		"not a url at all":                         "not a url at all",
		"https://graph.example/path?q=%zz":         "https://graph.example/path?q=%zz",
	}
	for in, want := range tests {
		if got := httpx.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
