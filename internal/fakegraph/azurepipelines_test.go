package fakegraph_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestAzurePipelinesOIDC: the fake endpoint accepts only the request shape
// Azure Pipelines serves, and every token it issues is a fresh JWT that the
// app's federated credential accepts.
func TestAzurePipelinesOIDC(t *testing.T) {
	t.Parallel()
	const (
		accessToken = "system-access-token"
		connection  = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
	)
	s := start(t)
	noRedirects := s.HTTPClient()
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	send := func(method, rawQuery, bearer string, hdr ...string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, s.URL()+fakegraph.AzurePipelinesOIDCPath+"?"+rawQuery, http.NoBody)
		if err != nil {
			t.Fatal(err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	good := "api-version=7.1&serviceConnectionId=" + connection
	suppress := []string{"X-TFS-FedAuthRedirect", "Suppress"}

	if st, _, _ := send("POST", good, accessToken, suppress...); st != http.StatusNotFound {
		t.Errorf("disabled endpoint answered %d", st)
	}
	u, err := url.Parse(s.EnableAzurePipelinesOIDC(fakegraph.AzurePipelines{
		AccessToken: accessToken, ServiceConnectionID: connection, TenantID: tenant, ClientID: client,
	}))
	if err != nil || u.Path != fakegraph.AzurePipelinesOIDCPath || u.RawQuery != "" {
		t.Fatalf("request URL %v: %v", u, err)
	}

	tests := map[string]struct {
		method, query, bearer string
		hdr                   []string
		status                int
		message               string // in the VSS error body
	}{
		"the service's request":         {"POST", good, accessToken, suppress, 200, ""},
		"service connection id in caps": {"POST", "api-version=7.1&serviceConnectionId=" + strings.ToUpper(connection), accessToken, suppress, 200, ""},
		"GET":                           {"GET", good, accessToken, suppress, 405, "does not support http method 'GET'"},
		"no api-version":                {"POST", "serviceConnectionId=" + connection, accessToken, suppress, 400, "No api-version was supplied"},
		"another api-version":           {"POST", "api-version=7.0&serviceConnectionId=" + connection, accessToken, suppress, 400, "7.0 is not supported"},
		"no service connection id":      {"POST", "api-version=7.1", accessToken, suppress, 404, "No service connection found"},
		"unknown service connection":    {"POST", "api-version=7.1&serviceConnectionId=00000000-0000-0000-0000-000000000000", accessToken, suppress, 404, "No service connection found with identifier 00000000-0000-0000-0000-000000000000"},
		"wrong access token":            {"POST", good, "stale-token", suppress, 401, ""},
		"no access token":               {"POST", good, "", suppress, 401, ""},
		"wrong token, no suppress":      {"POST", good, "stale-token", nil, 302, ""},
	}
	issued := 0
	for name, tc := range tests {
		st, body, h := send(tc.method, tc.query, tc.bearer, tc.hdr...)
		if st != tc.status {
			t.Errorf("%s: status %d, want %d: %s", name, st, tc.status, body)
			continue
		}
		if h.Get("X-VSS-E2EID") == "" || h.Get("X-MSEdge-Ref") == "" {
			t.Errorf("%s: no X-VSS-E2EID / X-MSEdge-Ref headers", name)
		}
		switch {
		case st == 200:
			issued++
			var v struct {
				OIDCToken string `json:"oidcToken"`
			}
			if err := json.Unmarshal([]byte(body), &v); err != nil || !strings.HasPrefix(v.OIDCToken, "eyJ") {
				t.Errorf("%s: body %s is not {\"oidcToken\": JWT}", name, body)
				continue
			}
			if status, code, desc := aadCode(t, s, assertionForm(v.OIDCToken)); code != 0 {
				t.Errorf("%s: the app rejected the issued token: %d %d %s", name, status, code, desc)
			}
		case st == 302:
			if !strings.Contains(h.Get("Location"), "/_signin") {
				t.Errorf("%s: Location %q", name, h.Get("Location"))
			}
		case tc.message != "":
			var e struct {
				Message string `json:"message"`
				TypeKey string `json:"typeKey"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Message, tc.message) || e.TypeKey == "" {
				t.Errorf("%s: body %s, want a VSS error with %q", name, body, tc.message)
			}
		}
	}
	tokens := s.AzurePipelinesOIDCTokens()
	if len(tokens) != issued || issued != 2 || tokens[0] == tokens[1] {
		t.Errorf("%d tokens issued for %d successful requests, want a fresh one each", len(tokens), issued)
	}
	s.ScriptAzurePipelinesOIDC(fakegraph.Status(503, "{}"))
	if st, _, _ := send("POST", good, accessToken, suppress...); st != 503 {
		t.Errorf("scripted: %d", st)
	}
	if n := len(s.AzurePipelinesOIDCRequests()); n != len(tests)+2 {
		t.Errorf("%d recorded requests, want %d", n, len(tests)+2)
	}
}
