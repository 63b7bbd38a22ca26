package fakegraph

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" // x5t is a SHA-1 thumbprint (RFC 7515 §4.1.7): it identifies, it does not protect
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// JWTBearerAssertionType is the client_assertion_type of certificate and
// federated credentials.
const JWTBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AzureADTokenExchange is the audience Microsoft Entra ID expects in the
// external tokens of federated identity credentials.
const AzureADTokenExchange = "api://AzureADTokenExchange"

// clockSkew is how far the fake tolerates clocks apart, as Entra ID does.
const clockSkew = 5 * time.Minute

// jwt is a decoded compact JWS. Nothing in it is trusted until verified.
type jwt struct {
	header       map[string]any
	claims       map[string]any
	signingInput string
	signature    []byte
}

func parseJWT(s string) (*jwt, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, false
	}
	var t jwt
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil ||
		json.Unmarshal(hb, &t.header) != nil || json.Unmarshal(cb, &t.claims) != nil {
		return nil, false
	}
	t.signingInput = parts[0] + "." + parts[1]
	t.signature = sig
	return &t, true
}

func stringField(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

// numericDate reads a NumericDate claim (seconds since the epoch).
func (t *jwt) numericDate(k string) (time.Time, bool) {
	v, ok := t.claims[k].(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(v), 0), true
}

func errAssertion(code int, desc string) *aadError {
	return &aadError{http.StatusUnauthorized, "invalid_client", code, desc}
}

// authenticateAssertion checks a client_assertion against the app's
// federated tokens, then against its certificates, the way Entra ID does
// for private_key_jwt and workload identity federation.
func (c *Client) authenticateAssertion(form url.Values, tokenURL string, now time.Time) *aadError {
	assertion := form.Get("client_assertion")
	if assertion == "" {
		return errMissing("client_assertion")
	}
	if typ := form.Get("client_assertion_type"); typ != JWTBearerAssertionType {
		return &aadError{http.StatusBadRequest, "invalid_request", 50027, fmt.Sprintf(
			"Invalid client_assertion_type '%s'; expected '%s'.", typ, JWTBearerAssertionType)}
	}
	for _, ft := range c.FederatedTokens {
		if subtle.ConstantTimeCompare([]byte(assertion), []byte(ft)) == 1 {
			// A registered token that is a JWT must also still be valid, and
			// for the exchange audience, as Entra ID checks: this catches a
			// client that caches a rotated or expired token. (Opaque test
			// tokens are accepted on the exact match alone.)
			if t, ok := parseJWT(assertion); ok {
				if aud := audiences(t.claims["aud"]); !contains(aud, AzureADTokenExchange) {
					return &aadError{http.StatusBadRequest, "invalid_request", 700212, fmt.Sprintf(
						"No matching federated identity record found for presented assertion audience '%s'.", strings.Join(aud, ","))}
				}
				return validTimeRange(t, now)
			}
			return nil
		}
	}
	t, ok := parseJWT(assertion)
	if !ok {
		return errAssertion(50027, "JWT token is invalid or malformed.")
	}
	if len(c.Certificates) == 0 {
		return c.federationMismatch(t)
	}
	return c.verifyCertificateAssertion(t, tokenURL, now)
}

// federationMismatch explains why no federated credential matched, naming
// the audience first (the usual mistake: a token requested without
// audience api://AzureADTokenExchange), then the subject.
func (c *Client) federationMismatch(t *jwt) *aadError {
	if len(c.FederatedTokens) == 0 {
		return errAssertion(700027, fmt.Sprintf(
			"Client assertion failed signature validation. [Reason - The key was not found.] (fakegraph: app '%s' has no certificate or federated credential.)", c.ClientID))
	}
	if aud := audiences(t.claims["aud"]); !contains(aud, AzureADTokenExchange) {
		return &aadError{http.StatusBadRequest, "invalid_request", 700212, fmt.Sprintf(
			"No matching federated identity record found for presented assertion audience '%s'.", strings.Join(aud, ","))}
	}
	return &aadError{http.StatusBadRequest, "invalid_request", 700213, fmt.Sprintf(
		"No matching federated identity record found for presented assertion subject '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
		stringField(t.claims, "sub"))}
}

func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// verifyCertificateAssertion checks a private_key_jwt assertion: a
// registered certificate named by thumbprint, a valid RS256/PS256 signature
// by its key, and the claims Entra ID requires.
func (c *Client) verifyCertificateAssertion(t *jwt, tokenURL string, now time.Time) *aadError {
	cert, thumb := c.certificateFor(t)
	if cert == nil {
		return errAssertion(700027, fmt.Sprintf(
			"Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '%s'] (fakegraph: no such certificate registered for app '%s'.)", thumb, c.ClientID))
	}
	if e := verifySignature(t, cert); e != nil {
		return e
	}
	if aud := audiences(t.claims["aud"]); len(aud) != 1 || !strings.EqualFold(aud[0], tokenURL) {
		return errAssertion(700016, fmt.Sprintf(
			"Client assertion audience claim does not match Realm issuer. Audience '%s', expected the token endpoint '%s'.", strings.Join(aud, ","), tokenURL))
	}
	if iss, sub := stringField(t.claims, "iss"), stringField(t.claims, "sub"); !strings.EqualFold(iss, c.ClientID) || !strings.EqualFold(sub, c.ClientID) {
		return errAssertion(700021, "Client assertion application identifier doesn't match 'client_id' parameter. (fakegraph: iss and sub must both be the client id.)")
	}
	return validTimeRange(t, now)
}

// validTimeRange checks exp (required) and nbf (optional) with clockSkew.
func validTimeRange(t *jwt, now time.Time) *aadError {
	exp, ok := t.numericDate("exp")
	if !ok || !now.Before(exp.Add(clockSkew)) {
		return errAssertion(700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, expiry time of assertion %s.",
			now.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339)))
	}
	if nbf, ok := t.numericDate("nbf"); ok && now.Add(clockSkew).Before(nbf) {
		return errAssertion(700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s.",
			now.UTC().Format(time.RFC3339), nbf.UTC().Format(time.RFC3339)))
	}
	return nil
}

// certificateFor finds the registered certificate the assertion header
// names by x5t#S256 (SHA-256) or x5t (SHA-1) thumbprint, and returns the
// presented thumbprint in hex for messages. Thumbprints are accepted in
// base64url (RFC 7515) and in the standard base64 MSAL sends.
func (c *Client) certificateFor(t *jwt) (*x509.Certificate, string) {
	for _, h := range []struct {
		name string
		sum  func([]byte) []byte
	}{
		{"x5t#S256", func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
		{"x5t", func(b []byte) []byte { s := sha1.Sum(b); return s[:] }},
	} {
		presented := decodeThumbprint(stringField(t.header, h.name))
		if presented == nil {
			continue
		}
		for _, cert := range c.Certificates {
			if subtle.ConstantTimeCompare(h.sum(cert.Raw), presented) == 1 {
				return cert, fmt.Sprintf("%X", presented)
			}
		}
		return nil, fmt.Sprintf("%X", presented)
	}
	return nil, "none (no x5t or x5t#S256 header)"
}

func decodeThumbprint(s string) []byte {
	if s == "" {
		return nil
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

func verifySignature(t *jwt, cert *x509.Certificate) *aadError {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errAssertion(700027, "Client assertion failed signature validation. [Reason - The certificate does not hold an RSA key.]")
	}
	digest := sha256.Sum256([]byte(t.signingInput))
	var err error
	switch alg := stringField(t.header, "alg"); alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], t.signature)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], t.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return errAssertion(5002738, fmt.Sprintf("Invalid JWT token. '%s' is not a supported signature algorithm. Supported signing algorithms are: 'RS256, PS256'.", alg))
	}
	if err != nil {
		return errAssertion(700027, "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]")
	}
	return nil
}

// NewFederatedToken returns an unsigned-looking external OIDC token (a
// compact JWT with the given issuer, subject and audience, valid for an
// hour) for tests of federated credentials. The fake matches its exact text,
// then checks its audience and time range; its shape lets tests and log
// scanners treat it like the real thing.
func NewFederatedToken(issuer, subject, audience string) string {
	return NewFederatedTokenUntil(issuer, subject, audience, time.Now().Add(time.Hour))
}

// NewFederatedTokenUntil is NewFederatedToken with the given expiry.
func NewFederatedTokenUntil(issuer, subject, audience string, exp time.Time) string {
	now := time.Now().Unix()
	header := `{"alg":"RS256","typ":"JWT","kid":"fakegraph"}`
	claims := fmt.Sprintf(`{"iss":%s,"sub":%s,"aud":%s,"iat":%d,"nbf":%d,"exp":%d,"jti":%s}`,
		jsonString(issuer), jsonString(subject), jsonString(audience), min(now, exp.Unix()-60), min(now, exp.Unix()-60), exp.Unix(), jsonString(newGUID()))
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims)) + "." + enc.EncodeToString([]byte(randHex(32)))
}
