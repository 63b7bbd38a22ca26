package auth

import (
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pfxBytes is a PKCS#12 in the format OpenSSL 3 writes by default
// (AES-256-CBC, PBKDF2-HMAC-SHA-256, SHA-256 MAC).
func pfxBytes(t *testing.T, cc clientCert, password string) []byte {
	t.Helper()
	return encodePFX(t, pkcs12.Modern2023, cc, password)
}

func encodePFX(t *testing.T, enc *pkcs12.Encoder, cc clientCert, password string) []byte {
	t.Helper()
	b, err := enc.Encode(cc.key, cc.leaf, []*x509.Certificate{cc.ca}, password)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// opensslPFX has OpenSSL itself write a .pfx with its defaults (OpenSSL 3:
// AES-256/PBKDF2; OpenSSL 1.1: RC2/3DES), the way a user would export one.
func opensslPFX(t *testing.T, cc clientCert, password string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not on PATH")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pem")
	if err := os.WriteFile(in, []byte(keyPEM(t, cc.key, "PRIVATE KEY")+certPEM(cc.leaf)+certPEM(cc.ca)), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.pfx")
	cmd := exec.Command("openssl", "pkcs12", "-export", "-in", in, "-out", out, "-passout", "pass:"+password)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12 -export: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCertificateFormats gets a token with the certificate in every format
// the provider accepts; the fake verifies the signed client assertion
// against the registered certificate.
func TestCertificateFormats(t *testing.T) {
	t.Parallel()
	cc := newClientCert(t)
	const password = "p@ss wörd-never-leak"
	key8, key1 := keyPEM(t, cc.key, "PRIVATE KEY"), keyPEM(t, cc.key, "RSA PRIVATE KEY")
	leaf, ca := certPEM(cc.leaf), certPEM(cc.ca)
	b64 := base64.StdEncoding.EncodeToString
	tests := map[string]func(t *testing.T) Config{
		"pem file, certificate then PKCS#8 key": func(t *testing.T) Config {
			return Config{ClientCertificatePath: writeTemp(t, "c.pem", []byte(leaf+key8))}
		},
		"pem file, PKCS#1 key then chain with the CA first": func(t *testing.T) Config {
			return Config{ClientCertificatePath: writeTemp(t, "c.pem", []byte(key1+ca+leaf))}
		},
		"pem file with openssl bag attributes": func(t *testing.T) Config {
			return Config{ClientCertificatePath: writeTemp(t, "c.pem", []byte("Bag Attributes\n    localKeyID: 01\n"+key8+"Bag Attributes\n    friendlyName: app\n"+leaf))}
		},
		"pem text as content": func(*testing.T) Config {
			return Config{ClientCertificate: leaf + key8}
		},
		"base64 pem as content": func(*testing.T) Config {
			return Config{ClientCertificate: b64([]byte(key1 + leaf))}
		},
		"pfx file, OpenSSL 3 format, with password": func(t *testing.T) Config {
			return Config{ClientCertificatePath: writeTemp(t, "c.pfx", pfxBytes(t, cc, password)), ClientCertificatePassword: password}
		},
		"pfx file written by openssl": func(t *testing.T) Config {
			return Config{ClientCertificatePath: writeTemp(t, "c.pfx", opensslPFX(t, cc, password)), ClientCertificatePassword: password}
		},
		"pfx file, legacy 3DES": func(t *testing.T) Config {
			return Config{ClientCertificatePath: writeTemp(t, "c.p12", encodePFX(t, pkcs12.LegacyDES, cc, password)), ClientCertificatePassword: password}
		},
		"pfx file, legacy RC2": func(t *testing.T) Config {
			return Config{ClientCertificatePath: writeTemp(t, "c.p12", encodePFX(t, pkcs12.LegacyRC2, cc, password)), ClientCertificatePassword: password}
		},
		"pfx file without password": func(t *testing.T) Config {
			return Config{ClientCertificatePath: writeTemp(t, "c.pfx", encodePFX(t, pkcs12.Passwordless, cc, ""))}
		},
		"pfx file with an empty password": func(t *testing.T) Config {
			return Config{ClientCertificatePath: writeTemp(t, "c.pfx", pfxBytes(t, cc, ""))}
		},
		"base64 pfx as content, wrapped at 76 columns": func(t *testing.T) Config {
			enc := b64(pfxBytes(t, cc, password))
			var wrapped strings.Builder
			for len(enc) > 76 {
				wrapped.WriteString(enc[:76] + "\n")
				enc = enc[76:]
			}
			wrapped.WriteString(enc)
			return Config{ClientCertificate: wrapped.String(), ClientCertificatePassword: password}
		},
	}
	for name, build := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := startFake(t)
			srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID, Certificates: []*x509.Certificate{cc.leaf}})
			cfg := build(t)
			app := appConfig(srv)
			cfg.TenantID, cfg.ClientID, cfg.AuthorityHost, cfg.HTTPClient, cfg.Sleep = app.TenantID, app.ClientID, app.AuthorityHost, app.HTTPClient, app.Sleep
			cred, err := New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if cred.Method() != MethodClientCertificate {
				t.Errorf("method %s", cred.Method())
			}
			tok, err := cred.Token(t.Context())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if issued := srv.IssuedTokens(); len(issued) != 1 || issued[0] != tok {
				t.Errorf("token is not the one the fake issued")
			}
			reqs := srv.TokenRequests()
			if len(reqs) != 1 {
				t.Fatalf("%d token requests", len(reqs))
			}
			form, _ := url.ParseQuery(string(reqs[0].Body))
			if form.Get("client_assertion_type") != fakegraph.JWTBearerAssertionType || form.Has("client_secret") {
				t.Errorf("token request form has keys %v", keys(form))
			}
		})
	}
}

func keys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	return out
}

// TestCertificateNotRegistered: a valid certificate that the app does not
// know fails at the identity platform, with its thumbprint and no key
// material in the error.
func TestCertificateNotRegistered(t *testing.T) {
	t.Parallel()
	cc := newClientCert(t)
	srv := startFake(t)
	srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID, Certificates: []*x509.Certificate{cc.ca}})
	cfg := appConfig(srv)
	cfg.ClientCertificate = certPEM(cc.leaf) + keyPEM(t, cc.key, "PRIVATE KEY")
	cred, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.Token(t.Context())
	if err == nil || !strings.Contains(err.Error(), "AADSTS700027") || !strings.Contains(err.Error(), "client certificate authentication") {
		t.Fatalf("Token error = %v, want AADSTS700027 from client certificate authentication", err)
	}
	form, _ := url.ParseQuery(string(srv.TokenRequests()[0].Body))
	assertNoLeak(t, err.Error(), form.Get("client_assertion"), keyPEM(t, cc.key, "PRIVATE KEY")[40:80])
}
