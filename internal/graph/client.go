// Package graph is a thin client for the Microsoft Graph partner-billing API:
// URLs, JSON, typed errors, retries and polling. It knows nothing of Terraform.
package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// TokenSource hands out bearer tokens for Microsoft Graph.
type TokenSource interface {
	// Token returns a valid access token, acquiring one if needed.
	Token(ctx context.Context) (string, error)
	// Invalidate drops token from the cache (after a 401), so the next Token
	// call acquires a fresh one. A token that is no longer cached is ignored.
	Invalidate(token string)
}

// LogFunc receives one structured debug line per HTTP attempt. Fields never
// hold tokens or response bodies.
type LogFunc func(ctx context.Context, msg string, fields map[string]any)

// DefaultEndpoint is the public-cloud Graph endpoint.
const DefaultEndpoint = "https://graph.microsoft.com"

const (
	billingPath           = "/v1.0/reports/partners/billing/"
	betaBillingPath       = "/beta/reports/partners/billing/"
	defaultMaxRetries     = httpx.DefaultMaxRetries
	defaultMaxBodyBytes   = httpx.DefaultMaxBodyBytes
	defaultRequestTimeout = 60 * time.Second
	// defaultAcceptedBodyWait is how long the body of an export's 2xx is
	// waited on once its status line and headers are in (SPEC §4.1: the
	// headers decide; the body never holds an export's id hostage).
	defaultAcceptedBodyWait = 5 * time.Second
	// DefaultReadBudget bounds a read made without a deadline of its own (a
	// data source without wait_timeout): attempts, retries and Retry-After
	// sleeps together. A plan never hangs for an hour on one throttled read.
	DefaultReadBudget = httpx.DefaultReadBudget
	// minAttemptInterval is the shortest time between the starts of two
	// attempts of one request, whatever Retry-After says.
	minAttemptInterval     = httpx.MinAttemptInterval
	defaultUserAgentPrefix = "terraform-provider-partnerbilling"
)

// Client calls the partner-billing API. It is safe for concurrent use.
type Client struct {
	base           *url.URL
	http           *http.Client
	tokens         TokenSource
	userAgent      string
	maxRetries     int
	maxBodyBytes   int64
	requestTimeout time.Duration
	acceptedWait   time.Duration // defaultAcceptedBodyWait
	readBudget     time.Duration
	clock          Clock
	retryBackoff   Backoff
	pollBackoff    Backoff
	log            LogFunc
	logging        bool // a logger was given: worth building the per-attempt fields
}

// Option configures a Client.
type Option func(*Client) error

// WithEndpoint sets the Graph endpoint (scheme and host, e.g.
// https://graph.microsoft.com); requests go to {endpoint}/v1.0/... only.
func WithEndpoint(endpoint string) Option {
	return func(c *Client) error {
		u, err := ParseEndpoint(endpoint)
		if err != nil {
			return err
		}
		c.base = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client (its transport decides TLS trust).
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) error { c.http = httpx.NoRedirects(h); return nil }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// WithMaxRetries bounds the retries of one request (0 means no retry).
func WithMaxRetries(n int) Option {
	return func(c *Client) error {
		if n < 0 {
			return fmt.Errorf("max retries must not be negative, got %d", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithMaxBodyBytes caps how much of a response body is read.
func WithMaxBodyBytes(n int64) Option {
	return func(c *Client) error { c.maxBodyBytes = n; return nil }
}

// WithRequestTimeout bounds one HTTP attempt; a slow attempt is retried.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *Client) error { c.requestTimeout = d; return nil }
}

// WithReadBudget bounds a request made without a deadline (default
// DefaultReadBudget).
func WithReadBudget(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("read budget must be positive, got %s", d)
		}
		c.readBudget = d
		return nil
	}
}

// WithClock replaces the real clock (tests).
func WithClock(clk Clock) Option {
	return func(c *Client) error { c.clock = clk; return nil }
}

// WithBackoff replaces the retry and poll backoffs (tests).
func WithBackoff(retry, poll Backoff) Option {
	return func(c *Client) error { c.retryBackoff, c.pollBackoff = retry, poll; return nil }
}

// WithLogger receives one debug line per HTTP attempt (nil: none).
func WithLogger(f LogFunc) Option {
	return func(c *Client) error {
		if f != nil {
			c.log, c.logging = f, true
		}
		return nil
	}
}

// New builds a client. It does no network I/O.
func New(tokens TokenSource, opts ...Option) (*Client, error) {
	if tokens == nil {
		return nil, errors.New("graph: a token source is required")
	}
	base, _ := ParseEndpoint(DefaultEndpoint)
	c := &Client{
		base:           base,
		http:           httpx.NoRedirects(&http.Client{Transport: defaultTransport()}),
		tokens:         tokens,
		userAgent:      defaultUserAgentPrefix,
		maxRetries:     defaultMaxRetries,
		maxBodyBytes:   defaultMaxBodyBytes,
		requestTimeout: defaultRequestTimeout,
		acceptedWait:   defaultAcceptedBodyWait,
		readBudget:     DefaultReadBudget,
		clock:          realClock{},
		retryBackoff:   defaultRetryBackoff,
		pollBackoff:    defaultPollBackoff,
		log:            func(context.Context, string, map[string]any) {},
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// defaultTransport keeps enough idle connections for Terraform's parallel
// reads (default -parallelism=10, often raised): the standard transport keeps
// two per host, so every other read would pay a new TLS handshake.
func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone() //nolint:forcetypeassert // the standard library's documented type
	t.MaxIdleConnsPerHost = 64
	return t
}

// ParseEndpoint checks a Graph endpoint: an absolute https URL with a host
// and nothing after it but an optional "/".
func ParseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil {
		if strings.Contains(s, "@") {
			// url's errors quote pieces of the input ("invalid port
			// \":pass\""), which may be a password's.
			return nil, fmt.Errorf("invalid endpoint %q: not a valid URL", httpx.RedactURL(s))
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return nil, fmt.Errorf("invalid endpoint %q: %w", s, err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("invalid endpoint %q: the scheme must be https", httpx.RedactURL(s))
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("invalid endpoint %q: expected https://host[:port] with no path, query or credentials", httpx.RedactURL(s))
	}
	u.Path = ""
	return u, nil
}

type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
	// bodyErr is why the body of an export's 2xx was not read (it
	// stalled, was cut, passed the cap); body is then nil.
	bodyErr error
}

// do sends one logical request to path (under the endpoint) with retries: transport errors, 408, 429,
// 500, 502, 503 and 504 are retried up to maxRetries times, honouring
// Retry-After, never sleeping past the deadline (the earlier of ctx's and
// the one given); a 401 refreshes the token once. Without any deadline, the
// read budget is the deadline. No two attempts start less than
// minAttemptInterval apart. With a payload (at most one), the request
// carries its JSON body and follows its stricter retry policy (see payload).
func (c *Client) do(ctx context.Context, method, path string, deadline time.Time, p ...*payload) (*response, error) {
	var pl *payload
	if len(p) > 0 {
		pl = p[0]
	}
	u := *c.base
	u.Path = path
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	var budget time.Duration
	outer := ctx
	if deadline.IsZero() {
		budget = c.readBudget
		deadline = c.clock.Now().Add(budget)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	refreshed := false
	var lastErr error
	var lastStart time.Time
	for attempt := 1; ; attempt++ {
		if !lastStart.IsZero() {
			if gap := minAttemptInterval - c.clock.Now().Sub(lastStart); gap > 0 {
				if err := c.clock.Sleep(ctx, gap); err != nil {
					return nil, c.ended(outer, ctx, budget, lastErr)
				}
			}
		}
		lastStart = c.clock.Now()
		resp, err := c.attempt(ctx, method, &u, attempt, pl)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, c.ended(outer, ctx, budget, lastErr)
		}
		var ge *Error
		if errors.As(err, &ge) && ge.StatusCode == http.StatusUnauthorized && !refreshed {
			refreshed = true
			attempt--
			continue
		}
		if errors.Is(err, ErrAuthentication) || !pl.retryable(err) {
			return nil, err
		}
		lastErr = err
		if attempt > c.maxRetries {
			return nil, fmt.Errorf("giving up after %s: %w", plural(attempt, "attempt"), err)
		}
		wait := c.retryBackoff.Delay(attempt - 1)
		fromService := ge != nil && ge.hasRetryAfter
		if fromService {
			wait = ge.RetryAfter
		}
		wait = max(wait, minAttemptInterval)
		if remaining := deadline.Sub(c.clock.Now()); wait > remaining {
			return nil, &deadlineError{wait: wait, remaining: remaining, fromService: fromService, budget: budget, last: err}
		}
		c.log(ctx, "retrying Graph request", map[string]any{
			"method": method, "path": u.Path, "attempt": attempt, "wait": wait.String(), "reason": err.Error(),
		})
		if err := c.clock.Sleep(ctx, wait); err != nil {
			if outer.Err() != nil {
				return nil, fmt.Errorf("%w while waiting to retry (last error: %w)", err, lastErr)
			}
			return nil, c.ended(outer, ctx, budget, lastErr)
		}
	}
}

// ended explains why a request stopped because ctx ended: the caller's
// context (a cancellation, or the deadline of a wait) or the read budget.
func (c *Client) ended(outer, ctx context.Context, budget time.Duration, lastErr error) error {
	if outer.Err() != nil || budget == 0 {
		if lastErr != nil {
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), lastErr)
		}
		return ctx.Err()
	}
	return &budgetError{budget: budget, last: lastErr}
}

// transportError is a failure before any HTTP status was received; sent
// says whether the request (its headers at least) may have reached the server.
type transportError struct {
	err  error
	sent bool
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ge *Error
	return errors.As(err, &ge) && RetryableStatus(ge.StatusCode)
}

// RetryableStatus is httpx.RetryableStatus (SPEC §5): 408, 429, 500, 502,
// 503, 504. Blob downloads use the same list.
func RetryableStatus(status int) bool { return httpx.RetryableStatus(status) }

func (c *Client) attempt(ctx context.Context, method string, u *url.URL, attempt int, p *payload) (*response, error) {
	p.begin()
	token, err := c.tokens.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthentication, err)
	}
	actx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	// Whether the request went out decides whether a POST may be sent again.
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	// stopBody ends the request early: the accepted-body wait of an export.
	rctx, stopBody := context.WithCancel(actx)
	defer stopBody()
	var reqBody io.Reader
	if p != nil {
		reqBody = bytes.NewReader(p.body) // a new reader per attempt: the body is sent whole every time
	}
	req, err := http.NewRequestWithContext(rctx, method, u.String(), reqBody)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	crid := newGUID()
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("client-request-id", crid)
	req.Header.Set("User-Agent", c.userAgent)
	if p != nil {
		req.Header.Set("Content-Type", "application/json")
		p.clientRequestID = crid
	}

	start := c.clock.Now()
	res, err := c.http.Do(req)
	if err != nil {
		sent := wrote.Load()
		p.noAnswer(sent)
		c.log(ctx, "Graph request failed", map[string]any{
			"method": method, "path": u.Path, "attempt": attempt, "client_request_id": crid, "error": httpx.RedactURLError(err), "request_sent": sent,
		})
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if actx.Err() != nil {
			return nil, &transportError{err: fmt.Errorf("%s %s: no response within %s", method, u.Path, c.requestTimeout), sent: sent}
		}
		if tlsErr := httpx.CertificateError(err); tlsErr != nil {
			return nil, fmt.Errorf("%s %s: the TLS certificate of %s is not trusted (the system roots, SSL_CERT_FILE and SSL_CERT_DIR decide): %w",
				method, u.Path, u.Host, tlsErr)
		}
		return nil, &transportError{err: fmt.Errorf("%s %s: %s", method, u.Path, httpx.RedactURLError(err)), sent: sent}
	}
	defer res.Body.Close()
	reqID := res.Header.Get("request-id")
	logAnswer := func() {
		if c.logging {
			c.log(ctx, "Graph request", map[string]any{
				"method": method, "path": u.Path, "status": res.StatusCode, "request_id": reqID,
				"client_request_id": crid, "attempt": attempt, "duration": c.clock.Now().Sub(start).String(),
			})
		}
	}
	if p != nil && res.StatusCode >= 200 && res.StatusCode < 300 {
		// The status line and headers decide (SPEC §4.1): the export has
		// started, whatever its body does; StartExport reads the id from
		// Location and turns to the body only when that names none.
		r := &response{method: method, path: u.Path, status: res.StatusCode, header: res.Header}
		r.body, r.bodyErr = c.readAcceptedBody(res.Body, stopBody)
		logAnswer()
		return r, nil
	}
	body, tooLarge, readErr := httpx.ReadCapped(res.Body, c.maxBodyBytes)
	// Over HTTP/1.1 with TLS, a body cut off by the attempt's deadline can
	// read as a clean EOF: what arrived is then short, not malformed.
	if readErr == nil && actx.Err() != nil {
		readErr = fmt.Errorf("the body stopped arriving: %w", actx.Err())
	}
	r := &response{method: method, path: u.Path, status: res.StatusCode, header: res.Header, body: body}
	logAnswer()
	if readErr != nil {
		p.noAnswer(true)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if actx.Err() != nil {
			return nil, &transportError{err: fmt.Errorf("%s %s: HTTP %d, but the body stopped arriving: no complete response within %s", method, u.Path, res.StatusCode, c.requestTimeout), sent: true}
		}
		return nil, &transportError{err: fmt.Errorf("%s %s: reading response body: %w", method, u.Path, readErr), sent: true}
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
	ge := &Error{Method: method, Path: u.Path, StatusCode: res.StatusCode, RequestID: reqID, ClientRequestID: crid}
	ge.RetryAfter, ge.hasRetryAfter = parseRetryAfter(res.Header, c.clock.Now())
	var innerRequestID string
	ge.Code, ge.Message, innerRequestID = decodeErrorEnvelope(body)
	if ge.RequestID == "" {
		ge.RequestID = innerRequestID
	}
	if res.StatusCode == http.StatusUnauthorized {
		c.tokens.Invalidate(token)
	}
	return nil, ge
}

// newGUID returns a random (version 4) GUID for client-request-id.
func newGUID() string { return httpx.NewGUID() }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// RetryPolicy is how this client retries one request (httpx.RetryPolicy).
// Blob downloads follow the same policy, so that max_retries and a test's
// injected clock govern them too.
type RetryPolicy = httpx.RetryPolicy

// RetryPolicy returns the client's retry policy.
func (c *Client) RetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: c.maxRetries, Backoff: c.retryBackoff, Clock: c.clock, MinInterval: minAttemptInterval}
}

// DefaultRetryPolicy is the policy of a client built without options.
func DefaultRetryPolicy() RetryPolicy {
	return httpx.DefaultRetryPolicy()
}
