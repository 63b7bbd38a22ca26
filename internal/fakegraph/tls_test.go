package fakegraph_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestWriteLeafPEM: the files load as a key pair whose leaf the fake's CA
// verifies for 127.0.0.1, and the key is readable by its owner only.
func TestWriteLeafPEM(t *testing.T) {
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "leaf-key.pem")
	if err := srv.WriteLeafPEM(certPath, keyPath); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(pair.Certificate) != 2 {
		t.Fatalf("chain has %d certificates, want 2 (leaf, CA)", len(pair.Certificate))
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(srv.CACertPEM()) {
		t.Fatal("CACertPEM holds no certificate")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("leaf does not verify against the fake's CA: %v", err)
	}
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o, want 600", mode)
	}
}
