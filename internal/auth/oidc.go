package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// TokenExchangeAudience is the audience Microsoft Entra ID requires in the
// external tokens of federated identity credentials.
const TokenExchangeAudience = "api://AzureADTokenExchange" //nolint:gosec // G101: a public audience URI, not a credential

// maxOIDCTokenSize caps what is read from a token file or endpoint; real
// OIDC tokens are a few KiB.
const maxOIDCTokenSize = 1 << 20

// oidcRequestTimeout bounds one request to the GitHub Actions endpoint when
// the caller's context has no earlier deadline.
const oidcRequestTimeout = 30 * time.Second

// assertionSource returns the external OIDC token that MSAL sends as the
// client assertion. MSAL calls it for every token request, so tokens that
// rotate (a file on AKS, a fresh GitHub token) are read when needed.
type assertionSource func(ctx context.Context) (string, error)

func newOIDCAcquirer(cfg Config) (acquirer, error) {
	authority, errs := appAuthority(cfg, "use_oidc")
	src, err := oidcSource(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cred := confidential.NewCredFromAssertionCallback(func(ctx context.Context, _ confidential.AssertionRequestOptions) (string, error) {
		return src(ctx)
	})
	return newMSALAcquirer(cfg, authority, cred)
}

// oidcSource picks where the external token comes from: the token itself,
// then a file, then the GitHub Actions endpoint (the order of the azurerm
// provider).
func oidcSource(cfg Config) (assertionSource, error) {
	switch {
	case cfg.OIDCToken != "":
		tok := cfg.OIDCToken
		return func(context.Context) (string, error) { return tok, nil }, nil
	case cfg.OIDCTokenFilePath != "":
		return fileSource(cfg.OIDCTokenFilePath)
	case cfg.OIDCRequestURL != "" || cfg.OIDCRequestToken != "":
		return githubSource(cfg)
	}
	return nil, &ConfigError{Argument: ArgOIDCToken, Summary: "Missing OIDC Token",
		Related: []string{ArgOIDCTokenFilePath, ArgOIDCRequestURL, ArgOIDCRequestToken},
		Err: errors.New("use_oidc is true but no OIDC token was given: set oidc_token, oidc_token_file_path, " +
			"or oidc_request_url with oidc_request_token (GitHub Actions sets the last two when the job has the id-token: write permission)")}
}

// fileSource checks now that the file can be read, then re-reads it for
// every token request: Kubernetes (AKS workload identity) rotates it.
func fileSource(path string) (assertionSource, error) {
	if _, err := readTokenFile(path); err != nil {
		return nil, configErr(ArgOIDCTokenFilePath, "Unreadable OIDC Token File", "%w", err)
	}
	return func(context.Context) (string, error) { return readTokenFile(path) }, nil
}

func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the OIDC token file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxOIDCTokenSize+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("cannot read the OIDC token file %s: %w", path, err)
	case len(b) > maxOIDCTokenSize:
		return "", fmt.Errorf("the OIDC token file %s is larger than 1 MiB, so it is not a token", path)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("the OIDC token file %s is empty", path)
	}
	return tok, nil
}

func githubSource(cfg Config) (assertionSource, error) {
	var errs []error
	u, err := url.Parse(cfg.OIDCRequestURL)
	switch {
	case cfg.OIDCRequestURL == "":
		errs = append(errs, configErr(ArgOIDCRequestURL, "Missing OIDC Request URL",
			"oidc_request_token is set but oidc_request_url is not: set both (GitHub Actions provides them as ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN)"))
	case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil:
		// The URL is not secret, but an unparsable one is not echoed either.
		errs = append(errs, configErr(ArgOIDCRequestURL, "Invalid OIDC Request URL",
			"oidc_request_url must be an https URL (the GitHub Actions ID-token endpoint); the request token is never sent over plain http"))
	}
	if cfg.OIDCRequestToken == "" {
		errs = append(errs, configErr(ArgOIDCRequestToken, "Missing OIDC Request Token",
			"oidc_request_url is set but oidc_request_token is not: set both (GitHub Actions provides them as ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN)"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// The request token must not follow a redirect (Go keeps Authorization
	// for the same host, whatever the scheme): a redirect is an error.
	client := httpx.NoRedirects(cfg.HTTPClient)
	bearer := cfg.OIDCRequestToken
	return func(ctx context.Context) (string, error) { return requestGitHubToken(ctx, client, u, bearer) }, nil
}

// requestGitHubToken asks the GitHub Actions ID-token endpoint for a token
// with the audience Entra ID expects. The endpoint's URL carries no secret;
// the request token travels only in the Authorization header.
func requestGitHubToken(ctx context.Context, client *http.Client, endpoint *url.URL, bearer string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, oidcRequestTimeout)
	defer cancel()
	u := *endpoint
	u.RawQuery = withAudience(u.RawQuery)
	where := u.Scheme + "://" + u.Host + u.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("requesting an OIDC token from %s: %w", where, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting an OIDC token from %s: %w", where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOIDCTokenSize))
	if err != nil {
		return "", fmt.Errorf("reading the OIDC token from %s: %w", where, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", &statusError{status: resp.StatusCode, msg: fmt.Sprintf("the OIDC token endpoint %s answered HTTP %d%s%s",
			where, resp.StatusCode, githubMessage(body), githubHint(resp.StatusCode))}
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("the OIDC token endpoint %s answered HTTP 200 without a token (expected JSON {\"value\": \"...\"})", where)
	}
	return v.Value, nil
}

// githubMessage is the "message" of a GitHub error body, with anything that
// looks like a token removed.
func githubMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return ""
	}
	return ": " + redact(e.Message)
}

func githubHint(status int) string {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return " (oidc_request_token is wrong or expired: in GitHub Actions it is only valid during the job, and the job needs the id-token: write permission)"
	}
	return ""
}

// withAudience adds audience=api://AzureADTokenExchange to a query, keeping
// the rest as GitHub wrote it (re-encoding a parsed query would drop what
// url.ParseQuery cannot read); an audience already there is replaced only
// when the query parses cleanly.
func withAudience(raw string) string {
	aud := "audience=" + url.QueryEscape(TokenExchangeAudience)
	if q, err := url.ParseQuery(raw); err == nil && q.Has("audience") {
		q.Set("audience", TokenExchangeAudience)
		return q.Encode()
	}
	if raw == "" {
		return aud
	}
	return raw + "&" + aud
}
