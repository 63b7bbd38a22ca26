package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// WaitOperation polls an operation until it finishes (succeeded or failed)
// or timeout passes. Between polls it honours the response's Retry-After,
// otherwise it backs off (about 2 s growing to 30 s, with jitter). A 404 is
// retried: the service may not list a just-created operation yet. A failed
// operation is a result, not an error. When the wait ends with an error, the
// last operation seen (nil if none) is returned with it. OnPoll sees every
// answered poll.
//
// However small timeout is, the first poll is made, and it may take up to
// firstPollFloor: a "1ms" wait on a finished operation returns it.
func (c *Client) WaitOperation(ctx context.Context, id string, timeout time.Duration, opts ...WaitOption) (*Operation, error) {
	var cfg waitConfig
	for _, o := range opts {
		o(&cfg)
	}
	start := c.clock.Now()
	deadline := start.Add(timeout)
	// Bound every request of the wait by its deadline too, so that a hanging
	// response (or token request) cannot hold the read past wait_timeout.
	outer := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout) // a duration: the clock may be virtual
	defer cancel()
	var lastStatus string
	var lastErr error
	var last *Operation
	var found bool   // a poll was answered with the operation
	var notFound int // polls answered 404
	timedOut := func(reason string) error {
		return &WaitTimeoutError{OperationID: id, Timeout: timeout, LastStatus: lastStatus, Reason: reason, LastErr: lastErr,
			NeverFound: notFound > 0 && !found}
	}
	if cfg.firstPoll > 0 {
		if cfg.firstPoll > timeout {
			return nil, timedOut(fmt.Sprintf("the service asked to poll first in %s, after the deadline", cfg.firstPoll.Round(time.Millisecond)))
		}
		c.log(ctx, "waiting for operation", map[string]any{
			"operation_id": id, "poll": 0, "wait": cfg.firstPoll.String(), "retry_after": true,
		})
		if err := c.clock.Sleep(ctx, cfg.firstPoll); err != nil {
			if outer.Err() == nil {
				return nil, timedOut("")
			}
			return nil, fmt.Errorf("waiting for operation %s: %w (last status seen: none)", id, outer.Err())
		}
	}
	for poll := 0; ; poll++ {
		op, header, err := c.poll(outer, ctx, cfg.api, id, deadline, start, poll)
		var wait time.Duration
		var fromService bool
		switch {
		case err == nil:
			found = true
			last, lastStatus, lastErr = op, op.Status, nil
			if lastStatus == "" {
				lastStatus = op.State().String()
			}
			if cfg.onPoll != nil {
				cfg.onPoll(op)
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
			notFound++
			lastStatus, lastErr = "not found (HTTP 404)", err
			wait = c.pollBackoff.Delay(poll)
		case ctx.Err() == nil && retryable(err) && !errors.Is(err, ErrDeadline):
			// This poll's retries are spent (an outage longer than max_retries
			// covers): keep polling until the wait's own deadline.
			lastErr = err
			wait = c.pollBackoff.Delay(poll)
		case outer.Err() != nil:
			return last, fmt.Errorf("waiting for operation %s: %w (last status seen: %s)", id, outer.Err(), orNone(lastStatus))
		case errors.Is(err, ErrDeadline):
			var de *deadlineError
			if errors.As(err, &de) {
				lastErr = de.last
				return last, timedOut(fmt.Sprintf("the service asked to retry in %s, after the deadline", de.wait.Round(time.Millisecond)))
			}
			lastErr = err
			return last, timedOut("")
		case ctx.Err() != nil:
			// The deadline passed while a request was under way.
			if !errors.Is(err, context.DeadlineExceeded) {
				lastErr = err
			}
			return last, timedOut("no answer from Microsoft Graph before the deadline")
		default:
			return last, err
		}
		remaining := deadline.Sub(c.clock.Now())
		if remaining <= 0 {
			return last, timedOut("")
		}
		switch {
		case fromService && wait > remaining:
			return last, timedOut(fmt.Sprintf("the service asked to poll again in %s, after the deadline", wait.Round(time.Millisecond)))
		case !fromService && wait > remaining-lastPollLead:
			if remaining <= lastPollLead {
				return last, timedOut("") // the last poll has been made
			}
			// One last poll, early enough to get its answer before the
			// deadline, may still catch the finish.
			wait = remaining - lastPollLead
		}
		c.log(ctx, "waiting for operation", map[string]any{
			"operation_id": id, "status": lastStatus, "poll": poll + 1, "wait": wait.String(), "retry_after": fromService,
		})
		if err := c.clock.Sleep(ctx, wait); err != nil {
			if outer.Err() == nil {
				return last, timedOut("")
			}
			return last, fmt.Errorf("waiting for operation %s: %w (last status seen: %s)", id, outer.Err(), orNone(lastStatus))
		}
	}
}

// poll reads the operation once (with request retries) within the wait's
// deadline; the first poll gets at least firstPollFloor.
func (c *Client) poll(outer, ctx context.Context, api API, id string, deadline, start time.Time, n int) (*Operation, http.Header, error) {
	if floor := start.Add(firstPollFloor); n == 0 && floor.After(deadline) {
		fctx, cancel := context.WithTimeout(outer, floor.Sub(c.clock.Now()))
		defer cancel()
		return c.getOperation(fctx, api, id, floor)
	}
	return c.getOperation(ctx, api, id, deadline)
}

// WaitOption adjusts WaitOperation.
type WaitOption func(*waitConfig)

type waitConfig struct {
	firstPoll time.Duration
	onPoll    func(*Operation)
	api       API
}

// In polls the operation in API version api (default V1): a preview
// export's operation is polled at /beta, where it was started.
func In(api API) WaitOption {
	return func(c *waitConfig) { c.api = api }
}

// FirstPollAfter delays the first poll by d: the Retry-After of the 202 that
// started the export. A d longer than the timeout ends the wait at once.
func FirstPollAfter(d time.Duration) WaitOption {
	return func(c *waitConfig) { c.firstPoll = d }
}

// OnPoll calls f with each operation a poll read, running or finished, in
// the waiting goroutine before the wait goes on (the actions report it as
// progress). A 404 or a failed request is not a poll read.
func OnPoll(f func(op *Operation)) WaitOption {
	return func(c *waitConfig) { c.onPoll = f }
}

const (
	// firstPollFloor is the least time the first poll of a wait may take,
	// whatever the timeout: any positive wait makes at least one request.
	firstPollFloor = time.Second
	// minPollInterval is the shortest wait between two polls of an operation.
	minPollInterval = 100 * time.Millisecond
	// lastPollLead is how long before the deadline the last poll starts.
	lastPollLead = time.Second
)

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
