// Package blobcopy copies a manifest's blobs into a partner's Azure Storage
// container server-side (SPEC §4.8): the blob service reads each source with
// the manifest's SAS, so no blob byte passes through this process. Up to
// SyncCopyLimit a blob is copied with Copy Blob From URL (synchronous),
// larger ones with Copy Blob (asynchronous) and polled until done. Each copy
// carries metadata naming the manifest and the source's ETag, so that a
// retried run skips what it already copied and never overwrites a blob it
// did not write; each is verified (size, Content-MD5) and a bad copy is
// deleted.
//
// It knows nothing of Terraform. Every Storage call goes through azblob:
// source requests carry the SAS and no credential, destination requests the
// Storage token (an azcore.TokenCredential) and never reach another host.
// The SAS arrives as a graph.Secret and is unwrapped only where a source URL
// is built (sourceURL); no error, log line or result holds it.
package blobcopy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/workers"
)

// Defaults and bounds.
const (
	DefaultConcurrency = 8
	MaxConcurrency     = 32
	// SyncCopyLimit is the largest blob copied with Copy Blob From URL
	// (Azure's limit for the synchronous copy).
	SyncCopyLimit = 256 << 20
	// The metadata every copy carries (Azure returns the keys capitalised:
	// compare them case-insensitively).
	MetaManifestID = "partnerbilling_manifest_id"
	MetaSourceETag = "partnerbilling_source_etag"
	// defaultCleanupTimeout bounds the abort and delete of unfinished
	// copies after an interrupt or a failure.
	defaultCleanupTimeout = 30 * time.Second
)

// DefaultPoll is the backoff between polls of an asynchronous copy without
// Retry-After: 1 s growing to 10 s.
var DefaultPoll = graph.Backoff{Initial: time.Second, Max: 10 * time.Second, Factor: 2}

// Options adjust Copy, Check and Remove.
type Options struct {
	// Credential signs destination requests (the Storage scope). Required.
	Credential azcore.TokenCredential
	// HTTPClient sends every Storage request; nil: the system roots.
	// Redirects are never followed.
	HTTPClient *http.Client
	// Concurrency is how many blobs are in flight at once (0: DefaultConcurrency).
	Concurrency int
	// UserAgent is the User-Agent of every Storage request ("": azcore's).
	UserAgent string
	// Retry is the policy of each Storage request (the Graph client's).
	Retry graph.RetryPolicy
	// Refresh reads the manifest again for a fresh SAS token (Copy only;
	// required there). It is called at most once per Copy.
	Refresh func(ctx context.Context) (*graph.Manifest, error)
	// SyncLimit is the largest blob copied synchronously (0: SyncCopyLimit).
	SyncLimit int64
	// Poll spaces the polls of an asynchronous copy (zero: DefaultPoll).
	Poll graph.Backoff
	// CleanupTimeout bounds the abort and delete of unfinished copies after
	// an interrupt or failure (0: 30 s).
	CleanupTimeout time.Duration
	// Debug receives one line per Storage request; Info the progress of
	// asynchronous copies and cleanups. Fields hold no URL with a query and
	// no token.
	Debug, Info func(ctx context.Context, msg string, fields map[string]any)
	// OnBlob is told of each blob once it is copied and verified, or found
	// already copied (serialised).
	OnBlob func(Blob)
}

func (o *Options) defaults() error {
	if o.Credential == nil {
		return errors.New("blobcopy: Options.Credential is required")
	}
	if _, ok := o.Credential.(tokenCredential); !ok {
		o.Credential = tokenCredential{o.Credential}
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Concurrency < 1 || o.Concurrency > MaxConcurrency {
		return fmt.Errorf("concurrency must be between 1 and %d, got %d", MaxConcurrency, o.Concurrency)
	}
	if o.Retry.Clock == nil {
		o.Retry = graph.DefaultRetryPolicy()
	}
	if o.SyncLimit <= 0 {
		o.SyncLimit = SyncCopyLimit
	}
	if o.Poll.Initial <= 0 {
		o.Poll = DefaultPoll
	}
	if o.CleanupTimeout <= 0 {
		o.CleanupTimeout = defaultCleanupTimeout
	}
	nop := func(context.Context, string, map[string]any) {}
	if o.Debug == nil {
		o.Debug = nop
	}
	if o.Info == nil {
		o.Info = nop
	}
	return nil
}

// Target is where a manifest's blobs land: {Container}/{Prefix}{name}.
type Target struct {
	Container *Container
	Prefix    string
	// ManifestID is written into each copy's metadata (the id the copy was
	// asked for).
	ManifestID string
}

// Blob is one blob in the destination.
type Blob struct {
	Name       string // as in the manifest
	Dest       string // {prefix}{name}
	URL        string // the destination blob URL, no query
	Size       int64
	ContentMD5 []byte // the source's; nil when it has none
	ETag       string // the destination's
	// Skipped: it was already there, written by this copy from the same
	// source, and was not copied again.
	Skipped bool
}

// Result is what Copy did, in the manifest's blob order.
type Result struct {
	Blobs             []Blob
	TotalBytes        int64
	SASExpiredRetries int
}

// Partial is what a failed or interrupted Copy leaves in the destination:
// the blobs complete and verified (they stay, and a new run skips them),
// and the unfinished ones it removed.
type Partial struct {
	Complete []Blob
	// Removed names the destination blobs of unfinished copies that were
	// aborted and deleted; NotRemoved those that could not be (why in
	// CleanupErr).
	Removed, NotRemoved []string
	CleanupErr          error
}

// Error is a failed or interrupted Copy: the first failure (Err, a
// *StorageError, *ExistsError, *VerifyError, *graph.ManifestChangedError,
// or the context's error) and what it left.
type Error struct {
	Err error
	Partial
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Copy copies every blob of m into target. It fails on the first blob that
// cannot be copied, after stopping the others; unfinished copies of this run
// are then aborted and deleted (a *Error says what stayed).
func Copy(ctx context.Context, m *graph.Manifest, target Target, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if opts.Refresh == nil {
		return nil, errors.New("blobcopy: Options.Refresh is required")
	}
	if err := m.CheckRoot(); err != nil {
		return nil, err
	}
	names := make([]string, len(m.Blobs))
	for i, b := range m.Blobs {
		names[i] = b.Name
	}
	if err := checkNames(names, target.Prefix); err != nil {
		return nil, err
	}
	r := &run{
		opts: opts, target: target,
		http:    httpx.NoRedirects(storageHTTPClient(opts.HTTPClient)),
		sas:     graph.NewSASRenewal(m, opts.Refresh, (*graph.Manifest).CheckRoot),
		pending: map[string]*inflight{},
	}
	res := &Result{Blobs: make([]Blob, len(m.Blobs))}
	done := make([]bool, len(m.Blobs))
	var mu sync.Mutex // res.Blobs, done and OnBlob
	firstErr := workers.Each(ctx, len(m.Blobs), opts.Concurrency, func(wctx context.Context, i int) error {
		b, err := r.one(wctx, m.Blobs[i].Name)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		res.Blobs[i], done[i] = b, true
		if opts.OnBlob != nil {
			opts.OnBlob(b)
		}
		return nil
	})
	if ctx.Err() != nil {
		// An interrupt or the deadline wins over whatever it made a worker
		// report (a cancelled request).
		firstErr = httpx.ContextError(ctx)
	}
	if firstErr != nil {
		e := &Error{Err: firstErr}
		for i, ok := range done {
			if ok {
				e.Complete = append(e.Complete, res.Blobs[i])
			}
		}
		r.cleanup(ctx, &e.Partial)
		return nil, e
	}
	for _, b := range res.Blobs {
		res.TotalBytes += b.Size
	}
	res.SASExpiredRetries = r.sas.Retries()
	return res, nil
}

// run is one Copy's shared state.
type run struct {
	opts   Options
	target Target
	http   *http.Client
	sas    *graph.SASRenewal

	mu      sync.Mutex
	pending map[string]*inflight // destination name -> a copy started and not yet verified
}

// inflight is a copy this run started and has not verified: on failure or
// interrupt it is aborted (copyID) and deleted.
type inflight struct {
	name, dest string
	client     *blob.Client
	copyID     string
	sourceETag string
}

func (r *run) track(f *inflight) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending[f.dest] = f
}

func (r *run) untrack(dest string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, dest)
}

// one copies (or skips) one blob and verifies it.
func (r *run) one(ctx context.Context, name string) (Blob, error) {
	dest := r.target.Prefix + name
	out := Blob{Name: name, Dest: dest, URL: r.target.Container.BlobURL(dest)}
	src, err := r.sourceProperties(ctx, name)
	if err != nil {
		return out, err
	}
	out.Size, out.ContentMD5 = src.size, src.md5
	dc, err := r.destClient(dest)
	if err != nil {
		return out, &StorageError{Blob: name, Dest: dest, Side: Destination, Op: "building the client of", Err: err}
	}
	existing, err := r.destProperties(ctx, dc, name, dest)
	if err != nil {
		return out, err
	}
	if existing != nil {
		if err := r.ours(existing, src, out); err != nil {
			return out, err
		}
		out.ETag, out.Skipped = existing.etag, true
		r.opts.Debug(ctx, "destination blob already copied; skipped", map[string]any{"blob": name, "destination": dest})
		return out, nil
	}
	f := &inflight{name: name, dest: dest, client: dc, sourceETag: src.etag}
	r.track(f)
	var got *props // the copy's properties: the last poll's for Copy Blob
	if src.size <= r.opts.SyncLimit {
		err = r.copySync(ctx, f, src)
	} else {
		got, err = r.copyAsync(ctx, f, src)
	}
	if errors.Is(err, errAlreadyThere) {
		got, err = r.existing(ctx, f, src, out)
	}
	if err != nil {
		return out, err
	}
	if got == nil {
		got, err = r.destProperties(ctx, dc, name, dest)
	}
	if err == nil && got == nil {
		err = &StorageError{Blob: name, Dest: dest, Side: Destination, Op: "reading the copy of", Err: errors.New("the copy is not there")}
	}
	if err != nil {
		return out, err
	}
	if what := mismatch(src, got); what != "" {
		ve := &VerifyError{Blob: name, Dest: dest, What: what}
		if derr := r.deleteIfMatch(ctx, dc, name, dest, got.etag); derr != nil {
			ve.DeleteErr = derr
		} else {
			ve.Deleted = true
		}
		r.untrack(dest)
		return out, ve
	}
	r.untrack(dest)
	out.ETag = got.etag
	r.opts.Debug(ctx, "blob copied", map[string]any{"blob": name, "destination": dest, "bytes": src.size})
	return out, nil
}
