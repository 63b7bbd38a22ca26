package blobcopy_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobcopy"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

const (
	manifestID = "8fe347d7-1e0f-4bd6-9091-4672691f32db"
	tenant     = "0e195b37-4574-4539-bc42-0e539b9684c0"
	container  = "devstoreaccount1/billing"
)

// storageCred hands out a JWT-shaped Storage token and counts the scopes
// asked for.
type storageCred struct {
	mu     sync.Mutex
	scopes []string
}

func (c *storageCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	c.scopes = append(c.scopes, o.Scopes...)
	c.mu.Unlock()
	exp := time.Now().Add(time.Hour)
	return azcore.AccessToken{Token: fakegraph.StorageToken(tenant, exp), ExpiresOn: exp}, nil
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

type env struct {
	srv       *fakegraph.Server
	src, dst  *fakegraph.BlobStore
	container *blobcopy.Container
	manifest  fakegraph.Manifest
	files     []fakegraph.BlobFile
	cred      *storageCred
	refreshes atomic.Int64
	infos     []string
	mu        sync.Mutex
}

func files() []fakegraph.BlobFile {
	return []fakegraph.BlobFile{
		{Name: "part-00000.json.gz", Content: fakegraph.ReconciliationRows("G0001", 0, 4)},
		{Name: "sub folder/part 00001.json.gz", Content: fakegraph.ReconciliationRows("G0001", 4, 3)},
		{Name: "a/b/part-00002.json.gz", Content: fakegraph.ReconciliationRows("G0001", 7, 5)},
	}
}

// newEnv starts a fake Graph, a source blob store with a published
// manifest and a destination store (another host) with a container.
func newEnv(t *testing.T) *env {
	t.Helper()
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	e := &env{srv: srv, cred: &storageCred{}, files: files()}
	for _, p := range []**fakegraph.BlobStore{&e.src, &e.dst} {
		b, err := srv.StartBlobStore()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		*p = b
	}
	e.manifest = e.src.Publish(manifestID, time.Now().Add(time.Hour), e.files...)
	c, err := blobcopy.ParseContainerURL(e.dst.CreateContainer(container))
	if err != nil {
		t.Fatal(err)
	}
	e.container = c
	return e
}

func manifestOf(t *testing.T, m fakegraph.Manifest) *graph.Manifest {
	t.Helper()
	gm, err := graph.DecodeManifest([]byte(m.Body()))
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

func (e *env) opts(t *testing.T) blobcopy.Options {
	return blobcopy.Options{
		Credential: e.cred, HTTPClient: e.srv.HTTPClient(), Concurrency: 3,
		Retry: graph.RetryPolicy{MaxRetries: 2, Backoff: graph.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Factor: 1}, Clock: realClock{}},
		Poll:  graph.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 2},
		Refresh: func(context.Context) (*graph.Manifest, error) {
			e.refreshes.Add(1)
			return manifestOf(t, e.manifest), nil
		},
		Info: func(_ context.Context, msg string, fields map[string]any) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.infos = append(e.infos, msg+" "+strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(
				strings.Join([]string{str(fields["blob"]), str(fields["copy_status"]), str(fields["copy_progress"])}, " "), "  ", " "), "<nil>", "")))
		},
	}
}

func str(v any) string {
	if v == nil {
		return ""
	}
	s, _ := v.(string)
	return s
}

func (e *env) target() blobcopy.Target {
	return blobcopy.Target{Container: e.container, Prefix: blobcopy.DefaultPrefix(manifestID), ManifestID: manifestID}
}

// hostOf is the host of a store.
func hostOf(b *fakegraph.BlobStore) string {
	u, _ := url.Parse(b.URL())
	return u.Host
}

func TestCopyServerSide(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), e.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for i, b := range res.Blobs {
		gz := fakegraph.Gzip(e.files[i].Content)
		sum := md5.Sum(gz)
		dest := manifestID + "/" + e.files[i].Name
		if b.Name != e.files[i].Name || b.Dest != dest || b.Size != int64(len(gz)) || !bytes.Equal(b.ContentMD5, sum[:]) || b.Skipped {
			t.Errorf("blob %d = %+v", i, b)
		}
		if !strings.HasPrefix(b.URL, e.container.URL+"/"+manifestID+"/") || strings.Contains(b.URL, "?") {
			t.Errorf("blob %d url %q", i, b.URL)
		}
		got, ok := e.dst.Dest(container, dest)
		if !ok || got.ETag != b.ETag || got.Size != b.Size || !bytes.Equal(got.ContentMD5, sum[:]) {
			t.Errorf("destination %q = %+v (found %v), result etag %s", dest, got, ok, b.ETag)
		}
		if got.Metadata[blobcopy.MetaManifestID] != manifestID || got.Metadata[blobcopy.MetaSourceETag] == "" {
			t.Errorf("destination %q metadata %v", dest, got.Metadata)
		}
		total += b.Size
	}
	if res.TotalBytes != total || res.SASExpiredRetries != 0 || e.refreshes.Load() != 0 {
		t.Errorf("total %d (want %d), sas retries %d, refreshes %d", res.TotalBytes, total, res.SASExpiredRetries, e.refreshes.Load())
	}
	// The source sees HEADs with the SAS and no Authorization header; it
	// served no body to the client.
	for _, r := range e.src.Requests() {
		// COPYREAD is the destination's server-side read, recorded by the fake.
		if (r.Method != http.MethodHead && r.Method != "COPYREAD") || r.Header.Get("Authorization") != "" || !strings.Contains(r.RawQuery, "sig=") {
			t.Errorf("source request %s %s (authorization %q)", r.Method, r.Path, r.Header.Get("Authorization"))
		}
	}
	if n := e.src.BytesServed(); n != 0 {
		t.Errorf("the source served %d body bytes to the client", n)
	}
	// The destination sees only bearer requests; copies are synchronous
	// with the source conditions.
	copies := 0
	for _, r := range e.dst.Requests() {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.RawQuery != "" && !strings.HasPrefix(r.RawQuery, "comp=") {
			t.Errorf("destination request %s %s %q without a bearer token or with a query", r.Method, r.Path, r.RawQuery)
		}
		if r.Method == http.MethodPut {
			copies++
			if r.Header.Get("x-ms-requires-sync") != "true" || r.Header.Get("x-ms-source-if-match") == "" ||
				r.Header.Get("x-ms-source-content-md5") == "" || r.Header.Get("If-None-Match") != "*" {
				t.Errorf("copy request headers %v", r.Header)
			}
			if !strings.HasPrefix(r.Header.Get("x-ms-copy-source"), e.src.URL()+"/") {
				t.Errorf("copy source %q is not the source store", r.Header.Get("x-ms-copy-source"))
			}
		}
	}
	if copies != 3 {
		t.Errorf("%d copy requests, want 3", copies)
	}
	for _, s := range e.cred.scopes {
		if s != "https://storage.azure.com/.default" {
			t.Errorf("token scope %q", s)
		}
	}
	if hostOf(e.src) == hostOf(e.dst) {
		t.Fatal("the test needs two hosts")
	}
}

func TestCopySkipsWhatIsAlreadyOurs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := manifestOf(t, e.manifest)
	if _, err := blobcopy.Copy(t.Context(), m, e.target(), e.opts(t)); err != nil {
		t.Fatal(err)
	}
	// One blob is deleted: a retried run copies only that one.
	e.dst.DeleteDest(container, manifestID+"/"+e.files[1].Name)
	before := e.dst.Copies()
	res, err := blobcopy.Copy(t.Context(), m, e.target(), e.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.dst.Copies() - before; got != 1 {
		t.Errorf("%d copies on the second run, want 1", got)
	}
	for i, b := range res.Blobs {
		if b.Skipped != (i != 1) {
			t.Errorf("blob %d skipped=%v", i, b.Skipped)
		}
	}
}

func TestCopyRefusesAForeignBlob(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"no metadata":      nil,
		"another manifest": {"partnerbilling_manifest_id": "00000000-0000-0000-0000-000000000000", "partnerbilling_source_etag": "x"},
		"another source":   {"partnerbilling_manifest_id": manifestID, "partnerbilling_source_etag": "0x0"},
	}
	for name, meta := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			dest := manifestID + "/" + e.files[2].Name
			e.dst.PutDest(container, dest, []byte("somebody else's"), meta)
			_, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), e.opts(t))
			var ee *blobcopy.ExistsError
			if !errors.As(err, &ee) || ee.Dest != dest {
				t.Fatalf("err = %v, want an ExistsError for %s", err, dest)
			}
			if got, _ := e.dst.Dest(container, dest); got.Size != int64(len("somebody else's")) {
				t.Errorf("the foreign blob was overwritten: %+v", got)
			}
		})
	}
}

func TestCopyAsynchronousAboveTheLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.dst.SetAsyncPolls(2)
	o := e.opts(t)
	o.SyncLimit = 10 // every blob takes the asynchronous path
	res, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), o)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range res.Blobs {
		got, _ := e.dst.Dest(container, b.Dest)
		if got.CopyStatus != "success" || got.Size != b.Size || got.ETag != b.ETag {
			t.Errorf("blob %d: %+v", i, got)
		}
	}
	for _, r := range e.dst.Requests() {
		if r.Method == http.MethodPut && r.Header.Get("x-ms-requires-sync") != "" {
			t.Errorf("a synchronous copy above the limit: %v", r.Header)
		}
	}
	progress := 0
	for _, l := range e.infos {
		if strings.HasPrefix(l, "asynchronous copy in progress") && strings.Contains(l, " pending ") && strings.Contains(l, "/") {
			progress++
		}
	}
	if progress == 0 {
		t.Errorf("no progress line for a pending copy: %q", e.infos)
	}
}

func TestCopyAsynchronousFailureIsDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPYASYNC", Blob: manifestID + "/" + e.files[0].Name, AsyncFail: "500 InternalError copying the source"})
	o := e.opts(t)
	o.SyncLimit = 10
	o.Concurrency = 1
	_, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), o)
	var se *blobcopy.StorageError
	if !errors.As(err, &se) || se.Code != "copy failed" || !strings.Contains(se.Message, "InternalError") {
		t.Fatalf("err = %v, want the failed copy", err)
	}
	if names := e.dst.DestNames(container); len(names) != 0 {
		t.Errorf("destination blobs left: %q", names)
	}
}

func TestCopyVerifiesAndDeletesABadCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := manifestID + "/" + e.files[1].Name
	e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPY", Blob: bad, Corrupt: true})
	o := e.opts(t)
	o.Concurrency = 1
	_, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), o)
	var ve *blobcopy.VerifyError
	if !errors.As(err, &ve) || ve.Dest != bad || !ve.Deleted || !strings.Contains(ve.What, "size") {
		t.Fatalf("err = %v, want a VerifyError with the copy deleted", err)
	}
	if _, ok := e.dst.Dest(container, bad); ok {
		t.Error("the bad copy is still there")
	}
	var ce *blobcopy.Error
	if !errors.As(err, &ce) || len(ce.Complete) != 1 || ce.Complete[0].Name != e.files[0].Name {
		t.Errorf("complete = %+v, want the first blob", ce)
	}
}

func TestCopyRenewsAnExpiredSASOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expired := e.manifest
	expired.SASToken = e.src.SAS("partnerbilling/"+manifestID, time.Now().Add(-time.Minute))
	res, err := blobcopy.Copy(t.Context(), manifestOf(t, expired), e.target(), e.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.SASExpiredRetries != 1 || e.refreshes.Load() != 1 {
		t.Errorf("sas retries %d, refreshes %d; want 1 and 1", res.SASExpiredRetries, e.refreshes.Load())
	}

	t.Run("refused at the copy", func(t *testing.T) {
		e := newEnv(t)
		e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPY", Status: http.StatusForbidden, Code: "CannotVerifyCopySource",
			Message: "Server failed to authenticate the request.", Times: 1})
		res, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), e.opts(t))
		if err != nil {
			t.Fatal(err)
		}
		if res.SASExpiredRetries != 1 || e.refreshes.Load() != 1 {
			t.Errorf("sas retries %d, refreshes %d; want 1 and 1", res.SASExpiredRetries, e.refreshes.Load())
		}
	})
	t.Run("a destination 403 is not the source's", func(t *testing.T) {
		e := newEnv(t)
		e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPY", Status: http.StatusForbidden, Code: "AuthorizationFailure"})
		_, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), e.opts(t))
		var se *blobcopy.StorageError
		if !errors.As(err, &se) || !se.Permission() || e.refreshes.Load() != 0 {
			t.Fatalf("err = %v (refreshes %d), want a destination permission error and no re-read", err, e.refreshes.Load())
		}
	})
	t.Run("expired again", func(t *testing.T) {
		e := newEnv(t)
		e.manifest.SASToken = e.src.SAS("partnerbilling/"+manifestID, time.Now().Add(-time.Minute))
		_, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), e.opts(t))
		var se *blobcopy.StorageError
		if !errors.As(err, &se) || se.Side != blobcopy.Source || se.StatusCode != http.StatusForbidden || e.refreshes.Load() != 1 {
			t.Fatalf("err = %v (refreshes %d), want a source 403 after one re-read", err, e.refreshes.Load())
		}
	})
	t.Run("manifest changed", func(t *testing.T) {
		e := newEnv(t)
		first := e.manifest
		first.SASToken = e.src.SAS("partnerbilling/"+manifestID, time.Now().Add(-time.Minute))
		e.manifest.ETag = "a-newer-etag"
		_, err := blobcopy.Copy(t.Context(), manifestOf(t, first), e.target(), e.opts(t))
		var mc *graph.ManifestChangedError
		if !errors.As(err, &mc) || mc.SecondETag != "a-newer-etag" {
			t.Fatalf("err = %v, want ManifestChangedError", err)
		}
	})
}

func TestCopyInterruptedLeavesNothingHalfCopied(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"sync", "async"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.dst.SetCopyLatency(30 * time.Second)
			o := e.opts(t)
			if mode == "async" {
				o.SyncLimit = 10
			}
			ctx, cancel := context.WithCancel(t.Context())
			var cancelled time.Time
			go func() {
				for e.dst.Copies() < 3 && ctx.Err() == nil {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(50 * time.Millisecond)
				cancelled = time.Now()
				cancel()
			}()
			_, err := blobcopy.Copy(ctx, manifestOf(t, e.manifest), e.target(), o)
			if took := time.Since(cancelled); took > time.Second {
				t.Errorf("Copy returned %s after the interrupt", took)
			}
			var ce *blobcopy.Error
			if !errors.Is(err, context.Canceled) || !errors.As(err, &ce) || ce.CleanupErr != nil || len(ce.Complete) != 0 {
				t.Fatalf("err = %v (%+v), want an interrupt with a clean cleanup", err, ce)
			}
			if names := e.dst.DestNames(container); len(names) != 0 {
				t.Errorf("destination blobs left: %q", names)
			}
			if mode == "async" {
				aborts := 0
				for _, r := range e.dst.Requests() {
					if r.Header.Get("x-ms-copy-action") == "abort" {
						aborts++
					}
				}
				if aborts != 3 || len(ce.Removed) != 3 {
					t.Errorf("%d Abort Copy requests and %d removed, want 3 and 3", aborts, len(ce.Removed))
				}
			}
		})
	}
}

func TestCopyDestinationErrors(t *testing.T) {
	t.Parallel()
	t.Run("permission", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPY", Status: http.StatusForbidden, Code: "AuthorizationPermissionMismatch",
			Message: "This request is not authorized to perform this operation using this permission."})
		_, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), e.opts(t))
		var se *blobcopy.StorageError
		if !errors.As(err, &se) || !se.Permission() || se.RequestID == "" || se.Side != blobcopy.Destination {
			t.Fatalf("err = %v, want a destination permission error with a request id", err)
		}
	})
	t.Run("container not found", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		c, err := blobcopy.ParseContainerURL(e.dst.URL() + "/devstoreaccount1/missing")
		if err != nil {
			t.Fatal(err)
		}
		tg := e.target()
		tg.Container = c
		_, err = blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), tg, e.opts(t))
		var se *blobcopy.StorageError
		if !errors.As(err, &se) || !se.ContainerMissing() {
			t.Fatalf("err = %v, want ContainerNotFound", err)
		}
	})
	t.Run("throttled, then served", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPY", Status: http.StatusServiceUnavailable, Code: "ServerBusy", RetryAfter: "0.1", Times: 2})
		if _, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), e.opts(t)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCheckAndRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), e.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := make([]blobcopy.Recorded, len(res.Blobs))
	for i, b := range res.Blobs {
		rec[i] = blobcopy.Recorded{Name: b.Name, Dest: b.Dest, ETag: b.ETag}
	}
	before := len(e.src.Requests())
	st, err := blobcopy.Check(t.Context(), e.container, rec, e.opts(t))
	if err != nil || st[0] != blobcopy.Unchanged || st[1] != blobcopy.Unchanged || st[2] != blobcopy.Unchanged {
		t.Fatalf("check = %v, %v", st, err)
	}
	e.dst.DeleteDest(container, rec[0].Dest)
	e.dst.PutDest(container, rec[1].Dest, []byte("changed"), nil)
	st, err = blobcopy.Check(t.Context(), e.container, rec, e.opts(t))
	if err != nil || st[0] != blobcopy.Missing || st[1] != blobcopy.Changed || st[2] != blobcopy.Unchanged {
		t.Fatalf("check = %v, %v", st, err)
	}
	if len(e.src.Requests()) != before {
		t.Error("Check sent a request to the source")
	}
	gone, err := blobcopy.ParseContainerURL(e.dst.URL() + "/devstoreaccount1/deleted")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := blobcopy.Check(t.Context(), gone, rec, e.opts(t)); err != nil || st[0] != blobcopy.Missing || st[2] != blobcopy.Missing {
		t.Errorf("check of a deleted container = %v, %v; want every blob missing", st, err)
	}
	rm, err := blobcopy.Remove(t.Context(), e.container, rec, e.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Removed) != 1 || rm.Removed[0] != rec[2].Dest || len(rm.Kept) != 1 || rm.Kept[0] != rec[1].Dest || len(rm.Gone) != 1 {
		t.Errorf("removal = %+v", rm)
	}
	if names := e.dst.DestNames(container); len(names) != 1 || names[0] != rec[1].Dest {
		t.Errorf("left: %q", names)
	}
}

// TestNoSASInAzcoreLog turns azcore's own log on (every event: requests,
// responses with their headers, retries) and runs copies, a verification,
// an expired SAS and an asynchronous copy: the SAS signature appears in
// no line. azcore prints query values but api-version as REDACTED and
// headers outside its allow-list (x-ms-copy-source) as REDACTED.
func TestNoSASInAzcoreLog(t *testing.T) { //nolint:paralleltest // azcore's log listener is global
	var mu sync.Mutex
	var lines []string
	azlog.SetListener(func(_ azlog.Event, msg string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, msg)
	})
	t.Cleanup(func() { azlog.SetListener(nil) })
	e := newEnv(t)
	expired := e.manifest
	expired.SASToken = e.src.SAS("partnerbilling/"+manifestID, time.Now().Add(-time.Minute))
	o := e.opts(t)
	o.SyncLimit = int64(len(fakegraph.Gzip(e.files[0].Content))) // blob 0 synchronous, the others asynchronous
	if _, err := blobcopy.Copy(t.Context(), manifestOf(t, expired), e.target(), o); err != nil {
		t.Fatal(err)
	}
	sigs := []string{sigOf(t, expired.SASToken), sigOf(t, e.manifest.SASToken)}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) < 10 {
		t.Fatalf("only %d azcore log lines: the listener saw nothing", len(lines))
	}
	seenCopySource := false
	for _, l := range lines {
		for _, s := range sigs {
			if strings.Contains(l, s) || strings.Contains(l, url.QueryEscape(s)) {
				t.Fatalf("an azcore log line holds the SAS signature:\n%s", l)
			}
		}
		if strings.Contains(strings.ToLower(l), "x-ms-copy-source") {
			seenCopySource = true
		}
	}
	if !seenCopySource {
		t.Error("no log line shows the x-ms-copy-source header: the test did not see what it guards")
	}
}

func sigOf(t *testing.T, sas string) string {
	t.Helper()
	q, err := url.ParseQuery(sas)
	if err != nil || q.Get("sig") == "" {
		t.Fatalf("no sig in the SAS: %v", err)
	}
	return q.Get("sig")
}

func TestParseContainerURL(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"https://contosobilling.blob.core.windows.net/billing":                           "billing",
		"https://contosobilling.blob.core.windows.net/billing/":                          "billing",
		"https://127.0.0.1:10000/devstoreaccount1/billing":                               "billing",
		"https://localhost:10000/devstoreaccount1/bill-ing2":                             "bill-ing2",
		"https://[::1]:10000/devstoreaccount1/billing":                                   "billing",
		"https://127.0.0.1:10000/billing":                                                "billing",
		"https://contosobilling.blob.core.windows.net/a-b":                               "a-b",
		"https://contosobilling.blob.core.windows.net/1-2-3":                             "1-2-3",
		"https://contosobilling.blob.core.windows.net/" + strings.Repeat("a", 63):        strings.Repeat("a", 63),
		"https://contosobilling.blob.core.windows.net/" + strings.Repeat("a-", 31) + "a": strings.Repeat("a-", 31) + "a",
	}
	for in, want := range ok {
		c, err := blobcopy.ParseContainerURL(in)
		if err != nil || c.Name != want || strings.HasSuffix(c.URL, "/") {
			t.Errorf("%s: %+v, %v", in, c, err)
		}
	}
	bad := map[string]string{
		"http://contosobilling.blob.core.windows.net/billing":                            "https://",
		"https://contosobilling.blob.core.windows.net/billing?sv=2022&sig=abc":           "SAS",
		"https://contosobilling.blob.core.windows.net/billing?x=1":                       "query",
		"https://contosobilling.blob.core.windows.net/billing#frag":                      "fragment",
		"https://user:pw@contosobilling.blob.core.windows.net/billing":                   "user",
		"https://contosobilling.blob.core.windows.net/":                                  "container name alone",
		"https://contosobilling.blob.core.windows.net/acct/billing":                      "emulator",
		"https://contosobilling.blob.core.windows.net/Billing":                           "not a container name",
		"https://contosobilling.blob.core.windows.net/ab":                                "not a container name",
		"https://contosobilling.blob.core.windows.net/a--b":                              "not a container name",
		"https://127.0.0.1/devstoreaccount1/billing/more":                                "emulator",
		"https://contosobilling.blob.core.windows.net/" + strings.Repeat("a", 64):        "not a container name",
		"https://contosobilling.blob.core.windows.net/billing%2Fx":                       "escaped",
		"https://contosobilling.blob.core.windows.net/" + strings.Repeat("a-", 32) + "a": "not a container name",
		"https://contosobilling.blob.core.windows.net/-abc":                              "not a container name",
		"https://contosobilling.blob.core.windows.net/abc-":                              "not a container name",
		"https://127.0.0.1:10000/Dev_Account/billing":                                    "storage account",
	}
	for in, want := range bad {
		_, err := blobcopy.ParseContainerURL(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "sig=") {
			t.Errorf("%s: the error echoes the SAS: %v", in, err)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "a/", "billed-reconciliation/G000000001/", "x", "a b/c", strings.Repeat("a", 512)} {
		if err := blobcopy.CheckPrefix(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for p, want := range map[string]string{
		"/a":                     "start with '/'",
		"a/../b":                 "'..'",
		"./a":                    "'.'",
		`a\b`:                    "backslash",
		"a\x01b":                 "control",
		"a\nb":                   "control",
		strings.Repeat("a", 513): "at most 512",
	} {
		if err := blobcopy.CheckPrefix(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", p, err, want)
		}
	}
}

// graphCred hands out a token for Microsoft Graph: Storage must refuse it.
type graphCred struct{}

func (graphCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	exp := time.Now().Add(time.Hour)
	tok := fakegraph.StorageToken(tenant, exp)
	// Re-issue the same claims for the Graph audience.
	parts := strings.Split(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	raw = bytes.Replace(raw, []byte(fakegraph.StorageResource), []byte(fakegraph.GraphResource), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return azcore.AccessToken{Token: strings.Join(parts, "."), ExpiresOn: exp}, nil
}

func TestCopyRefusesUnsafeNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"../../other/part-0.json.gz", "a/./b.json.gz", "", "/abs.json.gz", `a\b.json.gz`, "a\x00b", "part-00000.json.gz"} {
		e := newEnv(t)
		m := manifestOf(t, e.manifest)
		m.Blobs = append(m.Blobs, graph.Blob{Name: name})
		_, err := blobcopy.Copy(t.Context(), m, e.target(), e.opts(t))
		var ne *blobcopy.NameError
		if !errors.As(err, &ne) || ne.Name != name {
			t.Errorf("%q: err = %v, want a NameError", name, err)
		}
		if n := len(e.src.Requests()) + len(e.dst.Requests()); n != 0 {
			t.Errorf("%q: %d Storage requests before the refusal", name, n)
		}
	}
}

// failingCred cannot get a token.
type failingCred struct{}

func (failingCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("ClientSecretCredential authentication: AADSTS7000215: Invalid client secret provided")
}

func TestCopyTokenFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.opts(t)
	o.Credential = failingCred{}
	_, err := blobcopy.Copy(t.Context(), manifestOf(t, e.manifest), e.target(), o)
	var te *blobcopy.TokenError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("err = %v, want a TokenError", err)
	}
	if n := len(e.dst.Requests()); n != 0 {
		t.Errorf("%d destination requests without a token", n)
	}
}
