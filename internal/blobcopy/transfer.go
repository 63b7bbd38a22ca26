package blobcopy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

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
			if rerr := r.renew(ctx, gen, r.sourceRefusal(f, err)); rerr != nil {
				return rerr
			}
			continue
		}
		if alreadyThere(err) {
			return errAlreadyThere
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

// errAlreadyThere: the copy request was refused because a blob is at the
// destination name (If-None-Match: *), though the HEAD before found none:
// a retried request whose first attempt went through, or another writer.
var errAlreadyThere = errors.New("a blob appeared at the destination name before the copy")

// existing decides about the blob a copy request found in its place: this
// copy's own (its metadata names this manifest and source version; a
// pending copy is polled, a finished one verified by the caller), or
// somebody else's, which is never touched (ExistsError).
func (r *run) existing(ctx context.Context, f *inflight, src *props, out Blob) (*props, error) {
	p, err := r.destProperties(ctx, f.client, f.name, f.dest)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, &StorageError{Blob: f.name, Dest: f.dest, Side: Destination, Op: "copying into",
			Err: errors.New("the service said the blob exists, then that it does not")}
	}
	if why := r.notOurs(p, src); why != "" {
		r.untrack(f.dest)
		return nil, &ExistsError{Blob: out.Name, Dest: out.Dest, URL: out.URL, Reason: why + "; it was written after this copy began"}
	}
	if p.copyStatus == string(blob.CopyStatusTypePending) {
		r.mu.Lock()
		f.copyID = p.copyID
		r.mu.Unlock()
		return r.poll(ctx, f, src, p.copyStatus, p.retryHeader)
	}
	return p, nil
}

// sourceRefusal is a copy request's refusal by the source (its SAS).
func (r *run) sourceRefusal(f *inflight, err error) *StorageError {
	return responseError(f.name, f.dest, Source, "copying from", err)
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
				if rerr := r.renew(ctx, gen, r.sourceRefusal(f, err)); rerr != nil {
					return nil, rerr
				}
				continue
			}
			if alreadyThere(err) {
				return nil, errAlreadyThere
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
