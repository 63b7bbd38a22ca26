package download

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// TestConnectionsAreReusedAcrossBlobs downloads 4 × concurrency blobs
// through the transport the package builds when the caller gives no client
// (the provider's case), at the default and at the maximum concurrency,
// and counts the TLS handshakes: about one per worker, never one per blob.
// (A few more than the workers are allowed: net/http hands a finished
// body's connection back to the pool asynchronously, and a worker whose
// next request comes first dials a connection of its own.)
func TestConnectionsAreReusedAcrossBlobs(t *testing.T) {
	t.Parallel()
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	store, err := srv.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	// Each answer 20 ms late: every worker is busy at once, so the
	// connections really are concurrent.
	store.SetLatency(20 * time.Millisecond)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(srv.CACertPEM()) {
		t.Fatal("the fake's CA did not parse")
	}
	for _, conc := range []int{DefaultConcurrency, MaxConcurrency} {
		t.Run(fmt.Sprintf("concurrency %d", conc), func(t *testing.T) {
			id := fmt.Sprintf("conn-%d", conc)
			var files []fakegraph.BlobFile
			for i := range 4 * conc {
				files = append(files, fakegraph.BlobFile{Name: fmt.Sprintf("part-%05d.json.gz", i), Content: fakegraph.ReconciliationRows("G1", i, 3)})
			}
			gm, err := graph.DecodeManifest([]byte(store.Publish(id, time.Now().Add(time.Hour), files...).Body()))
			if err != nil {
				t.Fatal(err)
			}
			var handshakes, gets atomic.Int64
			ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
				TLSHandshakeStart: func() { handshakes.Add(1) },
				WroteHeaders:      func() { gets.Add(1) },
			})
			client := &http.Client{Transport: blobTransport(roots)}
			defer client.CloseIdleConnections()
			res, err := Download(ctx, gm, t.TempDir(), Options{
				HTTPClient: client, Concurrency: conc,
				Refresh: func(context.Context) (*graph.Manifest, error) { return gm, nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Files) != 4*conc || gets.Load() != int64(4*conc) {
				t.Fatalf("%d files from %d GETs, want %d of each", len(res.Files), gets.Load(), 4*conc)
			}
			if n := handshakes.Load(); n > int64(conc+conc/2) {
				t.Errorf("%d TLS handshakes for %d blobs at concurrency %d: connections were not kept alive from one blob to the next", n, 4*conc, conc)
			}
			t.Logf("%d blobs, concurrency %d: %d TLS handshakes", 4*conc, conc, handshakes.Load())
		})
	}
}
