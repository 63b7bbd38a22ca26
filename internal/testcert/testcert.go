// Package testcert makes the RSA keys and X.509 certificates that tests of
// certificate authentication need. Keys are shared: generating a 2048-bit
// RSA key costs tens of milliseconds, and tests need only a few distinct ones.
package testcert

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"
)

var (
	keysOnce sync.Once
	keys     [3]*rsa.PrivateKey
	serial   atomic.Int64
)

// RSAKey returns shared key i (0, 1 or 2): the same i, the same key.
func RSAKey(i int) *rsa.PrivateKey {
	keysOnce.Do(func() {
		for j := range keys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(fmt.Sprintf("testcert: generating an RSA key: %v", err))
			}
			keys[j] = k
		}
	})
	return keys[i]
}

// Certificate is a certificate for key with common name cn, valid from
// notBefore to notAfter, signed by parent with parentKey, or self-signed
// (and a CA) when parent is nil.
func Certificate(cn string, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  parent == nil,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	return x509.ParseCertificate(der)
}
