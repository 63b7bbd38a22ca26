package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/testcert"
)

const (
	testTenant   = "00000000-0000-0000-0000-0000000000a1"
	testClientID = "00000000-0000-0000-0000-0000000000b1"
	testSecret   = "auth-test-secret-never-leak"
)

// instant is a Sleep that does not wait, so retry tests cost no time.
func instant(context.Context, time.Duration) error { return nil }

func startFake(t *testing.T) *fakegraph.Server {
	t.Helper()
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// appConfig is a Config for an app registration in the fake's tenant.
func appConfig(srv *fakegraph.Server) Config {
	return Config{TenantID: testTenant, ClientID: testClientID, AuthorityHost: srv.URL(), HTTPClient: srv.HTTPClient(), Sleep: instant}
}

// RSA key generation costs tens of milliseconds; tests share a few keys.
var (
	ecOnce sync.Once
	ecKey  *ecdsa.PrivateKey
)

func testKeys(t *testing.T) ([2]*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	ecOnce.Do(func() {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		ecKey = k
	})
	return [2]*rsa.PrivateKey{testcert.RSAKey(0), testcert.RSAKey(1)}, ecKey
}

// testCert is a certificate for key, signed by parent (self-signed when
// parent is nil), valid from notBefore for a day.
func testCert(t *testing.T, cn string, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer, notBefore time.Time) *x509.Certificate {
	t.Helper()
	c, err := testcert.Certificate(cn, key, parent, parentKey, notBefore, notBefore.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clientCert is an app's RSA certificate (signed by a CA, as in real life)
// with its key and the CA certificate.
type clientCert struct {
	leaf, ca *x509.Certificate
	key      *rsa.PrivateKey
}

func newClientCert(t *testing.T) clientCert {
	t.Helper()
	keys, _ := testKeys(t)
	now := time.Now().Add(-time.Hour)
	ca := testCert(t, "auth test CA", keys[1], nil, nil, now)
	return clientCert{leaf: testCert(t, "partnerbilling test app", keys[0], ca, keys[1], now), ca: ca, key: keys[0]}
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func keyPEM(t *testing.T, key crypto.PrivateKey, typ string) string {
	t.Helper()
	var der []byte
	var err error
	switch typ {
	case "PRIVATE KEY":
		der, err = x509.MarshalPKCS8PrivateKey(key)
	case "RSA PRIVATE KEY":
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			t.Fatalf("%T is not RSA", key)
		}
		der = x509.MarshalPKCS1PrivateKey(k)
	case "EC PRIVATE KEY":
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			t.Fatalf("%T is not ECDSA", key)
		}
		der, err = x509.MarshalECPrivateKey(k)
	default:
		err = errors.New("unknown key type " + typ)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertNoLeak fails when text contains any of the secrets.
func assertNoLeak(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%q leaks a secret (%.12s…)", text, s)
		}
	}
}

// configErrors flattens a joined error into its ConfigErrors.
func configErrors(t *testing.T, err error) []*ConfigError {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []*ConfigError
	for _, e := range errs {
		var ce *ConfigError
		if !errors.As(e, &ce) {
			t.Fatalf("not a *ConfigError: %T %v", e, e)
		}
		out = append(out, ce)
	}
	return out
}

func jsonQuote(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
