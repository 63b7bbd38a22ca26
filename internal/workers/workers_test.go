package workers_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/workers"
)

func TestEachRunsEveryJobWithinTheLimit(t *testing.T) {
	t.Parallel()
	var running, most, done atomic.Int64
	seen := make([]atomic.Bool, 50)
	err := workers.Each(t.Context(), len(seen), 4, func(_ context.Context, i int) error {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		seen[i].Store(true)
		done.Add(1)
		running.Add(-1)
		return nil
	})
	if err != nil || done.Load() != 50 || most.Load() > 4 {
		t.Errorf("err %v, %d done, %d at once (limit 4)", err, done.Load(), most.Load())
	}
	for i := range seen {
		if !seen[i].Load() {
			t.Errorf("job %d never ran", i)
		}
	}
}

func TestEachStopsAtTheFirstError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	var liveAfter atomic.Int64
	err := workers.Each(t.Context(), 100, 1, func(ctx context.Context, i int) error {
		if i == 2 {
			return boom
		}
		if i > 2 && ctx.Err() == nil {
			liveAfter.Add(1)
		}
		return ctx.Err()
	})
	if !errors.Is(err, boom) || liveAfter.Load() != 0 {
		t.Errorf("err %v; %d jobs after the failure ran with a live context", err, liveAfter.Load())
	}
}

func TestEachSaysWhyTheContextEnded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("interrupted (Ctrl-C)"))
	err := workers.Each(ctx, 3, 2, func(context.Context, int) error { return nil })
	if !errors.Is(err, context.Canceled) || err.Error() != "interrupted (Ctrl-C): context canceled" {
		t.Errorf("err = %v", err)
	}
}
