package blobcopy_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/azurite"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobcopy"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// TestCopyOnAzurite runs the copy against Azurite with --oauth basic over
// HTTPS, Microsoft's storage emulator: the source is a container reached
// by a container SAS, the destination another container written with a
// bearer token, and Azurite (not our fake) runs Copy Blob From URL, Copy
// Blob and their checks.
func TestCopyOnAzurite(t *testing.T) {
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	az := azurite.StartOAuth(t, srv)
	fs := files()
	fresh := az.Publish(t, "exports", manifestID, time.Now().Add(time.Hour), fs...)
	fresh.ID = manifestID
	cred := &storageCred{}
	var refreshes atomic.Int64
	opts := func(next fakegraph.Manifest) blobcopy.Options {
		return blobcopy.Options{
			Credential: cred, HTTPClient: srv.HTTPClient(), Concurrency: 3,
			Retry: graph.RetryPolicy{MaxRetries: 2, Backoff: graph.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Factor: 1}, Clock: realClock{}},
			Poll:  graph.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 2},
			Refresh: func(context.Context) (*graph.Manifest, error) {
				refreshes.Add(1)
				return manifestOf(t, next), nil
			},
		}
	}
	target := func(t *testing.T, containerName string) blobcopy.Target {
		c, err := blobcopy.ParseContainerURL(az.CreateContainer(t, containerName))
		if err != nil {
			t.Fatal(err)
		}
		return blobcopy.Target{Container: c, Prefix: manifestID + "/", ManifestID: manifestID}
	}
	check := func(t *testing.T, containerName string, res *blobcopy.Result) {
		t.Helper()
		for i, b := range res.Blobs {
			p, ok := az.Properties(t, containerName, b.Dest)
			gz := fakegraph.Gzip(fs[i].Content)
			if !ok || p.Size != int64(len(gz)) || p.ETag != b.ETag || b.Size != int64(len(gz)) {
				t.Errorf("blob %d: Azurite has %+v (found %v), result %+v", i, p, ok, b)
			}
			if p.Metadata[blobcopy.MetaManifestID] != manifestID || p.Metadata[blobcopy.MetaSourceETag] == "" {
				t.Errorf("blob %d metadata %v", i, p.Metadata)
			}
			if len(p.ContentMD5) > 0 && !bytes.Equal(p.ContentMD5, b.ContentMD5) {
				t.Errorf("blob %d MD5 differs", i)
			}
		}
	}

	t.Run("synchronous, then skipped", func(t *testing.T) {
		tg := target(t, "billing-sync")
		res, err := blobcopy.Copy(t.Context(), manifestOf(t, fresh), tg, opts(fresh))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "billing-sync", res)
		again, err := blobcopy.Copy(t.Context(), manifestOf(t, fresh), tg, opts(fresh))
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range again.Blobs {
			if !b.Skipped || b.ETag != res.Blobs[i].ETag {
				t.Errorf("second run, blob %d: %+v", i, b)
			}
		}
		rec := make([]blobcopy.Recorded, len(res.Blobs))
		for i, b := range res.Blobs {
			rec[i] = blobcopy.Recorded{Name: b.Name, Dest: b.Dest, ETag: b.ETag}
		}
		st, err := blobcopy.Check(t.Context(), tg.Container, rec, opts(fresh))
		if err != nil || st[0] != blobcopy.Unchanged {
			t.Fatalf("check: %v %v", st, err)
		}
		az.PutRaw(t, "billing-sync", rec[0].Dest, []byte("overwritten by somebody"))
		rm, err := blobcopy.Remove(t.Context(), tg.Container, rec, opts(fresh))
		if err != nil || len(rm.Kept) != 1 || len(rm.Removed) != 2 {
			t.Fatalf("remove: %+v %v", rm, err)
		}
		if names := az.List(t, "billing-sync"); len(names) != 1 || names[0] != rec[0].Dest {
			t.Errorf("left: %q", names)
		}
	})
	t.Run("asynchronous", func(t *testing.T) {
		tg := target(t, "billing-async")
		o := opts(fresh)
		o.SyncLimit = 10
		res, err := blobcopy.Copy(t.Context(), manifestOf(t, fresh), tg, o)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "billing-async", res)
	})
	t.Run("expired SAS: one re-read", func(t *testing.T) {
		tg := target(t, "billing-expired")
		expired := fresh
		expired.SASToken = az.SAS(t, "exports", time.Now().Add(-time.Minute))
		refreshes.Store(0)
		res, err := blobcopy.Copy(t.Context(), manifestOf(t, expired), tg, opts(fresh))
		if err != nil {
			t.Fatal(err)
		}
		if res.SASExpiredRetries != 1 || refreshes.Load() != 1 {
			t.Errorf("sas retries %d, refreshes %d", res.SASExpiredRetries, refreshes.Load())
		}
		check(t, "billing-expired", res)
	})
	t.Run("foreign blob", func(t *testing.T) {
		tg := target(t, "billing-foreign")
		az.PutRaw(t, "billing-foreign", manifestID+"/"+fs[0].Name, []byte("not ours"))
		_, err := blobcopy.Copy(t.Context(), manifestOf(t, fresh), tg, opts(fresh))
		var ee *blobcopy.ExistsError
		if !errors.As(err, &ee) {
			t.Fatalf("err = %v, want an ExistsError", err)
		}
	})
	t.Run("container not found", func(t *testing.T) {
		c, err := blobcopy.ParseContainerURL(az.BlobEndpoint() + "/missing")
		if err != nil {
			t.Fatal(err)
		}
		_, err = blobcopy.Copy(t.Context(), manifestOf(t, fresh), blobcopy.Target{Container: c, Prefix: "x/", ManifestID: manifestID}, opts(fresh))
		var se *blobcopy.StorageError
		if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound || !se.ContainerMissing() || se.RequestID == "" {
			t.Fatalf("err = %v (%+v), want ContainerNotFound with a request id", err, se)
		}
	})
	t.Run("a token for another audience is refused", func(t *testing.T) {
		tg := target(t, "billing-audience")
		o := opts(fresh)
		o.Credential = graphCred{}
		_, err := blobcopy.Copy(t.Context(), manifestOf(t, fresh), tg, o)
		var se *blobcopy.StorageError
		if !errors.As(err, &se) || se.Side != blobcopy.Destination || (se.StatusCode != http.StatusUnauthorized && se.StatusCode != http.StatusForbidden) {
			t.Fatalf("err = %v, want the destination refusing the token", err)
		}
		if !strings.Contains(err.Error(), "x-ms-request-id") {
			t.Errorf("no request id: %v", err)
		}
	})
}
