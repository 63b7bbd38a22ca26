package graph

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter bounds a Retry-After we are willing to parse; longer values
// are clamped (the caller's deadline usually ends the wait long before).
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header: delta-seconds as digits with
// an optional ".fraction" (Graph sends "2.128"), or an HTTP-date. Anything
// else (signs, exponents, hex, '_', "inf", "NaN") is not a Retry-After, and
// ok is false, so that backoff applies. A date in the past means 0.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, ok := deltaSeconds(v); ok {
		return secs, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// deltaSeconds reads digits with an optional '.' and at least one digit
// after it, clamped to maxRetryAfter.
func deltaSeconds(v string) (time.Duration, bool) {
	whole, frac, hasDot := strings.Cut(v, ".")
	if !allDigits(whole) || hasDot && !allDigits(frac) {
		return 0, false
	}
	// Long digit strings would overflow: anything over the clamp is the clamp.
	if w := strings.TrimLeft(whole, "0"); len(w) > 6 {
		return maxRetryAfter, true
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	return min(time.Duration(n*float64(time.Second)), maxRetryAfter), true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RetryAfter reads a Retry-After header by the rules of parseRetryAfter, for
// callers outside this package that retry their own requests (blob
// downloads): one grammar for every service the provider talks to.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) { return parseRetryAfter(h, now) }
