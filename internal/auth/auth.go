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

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// The token scopes, one per service the provider calls (SPEC §2). They stay
// these whatever endpoints are configured.
const (
	GraphScope         = "https://graph.microsoft.com/.default"
	PartnerCenterScope = "https://api.partnercenter.microsoft.com/.default"
	StorageScope       = "https://storage.azure.com/.default"
)

// DefaultAuthorityHost is the public-cloud Microsoft Entra login host.
const DefaultAuthorityHost = "https://login.microsoftonline.com"

// Method is a way to authenticate.
type Method string

// The authentication methods. SelectMethod prefers an explicit use_* flag,
// then a certificate, then a secret (SPEC §2).
const (
	MethodOIDC              Method = "OIDC (workload identity federation)"
	MethodManagedIdentity   Method = "managed identity"
	MethodAzureCLI          Method = "Azure CLI"
	MethodClientCertificate Method = "client certificate"
	MethodClientSecret      Method = "client secret"
)

// Argument names, as the user writes them in HCL. The provider maps them to
// attribute paths and environment variables.
const (
	ArgTenantID                  = "tenant_id"
	ArgClientID                  = "client_id"
	ArgClientSecret              = "client_secret"
	ArgClientCertificate         = "client_certificate"
	ArgClientCertificatePath     = "client_certificate_path"
	ArgClientCertificatePassword = "client_certificate_password"
	ArgUseOIDC                   = "use_oidc"
	ArgOIDCToken                 = "oidc_token"
	ArgOIDCTokenFilePath         = "oidc_token_file_path" //nolint:gosec // G101: an argument name, not a credential
	ArgOIDCRequestURL            = "oidc_request_url"
	ArgOIDCRequestToken          = "oidc_request_token" //nolint:gosec // G101: an argument name, not a credential
	ArgADOServiceConnectionID    = "ado_pipeline_service_connection_id"
	ArgUseMSI                    = "use_msi"
	ArgUseCLI                    = "use_cli"
	ArgAuthorityHost             = "authority_host"
)

// Config is everything the credential needs. Empty strings mean "not set".
type Config struct {
	TenantID      string
	ClientID      string // with UseMSI: the user-assigned identity ("" = system-assigned)
	ClientSecret  string
	AuthorityHost string // default DefaultAuthorityHost

	// ClientCertificate is a PEM certificate and private key, or the base64
	// of a PKCS#12 (.pfx/.p12) or PEM file.
	ClientCertificate         string
	ClientCertificatePath     string // a PKCS#12 or PEM file
	ClientCertificatePassword string // for PKCS#12

	UseOIDC           bool
	OIDCToken         string // the external token itself
	OIDCTokenFilePath string // re-read for every token request (rotation)
	OIDCRequestURL    string // GitHub Actions or Azure Pipelines OIDC token endpoint
	OIDCRequestToken  string // bearer token for OIDCRequestURL
	// ADOServiceConnectionID makes OIDCRequestURL an Azure Pipelines
	// endpoint, asked for a token of this service connection; it does not
	// choose OIDC by itself (UseOIDC does).
	ADOServiceConnectionID string

	UseMSI bool
	UseCLI bool

	// HTTPClient is used for every identity request (default: a plain client
	// that verifies TLS against the system roots).
	HTTPClient *http.Client
	// Sleep waits between token request retries (tests make it instant).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for token and certificate expiry (tests).
	Now func() time.Time
	// TokenTimeout bounds one token request (default 60 s; tests shorten it).
	TokenTimeout time.Duration
	// CLITimeout bounds one run of the Azure CLI (default 30s).
	CLITimeout time.Duration
}

// ErrNoCredentials means nothing usable was configured.
var ErrNoCredentials = errors.New("no credentials configured")

// ConfigError is a configuration mistake the user fixes in one argument.
type ConfigError struct {
	Argument string // e.g. "tenant_id"
	Summary  string // Title Case, e.g. "Missing Tenant ID"
	Err      error
	// Related are other arguments that take part: alternatives that would
	// also fix it, or the other side of a conflict.
	Related []string
}

func (e *ConfigError) Error() string { return e.Argument + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(arg, summary, format string, a ...any) *ConfigError {
	return &ConfigError{Argument: arg, Summary: summary, Err: fmt.Errorf(format, a...)}
}

// SelectMethod picks the authentication method from what is configured: an
// explicit use_oidc, use_msi or use_cli wins (more than one is an error),
// otherwise a certificate, then a secret.
func (c *Config) SelectMethod() (Method, error) {
	flags := []struct {
		on  bool
		arg string
		m   Method
	}{{c.UseOIDC, ArgUseOIDC, MethodOIDC}, {c.UseMSI, ArgUseMSI, MethodManagedIdentity}, {c.UseCLI, ArgUseCLI, MethodAzureCLI}}
	var on []string
	var chosen Method
	for _, f := range flags {
		if f.on {
			on = append(on, f.arg)
			chosen = f.m
		}
	}
	switch {
	case len(on) > 1:
		last := on[len(on)-1]
		both := "both"
		if len(on) > 2 {
			both = "all"
		}
		return "", &ConfigError{Argument: last, Summary: "Conflicting Authentication Methods", Related: on[:len(on)-1],
			Err: fmt.Errorf("%s are %s true, but only one authentication method can be used: set only one of use_oidc, use_msi and use_cli to true", strings.Join(on, " and "), both)}
	case len(on) == 1:
		return chosen, nil
	case c.ClientCertificate != "" || c.ClientCertificatePath != "":
		return MethodClientCertificate, nil
	case c.ClientSecret != "":
		return MethodClientSecret, nil
	}
	if src := c.oidcInputs(); len(src) > 0 {
		verb := "are"
		if len(src) == 1 {
			verb = "is"
		}
		return "", fmt.Errorf("%w: %s %s set but use_oidc is not true; set use_oidc = true (ARM_USE_OIDC=true) to authenticate with it",
			ErrNoCredentials, strings.Join(src, " and "), verb)
	}
	if c.TenantID != "" && c.ClientID != "" {
		// Half of an app registration: the secret is the likely missing part.
		return "", &ConfigError{Argument: ArgClientSecret, Summary: "Credential Missing",
			Related: []string{ArgClientCertificatePath, ArgClientCertificate, ArgUseOIDC, ArgUseMSI, ArgUseCLI},
			Err: errors.New("tenant_id and client_id are set, but no credential of that app registration is: set client_secret (ARM_CLIENT_SECRET) to the value " +
				"(not the id) of one of its client secrets; or authenticate another way: a certificate (client_certificate_path or client_certificate), " +
				"use_oidc = true with an OIDC token, use_msi = true for a managed identity, or use_cli = true for the Azure CLI")}
	}
	return "", ErrNoCredentials
}

// oidcInputs names the OIDC token sources that are configured: in a
// pipeline they usually are (Azure Pipelines sets SYSTEM_OIDCREQUESTURI in
// every job), and a missing use_oidc is then the likely mistake.
func (c *Config) oidcInputs() []string {
	var out []string
	for _, in := range []struct {
		set bool
		arg string
	}{
		{c.OIDCToken != "", ArgOIDCToken}, {c.OIDCTokenFilePath != "", ArgOIDCTokenFilePath},
		{c.OIDCRequestURL != "" || c.OIDCRequestToken != "", ArgOIDCRequestURL}, {c.ADOServiceConnectionID != "", ArgADOServiceConnectionID},
	} {
		if in.set {
			out = append(out, in.arg)
		}
	}
	return out
}

// builders make the acquirer of each method, checking its configuration.
var builders = map[Method]func(Config) (acquirer, error){
	MethodClientSecret:      newSecretAcquirer,
	MethodClientCertificate: newCertificateAcquirer,
	MethodOIDC:              newOIDCAcquirer,
	MethodManagedIdentity:   newManagedIdentityAcquirer,
	MethodAzureCLI:          newCLIAcquirer,
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
	acq, err := builders[method](cfg)
	if err != nil {
		return nil, err
	}
	cred := newCredential(method, acq, cfg)
	if m, ok := acq.(*msalAcquirer); ok {
		cred.authority = m.authority
	}
	return cred, nil
}

// appAuthority checks what every app registration method (secret,
// certificate, OIDC) needs: an authority host, a tenant and a client id.
// what names the credential in messages ("a client secret").
func appAuthority(cfg Config, what string) (*url.URL, []error) {
	var errs []error
	authority, err := authorityURL(cfg.AuthorityHost, cfg.TenantID)
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.ClientID == "" {
		errs = append(errs, configErr(ArgClientID, "Missing Client ID",
			"%s was given but no client_id: set the application (client) id of the app registration", what))
	}
	return authority, errs
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
			"%q is not an https URL of a host (expected e.g. %s): MSAL only talks to https authorities", httpx.RedactURL(host), DefaultAuthorityHost)
	}
	if tenant == "" {
		return nil, configErr(ArgTenantID, "Missing Tenant ID",
			"the partner (CSP) tenant id is required to request a token: set the directory (tenant) id")
	}
	if !validTenant(tenant) {
		return nil, configErr(ArgTenantID, "Invalid Tenant ID",
			"%q is not a tenant id or domain (letters, digits, '-' and '.' only, not starting with '-')", tenant)
	}
	u.Path = "/" + tenant
	return u, nil
}

// validTenant accepts a tenant GUID or domain. It must not start with '-',
// so that it can never read as an option of the az command line.
func validTenant(t string) bool {
	if len(t) > 256 || strings.HasPrefix(t, "-") || strings.HasPrefix(t, ".") {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// acquirer gets a fresh token of one scope from the identity platform.
type acquirer interface {
	acquire(ctx context.Context, scope string) (token string, expiresOn time.Time, err error)
	// reset forgets any token of scope the underlying library cached, so
	// the next acquire of it goes to the network (after the API rejected a
	// token).
	reset(scope string)
}

// Credential is the provider instance's one credential. It hands out a
// token source per scope (Scope), each with its own cache, sharing and
// failure memory. Token and Invalidate are those of the Graph scope, so a
// Credential satisfies graph.TokenSource as well.
type Credential struct {
	method Method
	acq    acquirer
	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time
	// timeout bounds one token request.
	timeout time.Duration
	// authority is the Microsoft Entra host the MSAL methods (secret,
	// certificate, OIDC) talk to, "" for managed identity and Azure CLI.
	authority *url.URL

	mu     sync.Mutex
	scopes map[string]*ScopedToken
}

func newCredential(m Method, acq acquirer, cfg Config) *Credential {
	c := &Credential{method: m, acq: acq, sleep: cfg.Sleep, now: cfg.Now, scopes: map[string]*ScopedToken{}}
	if c.sleep == nil {
		c.sleep = httpx.Sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.timeout = cfg.TokenTimeout
	if c.timeout <= 0 {
		c.timeout = tokenAttemptTimeout
	}
	return c
}

// Method is the authentication method in use.
func (c *Credential) Method() Method { return c.method }

// Token returns the Graph token (see Scope).
func (c *Credential) Token(ctx context.Context) (string, error) {
	return c.Scope(GraphScope).Token(ctx)
}

// Invalidate drops token if it is the cached Graph token.
func (c *Credential) Invalidate(token string) { c.Scope(GraphScope).Invalidate(token) }

// How long a failed token request cycle answers every caller without a new
// request. A definite failure (a wrong secret, a missing az login) cannot
// heal by itself: a plan with 200 reads must not send 200 doomed token
// requests to Microsoft Entra ID. A transient one (a login host that is down
// or answers 503) is shared for a few seconds, so that the reads queued
// behind the cycle, and those Terraform starts right after, fail with it
// instead of each running a cycle of minutes.
const (
	definiteFailureMemory  = 30 * time.Second
	transientFailureMemory = 5 * time.Second
)

const (
	// tokenAttempts bounds identity requests for one token: the identity
	// platform answers 5xx or 429 now and then.
	tokenAttempts = 3
	// tokenAttemptTimeout bounds one attempt: a login host (or proxy) that
	// accepts the connection and never answers must not hang every read of
	// the run, which queue behind the token.
	tokenAttemptTimeout = 60 * time.Second
)

// errTokenTimeout is the cause of a token request cut off by its timeout.
var errTokenTimeout = errors.New("no answer from the identity endpoint in time")

func (c *Credential) acquireWithRetry(ctx context.Context, scope string) (string, time.Time, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var tok string
		var exp time.Time
		actx, cancel := context.WithTimeoutCause(ctx, c.timeout, errTokenTimeout)
		tok, exp, err = c.acq.acquire(actx, scope)
		if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errTokenTimeout) {
			err = &tokenTimeoutError{timeout: c.timeout, host: requestHost(err)}
		}
		cancel()
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
