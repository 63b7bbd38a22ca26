// Package httpx holds the few HTTP rules that the Graph client and the
// identity code share without knowing each other: never follow a redirect,
// never retry a certificate failure, sleep only as long as the context lives.
// It imports nothing of this module.
package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ContextError is why ctx ended: its error (context.Canceled or
// DeadlineExceeded, for errors.Is) with its cause when that says more
// ("interrupted (Ctrl-C)"). The download and the copy end their work with it.
func ContextError(ctx context.Context) error {
	err := ctx.Err()
	if c := context.Cause(ctx); c != nil && !errors.Is(c, err) {
		return fmt.Errorf("%w: %w", c, err)
	}
	return err
}

// NoRedirects returns a copy of h (a plain client when h is nil) that
// returns a redirect as the response instead of following it: a bearer
// token or a credential must never follow a Location header (Go keeps
// Authorization for the same host, whatever the port or scheme).
func NoRedirects(h *http.Client) *http.Client {
	cp := http.Client{}
	if h != nil {
		cp = *h
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// CertificateError returns the TLS verification failure inside err, or nil.
// Retrying such a failure cannot help.
func CertificateError(err error) error {
	var (
		verr  *tls.CertificateVerificationError
		uaErr x509.UnknownAuthorityError
		hErr  x509.HostnameError
		ciErr x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &verr):
		return verr
	case errors.As(err, &uaErr):
		return uaErr
	case errors.As(err, &hErr):
		return hErr
	case errors.As(err, &ciErr):
		return ciErr
	}
	return nil
}

// Sleep waits for d, or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RedactURL returns raw for an error message without its userinfo
// ("user:password@"), also when raw does not parse as a URL.
func RedactURL(raw string) string {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	if u, err := url.Parse(raw); err == nil && u.Opaque == "" {
		if u.User == nil {
			return raw // an "@" in the path or query
		}
		u.User = nil
		return u.String()
	}
	// Unparsable (or "user:pass@host", which parses as a scheme): a password
	// may hold '/', '?' or '#', so drop everything between "//" and the last
	// "@" of the whole text.
	start := strings.Index(raw, "//")
	if start < 0 || start > at {
		return raw[at+1:]
	}
	return raw[:start+2] + raw[at+1:]
}

// RedactURLError is a transport error's text without its URL: *url.Error
// repeats the whole request URL, query string (a SAS token) included.
func RedactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
