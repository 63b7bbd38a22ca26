package blobcopy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// retry runs one Storage request under the Graph client's policy
// (SPEC §5): throttling and transient answers (408, 429, 5xx of the list)
// and connection failures are retried, honouring Retry-After, never closer
// than MinInterval and never past ctx's deadline. Anything else is
// returned as it came.
func retry(ctx context.Context, opts Options, name, op string, fn func(ctx context.Context) error) error {
	pol := opts.Retry
	retried401 := false
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !retried401 && refusedTokenUnchallenged(err) {
			// 401 once: the refused token was dropped (dropRefusedToken);
			// the request goes again with a new one, at once.
			retried401 = true
			attempt--
			opts.Debug(ctx, "retrying storage request with a new token", map[string]any{"op": op, "blob": name, "reason": "HTTP 401"})
			continue
		}
		var re *azcore.ResponseError
		var te *TokenError
		// A failed token is not retried here: the credential has its own
		// retries and remembers a failure.
		transient := !errors.As(err, &re) && !errors.As(err, &te) && httpx.CertificateError(err) == nil
		if !transient && !graph.RetryableStatus(statusOf(err)) {
			return err
		}
		if attempt >= pol.MaxRetries {
			return err
		}
		delay := pol.Backoff.Delay(attempt)
		if ra, ok := graph.RetryAfter(retryHeader(err), pol.Clock.Now()); ok {
			delay = ra
		}
		delay = max(delay, pol.MinInterval)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return err
		}
		reason := transportText(err)
		if re != nil {
			reason = fmt.Sprintf("HTTP %d %s", re.StatusCode, safetext.NoSecrets(re.ErrorCode))
		}
		opts.Debug(ctx, "retrying storage request", map[string]any{
			"op": op, "blob": name, "attempt": attempt + 1, "wait": delay.String(), "reason": reason,
		})
		if serr := pol.Clock.Sleep(ctx, delay); serr != nil {
			return err
		}
	}
}

func (r *run) retry(ctx context.Context, name, op string, fn func(ctx context.Context) error) error {
	return retry(ctx, r.opts, name, op, fn)
}

// storageHTTPClient is h, or a client with the system roots and enough idle
// connections for MaxConcurrency blobs.
func storageHTTPClient(h *http.Client) *http.Client {
	if h == nil {
		t := http.DefaultTransport.(*http.Transport).Clone() //nolint:forcetypeassert // the standard library's documented type
		t.MaxIdleConnsPerHost = MaxConcurrency
		h = &http.Client{Transport: t}
	}
	return h
}
