package graph

import (
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// Clock is the time source of retries and polling (httpx.Clock); tests
// replace it so that no test sleeps for real seconds to prove a wait.
type Clock = httpx.Clock

type realClock = httpx.SystemClock

// Backoff is httpx.Backoff: exponential with "equal jitter".
type Backoff = httpx.Backoff

var (
	// defaultRetryBackoff spaces retries of one request.
	defaultRetryBackoff = httpx.DefaultRetryBackoff
	// defaultPollBackoff spaces polls of a running operation without Retry-After.
	defaultPollBackoff = Backoff{Initial: 2 * time.Second, Max: 30 * time.Second, Factor: 1.5}
)
