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
	"regexp"
	"slices"
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

// oidcRequestTimeout bounds one request to a CI system's token endpoint when
// the caller's context has no earlier deadline.
const oidcRequestTimeout = 30 * time.Second

// assertionSource returns the external OIDC token that MSAL sends as the
// client assertion. MSAL calls it for every token request, so tokens that
// rotate (a file on AKS, a fresh GitHub or Azure Pipelines token) are read
// when needed.
type assertionSource func(ctx context.Context) (string, error)

func newOIDCAcquirer(cfg Config) (acquirer, error) {
	authority, errs := appAuthority(cfg, "use_oidc")
	src, err := oidcSource(cfg)
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = append(errs, joined.Unwrap()...) // one diagnostic per argument
	} else if err != nil {
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
// then a file, then a CI system's token endpoint (the order of the azurerm
// provider). With a service connection id the endpoint is Azure Pipelines',
// otherwise GitHub Actions'.
func oidcSource(cfg Config) (assertionSource, error) {
	switch {
	case cfg.OIDCToken != "":
		tok := cfg.OIDCToken
		return func(context.Context) (string, error) { return tok, nil }, nil
	case cfg.OIDCTokenFilePath != "":
		return fileSource(cfg.OIDCTokenFilePath)
	case cfg.OIDCRequestURL != "" || cfg.OIDCRequestToken != "" || cfg.ADOServiceConnectionID != "":
		return endpointSource(cfg)
	}
	return nil, &ConfigError{Argument: ArgOIDCToken, Summary: "Missing OIDC Token",
		Related: []string{ArgOIDCTokenFilePath, ArgOIDCRequestURL, ArgOIDCRequestToken, ArgADOServiceConnectionID},
		Err: errors.New("use_oidc is true but no OIDC token was given: set oidc_token, oidc_token_file_path, " +
			"or oidc_request_url with oidc_request_token (GitHub Actions sets the last two when the job has the id-token: write permission; " +
			"in Azure Pipelines also set ado_pipeline_service_connection_id)")}
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

// oidcFlavour is how one CI system hands out OIDC tokens: the request
// differs in method, query, headers and the answer's field; the rules of
// secrecy, redirects and timeouts are the same for all.
type oidcFlavour struct {
	name   string // in messages: "GitHub Actions"
	method string
	params [][2]string // query parameters set on the request URL
	header map[string]string
	field  string // the JSON field of the answer that holds the token
	// missingURL and missingToken explain an incomplete configuration.
	missingURL, missingToken string
	// detail describes an error answer (never a 2xx one, which may hold a
	// token) for a message, starting with ": " or " (".
	detail func(status int, h http.Header, body []byte) string
}

var gitHubActions = oidcFlavour{
	name:   "GitHub Actions",
	method: http.MethodGet,
	params: [][2]string{{"audience", TokenExchangeAudience}},
	field:  "value",
	missingURL: "oidc_request_token is set but oidc_request_url is not: set both " +
		"(GitHub Actions provides them as ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN)",
	missingToken: "oidc_request_url is set but oidc_request_token is not: set both " +
		"(GitHub Actions provides them as ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN)",
	detail: func(status int, _ http.Header, body []byte) string { return githubMessage(body) + githubHint(status) },
}

// adoAPIVersion is the Azure DevOps REST API version of the OIDC token
// request, as the Azure SDKs and go-azure-sdk send it.
const adoAPIVersion = "7.1"

// adoStepEnv is what a pipeline step needs so that the provider sees the
// job's access token: Azure Pipelines gives it to scripts only when mapped.
const adoStepEnv = "add `SYSTEM_ACCESSTOKEN: $(System.AccessToken)` to the env of the pipeline step that runs Terraform: " +
	"Azure Pipelines does not give System.AccessToken to scripts unless the step maps it"

// azurePipelines asks the job's OIDC endpoint (System.OidcRequestUri) for a
// token of a service connection, the way azidentity's
// AzurePipelinesCredential and go-azure-sdk do: POST with an empty body,
// api-version=7.1&serviceConnectionId={id}, the job's System.AccessToken as
// bearer, answer {"oidcToken": "..."}. X-TFS-FedAuthRedirect: Suppress makes
// Azure DevOps answer a rejected token with 401 instead of a redirect to its
// sign-in page.
func azurePipelines(serviceConnectionID string) oidcFlavour {
	return oidcFlavour{
		name:   "Azure Pipelines",
		method: http.MethodPost,
		params: [][2]string{{"api-version", adoAPIVersion}, {"serviceConnectionId", serviceConnectionID}},
		header: map[string]string{"Content-Type": "application/json", "X-TFS-FedAuthRedirect": "Suppress"},
		field:  "oidcToken",
		missingURL: "ado_pipeline_service_connection_id is set but oidc_request_url is not: Azure Pipelines sets SYSTEM_OIDCREQUESTURI in every job; " +
			"in a container or a script that does not inherit the job's variables, pass `SYSTEM_OIDCREQUESTURI: $(System.OidcRequestUri)` and " +
			"`SYSTEM_ACCESSTOKEN: $(System.AccessToken)` in the step's env",
		missingToken: "ado_pipeline_service_connection_id is set but oidc_request_token is not: " + adoStepEnv,
		detail:       adoDetail,
	}
}

// endpointSource checks the endpoint configuration now and returns a source
// that asks the endpoint for a fresh token at every token request: the
// tokens of GitHub and Azure Pipelines live minutes.
func endpointSource(cfg Config) (assertionSource, error) {
	f := gitHubActions
	var errs []error
	if id := cfg.ADOServiceConnectionID; id != "" {
		f = azurePipelines(id)
		if !guidLike(id) {
			errs = append(errs, configErr(ArgADOServiceConnectionID, "Invalid Azure Pipelines Service Connection ID",
				"%q is not the id of a service connection: use its GUID (the resourceId in the URL of the service connection's page in Azure DevOps, "+
					"or `az devops service-endpoint list --query \"[?name=='NAME'].id\"`), not its name", id))
		}
	}
	u, err := url.Parse(cfg.OIDCRequestURL)
	switch {
	case cfg.OIDCRequestURL == "":
		errs = append(errs, configErr(ArgOIDCRequestURL, "Missing OIDC Request URL", "%s", f.missingURL))
	case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil:
		// The URL is not secret, but an unparsable one is not echoed either.
		errs = append(errs, configErr(ArgOIDCRequestURL, "Invalid OIDC Request URL",
			"oidc_request_url must be an https URL (the %s OIDC token endpoint); the request token is never sent over plain http", f.name))
	case cfg.ADOServiceConnectionID == "" && strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/oidctoken"):
		// System.OidcRequestUri ends in /oidctoken; GitHub's ends in /idtoken.
		f = azurePipelines("")
		errs = append(errs, &ConfigError{Argument: ArgADOServiceConnectionID, Summary: "Missing Azure Pipelines Service Connection ID",
			Related: []string{ArgOIDCRequestURL},
			Err: errors.New("oidc_request_url is an Azure Pipelines OIDC endpoint (SYSTEM_OIDCREQUESTURI), which issues tokens for a service connection: " +
				"set ado_pipeline_service_connection_id to the id of the Azure Resource Manager service connection (workload identity federation) " +
				"whose app registration has PartnerBilling.Read.All")})
	}
	if cfg.OIDCRequestToken == "" {
		related := []string{ArgOIDCRequestURL}
		if f.name == "Azure Pipelines" {
			related = append(related, ArgADOServiceConnectionID)
		}
		errs = append(errs, &ConfigError{Argument: ArgOIDCRequestToken, Summary: "Missing OIDC Request Token", Related: related, Err: errors.New(f.missingToken)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// The request token must not follow a redirect (Go keeps Authorization
	// for the same host, whatever the scheme): a redirect is an error.
	client := httpx.NoRedirects(cfg.HTTPClient)
	bearer := cfg.OIDCRequestToken
	return func(ctx context.Context) (string, error) { return requestOIDCToken(ctx, client, u, bearer, f) }, nil
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func guidLike(s string) bool { return guidPattern.MatchString(s) }

// requestOIDCToken asks a CI system's token endpoint for a token with the
// audience Entra ID expects. The endpoint's URL carries no secret; the
// request token travels only in the Authorization header and is cut out of
// any text the endpoint sends back.
func requestOIDCToken(ctx context.Context, client *http.Client, endpoint *url.URL, bearer string, f oidcFlavour) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, oidcRequestTimeout)
	defer cancel()
	u := *endpoint
	u.RawQuery = withParams(u.RawQuery, f.params...)
	where := endpointName(&u)
	var reqBody io.Reader
	if f.method == http.MethodPost {
		reqBody = http.NoBody // Content-Length: 0
	}
	req, err := http.NewRequestWithContext(ctx, f.method, u.String(), reqBody)
	if err != nil {
		return "", fmt.Errorf("requesting an OIDC token from %s: %w", where, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	for k, v := range f.header {
		req.Header.Set(k, v)
	}
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
		redirect := ""
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			redirect = " (a redirect, which is never followed)"
		}
		msg := fmt.Sprintf("the %s OIDC token endpoint %s answered HTTP %d%s%s", f.name, where, resp.StatusCode, redirect, f.detail(resp.StatusCode, resp.Header, body))
		return "", &statusError{status: resp.StatusCode, msg: withoutSecret(msg, bearer)}
	}
	var v map[string]json.RawMessage
	var tok string
	if json.Unmarshal(body, &v) != nil || json.Unmarshal(v[f.field], &tok) != nil || strings.TrimSpace(tok) == "" {
		// The body is not quoted: a 200 answer may hold a token.
		return "", fmt.Errorf("the %s OIDC token endpoint %s answered HTTP 200 without a token (expected JSON {%q: \"...\"})", f.name, where, f.field)
	}
	return strings.TrimSpace(tok), nil
}

// endpointName is the endpoint for messages: no query, and the plan and
// job ids of a CI system's long path left out.
func endpointName(u *url.URL) string {
	p := u.Path
	if i := strings.LastIndexByte(p, '/'); len(p) > 40 && i > 0 {
		p = "/…" + p[i:]
	}
	return u.Scheme + "://" + u.Host + p
}

// withoutSecret cuts secret out of text, when it is long enough to be a
// credential rather than a word the text may contain by chance.
func withoutSecret(text, secret string) string {
	if len(secret) < 8 {
		return text
	}
	return strings.ReplaceAll(text, secret, "[redacted]")
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

// adoDetail describes an Azure DevOps error answer: the message of its
// error body ({"message", "typeKey", ...}; nothing else of the body), the
// request ids Microsoft support asks for (X-VSS-E2EID, X-MSEdge-Ref), and
// which of the two inputs is wrong when the answer tells.
func adoDetail(status int, h http.Header, body []byte) string {
	var e struct {
		Message string `json:"message"`
		TypeKey string `json:"typeKey"`
	}
	_ = json.Unmarshal(body, &e)
	msg := redact(e.Message) // cut at maxQuoted runes, like every server field
	out := adoHint(status, strings.ToLower(e.Message+" "+e.TypeKey))
	if msg != "" {
		out += "; Azure DevOps said: " + msg
	}
	if e.TypeKey != "" {
		out += " (" + redact(e.TypeKey[:min(len(e.TypeKey), 100)]) + ")"
	}
	var ids []string
	for _, k := range []string{"X-VSS-E2EID", "X-MSEdge-Ref"} {
		if v := h.Get(k); v != "" {
			ids = append(ids, k+": "+redact(v[:min(len(v), 120)]))
		}
	}
	if len(ids) > 0 {
		out += " [" + strings.Join(ids, ", ") + "]"
	}
	return out
}

func adoHint(status int, text string) string {
	switch {
	case strings.Contains(text, "service connection") || strings.Contains(text, "serviceendpoint") || strings.Contains(text, "service endpoint"):
		return "; ado_pipeline_service_connection_id names no service connection this pipeline may use: use the id (GUID) of an Azure Resource Manager " +
			"service connection with workload identity federation in this project, and allow the pipeline to use it (the service connection's Security → Pipeline permissions)"
	case status == http.StatusUnauthorized || status == http.StatusNonAuthoritativeInfo || (status >= 300 && status < 400):
		return "; Azure Pipelines rejected oidc_request_token, which must be this job's System.AccessToken (valid only while the job runs): " + adoStepEnv
	case status == http.StatusForbidden:
		return "; the job's access token may not request a token for this service connection: allow the pipeline to use the service connection " +
			"(its Security → Pipeline permissions) and check ado_pipeline_service_connection_id"
	case status == http.StatusNotFound:
		return "; oidc_request_url is not this job's OIDC endpoint (SYSTEM_OIDCREQUESTURI), or ado_pipeline_service_connection_id is wrong"
	}
	return ""
}

// withParams sets params in a query, keeping the rest as the CI system wrote
// it (re-encoding a parsed query would drop what url.ParseQuery cannot
// read); params already there are replaced only when the query parses
// cleanly.
func withParams(raw string, params ...[2]string) string {
	if q, err := url.ParseQuery(raw); err == nil && slices.ContainsFunc(params, func(p [2]string) bool { return q.Has(p[0]) }) {
		for _, p := range params {
			q.Set(p[0], p[1])
		}
		return q.Encode()
	}
	parts := make([]string, 0, len(params)+1)
	if raw != "" {
		parts = append(parts, raw)
	}
	for _, p := range params {
		parts = append(parts, url.QueryEscape(p[0])+"="+url.QueryEscape(p[1]))
	}
	return strings.Join(parts, "&")
}
