package partnercenter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// response is one answered GET.
type response struct {
	path          string
	status        int
	header        http.Header
	body          []byte
	requestID     string // MS-RequestId sent
	correlationID string // MS-CorrelationId sent
}

// read carries what one listing shares across its requests.
type read struct {
	correlationID string
	deadline      time.Time
	budget        time.Duration // the read budget when it is the deadline, else 0
	outer         context.Context
}

// get sends one GET of rel (path and query under the endpoint) with
// retries: transport errors and the retryable statuses (httpx) are retried
// up to MaxRetries times, honouring Retry-After, never sleeping past the
// deadline; a 401 invalidates the token and retries once.
func (c *Client) get(ctx context.Context, rd *read, rel string) (*response, error) {
	refreshed := false
	var lastErr error
	var lastStart time.Time
	clk := c.retry.Clock
	for attempt := 1; ; attempt++ {
		if !lastStart.IsZero() {
			if gap := c.retry.MinInterval - clk.Now().Sub(lastStart); gap > 0 {
				if err := clk.Sleep(ctx, gap); err != nil {
					return nil, c.ended(ctx, rd, lastErr)
				}
			}
		}
		lastStart = clk.Now()
		resp, err := c.attempt(ctx, rd, rel, attempt)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, c.ended(ctx, rd, lastErr)
		}
		var pe *Error
		isPE := errors.As(err, &pe)
		if isPE && pe.StatusCode == http.StatusUnauthorized && !refreshed {
			refreshed = true
			attempt--
			continue
		}
		if !retryable(err) {
			return nil, err
		}
		lastErr = err
		if attempt > c.retry.MaxRetries {
			return nil, fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		wait := c.retry.Backoff.Delay(attempt - 1)
		fromService := isPE && pe.hasRetryAfter
		if fromService {
			wait = pe.RetryAfter
		}
		wait = max(wait, c.retry.MinInterval)
		if remaining := rd.deadline.Sub(clk.Now()); wait > remaining {
			return nil, &deadlineError{wait: wait, remaining: remaining, fromService: fromService, budget: rd.budget, last: err}
		}
		c.log(ctx, "retrying Partner Center request", map[string]any{
			"method": http.MethodGet, "path": rel, "attempt": attempt, "wait": wait.String(), "reason": err.Error(),
		})
		if err := clk.Sleep(ctx, wait); err != nil {
			if rd.outer.Err() != nil {
				return nil, fmt.Errorf("%w while waiting to retry (last error: %w)", err, lastErr)
			}
			return nil, c.ended(ctx, rd, lastErr)
		}
	}
}

// ended explains why a request stopped because ctx ended: the caller's
// context or the read budget.
func (c *Client) ended(ctx context.Context, rd *read, lastErr error) error {
	if rd.outer.Err() != nil || rd.budget == 0 {
		if lastErr != nil {
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), lastErr)
		}
		return ctx.Err()
	}
	return &budgetError{budget: rd.budget, last: lastErr}
}

// transportError is a failure before any HTTP status was received.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var pe *Error
	return errors.As(err, &pe) && httpx.RetryableStatus(pe.StatusCode)
}

func (c *Client) attempt(ctx context.Context, rd *read, rel string, attempt int) (*response, error) {
	token, err := c.tokens.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthentication, err)
	}
	actx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	// The URL is the configured endpoint and a path this package checked:
	// no host from a response is ever called (SPEC §4.7).
	target := c.base.String() + rel
	req, err := http.NewRequestWithContext(actx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	reqID := newGUID()
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("MS-RequestId", reqID)
	req.Header.Set("MS-CorrelationId", rd.correlationID)
	req.Header.Set("User-Agent", c.userAgent)

	start := c.retry.Clock.Now()
	res, err := c.http.Do(req)
	if err != nil {
		c.log(ctx, "Partner Center request failed", map[string]any{
			"method": http.MethodGet, "path": rel, "attempt": attempt, "ms_request_id": reqID,
			"ms_correlation_id": rd.correlationID, "error": httpx.RedactURLError(err),
		})
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if actx.Err() != nil {
			return nil, &transportError{err: fmt.Errorf("GET %s: no response within %s", rel, c.requestTimeout)}
		}
		if tlsErr := httpx.CertificateError(err); tlsErr != nil {
			return nil, fmt.Errorf("GET %s: the TLS certificate of %s is not trusted (the system roots, SSL_CERT_FILE and SSL_CERT_DIR decide): %w",
				rel, c.base.Host, tlsErr)
		}
		return nil, &transportError{err: fmt.Errorf("GET %s: %s", rel, httpx.RedactURLError(err))}
	}
	defer res.Body.Close()
	body, tooLarge, readErr := httpx.ReadCapped(res.Body, c.maxBodyBytes)
	// .NET services may start a JSON body with a UTF-8 byte order mark,
	// which RFC 8259 §8.1 lets a parser ignore; encoding/json does not.
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	// A body cut off by the attempt's deadline can read as a clean EOF.
	if readErr == nil && actx.Err() != nil {
		readErr = fmt.Errorf("the body stopped arriving: %w", actx.Err())
	}
	r := &response{path: rel, status: res.StatusCode, header: res.Header, body: body, requestID: reqID, correlationID: rd.correlationID}
	c.log(ctx, "Partner Center request", map[string]any{
		"method": http.MethodGet, "path": rel, "status": res.StatusCode,
		"ms_request_id": res.Header.Get("MS-RequestId"), "ms_correlation_id": res.Header.Get("MS-CorrelationId"),
		"attempt": attempt, "duration": c.retry.Clock.Now().Sub(start).String(),
	})
	if readErr != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if actx.Err() != nil {
			return nil, &transportError{err: fmt.Errorf("GET %s: HTTP %d, but the body stopped arriving: no complete response within %s", rel, res.StatusCode, c.requestTimeout)}
		}
		return nil, &transportError{err: fmt.Errorf("GET %s: reading response body: %w", rel, readErr)}
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if tooLarge {
			return nil, r.decodeError(fmt.Errorf("response body exceeds %d bytes", c.maxBodyBytes))
		}
		return r, nil
	}
	if tooLarge {
		body = nil // an error status still counts; its oversized body is not read
	}
	pe := &Error{
		Method: http.MethodGet, Path: rel, StatusCode: res.StatusCode,
		RequestID: res.Header.Get("MS-RequestId"), CorrelationID: res.Header.Get("MS-CorrelationId"),
		SentRequestID: reqID, SentCorrelationID: rd.correlationID,
	}
	pe.RetryAfter, pe.hasRetryAfter = httpx.RetryAfter(res.Header, c.retry.Clock.Now())
	pe.Code, pe.Description = decodeError(body)
	if res.StatusCode == http.StatusUnauthorized {
		c.tokens.Invalidate(token)
	}
	return nil, pe
}

func (r *response) decodeError(err error) error {
	return &DecodeError{
		Path: r.path, StatusCode: r.status, ContentType: r.header.Get("Content-Type"),
		RequestID: r.header.Get("MS-RequestId"), CorrelationID: r.header.Get("MS-CorrelationId"), Err: err,
	}
}
