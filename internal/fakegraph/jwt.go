package fakegraph

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// The resources (audiences) the fake identity platform issues tokens for,
// and their client-credentials scopes.
const (
	// GraphResource is Microsoft Graph.
	GraphResource = "https://graph.microsoft.com"
	// PartnerCenterResource is the Partner Center REST API.
	PartnerCenterResource = "https://api.partnercenter.microsoft.com"
	// StorageResource is Azure Storage.
	StorageResource = "https://storage.azure.com"

	PartnerCenterScope = PartnerCenterResource + "/.default"
	StorageScope       = StorageResource + "/.default"
)

// Resources is every resource the fake issues tokens for.
var Resources = []string{GraphResource, PartnerCenterResource, StorageResource}

func knownResource(r string) bool {
	for _, k := range Resources {
		if r == k {
			return true
		}
	}
	return false
}

// managedIdentityTenant is the tenant of the fake managed identities.
const managedIdentityTenant = "00000000-0000-0000-0000-0000000000d1"

// jwtClaims is the payload of the access tokens the fake issues: the claims
// of a Microsoft Entra v1 access token that services check (Azurite's
// --oauth basic checks iss, aud, nbf, exp and iat).
type jwtClaims struct {
	Aud   string `json:"aud"`
	Iss   string `json:"iss"`
	Iat   int64  `json:"iat"`
	Nbf   int64  `json:"nbf"`
	Exp   int64  `json:"exp"`
	AppID string `json:"appid"`
	IDTyp string `json:"idtyp"`
	Oid   string `json:"oid"`
	Sub   string `json:"sub"`
	Tid   string `json:"tid"`
	Uti   string `json:"uti"`
	Ver   string `json:"ver"`
}

var jwtHeader = b64(`{"typ":"JWT","alg":"RS256","kid":"fakegraph"}`)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// newJWT is a JWT-shaped access token (header.payload.signature, base64url)
// for resource. The signature is random bytes: services of the fake accept
// only tokens the fake recorded, and Azurite's basic OAuth mode does not
// verify signatures.
func newJWT(tenant, appID, resource string, now, expires time.Time) string {
	if tenant == "" {
		tenant = "00000000-0000-0000-0000-0000000000c1"
	}
	c := jwtClaims{
		Aud: resource, Iss: "https://sts.windows.net/" + tenant + "/",
		Iat: now.Unix(), Nbf: now.Add(-5 * time.Minute).Unix(), Exp: expires.Unix(),
		AppID: appID, IDTyp: "app", Oid: newGUID(), Tid: tenant, Uti: randHex(11), Ver: "1.0",
	}
	c.Sub = c.Oid
	payload, _ := json.Marshal(c)
	sig := make([]byte, 256) // the size of an RS256 signature
	_, _ = rand.Read(sig)
	return jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TokenAudience is the aud claim of a JWT access token, given alone or as
// an Authorization header value ("Bearer eyJ…"); "" when it is not a JWT.
// Fakes of other services use it to check that a token is theirs.
func TokenAudience(token string) string {
	c, ok := tokenClaims(token)
	if !ok {
		return ""
	}
	return c.Aud
}

func tokenClaims(token string) (jwtClaims, bool) {
	token = strings.TrimSpace(token)
	if scheme, rest, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(rest)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return jwtClaims{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return jwtClaims{}, false
	}
	var c jwtClaims
	if json.Unmarshal(b, &c) != nil {
		return jwtClaims{}, false
	}
	return c, true
}

// AudienceOf is the resource the token in an Authorization header value
// was issued for, when this server issued it ("" otherwise).
func (s *Server) AudienceOf(authorization string) string {
	_, tok, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[strings.TrimSpace(tok)].audience
}

// CheckBearer validates the Authorization header of a request to the
// service of resource: "" when it carries a live token this server issued
// for resource, otherwise the message the service would answer with 401.
func (s *Server) CheckBearer(authorization, resource string) string {
	return s.checkBearer(authorization, resource)
}

// requestedResource is the resource a token request asks for: the scope
// without "/.default" (Entra token endpoint) or the resource parameter
// (managed identity); "" for other requests.
func requestedResource(method, path, rawQuery string, body []byte) string {
	switch {
	case method == "POST" && isTokenPath(path):
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return ""
		}
		for _, f := range strings.Fields(form.Get("scope")) {
			if r, ok := strings.CutSuffix(f, "/.default"); ok {
				return r
			}
		}
	case path == IMDSTokenPath || path == AppServiceTokenPath:
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(q.Get("resource"), "/")
	}
	return ""
}

// TokenRequestsFor is the requests to the token endpoint and to the managed
// identity endpoints that asked for a token of resource.
func (s *Server) TokenRequestsFor(resource string) []Request {
	return s.filter(func(r Request) bool {
		return r.Resource == resource && (isTokenPath(r.Path) || r.Path == IMDSTokenPath || r.Path == AppServiceTokenPath)
	})
}
