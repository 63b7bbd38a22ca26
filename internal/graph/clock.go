package graph

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// Clock is the time source of retries and polling; tests replace it so that
// no test sleeps for real seconds to prove a wait.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return httpx.Sleep(ctx, d) }

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

var (
	// defaultRetryBackoff spaces retries of one request.
	defaultRetryBackoff = Backoff{Initial: time.Second, Max: 30 * time.Second, Factor: 2}
	// defaultPollBackoff spaces polls of a running operation without Retry-After.
	defaultPollBackoff = Backoff{Initial: 2 * time.Second, Max: 30 * time.Second, Factor: 1.5}
)
