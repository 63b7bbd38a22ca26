package fakegraph_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/google/go-cmp/cmp"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const (
	tenant = "0e195b37-4574-4539-bc42-0e539b9684c0"
	client = "5b7e1b4a-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
	secret = "s3cr3t~value.Do-Not-Leak"
)

func start(t *testing.T, opts ...fakegraph.Option) *fakegraph.Server {
	t.Helper()
	s, err := fakegraph.Start(opts...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	s.AddClient(tenant, client, secret)
	return s
}

// tokenFor gets a token with a plain form POST.
func tokenFor(t *testing.T, s *fakegraph.Server) string {
	t.Helper()
	status, body, _ := postForm(t, s, tenant, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {client},
		"client_secret": {secret}, "scope": {fakegraph.GraphScope},
	})
	if status != http.StatusOK {
		t.Fatalf("token: status %d: %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token body %q: %v", body, err)
	}
	return tok.AccessToken
}

func postForm(t *testing.T, s *fakegraph.Server, tenantID string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := s.HTTPClient().PostForm(s.URL()+"/"+tenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatalf("POST token: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// do sends a request to the fake and returns status, body and headers.
func do(t *testing.T, s *fakegraph.Server, method, path, bearer string, body string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func opPath(id string) string { return fakegraph.BasePath + "operations/" + id }

type graphErr struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

func decodeGraphErr(t *testing.T, body string) graphErr {
	t.Helper()
	var e graphErr
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not a Graph error envelope: %v: %q", err, body)
	}
	return e
}

func TestMSALConfidentialClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		tenant, client     string
		secret             string
		wantErr            string // substring; "" means success
		wantTokenRequested bool
	}{
		{name: "ok", tenant: tenant, client: client, secret: secret, wantTokenRequested: true},
		{name: "wrong secret", tenant: tenant, client: client, secret: "wrong-secret-xyz", wantErr: "AADSTS7000215", wantTokenRequested: true},
		{name: "unknown client", tenant: tenant, client: "00000000-0000-0000-0000-000000000001", secret: secret, wantErr: "AADSTS700016", wantTokenRequested: true},
		{name: "unknown tenant", tenant: "11111111-1111-1111-1111-111111111111", client: client, secret: secret, wantErr: "AADSTS90002"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			cred, err := confidential.NewCredFromSecret(tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			app, err := confidential.New(s.URL()+"/"+tc.tenant, tc.client, cred,
				confidential.WithHTTPClient(s.HTTPClient()), confidential.WithInstanceDiscovery(false))
			if err != nil {
				t.Fatalf("confidential.New: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := app.AcquireTokenByCredential(ctx, []string{fakegraph.GraphScope})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), tc.secret) {
					t.Errorf("error echoes the secret: %v", err)
				}
				if got := s.IssuedTokens(); len(got) != 0 {
					t.Errorf("issued %d tokens, want none", len(got))
				}
			} else {
				if err != nil {
					t.Fatalf("AcquireTokenByCredential: %v", err)
				}
				if diff := cmp.Diff(s.IssuedTokens(), []string{res.AccessToken}); diff != "" {
					t.Errorf("IssuedTokens (-got +want):\n%s", diff)
				}
				if time.Until(res.ExpiresOn) < 50*time.Minute {
					t.Errorf("ExpiresOn = %v, want about 1h from now", res.ExpiresOn)
				}
				// The token works on Graph.
				s.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocRunning))
				if st, body, _ := do(t, s, "GET", opPath(fakegraph.DocOperationID), res.AccessToken, ""); st != 200 || body != fakegraph.DocRunning {
					t.Errorf("GET operation with MSAL token: %d %s", st, body)
				}
			}
			trs := s.TokenRequests()
			if got := len(trs) > 0; got != tc.wantTokenRequested {
				t.Fatalf("token requests: %d, want some: %v", len(trs), tc.wantTokenRequested)
			}
			for _, r := range trs {
				form, err := url.ParseQuery(string(r.Body))
				if err != nil {
					t.Fatal(err)
				}
				if form.Get("grant_type") != "client_credentials" || form.Get("client_id") != tc.client ||
					!strings.Contains(form.Get("scope"), fakegraph.GraphScope) {
					t.Errorf("token request form = %v", form)
				}
			}
		})
	}
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	valid := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {client},
			"client_secret": {secret}, "scope": {fakegraph.GraphScope + " openid profile offline_access"}}
	}
	with := func(k, v string) url.Values {
		f := valid()
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name       string
		tenant     string
		form       url.Values
		wantStatus int
		wantError  string
		wantCode   int
	}{
		{"ok", tenant, valid(), 200, "", 0},
		{"tenant case-insensitive", strings.ToUpper(tenant), valid(), 200, "", 0},
		{"wrong secret", tenant, with("client_secret", "nope-nope"), 401, "invalid_client", 7000215},
		{"no credential", tenant, with("client_secret", ""), 401, "invalid_client", 7000218},
		{"assertion without its type", tenant, with("client_assertion", "eyJ.x.y"), 400, "invalid_request", 50027},
		{"wrong grant", tenant, with("grant_type", "password"), 400, "unsupported_grant_type", 70003},
		{"no scope", tenant, with("scope", ""), 400, "invalid_request", 900144},
		{"other resource", tenant, with("scope", "https://management.azure.com/.default"), 400, "invalid_scope", 1002012},
		{"not .default", tenant, with("scope", "https://graph.microsoft.com/PartnerBilling.Read.All"), 400, "invalid_scope", 1002012},
		{"unknown client", tenant, with("client_id", "nobody"), 400, "unauthorized_client", 700016},
		{"unknown tenant", "contoso.example", valid(), 400, "invalid_request", 90002},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, fakegraph.WithTokenLifetime(90*time.Second))
			status, body, hdr := postForm(t, s, tc.tenant, tc.form)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tc.wantStatus, body)
			}
			if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type = %q", hdr.Get("Content-Type"))
			}
			if strings.Contains(body, secret) || strings.Contains(body, "nope-nope") {
				t.Errorf("body echoes a secret: %s", body)
			}
			if tc.wantStatus == 200 {
				var ok struct {
					TokenType   string `json:"token_type"`
					ExpiresIn   int    `json:"expires_in"`
					ExtExpires  int    `json:"ext_expires_in"`
					AccessToken string `json:"access_token"`
				}
				if err := json.Unmarshal([]byte(body), &ok); err != nil {
					t.Fatal(err)
				}
				want := ok
				want.TokenType, want.ExpiresIn, want.ExtExpires = "Bearer", 90, 90
				if diff := cmp.Diff(want, ok); diff != "" || ok.AccessToken == "" {
					t.Errorf("token body (-want +got):\n%s", diff)
				}
				return
			}
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
				Codes       []int  `json:"error_codes"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]int{tc.wantCode}, e.Codes); diff != "" || e.Error != tc.wantError {
				t.Errorf("error %q codes %v, want %q %d", e.Error, e.Codes, tc.wantError, tc.wantCode)
			}
			if !strings.HasPrefix(e.Description, "AADSTS") {
				t.Errorf("error_description = %q", e.Description)
			}
		})
	}
}

func TestScriptToken(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.ScriptToken(fakegraph.Status(503, `{"error":"temporarily_unavailable"}`, "Retry-After", "0.5"),
		fakegraph.Response{Status: 500, Body: "oops"})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {client},
		"client_secret": {secret}, "scope": {fakegraph.GraphScope}}
	var got []int
	for range 3 {
		st, _, hdr := postForm(t, s, tenant, form)
		got = append(got, st)
		if st == 503 && hdr.Get("Retry-After") != "0.5" {
			t.Errorf("Retry-After = %q", hdr.Get("Retry-After"))
		}
	}
	if diff := cmp.Diff([]int{503, 500, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if n := len(s.IssuedTokens()); n != 1 {
		t.Errorf("issued %d tokens, want 1", n)
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	s := start(t)
	st, body, _ := do(t, s, "GET", "/"+tenant+"/v2.0/.well-known/openid-configuration", "", "")
	if st != 200 {
		t.Fatalf("status %d: %s", st, body)
	}
	var cfg struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		Issuer        string `json:"issuer"`
	}
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	want := cfg
	want.Authorization = s.URL() + "/" + tenant + "/oauth2/v2.0/authorize"
	want.Token = s.URL() + "/" + tenant + "/oauth2/v2.0/token"
	want.Issuer = s.URL() + "/" + tenant + "/v2.0"
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("openid configuration (-want +got):\n%s", diff)
	}
	if st, _, _ := do(t, s, "GET", "/unknown-tenant/v2.0/.well-known/openid-configuration", "", ""); st != 400 {
		t.Errorf("unknown tenant: status %d, want 400", st)
	}
	st, body, _ = do(t, s, "GET", "/common/discovery/instance?api-version=1.1&authorization_endpoint="+
		url.QueryEscape(s.URL()+"/"+tenant+"/oauth2/v2.0/authorize"), "", "")
	var disc struct {
		TenantDiscoveryEndpoint string `json:"tenant_discovery_endpoint"`
	}
	if err := json.Unmarshal([]byte(body), &disc); err != nil || st != 200 {
		t.Fatalf("instance discovery %d %q: %v", st, body, err)
	}
	if want := s.URL() + "/" + tenant + "/v2.0/.well-known/openid-configuration"; disc.TenantDiscoveryEndpoint != want {
		t.Errorf("tenant_discovery_endpoint = %q, want %q", disc.TenantDiscoveryEndpoint, want)
	}
}

func TestGraphAuthentication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       []fakegraph.Option
		token      func(t *testing.T, s *fakegraph.Server) string
		wantStatus int
		wantMsg    string
	}{
		{"valid", nil, tokenFor, 200, ""},
		{"missing", nil, func(*testing.T, *fakegraph.Server) string { return "" }, 401, "Access token is empty."},
		{"forged", nil, func(*testing.T, *fakegraph.Server) string { return "not-a-token" }, 401, "Invalid audience"},
		{"revoked", nil, func(t *testing.T, s *fakegraph.Server) string {
			tok := tokenFor(t, s)
			s.RevokeTokens()
			return tok
		}, 401, "revoked"},
		{"new after revoke", nil, func(t *testing.T, s *fakegraph.Server) string {
			tokenFor(t, s)
			s.RevokeTokens()
			return tokenFor(t, s)
		}, 200, ""},
		{"expired", []fakegraph.Option{fakegraph.WithTokenLifetime(20 * time.Millisecond)}, func(t *testing.T, s *fakegraph.Server) string {
			tok := tokenFor(t, s)
			time.Sleep(40 * time.Millisecond)
			return tok
		}, 401, "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, tc.opts...)
			s.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocFailed))
			st, body, hdr := do(t, s, "GET", opPath(fakegraph.DocOperationID), tc.token(t, s), "",
				"client-request-id", "c0ffee00-0000-4000-8000-000000000001")
			if st != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", st, tc.wantStatus, body)
			}
			if hdr.Get("client-request-id") != "c0ffee00-0000-4000-8000-000000000001" || hdr.Get("request-id") == "" {
				t.Errorf("request-id %q client-request-id %q", hdr.Get("request-id"), hdr.Get("client-request-id"))
			}
			if hdr.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", hdr.Get("Content-Type"))
			}
			if st == 200 {
				if body != fakegraph.DocFailed {
					t.Errorf("body = %s", body)
				}
				return
			}
			e := decodeGraphErr(t, body)
			if e.Error.Code != "InvalidAuthenticationToken" || !strings.Contains(e.Error.Message, tc.wantMsg) {
				t.Errorf("error %q %q, want InvalidAuthenticationToken %q", e.Error.Code, e.Error.Message, tc.wantMsg)
			}
			if e.Error.InnerError.RequestID != hdr.Get("request-id") {
				t.Errorf("body request-id %q != header %q", e.Error.InnerError.RequestID, hdr.Get("request-id"))
			}
			if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestScriptOperation(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	const id = "11111111-2222-4333-8444-555555555555"
	s.ScriptOperation(id,
		fakegraph.OK(fakegraph.Running(id), "Retry-After", "2.128"),
		fakegraph.Status(429, fakegraph.GraphError("TooManyRequests", "slow down"), "Retry-After", "1"),
		fakegraph.Status(502, "<html>Bad gateway</html>", "Content-Type", "text/html"),
		fakegraph.OK(fakegraph.Succeeded(id, s.ManifestURL("m1"))),
	)
	type answer struct {
		Status      int
		RetryAfter  string
		ContentType string
		Body        string
	}
	var got []answer
	for range 6 {
		st, body, hdr := do(t, s, "GET", opPath(id), tok, "")
		got = append(got, answer{st, hdr.Get("Retry-After"), hdr.Get("Content-Type"), body})
	}
	succ := answer{200, "", "application/json", fakegraph.Succeeded(id, s.URL()+fakegraph.BasePath+"manifests/m1")}
	want := []answer{
		{200, "2.128", "application/json", fakegraph.Running(id)},
		{429, "1", "application/json", got[1].Body},
		{502, "", "text/html", "<html>Bad gateway</html>"},
		succ, succ, succ,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if e := decodeGraphErr(t, got[1].Body); e.Error.Code != "TooManyRequests" {
		t.Errorf("429 body code %q", e.Error.Code)
	}

	// Re-scripting restarts the sequence; an empty script forgets the operation.
	s.ScriptOperation(id, fakegraph.OK(fakegraph.Running(id)), fakegraph.OK(fakegraph.Failed(id, "5000", "No data available")))
	if _, body, _ := do(t, s, "GET", opPath(id), tok, ""); body != fakegraph.Running(id) {
		t.Errorf("after re-script: %s", body)
	}
	s.ScriptOperation(id)
	if st, _, _ := do(t, s, "GET", opPath(id), tok, ""); st != 404 {
		t.Errorf("after forgetting: status %d, want 404", st)
	}
}

func TestGraphRoutes(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.SetManifest(fakegraph.DocManifestID, `{"id":"x"}`)
	s.ScriptOperation("known", fakegraph.OK(fakegraph.DocRunning))
	tests := []struct {
		method, path string
		wantStatus   int
		wantCode     string // Graph error code; "" means not an error
		wantBody     string
	}{
		{"GET", opPath("known"), 200, "", fakegraph.DocRunning},
		{"GET", opPath("unknown"), 404, "NotFound", ""},
		{"DELETE", opPath("known"), 405, "BadRequest", ""},
		{"GET", fakegraph.BasePath + "manifests/" + fakegraph.DocManifestID, 200, "", `{"id":"x"}`},
		{"GET", fakegraph.BasePath + "manifests/nope", 404, "NotFound", ""},
		{"GET", fakegraph.BasePath + "usage/billed/export", 405, "BadRequest", ""},
		{"GET", fakegraph.BasePath + "operations/a/b", 400, "BadRequest", ""},
		{"GET", "/v1.0/me", 400, "BadRequest", ""},
		{"GET", fakegraph.BasePath + "bogus", 400, "BadRequest", ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			st, body, hdr := do(t, s, tc.method, tc.path, tok, "")
			if st != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", st, tc.wantStatus, body)
			}
			if hdr.Get("request-id") == "" {
				t.Error("no request-id header")
			}
			if tc.wantCode == "" {
				if body != tc.wantBody {
					t.Errorf("body = %q, want %q", body, tc.wantBody)
				}
				return
			}
			if e := decodeGraphErr(t, body); e.Error.Code != tc.wantCode || e.Error.Message == "" {
				t.Errorf("error code %q message %q, want %q", e.Error.Code, e.Error.Message, tc.wantCode)
			}
		})
	}
	if st, _, _ := do(t, s, "GET", "/nowhere", "", ""); st != 404 {
		t.Errorf("outside Graph and identity: status %d, want 404", st)
	}
}

func TestBodies(t *testing.T) {
	t.Parallel()
	docManifestURL := "https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/" + fakegraph.DocManifestID
	tests := []struct {
		name string
		got  string
		want map[string]any
	}{
		{"DocRunning", fakegraph.DocRunning, map[string]any{
			"@odata.type": "#microsoft.graph.partners.billing.runningOperation", "id": fakegraph.DocOperationID,
			"status": "running", "createdDateTime": "2023-03-09T08:12:53", "lastActionDateTime": "2023-03-09T08:37:48.5046691Z",
		}},
		{"DocSucceeded", fakegraph.DocSucceeded, map[string]any{
			"@odata.type": "#microsoft.graph.partners.billing.exportSuccessOperation", "id": fakegraph.DocOperationID,
			"status": "succeeded", "createdDateTime": "2023-03-09T08:12:53", "lastActionDateTime": "2023-03-09T08:37:48.5046691Z",
			"resourceLocation@odata.navigationLink": docManifestURL,
		}},
		{"DocFailed", fakegraph.DocFailed, map[string]any{
			"@odata.type": "#microsoft.graph.partners.billing.failedOperation", "id": fakegraph.DocOperationID,
			"status": "failed", "createdDateTime": "2023-03-09T08:12:53", "lastActionDateTime": "2023-03-09T08:37:48.5046691Z",
			"error": map[string]any{"message": "No data available", "code": "5000"},
		}},
		{"Failed escapes", fakegraph.Failed(`a"b`, "E\n1", `<bad> \ "msg"`), map[string]any{
			"@odata.type": "#microsoft.graph.partners.billing.failedOperation", "id": `a"b`,
			"status": "failed", "createdDateTime": "2023-03-09T08:12:53", "lastActionDateTime": "2023-03-09T08:37:48.5046691Z",
			"error": map[string]any{"message": `<bad> \ "msg"`, "code": "E\n1"},
		}},
		{"ManifestBody", fakegraph.ManifestBody("m-1", "https://acct.blob.core.windows.net/dir", "sv=1&sig=x", "a.json.gz", "b.json.gz"), map[string]any{
			"id": "m-1", "schemaVersion": "1", "dataFormat": "compressedJSON", "createdDateTime": "2023-03-09T06:34:34.87Z",
			"eTag": "WYjLro78HdMg6vUWR", "partnerTenantId": "0e195b37-4574-4539-bc42-0e539b9684c0",
			"rootDirectory": "https://acct.blob.core.windows.net/dir", "sasToken": "sv=1&sig=x",
			"partitionType": "default", "blobCount": float64(2),
			"blobs": []any{
				map[string]any{"name": "a.json.gz", "partitionValue": "default"},
				map[string]any{"name": "b.json.gz", "partitionValue": "default"},
			},
		}},
		{"ManifestBody no blobs", fakegraph.ManifestBody("m-0", "r", "s"), map[string]any{
			"id": "m-0", "schemaVersion": "1", "dataFormat": "compressedJSON", "createdDateTime": "2023-03-09T06:34:34.87Z",
			"eTag": "WYjLro78HdMg6vUWR", "partnerTenantId": "0e195b37-4574-4539-bc42-0e539b9684c0",
			"rootDirectory": "r", "sasToken": "s", "partitionType": "default", "blobCount": float64(0), "blobs": []any{},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got map[string]any
			if err := json.Unmarshal([]byte(tc.got), &got); err != nil {
				t.Fatalf("invalid JSON: %v\n%s", err, tc.got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// The builders reproduce the documented examples exactly.
	for name, pair := range map[string][2]string{
		"Running":   {fakegraph.Running(fakegraph.DocOperationID), fakegraph.DocRunning},
		"Succeeded": {fakegraph.Succeeded(fakegraph.DocOperationID, docManifestURL), fakegraph.DocSucceeded},
		"Failed":    {fakegraph.Failed(fakegraph.DocOperationID, "5000", "No data available"), fakegraph.DocFailed},
	} {
		if diff := cmp.Diff(pair[1], pair[0]); diff != "" {
			t.Errorf("%s(doc id) differs from the documented body (-doc +built):\n%s", name, diff)
		}
	}
	e := decodeGraphErr(t, fakegraph.GraphError("BadRequest", `bad "thing"`))
	if e.Error.Code != "BadRequest" || e.Error.Message != `bad "thing"` || e.Error.InnerError.RequestID == "" || e.Error.InnerError.Date == "" {
		t.Errorf("GraphError = %+v", e)
	}
	r := fakegraph.ErrorResponse(403, "Forbidden", "Missing role")
	if e := decodeGraphErr(t, r.Body); r.Status != 403 || e.Error.InnerError.RequestID != r.Header.Get("request-id") {
		t.Errorf("ErrorResponse request-id mismatch: %+v %v", e, r.Header)
	}
}

func TestExports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, body string
	}{
		{"usage/billed/export", `{"invoiceId":"G031809528","attributeSet":"full"}`},
		{"usage/unbilled/export", `{"currencyCode":"USD","billingPeriod":"current","attributeSet":"basic"}`},
		{"reconciliation/billed/export", `{"invoiceId":"G031809528","attributeSet":"basic"}`},
		{"reconciliation/unbilled/export", `{"currencyCode":"eur","billingPeriod":"last","attributeSet":"full"}`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			tok := tokenFor(t, s)
			st, body, hdr := do(t, s, "POST", fakegraph.BasePath+tc.path, tok, tc.body, "Content-Type", "application/json")
			if st != http.StatusAccepted || body != "" {
				t.Fatalf("status %d body %q, want 202 and empty", st, body)
			}
			loc := hdr.Get("Location")
			opID, ok := strings.CutPrefix(loc, s.URL()+fakegraph.BasePath+"operations/")
			if !ok || opID == "" {
				t.Fatalf("Location = %q", loc)
			}
			var statuses []string
			var last map[string]any
			for range 4 {
				st, body, hdr := do(t, s, "GET", opPath(opID), tok, "")
				if st != 200 {
					t.Fatalf("GET operation: %d %s", st, body)
				}
				last = nil
				if err := json.Unmarshal([]byte(body), &last); err != nil {
					t.Fatal(err)
				}
				status, _ := last["status"].(string)
				statuses = append(statuses, status+" "+hdr.Get("Retry-After"))
			}
			want := []string{"running " + fakegraph.ExportRetryAfter, "running " + fakegraph.ExportRetryAfter, "succeeded ", "succeeded "}
			if diff := cmp.Diff(want, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			link, _ := last["resourceLocation@odata.navigationLink"].(string)
			mID, ok := strings.CutPrefix(link, s.URL()+fakegraph.BasePath+"manifests/")
			if !ok {
				t.Fatalf("manifest link %q", link)
			}
			st, body, _ = do(t, s, "GET", fakegraph.BasePath+"manifests/"+mID, tok, "")
			var m struct {
				ID        string `json:"id"`
				SASToken  string `json:"sasToken"`
				BlobCount int    `json:"blobCount"`
				Blobs     []struct {
					Name string `json:"name"`
				} `json:"blobs"`
			}
			if err := json.Unmarshal([]byte(body), &m); err != nil || st != 200 {
				t.Fatalf("manifest %d %q: %v", st, body, err)
			}
			if m.ID != mID || m.BlobCount != 2 || len(m.Blobs) != 2 || m.SASToken == "" {
				t.Errorf("manifest = %+v", m)
			}
		})
	}
}

func TestExportValidation(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	tests := []struct {
		name, path, contentType, body string
		wantStatus                    int
	}{
		{"empty", "usage/billed/export", "application/json", "", 400},
		{"not JSON", "usage/billed/export", "application/json", "{", 400},
		{"array", "usage/billed/export", "application/json", "[]", 400},
		{"missing invoiceId", "usage/billed/export", "application/json", `{"attributeSet":"full"}`, 400},
		{"empty invoiceId", "reconciliation/billed/export", "application/json", `{"invoiceId":"","attributeSet":"full"}`, 400},
		{"bad attributeSet", "usage/billed/export", "application/json", `{"invoiceId":"G1","attributeSet":"all"}`, 400},
		{"missing attributeSet", "reconciliation/billed/export", "application/json", `{"invoiceId":"G1"}`, 400},
		{"number invoiceId", "usage/billed/export", "application/json", `{"invoiceId":1,"attributeSet":"full"}`, 400},
		{"unbilled fields on billed", "usage/billed/export", "application/json", `{"invoiceId":"G1","attributeSet":"full","currencyCode":"USD"}`, 400},
		{"bad period", "usage/unbilled/export", "application/json", `{"currencyCode":"USD","billingPeriod":"next","attributeSet":"full"}`, 400},
		{"bad currency", "reconciliation/unbilled/export", "application/json", `{"currencyCode":"dollars","billingPeriod":"last","attributeSet":"full"}`, 400},
		{"missing currency", "usage/unbilled/export", "application/json", `{"billingPeriod":"last","attributeSet":"full"}`, 400},
		{"invoice on unbilled", "usage/unbilled/export", "application/json", `{"invoiceId":"G1","currencyCode":"USD","billingPeriod":"last","attributeSet":"full"}`, 400},
		{"no content type", "usage/billed/export", "", `{"invoiceId":"G1","attributeSet":"full"}`, 415},
		{"charset ok", "usage/billed/export", "application/json; charset=utf-8", `{"invoiceId":"G1","attributeSet":"full"}`, 202},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hdr []string
			if tc.contentType != "" {
				hdr = []string{"Content-Type", tc.contentType}
			}
			st, body, _ := do(t, s, "POST", fakegraph.BasePath+tc.path, tok, tc.body, hdr...)
			if st != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", st, tc.wantStatus, body)
			}
			if st >= 400 {
				if e := decodeGraphErr(t, body); e.Error.Message == "" {
					t.Errorf("empty error message: %s", body)
				}
			}
		})
	}
}

func TestScriptExport(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.ScriptExport("/v1.0/reports/partners/billing/usage/unbilled/export",
		fakegraph.Status(429, fakegraph.GraphError("TooManyRequests", "throttled"), "Retry-After", "0.01"))
	s.ScriptExport("usage/unbilled/export", fakegraph.ErrorResponse(403, "Forbidden", "no role"))
	body := `{"currencyCode":"USD","billingPeriod":"current","attributeSet":"full"}`
	var got []int
	for range 3 {
		st, _, _ := do(t, s, "POST", fakegraph.BasePath+"usage/unbilled/export", tok, body, "Content-Type", "application/json")
		got = append(got, st)
	}
	if diff := cmp.Diff([]int{429, 403, 202}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	defer func() {
		if recover() == nil {
			t.Error("ScriptExport with an unknown path did not panic")
		}
	}()
	s.ScriptExport("usage/export")
}

func TestDrop(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.ScriptOperation("op", fakegraph.Response{Drop: true}, fakegraph.OK(fakegraph.Running("op")))
	req, _ := http.NewRequest(http.MethodGet, s.URL()+opPath("op"), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.HTTPClient().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request got an answer: %d", resp.StatusCode)
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Errorf("err = %v, want a connection close", err)
	}
	if st, _, _ := do(t, s, "GET", opPath("op"), tok, ""); st != 200 {
		t.Errorf("next answer: %d", st)
	}
	if n := len(s.GraphRequests()); n != 2 {
		t.Errorf("recorded %d Graph requests, want 2 (the dropped one included)", n)
	}
	// Drop works on the token endpoint too.
	s.ScriptToken(fakegraph.Response{Drop: true})
	if resp, err := s.HTTPClient().PostForm(s.URL()+"/"+tenant+"/oauth2/v2.0/token", url.Values{}); err == nil {
		resp.Body.Close()
		t.Error("dropped token request got an answer")
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.ScriptOperation("slow", fakegraph.Response{Delay: 30 * time.Second, Body: "{}"})
	s.ScriptOperation("quick", fakegraph.Response{Delay: 50 * time.Millisecond, Body: fakegraph.Running("quick")})

	t0 := time.Now()
	if st, body, _ := do(t, s, "GET", opPath("quick"), tok, ""); st != 200 || body != fakegraph.Running("quick") {
		t.Errorf("quick: %d %s", st, body)
	}
	if d := time.Since(t0); d < 50*time.Millisecond {
		t.Errorf("answered after %v, want >= 50ms", d)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+opPath("slow"), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	t0 = time.Now()
	if resp, err := s.HTTPClient().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("slow request answered")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	// Close waits for handlers; it returns promptly only if the delay was abandoned.
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked: the delayed handler did not stop when the client went away")
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestCloseAbortsDelay(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.ScriptOperation("slow", fakegraph.Response{Delay: time.Minute})
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+opPath("slow"), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.HTTPClient().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for len(s.GraphRequests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	t0 := time.Now()
	s.Close()
	if err := <-errc; err == nil {
		t.Error("request answered although the server closed")
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestRecording(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.ScriptOperation("op", fakegraph.OK(fakegraph.Running("op")))
	do(t, s, "GET", opPath("op")+"?x=1", tok, "", "client-request-id", "crid-1")
	do(t, s, "POST", fakegraph.BasePath+"usage/billed/export", tok, `{"invoiceId":"G1","attributeSet":"full"}`, "Content-Type", "application/json")
	do(t, s, "GET", "/"+tenant+"/v2.0/.well-known/openid-configuration", "", "")

	type rec struct {
		Method, Path, RawQuery, Body string
	}
	summarize := func(rs []fakegraph.Request) []rec {
		var out []rec
		for _, r := range rs {
			body := string(r.Body)
			if strings.Contains(body, "client_secret") {
				body = "<token form>"
			}
			out = append(out, rec{r.Method, r.Path, r.RawQuery, body})
		}
		return out
	}
	tokenRec := rec{"POST", "/" + tenant + "/oauth2/v2.0/token", "", "<token form>"}
	opRec := rec{"GET", opPath("op"), "x=1", ""}
	exportRec := rec{"POST", fakegraph.BasePath + "usage/billed/export", "", `{"invoiceId":"G1","attributeSet":"full"}`}
	oidcRec := rec{"GET", "/" + tenant + "/v2.0/.well-known/openid-configuration", "", ""}
	if diff := cmp.Diff([]rec{tokenRec, opRec, exportRec, oidcRec}, summarize(s.Requests())); diff != "" {
		t.Errorf("Requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]rec{opRec, exportRec}, summarize(s.GraphRequests())); diff != "" {
		t.Errorf("GraphRequests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]rec{tokenRec}, summarize(s.TokenRequests())); diff != "" {
		t.Errorf("TokenRequests (-want +got):\n%s", diff)
	}
	g := s.GraphRequests()
	if g[0].Header.Get("Authorization") != "Bearer "+tok || g[0].Header.Get("client-request-id") != "crid-1" || g[0].At.IsZero() {
		t.Errorf("recorded headers/time: %v %v", g[0].Header, g[0].At)
	}
	// Returned requests are copies.
	g[0].Header.Set("Authorization", "mutated")
	g[1].Body[0] = 'X'
	if g2 := s.GraphRequests(); g2[0].Header.Get("Authorization") == "mutated" || g2[1].Body[0] == 'X' {
		t.Error("Requests shares memory with the recorder")
	}
	s.Reset()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("after Reset: %d requests", n)
	}
}

func TestConcurrentReads(t *testing.T) {
	t.Parallel()
	s := start(t)
	tok := tokenFor(t, s)
	s.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocRunning), fakegraph.OK(fakegraph.DocSucceeded))
	client := s.HTTPClient()
	const n = 200
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%50 == 0 {
				s.ScriptOperation("other", fakegraph.OK("{}"))
				_ = s.Requests()
			}
			req, _ := http.NewRequest(http.MethodGet, s.URL()+opPath(fakegraph.DocOperationID), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				errc <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errc <- errors.New(resp.Status)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if got := len(s.GraphRequests()); got != n {
		t.Errorf("recorded %d Graph requests, want %d", got, n)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	s := start(t)
	block, _ := pem.Decode(s.CACertPEM())
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("CACertPEM is not a PEM certificate")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() || !ca.IsCA {
		t.Errorf("CA key %T, IsCA %v", ca.PublicKey, ca.IsCA)
	}

	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := s.WriteCACert(path); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("written CA does not parse")
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL(), "https://"))
	for _, host := range []string{"127.0.0.1", "localhost"} {
		conn, err := tls.Dial("tcp", net.JoinHostPort(host, port), &tls.Config{RootCAs: pool, ServerName: host, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Errorf("TLS to %s: %v", host, err)
			continue
		}
		if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
			t.Errorf("negotiated %q; the fake must stay on HTTP/1.1 so Drop can hijack", p)
		}
		conn.Close()
	}

	// A client without the CA refuses the server.
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if resp, err := plain.Get(s.URL() + "/nowhere"); err == nil {
		resp.Body.Close()
		t.Error("untrusted client connected")
	}
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Errorf("URL = %q", s.URL())
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	type line struct {
		Method, Path string
		Status       int
	}
	var mu sync.Mutex
	var got []line
	s := start(t, fakegraph.WithAccessLog(func(method, path string, status int, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, line{method, path, status})
	}))
	tok := tokenFor(t, s)
	do(t, s, "GET", opPath("missing")+"?secret=1", tok, "")
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	want := []line{{"POST", "/" + tenant + "/oauth2/v2.0/token", 200}, {"GET", opPath("missing"), 404}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access log (-want +got):\n%s", diff)
	}
}
