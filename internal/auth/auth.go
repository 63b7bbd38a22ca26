// Package auth builds the Microsoft Entra credential the provider uses and
// hands out Graph access tokens from it. It knows nothing of Terraform or of
// the Graph client; it satisfies graph.TokenSource by shape.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// GraphScope is the scope of every token the provider requests.
const GraphScope = "https://graph.microsoft.com/.default"

// DefaultAuthorityHost is the public-cloud Microsoft Entra login host.
const DefaultAuthorityHost = "https://login.microsoftonline.com"

// Method is a way to authenticate.
type Method string

// The authentication methods, in the order SPEC §2 prefers them when not
// chosen explicitly.
const (
	MethodClientSecret Method = "client secret"
)

// Argument names, as the user writes them in HCL. The provider maps them to
// attribute paths and environment variables.
const (
	ArgTenantID      = "tenant_id"
	ArgClientID      = "client_id"
	ArgClientSecret  = "client_secret"
	ArgAuthorityHost = "authority_host"
)

// Config is everything the credential needs. Empty strings mean "not set".
type Config struct {
	TenantID      string
	ClientID      string
	ClientSecret  string
	AuthorityHost string // default DefaultAuthorityHost

	// HTTPClient is used for every identity request (default: a plain client
	// that verifies TLS against the system roots).
	HTTPClient *http.Client
	// Sleep waits between token request retries (tests make it instant).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for token expiry (tests).
	Now func() time.Time
}

// ErrNoCredentials means nothing usable was configured.
var ErrNoCredentials = errors.New("no credentials configured")

// ConfigError is a configuration mistake the user fixes in one argument.
type ConfigError struct {
	Argument string // e.g. "tenant_id"
	Summary  string // Title Case, e.g. "Missing Tenant ID"
	Err      error
}

func (e *ConfigError) Error() string { return e.Argument + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(arg, summary, format string, a ...any) *ConfigError {
	return &ConfigError{Argument: arg, Summary: summary, Err: fmt.Errorf(format, a...)}
}

// SelectMethod picks the authentication method from what is configured.
func (c *Config) SelectMethod() (Method, error) {
	if c.ClientSecret != "" {
		return MethodClientSecret, nil
	}
	return "", ErrNoCredentials
}

// New validates cfg and builds a credential. It does no network I/O: the
// first Token call acquires the token. Every problem it finds is returned
// (as *ConfigError values joined with errors.Join), so the user sees all of
// them at once.
func New(cfg Config) (*Credential, error) {
	method, err := cfg.SelectMethod()
	if err != nil {
		return nil, err
	}
	authority, err := authorityURL(cfg.AuthorityHost, cfg.TenantID)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var acq acquirer
	switch method {
	case MethodClientSecret:
		if cfg.ClientID == "" {
			errs = append(errs, configErr(ArgClientID, "Missing Client ID",
				"a client secret was given but no client_id: set the application (client) id of the app registration"))
		}
		if len(errs) == 0 {
			acq, err = newSecretAcquirer(cfg, authority)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return newCredential(method, acq, cfg), nil
}

// microsoftLoginHosts are the hosts where MSAL's instance discovery works;
// against any other authority host it is turned off.
var microsoftLoginHosts = map[string]bool{
	"login.microsoftonline.com":        true,
	"login.microsoft.com":              true,
	"login.windows.net":                true,
	"sts.windows.net":                  true,
	"login.microsoftonline.us":         true,
	"login.chinacloudapi.cn":           true,
	"login.partner.microsoftonline.cn": true,
}

// IsMicrosoftLoginHost reports whether MSAL instance discovery may be used.
func IsMicrosoftLoginHost(host string) bool { return microsoftLoginHosts[strings.ToLower(host)] }

func authorityURL(host, tenant string) (*url.URL, error) {
	if host == "" {
		host = DefaultAuthorityHost
	}
	u, err := url.Parse(strings.TrimRight(host, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, configErr(ArgAuthorityHost, "Invalid Authority Host",
			"%q is not an https URL of a host (expected e.g. %s): MSAL only talks to https authorities", host, DefaultAuthorityHost)
	}
	if tenant == "" {
		return nil, configErr(ArgTenantID, "Missing Tenant ID",
			"the partner (CSP) tenant id is required to request a token: set the directory (tenant) id")
	}
	if !validTenant(tenant) {
		return nil, configErr(ArgTenantID, "Invalid Tenant ID",
			"%q is not a tenant id or domain (letters, digits, '-' and '.' only)", tenant)
	}
	u.Path = "/" + tenant
	return u, nil
}

func validTenant(t string) bool {
	if len(t) > 256 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// acquirer gets a fresh token from the identity platform.
type acquirer interface {
	acquire(ctx context.Context) (token string, expiresOn time.Time, err error)
	// reset forgets any token the underlying library cached, so the next
	// acquire goes to the network (after the API rejected a token).
	reset()
}

// Credential caches one token for the whole provider instance and refreshes
// it only near expiry or after Invalidate. Concurrent callers share one
// token request. It satisfies graph.TokenSource.
type Credential struct {
	method Method
	acq    acquirer
	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time

	sem       chan struct{} // one acquisition at a time
	mu        sync.Mutex
	token     string
	expiresOn time.Time
	margin    time.Duration
	requests  int
}

func newCredential(m Method, acq acquirer, cfg Config) *Credential {
	c := &Credential{method: m, acq: acq, sleep: cfg.Sleep, now: cfg.Now, sem: make(chan struct{}, 1)}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Method is the authentication method in use.
func (c *Credential) Method() Method { return c.method }

// TokenRequests counts the tokens acquired from the identity platform.
func (c *Credential) TokenRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

func (c *Credential) cached() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.expiresOn.Add(-c.margin)) {
		return c.token, true
	}
	return "", false
}

// Token returns the cached token, or acquires one.
func (c *Credential) Token(ctx context.Context) (string, error) {
	if t, ok := c.cached(); ok {
		return t, nil
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.sem }()
	if t, ok := c.cached(); ok { // another caller got it while we waited
		return t, nil
	}
	tok, exp, err := c.acquireWithRetry(ctx)
	if err != nil {
		return "", fmt.Errorf("%s authentication: %w", c.method, err)
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	c.token, c.expiresOn = tok, exp
	// Refresh five minutes early, or halfway for short-lived tokens.
	c.margin = min(5*time.Minute, exp.Sub(now)/2)
	return tok, nil
}

// Invalidate drops token if it is the cached one; the next Token call
// acquires a new token from the network.
func (c *Credential) Invalidate(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if token != "" && token == c.token {
		c.token = ""
		c.acq.reset()
	}
}

// tokenAttempts bounds identity requests for one token: the identity
// platform answers 5xx or 429 now and then.
const tokenAttempts = 3

func (c *Credential) acquireWithRetry(ctx context.Context) (string, time.Time, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var tok string
		var exp time.Time
		tok, exp, err = c.acq.acquire(ctx)
		if err == nil {
			return tok, exp, nil
		}
		if attempt >= tokenAttempts || !transient(err) || ctx.Err() != nil {
			return "", time.Time{}, err
		}
		if serr := c.sleep(ctx, time.Duration(attempt)*time.Second); serr != nil {
			return "", time.Time{}, fmt.Errorf("%w (last error: %w)", serr, err)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
