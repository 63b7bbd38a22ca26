package download

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
)

// blobTransport is the transport of the blob requests when the caller gives
// no client: the system roots (roots, when not nil), and as many idle
// connections kept per host as blobs can be in flight, so that each worker
// takes the connection of its previous blob for the next one: one TLS
// handshake per worker, not one per blob (net/http keeps only 2 per host
// by default).
func blobTransport(roots *x509.CertPool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone() //nolint:forcetypeassert // the standard library's documented type
	t.MaxIdleConnsPerHost = MaxConcurrency
	t.MaxIdleConns = max(t.MaxIdleConns, MaxConcurrency)
	if roots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return t
}
