package auth

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// UnreachableError is a token request cycle that failed because the
// Microsoft Entra host could not be reached: its name did not resolve, it
// refused the connection, TLS failed, or it did not answer in time. Nothing
// in it says the credentials are wrong.
type UnreachableError struct {
	// Host is the authority host (host[:port]), e.g. login.microsoftonline.com.
	Host string
	msg  string
}

func (e *UnreachableError) Error() string { return e.msg }

// tokenTimeoutError is an attempt cut off by the token request timeout; it
// keeps the host the cut-off request went to.
type tokenTimeoutError struct {
	timeout time.Duration
	host    string
}

func (e *tokenTimeoutError) Error() string { return fmt.Sprintf("%s (%s)", errTokenTimeout, e.timeout) }
func (e *tokenTimeoutError) Unwrap() error { return errTokenTimeout }

// failure is the error every caller of a failed cycle of scope gets. Its
// text is built from describeTokenError, not wrapped (%w): the chain may
// carry what the identity platform sent back.
func (c *Credential) failure(scope string, err error) error {
	what := string(c.method) + " authentication"
	if scope != GraphScope {
		what += " (token for " + resourceOf(scope) + ")"
	}
	msg := what + ": " + describeTokenError(err)
	if host, ok := c.unreachableAuthority(err); ok {
		return &UnreachableError{Host: host, msg: msg}
	}
	return errors.New(msg)
}

// unreachableAuthority reports whether err is a failure to reach the
// Microsoft Entra authority host of an MSAL method (not a CI system's token
// endpoint, not a managed identity endpoint, not an answer of the host).
func (c *Credential) unreachableAuthority(err error) (string, bool) {
	if c.authority == nil {
		return "", false
	}
	var refused *refusedHostError
	if errors.As(err, &refused) {
		return "", false
	}
	var host string
	var te *tokenTimeoutError
	switch {
	case errors.As(err, &te):
		host = te.host
		if host == "" {
			// The timeout cut the attempt off before the error could name
			// a request (MSAL checked its context first): the attempt of an
			// MSAL method was waiting on the authority.
			host = c.authority.Host
		}
	case unreachable(err):
		host = requestHost(err)
	default:
		return "", false
	}
	if host == "" {
		return "", false
	}
	u := &url.URL{Scheme: "https", Host: host}
	if !sameHostPort(u, c.authority) && !(IsMicrosoftLoginHost(c.authority.Hostname()) && IsMicrosoftLoginHost(u.Hostname())) {
		return "", false
	}
	return host, true
}

// requestHost is the host of the HTTP request that err comes from, or "".
func requestHost(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return ""
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return ""
	}
	return u.Host
}

// unreachable reports whether err means the host was never heard from: a
// DNS failure, a refused or reset connection, a failed TLS handshake, or a
// network timeout.
func unreachable(err error) bool {
	var (
		dns   *net.DNSError
		op    *net.OpError
		alert tls.AlertError
		rh    tls.RecordHeaderError
		ne    net.Error
	)
	switch {
	case errors.As(err, &dns), errors.As(err, &op), errors.As(err, &alert), errors.As(err, &rh):
		return true
	case httpx.CertificateError(err) != nil:
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	// A connection closed before any answer (a firewall, a proxy that
	// drops the CONNECT).
	var ue *url.Error
	return errors.As(err, &ue) && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) && !strings.Contains(err.Error(), "status code")
}
