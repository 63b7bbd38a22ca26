package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// msalAcquirer gets tokens through the MSAL confidential client. The client
// is rebuilt after reset, because MSAL would otherwise answer from its own
// cache with the token the API just rejected.
type msalAcquirer struct {
	newClient func() (confidential.Client, error)
	authority *url.URL

	mu     sync.Mutex
	client *confidential.Client
}

func newSecretAcquirer(cfg Config) (acquirer, error) {
	authority, errs := appAuthority(cfg, "a client secret")
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cred, err := confidential.NewCredFromSecret(cfg.ClientSecret)
	if err != nil {
		return nil, configErr(ArgClientSecret, "Invalid Client Secret", "the client secret cannot be used: %w", err)
	}
	return newMSALAcquirer(cfg, authority, cred)
}

func newMSALAcquirer(cfg Config, authority *url.URL, cred confidential.Credential) (acquirer, error) {
	opts := []confidential.Option{
		confidential.WithInstanceDiscovery(IsMicrosoftLoginHost(authority.Hostname())),
		// Ignore MSAL_FORCE_REGION: the authority host is what the user set.
		confidential.WithAzureRegion("DisableMsalForceRegion"),
	}
	opts = append(opts, confidential.WithHTTPClient(pinnedClient(cfg.HTTPClient, authority)))
	a := &msalAcquirer{authority: authority, newClient: func() (confidential.Client, error) {
		return confidential.New(authority.String(), cfg.ClientID, cred, opts...)
	}}
	// Build once now so that configuration mistakes surface at Configure.
	if _, err := a.get(); err != nil {
		return nil, configErr(ArgAuthorityHost, "Invalid Authority", "MSAL rejected the authority %s: %w", authority, err)
	}
	return a, nil
}

func (a *msalAcquirer) get() (*confidential.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client == nil {
		c, err := a.newClient()
		if err != nil {
			return nil, err
		}
		a.client = &c
	}
	return a.client, nil
}

func (a *msalAcquirer) acquire(ctx context.Context, scope string) (string, time.Time, error) {
	c, err := a.get()
	if err != nil {
		return "", time.Time{}, err
	}
	res, err := c.AcquireTokenByCredential(ctx, []string{scope})
	if err != nil {
		return "", time.Time{}, err
	}
	return res.AccessToken, res.ExpiresOn, nil
}

// reset drops the client and with it MSAL's cache of every scope: the
// other scopes' tokens stay in their ScopedToken until near expiry.
func (a *msalAcquirer) reset(string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.client = nil
}

// transient reports whether a token request failure is worth retrying:
// a network error, or an identity endpoint answering 408, 410 (IMDS while
// it restarts), 429 or 5xx.
func transient(err error) bool {
	if errors.Is(err, errTokenTimeout) {
		return true
	}
	var refused *refusedHostError
	if errors.As(err, &refused) || httpx.CertificateError(err) != nil {
		return false
	}
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		return transientStatus(ce.Resp.StatusCode)
	}
	var se *statusError
	if errors.As(err, &se) {
		return transientStatus(se.status)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

func transientStatus(s int) bool {
	return s == http.StatusRequestTimeout || s == http.StatusGone || s == http.StatusTooManyRequests || s >= 500
}

// statusError is an HTTP error answer of an identity endpoint called
// without MSAL (the GitHub Actions ID-token endpoint).
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// pinnedClient is the HTTP client MSAL gets: it only talks to the authority
// host (and, for a Microsoft login host, the other Microsoft login hosts
// discovery may name), and follows no redirect. MSAL would otherwise post
// the credential to whatever token_endpoint the OpenID configuration names.
func pinnedClient(base *http.Client, authority *url.URL) *http.Client {
	if base == nil {
		base = &http.Client{}
	}
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cp := httpx.NoRedirects(base)
	cp.Transport = pinnedTransport{authority: authority, next: next}
	return cp
}

type pinnedTransport struct {
	authority *url.URL
	next      http.RoundTripper
}

func (p pinnedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !p.allowed(r.URL) {
		return nil, &refusedHostError{host: r.URL.Host, authority: p.authority.Host}
	}
	return p.next.RoundTrip(r)
}

func (p pinnedTransport) allowed(u *url.URL) bool {
	if u.Scheme != "https" {
		return false
	}
	if sameHostPort(u, p.authority) {
		return true
	}
	return IsMicrosoftLoginHost(p.authority.Hostname()) && IsMicrosoftLoginHost(u.Hostname()) && portOf(u) == "443"
}

func sameHostPort(a, b *url.URL) bool {
	return strings.EqualFold(a.Hostname(), b.Hostname()) && portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "443"
}

// refusedHostError: MSAL was told to call a host other than the authority.
type refusedHostError struct{ host, authority string }

func (e *refusedHostError) Error() string {
	return fmt.Sprintf("refusing to send an identity request to %s: only the authority host %s is contacted", e.host, e.authority)
}
