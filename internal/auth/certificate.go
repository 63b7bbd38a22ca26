package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the SHA-1 thumbprint is how the Azure portal names certificates; it identifies, it does not protect
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"software.sslmate.com/src/go-pkcs12"
)

// maxCertificateFile caps what is read from client_certificate_path: real
// certificates are a few KiB, and a wrong path (a log, /dev/zero) must not
// fill memory.
const maxCertificateFile = 1 << 20

// newCertificateAcquirer loads the certificate and key now, so that a
// missing file, a wrong password or a key that is not a certificate's fails
// at Configure; MSAL signs a fresh client assertion for every token request.
func newCertificateAcquirer(cfg Config) (acquirer, error) {
	authority, errs := appAuthority(cfg, "a client certificate")
	certs, key, err := loadCertificate(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cred, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		return nil, configErr(certificateArg(cfg), "Invalid Client Certificate", "MSAL cannot use the certificate: %w", err)
	}
	return newMSALAcquirer(cfg, authority, cred)
}

// certificateArg is the argument the certificate came from.
func certificateArg(cfg Config) string {
	if cfg.ClientCertificate != "" {
		return ArgClientCertificate
	}
	return ArgClientCertificatePath
}

// loadCertificate reads and parses the configured certificate and returns
// the chain with the certificate of key first. Errors never contain any of
// the file's content.
func loadCertificate(cfg Config) ([]*x509.Certificate, crypto.PrivateKey, error) {
	if cfg.ClientCertificate != "" && cfg.ClientCertificatePath != "" {
		return nil, nil, &ConfigError{Argument: ArgClientCertificatePath, Summary: "Conflicting Client Certificates",
			Related: []string{ArgClientCertificate},
			Err:     errors.New("both client_certificate and client_certificate_path are set: set only one of them")}
	}
	arg := certificateArg(cfg)
	data, err := certificateBytes(cfg)
	if err != nil {
		return nil, nil, err
	}
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	if isPEM(data) {
		certs, key, err = parsePEM(data, arg)
	} else {
		certs, key, err = parsePKCS12(data, cfg.ClientCertificatePassword, arg)
	}
	if err != nil {
		return nil, nil, err
	}
	return checkCertificate(certs, key, arg, now(cfg))
}

func now(cfg Config) time.Time {
	if cfg.Now != nil {
		return cfg.Now()
	}
	return time.Now()
}

// certificateBytes returns the PEM or PKCS#12 bytes of the certificate,
// from the file or from client_certificate (PEM text, or base64 of either).
func certificateBytes(cfg Config) ([]byte, error) {
	if cfg.ClientCertificate != "" {
		if isPEM([]byte(cfg.ClientCertificate)) {
			return []byte(cfg.ClientCertificate), nil
		}
		// Base64 is often wrapped at 64 or 76 columns.
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(cfg.ClientCertificate), ""))
		if err != nil {
			return nil, configErr(ArgClientCertificate, "Invalid Client Certificate",
				"client_certificate is neither PEM text nor base64 (%w): give the base64 of a .pfx/.p12 or .pem file (e.g. base64 -w0 cert.pfx), or the PEM itself", err)
		}
		return b, nil
	}
	f, err := os.Open(cfg.ClientCertificatePath)
	if err != nil {
		return nil, configErr(ArgClientCertificatePath, "Unreadable Client Certificate File", "cannot read the certificate file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCertificateFile+1))
	if err != nil {
		return nil, configErr(ArgClientCertificatePath, "Unreadable Client Certificate File", "cannot read the certificate file %s: %w", cfg.ClientCertificatePath, err)
	}
	if len(b) > maxCertificateFile {
		return nil, configErr(ArgClientCertificatePath, "Invalid Client Certificate",
			"%s is larger than 1 MiB, so it is not a certificate file: give a .pfx/.p12 or .pem file", cfg.ClientCertificatePath)
	}
	return b, nil
}

func isPEM(b []byte) bool { return bytes.Contains(b, []byte("-----BEGIN ")) }

// parsePEM reads CERTIFICATE blocks and one private key block (PKCS#8,
// PKCS#1 RSA or SEC 1 EC), in any order; other blocks are ignored.
func parsePEM(data []byte, arg string) ([]*x509.Certificate, crypto.PrivateKey, error) {
	invalid := func(format string, a ...any) error {
		return configErr(arg, "Invalid Client Certificate", "the PEM %s: "+format, append([]any{describe(arg)}, a...)...)
	}
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		data = rest
		if block.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, invalid("a CERTIFICATE block cannot be parsed: %w", err)
			}
			certs = append(certs, c)
			continue
		}
		k, isKey, err := parsePEMKey(block)
		if err != nil {
			return nil, nil, invalid("%w", err)
		}
		if !isKey {
			continue
		}
		if key != nil {
			return nil, nil, invalid("it holds more than one private key; keep only the certificate's own key")
		}
		key = k
	}
	switch {
	case len(certs) == 0:
		return nil, nil, invalid("it holds no CERTIFICATE block; it needs the certificate and its private key")
	case key == nil:
		return nil, nil, invalid("it holds no private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block); it needs the certificate and its private key")
	}
	return certs, key, nil
}

// parsePEMKey parses a private key block; isKey is false for blocks that
// are not keys.
func parsePEMKey(block *pem.Block) (key crypto.PrivateKey, isKey bool, err error) {
	if _, encrypted := block.Headers["DEK-Info"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, true, errors.New("its private key is encrypted, which is not supported: " +
			"use a PKCS#12 (.pfx/.p12) file with client_certificate_password, or an unencrypted key kept in a protected file")
	}
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, false, nil
	}
	if err != nil {
		// The x509 parse errors name the structure, never the key bytes.
		return nil, true, fmt.Errorf("its %s block cannot be parsed: %w", block.Type, err)
	}
	return key, true, nil
}

// parsePKCS12 decodes a .pfx/.p12, including the AES-256/PBKDF2 format
// OpenSSL 3 writes by default, and password-less files.
func parsePKCS12(data []byte, password, arg string) ([]*x509.Certificate, crypto.PrivateKey, error) {
	key, leaf, chain, err := pkcs12.DecodeChain(data, password)
	switch {
	case err == nil:
		return append([]*x509.Certificate{leaf}, chain...), key, nil
	case errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption):
		if password == "" {
			return nil, nil, configErr(ArgClientCertificatePassword, "Missing Client Certificate Password",
				"the PKCS#12 %s is protected by a password: set client_certificate_password", describe(arg))
		}
		return nil, nil, configErr(ArgClientCertificatePassword, "Wrong Client Certificate Password",
			"client_certificate_password does not open the PKCS#12 %s", describe(arg))
	}
	var notImpl pkcs12.NotImplementedError
	if errors.As(err, &notImpl) {
		return nil, nil, configErr(arg, "Unsupported Client Certificate",
			"the PKCS#12 %s uses a feature that is not supported (%w): re-export it, e.g. with openssl pkcs12 -export", describe(arg), err)
	}
	return nil, nil, configErr(arg, "Invalid Client Certificate",
		"the %s is neither PEM (a certificate and its private key) nor a PKCS#12 (.pfx/.p12) file: %w", describe(arg), err)
}

func describe(arg string) string {
	if arg == ArgClientCertificate {
		return "content of client_certificate"
	}
	return "file in client_certificate_path"
}

// checkCertificate requires an RSA key (Microsoft Entra ID and MSAL sign
// client assertions with RS256/PS256 only), a certificate that holds its
// public key, and that certificate to be valid now. It puts that
// certificate first.
func checkCertificate(certs []*x509.Certificate, key crypto.PrivateKey, arg string, now time.Time) ([]*x509.Certificate, crypto.PrivateKey, error) {
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, configErr(arg, "Unsupported Client Certificate Key",
			"the private key is %s, but Microsoft Entra ID client assertions are signed with RSA (PS256): use a certificate with an RSA key (2048 bits or more)", keyKind(key))
	}
	leafAt := -1
	for i, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&rsaKey.PublicKey) {
			leafAt = i
			break
		}
	}
	if leafAt < 0 {
		return nil, nil, configErr(arg, "Invalid Client Certificate",
			"the private key does not belong to any of the %d certificate(s) in the %s", len(certs), describe(arg))
	}
	leaf := certs[leafAt]
	ordered := append([]*x509.Certificate{leaf}, append(append([]*x509.Certificate(nil), certs[:leafAt]...), certs[leafAt+1:]...)...)
	switch {
	case now.After(leaf.NotAfter):
		return nil, nil, configErr(arg, "Expired Client Certificate",
			"the certificate (subject %q, thumbprint %X) expired on %s: upload a new certificate to the app registration and use it here",
			leaf.Subject.String(), sha1Thumbprint(leaf), leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, nil, configErr(arg, "Client Certificate Not Yet Valid",
			"the certificate (subject %q) is valid only from %s", leaf.Subject.String(), leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return ordered, rsaKey, nil
}

func keyKind(key crypto.PrivateKey) string {
	switch key.(type) {
	case *ecdsa.PrivateKey:
		return "an ECDSA key"
	case ed25519.PrivateKey:
		return "an Ed25519 key"
	}
	return fmt.Sprintf("a %T", key)
}

// sha1Thumbprint is the thumbprint the Azure portal shows for a certificate.
func sha1Thumbprint(c *x509.Certificate) []byte {
	sum := sha1.Sum(c.Raw) //nolint:gosec // see the import
	return sum[:]
}
