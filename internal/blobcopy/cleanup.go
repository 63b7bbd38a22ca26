package blobcopy

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

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
