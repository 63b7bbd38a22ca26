package blobcopy_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobcopy"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// TestCopyNeverDeletesABlobWrittenMeanwhile: somebody else writes the
// destination blob between the HEAD that found nothing and the copy (whose
// If-None-Match: * the service then refuses). The blob is not ours: the
// copy fails with Destination Blob Exists and leaves it alone, instead of
// "verifying" it against the source and deleting it as a bad copy.
func TestCopyNeverDeletesABlobWrittenMeanwhile(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"sync", "async"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			dest := manifestID + "/" + e.files[0].Name
			e.dst.PutDest(container, dest, []byte("written by somebody else meanwhile"), map[string]string{"owner": "them"})
			e.dst.ScriptStorage(fakegraph.StorageFault{Op: "HEAD", Blob: dest, Status: http.StatusNotFound, Code: "BlobNotFound", Times: 1})
			o := e.opts(t)
			o.Concurrency = 1
			if mode == "async" {
				o.SyncLimit = 10
			}
			_, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), o)
			var ee *blobcopy.ExistsError
			if !errors.As(err, &ee) || ee.Dest != dest {
				t.Fatalf("err = %v, want an ExistsError for %s", err, dest)
			}
			got, ok := e.dst.Dest(container, dest)
			if !ok || got.Metadata["owner"] != "them" {
				t.Errorf("the other writer's blob is gone or changed: %+v (found %v)", got, ok)
			}
		})
	}
}

// TestCopyPollHonoursRetryAfter: an asynchronous copy whose service says
// Retry-After (0.3 s) in its Copy Blob answer is polled then, not after the
// 5 s backoff.
func TestCopyPollHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.dst.SetCopyLatency(300 * time.Millisecond)
	o := e.opts(t)
	o.SyncLimit = 10
	o.Poll = graph.Backoff{Initial: 5 * time.Second, Max: 10 * time.Second, Factor: 2}
	start := time.Now()
	if _, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), o); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the copy took %v: Retry-After was not honoured", took)
	}
}
