//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// publishRaw serves blobs (already gzip) as manifest id; it returns the
// manifest.
func publishRaw(srv *fakegraph.Server, store *fakegraph.BlobStore, id string, blobs map[string][]byte) fakegraph.Manifest {
	dir := fakegraph.BlobContainer + "/" + id
	names := make([]string, 0, len(blobs))
	for n, b := range blobs {
		store.PutRaw(dir, n, b)
		names = append(names, n)
	}
	m := fakegraph.NewManifest(id, store.URL()+"/"+dir, store.SAS(dir, time.Now().Add(time.Hour)), names...)
	srv.SetManifest(id, m.Body())
	return m
}

// TestBenchDownload is `make bench`'s download rows: 8 blobs of 4 MiB (level-6
// gzip of billing rows) from a
// blob store that answers each request 50 ms late, fetched by curl one after
// another through the ephemeral resource's URLs, by download.Download (the
// resource's code) at concurrency 4, and by a whole `terraform apply` of
// partnerbilling_manifest_files; then the provider's peak RSS for one 1 GiB
// blob against one of 4 MiB.
func TestBenchDownload(t *testing.T) {
	if os.Getenv("PARTNERBILLING_BENCH") == "" {
		t.Skip("set PARTNERBILLING_BENCH=1 (make bench) to run the download benchmark")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not on PATH")
	}
	const id = "8fe347d7-1e0f-4bd6-9091-4672691f32db"
	w := newWorkspace(t, `
resource "partnerbilling_manifest_files" "bench" {
  manifest_id = "`+id+`"
  directory   = "${path.root}/downloads"
}
`)
	store := w.blobStore(t)
	// Level-6 gzip of billing rows (bench_download_data_test.go): decoding
	// costs what it costs with a real export.
	pool := loadBenchPool(t)
	blobs := map[string][]byte{}
	for i := range 8 {
		blobs[fmt.Sprintf("part-%05d.json.gz", i)] = pool.Large[i]
	}
	m := publishRaw(w.srv, store, id, blobs)
	store.SetLatency(50 * time.Millisecond)
	gm, err := graph.DecodeManifest([]byte(m.Body()))
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := w.srv.WriteCACert(ca); err != nil {
		t.Fatal(err)
	}

	const rounds = 3
	var curlT, dlT, applyT []time.Duration
	for round := range rounds {
		out := t.TempDir()
		start := time.Now()
		for _, b := range gm.Blobs {
			cmd := exec.CommandContext(t.Context(), "curl", "-sSf", "--cacert", ca, "-o", filepath.Join(out, b.Name), gm.BlobURL(b.Name).Reveal())
			if o, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("curl: %v\n%s", err, o)
			}
		}
		curlT = append(curlT, time.Since(start))

		start = time.Now()
		if _, err := download.Download(t.Context(), gm, t.TempDir(), download.Options{
			HTTPClient: w.srv.HTTPClient(), Concurrency: 4, Retry: graph.DefaultRetryPolicy(),
			Refresh: func(context.Context) (*graph.Manifest, error) { return gm, nil },
		}); err != nil {
			t.Fatal(err)
		}
		dlT = append(dlT, time.Since(start))

		_ = os.RemoveAll(filepath.Join(w.dir, "downloads"))
		_ = os.Remove(filepath.Join(w.dir, "terraform.tfstate"))
		start = time.Now()
		cmd, o := w.command(t.Context(), nil, "apply", "-auto-approve", "-input=false", "-no-color")
		if err := cmd.Run(); err != nil {
			t.Fatalf("apply: %v\n%s", err, o)
		}
		applyT = append(applyT, time.Since(start))
		t.Logf("round %d: curl %v, download.Download %v, terraform apply %v", round+1, curlT[round], dlT[round], applyT[round])
	}
	c, d, a := median(curlT), median(dlT), median(applyT)
	t.Logf("8 blobs x 4 MiB, 50 ms per request, medians of %d: curl one after another %v; download.Download at concurrency 4 %v (%.2f of curl, goal <= 0.35); "+
		"whole terraform apply (CLI start, plan, provider start, manifest GET, download) %v (%.2f of curl)",
		rounds, c.Round(time.Millisecond), d.Round(time.Millisecond), float64(d)/float64(c), a.Round(time.Millisecond), float64(a)/float64(c))

	// Peak RSS of the provider: one 4 MiB blob, then one 1 GiB blob.
	store.SetLatency(0)
	rss := func(size int) int64 {
		publishRaw(w.srv, store, id, map[string][]byte{"big.json.gz": pool.largeBlob(0, size)})
		_ = os.RemoveAll(filepath.Join(w.dir, "downloads"))
		_ = os.Remove(filepath.Join(w.dir, "terraform.tfstate"))
		ctx, cancel := context.WithCancel(t.Context())
		peak := watchProvider(ctx, filepath.Join(providerBinary(t), "terraform-provider-partnerbilling"))
		start := time.Now()
		cmd, o := w.command(t.Context(), nil, "apply", "-auto-approve", "-input=false", "-no-color")
		err := cmd.Run()
		el := time.Since(start)
		cancel()
		kb, _ := peak()
		if err != nil {
			t.Fatalf("apply: %v\n%s", err, o)
		}
		t.Logf("one blob of %d MiB: terraform apply %v, provider peak RSS (VmHWM) %.1f MiB", size>>20, el.Round(time.Millisecond), float64(kb)/1024)
		return kb
	}
	small, big := rss(4<<20), rss(1<<30)
	t.Logf("1 GiB blob raises the provider's peak RSS by %.1f MiB over a 4 MiB one (goal <= 64 MiB)", float64(big-small)/1024)
	if big-small > 64<<10 {
		t.Errorf("peak RSS grew by %d KiB for a 1 GiB blob, over the 64 MiB bound", big-small)
	}
}
