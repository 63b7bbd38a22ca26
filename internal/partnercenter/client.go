// Package partnercenter is a small client for the Partner Center REST API:
// it lists a partner's invoices (GET /v1/invoices), following next links
// only on the configured endpoint. It knows nothing of Terraform or of the
// identity code: it takes a TokenSource. Retries, the Retry-After grammar,
// the body cap and the read budget are httpx's, the ones Graph uses.
package partnercenter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// TokenSource hands out bearer tokens for the Partner Center scope.
type TokenSource interface {
	// Token returns a valid access token, acquiring one if needed.
	Token(ctx context.Context) (string, error)
	// Invalidate drops token from the cache (after a 401), so the next Token
	// call acquires a fresh one.
	Invalidate(token string)
}

// LogFunc receives one structured debug line per HTTP attempt. Fields never
// hold tokens or response bodies.
type LogFunc func(ctx context.Context, msg string, fields map[string]any)

// DefaultEndpoint is the public-cloud Partner Center endpoint.
const DefaultEndpoint = "https://api.partnercenter.microsoft.com"

const (
	// apiPrefix is where next links are relative to.
	apiPrefix = "/v1"
	// DefaultPageSize is the size asked for per page (the service's most).
	DefaultPageSize = 200
	// MaxPages is the most pages one listing reads: a 101st page fails the
	// read instead of making it silently partial or endless.
	MaxPages              = 100
	defaultRequestTimeout = 60 * time.Second
)

// Client lists invoices. It is safe for concurrent use.
type Client struct {
	base           *url.URL
	http           *http.Client
	tokens         TokenSource
	userAgent      string
	retry          httpx.RetryPolicy
	maxBodyBytes   int64
	requestTimeout time.Duration
	readBudget     time.Duration
	pageSize       int
	log            LogFunc
}

// Option configures a Client.
type Option func(*Client) error

// WithEndpoint sets the Partner Center endpoint (https://host[:port], no
// path); requests go to {endpoint}/v1/invoices only.
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

// WithHTTPClient sets the HTTP client (its transport decides TLS trust);
// redirects are never followed.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) error { c.http = httpx.NoRedirects(h); return nil }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// WithRetryPolicy sets how one request is retried: the provider passes the
// Graph client's policy, so max_retries and a test's clock govern both.
func WithRetryPolicy(p httpx.RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxRetries < 0 || p.Clock == nil {
			return errors.New("partnercenter: a retry policy needs a clock and a non-negative MaxRetries")
		}
		c.retry = p
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

// WithReadBudget bounds a listing made without a deadline (default
// httpx.DefaultReadBudget): every page, retry and Retry-After sleep together.
func WithReadBudget(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("partnercenter: read budget must be positive, got %s", d)
		}
		c.readBudget = d
		return nil
	}
}

// WithPageSize sets the size asked for per page (1–200; tests page small).
func WithPageSize(n int) Option {
	return func(c *Client) error {
		if n < 1 || n > DefaultPageSize {
			return fmt.Errorf("partnercenter: page size must be between 1 and %d, got %d", DefaultPageSize, n)
		}
		c.pageSize = n
		return nil
	}
}

// WithLogger receives one debug line per HTTP attempt (nil: none).
func WithLogger(f LogFunc) Option {
	return func(c *Client) error {
		if f != nil {
			c.log = f
		}
		return nil
	}
}

// New builds a client. It does no network I/O.
func New(tokens TokenSource, opts ...Option) (*Client, error) {
	if tokens == nil {
		return nil, errors.New("partnercenter: a token source is required")
	}
	base, _ := ParseEndpoint(DefaultEndpoint)
	c := &Client{
		base:           base,
		http:           httpx.NoRedirects(nil),
		tokens:         tokens,
		userAgent:      "terraform-provider-partnerbilling",
		retry:          httpx.DefaultRetryPolicy(),
		maxBodyBytes:   httpx.DefaultMaxBodyBytes,
		requestTimeout: defaultRequestTimeout,
		readBudget:     httpx.DefaultReadBudget,
		pageSize:       DefaultPageSize,
		log:            func(context.Context, string, map[string]any) {},
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Endpoint is the configured endpoint (scheme and host).
func (c *Client) Endpoint() string { return c.base.String() }

// ParseEndpoint checks a Partner Center endpoint: an absolute https URL with
// a host and nothing after it but an optional "/". Errors never repeat a
// userinfo part.
func ParseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(trimSlash(s))
	if err != nil {
		return nil, fmt.Errorf("invalid endpoint %q: not a valid URL", httpx.RedactURL(s))
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("invalid endpoint %q: the scheme must be https", httpx.RedactURL(s))
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Path != "" {
		return nil, fmt.Errorf("invalid endpoint %q: expected https://host[:port] with no path, query or credentials", httpx.RedactURL(s))
	}
	return u, nil
}

func trimSlash(s string) string {
	if len(s) > 0 && s[len(s)-1] == '/' {
		return s[:len(s)-1]
	}
	return s
}

// newGUID returns a random (version 4) GUID for MS-RequestId and MS-CorrelationId.
func newGUID() string { return httpx.NewGUID() }
