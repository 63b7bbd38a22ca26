package graph

import (
	"net/http"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// maxRetryAfter bounds a Retry-After we are willing to parse.
const maxRetryAfter = httpx.MaxRetryAfter

// parseRetryAfter is httpx.RetryAfter: one grammar for every service.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	return httpx.RetryAfter(h, now)
}

// RetryAfter reads a Retry-After header by httpx.RetryAfter's rules, for
// callers outside this package that retry their own requests (blob
// downloads): one grammar for every service the provider talks to.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) { return httpx.RetryAfter(h, now) }
