package auth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// msalAcquirer gets tokens through the MSAL confidential client. The client
// is rebuilt after reset, because MSAL would otherwise answer from its own
// cache with the token the API just rejected.
type msalAcquirer struct {
	newClient func() (confidential.Client, error)

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
	if cfg.HTTPClient != nil {
		opts = append(opts, confidential.WithHTTPClient(cfg.HTTPClient))
	}
	a := &msalAcquirer{newClient: func() (confidential.Client, error) {
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

func (a *msalAcquirer) acquire(ctx context.Context) (string, time.Time, error) {
	c, err := a.get()
	if err != nil {
		return "", time.Time{}, err
	}
	res, err := c.AcquireTokenByCredential(ctx, []string{GraphScope})
	if err != nil {
		return "", time.Time{}, err
	}
	return res.AccessToken, res.ExpiresOn, nil
}

func (a *msalAcquirer) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.client = nil
}

// transient reports whether a token request failure is worth retrying:
// a network error, or an identity endpoint answering 408, 410 (IMDS while
// it restarts), 429 or 5xx.
func transient(err error) bool {
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
