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
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
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

// props is what a HEAD tells of a blob.
type props struct {
	size        int64
	md5         []byte
	etag        string
	meta        map[string]*string
	copyStatus  string
	copyID      string
	copyDesc    string
	copyProg    string
	retryHeader http.Header
}

func propsOf(resp blob.GetPropertiesResponse, raw *http.Response) *props {
	p := &props{md5: resp.ContentMD5, meta: resp.Metadata}
	if resp.ContentLength != nil {
		p.size = *resp.ContentLength
	}
	if resp.ETag != nil {
		p.etag = string(*resp.ETag)
	}
	if resp.CopyStatus != nil {
		p.copyStatus = string(*resp.CopyStatus)
	}
	if resp.CopyID != nil {
		p.copyID = *resp.CopyID
	}
	if resp.CopyStatusDescription != nil {
		p.copyDesc = *resp.CopyStatusDescription
	}
	if resp.CopyProgress != nil {
		p.copyProg = *resp.CopyProgress
	}
	if raw != nil {
		p.retryHeader = raw.Header
	}
	return p
}

// mismatch says how a copy differs from its source ("" when it does not).
func mismatch(src, got *props) string {
	if got.size != src.size {
		return fmt.Sprintf("its size is %d bytes, the source's %d", got.size, src.size)
	}
	if len(src.md5) > 0 && len(got.md5) > 0 && string(src.md5) != string(got.md5) {
		return fmt.Sprintf("its Content-MD5 is %s, the source's %s",
			base64.StdEncoding.EncodeToString(got.md5), base64.StdEncoding.EncodeToString(src.md5))
	}
	return ""
}

// ours decides about a destination blob that is already there: nil when
// this copy wrote it from the same source and it is complete (skip it),
// else an ExistsError.
func (r *run) ours(existing, src *props, out Blob) error {
	e := &ExistsError{Blob: out.Name, Dest: out.Dest, URL: out.URL}
	manifestID, sourceETag := metaValue(existing.meta, MetaManifestID), metaValue(existing.meta, MetaSourceETag)
	switch {
	case manifestID == "" && sourceETag == "":
		e.Reason = "was not written by this provider (it has no partnerbilling_manifest_id metadata)"
	case !strings.EqualFold(manifestID, r.target.ManifestID):
		e.Reason = fmt.Sprintf("was copied from another manifest (%s)", manifestID)
	case normETag(sourceETag) != normETag(src.etag):
		e.Reason = "was copied from another version of the source blob (its partnerbilling_source_etag differs)"
	case existing.copyStatus != "" && existing.copyStatus != string(blob.CopyStatusTypeSuccess):
		e.Reason = fmt.Sprintf("is an unfinished copy (copy status %s)", existing.copyStatus)
	case mismatch(src, existing) != "":
		e.Reason = "does not match its source: " + mismatch(src, existing)
	default:
		return nil
	}
	return e
}

// metaValue reads a metadata key case-insensitively (azblob returns
// "Partnerbilling_manifest_id").
func metaValue(meta map[string]*string, key string) string {
	for k, v := range meta {
		if strings.EqualFold(k, key) && v != nil {
			return *v
		}
	}
	return ""
}

// normETag is an ETag without its quotes (metadata holds it bare).
func normETag(s string) string { return strings.Trim(strings.TrimSpace(s), `"`) }

func (r *run) metadata(sourceETag string) map[string]*string {
	id, et := r.target.ManifestID, normETag(sourceETag)
	return map[string]*string{MetaManifestID: &id, MetaSourceETag: &et}
}

// sourceURL is the source blob's URL with the current SAS: the one place
// the token is unwrapped. gen is the SAS generation it was built with.
func (r *run) sourceURL(name string) (u string, gen int) {
	m, gen := r.sas.Current()
	return m.BlobURL(name).Reveal(), gen
}

// sourceExpired: a 403 that says the source's SAS no longer holds:
// AuthenticationFailed (Azure), AuthorizationFailure (Azurite, for every
// SAS problem), CannotVerifyCopySource (a copy whose source refused the
// SAS), or a token whose se= has passed.
func sourceExpired(err error, m *graph.Manifest) bool {
	if statusOf(err) != http.StatusForbidden {
		return false
	}
	switch codeOf(err) {
	case "AuthenticationFailed", "AuthorizationFailure", "CannotVerifyCopySource":
		return true
	}
	return graph.SASPassed(m.SASToken, time.Now())
}

// copySourceRefused: a copy request refused because the service could not
// read the source with its SAS (403 CannotVerifyCopySource, or
// AuthenticationFailed, which the destination's bearer token never gets).
// Other 403s of a copy are the destination refusing the identity.
func copySourceRefused(err error) bool {
	if statusOf(err) != http.StatusForbidden {
		return false
	}
	c := codeOf(err)
	return c == "CannotVerifyCopySource" || c == "AuthenticationFailed"
}

// sourceProperties reads the source's size, Content-MD5 and ETag with the
// SAS (no credential, so no Authorization header reaches the source host),
// renewing an expired SAS once.
func (r *run) sourceProperties(ctx context.Context, name string) (*props, error) {
	for {
		u, gen := r.sourceURL(name)
		c, err := blob.NewClientWithNoCredential(u, r.clientOptions())
		if err != nil {
			return nil, &StorageError{Blob: name, Side: Source, Op: "building the client of", Err: errors.New(safetext.RedactSAS(err.Error()))}
		}
		var p *props
		err = r.retry(ctx, name, "HEAD source", func(ctx context.Context) error {
			var raw *http.Response
			resp, err := c.GetProperties(policy.WithCaptureResponse(ctx, &raw), nil)
			if err == nil {
				p = propsOf(resp, raw)
				r.opts.Debug(ctx, "storage request", map[string]any{"op": "HEAD source", "blob": name, "status": 200, "request_id": deref(resp.RequestID)})
			}
			return err
		})
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, httpx.ContextError(ctx)
		}
		m, _ := r.sas.Current()
		if sourceExpired(err, m) {
			if rerr := r.renew(ctx, name, gen); rerr != nil {
				return nil, rerr
			}
			continue
		}
		return nil, responseError(name, "", Source, "reading the properties of", err)
	}
}

func (r *run) renew(ctx context.Context, name string, gen int) error {
	if _, _, err := r.sas.Renew(ctx, gen); err != nil {
		if ctx.Err() != nil {
			return httpx.ContextError(ctx)
		}
		var mc *graph.ManifestChangedError
		if errors.As(err, &mc) {
			return err
		}
		return &StorageError{Blob: name, Side: Source, Op: "reading", StatusCode: http.StatusForbidden,
			Code: "AuthenticationFailed", Message: "the source refused the manifest's SAS token", Err: err}
	}
	r.opts.Info(ctx, "the source refused the manifest's SAS token as expired; read the manifest again for a fresh one", map[string]any{"blob": name})
	return nil
}

// destClient is the destination blob's client with the Storage token.
func (r *run) destClient(dest string) (*blob.Client, error) {
	return newDestClient(r.target.Container, dest, r.opts, r.http)
}

func newDestClient(c *Container, dest string, opts Options, h *http.Client) (*blob.Client, error) {
	return blob.NewClient(c.BlobURL(dest), opts.Credential, clientOptions(h))
}

func (r *run) clientOptions() *blob.ClientOptions { return clientOptions(r.http) }

// clientOptions: our transport (no redirects), azcore's retries off (one
// policy, ours, governs every request) and its log policy as it is: it
// prints a request's URL with every query value but api-version redacted
// and headers outside its allow-list (x-ms-copy-source among them) as
// REDACTED (TestNoSASInAzcoreLog).
func clientOptions(h *http.Client) *blob.ClientOptions {
	return &blob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: h,
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{ApplicationID: "partnerbilling"},
	}}
}

// destProperties reads a destination blob's properties with the token; nil
// when it does not exist.
func (r *run) destProperties(ctx context.Context, c *blob.Client, name, dest string) (*props, error) {
	return headDest(ctx, c, name, dest, r.opts)
}

func headDest(ctx context.Context, c *blob.Client, name, dest string, opts Options) (*props, error) {
	var p *props
	err := retry(ctx, opts, name, "HEAD destination", func(ctx context.Context) error {
		var raw *http.Response
		resp, err := c.GetProperties(policy.WithCaptureResponse(ctx, &raw), nil)
		if err == nil {
			p = propsOf(resp, raw)
			opts.Debug(ctx, "storage request", map[string]any{"op": "HEAD destination", "blob": dest, "status": 200, "request_id": deref(resp.RequestID)})
		}
		return err
	})
	if err == nil {
		return p, nil
	}
	if ctx.Err() != nil {
		return nil, httpx.ContextError(ctx)
	}
	if statusOf(err) == http.StatusNotFound && codeOf(err) != "ContainerNotFound" {
		return nil, nil
	}
	return nil, responseError(name, dest, Destination, "reading the properties of", err)
}

// copySync is Copy Blob From URL: the service reads the source and writes
// the destination before it answers. If-None-Match: * keeps it from
// overwriting a blob written since the HEAD.
func (r *run) copySync(ctx context.Context, f *inflight, src *props) error {
	for {
		u, gen := r.sourceURL(f.name)
		opts := &blob.CopyFromURLOptions{
			Metadata:                       r.metadata(src.etag),
			SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: etagPtr(src.etag)},
			BlobAccessConditions:           ifNoneMatchAny(),
		}
		if len(src.md5) > 0 {
			opts.SourceContentMD5 = src.md5
		}
		err := r.retry(ctx, f.name, "Copy Blob From URL", func(ctx context.Context) error {
			resp, err := f.client.CopyFromURL(ctx, u, opts)
			if err == nil {
				r.opts.Debug(ctx, "storage request", map[string]any{"op": "Copy Blob From URL", "blob": f.dest, "status": 202, "request_id": deref(resp.RequestID)})
			}
			return err
		})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return httpx.ContextError(ctx)
		}
		if copySourceRefused(err) {
			if rerr := r.renew(ctx, f.name, gen); rerr != nil {
				return rerr
			}
			continue
		}
		if alreadyThere(err) {
			// A retried request whose first attempt went through: the
			// verification decides.
			return nil
		}
		return r.copyError(f, err)
	}
}

// copyError is a refused copy request. A 403 that is not the source's
// (CannotVerifyCopySource) is the destination refusing the identity.
func (r *run) copyError(f *inflight, err error) error {
	se := responseError(f.name, f.dest, Destination, "copying into", err)
	if se.Code == "CannotVerifyCopySource" || se.Code == "SourceConditionNotMet" || strings.HasPrefix(se.Code, "CannotVerify") {
		se.Side = Source
		se.Op = "copying from"
	}
	return se
}

func alreadyThere(err error) bool {
	switch codeOf(err) {
	case "BlobAlreadyExists", "ConditionNotMet":
		return statusOf(err) == http.StatusConflict || statusOf(err) == http.StatusPreconditionFailed
	}
	return false
}

// copyAsync is Copy Blob: the service copies in the background; the
// destination's x-ms-copy-status is polled until it is no longer pending.
func (r *run) copyAsync(ctx context.Context, f *inflight, src *props) (*props, error) {
	for {
		u, gen := r.sourceURL(f.name)
		opts := &blob.StartCopyFromURLOptions{
			Metadata:                       r.metadata(src.etag),
			SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: etagPtr(src.etag)},
			AccessConditions:               ifNoneMatchAny(),
		}
		var resp blob.StartCopyFromURLResponse
		var raw *http.Response
		err := r.retry(ctx, f.name, "Copy Blob", func(ctx context.Context) error {
			var err error
			resp, err = f.client.StartCopyFromURL(policy.WithCaptureResponse(ctx, &raw), u, opts)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, httpx.ContextError(ctx)
			}
			if copySourceRefused(err) {
				if rerr := r.renew(ctx, f.name, gen); rerr != nil {
					return nil, rerr
				}
				continue
			}
			return nil, r.copyError(f, err)
		}
		r.mu.Lock()
		f.copyID = deref(resp.CopyID)
		r.mu.Unlock()
		status := ""
		if resp.CopyStatus != nil {
			status = string(*resp.CopyStatus)
		}
		r.opts.Info(ctx, "asynchronous copy started", map[string]any{"blob": f.name, "destination": f.dest, "bytes": src.size, "copy_status": status})
		var h http.Header
		if raw != nil {
			h = raw.Header
		}
		return r.poll(ctx, f, src, status, h)
	}
}

// poll waits for an asynchronous copy, honouring Retry-After, else backing
// off 1 s → 10 s, and reports its progress in the log.
func (r *run) poll(ctx context.Context, f *inflight, src *props, status string, h http.Header) (*props, error) {
	pending := string(blob.CopyStatusTypePending)
	next, n := r.opts.Poll.Delay(0), 1
	if ra, ok := graph.RetryAfter(h, r.opts.Retry.Clock.Now()); ok {
		next, n = ra, 0
	}
	var p *props
	for status == "" || status == pending {
		if status == pending {
			if err := r.opts.Retry.Clock.Sleep(ctx, max(next, minPoll)); err != nil {
				return nil, httpx.ContextError(ctx)
			}
		}
		var err error
		p, err = r.destProperties(ctx, f.client, f.name, f.dest)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, &StorageError{Blob: f.name, Dest: f.dest, Side: Destination, Op: "copying into", Err: errors.New("the destination blob disappeared during the copy")}
		}
		status = p.copyStatus
		if status == "" {
			status = string(blob.CopyStatusTypeSuccess) // a service that reports no status has finished
		}
		r.opts.Info(ctx, "asynchronous copy in progress", map[string]any{
			"blob": f.name, "destination": f.dest, "copy_status": status, "copy_progress": scrubField(p.copyProg), "bytes": src.size,
		})
		switch status {
		case pending:
			if ra, ok := graph.RetryAfter(p.retryHeader, r.opts.Retry.Clock.Now()); ok {
				next, n = ra, 0 // the service set the pace; the backoff starts over
			} else {
				next, n = r.opts.Poll.Delay(n), n+1
			}
		case string(blob.CopyStatusTypeSuccess):
		default:
			return nil, &StorageError{Blob: f.name, Dest: f.dest, Side: Destination, Op: "copying into", Code: "copy " + status,
				Message: scrubField(firstLine(p.copyDesc))}
		}
	}
	return p, nil
}

// minPoll is the shortest wait between two polls, whatever Retry-After says.
const minPoll = 100 * time.Millisecond

func scrubField(s string) string { return strings.TrimSpace(safetext.RedactSAS(s)) }

func firstLine(s string) string { l, _, _ := strings.Cut(strings.TrimSpace(s), "\n"); return l }

// deleteIfMatch deletes a destination blob only while it is as we saw it.
func (r *run) deleteIfMatch(ctx context.Context, c *blob.Client, name, dest, etag string) error {
	return deleteIfMatch(ctx, c, name, dest, etag, r.opts)
}

func deleteIfMatch(ctx context.Context, c *blob.Client, name, dest, etag string, opts Options) error {
	e := azcore.ETag(etag)
	err := retry(ctx, opts, name, "DELETE destination", func(ctx context.Context) error {
		resp, err := c.Delete(ctx, &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &e},
		}})
		if err == nil {
			opts.Debug(ctx, "storage request", map[string]any{"op": "DELETE destination", "blob": dest, "status": 202, "request_id": deref(resp.RequestID)})
		}
		return err
	})
	if err != nil {
		return responseError(name, dest, Destination, "deleting", err)
	}
	return nil
}

// cleanup aborts the asynchronous copies still pending and deletes every
// destination blob of this run that is not complete, with a context of its
// own (the run's may be cancelled), bounded by CleanupTimeout. A blob is
// deleted only while its metadata says this run wrote it.
func (r *run) cleanup(parent context.Context, p *Partial) {
	r.mu.Lock()
	list := make([]*inflight, 0, len(r.pending))
	for _, f := range r.pending {
		list = append(list, f)
	}
	r.mu.Unlock()
	if len(list) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), r.opts.CleanupTimeout)
	defer cancel()
	opts := r.opts
	opts.Retry.MaxRetries = min(opts.Retry.MaxRetries, 2)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, f := range list {
		wg.Go(func() {
			removed, err := r.removeUnfinished(ctx, f, opts)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				p.NotRemoved = append(p.NotRemoved, f.dest)
				if p.CleanupErr == nil {
					p.CleanupErr = err
				}
			case removed:
				p.Removed = append(p.Removed, f.dest)
			}
		})
	}
	wg.Wait()
	r.opts.Info(parent, "unfinished copies removed", map[string]any{"removed": len(p.Removed), "not_removed": len(p.NotRemoved)})
}

func (r *run) removeUnfinished(ctx context.Context, f *inflight, opts Options) (bool, error) {
	p, err := headDest(ctx, f.client, f.name, f.dest, opts)
	if err != nil || p == nil {
		return false, err
	}
	if !strings.EqualFold(metaValue(p.meta, MetaManifestID), r.target.ManifestID) || normETag(metaValue(p.meta, MetaSourceETag)) != normETag(f.sourceETag) {
		return false, nil // not ours: never deleted
	}
	if p.copyStatus == string(blob.CopyStatusTypePending) {
		// The copy id from the HEAD: the Copy Blob request may have been
		// cut off before its answer arrived.
		r.mu.Lock()
		copyID := f.copyID
		r.mu.Unlock()
		if p.copyID != "" {
			copyID = p.copyID
		}
		_, err := f.client.AbortCopyFromURL(ctx, copyID, nil)
		if err != nil && statusOf(err) != http.StatusConflict { // 409 NoPendingCopyOperation: it ended meanwhile
			return false, responseError(f.name, f.dest, Destination, "aborting the copy into", err)
		}
		opts.Debug(ctx, "storage request", map[string]any{"op": "Abort Copy", "blob": f.dest})
		if p, err = headDest(ctx, f.client, f.name, f.dest, opts); err != nil || p == nil {
			return false, err
		}
	}
	if err := deleteIfMatch(ctx, f.client, f.name, f.dest, p.etag, opts); err != nil {
		return false, err
	}
	return true, nil
}

func etagPtr(s string) *azcore.ETag {
	if s == "" {
		return nil
	}
	e := azcore.ETag(s)
	return &e
}

func ifNoneMatchAny() *blob.AccessConditions {
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to(azcore.ETagAny)}}
}

func to[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
