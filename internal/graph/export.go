package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// ExportRequest is one call that starts an export: the kind decides the path
// and the body's fields.
type ExportRequest struct {
	// Path under /{API}/reports/partners/billing/, e.g. "usage/billed/export".
	Path string
	// API is where the export lives: V1 ("" too) or Beta (a preview kind).
	API API
	// Body is sent as a JSON object of strings, e.g.
	// {"invoiceId": "G000000001", "attributeSet": "full"}.
	Body map[string]string
}

// StartedExport is what the 202 of an export call said.
type StartedExport struct {
	OperationID string        // from the Location header's last segment (or the body's id)
	RetryAfter  time.Duration // the 202's Retry-After; 0 when absent
	RequestID   string        // request-id of the 202
	Elapsed     time.Duration // how long the start took, on the client's clock
}

// exportPathRE is what an export path may look like: it goes into the
// request path as is.
var exportPathRE = regexp.MustCompile(`^[A-Za-z]+(/[A-Za-z]+)*$`)

// StartExport sends the POST that starts an export and returns the id of the
// operation it created, taken from the absolute Location header of the 202
// (never called: only its last path segment is kept, validated like any id),
// or from the body's id when Location is missing or unusable.
//
// The status line and headers decide: a 2xx whose Location names the
// operation has started the export, and its id is returned whatever the
// body does (it is waited on at most 5 s and never read past the size cap;
// one that stalls, is cut or is too large is ignored).
//
// Starting an export is not idempotent. The POST is retried only when the
// service refused it (429, 503, honouring Retry-After) or when the
// connection failed before the request was sent. After an ambiguous failure
// (a reset or timeout once the request went out, 408, 500, 502, 504, an
// interrupt while the request was under way) it is not sent again and the
// error is an *AmbiguousStartError. timeout bounds the whole call (0: only
// ctx does).
func (c *Client) StartExport(ctx context.Context, req ExportRequest, timeout time.Duration) (*StartedExport, error) {
	if !exportPathRE.MatchString(req.Path) {
		return nil, fmt.Errorf("invalid export path %q", req.Path)
	}
	body, err := json.Marshal(req.Body)
	if err != nil {
		return nil, fmt.Errorf("encoding the export request: %w", err)
	}
	start := c.clock.Now()
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	p := &payload{body: body}
	resp, err := c.do(ctx, http.MethodPost, req.API.billingPath()+req.Path, deadline, p)
	if err != nil {
		return nil, startError(req.API.billingPath()+req.Path, p, err)
	}
	started := &StartedExport{RequestID: resp.header.Get("request-id")}
	// The headers decide: a usable Location is the export's id, whatever
	// the body did (the client waited on it a few seconds at most).
	started.OperationID = idFromURL(resp.header.Get("Location"))
	if started.OperationID == "" {
		started.OperationID = idFromBody(resp.body)
	}
	if started.OperationID == "" {
		loc := resp.header.Get("Location")
		reason := "no Location header"
		if loc != "" {
			reason = fmt.Sprintf("a Location header without an operation id (%.200q)", loc)
		}
		if resp.bodyErr != nil {
			reason += fmt.Sprintf(", and the body could not be read (%v)", resp.bodyErr)
		} else {
			reason += " and no id in the body"
		}
		return nil, &AmbiguousStartError{
			Path: req.API.billingPath() + req.Path, Accepted: true, StatusCode: resp.status, Reason: reason,
			RequestID: started.RequestID, ClientRequestID: p.clientRequestID,
		}
	}
	if d, ok := parseRetryAfter(resp.header, c.clock.Now()); ok {
		started.RetryAfter = d
	}
	started.Elapsed = c.clock.Now().Sub(start)
	fields := map[string]any{
		"path": resp.path, "status": resp.status, "operation_id": started.OperationID,
		"request_id": started.RequestID, "retry_after": started.RetryAfter.String(),
	}
	if resp.bodyErr != nil {
		fields["body_ignored"] = resp.bodyErr.Error()
	}
	c.log(ctx, "export started", fields)
	return started, nil
}

// idFromBody reads the id of a 202 body (the CSDL return type is an
// operation); anything unreadable is no id.
func idFromBody(body []byte) string {
	var w struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &w) != nil {
		return ""
	}
	id, _ := scalarString(w.ID)
	if !ValidID(id) {
		return ""
	}
	return id
}

// startError classifies a failed export call: an ambiguous one (the export
// may have started) becomes an *AmbiguousStartError; a refusal is returned as is.
func startError(path string, p *payload, err error) error {
	// (A 2xx is never an error here: the client hands it to StartExport
	// whatever its body did.)
	var ge *Error
	switch {
	case p.unanswered:
		return &AmbiguousStartError{Path: path, ClientRequestID: p.clientRequestID, Err: err,
			Reason: "the request went out but no answer came back"}
	case errors.As(err, &ge) && ambiguousStatus(ge.StatusCode):
		return &AmbiguousStartError{Path: path, StatusCode: ge.StatusCode, RequestID: ge.RequestID,
			ClientRequestID: ge.ClientRequestID, Err: err, Reason: "Microsoft Graph answered with a server error"}
	}
	return err
}

// ambiguousStatus is an answer after which an export may have started.
func ambiguousStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ErrExportMayHaveStarted is matched (errors.Is) by *AmbiguousStartError.
var ErrExportMayHaveStarted = errors.New("the export may have started")

// AmbiguousStartError reports an export call whose outcome is unknown: the
// export may have started (Accepted: it did, but its operation id is
// unknown). It was not sent again, so that one apply never starts the same
// export twice.
type AmbiguousStartError struct {
	Path            string // e.g. "/v1.0/reports/partners/billing/usage/billed/export"
	Accepted        bool   // the service answered 2xx without a usable operation id
	StatusCode      int    // 0 when no status was received
	Reason          string
	RequestID       string
	ClientRequestID string
	Err             error // the failure, when there was one
}

func (e *AmbiguousStartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s: ", e.Path)
	if e.Accepted {
		fmt.Fprintf(&b, "the export was accepted (HTTP %d) but the answer named no operation: %s", e.StatusCode, e.Reason)
	} else {
		fmt.Fprintf(&b, "the export may have started: %s, and the request was not sent again (starting an export is not idempotent)", e.Reason)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if ids := requestIDs(e.RequestID, e.ClientRequestID); ids != "" && (e.Err == nil || !strings.Contains(e.Err.Error(), ids)) {
		b.WriteString(" (" + ids + ")")
	}
	return b.String()
}

// Is matches ErrExportMayHaveStarted.
func (e *AmbiguousStartError) Is(target error) bool { return target == ErrExportMayHaveStarted }

func (e *AmbiguousStartError) Unwrap() error { return e.Err }

func requestIDs(requestID, clientRequestID string) string {
	var parts []string
	if requestID != "" {
		parts = append(parts, "request-id: "+requestID)
	}
	if clientRequestID != "" {
		parts = append(parts, "client-request-id: "+clientRequestID)
	}
	return strings.Join(parts, ", ")
}

// payload is the JSON body of a request that must not run twice (starting
// an export) and the state of its attempts. It is retried only when the
// service refused it (429, 503) or the request was never sent; nil means an
// idempotent request without a body, retried as usual.
type payload struct {
	body            []byte
	unanswered      bool   // the last attempt's request went out and no answer came back
	clientRequestID string // of the last attempt
}

func (p *payload) begin() {
	if p != nil {
		p.unanswered = false
	}
}

func (p *payload) noAnswer(sent bool) {
	if p != nil {
		p.unanswered = sent
	}
}

func (p *payload) retryable(err error) bool {
	if p == nil {
		return retryable(err)
	}
	var te *transportError
	if errors.As(err, &te) {
		return !te.sent
	}
	var ge *Error
	return errors.As(err, &ge) && (ge.StatusCode == http.StatusTooManyRequests || ge.StatusCode == http.StatusServiceUnavailable)
}

// WithAcceptedBodyWait sets how long the body of an export's 2xx answer is
// waited on once its headers are in (default 5 s; tests shorten it).
func WithAcceptedBodyWait(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("accepted body wait must be positive, got %s", d)
		}
		c.acceptedWait = d
		return nil
	}
}

// readAcceptedBody reads the body of an export's 2xx answer, waiting for it
// at most acceptedWait once the headers are in (then stop ends the request)
// and never reading past the size cap.
func (c *Client) readAcceptedBody(body io.Reader, stop context.CancelFunc) ([]byte, error) {
	var late atomic.Bool
	t := time.AfterFunc(c.acceptedWait, func() { late.Store(true); stop() })
	defer t.Stop()
	b, tooLarge, err := httpx.ReadCapped(body, c.maxBodyBytes)
	switch {
	case late.Load():
		// Checked first: a body cut off by the wait can read as a clean EOF.
		return nil, fmt.Errorf("the body did not arrive within %s of the headers", c.acceptedWait)
	case err != nil:
		return nil, fmt.Errorf("reading the body: %s", httpx.RedactURLError(err))
	case tooLarge:
		return nil, fmt.Errorf("the body exceeds %d bytes", c.maxBodyBytes)
	}
	return b, nil
}

func (r *response) decodeError(err error) error {
	return &DecodeError{
		Method: r.method, Path: r.path, StatusCode: r.status,
		ContentType: r.header.Get("Content-Type"), RequestID: r.header.Get("request-id"), Err: err,
	}
}
