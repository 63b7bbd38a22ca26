// Package testclock is a virtual clock for tests: Sleep returns at once and
// moves the clock forward, so a test can prove a 30-minute wait in
// milliseconds and assert every wait that was asked for.
package testclock

import (
	"context"
	"sync"
	"time"
)

// Clock is a virtual clock. It satisfies graph.Clock. Safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// New starts a virtual clock at the current real time (so HTTP-date
// Retry-After values computed by a server still make sense).
func New() *Clock { return &Clock{now: time.Now()} }

// Now is the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep records d and advances the virtual time by it, unless ctx has ended.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return nil
}

// Sleeps returns every wait asked for, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// Total is the sum of all waits.
func (c *Clock) Total() time.Duration {
	var t time.Duration
	for _, d := range c.Sleeps() {
		t += d
	}
	return t
}
