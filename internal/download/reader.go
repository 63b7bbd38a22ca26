package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// blobReader is the raw bytes of one blob, read from as many GETs as it
// takes: a body cut short, reset or stalled is resumed with a Range request
// from the byte where it stopped (If-Match the blob's ETag), after the
// policy's wait.
type blobReader struct {
	d      *downloader
	ctx    context.Context
	name   string
	client *blob.Client
	gen    int // the SAS generation client was built with

	body   io.ReadCloser
	reqCtx context.Context         // of the current request: its cause says whether the watchdog fired
	cancel context.CancelCauseFunc // of the current request
	timer  *time.Timer             // the stall watchdog of the current request

	offset  int64 // raw bytes delivered so far
	total   int64 // the blob's size; -1 until known
	md5     []byte
	etag    *azcore.ETag
	retries int // used of the blob's budget, restarts included
}

var errStalled = errors.New("stalled")

func (r *blobReader) restart() {
	r.closeBody()
	r.offset, r.total, r.md5, r.etag = 0, -1, nil, nil
}

func (r *blobReader) closeBody() {
	if r.body != nil {
		_ = r.body.Close()
		r.body = nil
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.cancel != nil {
		r.cancel(nil)
		r.cancel = nil
	}
	r.reqCtx = nil
}

func (r *blobReader) stallTimeout() time.Duration { return r.d.opts.StallTimeout }

func (r *blobReader) Read(p []byte) (int, error) {
	for {
		if r.body == nil {
			if r.total >= 0 && r.offset >= r.total {
				return 0, io.EOF
			}
			if err := r.open(); err != nil {
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.offset += int64(n)
		if n > 0 {
			r.timer.Reset(r.stallTimeout())
		}
		if err == nil {
			return n, nil
		}
		stalled := r.reqCtx != nil && errors.Is(context.Cause(r.reqCtx), errStalled)
		r.closeBody()
		if errors.Is(err, io.EOF) && (r.total < 0 || r.offset == r.total) {
			return n, io.EOF
		}
		if r.ctx.Err() != nil {
			return n, httpx.ContextError(r.ctx)
		}
		cause := fmt.Errorf("the body stopped after %d of %d bytes: %s", r.offset, r.total, transportText(err))
		if stalled {
			cause = fmt.Errorf("no data arrived for %s after %d of %d bytes", r.stallTimeout(), r.offset, r.total)
		}
		if werr := r.wait(cause, nil); werr != nil {
			return n, werr
		}
		if n > 0 {
			return n, nil
		}
	}
}

// open sends the GET of the rest of the blob, retrying failures by the
// policy and renewing an expired SAS once.
func (r *blobReader) open() error {
	for {
		m, gen := r.d.sas.Current()
		if r.client == nil || gen != r.gen {
			c, err := r.d.newClient(m, r.name)
			if err != nil {
				return err
			}
			r.client, r.gen = c, gen
		}
		actx, cancel := context.WithCancelCause(r.ctx)
		timer := time.AfterFunc(r.stallTimeout(), func() { cancel(errStalled) })
		opts := &blob.DownloadStreamOptions{}
		if r.offset > 0 {
			opts.Range = blob.HTTPRange{Offset: r.offset}
			if r.etag != nil {
				opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: r.etag}}
			}
		}
		resp, err := r.client.DownloadStream(actx, opts)
		if err == nil {
			r.body, r.reqCtx, r.cancel, r.timer = resp.Body, actx, cancel, timer
			if aerr := r.accept(resp); aerr != nil {
				r.closeBody()
				return aerr
			}
			r.d.opts.Log(r.ctx, "blob request", map[string]any{
				"blob": r.name, "status": statusOf(resp), "offset": r.offset, "attempt": r.retries + 1,
				"request_id": safetext.NoSecrets(deref(resp.RequestID)),
			})
			return nil
		}
		stalled := errors.Is(context.Cause(actx), errStalled)
		timer.Stop()
		cancel(nil)
		if r.ctx.Err() != nil {
			return httpx.ContextError(r.ctx)
		}
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			be := responseError(r.name, re)
			r.d.opts.Log(r.ctx, "blob request", map[string]any{
				"blob": r.name, "status": re.StatusCode, "code": be.Code, "offset": r.offset, "attempt": r.retries + 1, "request_id": be.RequestID,
			})
			switch {
			case re.StatusCode == http.StatusForbidden && sasExpired(be, m):
				if _, _, rerr := r.d.sas.Renew(r.ctx, gen); rerr != nil {
					be.Err = rerr
					return be
				}
				r.d.opts.Log(r.ctx, "the SAS token had expired; read the manifest again for a fresh one", map[string]any{"blob": r.name})
				continue
			case re.StatusCode == http.StatusPreconditionFailed && r.offset > 0:
				return &restartError{errors.New("the blob changed while it was being downloaded")}
			case graph.RetryableStatus(re.StatusCode):
				var h http.Header
				if re.RawResponse != nil {
					h = re.RawResponse.Header
				}
				if werr := r.wait(be, h); werr != nil {
					return werr
				}
				continue
			}
			return be
		}
		cause := errors.New(transportText(err))
		if stalled {
			cause = fmt.Errorf("no response within %s", r.stallTimeout())
		}
		if werr := r.wait(cause, nil); werr != nil {
			return werr
		}
	}
}

// accept checks a 200 or 206 against what is known of the blob. A 200 to
// a Range request (a service that ignores ranges) is read past the bytes
// already delivered.
func (r *blobReader) accept(resp blob.DownloadStreamResponse) error {
	if resp.ETag != nil && r.etag == nil {
		r.etag = resp.ETag
	}
	if r.md5 == nil {
		r.md5 = resp.ContentMD5
		if r.offset > 0 || resp.ContentRange != nil {
			r.md5 = resp.BlobContentMD5
		}
	}
	if resp.ContentRange == nil {
		if resp.ContentLength != nil {
			if r.total >= 0 && *resp.ContentLength != r.total {
				return &restartError{errors.New("the blob's size changed while it was being downloaded")}
			}
			r.total = *resp.ContentLength
		}
		if r.offset > 0 {
			if _, err := io.CopyN(io.Discard, r.body, r.offset); err != nil {
				return &restartError{fmt.Errorf("skipping the bytes already received: %s", transportText(err))}
			}
		}
		return nil
	}
	first, total, ok := parseContentRange(*resp.ContentRange)
	if !ok || first != r.offset || (r.total >= 0 && total >= 0 && total != r.total) {
		return &restartError{fmt.Errorf("the blob service answered range %q to a request from byte %d", *resp.ContentRange, r.offset)}
	}
	if total >= 0 {
		r.total = total
	}
	return nil
}

var contentRangeRE = regexp.MustCompile(`^bytes (\d+)-(\d+)/(\d+|\*)$`)

// parseContentRange reads "bytes first-last/total"; total is -1 for "*".
func parseContentRange(v string) (first, total int64, ok bool) {
	m := contentRangeRE.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, 0, false
	}
	first, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if m[3] != "*" {
		if total, err = strconv.ParseInt(m[3], 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return first, total, true
}

// wait spends one retry of the blob's budget: it sleeps Retry-After (from
// h) or the policy's backoff, and fails when the budget is spent or the
// wait would pass ctx's deadline.
func (r *blobReader) wait(cause error, h http.Header) error {
	pol := r.d.opts.Retry
	if r.retries >= pol.MaxRetries {
		var be *BlobError
		if errors.As(cause, &be) {
			be.Err = fmt.Errorf("giving up after %s", attempts(r.retries+1))
			return be
		}
		return &BlobError{Name: r.name, Err: fmt.Errorf("giving up after %s: %w", attempts(r.retries+1), cause)}
	}
	delay := pol.Backoff.Delay(r.retries)
	if ra, ok := graph.RetryAfter(h, pol.Clock.Now()); ok {
		delay = ra
	}
	delay = max(delay, pol.MinInterval)
	if dl, ok := r.ctx.Deadline(); ok && time.Until(dl) < delay {
		return &BlobError{Name: r.name, Err: fmt.Errorf("a retry in %s would pass the deadline (last error: %w)", delay.Round(time.Millisecond), cause)}
	}
	r.retries++
	r.d.opts.Log(r.ctx, "retrying blob download", map[string]any{
		"blob": r.name, "attempt": r.retries, "wait": delay.String(), "offset": r.offset, "reason": cause.Error(),
	})
	if err := pol.Clock.Sleep(r.ctx, delay); err != nil {
		return httpx.ContextError(r.ctx)
	}
	return nil
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func statusOf(resp blob.DownloadStreamResponse) int {
	if resp.ContentRange != nil {
		return http.StatusPartialContent
	}
	return http.StatusOK
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
