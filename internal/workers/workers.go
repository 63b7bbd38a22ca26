// Package workers runs a bounded number of jobs at once and stops at the
// first failure: the one worker pool of the download and the copy (their
// blobs, the copy's checks and deletes).
package workers

import (
	"context"
	"sync"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// Each runs fn for 0..n-1, at most limit at once. The first error cancels
// the context every call gets (with that error as its cause), so that the
// calls in flight stop and a call still fed after it ends at once; Each
// returns that error when all have returned. When ctx ends first, Each
// returns why (httpx.ContextError).
func Each(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(limit, n) {
		wg.Go(func() {
			for i := range jobs {
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel(err)
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return httpx.ContextError(ctx)
	}
	return firstErr
}
