package fakegraph_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/testcert"
)

// appCert is a self-signed RSA certificate with its key; i picks one of the
// shared test keys (RSA key generation is slow).
func appCert(t *testing.T, i int) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key := testcert.RSAKey(i)
	c, err := testcert.Certificate("app", key, nil, nil, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// assertion builds a client assertion JWT; edit may change its header and
// claims before it is signed.
type assertion struct {
	header map[string]any
	claims map[string]any
}

func newAssertion(s *fakegraph.Server, cert *x509.Certificate) assertion {
	sum := sha256.Sum256(cert.Raw)
	now := time.Now().Unix()
	return assertion{
		header: map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(sum[:])},
		claims: map[string]any{"aud": s.URL() + "/" + tenant + "/oauth2/v2.0/token", "iss": client, "sub": client,
			"jti": "j", "nbf": now, "exp": now + 600},
	}
}

func (a assertion) sign(t *testing.T, key crypto.Signer) string {
	t.Helper()
	h, _ := json.Marshal(a.header)
	c, _ := json.Marshal(a.claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	rsaKey, isRSA := key.(*rsa.PrivateKey)
	switch alg := a.header["alg"]; {
	case alg == "RS256" && isRSA:
		sig, err = rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, digest[:])
	case alg == "PS256" && isRSA:
		sig, err = rsa.SignPSS(rand.Reader, rsaKey, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	default:
		sig, err = key.Sign(rand.Reader, digest[:], crypto.SHA256)
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func assertionForm(a string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "scope": {fakegraph.GraphScope},
		"client_assertion_type": {fakegraph.JWTBearerAssertionType}, "client_assertion": {a}}
}

// aadCode posts form and returns the status and AADSTS code (0 for success).
func aadCode(t *testing.T, s *fakegraph.Server, form url.Values) (int, int, string) {
	t.Helper()
	status, body, _ := postForm(t, s, tenant, form)
	if status == 200 {
		return status, 0, body
	}
	var e struct {
		Codes []int  `json:"error_codes"`
		Desc  string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Codes) != 1 {
		t.Fatalf("not an AAD error: %s", body)
	}
	return status, e.Codes[0], e.Desc
}

func TestCertificateAssertion(t *testing.T) {
	t.Parallel()
	cert, key := appCert(t, 0)
	otherCert, otherKey := appCert(t, 1)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sha1Sum := sha1.Sum(cert.Raw)
	tests := map[string]struct {
		edit   func(a *assertion)
		signer crypto.Signer
		form   func(f url.Values)
		code   int // 0: accepted
	}{
		"PS256 with x5t#S256 in standard base64 (MSAL)": {},
		"RS256 with x5t in base64url (ADFS style)": {edit: func(a *assertion) {
			a.header = map[string]any{"alg": "RS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(sha1Sum[:])}
		}},
		"aud in an array":       {edit: func(a *assertion) { a.claims["aud"] = []any{a.claims["aud"]} }},
		"signed by another key": {signer: otherKey, code: 700027},
		"unregistered thumbprint": {edit: func(a *assertion) {
			s := sha256.Sum256(otherCert.Raw)
			a.header["x5t#S256"] = base64.StdEncoding.EncodeToString(s[:])
		}, signer: otherKey, code: 700027},
		"no thumbprint":          {edit: func(a *assertion) { delete(a.header, "x5t#S256") }, code: 700027},
		"ES256":                  {edit: func(a *assertion) { a.header["alg"] = "ES256" }, signer: ecKey, code: 5002738},
		"alg none":               {edit: func(a *assertion) { a.header["alg"] = "none" }, code: 5002738},
		"wrong audience":         {edit: func(a *assertion) { a.claims["aud"] = "https://login.microsoftonline.com/x/oauth2/v2.0/token" }, code: 700016},
		"issuer is not the app":  {edit: func(a *assertion) { a.claims["iss"] = "someone-else" }, code: 700021},
		"subject is not the app": {edit: func(a *assertion) { a.claims["sub"] = "someone-else" }, code: 700021},
		"expired":                {edit: func(a *assertion) { a.claims["exp"] = time.Now().Add(-10 * time.Minute).Unix() }, code: 700024},
		"no exp":                 {edit: func(a *assertion) { delete(a.claims, "exp") }, code: 700024},
		"not valid yet":          {edit: func(a *assertion) { a.claims["nbf"] = time.Now().Add(time.Hour).Unix() }, code: 700024},
		"malformed":              {form: func(f url.Values) { f.Set("client_assertion", "a.b") }, code: 50027},
		"wrong assertion type":   {form: func(f url.Values) { f.Set("client_assertion_type", "urn:x") }, code: 50027},
		"type without assertion": {form: func(f url.Values) { f.Del("client_assertion") }, code: 900144},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			s.RegisterClient(fakegraph.Client{TenantID: tenant, ClientID: client, Certificates: []*x509.Certificate{cert}})
			a := newAssertion(s, cert)
			if tc.edit != nil {
				tc.edit(&a)
			}
			signer := crypto.Signer(key)
			if tc.signer != nil {
				signer = tc.signer
			}
			jwt := a.sign(t, signer)
			form := assertionForm(jwt)
			if tc.form != nil {
				tc.form(form)
			}
			status, code, desc := aadCode(t, s, form)
			if code != tc.code {
				t.Fatalf("status %d code %d (%s), want code %d", status, code, desc, tc.code)
			}
			if strings.Contains(desc, jwt) {
				t.Error("the error echoes the assertion")
			}
		})
	}
}

// TestMSALCertificateCredential: MSAL's own certificate assertions pass.
func TestMSALCertificateCredential(t *testing.T) {
	t.Parallel()
	cert, key := appCert(t, 0)
	s := start(t)
	s.RegisterClient(fakegraph.Client{TenantID: tenant, ClientID: client, Certificates: []*x509.Certificate{cert}})
	cred, err := confidential.NewCredFromCert([]*x509.Certificate{cert}, key)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(s.URL()+"/"+tenant, client, cred, confidential.WithHTTPClient(s.HTTPClient()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := app.AcquireTokenByCredential(ctx, []string{fakegraph.GraphScope})
	if err != nil {
		t.Fatalf("AcquireTokenByCredential: %v", err)
	}
	s.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocRunning))
	if st, _, _ := do(t, s, "GET", opPath(fakegraph.DocOperationID), res.AccessToken, ""); st != 200 {
		t.Errorf("GET with the certificate's token: %d", st)
	}
}

func TestFederatedAssertion(t *testing.T) {
	t.Parallel()
	good := fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, "repo:a/b:ref:refs/heads/main", fakegraph.AzureADTokenExchange)
	expired := fakegraph.NewFederatedTokenUntil(fakegraph.GitHubOIDCIssuer, "repo:a/b:ref:refs/heads/main", fakegraph.AzureADTokenExchange, time.Now().Add(-time.Hour))
	tests := map[string]struct {
		assertion string
		code      int
	}{
		"a registered token that has expired": {assertion: expired, code: 700024},
		"the expected token":                  {assertion: good},
		"a token for another audience":        {assertion: fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, "repo:a/b:ref:refs/heads/main", "https://github.com/a"), code: 700212},
		"a token of another subject":          {assertion: fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, "repo:a/b:pull_request", fakegraph.AzureADTokenExchange), code: 700213},
		"not a JWT":                           {assertion: "opaque", code: 50027},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			s.RegisterClient(fakegraph.Client{TenantID: tenant, ClientID: client, FederatedTokens: []string{good, expired}})
			status, code, desc := aadCode(t, s, assertionForm(tc.assertion))
			if code != tc.code {
				t.Fatalf("status %d code %d (%s), want %d", status, code, desc, tc.code)
			}
		})
	}
}

func TestGitHubOIDC(t *testing.T) {
	t.Parallel()
	s := start(t)
	if st, _, _ := do(t, s, "GET", fakegraph.GitHubOIDCPath, "rt", ""); st != 404 {
		t.Errorf("disabled endpoint answered %d", st)
	}
	idToken := fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, "repo:a/b", fakegraph.AzureADTokenExchange)
	u, err := url.Parse(s.EnableGitHubOIDC("rt", idToken, "repo:a/b"))
	if err != nil || u.Query().Get("api-version") != "2.0" {
		t.Fatalf("request URL %v: %v", u, err)
	}
	get := func(bearer, audience string) (int, string) {
		q := u.Query()
		if audience != "" {
			q.Set("audience", audience)
		}
		st, body, _ := do(t, s, "GET", u.Path+"?"+q.Encode(), bearer, "")
		var v struct {
			Value string `json:"value"`
		}
		_ = json.Unmarshal([]byte(body), &v)
		return st, v.Value
	}
	if st, v := get("rt", fakegraph.AzureADTokenExchange); st != 200 || v != idToken {
		t.Errorf("with audience: %d, token matches: %v", st, v == idToken)
	}
	if st, v := get("rt", ""); st != 200 || v == idToken || v == "" {
		t.Errorf("without audience: %d, want another token", st)
	}
	if st, _ := get("wrong", fakegraph.AzureADTokenExchange); st != 401 {
		t.Errorf("wrong request token: %d", st)
	}
	s.ScriptGitHubOIDC(fakegraph.Status(503, "{}"))
	if st, _ := get("rt", fakegraph.AzureADTokenExchange); st != 503 {
		t.Errorf("scripted: %d", st)
	}
	if n := len(s.GitHubOIDCRequests()); n != 5 {
		t.Errorf("%d recorded requests, want 5", n)
	}
}

func TestManagedIdentityEndpoints(t *testing.T) {
	t.Parallel()
	const uami = "00000000-0000-0000-0000-0000000000ee"
	tests := map[string]struct {
		path, query string
		hdr         []string
		status      int
		clientID    string // reported on success
	}{
		"IMDS system-assigned":         {fakegraph.IMDSTokenPath, "api-version=2018-02-01&resource=https://graph.microsoft.com", []string{"Metadata", "true"}, 200, fakegraph.SystemAssignedClientID},
		"IMDS user-assigned":           {fakegraph.IMDSTokenPath, "api-version=2018-02-01&resource=https://graph.microsoft.com/&client_id=" + uami, []string{"Metadata", "true"}, 200, uami},
		"IMDS without Metadata header": {fakegraph.IMDSTokenPath, "api-version=2018-02-01&resource=https://graph.microsoft.com", nil, 400, ""},
		"IMDS unknown identity":        {fakegraph.IMDSTokenPath, "api-version=2018-02-01&resource=https://graph.microsoft.com&client_id=nobody", []string{"Metadata", "true"}, 400, ""},
		"IMDS other resource":          {fakegraph.IMDSTokenPath, "api-version=2018-02-01&resource=https://management.azure.com", []string{"Metadata", "true"}, 400, ""},
		"IMDS by object id":            {fakegraph.IMDSTokenPath, "api-version=2018-02-01&resource=https://graph.microsoft.com&object_id=x", []string{"Metadata", "true"}, 400, ""},
		"App Service user-assigned":    {fakegraph.AppServiceTokenPath, "api-version=2019-08-01&resource=https://graph.microsoft.com&client_id=" + uami, []string{"X-IDENTITY-HEADER", "?"}, 200, uami},
		"App Service wrong header":     {fakegraph.AppServiceTokenPath, "api-version=2019-08-01&resource=https://graph.microsoft.com", []string{"X-IDENTITY-HEADER", "wrong"}, 401, ""},
		"App Service old api-version":  {fakegraph.AppServiceTokenPath, "api-version=2017-09-01&resource=https://graph.microsoft.com", []string{"X-IDENTITY-HEADER", "?"}, 400, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			s.AddManagedIdentity("")
			s.AddManagedIdentity(uami)
			if len(tc.hdr) == 2 && tc.hdr[1] == "?" {
				tc.hdr = []string{tc.hdr[0], s.IdentityHeader()}
			}
			st, body, _ := do(t, s, "GET", tc.path+"?"+tc.query, "", "", tc.hdr...)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %s", st, tc.status, body)
			}
			if st != 200 {
				return
			}
			var tok struct {
				AccessToken string `json:"access_token"`
				ExpiresOn   string `json:"expires_on"`
				Resource    string `json:"resource"`
				ClientID    string `json:"client_id"`
			}
			if err := json.Unmarshal([]byte(body), &tok); err != nil {
				t.Fatal(err)
			}
			if tok.ClientID != tc.clientID || tok.Resource != fakegraph.GraphResource || tok.ExpiresOn == "" {
				t.Errorf("answer %s", body)
			}
			s.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocRunning))
			if st, _, _ := do(t, s, "GET", opPath(fakegraph.DocOperationID), tok.AccessToken, ""); st != 200 {
				t.Errorf("Graph rejected the managed identity token: %d", st)
			}
		})
	}
}
