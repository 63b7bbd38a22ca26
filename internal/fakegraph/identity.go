package fakegraph

import (
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client is an application registration known to the fake identity platform.
// An app may hold several credentials at once, as a real one can; a token
// request is accepted when it proves any of them.
type Client struct {
	TenantID string
	ClientID string
	Secret   string // accepted client_secret; "" means the app has no secret

	// Certificates are the certificate credentials (public certificates
	// only): a client assertion JWT signed (RS256 or PS256) by the key of one
	// of them, naming it in its x5t or x5t#S256 header, is accepted.
	Certificates []*x509.Certificate
	// FederatedTokens are the external tokens (a GitHub Actions, GitLab or
	// Kubernetes OIDC token) that the app's federated identity credentials
	// accept verbatim as client assertion.
	FederatedTokens []string
}

type clientKey struct{ tenant, client string }

func keyOf(tenantID, clientID string) clientKey {
	return clientKey{strings.ToLower(tenantID), strings.ToLower(clientID)}
}

type token struct {
	client   clientKey
	audience string // the resource it was issued for
	expires  time.Time
	revoked  bool
}

// aadError is an error answer of the identity platform.
type aadError struct {
	status int
	err    string // OAuth error, e.g. invalid_client
	code   int    // AADSTS code
	desc   string // description without the AADSTS prefix and trace suffix
}

// AddClient registers (or replaces) an app with a client secret in a tenant.
func (s *Server) AddClient(tenantID, clientID, secret string) {
	s.RegisterClient(Client{TenantID: tenantID, ClientID: clientID, Secret: secret})
}

// RegisterClient registers (or replaces) an app.
func (s *Server) RegisterClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[keyOf(c.TenantID, c.ClientID)] = &c
	s.tenants[strings.ToLower(c.TenantID)] = true
}

// ScriptToken queues answers for the next token requests, before any
// validation (e.g. a 503, then normal behaviour). Calls append to the queue.
func (s *Server) ScriptToken(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenQueue = append(s.tokenQueue, rs...)
}

// RevokeTokens makes every token issued so far invalid: its service answers 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.tokens {
		t.revoked = true
		s.tokens[k] = t
	}
}

// IssuedTokens is the access tokens issued so far, in order.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

func isTokenPath(p string) bool {
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	return len(seg) == 4 && seg[0] != "" && seg[1] == "oauth2" && seg[2] == "v2.0" && seg[3] == "token"
}

func tenantOf(p string) string {
	t, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return t
}

func (s *Server) knownTenant(t string) bool {
	switch strings.ToLower(t) {
	case "common", "organizations", "consumers":
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenants[strings.ToLower(t)]
}

func identityHeaders(r *http.Request) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("x-ms-request-id", newGUID())
	if id := r.Header.Get("client-request-id"); id != "" {
		h.Set("client-request-id", id)
	}
	return h
}

func (s *Server) sendAAD(w http.ResponseWriter, r *http.Request, e *aadError) int {
	trace := newGUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newGUID()
	}
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.code, e.desc, trace, corr, ts)
	body := fmt.Sprintf(`{"error":%s,"error_description":%s,"error_codes":[%d],"timestamp":%s,"trace_id":%s,"correlation_id":%s,"error_uri":%s}`,
		jsonString(e.err), jsonString(desc), e.code, jsonString(ts), jsonString(trace), jsonString(corr),
		jsonString(fmt.Sprintf("%s/error?code=%d", s.url, e.code)))
	return s.send(w, r, Status(e.status, body), identityHeaders(r))
}

func (s *Server) serveOpenIDConfig(w http.ResponseWriter, r *http.Request) int {
	seg := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(seg) != 4 || seg[0] == "" {
		return s.send(w, r, Status(http.StatusNotFound, "404 page not found\n", "Content-Type", "text/plain; charset=utf-8"), nil)
	}
	if r.Method != http.MethodGet {
		return s.sendAAD(w, r, &aadError{http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts GET requests."})
	}
	tenant := seg[0]
	if !s.knownTenant(tenant) {
		return s.sendAAD(w, r, errTenantNotFound(tenant))
	}
	issuerTenant := tenant
	switch strings.ToLower(tenant) {
	case "common", "organizations", "consumers":
		issuerTenant = "{tenantid}"
	}
	base := s.url + "/" + tenant
	body := fmt.Sprintf(`{"token_endpoint":%s,"token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt","client_secret_basic"],"jwks_uri":%s,"response_modes_supported":["query","fragment","form_post"],"subject_types_supported":["pairwise"],"id_token_signing_alg_values_supported":["RS256"],"response_types_supported":["code","id_token","code id_token","id_token token"],"scopes_supported":["openid","profile","email","offline_access"],"issuer":%s,"request_uri_parameter_supported":false,"userinfo_endpoint":%s,"authorization_endpoint":%s,"device_authorization_endpoint":%s,"http_logout_supported":true,"frontchannel_logout_supported":true,"end_session_endpoint":%s,"claims_supported":["sub","iss","aud","exp","iat","nbf","tid","ver","oid"],"tenant_region_scope":"NA","cloud_instance_name":"microsoftonline.com","cloud_graph_host_name":"graph.windows.net","msgraph_host":"graph.microsoft.com","rbac_url":"https://pas.windows.net"}`,
		jsonString(base+"/oauth2/v2.0/token"),
		jsonString(base+"/discovery/v2.0/keys"),
		jsonString(s.url+"/"+issuerTenant+"/v2.0"),
		jsonString(s.url+"/oidc/userinfo"),
		jsonString(base+"/oauth2/v2.0/authorize"),
		jsonString(base+"/oauth2/v2.0/devicecode"),
		jsonString(base+"/oauth2/v2.0/logout"))
	return s.send(w, r, OK(body), identityHeaders(r))
}

func (s *Server) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodGet {
		return s.sendAAD(w, r, &aadError{http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts GET requests."})
	}
	tenant := "common"
	if ae := r.URL.Query().Get("authorization_endpoint"); ae != "" {
		if u, err := url.Parse(ae); err == nil && tenantOf(u.Path) != "" {
			tenant = tenantOf(u.Path)
		}
	}
	host := strings.TrimPrefix(s.url, "https://")
	body := fmt.Sprintf(`{"tenant_discovery_endpoint":%s,"api-version":"1.1","metadata":[{"preferred_network":%s,"preferred_cache":%s,"aliases":[%s]}]}`,
		jsonString(s.url+"/"+tenant+"/v2.0/.well-known/openid-configuration"),
		jsonString(host), jsonString(host), jsonString(host))
	return s.send(w, r, OK(body), identityHeaders(r))
}

func errTenantNotFound(tenant string) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing in to the correct cloud.", tenant)}
}

func errMissing(param string) *aadError {
	return &aadError{http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf(
		"The request body must contain the following parameter: '%s'.", param)}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, body []byte) int {
	s.mu.Lock()
	if len(s.tokenQueue) > 0 {
		resp := s.tokenQueue[0]
		s.tokenQueue = s.tokenQueue[1:]
		s.mu.Unlock()
		return s.send(w, r, resp, identityHeaders(r))
	}
	s.mu.Unlock()

	resp, e := s.issue(r, body)
	if e != nil {
		return s.sendAAD(w, r, e)
	}
	return s.send(w, r, resp, identityHeaders(r))
}

// issue validates a client credentials request and issues a token.
func (s *Server) issue(r *http.Request, body []byte) (Response, *aadError) {
	if r.Method != http.MethodPost {
		return Response{}, &aadError{http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a " + r.Method + " request."}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Response{}, &aadError{http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded."}
	}
	for _, p := range []string{"grant_type", "client_id"} {
		if form.Get(p) == "" {
			return Response{}, errMissing(p)
		}
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		return Response{}, &aadError{http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf(
			"The app requested an unsupported grant type '%s'. fakegraph only supports client_credentials.", gt)}
	}
	tenant, clientID := tenantOf(r.URL.Path), form.Get("client_id")
	if !s.knownTenant(tenant) {
		return Response{}, errTenantNotFound(tenant)
	}
	key := keyOf(tenant, clientID)
	s.mu.Lock()
	c := s.clients[key]
	s.mu.Unlock()
	if c == nil {
		return Response{}, &aadError{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)}
	}
	if e := c.authenticate(form, s.url+r.URL.Path, time.Now()); e != nil {
		return Response{}, e
	}
	resource, e := checkScope(form.Get("scope"))
	if e != nil {
		return Response{}, e
	}

	at, _ := s.issueToken(key, c.ClientID, resource)
	secs := int64(math.Ceil(s.cfg.tokenLifetime.Seconds()))
	return OK(fmt.Sprintf(`{"token_type":"Bearer","expires_in":%d,"ext_expires_in":%d,"access_token":%s}`,
		secs, secs, jsonString(at))), nil
}

// issueToken records a new JWT access token for key (app appID) and
// resource, which the service of resource accepts until the configured
// token lifetime has passed.
func (s *Server) issueToken(key clientKey, appID, resource string) (string, time.Time) {
	now := time.Now()
	expires := now.Add(s.cfg.tokenLifetime)
	at := newJWT(key.tenant, appID, resource, now, expires)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[at] = token{client: key, audience: resource, expires: expires}
	s.issued = append(s.issued, at)
	return at, expires
}

// authenticate checks the client credential of a token request sent to
// tokenURL. It never puts the presented credential in the error.
func (c *Client) authenticate(form url.Values, tokenURL string, now time.Time) *aadError {
	switch {
	case form.Get("client_assertion_type") != "" || form.Get("client_assertion") != "":
		return c.authenticateAssertion(form, tokenURL, now)
	case form.Has("client_secret"):
		got := form.Get("client_secret")
		if c.Secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.Secret)) != 1 {
			return &aadError{http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
				"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", c.ClientID)}
		}
		return nil
	default:
		return &aadError{http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
}

// checkScope accepts one .default scope of a resource the fake serves
// (Graph, Partner Center, Storage), optionally with the OIDC scopes MSAL
// appends (openid, profile, offline_access), and returns its resource.
func checkScope(scope string) (string, *aadError) {
	fields := strings.Fields(scope)
	if len(fields) == 0 {
		return "", errMissing("scope")
	}
	invalid := func(v string) *aadError {
		return &aadError{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI). fakegraph only accepts %s.", v, strings.Join([]string{GraphScope, PartnerCenterScope, StorageScope}, ", "))}
	}
	resource := ""
	for _, f := range fields {
		switch f {
		case "openid", "profile", "offline_access":
			continue
		}
		r, ok := strings.CutSuffix(f, "/.default")
		if !ok || !knownResource(r) {
			return "", invalid(f)
		}
		if resource != "" {
			return "", &aadError{http.StatusBadRequest, "invalid_request", 28000, fmt.Sprintf(
				"Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", scope)}
		}
		resource = r
	}
	if resource == "" {
		return "", invalid(scope)
	}
	return resource, nil
}

// checkBearer validates the Authorization header of a request to the
// service of resource and returns "" or the service's error message.
func (s *Server) checkBearer(h, resource string) string {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(h), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "Access token is empty."
	}
	s.mu.Lock()
	t, ok := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case !ok, t.audience != resource:
		return "Access token validation failure. Invalid audience."
	case t.revoked:
		return "Access token validation failure. The token has been revoked."
	case time.Now().After(t.expires):
		return "Lifetime validation failed, the token is expired."
	}
	return ""
}
