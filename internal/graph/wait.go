package graph

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// WaitOperation polls an operation until it finishes (succeeded or failed)
// or timeout passes. Between polls it honours the response's Retry-After,
// otherwise it backs off (about 2 s growing to 30 s, with jitter). A 404 is
// retried: the service may not list a just-created operation yet. A failed
// operation is a result, not an error.
func (c *Client) WaitOperation(ctx context.Context, id string, timeout time.Duration) (*Operation, error) {
	deadline := c.clock.Now().Add(timeout)
	var lastStatus string
	var lastErr error
	timedOut := func(reason string) error {
		return &WaitTimeoutError{OperationID: id, Timeout: timeout, LastStatus: lastStatus, Reason: reason, LastErr: lastErr}
	}
	for poll := 0; ; poll++ {
		op, header, err := c.getOperation(ctx, id, deadline)
		var wait time.Duration
		var fromService bool
		switch {
		case err == nil:
			lastStatus, lastErr = op.Status, nil
			if lastStatus == "" {
				lastStatus = op.State().String()
			}
			if op.State() != StateRunning {
				return op, nil
			}
			wait, fromService = parseRetryAfter(header, c.clock.Now())
			if !fromService {
				wait = c.pollBackoff.Delay(poll)
			}
			// "Retry-After: 0" on every answer would make a hot loop.
			wait = max(wait, minPollInterval)
		case errors.Is(err, ErrNotFound):
			lastStatus, lastErr = "not found (HTTP 404)", err
			wait = c.pollBackoff.Delay(poll)
		case ctx.Err() == nil && retryable(err) && !errors.Is(err, ErrDeadline):
			// This poll's retries are spent (an outage longer than max_retries
			// covers): keep polling until the wait's own deadline.
			lastErr = err
			wait = c.pollBackoff.Delay(poll)
		case errors.Is(err, ErrDeadline) && ctx.Err() == nil:
			lastErr = errors.Unwrap(err)
			return nil, timedOut(err.Error())
		default:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("waiting for operation %s: %w (last status seen: %s)", id, ctx.Err(), orNone(lastStatus))
			}
			return nil, err
		}
		remaining := deadline.Sub(c.clock.Now())
		if remaining <= 0 {
			return nil, timedOut("")
		}
		if wait > remaining {
			if fromService {
				return nil, timedOut(fmt.Sprintf("the service asked to poll again in %s, after the deadline", wait.Round(time.Millisecond)))
			}
			// A last poll at the deadline costs one request and may catch the finish.
			wait = remaining
		}
		c.log(ctx, "waiting for operation", map[string]any{
			"operation_id": id, "status": lastStatus, "poll": poll + 1, "wait": wait.String(), "retry_after": fromService,
		})
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("waiting for operation %s: %w (last status seen: %s)", id, err, orNone(lastStatus))
		}
	}
}

// minPollInterval is the shortest wait between two polls of an operation.
const minPollInterval = 100 * time.Millisecond

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
