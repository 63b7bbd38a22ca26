package download_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/azurite"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// TestDownloadFromAzurite runs the download against Azurite, Microsoft's
// storage emulator, so that a real blob service (not our fake) checks the
// service SAS: its signature, its expiry and its container.
func TestDownloadFromAzurite(t *testing.T) {
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	az := azurite.Start(t, srv)
	files := defaultFiles()
	fresh := az.Publish(t, "exports", "8fe347d7-1e0f-4bd6-9091-4672691f32db", time.Now().Add(time.Hour), files...)
	opts := func(refresh func() fakegraph.Manifest, count *atomic.Int64) download.Options {
		return download.Options{
			HTTPClient: srv.HTTPClient(), Concurrency: 3,
			Retry: graph.RetryPolicy{MaxRetries: 2, Backoff: graph.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Factor: 1}, Clock: realClock{}},
			Refresh: func(context.Context) (*graph.Manifest, error) {
				count.Add(1)
				return manifestOf(t, refresh()), nil
			},
		}
	}

	t.Run("fresh SAS", func(t *testing.T) {
		var n atomic.Int64
		dir := t.TempDir()
		res, err := download.Download(t.Context(), manifestOf(t, fresh), dir, opts(func() fakegraph.Manifest { return fresh }, &n))
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range res.Files {
			got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(files[i].Name)))
			if f.SHA256 != sha(got) || f.SHA256 != sha(gz(files[i].Content)) || f.Rows != int64(strings.Count(string(files[i].Content), "\n")) {
				t.Errorf("file %d = %+v", i, f)
			}
		}
		if res.TotalRows != 12 || n.Load() != 0 {
			t.Errorf("rows %d, refreshes %d", res.TotalRows, n.Load())
		}
	})
	t.Run("expired SAS: Azurite refuses it, one manifest re-read", func(t *testing.T) {
		expired := fresh
		expired.SASToken = az.SAS(t, "exports", time.Now().Add(-time.Minute))
		var n atomic.Int64
		res, err := download.Download(t.Context(), manifestOf(t, expired), t.TempDir(), opts(func() fakegraph.Manifest { return fresh }, &n))
		if err != nil {
			t.Fatal(err)
		}
		if res.SASExpiredRetries != 1 || n.Load() != 1 || res.TotalRows != 12 {
			t.Errorf("sas retries %d, refreshes %d, rows %d; want 1, 1, 12", res.SASExpiredRetries, n.Load(), res.TotalRows)
		}
	})
	t.Run("tampered signature: refused after the one re-read", func(t *testing.T) {
		bad := fresh
		bad.SASToken = strings.Replace(fresh.SASToken, "sig=", "sig=AAAA", 1)
		var n atomic.Int64
		dir := t.TempDir()
		_, err := download.Download(t.Context(), manifestOf(t, bad), dir, opts(func() fakegraph.Manifest { return bad }, &n))
		var be *download.BlobError
		if !errors.As(err, &be) || be.StatusCode != http.StatusForbidden || be.Code != "AuthorizationFailure" || n.Load() != 1 {
			t.Fatalf("err = %v (refreshes %d), want a 403 AuthorizationFailure after one re-read", err, n.Load())
		}
		if strings.Contains(err.Error(), "sig=") {
			t.Errorf("the error shows the signature: %v", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("left behind: %v", entries)
		}
	})
}
