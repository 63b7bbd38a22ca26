package httpx

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The request rules every client of a Microsoft service follows (SPEC §5):
// which statuses are retried, how long to wait, how Retry-After reads, how
// much of a body is read. Graph, the blob downloads and Partner Center use
// these, not copies of them.
const (
	// DefaultMaxRetries is how many times one request is retried by default.
	DefaultMaxRetries = 5
	// MinAttemptInterval is the shortest time between the starts of two
	// attempts of one request, whatever Retry-After says.
	MinAttemptInterval = 100 * time.Millisecond
	// DefaultReadBudget bounds a read made without a deadline of its own:
	// attempts, retries and Retry-After sleeps together. A plan never hangs
	// for an hour on one throttled read.
	DefaultReadBudget = 5 * time.Minute
	// DefaultMaxBodyBytes caps how much of a response body is read.
	DefaultMaxBodyBytes = 4 << 20
	// MaxRetryAfter bounds a Retry-After we are willing to parse; longer
	// values are clamped (the caller's deadline usually ends the wait long
	// before).
	MaxRetryAfter = 24 * time.Hour
)

// Clock is the time source of retries and polling; tests replace it so that
// no test sleeps for real seconds to prove a wait.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep is Sleep.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error { return Sleep(ctx, d) }

// Backoff is an exponential backoff with "equal jitter": the n-th wait
// (n from 0) is drawn from [d/2, d] with d = min(Max, Initial·Factorⁿ).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Factor  float64
}

// Delay returns the n-th wait (n from 0).
func (b Backoff) Delay(n int) time.Duration {
	d := float64(b.Initial)
	for i := 0; i < n && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	half := d / 2
	return time.Duration(half + rand.Float64()*half) //nolint:gosec // jitter needs no cryptographic randomness
}

// DefaultRetryBackoff spaces retries of one request.
var DefaultRetryBackoff = Backoff{Initial: time.Second, Max: 30 * time.Second, Factor: 2}

// RetryPolicy is how one request is retried: at most MaxRetries retries
// spaced by Backoff on Clock, never closer than MinInterval.
type RetryPolicy struct {
	MaxRetries int
	Backoff    Backoff
	Clock      Clock
	// MinInterval is the shortest wait before a retry, whatever
	// Retry-After says.
	MinInterval time.Duration
}

// DefaultRetryPolicy is the policy of a client built without options.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: DefaultMaxRetries, Backoff: DefaultRetryBackoff, Clock: SystemClock{}, MinInterval: MinAttemptInterval}
}

// RetryableStatus reports whether an HTTP status is a transient fault worth
// retrying an idempotent request for (SPEC §5): 408, 429, 500, 502, 503,
// 504.
func RetryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RetryAfter reads a Retry-After header: delta-seconds as digits with an
// optional ".fraction" (Graph sends "2.128"), or an HTTP-date. Anything else
// (signs, exponents, hex, '_', "inf", "NaN") is not a Retry-After, and ok is
// false, so that backoff applies. A date in the past means 0.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, ok := deltaSeconds(v); ok {
		return secs, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), MaxRetryAfter), true
	}
	return 0, false
}

// deltaSeconds reads digits with an optional '.' and at least one digit
// after it, clamped to MaxRetryAfter.
func deltaSeconds(v string) (time.Duration, bool) {
	whole, frac, hasDot := strings.Cut(v, ".")
	if !allDigits(whole) || hasDot && !allDigits(frac) {
		return 0, false
	}
	// Long digit strings would overflow: anything over the clamp is the clamp.
	if w := strings.TrimLeft(whole, "0"); len(w) > 6 {
		return MaxRetryAfter, true
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	return min(time.Duration(n*float64(time.Second)), MaxRetryAfter), true
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

// ReadCapped reads r to its end but never more than limit bytes:
// tooLarge says that more followed, and body then holds limit+1 bytes.
func ReadCapped(r io.Reader, limit int64) (body []byte, tooLarge bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, limit+1))
	return body, int64(len(body)) > limit, err
}

// NewGUID returns a random (version 4) GUID in lower case, for the request
// ids a client sends (client-request-id, MS-RequestId, MS-CorrelationId).
func NewGUID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
