package download

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5" //nolint:gosec // Content-MD5 is the blob service's integrity header, not a security measure
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// DefaultStallTimeout ends a blob request from which no byte arrived for
// that long (headers or body); it is retried, resumed where it stopped.
const DefaultStallTimeout = 60 * time.Second

// copyBufferSize is the one buffer each blob streams through: memory stays
// bounded whatever the blob's size.
const copyBufferSize = 256 << 10

// BlobError is a blob that could not be downloaded complete. It names the
// blob, never its URL or the SAS token.
type BlobError struct {
	Name       string
	StatusCode int    // the blob service's HTTP status; 0 when none was received
	Code       string // x-ms-error-code, sanitised
	Message    string // the service's message (first line), sanitised
	RequestID  string // x-ms-request-id
	Err        error  // what went wrong otherwise (a cut body, corrupt gzip, a file error)
}

func (e *BlobError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "blob %q: ", e.Name)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		if e.RequestID != "" {
			b.WriteString(" (x-ms-request-id " + e.RequestID + ")")
		}
		if e.Err != nil {
			b.WriteString("; ")
		}
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *BlobError) Unwrap() error { return e.Err }

// restartError is content that arrived whole but is wrong (corrupt gzip, an
// MD5 mismatch, a blob that changed under a resume): the blob is downloaded
// again from its first byte, within the same retry budget.
type restartError struct{ cause error }

func (e *restartError) Error() string { return e.cause.Error() }
func (e *restartError) Unwrap() error { return e.cause }

// fileError is a failure of the local file system: never retried.
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// fileWriter tags its errors as the file's, so that a full disk is not
// taken for a broken download.
type fileWriter struct{ f *os.File }

func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = &fileError{err}
	}
	return n, err
}

// checkRoot accepts an https directory URL only: the SAS token must never
// travel in clear text.
func checkRoot(root string) error {
	u, err := url.Parse(root)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("the manifest's rootDirectory %q is not an https blob directory URL: the SAS token is sent to https only",
			safetext.Field(httpx.RedactURL(root)))
	}
	return nil
}

// blobHTTPClient is h (or a client with the system roots and enough idle
// connections for MaxConcurrency blobs) that never follows a redirect.
func blobHTTPClient(h *http.Client) *http.Client {
	if h == nil {
		t := http.DefaultTransport.(*http.Transport).Clone() //nolint:forcetypeassert // the standard library's documented type
		t.MaxIdleConnsPerHost = MaxConcurrency
		h = &http.Client{Transport: t}
	}
	return httpx.NoRedirects(h)
}

// newClient builds the azblob client of one blob with the current SAS: the
// one place the token is unwrapped. The SDK's own retries are off; ours
// resume where a body stopped.
func (d *downloader) newClient(m *graph.Manifest, name string) (*blob.Client, error) {
	c, err := blob.NewClientWithNoCredential(m.BlobURL(name).Reveal(), &blob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: d.http,
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{ApplicationID: "partnerbilling"},
	}})
	if err != nil {
		return nil, &BlobError{Name: name, Err: errors.New("building the blob client: " + scrub(err.Error()))}
	}
	return c, nil
}

// fetch downloads one blob to its place, downloading it again from the
// start when what arrived whole is wrong, within the blob's retry budget.
func (d *downloader) fetch(ctx context.Context, name, local string) (File, error) {
	if dir := path.Dir(local); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return File{}, &BlobError{Name: name, Err: fmt.Errorf("creating its folder: %w", err)}
		}
	}
	r := &blobReader{d: d, ctx: ctx, name: name, total: -1}
	defer r.closeBody()
	for {
		f, err := d.write(r, local)
		if err == nil {
			return f, nil
		}
		var fe *fileError
		if errors.As(err, &fe) {
			return File{}, &BlobError{Name: name, Err: fmt.Errorf("writing %s: %w", local, fe.err)}
		}
		var re *restartError
		if !errors.As(err, &re) {
			return File{}, err
		}
		if werr := r.wait(re.cause, nil); werr != nil {
			return File{}, werr
		}
		r.restart()
	}
}

// write streams the blob through r into a temporary file beside local and
// renames it into place once it is whole and verified.
func (d *downloader) write(r *blobReader, local string) (File, error) {
	tmp, err := tempName(local)
	if err != nil {
		return File{}, &fileError{err}
	}
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return File{}, &fileError{err}
	}
	placed := false
	defer func() {
		if !placed {
			_ = f.Close()
			_ = d.root.Remove(tmp)
		}
	}()
	sum, contentMD5, rows := sha256.New(), md5.New(), &rowCounter{} //nolint:gosec // see the import
	size := &countWriter{}
	buf := make([]byte, copyBufferSize)
	var raw io.Reader
	var out io.Writer
	if d.opts.Decompress {
		raw = io.TeeReader(r, contentMD5)
		out = io.MultiWriter(fileWriter{f}, sum, size, rows)
	} else {
		raw = io.TeeReader(r, io.MultiWriter(contentMD5, fileWriter{f}, sum, size))
		out = rows
	}
	zr, err := gzip.NewReader(raw)
	if err == nil {
		// Streamed through buf to a file, never into memory: a large (or
		// hostile) expansion costs disk, not RSS.
		_, err = io.CopyBuffer(out, zr, buf) //nolint:gosec // G110: see above
	}
	if err != nil {
		return File{}, r.classify(err)
	}
	if r.total >= 0 && r.offset != r.total {
		return File{}, &restartError{fmt.Errorf("%d bytes arrived, the blob service announced %d", r.offset, r.total)}
	}
	if r.md5 != nil && !bytes.Equal(contentMD5.Sum(nil), r.md5) {
		return File{}, &restartError{errors.New("its content does not match the Content-MD5 the blob service sent")}
	}
	if err := f.Sync(); err != nil {
		return File{}, &fileError{err}
	}
	if err := f.Close(); err != nil {
		return File{}, &fileError{err}
	}
	if err := d.root.Rename(tmp, local); err != nil {
		return File{}, &fileError{err}
	}
	placed = true
	fi, err := d.root.Stat(local)
	if err != nil {
		return File{}, &fileError{err}
	}
	d.opts.Log(r.ctx, "blob downloaded", map[string]any{
		"blob": r.name, "file": local, "bytes": size.n, "rows": rows.total(), "retries": r.retries,
	})
	return File{
		Name: r.name, Local: local, Path: Path(d.dir, local), Size: size.n,
		SHA256: hex.EncodeToString(sum.Sum(nil)), Rows: rows.total(), ModTime: fi.ModTime(),
	}, nil
}

// classify turns what stopped the copy into a BlobError, a file error, or
// a restart (content that is not whole gzip).
func (r *blobReader) classify(err error) error {
	var be *BlobError
	var fe *fileError
	switch {
	case errors.As(err, &be), errors.As(err, &fe):
		return err
	case r.ctx.Err() != nil:
		return ctxErr(r.ctx)
	}
	// Everything else came from decoding: a gzip header, checksum or
	// deflate error, or the content ending inside the gzip stream.
	return &restartError{fmt.Errorf("its content is not complete gzip: %w", err)}
}

func tempName(local string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	dir, base := path.Split(local)
	return dir + "." + base + ".partnerbilling-" + hex.EncodeToString(b[:]) + ".tmp", nil
}

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
			return n, ctxErr(r.ctx)
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
		m, gen := r.d.sas.current()
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
				"request_id": deref(resp.RequestID),
			})
			return nil
		}
		stalled := errors.Is(context.Cause(actx), errStalled)
		timer.Stop()
		cancel(nil)
		if r.ctx.Err() != nil {
			return ctxErr(r.ctx)
		}
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			be := responseError(r.name, re)
			r.d.opts.Log(r.ctx, "blob request", map[string]any{
				"blob": r.name, "status": re.StatusCode, "code": be.Code, "offset": r.offset, "attempt": r.retries + 1, "request_id": be.RequestID,
			})
			switch {
			case re.StatusCode == http.StatusForbidden && sasExpired(be, m):
				if _, _, rerr := r.d.sas.renew(r.ctx, gen); rerr != nil {
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
		return ctxErr(r.ctx)
	}
	return nil
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// responseError is the blob service's error answer as a BlobError: status,
// x-ms-error-code and the first line of the XML message, sanitised.
func responseError(name string, re *azcore.ResponseError) *BlobError {
	be := &BlobError{Name: name, StatusCode: re.StatusCode, Code: safetext.Field(re.ErrorCode)}
	if re.RawResponse == nil {
		return be
	}
	be.RequestID = safetext.Field(re.RawResponse.Header.Get("x-ms-request-id"))
	body, err := runtime.Payload(re.RawResponse)
	if err != nil || len(body) == 0 {
		return be
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &x) == nil {
		if be.Code == "" {
			be.Code = safetext.Field(x.Code)
		}
		msg, _, _ := strings.Cut(strings.TrimSpace(x.Message), "\n")
		be.Message = safetext.Field(scrub(msg))
	}
	return be
}

// sasExpired: a 403 that says the SAS no longer holds (AuthenticationFailed,
// which Azure answers to an expired or mis-signed token, or a message about
// expiry or the signature), or a token whose se= has passed.
func sasExpired(be *BlobError, m *graph.Manifest) bool {
	msg := strings.ToLower(be.Message)
	if be.Code == "AuthenticationFailed" || strings.Contains(msg, "expir") || strings.Contains(msg, "signature") {
		return true
	}
	if se, ok := graph.SASExpiry(m.SASToken); ok {
		if t, err := time.Parse(time.RFC3339Nano, se); err == nil && !time.Now().Before(t) {
			return true
		}
	}
	return false
}

var (
	queryRE = regexp.MustCompile(`\?[^\s"'<>]*`)
	sigRE   = regexp.MustCompile(`(?i)\bsig=[^&\s"'<>]*`)
)

// scrub removes anything that looks like a query string or a signature
// from text that may echo a URL: no SAS survives into an error.
func scrub(s string) string {
	s = queryRE.ReplaceAllString(s, "?[redacted]")
	return sigRE.ReplaceAllString(s, "sig=[redacted]")
}

// transportText is a transport error without its URL (it holds the SAS).
func transportText(err error) string { return scrub(httpx.RedactURLError(err)) }

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

// rowCounter counts JSON Lines rows: non-empty lines (a lone "\r" is empty),
// the last one with or without its newline.
type rowCounter struct {
	rows   int64
	inLine bool
}

func (c *rowCounter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if !c.inLine && len(bytes.Trim(seg, "\r")) > 0 {
			c.inLine = true
		}
		if i < 0 {
			break
		}
		if c.inLine {
			c.rows++
		}
		c.inLine = false
		p = p[i+1:]
	}
	return n, nil
}

func (c *rowCounter) total() int64 {
	if c.inLine {
		return c.rows + 1
	}
	return c.rows
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// ctxErr is why ctx ended: its error (context.Canceled or
// DeadlineExceeded, for errors.Is) with its cause when that says more
// ("interrupted (Ctrl-C)").
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if c := context.Cause(ctx); c != nil && !errors.Is(c, err) {
		return fmt.Errorf("%w: %w", c, err)
	}
	return err
}
