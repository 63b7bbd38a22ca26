package fakegraph_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// tokenOf asks the token endpoint for a token of scope.
func tokenOf(t *testing.T, s *fakegraph.Server, scope string) (int, string) {
	t.Helper()
	status, body, _ := postForm(t, s, tenant, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {secret}, "scope": {scope},
	})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(body), &tok)
	return status, tok.AccessToken
}

// TestTokensAreJWTsPerResource: tokens are JWTs with the claims Azurite's
// --oauth basic checks (iss, aud, iat, nbf, exp), one resource each; Graph
// accepts only Graph's; the request records the resource asked for.
func TestTokensAreJWTsPerResource(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocRunning))
	for scope, resource := range map[string]string{
		fakegraph.GraphScope: fakegraph.GraphResource,
		fakegraph.PartnerCenterScope + " openid profile offline_access": fakegraph.PartnerCenterResource,
		fakegraph.StorageScope: fakegraph.StorageResource,
	} {
		status, tok := tokenOf(t, s, scope)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d", scope, status)
		}
		parts := strings.Split(tok, ".")
		if len(parts) != 3 || !strings.HasPrefix(tok, "eyJ") {
			t.Fatalf("%s: token is not JWT-shaped", scope)
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Aud, Iss, Tid, AppID string
			Iat, Nbf, Exp        int64
		}
		if err := json.Unmarshal(payload, &c); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Unix()
		if c.Aud != resource || c.Iss != "https://sts.windows.net/"+tenant+"/" || c.Tid != tenant || c.AppID != client ||
			c.Iat > now || c.Nbf > now || c.Exp < now+3000 {
			t.Errorf("%s: claims %+v", scope, c)
		}
		if got := fakegraph.TokenAudience("Bearer " + tok); got != resource {
			t.Errorf("TokenAudience = %q, want %q", got, resource)
		}
		if got := s.AudienceOf("Bearer " + tok); got != resource {
			t.Errorf("AudienceOf = %q, want %q", got, resource)
		}
		if n := len(s.TokenRequestsFor(resource)); n != 1 {
			t.Errorf("%d token requests recorded for %s", n, resource)
		}
		want := http.StatusUnauthorized
		if resource == fakegraph.GraphResource {
			want = http.StatusOK
		}
		if st, body, _ := do(t, s, "GET", opPath(fakegraph.DocOperationID), tok, ""); st != want {
			t.Errorf("Graph answered %d to a token for %s: %s", st, resource, body)
		} else if st == http.StatusUnauthorized && !strings.Contains(body, "Invalid audience") {
			t.Errorf("Graph's 401 to a token for %s: %s", resource, body)
		}
		if msg := s.CheckBearer("Bearer "+tok, resource); msg != "" {
			t.Errorf("CheckBearer for its own resource: %s", msg)
		}
	}
	for _, bad := range []string{fakegraph.GraphScope + " " + fakegraph.StorageScope, "https://management.azure.com/.default", "openid"} {
		if status, _ := tokenOf(t, s, bad); status != http.StatusBadRequest {
			t.Errorf("scope %q: status %d, want 400", bad, status)
		}
	}
}
